/**
 * Passive checking's own pipeline: the suite's trace format (JSON lines, its
 * schema and parser, `format.ts`), the importer of QEMU trace logs
 * (`qemu_log.ts`), and the checks that judge a trace rule by rule
 * (`check.ts`). What any implementation did, read from a log, not driven.
 *
 * May import: `model/`, spec/ and impl/.
 *
 * @module
 */

export * from "./format.ts";
export { checkTrace, type ScenarioCheck, TRACE_RULES, type TraceRuleResult } from "./check.ts";
export {
  type ImportOptions,
  type ImportProblem,
  importQemuTrace,
  type ImportResult,
} from "./qemu_log.ts";
