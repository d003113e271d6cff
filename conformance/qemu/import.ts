/**
 * Turns QEMU's trace log (the "log" trace backend, lines like
 * `PID@SECONDS:event args`) into the suite's trace format. Unknown events are
 * skipped; a known event whose arguments do not parse is reported with its
 * line number and skipped, never a crash.
 *
 * @module
 */

import {
  type PageRun,
  type Trace,
  TRACE_FORMAT,
  TRACE_VERSION,
  type TraceEvent,
  type TraceHeader,
} from "../trace_format.ts";

/** A line the importer could not use. */
export interface ImportProblem {
  /** 1-based line number. */
  readonly line: number;
  /** What was wrong. */
  readonly message: string;
}

/** Result of an import. */
export interface ImportResult {
  /** The trace. */
  readonly trace: Trace;
  /** Lines with a known event whose arguments did not parse. */
  readonly problems: readonly ImportProblem[];
  /** Lines of events the importer does not use, by event name. */
  readonly skipped: Readonly<Record<string, number>>;
  /** The balloon's vdev pointer in the log. */
  readonly vdev: string | undefined;
}

/** Options of {@link importQemuTrace}. */
export interface ImportOptions {
  /** Guest RAM in 4 KiB pages, for the header. */
  readonly guestPages?: number;
  /** The balloon's vdev pointer when the log has several virtio devices. */
  readonly vdev?: string;
  /** Versions to record in the header. */
  readonly versions?: Readonly<Record<string, string>>;
  /** Profile the trace is to be checked under (default virtio-1.x: QEMU implements no seed feature). */
  readonly profile?: "v3" | "virtio-1.x";
  /** Extra events (e.g. features from QMP) appended at the end. */
  readonly extra?: readonly TraceEvent[];
}

const PREFIX = /^(\d+)@(\d+\.\d+):([A-Za-z0-9_]+) ?(.*)$/;
const PATTERNS: Readonly<Record<string, RegExp>> = {
  virtio_set_status: /^vdev (0x[0-9a-f]+) val (\d+)$/,
  virtio_queue_notify: /^vdev (0x[0-9a-f]+) n (\d+) vq (0x[0-9a-f]+)$/,
  virtqueue_pop: /^vq (0x[0-9a-f]+) elem (0x[0-9a-f]+) in_num (\d+) out_num (\d+)$/,
  virtqueue_fill: /^vq (0x[0-9a-f]+) elem (0x[0-9a-f]+) len (\d+) idx (\d+)$/,
  virtqueue_flush: /^vq (0x[0-9a-f]+) count (\d+)$/,
  virtio_notify: /^vdev (0x[0-9a-f]+) vq (0x[0-9a-f]+)$/,
  virtio_balloon_handle_output: /^section name: (\S+) gpa: 0x([0-9a-f]+)$/,
  virtio_balloon_bad_addr: /^(?:gpa: )?0x([0-9a-f]+)$/,
  virtio_balloon_get_config: /^num_pages: (\d+) actual: (\d+)$/,
  virtio_balloon_set_config: /^actual: (\d+) oldactual: (\d+)$/,
  virtio_balloon_to_target: /^balloon target: 0x([0-9a-f]+) num_pages: (\d+)$/,
  ram_block_discard_range:
    /^(\S+)@(0x[0-9a-f]+) \+ (0x[0-9a-f]+): madvise: (\d+) fallocate: (\d+) ret: (-?\d+)$/,
  balloon_event: /^opaque (0x[0-9a-f]+) addr (\d+)$/,
};

interface OpenElem {
  readonly queue: string; // vq pointer
  readonly event: {
    -readonly [K in keyof Extract<TraceEvent, { type: "chain" }>]: Extract<
      TraceEvent,
      { type: "chain" }
    >[K];
  };
  readonly pages: number[];
  readonly discards: { hva: bigint; length: number }[];
}

function runsOf(pfns: number[]): PageRun[] {
  const s = [...new Set(pfns)].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const p of s) {
    const last = out[out.length - 1];
    if (last !== undefined && last[0] + last[1] === p) last[1]++;
    else out.push([p, 1]);
  }
  return out;
}

/**
 * Imports a QEMU trace log.
 *
 * @example
 * ```ts
 * import { importQemuTrace } from "./import.ts";
 * import assert from "node:assert/strict";
 * const log = [
 *   "1@10.0:virtio_set_status vdev 0x1 val 15",
 *   "1@10.1:virtio_queue_notify vdev 0x1 n 0 vq 0xa",
 *   "1@10.1:virtqueue_pop vq 0xa elem 0xe in_num 0 out_num 1",
 *   "1@10.1:virtio_balloon_handle_output section name: pc.ram gpa: 0x5000",
 *   "1@10.1:virtqueue_fill vq 0xa elem 0xe len 0 idx 0",
 *   "1@10.2:garbage that is not a trace line",
 * ].join("\n");
 * const r = importQemuTrace(log);
 * const chain = r.trace.events.find((e) => e.type === "chain");
 * assert.deepEqual(chain?.type === "chain" ? chain.pages : undefined, [[5, 1]]);
 * assert.equal(r.problems.length, 0);
 * ```
 */
export function importQemuTrace(text: string, options: ImportOptions = {}): ImportResult {
  const problems: ImportProblem[] = [];
  const skipped: Record<string, number> = {};
  const events: TraceEvent[] = [];
  const vqIndex = new Map<string, number>();
  const vqVdev = new Map<string, string>();
  const open = new Map<string, OpenElem>();
  const byElem = new Map<string, OpenElem>();
  let current: OpenElem | undefined;
  const reportDiscards: {
    ev: { pages: PageRun[] };
    discards: { hva: bigint; length: number }[];
  }[] = [];
  let delta: bigint | undefined;
  const statusVdevs = new Set<string>();
  let balloonVdev = options.vdev;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = (lines[i] as string).trimEnd();
    if (raw === "") continue;
    const m = PREFIX.exec(raw);
    if (m === null) {
      skipped["(not a trace line)"] = (skipped["(not a trace line)"] ?? 0) + 1;
      continue;
    }
    const t = Number(m[2]);
    const name = m[3] as string;
    const args = m[4] as string;
    const pattern = PATTERNS[name];
    if (pattern === undefined) {
      skipped[name] = (skipped[name] ?? 0) + 1;
      continue;
    }
    const a = pattern.exec(args);
    if (a === null) {
      problems.push({ line: lineNo, message: `${name}: cannot parse arguments "${args}"` });
      continue;
    }
    const base = { t, line: lineNo };
    switch (name) {
      case "virtio_set_status": {
        statusVdevs.add(a[1] as string);
        if (balloonVdev !== undefined && a[1] !== balloonVdev) break;
        events.push({ ...base, type: "status", value: Number(a[2]) });
        break;
      }
      case "virtio_queue_notify": {
        vqIndex.set(a[3] as string, Number(a[2]));
        vqVdev.set(a[3] as string, a[1] as string);
        if (balloonVdev !== undefined && a[1] !== balloonVdev) break;
        events.push({ ...base, type: "notify", queue: Number(a[2]) });
        break;
      }
      case "virtqueue_pop": {
        const vq = a[1] as string;
        const ev = {
          ...base,
          type: "chain" as const,
          queue: vqIndex.get(vq) ?? -1,
          elem: a[2] as string,
          readable: Number(a[4]),
          writable: Number(a[3]),
        };
        const o: OpenElem = { queue: vq, event: ev, pages: [], discards: [] };
        events.push(ev);
        open.set(`${vq}/${a[2]}`, o);
        byElem.set(a[2] as string, o);
        current = o;
        break;
      }
      case "virtio_balloon_handle_output": {
        const gpa = BigInt("0x" + a[2]);
        if (current === undefined) {
          problems.push({
            line: lineNo,
            message: "virtio_balloon_handle_output outside any popped element",
          });
          break;
        }
        current.pages.push(Number(gpa >> 12n));
        break;
      }
      case "ram_block_discard_range": {
        const hva = BigInt(a[2] as string);
        const length = Number(BigInt(a[3] as string));
        if (current !== undefined) {
          current.discards.push({ hva, length });
          const lastPage = current.pages[current.pages.length - 1];
          if (delta === undefined && lastPage !== undefined && length === 4096) {
            delta = hva - (BigInt(lastPage) << 12n);
          }
        }
        events.push({ ...base, type: "discard", length, hva: a[2] as string });
        break;
      }
      case "virtqueue_fill": {
        const key = `${a[1]}/${a[2]}`;
        const o = open.get(key);
        if (o !== undefined) {
          if (o.pages.length > 0) o.event.pages = runsOf(o.pages);
          if (o.event.writable > 0 && o.event.readable === 0) {
            // a device-writable element: free page reporting (or hinting) names pages by discards
            const rev = {
              ...base,
              type: "report" as const,
              queue: o.event.queue,
              elem: o.event.elem,
              pages: [] as PageRun[],
            };
            reportDiscards.push({ ev: rev, discards: o.discards });
            events.push(rev);
          }
          open.delete(key);
          if (current === o) current = undefined;
        }
        events.push({
          ...base,
          type: "used",
          queue: vqIndex.get(a[1] as string) ?? -1,
          elem: a[2] as string,
          len: Number(a[3]),
        });
        break;
      }
      case "virtio_balloon_get_config":
        events.push({
          ...base,
          type: "config-read",
          num_pages: Number(a[1]),
          actual: Number(a[2]),
        });
        break;
      case "virtio_balloon_set_config":
        events.push({
          ...base,
          type: "config-write",
          field: "actual",
          value: Number(a[1]),
          old: Number(a[2]),
        });
        break;
      case "virtio_balloon_to_target":
        events.push({
          ...base,
          type: "host",
          action: "set-target",
          pages: Number(a[2]),
          bytes: Number(BigInt("0x" + a[1])),
        });
        break;
      case "balloon_event":
        events.push({ ...base, type: "host", action: "balloon", bytes: Number(a[2]) });
        break;
      case "virtio_balloon_bad_addr":
        events.push({
          ...base,
          type: "host",
          action: "bad-addr",
          pages: Number(BigInt("0x" + a[1]) >> 12n),
        });
        break;
      default:
        break;
    }
  }
  // queue indices learnt after a pop, and report blocks from host addresses
  for (const e of events) {
    if ((e.type === "chain" || e.type === "used") && e.queue === -1) {
      const o = byElem.get(e.elem);
      const idx = o === undefined ? undefined : vqIndex.get(o.queue);
      if (idx !== undefined) (e as { queue: number }).queue = idx;
    }
  }
  if (delta !== undefined) {
    for (const r of reportDiscards) {
      const runs: [number, number][] = [];
      for (const d of r.discards) runs.push([Number((d.hva - delta) >> 12n), d.length / 4096]);
      r.ev.pages = runs.sort((x, y) => x[0] - y[0]);
    }
  }
  if (balloonVdev === undefined && statusVdevs.size > 1) {
    problems.push({
      line: 0,
      message: `the log has ${statusVdevs.size} virtio devices (${
        [...statusVdevs].join(", ")
      }): pass the balloon's vdev to keep only its events`,
    });
  }
  balloonVdev ??= statusVdevs.size === 1 ? [...statusVdevs][0] : undefined;
  const header: TraceHeader = {
    type: "header",
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    source: "qemu-trace",
    profile: options.profile ?? "virtio-1.x",
    ...(options.guestPages === undefined ? {} : { guestPages: options.guestPages }),
    ...(options.versions === undefined ? {} : { versions: options.versions }),
  };
  if (delta === undefined && reportDiscards.length > 0) {
    problems.push({
      line: 0,
      message:
        `${reportDiscards.length} reported blocks have host addresses only: no inflate in the log relates host to guest addresses`,
    });
  }
  return {
    trace: { header, events: [...events, ...(options.extra ?? [])] },
    problems,
    skipped,
    vdev: balloonVdev,
  };
}
