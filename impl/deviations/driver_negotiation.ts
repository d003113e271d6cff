/**
 * Driver deviations in feature negotiation, the status sequence and queue
 * setup (G08, G09, G18, G34, G55a, G55c, G55d, R-03).
 *
 * @module
 */

import { featureMask } from "../../spec/mod.ts";
import type { DriverDeviation } from "../deviations.ts";
import type { DriverSeamOverride } from "../driver/seams.ts";
import { STATUS } from "../transport.ts";

/** Overrides of the negotiation deviations. */
export const NEGOTIATION_DEVIATIONS: Readonly<
  Partial<Record<DriverDeviation, DriverSeamOverride>>
> = {
  "accept-unoffered": (vb) => ({
    driverFeatures: (base) => (wanted) => base(wanted) | featureMask(vb.profile, ["RING_PACKED"]),
  }),
  "misc-without-stats": () => ({
    featureDependencies: (base) => () =>
      base().filter((d) => !(d.feature === "MISC_VQ" && d.requires === "STATS_VQ")),
  }),
  "ignore-version-1": (vb) => ({
    driverFeatures: (base) => (wanted) => base(wanted) & ~featureMask(vb.profile, ["VERSION_1"]),
  }),
  "decline-any-layout": (vb) => ({
    driverFeatures: (base) => (wanted) => base(wanted) & ~featureMask(vb.profile, ["ANY_LAYOUT"]),
  }),
  "config-before-features-ok": (vb) => ({
    afterFeaturesWritten: (base) => (features) => {
      base(features);
      vb.updateActual();
    },
  }),
  "skip-features-ok": () => ({ setsFeaturesOk: () => () => false }),
  "continue-after-refusal": () => ({ failsWhenRefused: () => () => false }),
  "late-features": (vb) => ({
    afterNegotiation: (base) => (features) => {
      base(features);
      vb.transport.writeDriverFeatures(features | featureMask(vb.profile, ["RING_PACKED"]));
    },
  }),
  "missing-queue": () => ({ queueCount: (base) => (layoutLength) => base(layoutLength - 1) }),
  "indirect-unnegotiated": () => ({
    queueFeatures: (base) => (negotiated) => ({ ...base(negotiated), indirect: true }),
    useIndirect: (base) => (queue, chain) => base(queue, chain) || queue === "inflateq",
  }),
  "clear-status-bit": (vb) => ({
    afterDriverOk: (base) => () => {
      base();
      vb.transport.writeStatus(vb.transport.status & ~STATUS.DRIVER);
    },
  }),
};
