import assert from "node:assert/strict";
import { conditionFeatures } from "./conditions.ts";
import { featuresOf } from "./features.ts";
import { DEFECTS } from "./defects.ts";
import type { Condition, FeatureName } from "./types.ts";
import { BITMAP_PAYLOAD, PFN_ARRAY } from "./payloads.ts";
import { hasRule, RULE_FAMILIES, RULES, rulesBrokenBy } from "./rules.ts";
import { STRUCTS } from "./structs.ts";

const LEVELS = new Set(["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY"]);
const ROLES = new Set(["driver", "device", "both"]);

Deno.test("rule ids are unique and well-formed", () => {
  const ids = RULES.map((r) => r.id);
  const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.deepEqual(dup, [], `duplicated rule ids: ${dup.join(", ")}`);
  for (const id of ids) assert.match(id, /^(R-\d\d[ab]?|B\d\d|G\d\d[a-d]?|S-\d\d)$/);
});

Deno.test("every rule has a source, a level, a role, profiles and a statement", () => {
  for (const r of RULES) {
    assert.ok(LEVELS.has(r.level), `${r.id} level ${r.level}`);
    assert.ok(ROLES.has(r.role), `${r.id} role ${r.role}`);
    assert.ok(r.profiles.length > 0, `${r.id} has no profile`);
    assert.ok(r.statement.length > 10, `${r.id} statement`);
    assert.ok(!r.statement.endsWith("."), `${r.id} statement ends with a period`);
    const s = r.source;
    if (s.kind === "seed") assert.ok(s.patch >= 0 && s.patch <= 7 && s.where.length > 0, r.id);
    else if (s.kind === "spec") {
      assert.match(s.section, /^\d+(\.\d+)*$/, r.id);
      assert.match(
        s.label,
        /^(Driver Requirements|Device Requirements|Legacy Interfaces?): /,
        r.id,
      );
    } else assert.ok(s.rationale.length > 0, r.id);
  }
});

Deno.test("the rule table holds every seed, balloon and general rule of the sources", () => {
  const base = new Set(RULES.map((r) => r.id.replace(/[a-d]$/, "")));
  for (let i = 1; i <= 24; i++) assert.ok(base.has(`R-${String(i).padStart(2, "0")}`), `R-${i}`);
  for (let i = 1; i <= 65; i++) assert.ok(base.has(`B${String(i).padStart(2, "0")}`), `B${i}`);
  for (let i = 1; i <= 64; i++) assert.ok(base.has(`G${String(i).padStart(2, "0")}`), `G${i}`);
});

/** Features a condition requires to be present (not under a negation). */
function positiveFeatures(c: Condition): FeatureName[] {
  if ("not" in c) return [];
  if ("all" in c) return c.all.flatMap(positiveFeatures);
  if ("any" in c) return c.any.flatMap(positiveFeatures);
  return conditionFeatures(c);
}

Deno.test("conditions only require features that the rule's profiles define", () => {
  // "not PAGE_BITMAP" is fine in virtio-1.x (never negotiated there); "PAGE_BITMAP" is not.
  for (const r of RULES) {
    for (const f of positiveFeatures(r.condition)) {
      for (const p of r.profiles) {
        assert.ok(
          featuresOf(p).some((x) => x.name === f),
          `${r.id} names ${f}, which profile ${p} does not define`,
        );
      }
    }
  }
});

Deno.test("every seed defect exists once and is linked to at least one rule", () => {
  const ids = DEFECTS.map((d) => d.id);
  assert.deepEqual(
    ids,
    Array.from({ length: 23 }, (_, i) => `D-${String(i + 1).padStart(2, "0")}`),
  );
  for (const d of DEFECTS) {
    assert.ok(rulesBrokenBy(d.id).length > 0, `${d.id} is not linked to any rule`);
  }
  for (const r of RULES) {
    for (const d of r.defects) assert.ok(ids.includes(d), `${r.id} links unknown defect ${d}`);
  }
});

Deno.test("rule ids cited by the struct and payload tables exist", () => {
  const cited: string[] = [...PFN_ARRAY.rules, ...BITMAP_PAYLOAD.rules];
  for (const s of Object.values(STRUCTS)) {
    cited.push(...s.rules);
    if (s.lengthRule !== undefined) cited.push(s.lengthRule);
    for (const f of s.fields) for (const c of f.checks) cited.push(c.rule);
  }
  for (const id of cited) assert.ok(hasRule(id), `unknown rule ${id}`);
});

const seedRules = new URL("../../shared/docs/SEED-RULES.md", import.meta.url);
let seedText: string | undefined;
try {
  seedText = Deno.readTextFileSync(seedRules);
} catch {
  seedText = undefined;
}

Deno.test({
  name: "the defect table matches SEED-RULES.md §5 (when the team docs are checked out beside)",
  ignore: seedText === undefined,
  fn() {
    const found = new Set([...(seedText ?? "").matchAll(/\*\*(D-\d\d) /g)].map((m) => m[1]));
    assert.deepEqual([...found].sort(), DEFECTS.map((d) => d.id));
  },
});

Deno.test("every rule id starts with the prefix of the family table that holds it", () => {
  const seen = new Set<string>();
  for (const f of RULE_FAMILIES) {
    for (const r of f.rules) {
      assert.ok(r.id.startsWith(f.prefix), `${r.id} is in the ${f.prefix} family`);
      assert.match(r.id.slice(f.prefix.length), /^[0-9]/, r.id);
      seen.add(r.id);
    }
  }
  assert.equal(seen.size, RULES.length, "every rule belongs to one family");
});
