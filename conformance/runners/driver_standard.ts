/**
 * What a driver scenario of the standard profile records beyond the trace:
 * the guest model sees what no device can — which pages the driver gave
 * back and why, what a reported or deflated page held when it was reported
 * or given back, whether a hinted page was written before the driver let it
 * go, and the driver's writes to pages it had reported. Checks of page
 * poison, free page hinting and free page reporting read it.
 *
 * @module
 */

import { fieldOf, PageSet, readScalar } from "../../spec/mod.ts";
import type {
  DeviceTraceEvent,
  GuestEnv,
  LoggedEvent,
  ReturnReason,
  Transport,
} from "../../impl/mod.ts";

const POISON_VAL = fieldOf("virtio_balloon_config", "poison_val");
/** Pages a record reads the contents of, at most (the rest are not looked at). */
const READ_LIMIT = 65_536;

/** Pages the driver gave back to the guest. */
export interface ReturnRecord {
  /** Trace sequence number of the last event before it. */
  readonly afterSeq: number;
  /** The pages. */
  readonly pages: PageSet;
  /** Why. */
  readonly reason: ReturnReason;
  /** Of them, pages that did not hold poison_val (deflated pages, with PAGE_POISON). */
  readonly notPoisoned: PageSet;
  /** Of them, hinted pages the driver had not written since it hinted them. */
  readonly uninitialized: PageSet;
}

/** What a report named and what its pages held when the device took it. */
export interface ReportRecord {
  /** Trace sequence number of the report. */
  readonly seq: number;
  /** Queue index. */
  readonly index: number;
  /** Head descriptor. */
  readonly head: number;
  /** The pages. */
  readonly pages: PageSet;
  /** Of them, pages that did not hold poison_val (with PAGE_POISON). */
  readonly notPoisoned: PageSet;
  /** Trace sequence number of its use, once used. */
  usedSeq: number | undefined;
}

/** The record of one driver scenario on the standard profile. */
export interface StandardWatch {
  /** Pages given back to the guest, in order. */
  readonly returns: readonly ReturnRecord[];
  /** Reports, in order. */
  readonly reports: readonly ReportRecord[];
  /** Hinted pages the guest's workload was using when they were hinted. */
  readonly hintedInUse: PageSet;
  /** Every page hinted (accepted or not), and the hint's trace sequence number. */
  readonly hints: readonly { readonly seq: number; readonly pages: PageSet }[];
  /** Writes by the driver to pages it had reported and that were still free. */
  readonly reportedWrites: readonly { readonly pfn: number; readonly afterSeq: number }[];
}

/** Whether a page holds a 32-bit value in every word (an unwritten page holds zeros). */
function holds(guest: GuestEnv, pfn: number, value: number): boolean {
  const c = guest.mem.pageContents(pfn);
  if (c === undefined) return value === 0;
  const v = new DataView(c.buffer, c.byteOffset, c.byteLength);
  for (let i = 0; i + 4 <= c.length; i += 4) if (v.getUint32(i, true) !== value) return false;
  // the stored part may be shorter than a page: the rest reads as zeros
  return c.length >= 4096 || value === 0;
}

/** The pages of a set that do not hold a value, looking at no more than READ_LIMIT pages. */
function notHolding(guest: GuestEnv, pages: PageSet, value: number): PageSet {
  const out = new PageSet();
  let n = 0;
  for (const pfn of pages) {
    if (n++ >= READ_LIMIT) break;
    if (!holds(guest, pfn, value)) out.add(pfn);
  }
  return out;
}

/**
 * Starts recording: returns the record, filled in as the scenario runs.
 * `poisoning()` says whether PAGE_POISON is in force now.
 */
export function watchStandard(
  guest: GuestEnv,
  transport: Transport,
  poisoning: () => boolean,
): StandardWatch {
  const returns: ReturnRecord[] = [];
  const reports: ReportRecord[] = [];
  const hints: { seq: number; pages: PageSet }[] = [];
  const hintedInUse = new PageSet();
  const reportedWrites: { pfn: number; afterSeq: number }[] = [];
  const hintedUnwritten = new PageSet();
  const reportedFree = new PageSet();
  const pending = new Map<string, ReportRecord>();
  let lastSeq = 0;
  const poisonVal = () => {
    const config = new DataView(transport.config.buffer);
    return Number(readScalar(config, POISON_VAL.offset, POISON_VAL.type, "v1"));
  };
  transport.onEvent((e: LoggedEvent) => {
    lastSeq = e.seq;
    if (e.kind === "request") {
      const r = e as DeviceTraceEvent & { seq: number };
      if ((r.what === "hint" || r.what === "hint-ignored") && r.pages !== undefined) {
        hints.push({ seq: r.seq, pages: r.pages });
        hintedInUse.unionWith(r.pages.intersection(guest.workload));
        hintedUnwritten.unionWith(r.pages);
      } else if (r.what === "report" && r.pages !== undefined) {
        const rec: ReportRecord = {
          seq: r.seq,
          index: r.index,
          head: r.head,
          pages: r.pages,
          notPoisoned: poisoning() ? notHolding(guest, r.pages, poisonVal()) : new PageSet(),
          usedSeq: undefined,
        };
        reports.push(rec);
        pending.set(`${r.index}:${r.head}`, rec);
      }
    } else if (e.kind === "used") {
      const rec = pending.get(`${e.index}:${e.head}`);
      if (rec !== undefined) {
        rec.usedSeq = e.seq;
        pending.delete(`${e.index}:${e.head}`);
      }
    }
  });
  guest.onReturn((pages, reason) => {
    const uninitialized = reason === "hint" ? pages.intersection(hintedUnwritten) : new PageSet();
    hintedUnwritten.subtract(pages);
    returns.push({
      afterSeq: lastSeq,
      pages: pages.clone(),
      reason,
      notPoisoned: reason === "deflate" && poisoning()
        ? notHolding(guest, pages, poisonVal())
        : new PageSet(),
      uninitialized,
    });
    if (reason === "report") reportedFree.unionWith(pages);
    else reportedFree.subtract(pages);
  });
  guest.onFree((pages) => {
    reportedFree.subtract(pages);
  });
  guest.mem.onWrite((pfn, writer) => {
    if (writer === "driver") hintedUnwritten.delete(pfn);
    if (!reportedFree.has(pfn)) return;
    if (writer === "driver" && guest.alloc.isFree(pfn)) {
      reportedWrites.push({ pfn, afterSeq: lastSeq });
    } else if (!guest.alloc.isFree(pfn)) reportedFree.delete(pfn);
  });
  return { returns, reports, hintedInUse, hints, reportedWrites };
}
