/**
 * The rule table: seed rules R-nn, balloon spec rules Bnn, general virtio
 * rules Gnn and suite robustness rules S-nn, with lookups.
 *
 * @module
 */

import { type ConditionContext, evaluateCondition, type Truth } from "./conditions.ts";
import type { Rule } from "./rule_types.ts";
import { SEED_RULES, SUITE_RULES } from "./rules_seed.ts";
import { BALLOON_SPEC_RULES, GENERAL_RULES } from "./rules_standard.ts";
import type { DefectId, ProfileId } from "./types.ts";

export type { Rule, RuleSource } from "./rule_types.ts";
export { BALLOON_SPEC_RULES, GENERAL_RULES, SEED_RULES, SUITE_RULES };

/** Every rule, in the order the spec doc prints them. */
export const RULES: readonly Rule[] = [
  ...SEED_RULES,
  ...BALLOON_SPEC_RULES,
  ...GENERAL_RULES,
  ...SUITE_RULES,
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

/**
 * A rule by id.
 *
 * @example
 * ```ts
 * import { rule } from "./rules.ts";
 * import assert from "node:assert/strict";
 * assert.equal(rule("B14").level, "MUST NOT");
 * ```
 */
export function rule(id: string): Rule {
  const r = BY_ID.get(id);
  if (r === undefined) throw new RangeError(`No rule with id ${id}`);
  return r;
}

/** Whether a rule id exists. */
export function hasRule(id: string): boolean {
  return BY_ID.has(id);
}

/** The rules of one profile. */
export function rulesOf(profile: ProfileId): Rule[] {
  return RULES.filter((r) => r.profiles.includes(profile));
}

/** The rules that a defect breaks. */
export function rulesBrokenBy(id: DefectId): Rule[] {
  return RULES.filter((r) => r.defects.includes(id));
}

/** Whether a rule applies in a context (three-valued: situations may be unknown). */
export function ruleApplies(r: Rule, ctx: ConditionContext): Truth {
  return evaluateCondition(r.condition, ctx);
}

/** Human-readable source of a rule. */
export function describeSource(r: Rule): string {
  const s = r.source;
  if (s.kind === "seed") return `seed patch ${s.patch}/7, ${s.where}`;
  if (s.kind === "spec") return `virtio §${s.section} ${s.label}`;
  return `suite: ${s.rationale}`;
}

/** A family of rule ids: the prefix, where its rules come from, how many there are. */
export interface RuleFamily {
  /** Id prefix: `R-`, `B`, `G` or `S-`. */
  readonly prefix: string;
  /** Where the rules come from, in words. */
  readonly source: string;
  /** The same, in a few words (for legends). */
  readonly short: string;
  /** The rule table holding them. */
  readonly rules: readonly Rule[];
}

/**
 * The four families of rule ids, for legends in reports.
 *
 * @example
 * ```ts
 * import { RULE_FAMILIES } from "./rules.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(RULE_FAMILIES.map((f) => f.prefix), ["R-", "B", "G", "S-"]);
 * ```
 */
export const RULE_FAMILIES: readonly RuleFamily[] = [
  {
    prefix: "R-",
    source: "the seed: the 2016 patch series (v3), by patch and function",
    short: "the 2016 seed patches (v3)",
    rules: SEED_RULES,
  },
  {
    prefix: "B",
    source: "the balloon device section of the virtio spec (§5.5), normative statements",
    short: "virtio §5.5, the balloon device",
    rules: BALLOON_SPEC_RULES,
  },
  {
    prefix: "G",
    source: "the general virtio rules (§2 basic facilities, §3 initialisation, §6 reserved bits)",
    short: "virtio §2, §3, §6, general",
    rules: GENERAL_RULES,
  },
  {
    prefix: "S-",
    source: "the suite's own robustness rules, where the sources are silent",
    short: "this suite's robustness rules",
    rules: SUITE_RULES,
  },
];

/**
 * The anchor of a rule or defect id in `docs/SPEC.md` (the generated spec
 * document), for links from reports.
 *
 * @example
 * ```ts
 * import { specAnchor } from "./rules.ts";
 * import assert from "node:assert/strict";
 * assert.equal(specAnchor("R-12a"), "rule-r-12a");
 * assert.equal(specAnchor("D-01"), "defect-d-01");
 * ```
 */
export function specAnchor(id: string): string {
  return `${/^D-\d/.test(id) ? "defect" : "rule"}-${id.toLowerCase()}`;
}
