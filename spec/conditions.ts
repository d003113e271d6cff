/**
 * Evaluating and describing machine-readable rule conditions.
 *
 * @module
 */

import type { Condition, FeatureName, SituationId } from "./types.ts";

/** What a condition is evaluated against. */
export interface ConditionContext {
  /** Features negotiated (accepted by the driver, FEATURES_OK set). */
  readonly negotiated: ReadonlySet<FeatureName>;
  /** Features offered by the device; unknown when absent. */
  readonly offered?: ReadonlySet<FeatureName>;
  /** Situations known to hold; a situation not listed is unknown unless `situationsKnown`. */
  readonly situations?: ReadonlySet<SituationId>;
  /** Treat unlisted situations as false instead of unknown. */
  readonly situationsKnown?: boolean;
}

/** Three-valued result: a situation the context does not decide gives `"unknown"`. */
export type Truth = boolean | "unknown";

function and(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  if (a === "unknown" || b === "unknown") return "unknown";
  return true;
}

function or(a: Truth, b: Truth): Truth {
  if (a === true || b === true) return true;
  if (a === "unknown" || b === "unknown") return "unknown";
  return false;
}

/**
 * Evaluates a condition.
 *
 * @example
 * ```ts
 * import { evaluateCondition } from "./conditions.ts";
 * import assert from "node:assert/strict";
 * const ctx = { negotiated: new Set(["MUST_TELL_HOST", "VERSION_1"] as const) };
 * assert.equal(evaluateCondition({ feature: "MUST_TELL_HOST" }, ctx), true);
 * assert.equal(evaluateCondition({ legacy: true }, ctx), false);
 * assert.equal(evaluateCondition({ situation: "target-below-actual" }, ctx), "unknown");
 * ```
 */
export function evaluateCondition(c: Condition, ctx: ConditionContext): Truth {
  if ("always" in c) return true;
  if ("feature" in c) return ctx.negotiated.has(c.feature);
  if ("offered" in c) return ctx.offered === undefined ? "unknown" : ctx.offered.has(c.offered);
  if ("legacy" in c) return !ctx.negotiated.has("VERSION_1");
  if ("situation" in c) {
    if (ctx.situations?.has(c.situation)) return true;
    return ctx.situationsKnown ? false : "unknown";
  }
  if ("not" in c) {
    const v = evaluateCondition(c.not, ctx);
    return v === "unknown" ? v : !v;
  }
  if ("all" in c) return c.all.reduce<Truth>((acc, x) => and(acc, evaluateCondition(x, ctx)), true);
  return c.any.reduce<Truth>((acc, x) => or(acc, evaluateCondition(x, ctx)), false);
}

/** Situation descriptions, for docs and reports. */
export const SITUATIONS: Readonly<Record<SituationId, string>> = {
  "target-at-or-below-actual": "num_pages <= actual",
  "target-below-actual": "num_pages < actual",
  "driver-expects-initialized-pages": "the driver expects free pages to keep their contents",
  "after-failed": "the driver has set FAILED",
  "device-needs-reset": "the device has set DEVICE_NEEDS_RESET (or must)",
  "target-above-actual": "num_pages > actual",
  "target-at-or-above-actual": "num_pages >= actual",
  "driver-will-not-poison-deflated-pages":
    "the driver will not write poison_val into pages right after deflating them",
  "understood-feature-not-offered": "the device does not offer a feature the driver understands",
  "unacceptable-feature-subset": "the driver wrote a feature subset the device does not accept",
  "renegotiation-after-reset":
    "renegotiating, after a reset, a feature set the device accepted before",
  "irrecoverable-init-error": "an initialization step failed irrecoverably",
};

function term(c: Condition): string {
  if ("always" in c) return "always";
  if ("feature" in c) return `${c.feature} is negotiated`;
  if ("offered" in c) return `${c.offered} is offered`;
  if ("legacy" in c) return "the legacy interface is used (VERSION_1 not negotiated)";
  if ("situation" in c) return SITUATIONS[c.situation];
  if ("not" in c) {
    const inner = c.not;
    if ("feature" in inner) return `${inner.feature} is not negotiated`;
    if ("offered" in inner) return `${inner.offered} is not offered`;
    if ("legacy" in inner) return "VERSION_1 is negotiated";
    return `not (${term(inner)})`;
  }
  if ("all" in c) return c.all.map(term).join(" and ");
  return c.any.map((x) => ("all" in x ? `(${term(x)})` : term(x))).join(" or ");
}

/**
 * A condition in words.
 *
 * @example
 * ```ts
 * import { describeCondition } from "./conditions.ts";
 * import assert from "node:assert/strict";
 * assert.equal(describeCondition({ feature: "MUST_TELL_HOST" }), "only when MUST_TELL_HOST is negotiated");
 * assert.equal(describeCondition({ always: true }), "always");
 * ```
 */
export function describeCondition(c: Condition): string {
  return "always" in c ? "always" : `only when ${term(c)}`;
}

/** Every feature name a condition mentions (negotiated or offered). */
export function conditionFeatures(c: Condition): FeatureName[] {
  if ("feature" in c) return [c.feature];
  if ("offered" in c) return [c.offered];
  if ("not" in c) return conditionFeatures(c.not);
  if ("all" in c) return c.all.flatMap(conditionFeatures);
  if ("any" in c) return c.any.flatMap(conditionFeatures);
  return [];
}
