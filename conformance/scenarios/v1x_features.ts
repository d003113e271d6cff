/**
 * The feature lists the standard profile's scenarios are built from: what
 * the reference implementations support, the balloon bits whose subsets the
 * negotiation scenarios enumerate, the poison values guests use.
 *
 * @module
 */

import {
  type FeatureName,
  LINUX_PAGE_POISON,
  queueFeatureCombinations,
  queueLayout,
} from "../../spec/mod.ts";
import { without } from "./features.ts";

/** Every virtio-1.x feature the reference implementations support. */
export const V1X_ALL: readonly FeatureName[] = [
  "MUST_TELL_HOST",
  "STATS_VQ",
  "DEFLATE_ON_OOM",
  "FREE_PAGE_HINT",
  "PAGE_POISON",
  "PAGE_REPORTING",
  "VERSION_1",
  "EVENT_IDX",
  "INDIRECT_DESC",
  "ANY_LAYOUT",
];

/** The virtio-1.x balloon bits whose subsets the negotiation cases enumerate. */
export const V1X_BALLOON_BITS: readonly FeatureName[] = [
  "MUST_TELL_HOST",
  "STATS_VQ",
  "DEFLATE_ON_OOM",
  "FREE_PAGE_HINT",
  "PAGE_POISON",
  "PAGE_REPORTING",
];

/** The transport features every virtio-1.x negotiation scenario adds. */
export const V1X_TRANSPORT: readonly FeatureName[] = [
  "VERSION_1",
  "EVENT_IDX",
  "INDIRECT_DESC",
  "ANY_LAYOUT",
];

/** The poison_val of a Linux guest booted with `page_poison=1`: PAGE_POISON four times. */
export const LINUX_POISON_VAL: number = (LINUX_PAGE_POISON * 0x0101_0101) >>> 0;

/** Short name of a subset of the virtio-1.x balloon bits, e.g. `stats+hint+report` or `none`. */
export function v1xComboName(features: readonly FeatureName[]): string {
  const short: Record<string, string> = {
    MUST_TELL_HOST: "mth",
    STATS_VQ: "stats",
    DEFLATE_ON_OOM: "doom",
    FREE_PAGE_HINT: "hint",
    PAGE_POISON: "poison",
    PAGE_REPORTING: "report",
  };
  const parts = V1X_BALLOON_BITS.filter((f) => features.includes(f)).map((f) => short[f]);
  return parts.length === 0 ? "none" : parts.join("+");
}

/** Every subset of the virtio-1.x balloon bits. */
export function v1xSubsets(): FeatureName[][] {
  const out: FeatureName[][] = [];
  for (let m = 0; m < 1 << V1X_BALLOON_BITS.length; m++) {
    out.push(V1X_BALLOON_BITS.filter((_, i) => (m >> i) & 1));
  }
  return out;
}

/** Every subset of the features that add a queue (STATS_VQ, FREE_PAGE_HINT, PAGE_REPORTING). */
export function v1xQueueSubsets(): FeatureName[][] {
  return queueFeatureCombinations("virtio-1.x");
}

/** Whether the spec text's fixed numbering and the dense one place some queue of a set differently. */
export function numberingDiffers(features: readonly FeatureName[]): boolean {
  const set = new Set(features);
  const dense = queueLayout("virtio-1.x", set);
  const fixed = queueLayout("virtio-1.x", set, "fixed");
  return dense.some((q, i) => fixed[i]?.index !== q.index);
}

/** Every virtio-1.x feature of the reference implementations but some. */
export function v1xWithout(...drop: FeatureName[]): FeatureName[] {
  return without(V1X_ALL, ...drop);
}
