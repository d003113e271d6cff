import assert from "node:assert/strict";
import { DEFECTS, hasRule } from "../../spec/mod.ts";
import { AS_POSTED_V3, DEVICE_DEVIATIONS, DRIVER_DEVIATIONS } from "../../impl/mod.ts";
import { CASES } from "../cases/cases.ts";
import { DEVICE_CHECKS } from "../checks/device.ts";
import { DRIVER_CHECKS } from "../checks/driver.ts";
import { coverage, notCheckedOf } from "../cases/coverage.ts";
import { matchesPattern, MUTANTS, QUIRKS_NOT_MUTANTS } from "../targets/mutants/mutants.ts";
import { RING_MUTANTS } from "../targets/testee/ring_mutants.ts";
import { C_SWITCHES } from "../targets/testee/c_switches.ts";
import { runSuite } from "./suite.ts";
import {
  DEVICE_SCENARIOS,
  DRIVER_SCENARIOS,
  V1X_DEVICE_SCENARIOS,
  V1X_DRIVER_SCENARIOS,
} from "../scenarios/mod.ts";
import {
  REFERENCE_DEVICE,
  REFERENCE_DEVICE_V1X,
  REFERENCE_DRIVER,
  REFERENCE_DRIVER_V1X,
  V3_AS_POSTED,
} from "../targets/reference/reference.ts";

/** Cases no mutant can fail, with the reason (none today). */
const UNKILLABLE: Readonly<Record<string, string>> = {};

Deno.test("case ids are unique and every case names an existing rule, scenario and check", () => {
  const ids = CASES.map((k) => k.id);
  assert.equal(new Set(ids).size, ids.length, "duplicate case ids");
  const scenarios = new Set(
    [...DRIVER_SCENARIOS, ...DEVICE_SCENARIOS, ...V1X_DRIVER_SCENARIOS, ...V1X_DEVICE_SCENARIOS]
      .map((s) => s.id),
  );
  const byId = new Map(
    [...DRIVER_SCENARIOS, ...DEVICE_SCENARIOS, ...V1X_DRIVER_SCENARIOS, ...V1X_DEVICE_SCENARIOS]
      .map((s) => [s.id, s]),
  );
  for (const k of CASES) {
    assert.match(k.id, /^[a-z0-9+_.-]+$/, k.id);
    assert.ok(k.rules.length > 0, `${k.id} cites no rule`);
    for (const r of k.rules) assert.ok(hasRule(r), `${k.id} cites unknown rule ${r}`);
    assert.ok(scenarios.has(k.scenario), `${k.id} names unknown scenario ${k.scenario}`);
    assert.equal(byId.get(k.scenario)?.profile, k.profile, `${k.id}: its scenario's profile`);
    const checks = k.role === "driver" ? DRIVER_CHECKS : DEVICE_CHECKS;
    assert.ok(checks[k.check] !== undefined, `${k.id} names unknown check ${k.check}`);
  }
});

/** The cases of a mutant's profile that a kill pattern names. */
function declared(m: (typeof MUTANTS)[number], p: string) {
  return CASES.filter((k) => k.profile === m.target.profile && matchesPattern(k.id, p));
}

Deno.test("every mutant's kill patterns match existing cases of its profile", () => {
  for (const m of MUTANTS) {
    assert.ok(m.kills.length > 0, `${m.name} declares no case`);
    for (const p of m.kills) {
      assert.ok(
        declared(m, p).length > 0,
        `${m.name}: no case of ${m.target.profile} matches ${p}`,
      );
    }
  }
  for (const profile of ["v3", "virtio-1.x"] as const) {
    const n = MUTANTS.filter((m) => m.target.profile === profile).length;
    assert.ok(n >= 30, `only ${n} mutants of ${profile}`);
  }
  // and those of the mutants that run as processes
  for (const m of RING_MUTANTS) {
    for (const p of m.kills) {
      assert.ok(
        CASES.some((k) => k.profile === m.profile && matchesPattern(k.id, p)),
        `${m.name}: no case of ${m.profile} matches ${p}`,
      );
    }
  }
  for (const c of C_SWITCHES) {
    for (const id of c.kills) {
      assert.ok(
        CASES.some((k) => k.profile === "v3" && k.id === id),
        `-D${c.define}: no case ${id}`,
      );
    }
  }
});

/**
 * Cases failed by the mutants that run as processes — ring mutants of the
 * reference testee and the C device's switches — as they declare it:
 * `targets/testee/ring_mutants_test.ts` and `c_example_test.ts` run them and
 * check every declared verdict. (The cases judged from a device's own memory
 * writes are unsupported on every in-process target, mutants included.)
 */
const killedByProcesses = new Set(
  CASES.filter((k) =>
    RING_MUTANTS.some((m) =>
      m.profile === k.profile && m.kills.some((p) => matchesPattern(k.id, p))
    ) || (k.profile === "v3" && C_SWITCHES.some((c) => c.kills.includes(k.id)))
  ).map((k) => k.id),
);

const reference = runSuite({
  cases: CASES,
  targets: [REFERENCE_DRIVER, REFERENCE_DEVICE, REFERENCE_DRIVER_V1X, REFERENCE_DEVICE_V1X],
});

/**
 * Cases that rest on the device's own memory writes alone: unsupported on an
 * in-process device (its rings are the suite's code); the reference device
 * passes them through the testee protocol (`targets/testee/testee_test.ts`).
 */
const WRITES_ONLY = new Set(
  CASES.filter((k) =>
    (k.observes ?? []).length > 0 && k.observes?.every((o) => o === "device-writes")
  )
    .map((k) => k.id),
);

Deno.test("the reference drivers and devices of both profiles pass every case (those judged from a device's own writes: unsupported in-process)", () => {
  const bad = reference.results.filter((r) =>
    r.verdict !== "pass" &&
    !(r.verdict === "unsupported" && WRITES_ONLY.has(r.case) &&
      /cannot observe device-writes/.test(r.message ?? ""))
  );
  assert.deepEqual(
    bad.map((r) =>
      `${r.target} ${r.case}: ${r.verdict} ${
        r.message ?? r.findings.find((f) => !f.ok)?.message ?? ""
      }`
    ),
    [],
  );
  assert.equal(reference.results.length, CASES.length);
  assert.ok(WRITES_ONLY.size > 0);
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
      for (const k of declared(m, p)) {
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
  const killed = new Set([...[...failedBy.values()].flatMap((s) => [...s]), ...killedByProcesses]);
  const unkilled = CASES.filter((k) => !killed.has(k.id) && UNKILLABLE[k.id] === undefined).map((
    k,
  ) => k.id);
  assert.deepEqual(unkilled, [], "cases no mutant fails (a check that cannot fail proves nothing)");
});

for (const profile of ["v3", "virtio-1.x"] as const) {
  Deno.test(`every MUST / MUST NOT rule of profile ${profile} has a case or a stated reason`, () => {
    const cov = coverage(CASES, profile);
    assert.deepEqual(cov.unexplained.map((r) => r.id), []);
    // reasons must not go stale: a rule that gained a case leaves the list
    const coveredIds = new Set(cov.covered.map((c) => c.rule.id));
    assert.deepEqual(Object.keys(notCheckedOf(profile)).filter((id) => coveredIds.has(id)), []);
    // and every reason names a MUST / MUST NOT rule of the profile
    for (const id of Object.keys(notCheckedOf(profile))) {
      assert.ok(cov.explained.some((e) => e.rule.id === id), `${profile}: ${id} is not uncovered`);
    }
  });
}

Deno.test("every deviation is a mutant of some profile", () => {
  const used = new Set(MUTANTS.map((m) => m.name.replace(/^(v1x-)?(driver|device):/, "$2:")));
  for (const d of Object.keys(DRIVER_DEVIATIONS)) assert.ok(used.has(`driver:${d}`), d);
  for (const d of Object.keys(DEVICE_DEVIATIONS)) assert.ok(used.has(`device:${d}`), d);
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

Deno.test("a case unsupported by declaration reruns with the target's own name for --target (rerunAs)", () => {
  const mine = {
    ...REFERENCE_DEVICE,
    name: "my-device",
    rerunAs: "./my_targets.ts#myDevice",
    unsupported: ["PAGE_BITMAP" as const],
  };
  const cases = CASES.filter((k) =>
    k.id === "device.bitmap.inflate-run" || k.id === "device.pfn.inflate"
  );
  const run = runSuite({ cases, targets: [mine] });
  const bitmap = run.results.find((r) => r.case === "device.bitmap.inflate-run");
  const pfn = run.results.find((r) => r.case === "device.pfn.inflate");
  assert.equal(bitmap?.verdict, "unsupported");
  assert.equal(
    bitmap?.rerun,
    "deno task conform --target ./my_targets.ts#myDevice --filter 'device.bitmap.inflate-run'",
  );
  assert.match(pfn?.rerun ?? "", /--target \.\/my_targets\.ts#myDevice /);
});
