/**
 * Driver scenarios of the standard profile (virtio-1.x): the base balloon's
 * scenarios on the standard offer (their steps are the v3 scenarios' own),
 * free page hinting, page poison, free page reporting, and one generated
 * negotiation scenario per subset of the six balloon bits.
 *
 * @module
 */

import type { FeatureName } from "../../spec/mod.ts";
import type { DriverScenario } from "../model/types.ts";
import {
  DRV_DOOM_OOM,
  DRV_FREEZE_RESTORE,
  DRV_NO_DOOM_OOM,
  DRV_PFN_CYCLE,
  DRV_PFN_INFLATE_HELD,
  DRV_PFN_LEGACY_BE,
  DRV_PFN_MIGRATE_PAGE,
  DRV_PFN_MTH_SLOW_ACK,
  DRV_PFN_NO_MTH_SLOW_ACK,
  DRV_REFUSED,
  DRV_REMOVE,
  DRV_RING_SMALL,
  DRV_RING_SMALL_NO_EVENT_IDX,
  DRV_STATS,
} from "./driver.ts";
import { SMALL, V3_ALL } from "./features.ts";
import {
  LINUX_POISON_VAL,
  V1X_ALL,
  V1X_TRANSPORT,
  v1xComboName,
  v1xSubsets,
  v1xWithout,
} from "./v1x_features.ts";

/** A 16 MiB guest, for scenarios whose free pages the driver fills with a poison value. */
const POISONED = SMALL / 4;

/** The base features both profiles share: what a v3 scenario's offer leaves out of them, a standard one does too. */
const SHARED: readonly FeatureName[] = V3_ALL.filter((f) => V1X_ALL.includes(f));

/** A v3 base scenario on the standard profile: the same steps, the standard offer less what the v3 offer leaves out. */
function onStandard(s: DriverScenario): DriverScenario {
  const left = SHARED.filter((f) => !s.offer.includes(f));
  return {
    ...s,
    id: s.id.replace(/^drv\./, "drv.v1x."),
    profile: "virtio-1.x",
    title: `${s.title} (virtio-1.x)`,
    offer: v1xWithout(...left),
  };
}

/** The v3 scenarios of the base balloon that the standard profile shares, by their v3 id. */
export const STANDARD_BASE: ReadonlyMap<string, DriverScenario> = new Map(
  [
    DRV_PFN_CYCLE,
    DRV_PFN_INFLATE_HELD,
    DRV_PFN_MTH_SLOW_ACK,
    DRV_PFN_NO_MTH_SLOW_ACK,
    DRV_DOOM_OOM,
    DRV_NO_DOOM_OOM,
    DRV_STATS,
    DRV_REMOVE,
    DRV_FREEZE_RESTORE,
    DRV_PFN_MIGRATE_PAGE,
    DRV_PFN_LEGACY_BE,
    DRV_REFUSED,
    DRV_RING_SMALL,
    DRV_RING_SMALL_NO_EVENT_IDX,
  ].map((s) => [s.id, onStandard(s)]),
);

/** `drv.v1x.cycle` on the standard base: PFN arrays, inflate 600, deflate to 100, then 0. */
export const DRV_V1X_CYCLE: DriverScenario = STANDARD_BASE.get(DRV_PFN_CYCLE.id) as DriverScenario;

/** `drv.v1x.hint`: Free page hinting: a round while the guest uses 500 pages, then DONE. */
export const DRV_V1X_HINT: DriverScenario = {
  id: "drv.v1x.hint",
  role: "driver",
  profile: "virtio-1.x",
  title: "Free page hinting: a round while the guest uses 500 pages, then DONE",
  guestPages: SMALL,
  offer: V1X_ALL,
  needs: ["FREE_PAGE_HINT"],
  steps: [
    { do: "probe" },
    { do: "alloc", pages: 500 },
    { do: "hint-start" },
    { do: "wait", ms: 100 },
    { do: "hint-done" },
    { do: "wait", ms: 100 },
  ],
};

/** `drv.v1x.hint.stop-early`: Free page hinting: the host can use only 2048 pages of hints and sets STOP. */
export const DRV_V1X_HINT_STOP_EARLY: DriverScenario = {
  id: "drv.v1x.hint.stop-early",
  role: "driver",
  profile: "virtio-1.x",
  title: "Free page hinting: the host can use only 2048 pages of hints and sets STOP",
  guestPages: SMALL,
  offer: V1X_ALL,
  needs: ["FREE_PAGE_HINT"],
  steps: [
    { do: "probe" },
    { do: "hint-start", stopAfter: 2048 },
    { do: "wait", ms: 100 },
    { do: "hint-done" },
  ],
};

/** `drv.v1x.hint.reclaim`: Free page hinting: the guest runs out of memory before DONE and takes hinted pages back. */
export const DRV_V1X_HINT_RECLAIM: DriverScenario = {
  id: "drv.v1x.hint.reclaim",
  role: "driver",
  profile: "virtio-1.x",
  title: "Free page hinting: the guest runs out of memory before DONE and takes hinted pages back",
  guestPages: SMALL,
  offer: V1X_ALL,
  needs: ["FREE_PAGE_HINT"],
  steps: [
    { do: "probe" },
    { do: "hint-start" },
    { do: "wait", ms: 100 },
    { do: "oom" },
    { do: "alloc", pages: 300 },
    { do: "hint-done" },
  ],
};

/** `drv.v1x.hint.legacy-be`: Free page hinting over the legacy interface, big-endian guest. */
export const DRV_V1X_HINT_LEGACY_BE: DriverScenario = {
  id: "drv.v1x.hint.legacy-be",
  role: "driver",
  profile: "virtio-1.x",
  title:
    "Free page hinting over the legacy interface, big-endian guest (poison_val 0x11223344, no reporting)",
  guestPages: POISONED,
  offer: v1xWithout("VERSION_1", "PAGE_REPORTING"),
  needs: ["FREE_PAGE_HINT"],
  guestEndian: "be",
  pagePoison: 0x1122_3344,
  steps: [
    { do: "probe" },
    { do: "target", pages: 600 },
    { do: "hint-start" },
    { do: "wait", ms: 100 },
    { do: "hint-done" },
  ],
};

/** `drv.v1x.report`: Free page reporting: free memory at probe, after the workload frees 3000 pages, after a deflate. */
export const DRV_V1X_REPORT: DriverScenario = {
  id: "drv.v1x.report",
  role: "driver",
  profile: "virtio-1.x",
  title:
    "Free page reporting: free memory at probe, after the workload frees 3000 pages, after a deflate",
  guestPages: SMALL,
  offer: V1X_ALL,
  needs: ["PAGE_REPORTING"],
  touchOnFree: true,
  steps: [
    { do: "probe" },
    { do: "target", pages: 600 },
    { do: "alloc", pages: 3000 },
    { do: "free" },
    { do: "wait", ms: 3000 },
    { do: "target", pages: 0 },
    { do: "wait", ms: 3000 },
  ],
};

/** `drv.v1x.report.held`: Free page reporting: the device holds a report while the guest needs memory. */
export const DRV_V1X_REPORT_HELD: DriverScenario = {
  id: "drv.v1x.report.held",
  role: "driver",
  profile: "virtio-1.x",
  title: "Free page reporting: the device holds a report while the guest needs memory",
  guestPages: SMALL,
  offer: V1X_ALL,
  needs: ["PAGE_REPORTING"],
  touchOnFree: true,
  steps: [
    { do: "probe" },
    { do: "alloc", pages: 2000 },
    { do: "hold", queues: ["reporting_vq"] },
    { do: "free" },
    { do: "wait", ms: 3000 },
    { do: "alloc", pages: 8000 },
    { do: "release" },
    { do: "wait", ms: 3000 },
  ],
};

/** `drv.v1x.poison`: Page poison (0xaaaaaaaa, as Linux's page_poison=1): deflates and reports. */
export const DRV_V1X_POISON: DriverScenario = {
  id: "drv.v1x.poison",
  role: "driver",
  profile: "virtio-1.x",
  title: "Page poison (0xaaaaaaaa, as Linux's page_poison=1): deflates and reports",
  guestPages: POISONED,
  offer: V1X_ALL,
  needs: ["PAGE_POISON"],
  pagePoison: LINUX_POISON_VAL,
  steps: [
    { do: "probe" },
    { do: "target", pages: 600 },
    { do: "target", pages: 100 },
    { do: "alloc", pages: 2000 },
    { do: "free" },
    { do: "wait", ms: 3000 },
    { do: "target", pages: 0 },
  ],
};

/** `drv.v1x.poison.not-offered`: A guest that poisons its free pages; the device offers reporting but not PAGE_POISON. */
export const DRV_V1X_POISON_NOT_OFFERED: DriverScenario = {
  id: "drv.v1x.poison.not-offered",
  role: "driver",
  profile: "virtio-1.x",
  title:
    "A guest that poisons its free pages; the device offers PAGE_REPORTING but not PAGE_POISON",
  guestPages: SMALL,
  offer: v1xWithout("PAGE_POISON"),
  pagePoison: LINUX_POISON_VAL,
  steps: [{ do: "probe" }, { do: "target", pages: 300 }],
};

/** `drv.v1x.no-indirect`: The device does not offer INDIRECT_DESC: inflate and deflate 300 pages. */
export const DRV_V1X_NO_INDIRECT: DriverScenario = {
  id: "drv.v1x.no-indirect",
  role: "driver",
  profile: "virtio-1.x",
  title: "The device does not offer INDIRECT_DESC: inflate and deflate 300 pages",
  guestPages: SMALL,
  offer: v1xWithout("INDIRECT_DESC"),
  steps: [{ do: "probe" }, { do: "target", pages: 300 }, { do: "target", pages: 0 }],
};

/** `drv.v1x.stats.legacy-be`: Stats over the legacy interface, big-endian guest: three requests. */
export const DRV_V1X_STATS_LEGACY_BE: DriverScenario = {
  ...DRV_STATS,
  id: "drv.v1x.stats.legacy-be",
  profile: "virtio-1.x",
  title:
    "Stats over the legacy interface, big-endian guest: three requests while the guest allocates",
  offer: v1xWithout("VERSION_1"),
  guestEndian: "be",
};

/** Generated: probe and a small inflate for every subset of the six balloon bits (init_on_free guest). */
function negotiationScenarios(): DriverScenario[] {
  return v1xSubsets().map((combo) => ({
    id: `drv.v1x.neg.${v1xComboName(combo)}`,
    role: "driver" as const,
    profile: "virtio-1.x" as const,
    title: `The device offers ${
      v1xComboName(combo)
    } (+ VERSION_1, EVENT_IDX, INDIRECT_DESC, ANY_LAYOUT); the guest zeroes freed pages`,
    guestPages: SMALL,
    offer: [...combo, ...V1X_TRANSPORT],
    pagePoison: 0,
    steps: [{ do: "probe" as const }, { do: "target" as const, pages: 300 }],
  }));
}

const NEGOTIATION: readonly DriverScenario[] = negotiationScenarios();

/** The generated scenario in which the device offers exactly `combo` of the balloon bits. */
export function v1xNegotiationScenario(combo: readonly FeatureName[]): DriverScenario {
  const id = `drv.v1x.neg.${v1xComboName(combo)}`;
  const s = NEGOTIATION.find((x) => x.id === id);
  if (s === undefined) {
    throw new RangeError(`No virtio-1.x negotiation scenario for ${v1xComboName(combo)}`);
  }
  return s;
}

/** Every driver scenario of the standard profile. */
export const V1X_DRIVER_SCENARIOS: readonly DriverScenario[] = [
  ...STANDARD_BASE.values(),
  DRV_V1X_HINT,
  DRV_V1X_HINT_STOP_EARLY,
  DRV_V1X_HINT_RECLAIM,
  DRV_V1X_HINT_LEGACY_BE,
  DRV_V1X_REPORT,
  DRV_V1X_REPORT_HELD,
  DRV_V1X_POISON,
  DRV_V1X_POISON_NOT_OFFERED,
  DRV_V1X_NO_INDIRECT,
  DRV_V1X_STATS_LEGACY_BE,
  ...NEGOTIATION,
];
