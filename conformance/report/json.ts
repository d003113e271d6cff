/**
 * The JSON report of a run, for machines: every result with its findings
 * and evidence, per-target summaries, the kill matrix, coverage, the defect
 * table and the expected-failure outcome. 64-bit values are strings.
 *
 * @module
 */

import { describeSource } from "../../spec/mod.ts";
import type { SuiteRun } from "../run/suite.ts";
import {
  type ReportContext,
  type ReportModel,
  reportModel,
  SUITE_NAME,
  SUITE_VERSION,
} from "./model.ts";
import type { Evidence, Finding } from "../model/types.ts";

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function evidenceJson(e: Evidence): unknown {
  return { title: e.title, hex: hex(e.bytes), annotations: e.annotations };
}

function findingJson(f: Finding): unknown {
  return {
    rule: f.rule,
    ok: f.ok,
    message: f.message,
    ...(f.expected === undefined ? {} : { expected: f.expected }),
    ...(f.actual === undefined ? {} : { actual: f.actual }),
    // bytes of kept rules add megabytes to a mutant run and explain nothing
    ...(f.evidence === undefined || f.ok ? {} : { evidence: evidenceJson(f.evidence) }),
  };
}

/**
 * Renders the JSON report of a run (pretty-printed, bigint as strings).
 *
 * @example
 * ```ts
 * import { CASES, REFERENCE_DRIVER, runSuite } from "../mod.ts";
 * import { jsonReport } from "./json.ts";
 * import assert from "node:assert/strict";
 * const run = runSuite({ cases: CASES.filter((k) => k.area === "oom"), targets: [REFERENCE_DRIVER] });
 * const doc = JSON.parse(jsonReport(run, { profile: "v3", startedAt: new Date() }));
 * assert.equal(doc.tool.version, "0.1.0");
 * assert.equal(doc.profile, "v3");
 * assert.equal(doc.results.length, 5);
 * assert.equal(doc.ok, true);
 * ```
 */
export function jsonReport(run: SuiteRun, context: ReportContext): string {
  const m = reportModel(run, context);
  const c = m.coverage;
  const doc = {
    tool: { name: SUITE_NAME, version: SUITE_VERSION },
    profile: context.profile,
    strict: run.strict,
    filters: context.filters ?? [],
    startedAt: context.startedAt.toISOString(),
    finishedAt: m.finishedAt.toISOString(),
    ms: Math.round(run.ms),
    ok: m.ok,
    problems: m.problems,
    targets: m.targets.map((t) => ({
      name: t.target.name,
      kind: t.target.kind,
      mutant: t.mutant,
      description: t.target.description,
    })),
    summary: m.targets.map((t) => ({
      target: t.target.name,
      total: t.total,
      ...t.counts,
      expectedFailures: t.expected,
      failing: t.failing,
    })),
    areas: m.areas,
    groups: m.groups,
    results: run.results.map((r) => ({
      case: r.case,
      target: r.target,
      verdict: r.verdict,
      expectedFailure: m.expect?.expected.includes(r) ?? false,
      level: r.level,
      ...(r.message === undefined ? {} : { message: r.message }),
      ...(r.defects === undefined ? {} : { defects: r.defects }),
      findings: r.findings.map(findingJson),
      rerun: r.rerun,
      ms: Math.round(r.ms * 1000) / 1000,
    })),
    kills: m.kills,
    unkilled: m.kills.length > 0 ? m.unkilled : [],
    ...(m.coverages.length > 1
      ? {
        coverageByProfile: m.coverages.map((x) => ({
          profile: x.profile,
          byLevel: levelCounts(x),
        })),
      }
      : {}),
    coverage: {
      profile: c.profile,
      scope: "the whole case table of the profile",
      byLevel: Object.fromEntries(
        Object.entries(c.byLevel).map(([k, [n, t]]) => [k, { covered: n, total: t }]),
      ),
      byRole: Object.fromEntries(
        Object.entries(c.byRole).map(([k, [n, t]]) => [k, { covered: n, total: t }]),
      ),
      uncoveredOptional: c.uncoveredOptional.map((r) => r.id),
      explained: c.explained.map((e) => ({
        rule: e.rule.id,
        level: e.rule.level,
        source: describeSource(e.rule),
        reason: e.reason,
      })),
      unexplained: c.unexplained.map((r) => r.id),
    },
    asPosted: m.defects,
    expectFail: m.expect === undefined ? null : {
      file: m.expect.file,
      entries: m.expect.entries,
      expected: m.expect.expected.map((r) => ({ case: r.case, target: r.target })),
      problems: m.expect.problems.map((p) => p.message),
      notRun: m.expect.notRun,
    },
  };
  // one result per line: a mutant run has tens of thousands, and indenting them triples the size
  const { results, ...rest } = doc;
  const text = JSON.stringify({ ...rest, results: [] }, bigintAsString, 2);
  const lines = results.map((r) => `    ${JSON.stringify(r, bigintAsString)}`).join(",\n");
  return text.replace(/"results": \[\]/, () => `"results": [\n${lines}\n  ]`);
}

function levelCounts(
  c: ReportModel["coverage"],
): Record<string, { covered: number; total: number }> {
  return Object.fromEntries(
    Object.entries(c.byLevel).map(([k, [n, t]]) => [k, { covered: n, total: t }]),
  );
}
