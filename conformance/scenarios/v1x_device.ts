/**
 * Device scenarios of the standard profile (virtio-1.x): the base balloon's
 * scenarios on the standard features (their steps are the v3 scenarios'
 * own), free page hinting (rounds, a stale id, a malformed id buffer, DONE,
 * the legacy byte order), free page reporting (well-formed and malformed
 * reports, a poison value), the dense queue numbering for every subset of
 * the queue features, stats tags no spec defines, and one negotiation per
 * subset of the balloon bits.
 *
 * @module
 */

import { enumValues, type FeatureName } from "../../spec/mod.ts";
import type { DeviceScenario, DeviceStep } from "../model/types.ts";
import {
  DEV_BEFORE_DRIVER_OK,
  DEV_LEGACY_BE,
  DEV_PFN,
  DEV_PFN_MALFORMED,
  DEV_STATS,
} from "./device.ts";
import { DEVICE_RING_SCENARIOS } from "./device_rings.ts";
import { V3_ALL } from "./features.ts";
import {
  LINUX_POISON_VAL,
  V1X_ALL,
  V1X_BALLOON_BITS,
  V1X_TRANSPORT,
  v1xComboName,
  v1xQueueSubsets,
  v1xSubsets,
  v1xWithout,
} from "./v1x_features.ts";

/** Guest RAM of the standard profile's own device scenarios: 256 MiB. */
export const V1X_DEV_PAGES = 65_536;
/** A value the suite fills guest pages with: the guest's data. */
export const GUEST_DATA = 0x5a5a_5a5a;

const SHARED: readonly FeatureName[] = V3_ALL.filter((f) => V1X_ALL.includes(f));

function onStandard(s: DeviceScenario): DeviceScenario {
  const left = SHARED.filter((f) => !s.accept.includes(f));
  return {
    ...s,
    id: s.id.replace(/^dev\./, "dev.v1x."),
    profile: "virtio-1.x",
    title: `${s.title} (virtio-1.x)`,
    accept: v1xWithout(...left),
  };
}

/** The v3 device scenarios of the base balloon that the standard profile shares, by their v3 id. */
export const STANDARD_DEVICE_BASE: ReadonlyMap<string, DeviceScenario> = new Map(
  [
    DEV_PFN,
    DEV_PFN_MALFORMED,
    DEV_STATS,
    DEV_BEFORE_DRIVER_OK,
    DEV_LEGACY_BE,
    ...DEVICE_RING_SCENARIOS,
  ].map((s) => [s.id, onStandard(s)]),
);

/** The steps of one hint round: the id, pages, STOP. */
function hintRound(label: string, runs: readonly (readonly [number, number])[]): DeviceStep[] {
  return [
    { do: "hint-start" },
    { do: "send", label: `${label}-start`, queue: "free_page_vq", chain: { cmdId: "current" } },
    { do: "send", label, queue: "free_page_vq", chain: { none: true }, pages: runs },
    { do: "send", label: `${label}-stop`, queue: "free_page_vq", chain: { cmdId: "stop" } },
  ];
}

const HINTED: readonly (readonly [number, number])[] = [[4096, 1024], [8192, 1024]];

/** `dev.v1x.hint`: Free page hinting: a round left open, a second round stopped, DONE, then the guest reuses the pages. */
export const DEV_V1X_HINT: DeviceScenario = {
  id: "dev.v1x.hint",
  role: "device",
  profile: "virtio-1.x",
  title:
    "Free page hinting: a round left open, a second round stopped, DONE, then the guest reuses the pages",
  guestPages: V1X_DEV_PAGES,
  accept: V1X_ALL,
  steps: [
    { do: "negotiate" },
    { do: "hint-start" },
    { do: "send", label: "start-1", queue: "free_page_vq", chain: { cmdId: "current" } },
    {
      do: "send",
      label: "hint-1",
      queue: "free_page_vq",
      chain: { none: true },
      pages: [HINTED[0] as readonly [number, number]],
    },
    { do: "hint-start" },
    { do: "send", label: "start-2", queue: "free_page_vq", chain: { cmdId: "current" } },
    {
      do: "send",
      label: "hint-2",
      queue: "free_page_vq",
      chain: { none: true },
      pages: [HINTED[1] as readonly [number, number]],
    },
    { do: "send", label: "stop-2", queue: "free_page_vq", chain: { cmdId: "stop" } },
    { do: "hint-done" },
    { do: "fill-guest", runs: HINTED, value: GUEST_DATA },
    { do: "send", label: "after-done", queue: "inflateq", chain: { pfns: [20_000] } },
    { do: "check-guest", label: "after-done", runs: HINTED },
  ],
};

/** `dev.v1x.hint.stale`: Free page hinting: pages sent under an id the host never issued, then under the right one. */
export const DEV_V1X_HINT_STALE: DeviceScenario = {
  id: "dev.v1x.hint.stale",
  role: "device",
  profile: "virtio-1.x",
  title:
    "Free page hinting: pages sent under an id the host never issued, then under the right one",
  guestPages: V1X_DEV_PAGES,
  accept: V1X_ALL,
  steps: [
    { do: "negotiate" },
    { do: "hint-start" },
    { do: "send", label: "start-stale", queue: "free_page_vq", chain: { cmdId: "stale" } },
    {
      do: "send",
      label: "hint-stale",
      queue: "free_page_vq",
      chain: { none: true },
      pages: [[4096, 1024]],
    },
    { do: "send", label: "start", queue: "free_page_vq", chain: { cmdId: "current" } },
    {
      do: "send",
      label: "hint",
      queue: "free_page_vq",
      chain: { none: true },
      pages: [[8192, 1024]],
    },
    { do: "send", label: "stop", queue: "free_page_vq", chain: { cmdId: "stop" } },
  ],
};

/** `dev.v1x.hint.malformed`: Free page hinting: an 8-byte id buffer and pages after it, then a well-formed round. */
export const DEV_V1X_HINT_MALFORMED: DeviceScenario = {
  id: "dev.v1x.hint.malformed",
  role: "device",
  profile: "virtio-1.x",
  title: "Free page hinting: an 8-byte id buffer and pages after it, then a well-formed round",
  guestPages: V1X_DEV_PAGES,
  accept: V1X_ALL,
  steps: [
    { do: "negotiate" },
    { do: "hint-start" },
    { do: "send", label: "long-cmd", queue: "free_page_vq", chain: { cmdId: "current", bytes: 8 } },
    {
      do: "send",
      label: "hint-after-long",
      queue: "free_page_vq",
      chain: { none: true },
      pages: [[4096, 1024]],
    },
    { do: "send", label: "start", queue: "free_page_vq", chain: { cmdId: "current" } },
    {
      do: "send",
      label: "hint",
      queue: "free_page_vq",
      chain: { none: true },
      pages: [[8192, 1024]],
    },
    { do: "send", label: "stop", queue: "free_page_vq", chain: { cmdId: "stop" } },
  ],
};

/** `dev.v1x.hint.legacy-be`: Free page hinting over the legacy interface, big-endian guest. */
export const DEV_V1X_HINT_LEGACY_BE: DeviceScenario = {
  id: "dev.v1x.hint.legacy-be",
  role: "device",
  profile: "virtio-1.x",
  title: "Free page hinting over the legacy interface, big-endian guest",
  guestPages: V1X_DEV_PAGES,
  accept: v1xWithout("VERSION_1"),
  guestEndian: "be",
  steps: [{ do: "negotiate" }, ...hintRound("hint", [[4096, 1024]])],
};

/** `dev.v1x.report`: Free page reporting without PAGE_POISON: a report, malformed ones, a report after them. */
export const DEV_V1X_REPORT: DeviceScenario = {
  id: "dev.v1x.report",
  role: "device",
  profile: "virtio-1.x",
  title:
    "Free page reporting without PAGE_POISON: a report, malformed ones (a readable part, a range that is not whole pages), a report after them, one through an indirect table",
  guestPages: V1X_DEV_PAGES,
  accept: v1xWithout("PAGE_POISON"),
  steps: [
    { do: "negotiate" },
    { do: "fill-guest", runs: [[4096, 512]], value: GUEST_DATA },
    {
      do: "send",
      label: "report",
      queue: "reporting_vq",
      chain: { none: true },
      pages: [[4096, 512]],
    },
    { do: "check-guest", label: "report", runs: [[4096, 512]] },
    {
      do: "send",
      label: "report-readable",
      queue: "reporting_vq",
      chain: { hex: "00000000" },
      pages: [[8192, 512]],
    },
    {
      do: "send",
      label: "report-unaligned",
      queue: "reporting_vq",
      chain: { none: true },
      writable: [100],
    },
    {
      do: "send",
      label: "report-after",
      queue: "reporting_vq",
      chain: { none: true },
      pages: [[12_288, 512]],
    },
    {
      do: "send",
      label: "report-indirect",
      queue: "reporting_vq",
      chain: { none: true },
      pages: [[16_384, 512], [20_480, 1024]],
      indirect: true,
    },
  ],
};

/** `dev.v1x.report.poison`: Free page reporting with PAGE_POISON and poison_val 0xaaaaaaaa: the reported pages hold it. */
export const DEV_V1X_REPORT_POISON: DeviceScenario = {
  id: "dev.v1x.report.poison",
  role: "device",
  profile: "virtio-1.x",
  title:
    "Free page reporting with PAGE_POISON and poison_val 0xaaaaaaaa: pages filled with it, reported",
  guestPages: V1X_DEV_PAGES,
  accept: V1X_ALL,
  steps: [
    { do: "negotiate", driverOk: false },
    { do: "write-config", field: "poison_val", value: LINUX_POISON_VAL },
    { do: "driver-ok" },
    { do: "fill-guest", runs: [[4096, 512]], value: LINUX_POISON_VAL },
    {
      do: "send",
      label: "report",
      queue: "reporting_vq",
      chain: { none: true },
      pages: [[4096, 512]],
    },
    { do: "check-guest", label: "poisoned", runs: [[4096, 512]] },
  ],
};

/** The stats tags no spec defines that real drivers send: Linux 6.12's and crosvm's. */
export const UNKNOWN_STATS_TAGS: readonly number[] = [
  ...enumValues("stats_tag", "virtio-1.x").filter((t) => t.nonStandard).map((t) => t.value),
  0xfffe,
  0xffff,
];

/** `dev.v1x.stats.tags`: Stats buffers holding each tag no spec defines (Linux 6.12's 10–15, crosvm's 65534/65535). */
export const DEV_V1X_STATS_TAGS: DeviceScenario = {
  id: "dev.v1x.stats.tags",
  role: "device",
  profile: "virtio-1.x",
  title:
    "Stats buffers holding each tag no spec defines (Linux 6.12's 10-15, crosvm's 65534 and 65535)",
  guestPages: V1X_DEV_PAGES,
  accept: V1X_ALL,
  steps: [
    { do: "negotiate" },
    ...UNKNOWN_STATS_TAGS.flatMap((tag, i): DeviceStep[] => [
      {
        do: "send",
        label: `stats-${tag}`,
        queue: "statsq",
        chain: {
          stats: [{ tag: 4, val: String(1000 + i) }, { tag, val: "7" }, {
            tag: 5,
            val: String(2000 + i),
          }],
        },
      },
      { do: "stats" },
    ]),
  ],
};

/** Generated: for every subset of the queue features with hinting or reporting, a hint round and a report on their dense indices. */
function queueScenarios(): DeviceScenario[] {
  return v1xQueueSubsets()
    .filter((c) => c.includes("FREE_PAGE_HINT") || c.includes("PAGE_REPORTING"))
    .map((combo) => ({
      id: `dev.v1x.queues.${v1xComboName(combo)}`,
      role: "device" as const,
      profile: "virtio-1.x" as const,
      title: `The driver accepts ${
        v1xComboName(combo)
      } of the queue features: each queue on its dense index`,
      guestPages: V1X_DEV_PAGES,
      accept: [...combo, ...V1X_TRANSPORT],
      steps: [
        { do: "negotiate" as const },
        ...(combo.includes("FREE_PAGE_HINT") ? hintRound("hint", [[4096, 1024]]) : []),
        ...(combo.includes("PAGE_REPORTING")
          ? [{
            do: "send" as const,
            label: "report",
            queue: "reporting_vq" as const,
            chain: { none: true as const },
            pages: [[8192, 512] as const],
          }]
          : []),
      ],
    }));
}

const QUEUES: readonly DeviceScenario[] = queueScenarios();

/** The generated queue-numbering scenario for a subset of the queue features. */
export function v1xQueueScenario(combo: readonly FeatureName[]): DeviceScenario {
  const s = QUEUES.find((x) => x.id === `dev.v1x.queues.${v1xComboName(combo)}`);
  if (s === undefined) throw new RangeError(`No queue scenario for ${v1xComboName(combo)}`);
  return s;
}

/** Generated: the driver accepts each proper subset of the six balloon bits. */
function negotiationScenarios(): DeviceScenario[] {
  return v1xSubsets()
    .filter((c) => c.length < V1X_BALLOON_BITS.length)
    .map((combo) => ({
      id: `dev.v1x.neg.${v1xComboName(combo)}`,
      role: "device" as const,
      profile: "virtio-1.x" as const,
      title: `The driver accepts ${v1xComboName(combo)} of the device's features`,
      guestPages: V1X_DEV_PAGES,
      accept: [...combo, ...V1X_TRANSPORT],
      steps: [{ do: "negotiate" as const }],
    }));
}

const NEGOTIATION: readonly DeviceScenario[] = negotiationScenarios();

/** The generated scenario in which the driver accepts exactly `combo` of the balloon bits. */
export function v1xDeviceNegotiationScenario(combo: readonly FeatureName[]): DeviceScenario {
  const s = NEGOTIATION.find((x) => x.id === `dev.v1x.neg.${v1xComboName(combo)}`);
  if (s === undefined) {
    throw new RangeError(`No virtio-1.x device negotiation scenario for ${v1xComboName(combo)}`);
  }
  return s;
}

/** Every device scenario of the standard profile. */
export const V1X_DEVICE_SCENARIOS: readonly DeviceScenario[] = [
  ...STANDARD_DEVICE_BASE.values(),
  DEV_V1X_HINT,
  DEV_V1X_HINT_STALE,
  DEV_V1X_HINT_MALFORMED,
  DEV_V1X_HINT_LEGACY_BE,
  DEV_V1X_REPORT,
  DEV_V1X_REPORT_POISON,
  DEV_V1X_STATS_TAGS,
  ...QUEUES,
  ...NEGOTIATION,
];
