/**
 * Device deviations in the features it offers and accepts, its status and
 * its config space (B07, G05, G14, G15a, G18).
 *
 * @module
 */

import type { DeviceDeviation } from "../deviations.ts";
import type { DeviceSeamOverride } from "../device/seams.ts";

/** Overrides of the feature, status and config deviations. */
export const DEVICE_FEATURE_DEVIATIONS: Readonly<
  Partial<Record<DeviceDeviation, DeviceSeamOverride>>
> = {
  "refuse-valid-subset": (d) => ({
    acceptsFeatures: (base) => (driverFeatures) =>
      base(driverFeatures) && driverFeatures === d.deviceFeatures,
  }),
  "offer-misc-without-stats": () => ({
    offeredFeatures: (base) => (offer) => base(offer).filter((f) => f !== "STATS_VQ"),
  }),
  "no-version-1": () => ({
    offeredFeatures: (base) => (offer) => base(offer).filter((f) => f !== "VERSION_1"),
  }),
  "no-any-layout": () => ({
    offeredFeatures: (base) => (offer) => base(offer).filter((f) => f !== "ANY_LAYOUT"),
  }),
  "ignore-driver-ok": () => ({ isLive: () => () => true }),
  "config-guest-endian": (d) => ({
    configByteOrder: (base) => () =>
      d.transport.isLegacy && d.transport.guestEndian === "be" ? "legacy-be" : base(),
  }),
};
