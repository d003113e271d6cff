/**
 * runSuiteInWorkers(): child processes give the same results as runSuite on
 * one thread (evidence bytes included), in the same order; a recipe that
 * cannot be rebuilt makes its job's cases errors with the reason; bad
 * options are refused.
 */

import assert from "node:assert/strict";
import { CASES } from "../cases/cases.ts";
import type { CaseResult } from "../model/types.ts";
import { referenceDeviceTarget } from "../targets/reference/reference.ts";
import { runSuiteInWorkers, type WorkerTarget } from "./parallel.ts";
import { runSuite } from "./suite.ts";

const REFERENCE = new URL("../targets/reference/reference.ts", import.meta.url).href;

function reference(name: string, deviations: string[]): WorkerTarget {
  const args = [
    name,
    `the reference device with ${deviations.join(", ") || "nothing"}`,
    deviations,
  ];
  return {
    target: referenceDeviceTarget(args[0] as string, args[1] as string, deviations as never),
    recipe: { module: REFERENCE, factory: "referenceDeviceTarget", args },
  };
}

function timeless(results: readonly CaseResult[]): unknown[] {
  return results.map(({ ms: _, ...r }) => r);
}

const CHOSEN = CASES.filter((k) =>
  ["dev.pfn", "dev.pfn.malformed", "dev.stats", "dev.neg.none"].includes(k.scenario)
);

Deno.test("runSuiteInWorkers() gives runSuite's results, in runSuite's order, evidence bytes included", async () => {
  const targets = [reference("device:partial-apply", ["partial-apply"]), reference("plain", [])];
  const here = runSuite({ cases: CHOSEN, targets: targets.map((t) => t.target) });
  const there = await runSuiteInWorkers({ cases: CHOSEN, targets, concurrency: 2 });
  assert.deepEqual(timeless(there.results), timeless(here.results));
  const bytes = there.results.flatMap((r) => r.findings).find((f) => f.evidence !== undefined);
  assert.ok(bytes?.evidence?.bytes instanceof Uint8Array, "evidence bytes came back as bytes");
  assert.deepEqual(there.targets.map((t) => t.name), ["device:partial-apply", "plain"]);
});

Deno.test("runSuiteInWorkers() reports a target its child cannot rebuild as errors of that job's cases", async () => {
  const broken: WorkerTarget = {
    target: referenceDeviceTarget("broken", "a recipe naming no function"),
    recipe: { module: REFERENCE, factory: "noSuchFactory", args: [] },
  };
  const cases = CASES.filter((k) => k.scenario === "dev.neg.none");
  const run = await runSuiteInWorkers({ cases, targets: [broken], concurrency: 1 });
  assert.deepEqual(run.results.map((r) => r.verdict), cases.map(() => "error"));
  assert.match(run.results[0]?.message ?? "", /exports no function noSuchFactory/);
  assert.match(run.results[0]?.rerun ?? "", /--target broken --filter/);
});

Deno.test("runSuiteInWorkers() refuses a concurrency that is not a positive integer", async () => {
  await assert.rejects(
    () => runSuiteInWorkers({ cases: CHOSEN, targets: [], concurrency: 0 }),
    /Invalid concurrency: 0, expected a positive integer/,
  );
});
