import assert from "node:assert/strict";
import { DEFECTS, hasRule } from "../../spec/mod.ts";
import { AS_POSTED_V3 } from "../../impl/mod.ts";
import { CASES } from "../cases/cases.ts";
import { DEVICE_CHECKS } from "../checks/device.ts";
import { DRIVER_CHECKS } from "../checks/driver.ts";
import { coverage, NOT_CHECKED } from "../cases/coverage.ts";
import { matchesPattern, MUTANTS, QUIRKS_NOT_MUTANTS } from "../targets/mutants/mutants.ts";
import { runSuite } from "./suite.ts";
import { DEVICE_SCENARIOS, DRIVER_SCENARIOS } from "../scenarios/mod.ts";
import {
  REFERENCE_DEVICE,
  REFERENCE_DRIVER,
  V3_AS_POSTED,
} from "../targets/reference/reference.ts";

/** Cases no mutant can fail, with the reason (none today). */
const UNKILLABLE: Readonly<Record<string, string>> = {};

Deno.test("case ids are unique and every case names an existing rule, scenario and check", () => {
  const ids = CASES.map((k) => k.id);
  assert.equal(new Set(ids).size, ids.length, "duplicate case ids");
  const scenarios = new Set([...DRIVER_SCENARIOS, ...DEVICE_SCENARIOS].map((s) => s.id));
  for (const k of CASES) {
    assert.match(k.id, /^[a-z0-9+_.-]+$/, k.id);
    assert.ok(k.rules.length > 0, `${k.id} cites no rule`);
    for (const r of k.rules) assert.ok(hasRule(r), `${k.id} cites unknown rule ${r}`);
    assert.ok(scenarios.has(k.scenario), `${k.id} names unknown scenario ${k.scenario}`);
    const checks = k.role === "driver" ? DRIVER_CHECKS : DEVICE_CHECKS;
    assert.ok(checks[k.check] !== undefined, `${k.id} names unknown check ${k.check}`);
  }
});

Deno.test("every mutant's kill patterns match existing cases", () => {
  for (const m of MUTANTS) {
    assert.ok(m.kills.length > 0, `${m.name} declares no case`);
    for (const p of m.kills) {
      assert.ok(CASES.some((k) => matchesPattern(k.id, p)), `${m.name}: no case matches ${p}`);
    }
  }
  assert.ok(MUTANTS.length >= 30, `only ${MUTANTS.length} mutants`);
});

const reference = runSuite({ cases: CASES, targets: [REFERENCE_DRIVER, REFERENCE_DEVICE] });

Deno.test("the reference driver and device pass every case", () => {
  const bad = reference.results.filter((r) => r.verdict !== "pass");
  assert.deepEqual(
    bad.map((r) =>
      `${r.target} ${r.case}: ${r.verdict} ${
        r.message ?? r.findings.find((f) => !f.ok)?.message ?? ""
      }`
    ),
    [],
  );
  assert.equal(reference.results.length, CASES.length);
});

const mutantRun = runSuite({ cases: CASES, targets: MUTANTS.map((m) => m.target) });
const failedBy = new Map<string, Set<string>>();
for (const r of mutantRun.results) {
  if (r.verdict === "fail" || r.verdict === "warn") {
    const s = failedBy.get(r.target) ?? new Set<string>();
    s.add(r.case);
    failedBy.set(r.target, s);
  }
}

Deno.test("no mutant run ends in an error verdict (the harness copes with every mutant)", () => {
  const errors = mutantRun.results.filter((r) => r.verdict === "error");
  assert.deepEqual(errors.map((r) => `${r.target} ${r.case}: ${r.message}`), []);
});

for (const m of MUTANTS) {
  Deno.test(`mutant ${m.name} fails each case it declares`, () => {
    const got = failedBy.get(m.name) ?? new Set<string>();
    for (const p of m.kills) {
      for (const k of CASES.filter((x) => matchesPattern(x.id, p))) {
        assert.ok(
          got.has(k.id),
          `${m.name} should fail ${k.id} but it ${
            mutantRun.results.find((r) => r.target === m.name && r.case === k.id)?.verdict
          }`,
        );
      }
    }
  });
}

Deno.test("every case is failed by at least one mutant, or says why it cannot be", () => {
  const killed = new Set([...failedBy.values()].flatMap((s) => [...s]));
  const unkilled = CASES.filter((k) => !killed.has(k.id) && UNKILLABLE[k.id] === undefined).map((
    k,
  ) => k.id);
  assert.deepEqual(unkilled, [], "cases no mutant fails (a check that cannot fail proves nothing)");
});

Deno.test("every MUST / MUST NOT rule of profile v3 has a case or a stated reason", () => {
  const cov = coverage(CASES, "v3");
  assert.deepEqual(cov.unexplained.map((r) => r.id), []);
  // reasons must not go stale: a rule that gained a case leaves the list
  const coveredIds = new Set(cov.covered.map((c) => c.rule.id));
  assert.deepEqual(Object.keys(NOT_CHECKED).filter((id) => coveredIds.has(id)), []);
});

Deno.test("the seed as posted fails, and each of its device-visible quirks shows up as a named defect", () => {
  const run = runSuite({ cases: CASES, targets: [V3_AS_POSTED] });
  const failing = run.results.filter((r) => r.verdict === "fail");
  assert.ok(failing.length > 0);
  // each quirk mutant fails at least one case, and every failing case of v3-as-posted names defects
  for (const q of AS_POSTED_V3) {
    if (QUIRKS_NOT_MUTANTS[q] !== undefined) continue;
    assert.ok((failedBy.get(`quirk:${q}`)?.size ?? 0) > 0, `quirk ${q} is invisible to the suite`);
  }
  const named = new Set(failing.flatMap((r) => r.defects ?? []));
  for (const q of AS_POSTED_V3) {
    if (QUIRKS_NOT_MUTANTS[q] !== undefined) continue;
    assert.ok(DEFECTS.some((d) => d.id === q));
    if (["D-07", "D-08", "D-14"].includes(q)) continue; // need a different guest ABI than the as-posted target's
    assert.ok(named.has(q), `v3-as-posted failures never name ${q}`);
  }
});
