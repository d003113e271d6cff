/**
 * Driver scenarios: the suite plays the device (the reference device,
 * unmodified) and the host, and drives a driver under test through them.
 *
 * @module
 */

import type { DriverScenario } from "../model/types.ts";
import {
  balloonSubsets,
  comboName,
  GIB,
  PFN,
  SMALL,
  TRANSPORT,
  V3_ALL,
  without,
} from "./features.ts";
import type { FeatureName } from "../../spec/mod.ts";

/** `drv.pfn.cycle`: PFN arrays: inflate 600 pages, deflate to 100, then to 0. */
export const DRV_PFN_CYCLE: DriverScenario = {
  id: "drv.pfn.cycle",
  role: "driver",
  profile: "v3",
  title: "PFN arrays: inflate 600 pages, deflate to 100, then to 0",
  guestPages: SMALL,
  offer: PFN,
  touchOnFree: true,
  steps: [{ do: "probe" }, { do: "target", pages: 600 }, { do: "target", pages: 100 }, {
    do: "target",
    pages: 0,
  }],
};

/** `drv.bitmap.cycle`: Bitmaps: inflate, a misc request, inflate more, deflate to 100, then to 0. */
export const DRV_BITMAP_CYCLE: DriverScenario = {
  id: "drv.bitmap.cycle",
  role: "driver",
  profile: "v3",
  title: "Bitmaps: inflate, a misc request, inflate more, deflate to 100, then to 0",
  guestPages: SMALL,
  offer: V3_ALL,
  touchOnFree: true,
  steps: [
    { do: "probe" },
    { do: "target", pages: 600 },
    { do: "unused", param: "7" },
    { do: "target", pages: 5000 },
    { do: "target", pages: 100 },
    { do: "target", pages: 0 },
  ],
};

/** `drv.bitmap.one-by-one`: Bitmaps: 130 passes of one page each (single pages at 64-aligned PFNs). */
export const DRV_BITMAP_ONE_BY_ONE: DriverScenario = {
  id: "drv.bitmap.one-by-one",
  role: "driver",
  profile: "v3",
  title: "Bitmaps: 130 passes of one page each (single pages at 64-aligned PFNs)",
  guestPages: SMALL,
  offer: V3_ALL,
  needs: ["PAGE_BITMAP"],
  steps: [
    { do: "probe" },
    ...Array.from({ length: 130 }, (_, i) => ({ do: "target" as const, pages: i + 1 })),
  ],
};

/** `drv.pfn.inflate-held`: 600 pages in, then the device holds the inflate ack of the next ones while the target drops to 100. */
export const DRV_PFN_INFLATE_HELD: DriverScenario = {
  id: "drv.pfn.inflate-held",
  role: "driver",
  profile: "v3",
  title:
    "PFN arrays: 600 pages in, then the device holds the inflate ack of the next ones while the target drops to 100",
  guestPages: SMALL,
  offer: PFN,
  // a deflate follows whatever the driver's batch size: 600 pages are in before the hold
  steps: [
    { do: "probe" },
    { do: "target", pages: 600 },
    { do: "hold", queues: ["inflateq"] },
    { do: "target", pages: 700 },
    { do: "target", pages: 100 },
    { do: "wait", ms: 50 },
    { do: "release" },
  ],
};

/** `drv.pfn.mth-slow-ack`: PFN arrays with MUST_TELL_HOST: the device holds the deflate ack; the guest wants its pages back. */
export const DRV_PFN_MTH_SLOW_ACK: DriverScenario = {
  id: "drv.pfn.mth-slow-ack",
  role: "driver",
  profile: "v3",
  title:
    "PFN arrays with MUST_TELL_HOST: the device holds the deflate ack; the guest wants its pages back",
  guestPages: SMALL,
  offer: PFN,
  needs: ["MUST_TELL_HOST"],
  touchOnFree: true,
  steps: [
    { do: "probe" },
    { do: "target", pages: 600 },
    { do: "hold", queues: ["deflateq"] },
    { do: "target", pages: 0 },
    { do: "wait", ms: 50 },
    { do: "release" },
  ],
};

/** `drv.bitmap.mth-slow-ack`: Bitmaps with MUST_TELL_HOST: the device holds the deflate ack. */
export const DRV_BITMAP_MTH_SLOW_ACK: DriverScenario = {
  id: "drv.bitmap.mth-slow-ack",
  role: "driver",
  profile: "v3",
  title: "Bitmaps with MUST_TELL_HOST: the device holds the deflate ack",
  guestPages: SMALL,
  offer: V3_ALL,
  needs: ["MUST_TELL_HOST", "PAGE_BITMAP"],
  touchOnFree: true,
  steps: [
    { do: "probe" },
    { do: "target", pages: 600 },
    { do: "hold", queues: ["deflateq"] },
    { do: "target", pages: 0 },
    { do: "wait", ms: 50 },
    { do: "release" },
  ],
};

/** `drv.pfn.no-mth-slow-ack`: PFN arrays without MUST_TELL_HOST: the same slow deflate ack (early reuse is allowed, telling first is recommended). */
export const DRV_PFN_NO_MTH_SLOW_ACK: DriverScenario = {
  id: "drv.pfn.no-mth-slow-ack",
  role: "driver",
  profile: "v3",
  title:
    "PFN arrays without MUST_TELL_HOST: the same slow deflate ack (early reuse is allowed, telling first is recommended)",
  guestPages: SMALL,
  offer: without(PFN, "MUST_TELL_HOST"),
  touchOnFree: true,
  steps: [
    { do: "probe" },
    { do: "target", pages: 600 },
    { do: "hold", queues: ["deflateq"] },
    { do: "target", pages: 0 },
    { do: "wait", ms: 50 },
    { do: "release" },
  ],
};

/** `drv.doom.oom`: DEFLATE_ON_OOM: inflate 1000 pages, then two OOM events. */
export const DRV_DOOM_OOM: DriverScenario = {
  id: "drv.doom.oom",
  role: "driver",
  profile: "v3",
  title: "DEFLATE_ON_OOM: inflate 1000 pages, then two OOM events",
  guestPages: SMALL,
  offer: V3_ALL,
  needs: ["DEFLATE_ON_OOM"],
  steps: [{ do: "probe" }, { do: "target", pages: 1000 }, { do: "oom" }, { do: "oom" }],
};

/** `drv.no-doom.oom`: Without DEFLATE_ON_OOM: inflate 1000 pages, then an OOM event. */
export const DRV_NO_DOOM_OOM: DriverScenario = {
  id: "drv.no-doom.oom",
  role: "driver",
  profile: "v3",
  title: "Without DEFLATE_ON_OOM: inflate 1000 pages, then an OOM event",
  guestPages: SMALL,
  offer: without(V3_ALL, "DEFLATE_ON_OOM"),
  steps: [{ do: "probe" }, { do: "target", pages: 1000 }, { do: "oom" }],
};

/** `drv.stats`: Stats: three requests while the guest allocates. */
export const DRV_STATS: DriverScenario = {
  id: "drv.stats",
  role: "driver",
  profile: "v3",
  title: "Stats: three requests while the guest allocates",
  guestPages: SMALL,
  offer: V3_ALL,
  needs: ["STATS_VQ"],
  steps: [
    { do: "probe" },
    { do: "alloc", pages: 500 },
    { do: "stats" },
    { do: "alloc", pages: 500 },
    { do: "stats" },
    { do: "stats" },
  ],
};

/** `drv.misc`: Misc queue: GET_UNUSED_PAGES on a 3 GiB guest with one bitmap (four reply windows). */
export const DRV_MISC: DriverScenario = {
  id: "drv.misc",
  role: "driver",
  profile: "v3",
  title: "Misc queue: GET_UNUSED_PAGES on a 3 GiB guest with one bitmap (four reply windows)",
  guestPages: 3 * GIB + 100,
  offer: V3_ALL,
  needs: ["MISC_VQ"],
  bitmapLimit: 1,
  steps: [
    { do: "probe" },
    { do: "alloc", pages: 20_000 },
    { do: "target", pages: 30_000 },
    { do: "unused", param: String(0x0102030405060708n) },
    { do: "target", pages: 20_000 },
    { do: "unused", param: "9" },
  ],
};

/** `drv.misc.bad-requests`: Misc queue: a request used with length 8, one with an unknown command, then a good one. */
export const DRV_MISC_BAD_REQUESTS: DriverScenario = {
  id: "drv.misc.bad-requests",
  role: "driver",
  profile: "v3",
  title: "Misc queue: a request used with length 8, one with an unknown command, then a good one",
  guestPages: SMALL,
  offer: V3_ALL,
  needs: ["MISC_VQ"],
  steps: [
    { do: "probe" },
    { do: "unused", param: "1", usedLength: 8 },
    { do: "unused", param: "2", cmd: 1 },
    { do: "unused", param: "3" },
  ],
};

/** `drv.remove`: Remove with 2000 pages in the balloon. */
export const DRV_REMOVE: DriverScenario = {
  id: "drv.remove",
  role: "driver",
  profile: "v3",
  title: "Remove with 2000 pages in the balloon",
  guestPages: SMALL,
  offer: V3_ALL,
  touchOnFree: true,
  steps: [{ do: "probe" }, { do: "target", pages: 2000 }, { do: "remove" }],
};

/** `drv.freeze-restore`: Freeze and restore with 2000 pages in the balloon. */
export const DRV_FREEZE_RESTORE: DriverScenario = {
  id: "drv.freeze-restore",
  role: "driver",
  profile: "v3",
  title: "Freeze and restore with 2000 pages in the balloon",
  guestPages: SMALL,
  offer: V3_ALL,
  steps: [{ do: "probe" }, { do: "target", pages: 2000 }, { do: "freeze" }, { do: "restore" }],
};

/** `drv.bitmap.migrate-page`: Balloon-page migration with bitmaps, after a misc request. */
export const DRV_BITMAP_MIGRATE_PAGE: DriverScenario = {
  id: "drv.bitmap.migrate-page",
  role: "driver",
  profile: "v3",
  title: "Balloon-page migration with bitmaps, after a misc request",
  guestPages: SMALL,
  offer: V3_ALL,
  needs: ["PAGE_BITMAP"],
  steps: [{ do: "probe" }, { do: "target", pages: 300 }, { do: "unused", param: "5" }, {
    do: "migrate-page",
  }],
};

/** `drv.pfn.migrate-page`: Balloon-page migration with PFN arrays. */
export const DRV_PFN_MIGRATE_PAGE: DriverScenario = {
  id: "drv.pfn.migrate-page",
  role: "driver",
  profile: "v3",
  title: "Balloon-page migration with PFN arrays",
  guestPages: SMALL,
  offer: PFN,
  steps: [{ do: "probe" }, { do: "target", pages: 300 }, { do: "migrate-page" }],
};

/** `drv.bitmap.beyond-1gib`: Bitmaps on a 2 GiB guest: a window wider than one 1 GiB chunk. */
export const DRV_BITMAP_BEYOND_1GIB: DriverScenario = {
  id: "drv.bitmap.beyond-1gib",
  role: "driver",
  profile: "v3",
  title: "Bitmaps on a 2 GiB guest: a window wider than one 1 GiB chunk",
  guestPages: 2 * GIB,
  offer: V3_ALL,
  needs: ["PAGE_BITMAP"],
  steps: [{ do: "probe" }, { do: "target", pages: 400_000 }, { do: "target", pages: 0 }],
};

/** `drv.bitmap.beyond-32gib`: Bitmaps on a 33 GiB guest: more than the 32 GiB window of 32 bitmaps. */
export const DRV_BITMAP_BEYOND_32GIB: DriverScenario = {
  id: "drv.bitmap.beyond-32gib",
  role: "driver",
  profile: "v3",
  title: "Bitmaps on a 33 GiB guest: more than the 32 GiB window of 32 bitmaps",
  guestPages: 33 * GIB,
  offer: V3_ALL,
  needs: ["PAGE_BITMAP"],
  steps: [
    { do: "probe" },
    // free memory only near the bottom and near the top: the balloon's pages span 33 GiB
    { do: "hog", keepFree: [[GIB / 2, 1024], [33 * GIB - 2048, 1024]] },
    // less than the 2048 free pages: the driver takes some for its bitmaps
    { do: "target", pages: 1500 },
    { do: "target", pages: 100 },
  ],
};

/** `drv.bitmap.small-ring`: Bitmaps through 4-entry rings without indirect descriptors (a 5 GiB span needs 6 descriptors). */
export const DRV_BITMAP_SMALL_RING: DriverScenario = {
  id: "drv.bitmap.small-ring",
  role: "driver",
  profile: "v3",
  title:
    "Bitmaps through 4-entry rings without indirect descriptors (a 5 GiB span needs 6 descriptors)",
  guestPages: 6 * GIB,
  offer: without(V3_ALL, "INDIRECT_DESC"),
  needs: ["PAGE_BITMAP"],
  queueSize: 4,
  steps: [
    { do: "probe" },
    { do: "hog", keepFree: [[GIB, 1024], [6 * GIB - 2048, 1024]] },
    { do: "target", pages: 1500 },
  ],
};

/** `drv.bitmap.small-ring.indirect`: Bitmaps through 4-entry rings with indirect descriptors: no chain, not even in an indirect table, longer than the queue. */
export const DRV_BITMAP_SMALL_RING_INDIRECT: DriverScenario = {
  ...DRV_BITMAP_SMALL_RING,
  id: "drv.bitmap.small-ring.indirect",
  title:
    "Bitmaps through 4-entry rings with indirect descriptors (a 5 GiB span needs 6 descriptors, more than the queue size)",
  offer: V3_ALL,
  needs: ["PAGE_BITMAP", "INDIRECT_DESC"],
};

/** The steps of the ring scenarios: the avail index of the inflate and deflate queues passes a 4-entry queue's size twice. */
const RING_STEPS: DriverScenario["steps"] = [
  { do: "probe" },
  { do: "target", pages: 2000 },
  { do: "stats" },
  { do: "stats" },
  { do: "target", pages: 0 },
  { do: "stats" },
];

/** `drv.ring.small`: PFN arrays and stats through 4-entry rings with EVENT_IDX and INDIRECT_DESC: 2000 pages in and out (8 requests each way). */
export const DRV_RING_SMALL: DriverScenario = {
  id: "drv.ring.small",
  role: "driver",
  profile: "v3",
  title:
    "PFN arrays and stats through 4-entry rings with EVENT_IDX and INDIRECT_DESC: 2000 pages in and out (8 requests each way)",
  guestPages: SMALL,
  offer: PFN,
  needs: ["STATS_VQ"],
  queueSize: 4,
  steps: RING_STEPS,
};

/** `drv.ring.small.no-event-idx`: The same through 4-entry rings without EVENT_IDX (notifications by used.flags). */
export const DRV_RING_SMALL_NO_EVENT_IDX: DriverScenario = {
  ...DRV_RING_SMALL,
  id: "drv.ring.small.no-event-idx",
  title:
    "PFN arrays and stats through 4-entry rings without EVENT_IDX (notifications by the flags): 2000 pages in and out",
  offer: without(PFN, "EVENT_IDX"),
};

/** `drv.bitmap.legacy-be`: Legacy interface, big-endian guest, bitmaps. */
export const DRV_BITMAP_LEGACY_BE: DriverScenario = {
  id: "drv.bitmap.legacy-be",
  role: "driver",
  profile: "v3",
  title: "Legacy interface, big-endian guest, bitmaps",
  guestPages: SMALL,
  offer: without(V3_ALL, "VERSION_1"),
  guestEndian: "be",
  steps: [{ do: "probe" }, { do: "target", pages: 600 }, { do: "target", pages: 100 }],
};

/** `drv.pfn.legacy-be`: Legacy interface, big-endian guest, PFN arrays. */
export const DRV_PFN_LEGACY_BE: DriverScenario = {
  id: "drv.pfn.legacy-be",
  role: "driver",
  profile: "v3",
  title: "Legacy interface, big-endian guest, PFN arrays",
  guestPages: SMALL,
  offer: without(PFN, "VERSION_1"),
  guestEndian: "be",
  steps: [{ do: "probe" }, { do: "target", pages: 600 }, { do: "target", pages: 100 }],
};

/** `drv.refused`: The device refuses FEATURES_OK. */
export const DRV_REFUSED: DriverScenario = {
  id: "drv.refused",
  role: "driver",
  profile: "v3",
  title: "The device refuses FEATURES_OK",
  guestPages: SMALL,
  offer: V3_ALL,
  refuseFeatures: true,
  steps: [{ do: "probe" }],
};

/** `drv.bitmap-alloc-fails`: The probe-time bitmap allocation fails: the driver must fall back before FEATURES_OK. */
export const DRV_BITMAP_ALLOC_FAILS: DriverScenario = {
  id: "drv.bitmap-alloc-fails",
  role: "driver",
  profile: "v3",
  title: "The probe-time bitmap allocation fails: the driver must fall back before FEATURES_OK",
  guestPages: SMALL,
  offer: V3_ALL,
  failBitmapAllocation: true,
  steps: [{ do: "probe" }, { do: "target", pages: 300 }],
};

/** Generated driver scenarios: probe and a small inflate for every subset of the balloon bits. */
function negotiationScenarios(): DriverScenario[] {
  return balloonSubsets().map((combo) => ({
    id: `drv.neg.${comboName(combo)}`,
    role: "driver" as const,
    profile: "v3" as const,
    title: `The device offers ${
      comboName(combo)
    } (+ VERSION_1, EVENT_IDX, INDIRECT_DESC, ANY_LAYOUT)`,
    guestPages: SMALL,
    offer: [...combo, ...TRANSPORT],
    steps: [{ do: "probe" as const }, { do: "target" as const, pages: 300 }],
  }));
}

const NEGOTIATION: readonly DriverScenario[] = negotiationScenarios();

/** The generated scenario in which the device offers exactly `combo` of the balloon bits. */
export function negotiationScenario(combo: readonly FeatureName[]): DriverScenario {
  const id = `drv.neg.${comboName(combo)}`;
  const s = NEGOTIATION.find((x) => x.id === id);
  if (s === undefined) throw new RangeError(`No negotiation scenario for ${comboName(combo)}`);
  return s;
}

/** Every driver scenario. */
export const DRIVER_SCENARIOS: readonly DriverScenario[] = [
  DRV_PFN_CYCLE,
  DRV_BITMAP_CYCLE,
  DRV_BITMAP_ONE_BY_ONE,
  DRV_PFN_INFLATE_HELD,
  DRV_PFN_MTH_SLOW_ACK,
  DRV_BITMAP_MTH_SLOW_ACK,
  DRV_PFN_NO_MTH_SLOW_ACK,
  DRV_DOOM_OOM,
  DRV_NO_DOOM_OOM,
  DRV_STATS,
  DRV_MISC,
  DRV_MISC_BAD_REQUESTS,
  DRV_REMOVE,
  DRV_FREEZE_RESTORE,
  DRV_BITMAP_MIGRATE_PAGE,
  DRV_PFN_MIGRATE_PAGE,
  DRV_BITMAP_BEYOND_1GIB,
  DRV_BITMAP_BEYOND_32GIB,
  DRV_BITMAP_SMALL_RING,
  DRV_BITMAP_SMALL_RING_INDIRECT,
  DRV_RING_SMALL,
  DRV_RING_SMALL_NO_EVENT_IDX,
  DRV_BITMAP_LEGACY_BE,
  DRV_PFN_LEGACY_BE,
  DRV_REFUSED,
  DRV_BITMAP_ALLOC_FAILS,
  ...NEGOTIATION,
];
