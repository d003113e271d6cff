/**
 * The feature lists scenarios are built from: what the reference
 * implementations support, the balloon bits whose subsets the negotiation
 * scenarios enumerate, and guest sizes.
 *
 * @module
 */

import { type FeatureName, featuresOf } from "../../spec/mod.ts";
import { referenceFeatures } from "../../impl/mod.ts";

/** Every v3 feature the reference implementations support (impl's one list). */
export const V3_ALL: readonly FeatureName[] = referenceFeatures("v3");

const KIND = new Map(featuresOf("v3").map((f) => [f.name, f.kind]));

/** The v3 balloon bits whose subsets the negotiation cases enumerate (those the reference supports). */
export const V3_BALLOON_BITS: readonly FeatureName[] = V3_ALL.filter((f) =>
  KIND.get(f) === "balloon"
);

/** The transport features every negotiation scenario adds (those the reference supports). */
export const TRANSPORT: readonly FeatureName[] = V3_ALL.filter((f) => KIND.get(f) === "transport");

/** A feature list without some features. */
export function without(list: readonly FeatureName[], ...drop: FeatureName[]): FeatureName[] {
  return list.filter((f) => !drop.includes(f));
}

/** Every v3 feature but PAGE_BITMAP: the PFN-array scenarios. */
export const PFN: readonly FeatureName[] = without(V3_ALL, "PAGE_BITMAP");
/** A 64 MiB guest, in 4 KiB pages. */
export const SMALL = 16_384;
/** One GiB, in 4 KiB pages. */
export const GIB = 262_144;

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
