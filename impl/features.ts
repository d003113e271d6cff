/**
 * The features the reference implementations support, per profile: one list
 * the driver accepts from, the device offers, and the suite's scenarios
 * offer or accept. The transport bits are the same for both profiles; a
 * profile's own balloon bits follow from the spec's feature table.
 *
 * @module
 */

import { type FeatureName, featuresOf, type ProfileId } from "../spec/mod.ts";

/** Transport features the reference driver and device implement. */
const TRANSPORT: readonly FeatureName[] = ["VERSION_1", "EVENT_IDX", "INDIRECT_DESC", "ANY_LAYOUT"];

/** Balloon features the reference driver and device implement, per profile. */
const BALLOON: Readonly<Record<ProfileId, readonly FeatureName[]>> = {
  "v3": ["MUST_TELL_HOST", "STATS_VQ", "DEFLATE_ON_OOM", "PAGE_BITMAP", "MISC_VQ"],
  "virtio-1.x": [
    "MUST_TELL_HOST",
    "STATS_VQ",
    "DEFLATE_ON_OOM",
    "FREE_PAGE_HINT",
    "PAGE_POISON",
    "PAGE_REPORTING",
  ],
};

/**
 * Every feature the reference implementations of a profile support, balloon
 * bits first, in the order of the spec's feature table.
 *
 * @example
 * ```ts
 * import { referenceFeatures } from "./features.ts";
 * import assert from "node:assert/strict";
 * assert.ok(referenceFeatures("v3").includes("PAGE_BITMAP"));
 * assert.ok(!referenceFeatures("virtio-1.x").includes("PAGE_BITMAP"));
 * ```
 */
export function referenceFeatures(profile: ProfileId): readonly FeatureName[] {
  const known = new Set(featuresOf(profile).map((f) => f.name));
  return [...BALLOON[profile], ...TRANSPORT].filter((f) => known.has(f));
}
