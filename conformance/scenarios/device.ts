/**
 * Device scenarios: the suite plays the driver (a scripted one that builds
 * chains from the case data) and the host, and drives a device under test.
 *
 * @module
 */

import {
  BALLOON_BMAP_ALIGN_BITS,
  enumValue,
  type FeatureName,
  featuresOf,
  PFNS_PER_BMAP,
  type QueueName,
} from "../../spec/mod.ts";
import type { ChainSpec, DeviceScenario, DeviceStep } from "../model/types.ts";
import { DEVICE_RING_SCENARIOS } from "./device_rings.ts";
import {
  balloonSubsets,
  comboName,
  GIB,
  PFN,
  TRANSPORT,
  V3_ALL,
  V3_BALLOON_BITS,
  without,
} from "./features.ts";

/** Guest RAM of most device scenarios: 2 GiB, in 4 KiB pages. */
export const DEV_PAGES = 2 * GIB;
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

/** `dev.pfn`: PFN arrays: inflate, deflate part, inflate more. */
export const DEV_PFN: DeviceScenario = {
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
};

/** `dev.pfn.malformed`: PFN arrays that are malformed, then a good one. */
export const DEV_PFN_MALFORMED: DeviceScenario = {
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
};

/** `dev.bitmap`: Bitmaps: a run, a partial deflate, scattered bits, two chunks, an indirect chain. */
export const DEV_BITMAP: DeviceScenario = {
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
};

/** `dev.bitmap.malformed`: Malformed bitmap requests, each rejected, then a good one. */
export const DEV_BITMAP_MALFORMED: DeviceScenario = {
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
};

/** `dev.stats`: Stats: a normal buffer, one with an unknown tag, one in reverse tag order. */
export const DEV_STATS: DeviceScenario = {
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
      chain: { stats: [{ tag: 4, val: "1001" }, { tag: 99, val: "7" }, { tag: 5, val: "2001" }] },
    },
    { do: "stats" },
    {
      do: "send",
      label: "stats-reversed",
      queue: "statsq",
      chain: { stats: [{ tag: 5, val: "2002" }, { tag: 4, val: "1002" }] },
    },
    { do: "stats" },
  ],
};

/** `dev.misc`: Misc queue: the host asks for unused pages; the suite replies CONT, then DONE. */
export const DEV_MISC: DeviceScenario = {
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
};

/** `dev.before-driver-ok`: A buffer made available before DRIVER_OK. */
export const DEV_BEFORE_DRIVER_OK: DeviceScenario = {
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
};

/** `dev.legacy-be`: Legacy interface with a big-endian guest. */
export const DEV_LEGACY_BE: DeviceScenario = {
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
};

function negotiationScenarios(): DeviceScenario[] {
  return balloonSubsets()
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
    }));
}

const NEGOTIATION: readonly DeviceScenario[] = negotiationScenarios();

/** The generated scenario in which the driver accepts exactly `combo` of the balloon bits. */
export function deviceNegotiationScenario(combo: readonly FeatureName[]): DeviceScenario {
  const id = `dev.neg.${comboName(combo)}`;
  const s = NEGOTIATION.find((x) => x.id === id);
  if (s === undefined) {
    throw new RangeError(`No device negotiation scenario for ${comboName(combo)}`);
  }
  return s;
}

/** Every device scenario. */
export const DEVICE_SCENARIOS: readonly DeviceScenario[] = [
  DEV_PFN,
  DEV_PFN_MALFORMED,
  DEV_BITMAP,
  DEV_BITMAP_MALFORMED,
  DEV_STATS,
  DEV_MISC,
  DEV_BEFORE_DRIVER_OK,
  DEV_LEGACY_BE,
  ...DEVICE_RING_SCENARIOS,
  ...NEGOTIATION,
];

/** The feature that adds a queue, if any (inflateq and deflateq always exist). */
function queueFeature(profile: DeviceScenario["profile"], queue: QueueName): FeatureName[] {
  return featuresOf(profile).filter((f) => f.queues.includes(queue)).map((f) => f.name);
}

/** What one step needs negotiated to mean anything: its queue, its chain format, indirect tables. */
export function deviceStepNeeds(
  profile: DeviceScenario["profile"],
  step: DeviceStep,
): FeatureName[] {
  switch (step.do) {
    case "send":
      // misc reply chunks are bitmap-formatted whatever PAGE_BITMAP says
      return [
        ...queueFeature(profile, step.queue),
        ...("bitmap" in step.chain && step.queue !== "miscq" ? ["PAGE_BITMAP" as const] : []),
        ...(step.indirect === true ? ["INDIRECT_DESC" as const] : []),
      ];
    case "post-request-buffer":
    case "unused":
    case "reply":
      return queueFeature(profile, "miscq");
    case "stats":
      return queueFeature(profile, "statsq");
    default:
      return [];
  }
}

/**
 * What a device case on `scenario` needs negotiated: the needs of the chain
 * it looks at (`label`), or, for a case about the whole run, what every
 * chain-sending step of the scenario needs.
 */
export function deviceScenarioNeeds(scenario: DeviceScenario, label?: string): FeatureName[] {
  if (label !== undefined) {
    const step = scenario.steps.find((s) => s.do === "send" && s.label === label) ??
      scenario.steps.find((s) => s.do === "reply" && s.label === label);
    if (step === undefined) {
      throw new RangeError(`Scenario ${scenario.id} sends no chain labelled ${label}`);
    }
    return deviceStepNeeds(scenario.profile, step);
  }
  const sets = scenario.steps
    .filter((s) => ["send", "post-request-buffer", "unused", "reply", "stats"].includes(s.do))
    .map((s) => deviceStepNeeds(scenario.profile, s));
  if (sets.length === 0) return [];
  return (sets[0] as FeatureName[]).filter((f) => sets.every((x) => x.includes(f)));
}
