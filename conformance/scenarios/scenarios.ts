/**
 * The scenarios: scripted interactions, as data. Driver scenarios have the
 * suite play the device and host; device scenarios have it play the driver.
 *
 * @module
 */

import {
  BALLOON_BMAP_ALIGN_BITS,
  enumValue,
  type FeatureName,
  PFNS_PER_BMAP,
} from "../../spec/mod.ts";
import type { ChainSpec, DeviceScenario, DriverScenario } from "../model/types.ts";

/** Every v3 feature the reference implementations support. */
export const V3_ALL: readonly FeatureName[] = [
  "MUST_TELL_HOST",
  "STATS_VQ",
  "DEFLATE_ON_OOM",
  "PAGE_BITMAP",
  "MISC_VQ",
  "VERSION_1",
  "EVENT_IDX",
  "INDIRECT_DESC",
  "ANY_LAYOUT",
];

/** The v3 balloon bits whose subsets the negotiation cases enumerate. */
export const V3_BALLOON_BITS: readonly FeatureName[] = [
  "MUST_TELL_HOST",
  "STATS_VQ",
  "DEFLATE_ON_OOM",
  "PAGE_BITMAP",
  "MISC_VQ",
];

const TRANSPORT: readonly FeatureName[] = ["VERSION_1", "EVENT_IDX", "INDIRECT_DESC", "ANY_LAYOUT"];

function without(list: readonly FeatureName[], ...drop: FeatureName[]): FeatureName[] {
  return list.filter((f) => !drop.includes(f));
}

const PFN = without(V3_ALL, "PAGE_BITMAP");
const SMALL = 16_384; // 64 MiB
const GIB = 262_144;

/** Short name of a subset of the balloon bits, e.g. `mth+stats+misc` or `none`. */
export function comboName(features: readonly FeatureName[]): string {
  const short: Record<string, string> = {
    MUST_TELL_HOST: "mth",
    STATS_VQ: "stats",
    DEFLATE_ON_OOM: "doom",
    PAGE_BITMAP: "bitmap",
    MISC_VQ: "misc",
  };
  const parts = V3_BALLOON_BITS.filter((f) => features.includes(f)).map((f) => short[f]);
  return parts.length === 0 ? "none" : parts.join("+");
}

/** Every subset of the v3 balloon bits. */
export function balloonSubsets(): FeatureName[][] {
  const out: FeatureName[][] = [];
  for (let m = 0; m < 1 << V3_BALLOON_BITS.length; m++) {
    out.push(V3_BALLOON_BITS.filter((_, i) => (m >> i) & 1));
  }
  return out;
}

/** Hand-written driver scenarios of profile v3. */
const WRITTEN_DRIVER: DriverScenario[] = [
  {
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
  },
  {
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
  },
  {
    id: "drv.bitmap.one-by-one",
    role: "driver",
    profile: "v3",
    title: "Bitmaps: 130 passes of one page each (single pages at 64-aligned PFNs)",
    guestPages: SMALL,
    offer: V3_ALL,
    steps: [
      { do: "probe" },
      ...Array.from({ length: 130 }, (_, i) => ({ do: "target" as const, pages: i + 1 })),
    ],
  },
  {
    id: "drv.pfn.inflate-held",
    role: "driver",
    profile: "v3",
    title: "PFN arrays: the device holds the inflate ack while the target drops",
    guestPages: SMALL,
    offer: PFN,
    steps: [
      { do: "probe" },
      { do: "hold", queues: ["inflateq"] },
      { do: "target", pages: 600 },
      { do: "target", pages: 100 },
      { do: "wait", ms: 50 },
      { do: "release" },
    ],
  },
  {
    id: "drv.pfn.mth-slow-ack",
    role: "driver",
    profile: "v3",
    title:
      "PFN arrays with MUST_TELL_HOST: the device holds the deflate ack; the guest wants its pages back",
    guestPages: SMALL,
    offer: PFN,
    touchOnFree: true,
    steps: [
      { do: "probe" },
      { do: "target", pages: 600 },
      { do: "hold", queues: ["deflateq"] },
      { do: "target", pages: 0 },
      { do: "wait", ms: 50 },
      { do: "release" },
    ],
  },
  {
    id: "drv.bitmap.mth-slow-ack",
    role: "driver",
    profile: "v3",
    title: "Bitmaps with MUST_TELL_HOST: the device holds the deflate ack",
    guestPages: SMALL,
    offer: V3_ALL,
    touchOnFree: true,
    steps: [
      { do: "probe" },
      { do: "target", pages: 600 },
      { do: "hold", queues: ["deflateq"] },
      { do: "target", pages: 0 },
      { do: "wait", ms: 50 },
      { do: "release" },
    ],
  },
  {
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
  },
  {
    id: "drv.doom.oom",
    role: "driver",
    profile: "v3",
    title: "DEFLATE_ON_OOM: inflate 1000 pages, then two OOM events",
    guestPages: SMALL,
    offer: V3_ALL,
    steps: [{ do: "probe" }, { do: "target", pages: 1000 }, { do: "oom" }, { do: "oom" }],
  },
  {
    id: "drv.no-doom.oom",
    role: "driver",
    profile: "v3",
    title: "Without DEFLATE_ON_OOM: inflate 1000 pages, then an OOM event",
    guestPages: SMALL,
    offer: without(V3_ALL, "DEFLATE_ON_OOM"),
    steps: [{ do: "probe" }, { do: "target", pages: 1000 }, { do: "oom" }],
  },
  {
    id: "drv.stats",
    role: "driver",
    profile: "v3",
    title: "Stats: three requests while the guest allocates",
    guestPages: SMALL,
    offer: V3_ALL,
    steps: [
      { do: "probe" },
      { do: "alloc", pages: 500 },
      { do: "stats" },
      { do: "alloc", pages: 500 },
      { do: "stats" },
      { do: "stats" },
    ],
  },
  {
    id: "drv.misc",
    role: "driver",
    profile: "v3",
    title: "Misc queue: GET_UNUSED_PAGES on a 3 GiB guest with one bitmap (four reply windows)",
    guestPages: 3 * GIB + 100,
    offer: V3_ALL,
    bitmapLimit: 1,
    steps: [
      { do: "probe" },
      { do: "alloc", pages: 20_000 },
      { do: "target", pages: 30_000 },
      { do: "unused", param: String(0x0102030405060708n) },
      { do: "target", pages: 20_000 },
      { do: "unused", param: "9" },
    ],
  },
  {
    id: "drv.misc.bad-requests",
    role: "driver",
    profile: "v3",
    title: "Misc queue: a request used with length 8, one with an unknown command, then a good one",
    guestPages: SMALL,
    offer: V3_ALL,
    steps: [
      { do: "probe" },
      { do: "unused", param: "1", usedLength: 8 },
      { do: "unused", param: "2", cmd: 1 },
      { do: "unused", param: "3" },
    ],
  },
  {
    id: "drv.remove",
    role: "driver",
    profile: "v3",
    title: "Remove with 2000 pages in the balloon",
    guestPages: SMALL,
    offer: V3_ALL,
    touchOnFree: true,
    steps: [{ do: "probe" }, { do: "target", pages: 2000 }, { do: "remove" }],
  },
  {
    id: "drv.freeze-restore",
    role: "driver",
    profile: "v3",
    title: "Freeze and restore with 2000 pages in the balloon",
    guestPages: SMALL,
    offer: V3_ALL,
    steps: [{ do: "probe" }, { do: "target", pages: 2000 }, { do: "freeze" }, { do: "restore" }],
  },
  {
    id: "drv.bitmap.migrate-page",
    role: "driver",
    profile: "v3",
    title: "Balloon-page migration with bitmaps, after a misc request",
    guestPages: SMALL,
    offer: V3_ALL,
    steps: [{ do: "probe" }, { do: "target", pages: 300 }, { do: "unused", param: "5" }, {
      do: "migrate-page",
    }],
  },
  {
    id: "drv.pfn.migrate-page",
    role: "driver",
    profile: "v3",
    title: "Balloon-page migration with PFN arrays",
    guestPages: SMALL,
    offer: PFN,
    steps: [{ do: "probe" }, { do: "target", pages: 300 }, { do: "migrate-page" }],
  },
  {
    id: "drv.bitmap.beyond-1gib",
    role: "driver",
    profile: "v3",
    title: "Bitmaps on a 2 GiB guest: a window wider than one 1 GiB chunk",
    guestPages: 2 * GIB,
    offer: V3_ALL,
    steps: [{ do: "probe" }, { do: "target", pages: 400_000 }, { do: "target", pages: 0 }],
  },
  {
    id: "drv.bitmap.beyond-32gib",
    role: "driver",
    profile: "v3",
    title: "Bitmaps on a 33 GiB guest: more than the 32 GiB window of 32 bitmaps",
    guestPages: 33 * GIB,
    offer: V3_ALL,
    steps: [
      { do: "probe" },
      // free memory only near the bottom and near the top: the balloon's pages span 33 GiB
      { do: "hog", keepFree: [[GIB / 2, 1024], [33 * GIB - 2048, 1024]] },
      // less than the 2048 free pages: the driver takes some for its bitmaps
      { do: "target", pages: 1500 },
      { do: "target", pages: 100 },
    ],
  },
  {
    id: "drv.bitmap.small-ring",
    role: "driver",
    profile: "v3",
    title:
      "Bitmaps through 4-entry rings without indirect descriptors (a 5 GiB span needs 6 descriptors)",
    guestPages: 6 * GIB,
    offer: without(V3_ALL, "INDIRECT_DESC"),
    queueSize: 4,
    steps: [
      { do: "probe" },
      { do: "hog", keepFree: [[GIB, 1024], [6 * GIB - 2048, 1024]] },
      { do: "target", pages: 1500 },
    ],
  },
  {
    id: "drv.bitmap.legacy-be",
    role: "driver",
    profile: "v3",
    title: "Legacy interface, big-endian guest, bitmaps",
    guestPages: SMALL,
    offer: without(V3_ALL, "VERSION_1"),
    guestEndian: "be",
    steps: [{ do: "probe" }, { do: "target", pages: 600 }, { do: "target", pages: 100 }],
  },
  {
    id: "drv.pfn.legacy-be",
    role: "driver",
    profile: "v3",
    title: "Legacy interface, big-endian guest, PFN arrays",
    guestPages: SMALL,
    offer: without(PFN, "VERSION_1"),
    guestEndian: "be",
    steps: [{ do: "probe" }, { do: "target", pages: 600 }, { do: "target", pages: 100 }],
  },
  {
    id: "drv.refused",
    role: "driver",
    profile: "v3",
    title: "The device refuses FEATURES_OK",
    guestPages: SMALL,
    offer: V3_ALL,
    refuseFeatures: true,
    steps: [{ do: "probe" }],
  },
  {
    id: "drv.bitmap-alloc-fails",
    role: "driver",
    profile: "v3",
    title: "The probe-time bitmap allocation fails: the driver must fall back before FEATURES_OK",
    guestPages: SMALL,
    offer: V3_ALL,
    failBitmapAllocation: true,
    steps: [{ do: "probe" }, { do: "target", pages: 300 }],
  },
];

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

/** Every driver scenario. */
export const DRIVER_SCENARIOS: readonly DriverScenario[] = [
  ...WRITTEN_DRIVER,
  ...negotiationScenarios(),
];

// ---- device scenarios ---------------------------------------------------------

const DEV_PAGES = 2 * GIB;
const DONE = enumValue("balloon_flag", "BALLOON_FLAG_DONE");
const CONT = enumValue("balloon_flag", "BALLOON_FLAG_CONT");

/** Malformed bitmap requests, each with the rule a device must enforce by rejecting it. */
function badBitmapRequests(): {
  readonly label: string;
  readonly title: string;
  readonly chain: ChainSpec;
  readonly rules: readonly string[];
  readonly field?: string;
}[] {
  // each request names pages no other request names, so one wrongly applied request cannot hide another
  let next = 4096;
  const pages = (n = 256): [number, number][] => {
    const base = next;
    next += 4096;
    return [[base, n]];
  };
  return [
    {
      label: "header-only",
      title: "a 32-byte header claiming 32 bitmap bytes, and nothing after it (the seed's D-01)",
      chain: { bitmap: { runs: pages(), cut: 32 } },
      rules: ["R-16", "S-03"],
      field: "bmap_len",
    },
    {
      label: "bmap-len-past-chain",
      title: "bmap_len 64 with 32 bitmap bytes in the chain",
      chain: { bitmap: { runs: pages(), header: { bmap_len: "64" } } },
      rules: ["R-16", "S-03"],
      field: "bmap_len",
    },
    {
      label: "bmap-len-overflow",
      title: "bmap_len 2^64 - 8 (header + bmap_len overflows a 64-bit length)",
      chain: { bitmap: { runs: pages(), header: { bmap_len: String((1n << 64n) - 8n) } } },
      rules: ["R-16", "S-03"],
      field: "bmap_len",
    },
    {
      label: "start-beyond-ram",
      title: "start_pfn past the end of guest RAM",
      chain: { bitmap: { runs: pages(64), header: { start_pfn: String(DEV_PAGES + 64) } } },
      rules: ["S-02", "S-03"],
      field: "start_pfn",
    },
    {
      label: "bits-beyond-ram",
      title: "a window that straddles the end of RAM with bits set past it",
      chain: { bitmap: { runs: [[DEV_PAGES - 64, 128]] } },
      rules: ["S-02", "S-03"],
    },
    {
      label: "start-unaligned",
      title: "start_pfn not a multiple of 64",
      chain: { bitmap: { runs: pages(), header: { start_pfn: String(next - 4096 + 1) } } },
      rules: ["R-16", "S-03"],
      field: "start_pfn",
    },
    ...[0, 63, 16].map((shift) => ({
      label: `page-shift-${shift}`,
      title: `page_shift ${shift}${shift === 16 ? " (a 64 KiB-page guest as posted, D-14)" : ""}`,
      chain: { bitmap: { runs: pages(), header: { page_shift: shift } } },
      rules: ["R-16", "S-03"],
      field: "page_shift",
    })),
    {
      label: "bmap-len-not-8",
      title: "bmap_len 12 (not a multiple of 8)",
      chain: { bitmap: { runs: pages(96), bmapLen: 12 } },
      rules: ["R-16", "S-03"],
      field: "bmap_len",
    },
    {
      label: "flag-1",
      title: "flag 1 on inflate (stale DONE, the seed's D-09)",
      chain: { bitmap: { runs: pages(), header: { flag: 1 } } },
      rules: ["R-16", "S-03"],
      field: "flag",
    },
    {
      label: "reserved-1",
      title: "reserved 1",
      chain: { bitmap: { runs: pages(), header: { reserved: 1 } } },
      rules: ["R-16", "S-03"],
      field: "reserved",
    },
  ];
}

/** Malformed bitmap requests, each with the rule a device must enforce by rejecting it. */
export const BAD_BITMAP_REQUESTS: readonly {
  readonly label: string;
  readonly title: string;
  readonly chain: ChainSpec;
  readonly rules: readonly string[];
  readonly field?: string;
}[] = badBitmapRequests();

const ROUND_UP = (x: number) => Math.ceil(x / BALLOON_BMAP_ALIGN_BITS) * BALLOON_BMAP_ALIGN_BITS;

/** Every device scenario. */
export const DEVICE_SCENARIOS: readonly DeviceScenario[] = [
  {
    id: "dev.pfn",
    role: "device",
    profile: "v3",
    title: "PFN arrays: inflate, deflate part, inflate more",
    guestPages: DEV_PAGES,
    accept: PFN,
    steps: [
      { do: "negotiate" },
      {
        do: "send",
        label: "inflate",
        queue: "inflateq",
        chain: { pfns: Array.from({ length: 256 }, (_, i) => 4096 + i) },
      },
      {
        do: "send",
        label: "deflate",
        queue: "deflateq",
        chain: { pfns: Array.from({ length: 100 }, (_, i) => 4096 + i) },
      },
      {
        do: "send",
        label: "inflate-scattered",
        queue: "inflateq",
        chain: { pfns: [1, 70_000, 500_000, 9] },
      },
    ],
  },
  {
    id: "dev.pfn.malformed",
    role: "device",
    profile: "v3",
    title: "PFN arrays that are malformed, then a good one",
    guestPages: DEV_PAGES,
    accept: PFN,
    steps: [
      { do: "negotiate" },
      {
        do: "send",
        label: "odd-length",
        queue: "inflateq",
        chain: { pfns: [4096, 4097, 4098], cut: 2 },
      },
      {
        do: "send",
        label: "beyond-ram",
        queue: "inflateq",
        chain: { pfns: [4096, 4097, DEV_PAGES] },
      },
      {
        do: "send",
        label: "writable",
        queue: "inflateq",
        chain: { pfns: [4096, 4097] },
        writable: [8],
      },
      { do: "send", label: "after", queue: "inflateq", chain: { pfns: [8192, 8193] } },
    ],
  },
  {
    id: "dev.bitmap",
    role: "device",
    profile: "v3",
    title: "Bitmaps: a run, a partial deflate, scattered bits, two chunks, an indirect chain",
    guestPages: DEV_PAGES,
    accept: V3_ALL,
    steps: [
      { do: "negotiate" },
      {
        do: "send",
        label: "inflate-run",
        queue: "inflateq",
        chain: { bitmap: { runs: [[4096, 256]] } },
      },
      {
        do: "send",
        label: "deflate-part",
        queue: "deflateq",
        chain: { bitmap: { runs: [[4096, 100]] } },
      },
      {
        do: "send",
        label: "inflate-scattered",
        queue: "inflateq",
        chain: { bitmap: { runs: [[64, 2], [72, 1], [127, 2], [191, 1]] } },
      },
      {
        do: "send",
        label: "inflate-two-chunks",
        queue: "inflateq",
        chain: {
          bitmap: {
            runs: [[PFNS_PER_BMAP - 100, 300]],
            startPfn: 0,
            bmapLen: ROUND_UP(PFNS_PER_BMAP + 200) / 8,
          },
        },
      },
      {
        do: "send",
        label: "inflate-indirect",
        queue: "inflateq",
        chain: { bitmap: { runs: [[300_000, 1000]] } },
        indirect: true,
      },
    ],
  },
  {
    id: "dev.bitmap.malformed",
    role: "device",
    profile: "v3",
    title: "Malformed bitmap requests, each rejected, then a good one",
    guestPages: DEV_PAGES,
    accept: V3_ALL,
    steps: [
      { do: "negotiate" },
      ...BAD_BITMAP_REQUESTS.map((b) => ({
        do: "send" as const,
        label: b.label,
        queue: "inflateq" as const,
        chain: b.chain,
      })),
      { do: "send", label: "after", queue: "inflateq", chain: { bitmap: { runs: [[8192, 64]] } } },
    ],
  },
  {
    id: "dev.stats",
    role: "device",
    profile: "v3",
    title: "Stats: a normal buffer, one with an unknown tag, one in reverse tag order",
    guestPages: DEV_PAGES,
    accept: V3_ALL,
    steps: [
      { do: "negotiate" },
      {
        do: "send",
        label: "stats-normal",
        queue: "statsq",
        chain: { stats: [{ tag: 4, val: "1000" }, { tag: 5, val: "2000" }] },
      },
      { do: "stats" },
      {
        do: "send",
        label: "stats-unknown",
        queue: "statsq",
        chain: { stats: [{ tag: 4, val: "1000" }, { tag: 99, val: "7" }, { tag: 5, val: "2000" }] },
      },
      { do: "stats" },
      {
        do: "send",
        label: "stats-reversed",
        queue: "statsq",
        chain: { stats: [{ tag: 5, val: "2000" }, { tag: 4, val: "1000" }] },
      },
      { do: "stats" },
    ],
  },
  {
    id: "dev.misc",
    role: "device",
    profile: "v3",
    title: "Misc queue: the host asks for unused pages; the suite replies CONT, then DONE",
    guestPages: GIB + 100,
    accept: V3_ALL,
    steps: [
      { do: "negotiate" },
      { do: "post-request-buffer" },
      { do: "unused", param: "42" },
      { do: "reply", label: "reply-cont", flag: CONT, startPfn: 0 },
      { do: "reply", label: "reply-done", flag: DONE, startPfn: PFNS_PER_BMAP },
    ],
  },
  {
    id: "dev.before-driver-ok",
    role: "device",
    profile: "v3",
    title: "A buffer made available before DRIVER_OK",
    guestPages: DEV_PAGES,
    accept: PFN,
    steps: [
      { do: "negotiate", driverOk: false },
      { do: "send", label: "early", queue: "inflateq", chain: { pfns: [4096, 4097] } },
      { do: "driver-ok" },
    ],
  },
  {
    id: "dev.legacy-be",
    role: "device",
    profile: "v3",
    title: "Legacy interface with a big-endian guest",
    guestPages: DEV_PAGES,
    accept: without(PFN, "VERSION_1"),
    guestEndian: "be",
    steps: [
      { do: "negotiate" },
      { do: "target", pages: 0x01020304 },
      { do: "send", label: "inflate", queue: "inflateq", chain: { pfns: [4096, 4097, 0x10000] } },
    ],
  },
  ...balloonSubsets()
    .filter((c) =>
      !(c.includes("MISC_VQ") && !c.includes("STATS_VQ")) && c.length < V3_BALLOON_BITS.length
    )
    .map((combo) => ({
      id: `dev.neg.${comboName(combo)}`,
      role: "device" as const,
      profile: "v3" as const,
      title: `The driver accepts ${comboName(combo)} of the device's features`,
      guestPages: DEV_PAGES,
      accept: [...combo, ...TRANSPORT],
      steps: [{ do: "negotiate" as const }],
    })),
];

/** A scenario by id. */
export function scenario(id: string): DriverScenario | DeviceScenario {
  const s = DRIVER_SCENARIOS.find((x) => x.id === id) ?? DEVICE_SCENARIOS.find((x) => x.id === id);
  if (s === undefined) throw new RangeError(`No scenario ${id}`);
  return s;
}
