/**
 * The conformance suite: cases as data (generated from the spec tables and
 * written for the ordering rules), scenarios that drive a driver or a device
 * through the suite's transport and guest model, checks that turn a trace
 * into findings citing rule ids, verdicts with evidence, mutants that prove
 * every case can fail, and rule coverage.
 *
 * The code sits in rooms, in pipeline order; a room imports only the rooms
 * before it (a test keeps it so), and each room's `mod.ts` says what it holds:
 *
 * - `model/`: what a case, scenario, target, finding and verdict are; evidence
 * - `trace/`: the trace format, the QEMU log importer, the passive checks
 * - `scenarios/`: the scripted interactions, as data
 * - `targets/`: what a run tests, one folder per kind (reference, mutants, qemu-linux, qemu-device,
 *   testee)
 * - `runners/`: one scenario on one target, everything recorded
 * - `checks/`: a run turned into findings citing rule ids
 * - `cases/`: the case table (scenario + check + rules) and rule coverage
 * - `run/`: the suite run — verdicts, expected-failure lists, `registerConformance`, parallel runs
 * - `adversarial/`: generated driver sequences against a device, judged by the checks, shrunk
 * - `report/`: terminal, JSON, JUnit, Markdown and passive reports; the cases as data
 * - `cli/`: `deno task conform`
 *
 * @example
 * ```ts
 * import { CASES, REFERENCE_DRIVER, runSuite } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const cases = CASES.filter((k) => k.id.startsWith("inflate.pfn."));
 * const run = runSuite({ cases, targets: [REFERENCE_DRIVER] });
 * assert.ok(run.results.every((r) => r.verdict === "pass"));
 * ```
 *
 * @module
 */

export * from "./model/mod.ts";
export * from "./trace/mod.ts";
export * from "./scenarios/mod.ts";
export * from "./targets/mod.ts";
export * from "./runners/mod.ts";
export * from "./checks/mod.ts";
export * from "./cases/mod.ts";
export * from "./run/mod.ts";
export * from "./report/mod.ts";
