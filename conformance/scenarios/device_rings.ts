/**
 * Device scenarios about serving the rings and reading the config space:
 * PFN arrays of every length a driver sends, several chains in flight, a
 * ring that wraps, PFN arrays in indirect tables (one whose descriptor also
 * carries VIRTQ_DESC_F_WRITE), notification suppression with and without EVENT_IDX, and
 * the driver's `actual` (issue: devices that ack what they skip, leave
 * chains behind, ignore suppression or drop `actual` — `../shared` REAL-BUGS
 * rows 3, 9 and 10).
 *
 * @module
 */

import type { DeviceScenario, DeviceStep } from "../model/types.ts";
import { GIB, PFN, without } from "./features.ts";

/** 2 GiB, as the other device scenarios. */
const PAGES = 2 * GIB;

function run(start: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => start + i);
}

/** `dev.pfn.sizes`: inflates of 1, 256, 257 and 1024 PFNs (the last the size Windows drivers use). */
export const DEV_PFN_SIZES: DeviceScenario = {
  id: "dev.pfn.sizes",
  role: "device",
  profile: "v3",
  title: "PFN arrays of 1, 256, 257 and 1024 entries, each applied whole",
  guestPages: PAGES,
  accept: PFN,
  steps: [
    { do: "negotiate" },
    ...[1, 256, 257, 1024].map((n, i): DeviceStep => ({
      do: "send",
      label: `pfns-${n}`,
      queue: "inflateq",
      chain: { pfns: run(20_000 + 4_096 * i, n) },
    })),
  ],
};

/** Chains made available together before one notification. */
const IN_FLIGHT = 8;

/** `dev.ring.in-flight`: several inflate chains made available, then one notification. */
export const DEV_RING_IN_FLIGHT: DeviceScenario = {
  id: "dev.ring.in-flight",
  role: "device",
  profile: "v3",
  title: `${IN_FLIGHT} inflate chains made available before one notification`,
  guestPages: PAGES,
  accept: PFN,
  steps: [
    { do: "negotiate" },
    ...Array.from({ length: IN_FLIGHT }, (_, i): DeviceStep => ({
      do: "send",
      label: `in-flight-${i + 1}`,
      queue: "inflateq",
      chain: { pfns: run(60_000 + 64 * i, 16) },
      kick: false,
    })),
    { do: "kick", queue: "inflateq" },
  ],
};

/** Entries of the wrapping ring, and chains sent through it (three times round). */
const WRAP_SIZE = 4;
const WRAP_SENDS = 3 * WRAP_SIZE;

/** `dev.ring.wrap`: a 4-entry ring, 12 inflates one after the other. */
export const DEV_RING_WRAP: DeviceScenario = {
  id: "dev.ring.wrap",
  role: "device",
  profile: "v3",
  title: `A ${WRAP_SIZE}-entry ring that wraps: ${WRAP_SENDS} inflates one after the other`,
  guestPages: PAGES,
  accept: PFN,
  queueSize: WRAP_SIZE,
  steps: [
    { do: "negotiate" },
    ...Array.from({ length: WRAP_SENDS }, (_, i): DeviceStep => ({
      do: "send",
      label: `wrap-${i + 1}`,
      queue: "inflateq",
      chain: { pfns: run(70_000 + 64 * i, 8) },
    })),
  ],
};

/**
 * `dev.ring.indirect`: PFN-array inflates in indirect tables, the second with
 * VIRTQ_DESC_F_WRITE on the descriptor that points to its table (G38: the
 * device ignores it and reads the table's readable entries as usual).
 */
export const DEV_RING_INDIRECT: DeviceScenario = {
  id: "dev.ring.indirect",
  role: "device",
  profile: "v3",
  title:
    "PFN arrays in indirect tables, one whose indirect descriptor also carries VIRTQ_DESC_F_WRITE",
  guestPages: PAGES,
  accept: PFN,
  steps: [
    { do: "negotiate" },
    {
      do: "send",
      label: "indirect",
      queue: "inflateq",
      chain: { pfns: run(100_000, 64) },
      indirect: true,
    },
    {
      do: "send",
      label: "indirect-write-flag",
      queue: "inflateq",
      chain: { pfns: run(100_096, 64) },
      indirect: true,
      indirectWriteFlag: true,
    },
  ],
};

function notifySteps(): DeviceStep[] {
  return [
    { do: "negotiate" },
    { do: "suppress", queue: "inflateq", on: true },
    { do: "send", label: "quiet", queue: "inflateq", chain: { pfns: run(80_000, 8) } },
    { do: "suppress", queue: "inflateq", on: false },
    { do: "send", label: "loud", queue: "inflateq", chain: { pfns: run(80_064, 8) } },
  ];
}

/** `dev.notify.flags`: used-buffer notifications suppressed by avail.flags, then asked for again. */
export const DEV_NOTIFY_FLAGS: DeviceScenario = {
  id: "dev.notify.flags",
  role: "device",
  profile: "v3",
  title: "Without EVENT_IDX: notifications suppressed (avail.flags), then asked for again",
  guestPages: PAGES,
  accept: without(PFN, "EVENT_IDX"),
  steps: notifySteps(),
};

/** `dev.notify.event-idx`: used-buffer notifications suppressed by used_event, then asked for again. */
export const DEV_NOTIFY_EVENT_IDX: DeviceScenario = {
  id: "dev.notify.event-idx",
  role: "device",
  profile: "v3",
  title: "With EVENT_IDX: notifications suppressed (used_event), then asked for again",
  guestPages: PAGES,
  accept: PFN,
  steps: notifySteps(),
};

/** `dev.actual`: the driver writes actual, the host changes the target, the driver writes again. */
export const DEV_ACTUAL: DeviceScenario = {
  id: "dev.actual",
  role: "device",
  profile: "v3",
  title: "The driver writes actual before and after a change of num_pages (a new generation)",
  guestPages: PAGES,
  accept: PFN,
  steps: [
    { do: "negotiate" },
    { do: "target", pages: 1_000 },
    { do: "write-actual", label: "actual-600", value: 600 },
    { do: "target", pages: 2_000 },
    { do: "write-actual", label: "actual-1500", value: 1_500 },
  ],
};

/** `dev.actual.legacy`: a legacy driver writes actual one byte at a time. */
export const DEV_ACTUAL_LEGACY: DeviceScenario = {
  id: "dev.actual.legacy",
  role: "device",
  profile: "v3",
  title: "Legacy interface: the driver writes actual one byte at a time, least significant first",
  guestPages: PAGES,
  accept: without(PFN, "VERSION_1"),
  steps: [
    { do: "negotiate" },
    { do: "write-actual", label: "actual-bytewise", value: 0x0001_0203, bytewise: true },
  ],
};

/** `dev.legacy`: a little-endian guest negotiating over the legacy interface, and one inflate. */
export const DEV_LEGACY: DeviceScenario = {
  id: "dev.legacy",
  role: "device",
  profile: "v3",
  title: "Legacy interface, little-endian guest: negotiation and an inflate",
  guestPages: PAGES,
  accept: without(PFN, "VERSION_1"),
  steps: [
    { do: "negotiate" },
    { do: "send", label: "inflate", queue: "inflateq", chain: { pfns: run(90_000, 16) } },
  ],
};

/** Every scenario of this file. */
export const DEVICE_RING_SCENARIOS: readonly DeviceScenario[] = [
  DEV_PFN_SIZES,
  DEV_RING_IN_FLIGHT,
  DEV_RING_WRAP,
  DEV_RING_INDIRECT,
  DEV_NOTIFY_FLAGS,
  DEV_NOTIFY_EVENT_IDX,
  DEV_ACTUAL,
  DEV_ACTUAL_LEGACY,
  DEV_LEGACY,
];
