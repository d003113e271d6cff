/**
 * The HTML report of a run (`report.html`): one self-contained file (inline
 * style and script, no network) with a summary per target, the case × target
 * matrix with filters (verdict, level, rule id, area, text), every failure
 * expandable to its evidence (annotated hexdump, the rule's statement and
 * source, defects, the rerun command), rule coverage per level as bars, the
 * mutant kill matrix and the seed-as-posted defect table.
 *
 * The run is embedded as JSON (see {@link HtmlReportData}) and rendered by the
 * page's script with DOM text nodes only, so nothing from the run becomes
 * markup. The matrix renders only the rows on screen (hundreds of cases, any
 * number of targets), mutants are one column of kill counts unless the reader
 * asks for one column each, and printing renders every filtered row.
 *
 * @module
 */

import {
  defect,
  type DefectId,
  describeSource,
  type Level,
  rule,
  specAnchor,
} from "../../spec/mod.ts";
import { caseLevel } from "../cases/cases.ts";
import { hexdump } from "../model/evidence.ts";
import type { CaseResult, Verdict } from "../model/types.ts";
import type { SuiteRun } from "../run/suite.ts";
import { clientMain } from "./html_client.js";
import { clientBase } from "./html_client_base.js";
import { clientSections } from "./html_client_sections.js";
import { htmlPage } from "./html_page.ts";
import { REPORT_STYLE } from "./html_style.ts";
import {
  AREAS,
  failingRules,
  failureDetail,
  type ReportContext,
  type ReportModel,
  reportModel,
  SUITE_NAME,
  SUITE_VERSION,
} from "./model.ts";

/** Options of {@link htmlReport}. */
export interface HtmlReportOptions {
  /**
   * A relative link from the report to `docs/SPEC.md` (when the report sits
   * in the repository): each rule then links to its row there. The rule's
   * statement is shown inline either way.
   */
  readonly specDoc?: string;
}

/**
 * One letter per result in {@link HtmlReportData.cells}: pass, fail, warn,
 * unsupported, error, an expected failure (any verdict the expected-failure
 * list names), or `.` where the target did not run the case.
 */
export const CELL_CODES: Readonly<Record<Verdict | "expected" | "none", string>> = {
  pass: "p",
  fail: "f",
  warn: "w",
  unsupported: "u",
  error: "e",
  expected: "x",
  none: ".",
};

/** Failing findings shown per result (the JSON report has them all). */
export const MAX_FINDINGS = 20;

/** A failing finding as the page shows it. */
export interface HtmlFinding {
  /** Rule id. */
  readonly rule: string;
  /** What was observed. */
  readonly message: string;
  /** What the rule expects, if the check said. */
  readonly expected?: string;
  /** What the target did, if the check said. */
  readonly actual?: string;
  /** The annotated hexdump of its bytes, if it has any. */
  readonly hexdump?: string;
  /** What the suite saw it through (a device port's observation), when the check says. */
  readonly observation?: string;
}

/** Everything the page shows about one result that did not pass. */
export interface HtmlDetail {
  /** Verdict. */
  readonly verdict: Verdict;
  /** Whether the expected-failure list names it. */
  readonly expected: boolean;
  /** Whether it fails the run. */
  readonly failing: boolean;
  /** Level of the result. */
  readonly level: Level;
  /** The headline: the first failing finding (or the error, or why unsupported). */
  readonly message: string;
  /** Rules of the failing findings (the case's rules when none). */
  readonly rules: readonly string[];
  /** The failing findings, at most {@link MAX_FINDINGS}. */
  readonly findings: readonly HtmlFinding[];
  /** Failing findings not shown. */
  readonly more: number;
  /** Seed defects behind it. */
  readonly defects: readonly string[];
  /** The command that reruns just this case on this target. */
  readonly rerun: string;
}

/** A target as the page shows it. */
export interface HtmlTarget {
  /** Name. */
  readonly name: string;
  /** Driver or device. */
  readonly kind: "driver" | "device";
  /** Column group: the reference, the seed as posted, a mutant, or another target. */
  readonly group: "reference" | "as-posted" | "mutant" | "other";
  /** One line about it. */
  readonly description: string;
  /** Results per verdict. */
  readonly counts: Readonly<Record<Verdict, number>>;
  /** Results the expected-failure list names. */
  readonly expected: number;
  /** Results that fail the run. */
  readonly failing: number;
  /** Number of results. */
  readonly total: number;
  /** `ok`/`failed` for targets under test; the kill status for mutants. */
  readonly status: "ok" | "failed" | "killed" | "survived" | "not-selected";
}

/** The data embedded in `report.html` (`<script type="application/json" id="report-data">`). */
export interface HtmlReportData {
  /** Format tag of this object. */
  readonly format: "virtio-balloon-html-report/1";
  /** Suite name and version. */
  readonly suite: { readonly name: string; readonly version: string };
  /** Facts of the run. */
  readonly run: {
    readonly profile: string;
    readonly strict: boolean;
    readonly filters: readonly string[];
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly ms: number;
    readonly expectFile: string | null;
  };
  /** Whether the run passes, and why not. */
  readonly ok: boolean;
  /** Why the run fails (empty when it passes). */
  readonly problems: readonly string[];
  /** Relative link to docs/SPEC.md, or null. */
  readonly specDoc: string | null;
  /** Levels in order. */
  readonly levels: readonly Level[];
  /** Areas in report order. */
  readonly areas: readonly string[];
  /** Targets in run order. */
  readonly targets: readonly HtmlTarget[];
  /** Cases in run order (`level` is the case's strictest rule level). */
  readonly cases: readonly {
    readonly id: string;
    readonly title: string;
    readonly area: string;
    readonly rules: readonly string[];
    readonly level: Level;
    readonly role: "driver" | "device";
    readonly scenario: string;
  }[];
  /** Per target, one {@link CELL_CODES} letter per case. */
  readonly cells: readonly string[];
  /** Results that did not pass, by `targetIndex:caseIndex`. */
  readonly details: Readonly<Record<string, HtmlDetail>>;
  /** Every rule the page names. */
  readonly rules: Readonly<
    Record<string, {
      readonly level: Level;
      readonly role: string;
      readonly statement: string;
      readonly source: string;
      readonly defects: readonly string[];
      /** Its anchor in docs/SPEC.md. */
      readonly anchor: string;
    }>
  >;
  /** Titles of the defects the page names. */
  readonly defects: Readonly<Record<string, string>>;
  /** Failures of one target that share a root observation. */
  readonly groups: ReportModel["groups"];
  /** The kill matrix, case lists as case indexes. */
  readonly kills: readonly {
    readonly target: number;
    readonly description: string;
    readonly patterns: readonly string[];
    readonly declared: readonly number[];
    readonly killed: readonly number[];
    readonly missing: readonly number[];
    readonly also: readonly number[];
    readonly status: "killed" | "survived" | "not-selected";
  }[];
  /** Cases (of a role some mutant plays) no mutant failed, as case indexes. */
  readonly unkilled: readonly number[];
  /** Failing results of targets that reproduce seed defects, with the defects. */
  readonly asPosted: readonly {
    readonly target: number;
    readonly case: number;
    readonly rules: readonly string[];
    readonly defects: readonly string[];
    readonly by: "quirks" | "rules";
  }[];
  /** Rule coverage of the profile by the whole case table. */
  readonly coverage: {
    readonly profile: string;
    readonly byLevel: readonly (readonly [Level, number, number])[];
    readonly byRole: readonly (readonly [string, number, number])[];
    readonly uncoveredOptional: readonly string[];
    readonly explained: readonly { readonly rule: string; readonly reason: string }[];
    readonly unexplained: readonly string[];
  };
  /** How the expected-failure list matched, or null. */
  readonly expect: {
    readonly file: string;
    readonly entries: number;
    readonly expected: number;
    readonly notRun: number;
    readonly problems: readonly string[];
  } | null;
}

function group(m: ReportModel, name: string, mutant: boolean): HtmlTarget["group"] {
  if (mutant) return "mutant";
  const t = m.run.targets.find((x) => x.name === name);
  if (t?.kind === "driver" && (t.defects ?? []).length > 0) return "as-posted";
  return name.startsWith("reference-") ? "reference" : "other";
}

function findings(r: CaseResult): { shown: HtmlFinding[]; more: number } {
  const bad = r.findings.filter((f) => !f.ok);
  const shown = bad.slice(0, MAX_FINDINGS).map((f): HtmlFinding => ({
    rule: f.rule,
    message: f.message,
    ...(f.expected === undefined ? {} : { expected: f.expected }),
    ...(f.actual === undefined ? {} : { actual: f.actual }),
    ...(f.evidence === undefined ? {} : { hexdump: hexdump(f.evidence) }),
    ...(f.observation === undefined ? {} : { observation: f.observation }),
  }));
  return { shown, more: bad.length - shown.length };
}

/** The data the page renders, from the report model. */
function reportData(m: ReportModel, options: HtmlReportOptions): HtmlReportData {
  const { run, context } = m;
  const caseIndex = new Map(run.cases.map((k, i) => [k.id, i]));
  const targetIndex = new Map(run.targets.map((t, i) => [t.name, i]));
  const idx = (id: string) => caseIndex.get(id) ?? -1;
  const expected = new Set(m.expect?.expected ?? []);
  const failing = new Set(m.failures);
  const defectsOf = new Map(m.defects.map((d) => [`${d.target}\n${d.case}`, d.defects]));
  const ruleIds = new Set<string>();
  const defectIds = new Set<string>();
  const cells = run.targets.map(() => Array<string>(run.cases.length).fill(CELL_CODES.none));
  const details: Record<string, HtmlDetail> = {};
  for (const r of run.results) {
    const t = targetIndex.get(r.target);
    const c = caseIndex.get(r.case);
    if (t === undefined || c === undefined) continue;
    const row = cells[t] as string[];
    row[c] = expected.has(r) ? CELL_CODES.expected : CELL_CODES[r.verdict];
    if (r.verdict === "pass") continue;
    const headline = failureDetail(r);
    const { shown, more } = findings(r);
    const rules = failingRules(r, run.cases[c]);
    const defects = defectsOf.get(`${r.target}\n${r.case}`) ?? r.defects ?? [];
    for (const id of [...rules, ...shown.map((f) => f.rule)]) ruleIds.add(id);
    for (const d of defects) defectIds.add(d);
    details[`${t}:${c}`] = {
      verdict: r.verdict,
      expected: expected.has(r),
      failing: failing.has(r),
      level: r.level,
      message: headline.message,
      rules,
      findings: shown,
      more,
      defects,
      rerun: r.rerun,
    };
  }
  for (const k of run.cases) for (const id of k.rules) ruleIds.add(id);
  const c = m.coverage;
  for (const e of c.explained) ruleIds.add(e.rule.id);
  for (const r of [...c.uncoveredOptional, ...c.unexplained]) ruleIds.add(r.id);
  const rules: Record<string, HtmlReportData["rules"][string]> = {};
  for (const id of [...ruleIds].sort()) {
    const r = rule(id);
    for (const d of r.defects) defectIds.add(d);
    rules[id] = {
      level: r.level,
      role: r.role,
      statement: r.statement,
      source: describeSource(r),
      defects: r.defects,
      anchor: specAnchor(id),
    };
  }
  for (const d of m.defects) for (const id of d.defects) defectIds.add(id);
  const defects: Record<string, string> = {};
  for (const id of [...defectIds].sort()) defects[id] = defect(id as DefectId).title;
  const kills = new Map(m.kills.map((k) => [k.mutant, k.status]));
  const areas = [...new Set([...AREAS, ...run.cases.map((k) => k.area)])].filter((a) =>
    run.cases.some((k) => k.area === a)
  );
  return {
    format: "virtio-balloon-html-report/1",
    suite: { name: SUITE_NAME, version: SUITE_VERSION },
    run: {
      profile: context.profile,
      strict: run.strict,
      filters: context.filters ?? [],
      startedAt: context.startedAt.toISOString(),
      finishedAt: m.finishedAt.toISOString(),
      ms: Math.round(run.ms),
      expectFile: m.expect?.file ?? null,
    },
    ok: m.ok,
    problems: m.problems,
    specDoc: options.specDoc ?? null,
    levels: Object.keys(c.byLevel) as Level[],
    areas,
    targets: m.targets.map((t) => ({
      name: t.target.name,
      kind: t.target.kind,
      group: group(m, t.target.name, t.mutant),
      description: t.target.description,
      counts: t.counts,
      expected: t.expected,
      failing: t.failing,
      total: t.total,
      status: t.mutant
        ? kills.get(t.target.name) ?? "not-selected"
        : t.failing > 0
        ? "failed"
        : "ok",
    })),
    cases: run.cases.map((k) => ({
      id: k.id,
      title: k.title,
      area: k.area,
      rules: k.rules,
      level: caseLevel(k),
      role: k.role,
      scenario: k.scenario,
    })),
    cells: cells.map((row) => row.join("")),
    details,
    rules,
    defects,
    groups: m.groups,
    kills: m.kills.map((k) => ({
      target: targetIndex.get(k.mutant) ?? -1,
      description: k.description,
      patterns: k.patterns,
      declared: k.declared.map(idx),
      killed: k.killed.map(idx),
      missing: k.missing.map(idx),
      also: k.also.map(idx),
      status: k.status,
    })),
    unkilled: m.unkilled.map(idx),
    asPosted: m.defects.map((d) => ({
      target: targetIndex.get(d.target) ?? -1,
      case: idx(d.case),
      rules: d.rules,
      defects: d.defects,
      by: d.by,
    })),
    coverage: {
      profile: c.profile,
      byLevel: Object.entries(c.byLevel).map(([l, [n, t]]) => [l as Level, n, t] as const),
      byRole: Object.entries(c.byRole).map(([r, [n, t]]) => [r, n, t] as const),
      uncoveredOptional: c.uncoveredOptional.map((r) => r.id),
      explained: c.explained.map((e) => ({ rule: e.rule.id, reason: e.reason })),
      unexplained: c.unexplained.map((r) => r.id),
    },
    expect: m.expect === undefined ? null : {
      file: m.expect.file,
      entries: m.expect.entries,
      expected: m.expect.expected.length,
      notRun: m.expect.notRun.length,
      problems: m.expect.problems.map((p) => p.message),
    },
  };
}

/** The static part of the page: the script fills each section from the data. */
const BODY =
  `<header id="top"><h1>virtio-balloon conformance report</h1><div id="verdict"></div><dl id="facts"></dl></header>
<noscript><p class="warning">This report renders its tables with JavaScript; the same data is in report.json and report.md.</p></noscript>
<nav id="toc" aria-label="Sections"></nav>
<main>
<section id="summary"><h2>Targets</h2><div class="body"></div></section>
<section id="matrix"><h2>Cases × targets</h2><form id="filters" class="no-print" autocomplete="off"></form><p id="shown" role="status"></p><div id="grid" tabindex="0"></div><div id="selected"></div></section>
<section id="failures"><h2>Failures</h2><div class="body"></div></section>
<section id="groups"><h2>Shared causes</h2><div class="body"></div></section>
<section id="kills"><h2>Mutant kill matrix</h2><div class="body"></div></section>
<section id="defects"><h2>Seed as posted: defects behind the failures</h2><div class="body"></div></section>
<section id="coverage"><h2>Rule coverage</h2><div class="body"></div></section>
<section id="expect"><h2>Expected failures</h2><div class="body"></div></section>
</main>`;

/**
 * Renders the HTML report of a run: one self-contained file.
 *
 * @example
 * ```ts
 * import { CASES, REFERENCE_DRIVER, runSuite } from "../mod.ts";
 * import { htmlReport } from "./html.ts";
 * import assert from "node:assert/strict";
 * const run = runSuite({ cases: CASES.filter((k) => k.area === "oom"), targets: [REFERENCE_DRIVER] });
 * const html = htmlReport(run, { profile: "v3", startedAt: new Date() });
 * assert.match(html, /^<!DOCTYPE html>/);
 * assert.match(html, /<script type="application\/json" id="report-data">/);
 * assert.doesNotMatch(html, /<link|src="http/);
 * ```
 */
export function htmlReport(
  run: SuiteRun,
  context: ReportContext,
  options: HtmlReportOptions = {},
): string {
  const m = reportModel(run, context);
  return htmlPage({
    title: `${SUITE_NAME} ${SUITE_VERSION}: ${
      m.ok ? "PASS" : "FAIL"
    }, ${run.targets.length} target${
      run.targets.length === 1 ? "" : "s"
    }, ${run.cases.length} cases`,
    style: REPORT_STYLE,
    body: BODY,
    data: reportData(m, options),
    script: `(${clientMain.toString()})(${clientBase.toString()}, ${clientSections.toString()});`,
  });
}
