/**
 * The driver's life after probe: balloon-page migration, remove
 * freeze and restore.
 *
 * @module
 */

import { PageSet } from "../../spec/mod.ts";
import { GuestMemory } from "../memory.ts";
import type { TaskBody } from "../scheduler.ts";
import { allocGuestPages, deflateAll } from "./balloon.ts";
import type { DriverCore } from "./core.ts";
import { returnHints } from "./hints.ts";
import { probe } from "./probe.ts";

/**
 * Balloon-page migration: a new page replaces `oldPfn` in the balloon;
 * the new page is reported on inflateq, then the old one on deflateq.
 */
export function* migratePage(vb: DriverCore, oldPfn: number): TaskBody<boolean> {
  const ppp = vb.pagesPerPage;
  yield* vb.lock();
  try {
    // checked under the lock: a deflate may have taken the page while we waited for it
    if (!vb.balloon.has(oldPfn)) return false;
    const fresh = allocGuestPages(vb, 1);
    if (fresh.size === 0) return false;
    const old = new PageSet();
    old.addRange(oldPfn, ppp);
    vb.balloon.unionWith(fresh);
    yield* vb.seams.sendMigration("inflateq", fresh);
    vb.balloon.subtract(old);
    yield* vb.seams.sendMigration("deflateq", old);
    vb.guest.alloc.freePages(old);
    vb.guest.pagesReturned(old);
    return true;
  } finally {
    vb.unlock();
  }
}

/** Stops hinting and reporting: hinted pages go back, initialised (B45), and the hooks go. */
function stopStandard(vb: DriverCore): void {
  for (const u of vb.unregisterStandard) u();
  vb.unregisterStandard = [];
  returnHints(vb, { pages: Infinity, when: "reclaim" });
}

/** Remove: stop, deflate everything, actual = 0, reset, free the rings. */
export function* remove(vb: DriverCore): TaskBody<void> {
  vb.stopUpdate = true;
  vb.unregisterOom?.();
  vb.unregisterOom = undefined;
  stopStandard(vb);
  if (vb.seams.deflatesOnRemove()) yield* deflateAll(vb);
  vb.transport.writeStatus(0);
  vb.ready = false;
  vb.queues.clear();
  vb.roles.clear();
  freeRings(vb);
}

/** Freeze: deflate everything and reset, keeping the driver's buffers. */
export function* freeze(vb: DriverCore): TaskBody<void> {
  vb.stopUpdate = true;
  stopStandard(vb);
  yield* deflateAll(vb);
  vb.transport.writeStatus(0);
  vb.ready = false;
}

/** Restore: renegotiate, set the queues up again, DRIVER_OK, `actual`, resume. */
export function* restore(vb: DriverCore): TaskBody<boolean> {
  freeRings(vb);
  vb.queues.clear();
  vb.roles.clear();
  vb.unregisterOom?.();
  stopStandard(vb);
  // a probe that stopped before its buffers (FEATURES_OK refused) left no scratch page
  if (vb.scratch !== 0) vb.guest.alloc.freeBlock(GuestMemory.pfnOf(vb.scratch), 1);
  vb.scratch = 0;
  vb.stopUpdate = false;
  const ok = yield* probe(vb);
  if (ok) vb.updateActual();
  return ok;
}

function freeRings(vb: DriverCore): void {
  for (const b of vb.ringBlocks) vb.guest.alloc.freeBlock(b.pfn, b.order);
  vb.ringBlocks = [];
}
