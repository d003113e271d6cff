/**
 * The order of a driver's writes to its available rings (G53): the suite
 * watches every write to guest memory, and each time the driver moves
 * `avail.idx` on, every ring entry the move publishes must have been
 * written since that slot was last published. A driver that bumps
 * `avail.idx` first and writes the entry after (or never) hands the device a
 * stale or empty entry: on real hardware that is the missing barrier before
 * the index update. Seen for any driver whose ring writes reach the suite's
 * memory one by one: the in-process drivers, and drivers in other processes
 * (each `mem.write` in order).
 *
 * @module
 */

import { fieldOf, readScalar, structSize, wireSize } from "../../spec/mod.ts";
import type { GuestMemory, Transport } from "../../impl/mod.ts";

const AVAIL_IDX = fieldOf("virtq_avail_hdr", "idx");
const AVAIL_HDR = structSize("virtq_avail_hdr");
const ENTRY = wireSize(AVAIL_IDX.type);
/** Span of a ring index (indices wrap at it). */
const IDX_SPAN = 2 ** (8 * ENTRY);

/** An `avail.idx` update that published an entry not written since its slot was last published. */
export interface AvailOrderFinding {
  /** Queue. */
  readonly queue: number;
  /** The ring slot. */
  readonly slot: number;
  /** The index value that published it. */
  readonly idx: number;
  /** Trace sequence number of the last event before the update. */
  readonly afterSeq: number;
}

/** What the watch saw. */
export interface AvailOrderWatch {
  /** Updates that published an entry the driver had not written. */
  readonly findings: AvailOrderFinding[];
  /** Entries published by `avail.idx` updates, all queues. */
  published: number;
}

interface Ring {
  readonly queue: number;
  readonly avail: number;
  readonly size: number;
  /** Per slot: written since it was last published. */
  readonly written: Uint8Array;
  /** The last `avail.idx` seen (0 when the queue is set up: where the device starts reading). */
  last: number;
}

/** Watches the driver's avail-ring writes on `mem` for the queues `transport` sets up. */
export function watchAvailOrder(
  mem: GuestMemory,
  transport: Transport,
  lastSeq: () => number,
): AvailOrderWatch {
  const watch: AvailOrderWatch = { findings: [], published: 0 };
  let rings: Ring[] = [];
  let stale = false;
  transport.onEvent((e) => {
    if (e.kind === "queue-setup") stale = true;
    else if (e.kind === "reset") rings = [];
  });
  const refresh = () => {
    stale = false;
    const next: Ring[] = [];
    for (const queue of transport.queueIndices) {
      const l = transport.queueLayout(queue);
      if (l === undefined) continue;
      const old = rings.find((r) => r.queue === queue && r.avail === l.avail && r.size === l.size);
      next.push(
        old ?? { queue, avail: l.avail, size: l.size, written: new Uint8Array(l.size), last: 0 },
      );
    }
    rings = next;
  };
  mem.onWriteRange((addr, length, writer) => {
    if (writer !== "driver") return;
    if (stale) refresh();
    const end = addr + length;
    for (const r of rings) {
      const entries = r.avail + AVAIL_HDR;
      const from = Math.max(addr, entries);
      const to = Math.min(end, entries + r.size * ENTRY);
      for (let a = from; a < to; a++) r.written[Math.floor((a - entries) / ENTRY)] = 1;
      const idxAt = r.avail + AVAIL_IDX.offset;
      if (addr > idxAt || end < idxAt + ENTRY) continue;
      const b = mem.read(idxAt, ENTRY);
      const idx = Number(
        readScalar(new DataView(b.buffer, b.byteOffset), 0, AVAIL_IDX.type, transport.byteOrder),
      );
      const from16 = r.last;
      const moved = (idx - from16 + IDX_SPAN) % IDX_SPAN;
      r.last = idx;
      // a jump past the ring's size is not an order question (the ring check sees it)
      if (moved > r.size) continue;
      for (let k = 0; k < moved; k++) {
        const slot = (from16 + k) % r.size;
        watch.published++;
        if (r.written[slot] === 0) {
          watch.findings.push({ queue: r.queue, slot, idx, afterSeq: lastSeq() });
        }
        r.written[slot] = 0;
      }
    }
  });
  return watch;
}
