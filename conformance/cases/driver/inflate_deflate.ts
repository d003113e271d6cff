/**
 * Driver cases of inflate and deflate: PFN arrays, one request in flight,
 * allocated pages only, deflated pages reported, MUST_TELL_HOST (R-12a, B14)
 * and its SHOULD without the feature (R-12b), the balloon set (S-06, S-07).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import {
  balloonSet,
  deflateReported,
  inflateAllocated,
  noDeflateBeforeInflateAck,
  noWriteToHeld,
  oneInFlight,
  pfnMaxEntries,
} from "../../checks/driver/inflate_deflate.ts";
import {
  DRV_BITMAP_CYCLE,
  DRV_BITMAP_MTH_SLOW_ACK,
  DRV_PFN_CYCLE,
  DRV_PFN_INFLATE_HELD,
  DRV_PFN_LEGACY_BE,
  DRV_PFN_MTH_SLOW_ACK,
  DRV_PFN_NO_MTH_SLOW_ACK,
} from "../../scenarios/driver.ts";

/** Written driver cases of this family. */
export const INFLATE_DEFLATE_CASES: readonly CaseDef[] = [
  driverCase({
    id: "inflate.pfn.max-256",
    title: "PFN-array requests hold at most 256 PFNs",
    scenario: DRV_PFN_CYCLE,
    check: pfnMaxEntries,
    rules: ["R-07"],
  }),
  driverCase({
    id: "inflate.pfn.one-in-flight",
    title: "One PFN-array request in flight per queue",
    scenario: DRV_PFN_CYCLE,
    check: oneInFlight,
    rules: ["R-07"],
  }),
  driverCase({
    id: "inflate.pfn.allocated-pages",
    title: "Inflate names only pages the guest took for the balloon",
    scenario: DRV_PFN_CYCLE,
    check: inflateAllocated,
    rules: ["R-09", "B16"],
  }),
  driverCase({
    id: "deflate.pfn.reported",
    title: "Every page taken back is reported on deflateq, and only balloon pages",
    scenario: DRV_PFN_CYCLE,
    check: deflateReported,
    rules: ["B13", "R-11"],
  }),
  driverCase({
    id: "deflate.pfn.after-inflate-ack",
    title: "No deflate of pages whose inflate was not used yet",
    scenario: DRV_PFN_INFLATE_HELD,
    check: noDeflateBeforeInflateAck,
    rules: ["B17"],
  }),
  driverCase({
    id: "deflate.pfn.mth.no-reuse-before-ack",
    title: "With MUST_TELL_HOST no deflated page is used before the deflate is used",
    scenario: DRV_PFN_MTH_SLOW_ACK,
    check: noWriteToHeld,
    rules: ["R-12a", "B14"],
  }),
  driverCase({
    id: "deflate.pfn.no-mth.tell-first",
    title: "Without MUST_TELL_HOST the same slow ack: telling the host first is still recommended",
    scenario: DRV_PFN_NO_MTH_SLOW_ACK,
    check: noWriteToHeld,
    rules: ["R-12b"],
  }),
  driverCase({
    id: "inflate.bitmap.one-in-flight",
    title: "One bitmap request in flight per queue",
    scenario: DRV_BITMAP_CYCLE,
    check: oneInFlight,
    rules: ["R-07"],
    needs: ["PAGE_BITMAP"],
  }),
  driverCase({
    id: "inflate.bitmap.allocated-pages",
    title: "Inflate bitmaps name only pages the guest took for the balloon",
    scenario: DRV_BITMAP_CYCLE,
    check: inflateAllocated,
    rules: ["R-09", "B16"],
    needs: ["PAGE_BITMAP"],
  }),
  driverCase({
    id: "balloon.inflate.not-in-balloon.pfn",
    title: "No inflate names a page already in the balloon (PFN arrays)",
    scenario: DRV_PFN_CYCLE,
    check: balloonSet,
    rules: ["S-06"],
    params: { what: "inflate" },
  }),
  driverCase({
    id: "balloon.inflate.not-in-balloon.bitmap",
    title: "No inflate names a page already in the balloon (bitmaps)",
    scenario: DRV_BITMAP_CYCLE,
    check: balloonSet,
    rules: ["S-06"],
    needs: ["PAGE_BITMAP"],
    params: { what: "inflate" },
  }),
  driverCase({
    id: "balloon.deflate.in-balloon.pfn",
    title: "Every deflated page is in the balloon (PFN arrays)",
    scenario: DRV_PFN_CYCLE,
    check: balloonSet,
    rules: ["S-07"],
    params: { what: "deflate" },
  }),
  driverCase({
    id: "balloon.deflate.in-balloon.bitmap",
    title: "Every deflated page is in the balloon (bitmaps)",
    scenario: DRV_BITMAP_CYCLE,
    check: balloonSet,
    rules: ["S-07"],
    needs: ["PAGE_BITMAP"],
    params: { what: "deflate" },
  }),
  driverCase({
    id: "deflate.bitmap.reported",
    title: "Every page taken back is reported on deflateq",
    scenario: DRV_BITMAP_CYCLE,
    check: deflateReported,
    rules: ["B13", "R-11"],
    needs: ["PAGE_BITMAP"],
  }),
  driverCase({
    id: "inflate.bitmap.no-use-before-ack",
    title: "No page is written between its inflate and its deflate ack",
    scenario: DRV_BITMAP_CYCLE,
    check: noWriteToHeld,
    rules: ["B16"],
    needs: ["PAGE_BITMAP"],
  }),
  driverCase({
    id: "deflate.bitmap.mth.no-reuse-before-ack",
    title: "With MUST_TELL_HOST no deflated page is used before the ack (bitmaps)",
    scenario: DRV_BITMAP_MTH_SLOW_ACK,
    check: noWriteToHeld,
    rules: ["R-12a", "B14"],
  }),
  driverCase({
    id: "legacy.be.pfn-allocated",
    title: "A big-endian legacy guest's PFN arrays name the pages it inflated",
    scenario: DRV_PFN_LEGACY_BE,
    check: inflateAllocated,
    rules: ["R-09"],
  }),
];
