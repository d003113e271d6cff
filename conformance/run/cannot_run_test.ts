/**
 * A device target that cannot run a scenario as asked (its `open()` throws
 * `UnsupportedScenarioError`) makes that scenario's cases `unsupported` with
 * the reason, never `error`, pass or fail; other scenarios still run.
 */

import assert from "node:assert/strict";
import { CASES } from "../cases/cases.ts";
import { UnsupportedScenarioError } from "../model/ports.ts";
import type { DeviceTarget } from "../model/types.ts";
import { runSuite } from "./suite.ts";

Deno.test("runSuite() makes the cases of a scenario a target cannot run unsupported, with its reason", () => {
  const target: DeviceTarget = {
    kind: "device",
    name: "cannot-run",
    description: "a device target that runs no scenario",
    profile: "v3",
    open: () => {
      throw new UnsupportedScenarioError("the machine has no big-endian guest");
    },
  };
  const cases = CASES.filter((k) => k.scenario === "dev.legacy-be");
  assert.ok(cases.length > 0);
  const results = runSuite({ cases, targets: [target] }).results;
  assert.deepEqual(results.map((r) => r.verdict), cases.map(() => "unsupported"));
  for (const r of results) {
    assert.equal(
      r.message,
      "the target cannot run the scenario: the machine has no big-endian guest",
    );
  }
});

Deno.test("runSuite() still reports any other error of open() as an error verdict", () => {
  const target: DeviceTarget = {
    kind: "device",
    name: "broken",
    description: "a device target whose open() fails",
    profile: "v3",
    open: () => {
      throw new RangeError("Invalid thing: 3, expected 4");
    },
  };
  const cases = CASES.filter((k) => k.scenario === "dev.legacy-be");
  const results = runSuite({ cases, targets: [target] }).results;
  assert.deepEqual(results.map((r) => r.verdict), cases.map(() => "error"));
  assert.equal(results[0]?.message, "RangeError: Invalid thing: 3, expected 4");
});

Deno.test("runSuite() does not run a scenario whose every case needs a feature the target declares unsupported", () => {
  let opened = 0;
  const target: DeviceTarget = {
    kind: "device",
    name: "pfn-only",
    description: "a device target without PAGE_BITMAP and MISC_VQ",
    profile: "v3",
    unsupported: ["PAGE_BITMAP", "MISC_VQ"],
    open: () => {
      opened++;
      throw new UnsupportedScenarioError("opened");
    },
  };
  const cases = CASES.filter((k) => k.scenario === "dev.bitmap.malformed");
  assert.ok(cases.length > 0);
  const results = runSuite({ cases, targets: [target] }).results;
  assert.equal(opened, 0, "the scenario was run");
  assert.deepEqual(results.map((r) => r.verdict), cases.map(() => "unsupported"));
  assert.equal(
    results[0]?.message,
    "the target declares PAGE_BITMAP unsupported, and the case needs it",
  );
  // a scenario with one case the target can be judged on still runs
  runSuite({ cases: CASES.filter((k) => k.scenario === "dev.bitmap"), targets: [target] });
  assert.equal(opened, 1);
});
