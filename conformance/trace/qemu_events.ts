/**
 * The second pass of the QEMU importer (see `qemu_log.ts`): lines in, trace
 * events out, one at a time. A chain is held back until its pages are known
 * (its element filled, another popped, or another balloon event logged), and
 * the events after it with it; everything else goes out at once. Problems are
 * kept in a bounded list; limitations become notes.
 *
 * @module
 */

import { BALLOON_PAGE_SIZE, QUEUES, VIRTIO_BALLOON_PFN_SHIFT } from "../../spec/mod.ts";
import { type PageRun, TRACE_FORMAT, type TraceEvent } from "./format.ts";
import type { LineInfo, LinesRead } from "./lines.ts";
import { type InputProblem, ProblemList } from "./problems.ts";
import { bareEvent, FEEDS, hexNumber, splitQemuLine } from "./qemu_lines.ts";
import { type Attribution, balloonQueue, type Discard, guestAddress } from "./qemu_scan.ts";

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

/** Indices of inflateq and deflateq, which the spec fixes: the device handles their buffers at once. */
const PAGE_QUEUES: readonly number[] = QUEUES.filter((q) =>
  q.name === "inflateq" || q.name === "deflateq"
).map((q) => q.fixedIndex);

/** Bytes of a balloon page, as the PFN shift says. */
const PFN_BYTES = 2 ** VIRTIO_BALLOON_PFN_SHIFT;
/** Time may step back this far between lines of different threads (each takes its time before the log lock). */
const THREAD_SKEW_SECONDS = 1;

type Chain = {
  -readonly [K in keyof Extract<TraceEvent, { type: "chain" }>]: Extract<
    TraceEvent,
    { type: "chain" }
  >[K];
};

interface OpenElem {
  readonly event: Chain;
  readonly pages: number[];
  readonly discards: Discard[];
  /** Whether the chain event went out already (its pages are final). */
  sent: boolean;
}

/** The second pass: lines in, events out. */
export class QemuEvents {
  readonly #att: Attribution;
  readonly #emit: (e: TraceEvent) => void;
  readonly #guestBytes: number | undefined;
  readonly problems = new ProblemList();
  readonly skipped: Record<string, number> = {};
  events = 0;
  readonly #open = new Map<string, OpenElem>();
  #current: OpenElem | undefined;
  /** Events held behind the current chain until its pages are known. */
  #held: TraceEvent[] | undefined;
  #lastT: number | undefined;
  #lastTid: number | undefined;
  readonly #threadT = new Map<number, number>();
  #unattributed = 0;
  #unattributedFrom = 0;
  #unknownQueue = 0;
  #reports = 0;
  #unmapped = 0;
  #hostStatus = 0;
  /** Lines that are no trace line, by kind: noise, bare (no prefix), suite (a suite trace). */
  readonly #bad = { noise: 0, bare: 0, suite: 0 };

  /** The pass for a log the scan attributed, events to `emit`. */
  constructor(
    att: Attribution,
    emit: (e: TraceEvent) => void,
    options: { readonly guestPages?: number } = {},
  ) {
    this.#att = att;
    this.#emit = emit;
    const pages = options.guestPages;
    this.#guestBytes = pages === undefined ? undefined : pages * BALLOON_PAGE_SIZE;
    for (const p of att.problems) this.problems.add(p.message, p);
  }

  #skip(what: string): void {
    this.skipped[what] = (this.skipped[what] ?? 0) + 1;
  }

  #out(e: TraceEvent): void {
    this.events++;
    if (this.#held !== undefined) this.#held.push(e);
    else this.#emit(e);
  }

  /** Sends the held chain (its pages now known) and what waited behind it. */
  #release(): void {
    const held = this.#held;
    if (held === undefined) return;
    this.#held = undefined;
    const o = this.#current;
    if (o !== undefined) {
      if (o.pages.length > 0) o.event.pages = runsOf(o.pages);
      o.sent = true;
    }
    for (const e of held) this.#emit(e);
  }

  #problem(kind: string, p: InputProblem, more?: (n: number) => string): void {
    this.problems.add(kind, p, more);
  }

  /** Sees line `line` of the log. */
  line(raw0: string, line: number, info: LineInfo): void {
    const { cut, unterminated } = info;
    const raw = raw0.trimEnd();
    if (raw === "" && !cut) return;
    const s = splitQemuLine(raw);
    if (cut) {
      this.#bad.noise++;
      this.#problem("cut", {
        line,
        message: "longer than a log line can be (cut): not a QEMU trace line",
        affects: "all",
      }, (n) => `${n} more lines are too long to be QEMU trace lines`);
      return;
    }
    if (unterminated) {
      const name = s.kind === "not-trace" ? undefined : s.name;
      this.#problem("unterminated", {
        line,
        message: `the log ends in the middle of a line (no newline after "${
          printable(raw.slice(-40))
        }"): it was cut, the line is left out`,
        affects: name !== undefined && FEEDS[name] !== undefined ? FEEDS[name] : "all",
      });
      return;
    }
    if (s.kind === "not-trace") {
      this.#notTrace(raw, line);
      return;
    }
    if (s.kind === "other-event") {
      this.#skip(s.name);
      return;
    }
    if (s.kind === "bad-args") {
      this.#problem(`args ${s.name}`, {
        line,
        message: `${s.name}: cannot parse arguments "${s.args.slice(0, 80)}"`,
        affects: FEEDS[s.name] ?? "all",
      });
      return;
    }
    const { tid, t, name, a } = s;
    this.#time(tid, t, line);
    this.#event(tid, t, name, a, line);
  }

  #notTrace(raw: string, line: number): void {
    const bare = bareEvent(raw);
    if (bare !== undefined) {
      this.#bad.bare++;
      this.#problem("bare", {
        line,
        message:
          `a trace line without the TID@SECONDS: prefix (QEMU writes it only with -msg timestamp=on; record the log with it)`,
        affects: FEEDS[bare] ?? "all",
      }, (n) => `${n} more trace lines without the TID@SECONDS: prefix of -msg timestamp=on`);
      return;
    }
    if (line === 1 && raw.startsWith("{") && raw.includes(`"${TRACE_FORMAT}"`)) {
      this.#bad.suite++;
      this.#problem("suite", {
        line,
        message:
          `a trace in the suite's own format (${TRACE_FORMAT}), not a QEMU log: check it with --trace`,
        affects: "all",
      });
      return;
    }
    const shown = printable(raw.slice(0, 60));
    this.#bad.noise++;
    this.#problem("noise", {
      line,
      message: `not a QEMU trace line (expected TID@SECONDS:event args): "${shown}"`,
      affects: "all",
    }, (n) => `${n} more lines are not QEMU trace lines`);
  }

  #time(tid: number, t: number, line: number): void {
    const last = this.#lastT;
    // most lines follow one of the same thread, and go forwards: no map to look in
    if (tid === this.#lastTid && last !== undefined && t >= last) {
      this.#lastT = t;
      return;
    }
    if (this.#lastTid !== undefined && last !== undefined) this.#threadT.set(this.#lastTid, last);
    const mine = this.#threadT.get(tid);
    if (mine !== undefined && t < mine) {
      this.#problem("time", {
        line,
        message: `time goes backwards on thread ${tid}, from ${mine.toFixed(6)} to ${
          t.toFixed(6)
        } s (logs joined, or the clock stepped): the order of events is unreliable`,
        affects: "order",
      }, (n) => `time goes backwards ${n} more times`);
    } else if (last !== undefined && t < last - THREAD_SKEW_SECONDS) {
      this.#problem("time", {
        line,
        message: `time goes backwards by ${(last - t).toFixed(3)} s, from ${last.toFixed(6)} to ${
          t.toFixed(6)
        } (logs joined, or the clock stepped): the order of events is unreliable`,
        affects: "order",
      }, (n) => `time goes backwards ${n} more times`);
    }
    this.#threadT.set(tid, t);
    this.#lastT = t;
    this.#lastTid = tid;
  }

  #event(tid: number, t: number, name: string, a: RegExpExecArray, line: number): void {
    const att = this.#att;
    const base = { t, line };
    switch (name) {
      case "virtio_set_status": {
        if (a[1] !== att.vdev && att.vdev !== undefined) return this.#skip("(another device)");
        this.#release();
        const driver = att.guestThreads.has(tid);
        if (!driver) this.#hostStatus++;
        this.#out({
          ...base,
          type: "status",
          value: Number(a[2]),
          ...(driver ? {} : { by: "host" }),
        });
        if (driver && att.hostThreads.has(tid)) {
          this.#problem("both", {
            line,
            message:
              `thread ${tid} logs both guest accesses and host requests: its status lines are taken as the driver's`,
            affects: ["status"],
          }, (n) => `${n} more status lines of threads that are both the guest's and the host's`);
        }
        return;
      }
      case "virtio_queue_notify": {
        if (a[1] !== att.vdev && att.vdev !== undefined) return this.#skip("(another device)");
        this.#release();
        this.#out({ ...base, type: "notify", queue: Number(a[2]) });
        return;
      }
      case "virtqueue_pop":
        return this.#pop(a, base);
      case "virtio_balloon_handle_output": {
        const o = this.#current;
        if (o === undefined || o.sent) {
          if (att.problems.length > 0) return; // explained by the --vdev problem
          this.#problem("outside", {
            line,
            message: o === undefined
              ? "virtio_balloon_handle_output outside any popped element"
              : `virtio_balloon_handle_output for element ${o.event.elem} after other balloon events: its page is left out`,
            affects: ["chain"],
          }, (n) => `${n} more virtio_balloon_handle_output lines outside any popped element`);
          return;
        }
        const gpa = this.#hex(a[2] as string, name, line);
        if (gpa !== undefined) o.pages.push(Math.floor(gpa / PFN_BYTES));
        return;
      }
      case "ram_block_discard_range": {
        const length = this.#hex((a[3] as string).slice(2), name, line);
        if (length === undefined) return;
        this.#current?.discards.push({
          block: a[1] as string,
          hva: hexNumber((a[2] as string).slice(2)),
          length,
        });
        this.#out({ ...base, type: "discard", length, hva: a[2] as string });
        return;
      }
      case "virtqueue_fill":
        return this.#fill(a, base);
      case "virtio_balloon_get_config":
        this.#release();
        this.#out({ ...base, type: "config-read", num_pages: Number(a[1]), actual: Number(a[2]) });
        return;
      case "virtio_balloon_set_config":
        this.#release();
        this.#out({
          ...base,
          type: "config-write",
          field: "actual",
          value: Number(a[1]),
          old: Number(a[2]),
        });
        return;
      case "virtio_balloon_to_target": {
        const bytes = this.#hex(a[1] as string, name, line);
        if (bytes === undefined) return;
        this.#release();
        this.#out({ ...base, type: "host", action: "set-target", pages: Number(a[2]), bytes });
        return;
      }
      case "balloon_event":
        this.#release();
        this.#out({ ...base, type: "host", action: "balloon", bytes: Number(a[2]) });
        return;
      case "virtio_balloon_bad_addr": {
        const gpa = this.#hex(a[1] as string, name, line);
        if (gpa === undefined) return;
        this.#out({
          ...base,
          type: "host",
          action: "bad-addr",
          pages: Math.floor(gpa / PFN_BYTES),
        });
        return;
      }
    }
  }

  /** A hex argument as a number; a problem when it is beyond 2^52 (no address or length is). */
  #hex(digits: string, name: string, line: number): number | undefined {
    const n = hexNumber(digits);
    if (n !== undefined) return n;
    this.#problem(`big ${name}`, {
      line,
      message: `${name}: 0x${digits} is beyond 2^52, no address or length QEMU logs can be`,
      affects: FEEDS[name] ?? "all",
    });
    return undefined;
  }

  #pop(a: RegExpExecArray, base: { t: number; line: number }): void {
    const vq = a[1] as string;
    const mine = balloonQueue(this.#att, vq);
    if (mine !== true) {
      // another device's pop leaves the balloon's open element open
      if (mine === undefined) this.#unattributedAt(base.line);
      else this.#skip("(another device)");
      return;
    }
    this.#release();
    const queue = this.#att.vqIndex.get(vq) ?? -1;
    if (queue === -1) this.#unknownQueue++;
    const event: Chain = {
      ...base,
      type: "chain",
      queue,
      elem: a[2] as string,
      readable: Number(a[4]),
      writable: Number(a[3]),
    };
    const o: OpenElem = { event, pages: [], discards: [], sent: false };
    this.#open.set(`${vq}/${a[2]}`, o);
    this.#current = o;
    this.#held = [];
    this.#out(event);
  }

  #fill(a: RegExpExecArray, base: { t: number; line: number }): void {
    const vq = a[1] as string;
    const mine = balloonQueue(this.#att, vq);
    if (mine !== true) {
      if (mine === undefined) this.#unattributedAt(base.line);
      else this.#skip("(another device)");
      return;
    }
    const key = `${vq}/${a[2]}`;
    const o = this.#open.get(key);
    if (o === this.#current) this.#release();
    if (o !== undefined) {
      if (o.event.writable > 0 && o.event.readable === 0) {
        // a device-writable element: free page reporting names pages by discards
        this.#reports++;
        const pages = this.#place(o.discards);
        if (pages.length === 0) this.#unmapped++;
        this.#out({ ...base, type: "report", queue: o.event.queue, elem: o.event.elem, pages });
      }
      this.#open.delete(key);
      if (this.#current === o) this.#current = undefined;
    }
    this.#out({
      ...base,
      type: "used",
      queue: this.#att.vqIndex.get(vq) ?? -1,
      elem: a[2] as string,
      len: Number(a[3]),
    });
  }

  #unattributedAt(line: number): void {
    if (this.#unattributed++ === 0) this.#unattributedFrom = line;
  }

  /** Reported host ranges as guest pages, only where an inflate confirmed the offset. */
  #place(discards: readonly Discard[]): PageRun[] {
    const runs: [number, number][] = [];
    for (const d of discards) {
      const gpa = guestAddress(d, {
        offsets: this.#att.offsets.get(d.block) ?? [],
        guestBytes: this.#guestBytes,
      });
      if (gpa === undefined) return [];
      runs.push([Math.floor(gpa / PFN_BYTES), d.length / BALLOON_PAGE_SIZE]);
    }
    return runs;
  }

  /** After the last line: what was cut off, what could not be told; the notes. */
  finish(read: LinesRead): string[] {
    if (read.error !== undefined) {
      this.#problem("gzip", { line: read.lines + 1, message: read.error, affects: "all" });
    }
    for (const o of this.#open.values()) {
      const e = o.event;
      const busy = PAGE_QUEUES.includes(e.queue) || o.pages.length > 0 || o.discards.length > 0 ||
        (e.writable > 0 && e.readable === 0);
      if (!busy) continue; // a stats buffer the device holds until its next poll
      this.#problem("open", {
        line: e.line ?? 0,
        message:
          `the log ends inside element ${e.elem} of queue ${e.queue} (${o.pages.length} pages named so far, no virtqueue_fill): it was cut`,
        affects: ["chain", "used", "report", "discard"],
      }, (n) => `the log ends inside ${n} more elements`);
    }
    this.#release();
    if (this.#unattributed > 0) {
      this.#problem("unattributed", {
        line: this.#unattributedFrom,
        message:
          `${this.#unattributed} buffer events, the first here, are on queues the log never ties to a device (no virtio_queue_notify or virtio_balloon_handle_output for them): left out`,
        affects: ["chain", "used", "report"],
      });
    }
    const notes: string[] = [];
    if (this.#unknownQueue > 0) {
      notes.push(
        `${this.#unknownQueue} buffers are on queues the log never names (no virtio_queue_notify for them): rules about them are not observable`,
      );
    }
    if (this.#unmapped > 0) {
      notes.push(
        `${this.#unmapped} of ${this.#reports} reported blocks cannot be placed in guest memory (no inflate in the log confirms their RAMBlock's host-to-guest offset): S-08 does not count them`,
      );
    }
    const guest = [...this.#att.guestThreads];
    if (guest.length > 0 || this.#hostStatus > 0) {
      notes.push(
        `status lines of thread${guest.length === 1 ? "" : "s"} ${
          guest.length === 0 ? "(none)" : guest.join(", ")
        } (which log the guest's notifications and config accesses) are the driver's; ${this.#hostStatus} of other threads (QEMU's own: machine reset, stop, quit, migration) are the host's`,
      );
    }
    return notes;
  }

  /** Why the log gave nothing to judge, if it did. */
  empty(read: LinesRead): string | undefined {
    if (this.events > 0) return undefined;
    const n = read.lines;
    if (n === 0) return "no balloon event in the log: it is empty";
    if (this.#bad.suite > 0) {
      return "no balloon event in the log: it is a trace in the suite's format (check it with --trace)";
    }
    if (this.#bad.bare > 0) {
      return `no balloon event in the log: ${this.#bad.bare} of its ${n} lines are trace lines without the TID@SECONDS: prefix (record the log with -msg timestamp=on)`;
    }
    if (this.#bad.noise === n || this.#bad.noise === n - (read.unterminated ? 1 : 0)) {
      return `no balloon event in the log: none of its ${n} lines is a QEMU trace line`;
    }
    return `no balloon event among the log's ${n} lines`;
  }
}

/** Text safe to print: other characters as "?". */
function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?");
}
