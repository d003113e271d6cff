/**
 * The conformance suite: targets, cases, verdicts, mutants and reports.
 *
 * Not built yet (issue #4). {@link specSummary} is what `deno task conform`
 * prints until then.
 *
 * @module
 */

export { specSummary } from "./summary.ts";
