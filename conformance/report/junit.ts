/**
 * The JUnit XML report of a run, for CI: one `<testsuite>` per target, one
 * `<testcase>` per case. A test case fails exactly when it makes the run
 * fail, so CI turns red for the same reasons the exit code does: on a
 * mutant, a declared case fails the test case when the mutant passes it.
 *
 * @module
 */

import type { SuiteRun } from "../run/suite.ts";
import {
  areaOf,
  failureDetail,
  type ReportContext,
  type ReportModel,
  reportModel,
  rootOf,
  SUITE_NAME,
  SUITE_VERSION,
} from "./model.ts";
import type { CaseResult } from "../model/types.ts";

/**
 * Escapes text for XML content and attribute values; drops characters XML
 * 1.0 cannot hold.
 *
 * @example
 * ```ts
 * import { xmlEscape } from "./junit.ts";
 * import assert from "node:assert/strict";
 * assert.equal(xmlEscape(`a<b & "c"\u0001`), "a&lt;b &amp; &quot;c&quot;");
 * ```
 */
export function xmlEscape(text: string): string {
  return text
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** XML attributes from values, escaped, each with its leading space. */
export function attrs(values: Record<string, string | number>): string {
  return Object.entries(values).map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`).join("");
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function detailText(r: CaseResult): string {
  const d = failureDetail(r);
  return [
    ...d.rules,
    d.message,
    ...(d.expected === undefined ? [] : [`expected: ${d.expected}`]),
    ...(d.actual === undefined ? [] : [`actual:   ${d.actual}`]),
    ...(r.defects === undefined ? [] : [`defects:  ${r.defects.join(", ")}`]),
    ...(rootOf(r) === undefined
      ? []
      : [`cause:    ${rootOf(r)} (shared by the cases of the same cause)`]),
    ...(d.hexdump === undefined ? [] : ["", d.hexdump]),
    "",
    `rerun: ${r.rerun}`,
  ].join("\n");
}

type Outcome =
  | { kind: "pass"; out?: string }
  | { kind: "failure" | "error" | "skipped"; message: string; body?: string };

function outcomeOf(r: CaseResult, m: ReportModel): Outcome {
  const stale = m.expect?.problems.find((p) =>
    p.entry.case === r.case && (p.entry.target ?? r.target) === r.target
  );
  if (stale !== undefined && r.verdict === "pass") {
    return {
      kind: "failure",
      message: `listed as an expected failure but passed: ${stale.message}`,
    };
  }
  const kill = m.kills.find((k) => k.mutant === r.target);
  if (kill !== undefined) {
    if (kill.missing.includes(r.case)) {
      return {
        kind: "failure",
        message: `mutant ${r.target} survived: it passed ${r.case}, which it declares it fails`,
      };
    }
    if (kill.killed.includes(r.case)) return { kind: "pass", out: `killed (${r.verdict})` };
    if (r.verdict === "pass") return { kind: "pass" };
    return { kind: "pass", out: `${r.verdict} (not a declared case of this mutant)` };
  }
  if (m.expect?.expected.includes(r)) {
    return {
      kind: "skipped",
      message: `expected failure (listed in ${m.expect.file})`,
      body: detailText(r),
    };
  }
  const d = () => failureDetail(r);
  switch (r.verdict) {
    case "pass":
      return { kind: "pass" };
    case "warn":
      return { kind: "pass", out: `warn (SHOULD; fails under --strict)\n${detailText(r)}` };
    case "unsupported":
      return { kind: "skipped", message: `unsupported: ${r.message ?? ""}` };
    case "error":
      return { kind: "error", message: r.message ?? "error", body: detailText(r) };
    case "fail":
      return { kind: "failure", message: d().rules[0] ?? d().message, body: detailText(r) };
  }
}

function testcase(r: CaseResult, m: ReportModel): { xml: string; kind: Outcome["kind"] } {
  const o = outcomeOf(r, m);
  const head = `    <testcase${
    attrs({ classname: areaOf(r.case), name: r.case, time: seconds(r.ms) })
  }`;
  if (o.kind === "pass") {
    if (o.out === undefined) return { xml: `${head}/>`, kind: "pass" };
    return {
      xml: `${head}>\n      <system-out>${xmlEscape(o.out)}</system-out>\n    </testcase>`,
      kind: "pass",
    };
  }
  const body = o.body === undefined ? "" : xmlEscape(o.body);
  const type = o.kind === "failure" ? attrs({ type: r.level }) : "";
  return {
    xml: `${head}>\n      <${o.kind}${
      attrs({ message: o.message })
    }${type}>${body}</${o.kind}>\n    </testcase>`,
    kind: o.kind,
  };
}

/**
 * Renders the JUnit XML report of a run.
 *
 * @example
 * ```ts
 * import { CASES, REFERENCE_DRIVER, runSuite } from "../mod.ts";
 * import { junitReport } from "./junit.ts";
 * import assert from "node:assert/strict";
 * const run = runSuite({ cases: CASES.filter((k) => k.area === "oom"), targets: [REFERENCE_DRIVER] });
 * const xml = junitReport(run, { profile: "v3", startedAt: new Date() });
 * assert.equal(xml.match(/<testcase /g)?.length, 5);
 * assert.match(xml, /<testsuite name="reference-driver" tests="5" failures="0"/);
 * ```
 */
export function junitReport(run: SuiteRun, context: ReportContext): string {
  const m = reportModel(run, context);
  const suites: string[] = [];
  const total = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const props = [
    `      <property name="profile" value="${xmlEscape(context.profile)}"/>`,
    `      <property name="strict" value="${run.strict}"/>`,
  ];
  for (const t of m.targets) {
    const cases = run.results.filter((r) => r.target === t.target.name).map((r) => testcase(r, m));
    const count = (k: Outcome["kind"]) => cases.filter((c) => c.kind === k).length;
    const n = {
      tests: cases.length,
      failures: count("failure"),
      errors: count("error"),
      skipped: count("skipped"),
    };
    total.tests += n.tests;
    total.failures += n.failures;
    total.errors += n.errors;
    total.skipped += n.skipped;
    const ms = run.results.filter((r) => r.target === t.target.name).reduce((a, r) => a + r.ms, 0);
    suites.push(
      `  <testsuite${
        attrs({
          name: t.target.name,
          ...n,
          time: seconds(ms),
          timestamp: context.startedAt.toISOString(),
        })
      }>\n    <properties>\n${
        [
          ...props,
          `      <property name="mutant" value="${t.mutant}"/>`,
          `      <property name="description" value="${xmlEscape(t.target.description)}"/>`,
        ].join("\n")
      }\n    </properties>\n${cases.map((c) => c.xml).join("\n")}\n  </testsuite>`,
    );
  }
  const orphans = (m.expect?.problems ?? []).filter((p) =>
    !run.results.some((r) => r.case === p.entry.case && (p.entry.target ?? r.target) === r.target)
  );
  if (orphans.length > 0 && m.expect !== undefined) {
    const cases = orphans.map((p) =>
      `    <testcase${attrs({ classname: "expect-fail", name: `line ${p.entry.line}` })}>\n` +
      `      <failure${attrs({ message: p.message })}/>\n    </testcase>`
    );
    total.tests += cases.length;
    total.failures += cases.length;
    suites.push(
      `  <testsuite${
        attrs({ name: `expect-fail ${m.expect.file}`, tests: cases.length, failures: cases.length })
      }>\n${cases.join("\n")}\n  </testsuite>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${
    attrs({ name: `${SUITE_NAME} ${SUITE_VERSION}`, ...total, time: seconds(run.ms) })
  }>\n${suites.join("\n")}\n</testsuites>\n`;
}
