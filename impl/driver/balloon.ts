/**
 * Moving the balloon: towards the target (inflate with `fill`, deflate with
 * `leak`), on OOM, and to empty; each pass tells the host and then writes
 * `actual`.
 *
 * @module
 */

import { fieldOf, PageSet, readScalar } from "../../spec/mod.ts";
import type { TaskBody } from "../scheduler.ts";
import { extendBitmaps, wantedBitmaps } from "./bitmaps.ts";
import type { DriverCore } from "./core.ts";
import { sendPages } from "./requests.ts";
import { queueWork } from "./works.ts";

const CONFIG_NUM_PAGES = fieldOf("virtio_balloon_config", "num_pages");

/** towards_target: target (rounded up to whole guest pages) minus balloon size. */
export function towardsTarget(vb: DriverCore): number {
  const view = new DataView(vb.transport.readConfig(CONFIG_NUM_PAGES.offset, 4).buffer);
  const target = Number(readScalar(view, 0, CONFIG_NUM_PAGES.type, "v1"));
  const ppp = vb.pagesPerPage;
  return Math.ceil(target / ppp) * ppp - vb.numPages;
}

/** The update work: one inflate or deflate pass towards the target, then `actual`. */
export function* updateBalloonSize(vb: DriverCore): TaskBody<void> {
  if (vb.stopUpdate) return;
  let diff = towardsTarget(vb);
  if (vb.seams.usesBitmaps() && diff !== 0 && vb.bitmaps.length === 1) {
    extendBitmaps(vb, wantedBitmaps(vb));
  }
  if (diff > 0) diff -= yield* fill(vb, diff);
  else if (diff < 0) diff += yield* leak(vb, -diff);
  vb.updateActual();
  if (diff !== 0 && !vb.stopUpdate) queueWork(vb, "update");
}

/** Allocates `count` guest pages (of 4 KiB each or larger) for the balloon. */
export function allocGuestPages(vb: DriverCore, count: number): PageSet {
  const ppp = vb.pagesPerPage;
  if (ppp === 1) return vb.guest.alloc.allocPages(count, "MOVABLE");
  const out = new PageSet();
  const order = Math.log2(ppp);
  for (let i = 0; i < count; i++) {
    const pfn = vb.guest.alloc.allocBlock(order, "MOVABLE");
    if (pfn === undefined) break;
    out.addRange(pfn, ppp);
  }
  return out;
}

/** fill_balloon: one inflate pass of up to `num` 4 KiB pages; returns the pages added. */
export function* fill(vb: DriverCore, num: number): TaskBody<number> {
  const ppp = vb.pagesPerPage;
  if (!vb.seams.usesBitmaps()) num = Math.min(num, vb.seams.pfnsPerRequest());
  const want = Math.ceil(num / ppp);
  yield* vb.lock();
  try {
    const got = allocGuestPages(vb, want);
    const gotPages = got.size / ppp;
    if (gotPages < want) {
      vb.counters.outOfPuff++;
      yield { sleep: 200 };
    }
    if (got.size === 0) return 0;
    vb.numPages += got.size;
    if (vb.seams.adjustsManagedCount()) vb.guest.alloc.adjustManagedPageCount(-got.size);
    const lowestBefore = vb.balloon.min();
    vb.balloon.unionWith(got);
    vb.seams.beforeInflateRequest();
    const encoding = vb.seams.usesBitmaps() ? "bitmap" : "pfn";
    const report = vb.seams.inflateReport({ taken: got, lowestBefore, encoding });
    yield* sendPages(vb, "inflateq", { range: got, report });
    return got.size;
  } finally {
    vb.unlock();
  }
}

/** Takes the `num` lowest pages out of the balloon. */
function dequeue(vb: DriverCore, num: number): PageSet {
  const out = vb.balloon.lowest(num);
  vb.balloon.subtract(out);
  return out;
}

/** leak_balloon: one deflate pass of up to `num` 4 KiB pages; returns the pages taken out. */
export function* leak(vb: DriverCore, num: number): TaskBody<number> {
  const ppp = vb.pagesPerPage;
  yield* vb.lock();
  try {
    num = Math.min(num, vb.numPages);
    if (!vb.seams.usesBitmaps()) num = Math.min(num, vb.seams.pfnsPerRequest());
    const pages = dequeue(vb, Math.floor(num / ppp) * ppp);
    if (pages.size === 0) return 0;
    vb.numPages -= pages.size;
    const releaseFirst = vb.seams.releaseOrder() === "release-then-tell";
    if (releaseFirst) release(vb, pages);
    const report = vb.seams.deflateReport(pages);
    if (report !== undefined) yield* sendPages(vb, "deflateq", { range: pages, report });
    if (!releaseFirst) release(vb, pages);
    return pages.size;
  } finally {
    vb.unlock();
  }
}

/** release_pages_balloon: gives deflated pages back to the guest, poisoned with PAGE_POISON (B54). */
function release(vb: DriverCore, pages: PageSet): void {
  vb.seams.poisonFill(pages, "deflate");
  vb.guest.alloc.freePages(pages);
  if (vb.seams.adjustsManagedCount()) vb.guest.alloc.adjustManagedPageCount(pages.size);
  vb.guest.pagesReturned(pages);
}

/** The OOM notifier: deflate at most oomPages, only with DEFLATE_ON_OOM, then `actual`. */
export function* oomNotify(vb: DriverCore): TaskBody<number> {
  if (!vb.seams.deflatesOnOom()) return 0;
  let freed = 0;
  for (const pages of vb.seams.oomPasses(vb.oomPages)) freed += yield* leak(vb, pages);
  vb.updateActual();
  return freed;
}

/** Deflates the whole balloon, then writes `actual` (remove, freeze). */
export function* deflateAll(vb: DriverCore): TaskBody<void> {
  while (vb.numPages > 0) {
    const n = yield* leak(vb, vb.numPages);
    if (n === 0) break;
  }
  vb.updateActual();
}
