/**
 * Passive checking's own pipeline: the suite's trace format (JSON lines, its
 * schema and parser, `format.ts`), the importer of QEMU trace logs
 * (`qemu_log.ts`, with `qemu_scan.ts` and `qemu_lines.ts`), the checks that
 * judge a trace rule by rule (`check.ts` and its families), the problems an
 * input can have and what they make unreliable (`problems.ts`), and files of
 * any size read line by line and checked as they stream (`lines.ts`,
 * `stream.ts`). What any implementation did, read from a log, not driven.
 *
 * May import: `model/`, spec/ and impl/.
 *
 * @module
 */

export * from "./format.ts";
export {
  checkTrace,
  type KnownFeatures,
  lastFeatures,
  type ScenarioCheck,
  TRACE_RULES,
  TraceChecker,
  type TraceRuleResult,
} from "./check.ts";
export {
  type ImportOptions,
  type ImportProblem,
  importQemuLog,
  importQemuTrace,
  type ImportResult,
  type ImportSummary,
  qemuHeader,
  QemuImportError,
} from "./qemu_log.ts";
export { type InputProblem, type ProblemScope, problemText } from "./problems.ts";
export {
  type LineInfo,
  type LineOptions,
  type LineSink,
  type LinesRead,
  readLines,
  textLines,
} from "./lines.ts";
export {
  checkQemuLog,
  checkTraceFile,
  type FileCheck,
  type QemuLogCheck,
  type QemuLogCheckOptions,
  readMaybeGzip,
  TraceWriter,
} from "./stream.ts";
