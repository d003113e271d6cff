/**
 * Seed quirks in feature negotiation: D-10 (fallbacks decided after
 * FEATURES_OK, queue count taken before them) and D-11 (PAGE_BITMAP dropped
 * without STATS_VQ).
 *
 * @module
 */

import { featureNames, seedAsPostedQueueCount } from "../../spec/mod.ts";
import { type DriverSeamOverride, honourDependencies } from "../driver/seams.ts";
import type { QuirkId } from "../quirks.ts";

/** Overrides of the negotiation quirks. */
export const NEGOTIATION_QUIRKS: Readonly<Partial<Record<QuirkId, DriverSeamOverride>>> = {
  // virtballoon_validate() clears the features only after FEATURES_OK
  "D-10": (vb) => ({
    driverFeatures: () => (wanted) => wanted,
    featuresInUse: () => (negotiated) => honourDependencies(vb, negotiated),
    queueCount: (base) => (layoutLength) =>
      vb.profile === "v3"
        ? seedAsPostedQueueCount(new Set(featureNames(vb.profile, vb.negotiated)))
        : base(layoutLength),
  }),
  "D-11": () => ({
    featureDependencies: (base) => () => [
      ...base(),
      { feature: "PAGE_BITMAP", requires: "STATS_VQ" },
    ],
  }),
};
