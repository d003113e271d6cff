/**
 * Free page reporting (VIRTIO_BALLOON_F_PAGE_REPORTING), as Linux's
 * page_reporting core does it: some time after memory was freed, the driver
 * takes free blocks of at least the reporting order that it has not reported
 * yet off the free lists (B62), fills them with poison_val under PAGE_POISON
 * (B59), reports up to PAGE_REPORTING_CAPACITY of them (never more than the
 * queue size, G36) in one chain of device-writable descriptors, waits until
 * the device has used it and only then puts them back (B60), marked reported
 * so that they are left alone until the guest allocates them again (B63).
 *
 * @module
 */

import {
  hasFeature,
  PAGE_REPORTING_CAPACITY,
  PAGE_REPORTING_DELAY_MS,
  PageSet,
} from "../../spec/mod.ts";
import type { TaskBody } from "../scheduler.ts";
import type { DriverCore } from "./core.ts";
import { blockPages } from "./hints.ts";
import { PAGE, SCRATCH } from "./layout.ts";
import type { DriverQueueUse, PageBlock } from "./seams.ts";
import { queueWork } from "./works.ts";

/** Asks for a reporting pass (page_reporting_notify_free): it runs after the reporting delay. */
export function requestReporting(vb: DriverCore): void {
  if (vb.stopUpdate || !vb.ready || vb.roles.get("reporting_vq") === undefined) return;
  queueWork(vb, "report");
}

/** The reporting work: waits the reporting delay, then reports until nothing is left to report. */
export function* reportingWork(vb: DriverCore): TaskBody<void> {
  yield { sleep: PAGE_REPORTING_DELAY_MS };
  const index = vb.roles.get("reporting_vq");
  const q = index === undefined ? undefined : vb.queues.get(index);
  if (index === undefined || q === undefined || vb.stopUpdate) return;
  vb.reported = vb.reported.intersection(vb.guest.alloc.freeSet());
  vb.seams.beforeReportPass(vb.reported.clone());
  while (!vb.stopUpdate) {
    const n = yield* reportOnce(vb, { index, q });
    if (n === 0) break;
  }
}

/**
 * Free blocks of at least the reporting order not reported yet, order by
 * order, up to the capacity or the chain limit of the ring (G36), whichever
 * is smaller.
 */
function candidates(vb: DriverCore, q: DriverQueueUse): PageBlock[] {
  const most = Math.min(PAGE_REPORTING_CAPACITY, vb.seams.chainLimit(q.ring));
  const order = vb.seams.reportOrder();
  const out: PageBlock[] = [];
  for (const b of vb.guest.alloc.freeBlocks()) {
    if (b.order < order) continue;
    if (vb.reported.countRange(b.pfn, b.pfn + 2 ** b.order) === 2 ** b.order) continue;
    out.push({ pfn: b.pfn, order: b.order });
    if (out.length >= most) break;
  }
  return out;
}

/** One report: isolate, poison, make available, wait for the use, put back. Returns the blocks reported. */
function* reportOnce(
  vb: DriverCore,
  at: { readonly index: number; readonly q: DriverQueueUse },
): TaskBody<number> {
  const taken = candidates(vb, at.q).filter((b) => vb.guest.alloc.isolateBlock(b.pfn, b.order));
  if (taken.length === 0) return 0;
  const pages = new PageSet();
  for (const b of taken) pages.unionWith(blockPages(b));
  // pages reported before and untouched since already hold poison_val (B63: leave them alone)
  const fresh = pages.clone();
  fresh.subtract(vb.reported);
  vb.seams.poisonFill(fresh, "report");
  const named = vb.seams.reportBlocks(taken);
  const segments = named.map((b) => ({ addr: b.pfn * PAGE, len: 2 ** b.order * PAGE }));
  const vq = at.q.vq;
  const indirect = segments.length > vq.numFree &&
    hasFeature(vb.profile, vb.negotiated, "INDIRECT_DESC");
  vq.add(
    [],
    segments,
    "report",
    indirect ? { indirectTable: vb.scratch + SCRATCH.reportIndirect } : {},
  );
  vb.kick(at.index);
  const waits = vb.seams.waitsForReport();
  if (!waits) putBack(vb, taken);
  for (;;) {
    const used = vq.getUsed();
    if (used !== undefined) break;
    yield { on: at.q.acked };
  }
  if (waits) putBack(vb, taken);
  vb.reported.unionWith(pages);
  return taken.length;
}

/** Puts reported blocks back on the free lists. */
function putBack(vb: DriverCore, blocks: readonly PageBlock[]): void {
  const pages = new PageSet();
  for (const b of blocks) {
    vb.guest.alloc.freeBlock(b.pfn, b.order);
    pages.unionWith(blockPages(b));
  }
  vb.guest.pagesReturned(pages, "report");
}
