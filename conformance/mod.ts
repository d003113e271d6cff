/**
 * The conformance suite: cases as data (generated from the spec tables and
 * written for the ordering rules), scenarios that drive a driver or a device
 * through the suite's transport and guest model, checks that turn a trace
 * into findings citing rule ids, verdicts with evidence, mutants that prove
 * every case can fail, and rule coverage.
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

export * from "./types.ts";
export * from "./cases.ts";
export * from "./scenarios.ts";
export * from "./targets.ts";
export * from "./mutants.ts";
export * from "./run.ts";
export * from "./coverage.ts";
export * from "./hexdump.ts";
export * from "./trace.ts";
export { type DriverRun, runDriverScenario, type WatchHit } from "./driver_runner.ts";
export { type DeviceRun, runDeviceScenario, type SendResult } from "./device_runner.ts";
export { DRIVER_CHECKS, type DriverCheck } from "./checks_driver.ts";
export { DEVICE_CHECKS, type DeviceCheck } from "./checks_device.ts";
export { specSummary } from "./summary.ts";
export * from "./report_model.ts";
export * from "./report_expect.ts";
export * from "./report_terminal.ts";
export * from "./report_json.ts";
export * from "./report_junit.ts";
export * from "./report_markdown.ts";
export * from "./export.ts";
export * from "./register.ts";
export * from "./trace_format.ts";
export { checkTrace, TRACE_RULES, type TraceRuleResult } from "./trace_check.ts";
export {
  passiveJson,
  passiveMarkdown,
  type PassiveOutcome,
  passiveOutcome,
  type PassiveRun,
  type PassiveSection,
  passiveTerminal,
  type PassiveTerminalOptions,
  type ScenarioCheck,
} from "./trace_report.ts";
export {
  type ImportOptions,
  type ImportProblem,
  importQemuTrace,
  type ImportResult,
} from "./qemu/import.ts";
