/**
 * Turns QEMU's trace log (the "log" trace backend, lines like
 * `PID@SECONDS:event args`) into the suite's trace format. Unknown events are
 * skipped; a known event whose arguments do not parse is reported with its
 * line number and skipped, never a crash.
 *
 * @module
 */

import { BALLOON_PAGE_SIZE, VIRTIO_BALLOON_PFN_SHIFT } from "../../spec/mod.ts";
import {
  type PageRun,
  type Trace,
  TRACE_FORMAT,
  TRACE_VERSION,
  type TraceEvent,
  type TraceHeader,
} from "./format.ts";

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
  readonly event: {
    -readonly [K in keyof Extract<TraceEvent, { type: "chain" }>]: Extract<
      TraceEvent,
      { type: "chain" }
    >[K];
  };
  readonly pages: number[];
  readonly discards: Discard[];
}

interface Discard {
  readonly block: string;
  readonly hva: bigint;
  readonly length: number;
}

/** A host-to-guest offset of one RAMBlock, with the guest pages it was seen for. */
interface Offset {
  readonly delta: bigint;
  min: bigint;
  max: bigint;
}

/**
 * The log cannot be imported as one balloon's trace (several virtio devices
 * and no way to tell which is the balloon, or a `vdev` that is not there).
 */
export class QemuImportError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "QemuImportError";
  }
}

/** PFNs in the order named, consecutive ones as runs; repeats are kept (they are evidence). */
function runsOf(pfns: readonly number[]): PageRun[] {
  const out: [number, number][] = [];
  for (const p of pfns) {
    const last = out[out.length - 1];
    if (last !== undefined && last[0] + last[1] === p) last[1]++;
    else out.push([p, 1]);
  }
  return out;
}

const PAGE = BigInt(BALLOON_PAGE_SIZE);
const SHIFT = BigInt(VIRTIO_BALLOON_PFN_SHIFT);

interface Line {
  readonly line: number;
  readonly t: number;
  readonly name: string;
  readonly a: RegExpExecArray;
}

/**
 * Imports a QEMU trace log.
 *
 * @example
 * ```ts
 * import { importQemuTrace } from "./qemu_log.ts";
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
  const skip = (what: string) => (skipped[what] = (skipped[what] ?? 0) + 1);

  // pass 1: parse, and learn each queue's index and device, and which device is the balloon
  const parsed: Line[] = [];
  const vqIndex = new Map<string, number>();
  const vqVdev = new Map<string, string>();
  const statusVdevs = new Set<string>();
  /** virtio_balloon_handle_output lines seen while an element of each queue was open. */
  const openHits = new Map<string, number>();
  /** virtio_balloon_handle_output lines seen right after a pop of each queue. */
  const outputHits = new Map<string, number>();
  const openPops = new Map<string, string>();
  let lastPop: string | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).trimEnd();
    if (raw === "") continue;
    const m = PREFIX.exec(raw);
    if (m === null) {
      skip("(not a trace line)");
      continue;
    }
    const name = m[3] as string;
    const pattern = PATTERNS[name];
    if (pattern === undefined) {
      skip(name);
      continue;
    }
    const a = pattern.exec(m[4] as string);
    if (a === null) {
      problems.push({ line: i + 1, message: `${name}: cannot parse arguments "${m[4]}"` });
      continue;
    }
    parsed.push({ line: i + 1, t: Number(m[2]), name, a });
    if (name === "virtio_set_status") statusVdevs.add(a[1] as string);
    if (name === "virtio_queue_notify") {
      vqIndex.set(a[3] as string, Number(a[2]));
      vqVdev.set(a[3] as string, a[1] as string);
    }
    if (name === "virtqueue_pop") {
      openPops.set(`${a[1]}/${a[2]}`, a[1] as string);
      lastPop = a[1];
    }
    if (name === "virtqueue_fill") openPops.delete(`${a[1]}/${a[2]}`);
    if (name === "virtio_balloon_handle_output") {
      for (const vq of new Set(openPops.values())) openHits.set(vq, (openHits.get(vq) ?? 0) + 1);
      if (lastPop !== undefined) outputHits.set(lastPop, (outputHits.get(lastPop) ?? 0) + 1);
    }
  }
  const devices = [...statusVdevs];
  let balloonVdev = options.vdev;
  if (balloonVdev !== undefined && devices.length > 0 && !statusVdevs.has(balloonVdev)) {
    throw new QemuImportError(
      `vdev ${balloonVdev} does not appear in the log; its virtio devices are ${
        devices.join(", ")
      }`,
    );
  }
  // Lines of threads running at once may interleave: a pop of another device between
  // a balloon pop and its handle_output must not make that device the balloon. The
  // balloon is the device whose queues had elements open at the most handle_output
  // lines (then: right before the most); a queue of no known device counts as the
  // balloon's with at least a tenth of the top queue's handle_output lines right
  // after its pops.
  const top = Math.max(0, ...outputHits.values());
  const hitsOf = new Map<string, [number, number]>();
  for (const vq of new Set([...openHits.keys(), ...outputHits.keys()])) {
    const d = vqVdev.get(vq);
    if (d === undefined) continue;
    const [o, l] = hitsOf.get(d) ?? [0, 0];
    hitsOf.set(d, [o + (openHits.get(vq) ?? 0), l + (outputHits.get(vq) ?? 0)]);
  }
  if (balloonVdev === undefined) {
    const ranked = [...hitsOf].sort((x, y) => y[1][0] - x[1][0] || y[1][1] - x[1][1]);
    const [first, second] = ranked;
    const ahead = (x: [number, number], y: [number, number]) =>
      x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
    if (first !== undefined && (second === undefined || ahead(first[1], second[1]))) {
      balloonVdev = first[0];
    } else if (devices.length === 1) balloonVdev = devices[0];
    else if (devices.length > 1) {
      throw new QemuImportError(
        `the log has ${devices.length} virtio devices (${
          devices.join(", ")
        }) and none of them is shown to be the balloon (by virtio_balloon_handle_output on one of its queues): pass --vdev`,
      );
    }
  }
  /**
   * Whether a queue is the balloon's: by its device when a notify named it; else
   * yes if virtio_balloon_handle_output ran on it or the log has one device;
   * else it cannot be told (counted, reported).
   */
  const balloonQueue = (vq: string): boolean | undefined => {
    const d = vqVdev.get(vq);
    if (d !== undefined) return d === balloonVdev;
    if (balloonVqs.has(vq) || devices.length <= 1) return true;
    return undefined;
  };
  const balloonVqs = new Set(
    [...outputHits].filter(([vq, n]) =>
      n * 10 >= top && (vqVdev.get(vq) === undefined || vqVdev.get(vq) === balloonVdev)
    ).map(([vq]) => vq),
  );
  let unattributed = 0;

  // pass 2: events
  const events: TraceEvent[] = [];
  const open = new Map<string, OpenElem>();
  let current: OpenElem | undefined;
  let pendingGpa: bigint | undefined;
  const offsets = new Map<string, Offset[]>();
  const reports: { ev: { pages: PageRun[] }; discards: Discard[] }[] = [];
  let unknownQueue = 0;
  for (const { line, t, name, a } of parsed) {
    const base = { t, line };
    switch (name) {
      case "virtio_set_status": {
        if (a[1] !== balloonVdev && balloonVdev !== undefined) skip("(another device)");
        else events.push({ ...base, type: "status", value: Number(a[2]) });
        break;
      }
      case "virtio_queue_notify": {
        if (a[1] !== balloonVdev && balloonVdev !== undefined) skip("(another device)");
        else events.push({ ...base, type: "notify", queue: Number(a[2]) });
        break;
      }
      case "virtqueue_pop": {
        const vq = a[1] as string;
        const mine = balloonQueue(vq);
        if (mine !== true) {
          // another device's pop leaves the balloon's open element open
          if (mine === undefined) unattributed++;
          else skip("(another device)");
          break;
        }
        current = undefined;
        pendingGpa = undefined;
        const queue = vqIndex.get(vq) ?? -1;
        if (queue === -1) unknownQueue++;
        const ev = {
          ...base,
          type: "chain" as const,
          queue,
          elem: a[2] as string,
          readable: Number(a[4]),
          writable: Number(a[3]),
        };
        const o: OpenElem = { event: ev, pages: [], discards: [] };
        events.push(ev);
        open.set(`${vq}/${a[2]}`, o);
        current = o;
        break;
      }
      case "virtio_balloon_handle_output": {
        if (current === undefined) {
          problems.push({
            line,
            message: "virtio_balloon_handle_output outside any popped element",
          });
          break;
        }
        pendingGpa = BigInt("0x" + a[2]);
        current.pages.push(Number(pendingGpa >> SHIFT));
        break;
      }
      case "ram_block_discard_range": {
        const block = a[1] as string;
        const hva = BigInt(a[2] as string);
        const length = Number(BigInt(a[3] as string));
        if (current !== undefined) {
          current.discards.push({ block, hva, length });
          if (pendingGpa !== undefined && length === BALLOON_PAGE_SIZE) {
            // an inflated page and its discard: this block's host-to-guest offset
            const delta = hva - pendingGpa;
            const list = offsets.get(block) ?? [];
            const o = list.find((x) => x.delta === delta);
            if (o === undefined) list.push({ delta, min: pendingGpa, max: pendingGpa });
            else {
              if (pendingGpa < o.min) o.min = pendingGpa;
              if (pendingGpa > o.max) o.max = pendingGpa;
            }
            offsets.set(block, list);
          }
        }
        pendingGpa = undefined;
        events.push({ ...base, type: "discard", length, hva: a[2] as string });
        break;
      }
      case "virtqueue_fill": {
        const vq = a[1] as string;
        const mine = balloonQueue(vq);
        if (mine !== true) {
          if (mine === undefined) unattributed++;
          else skip("(another device)");
          break;
        }
        const key = `${vq}/${a[2]}`;
        const o = open.get(key);
        if (o !== undefined) {
          if (o.pages.length > 0) o.event.pages = runsOf(o.pages);
          if (o.event.writable > 0 && o.event.readable === 0) {
            // a device-writable element: free page reporting names pages by discards
            const rev = {
              ...base,
              type: "report" as const,
              queue: o.event.queue,
              elem: o.event.elem,
              pages: [] as PageRun[],
            };
            reports.push({ ev: rev, discards: o.discards });
            events.push(rev);
          }
          open.delete(key);
          if (current === o) current = undefined;
        }
        events.push({
          ...base,
          type: "used",
          queue: vqIndex.get(vq) ?? -1,
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
          pages: Number(BigInt("0x" + a[1]) >> SHIFT),
        });
        break;
      default:
        break;
    }
  }
  if (unattributed > 0) {
    problems.push({
      line: 0,
      message:
        `${unattributed} buffer events are on queues the log never ties to a device (no virtio_queue_notify or virtio_balloon_handle_output for them): left out`,
    });
  }
  if (unknownQueue > 0) {
    problems.push({
      line: 0,
      message:
        `${unknownQueue} buffers are on queues the log never names (no virtio_queue_notify for them): rules about them are not observable`,
    });
  }
  // reported blocks: host addresses to guest pages, only where an inflate confirmed the offset
  const guestBytes = options.guestPages === undefined
    ? undefined
    : BigInt(options.guestPages) * PAGE;
  let unmapped = 0;
  for (const r of reports) {
    const runs: [number, number][] = [];
    for (const d of r.discards) {
      const gpa = guestAddress(offsets.get(d.block) ?? [], d, guestBytes);
      if (gpa === undefined) break;
      runs.push([Number(gpa >> SHIFT), d.length / BALLOON_PAGE_SIZE]);
    }
    if (runs.length === r.discards.length && runs.length > 0) r.ev.pages = runs;
    else unmapped++;
  }
  if (unmapped > 0) {
    problems.push({
      line: 0,
      message:
        `${unmapped} of ${reports.length} reported blocks cannot be placed in guest memory (no inflate in the log confirms their RAMBlock's host-to-guest offset): S-08 does not count them`,
    });
  }
  const header: TraceHeader = {
    type: "header",
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    source: "qemu-trace",
    profile: options.profile ?? "virtio-1.x",
    ...(options.guestPages === undefined ? {} : { guestPages: options.guestPages }),
    ...(options.versions === undefined ? {} : { versions: options.versions }),
  };
  return {
    trace: { header, events: [...events, ...(options.extra ?? [])] },
    problems,
    skipped,
    vdev: balloonVdev,
  };
}

/**
 * x86 PC machines (pc, q35) map guest RAM contiguously from guest address 0
 * up to at least 2 GiB; above that the RAMBlock may be split around the PCI
 * hole, at another offset.
 */
const CONTIGUOUS_LOW_RAM = 2n ** 31n;

/**
 * The guest address of a discarded host range, when an offset confirms it:
 * the range must lie between the lowest and the highest guest page an inflate
 * showed at that offset (or, for a guest of at most 2 GiB with one offset,
 * inside its RAM), and exactly one offset of the RAMBlock may fit.
 */
function guestAddress(
  offsets: readonly Offset[],
  d: Discard,
  guestBytes: bigint | undefined,
): bigint | undefined {
  const small = guestBytes !== undefined && guestBytes <= CONTIGUOUS_LOW_RAM &&
    offsets.length === 1;
  const fits = offsets.filter((o) => {
    const gpa = d.hva - o.delta;
    const end = gpa + BigInt(d.length);
    // one block from address 0 (a small guest), or inside what this offset's inflates spanned
    return small ? gpa >= 0n && end <= (guestBytes as bigint) : gpa >= o.min && end <= o.max + PAGE;
  });
  return fits.length === 1 ? d.hva - (fits[0] as Offset).delta : undefined;
}
