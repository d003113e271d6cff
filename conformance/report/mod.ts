/**
 * Reports: one model of a run (`model.ts`) rendered for people (terminal,
 * Markdown, a self-contained HTML page) and machines (JSON, JUnit XML);
 * passive-run reports (`passive.ts`, `passive_html.ts`); the cases exported as
 * data (`cases_export.ts`); a summary of the spec tables (`spec_summary.ts`).
 * `html_browser.ts` drives headless Chromium for the HTML report's browser
 * test and is not exported.
 *
 * May import: the rooms above it (`model/` … `run/`); spec/ and impl/.
 *
 * @module
 */

export { specSummary } from "./spec_summary.ts";
export * from "./model.ts";
export * from "./terminal.ts";
export * from "./json.ts";
export * from "./junit.ts";
export * from "./markdown.ts";
export {
  CELL_CODES,
  type HtmlDetail,
  type HtmlFinding,
  htmlReport,
  type HtmlReportData,
  type HtmlReportOptions,
  type HtmlTarget,
  MAX_FINDINGS,
} from "./html.ts";
export { passiveHtml } from "./passive_html.ts";
export * from "./cases_export.ts";
export {
  eventPlace,
  PASSIVE_EXIT,
  passiveJson,
  passiveMarkdown,
  type PassiveOutcome,
  passiveOutcome,
  type PassiveRun,
  type PassiveSection,
  passiveTerminal,
  type PassiveTerminalOptions,
} from "./passive.ts";
