/**
 * The Markdown report of a run (`report.md`), for people reading it on
 * GitHub: run facts, a summary per target, the case × target matrix, the
 * mutant kill matrix, rule coverage, the seed-as-posted defect table and
 * every failure with its rule, bytes and rerun command.
 *
 * @module
 */

import { DEFECTS, rule, RULE_FAMILIES } from "../../spec/mod.ts";
import { caseById } from "../cases/cases.ts";
import type { SuiteRun } from "../run/suite.ts";
import {
  failureDetail,
  formatDuration,
  type ReportContext,
  type ReportModel,
  reportModel,
  specHref,
  SUITE_NAME,
  SUITE_VERSION,
} from "./model.ts";
import type { CaseResult } from "../model/types.ts";

/** Most targets shown as columns of the case matrix when mutants are in the run. */
const MAX_COLUMNS = 6;

function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [row(head), row(head.map(() => "---")), ...rows.map(row)];
}

function code(text: string): string {
  return "`" + text.replace(/`/g, "'") + "`";
}

function anchor(r: CaseResult): string {
  return `${r.case}-${r.target}`.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
}

function facts(m: ReportModel): string[] {
  const { run, context } = m;
  const lines = [
    `# ${SUITE_NAME}: report`,
    "",
    m.ok
      ? "**Result: PASS.** " +
        [
          m.targets.some((t) => !t.mutant) ? "No target under test failed a case." : "",
          m.kills.length > 0 ? "Every mutant failed the cases it declares." : "",
        ].filter((x) => x).join(" ")
      : `**Result: FAIL.** ${m.problems.map((p) => p.replace(/\.$/, "")).join("; ")}.`,
    "",
    `- Suite: ${SUITE_NAME} ${SUITE_VERSION}`,
    `- Profile: ${context.profile}`,
    `- Targets: ${run.targets.map((t) => code(t.name)).join(", ")}`,
    `- Cases: ${run.cases.length}${
      context.filters && context.filters.length > 0
        ? ` (filter ${context.filters.map(code).join(", ")})`
        : ""
    }`,
    `- Strict: ${
      run.strict ? "yes (SHOULD failures count as failures)" : "no (SHOULD failures are warnings)"
    }`,
    `- Started: ${context.startedAt.toISOString()}, took ${formatDuration(run.ms)}`,
  ];
  if (m.expect !== undefined) lines.push(`- Expected-failure list: ${code(m.expect.file)}`);
  return lines;
}

function summary(m: ReportModel): string[] {
  return [
    "",
    "## Summary",
    "",
    ...table(
      [
        "target",
        "description",
        "pass",
        "fail",
        "warn",
        "unsupported",
        "error",
        "expected failures",
        "status",
      ],
      m.targets.map((t) => {
        const k = m.kills.find((x) => x.mutant === t.target.name);
        const status = t.mutant
          ? k?.status === "killed"
            ? "mutant killed"
            : k?.status === "survived"
            ? "**mutant survived**"
            : "mutant: no declared case selected"
          : t.failing > 0
          ? "**FAIL**"
          : "ok";
        const c = t.counts;
        return [
          code(t.target.name),
          cell(t.target.description),
          String(c.pass),
          String(c.fail),
          String(c.warn),
          String(c.unsupported),
          String(c.error),
          String(t.expected),
          status,
        ];
      }),
    ),
  ];
}

/** What the suite saw a result through: the observations its findings name, or the transport trace. */
function seenThrough(r: CaseResult, ok: boolean): string[] {
  const seen = new Set<string>();
  for (const f of r.findings) {
    if (f.ok === ok && f.observation !== undefined) seen.add(f.observation);
  }
  return [...seen];
}

/**
 * Per target that is no mutant: what its passes rest on, by observation. A
 * pass is only as good as what was seen; for in-process targets `host-view`
 * is the implementation's own report of its state, not an observation.
 */
function passBasis(m: ReportModel): string[] {
  const rows: string[][] = [];
  for (const t of m.targets) {
    if (t.mutant || t.counts.pass === 0) continue;
    const by = new Map<string, number>();
    for (const r of m.run.results) {
      if (r.target !== t.target.name || r.verdict !== "pass") continue;
      const seen = seenThrough(r, true);
      for (const o of seen.length === 0 ? ["transport trace"] : seen) {
        by.set(o, (by.get(o) ?? 0) + 1);
      }
    }
    const own = t.target.kind === "device" && t.target.open === undefined;
    rows.push([
      code(t.target.name),
      String(t.counts.pass),
      [...by].sort((a, b) => b[1] - a[1]).map(([o, n]) =>
        `${o}${o === "host-view" && own ? " (self-reported)" : ""} ${n}`
      ).join(", "),
    ]);
  }
  if (rows.length === 0) return [];
  return [
    "",
    "## What the passes rest on",
    "",
    "Each pass counted under every observation its findings name (`transport trace`: the suite's own" +
    " side of the transport, as device or driver, saw it).",
    "",
    ...table(["target", "passes", "observed through"], rows),
  ];
}

function matrix(m: ReportModel): string[] {
  const { run } = m;
  const columns = run.targets.length <= MAX_COLUMNS
    ? run.targets
    : run.targets.filter((t) => !m.kills.some((k) => k.mutant === t.name));
  if (columns.length === 0) {
    return ["", "## Cases", "", "Only mutants ran: see the kill matrix."];
  }
  const byKey = new Map(run.results.map((r) => [`${r.target}\n${r.case}`, r]));
  const failing = new Set(m.failures);
  const expected = new Set(m.expect?.expected ?? []);
  const lines = [
    "",
    "## Cases × targets",
    "",
    `Cells: pass, **FAIL**, warn (a SHOULD rule; fails under \`--strict\`), xfail (listed as an expected failure), unsupported, error, n/a (the case is for the other role).${
      columns.length < run.targets.length ? " Mutants are in the kill matrix below." : ""
    } Areas with a failure are open.`,
  ];
  for (const a of m.areas) {
    const cases = run.cases.filter((k) => k.area === a.area);
    const bad = a.counts.fail + a.counts.error;
    const label = `${a.area}: ${cases.length} case${cases.length === 1 ? "" : "s"}, ${
      bad > 0 ? `${bad} failed` : a.counts.warn > 0 ? `${a.counts.warn} warned` : "no failure"
    }`;
    lines.push("", `<details${bad > 0 ? " open" : ""}><summary>${label}</summary>`, "");
    lines.push(
      ...table(
        ["case", "rules", ...columns.map((t) => code(t.name))],
        cases.map((k) => [
          code(k.id),
          k.rules.map((id) => ruleLink(m, id)).join(", "),
          ...columns.map((t) => {
            const r = byKey.get(`${t.name}\n${k.id}`);
            if (r === undefined) return "n/a";
            if (expected.has(r)) return "xfail";
            if (r.verdict === "pass") return "pass";
            if (r.verdict === "fail") {
              return failing.has(r) ? `[**FAIL**](#${anchor(r)})` : "**FAIL**";
            }
            return r.verdict;
          }),
        ]),
      ),
      "",
      "</details>",
    );
  }
  return lines;
}

function kills(m: ReportModel): string[] {
  if (m.kills.length === 0) return [];
  const lines = [
    "",
    "## Mutant kill matrix",
    "",
    "Each mutant is a reference implementation with one deliberate deviation; it must fail every case it declares.",
    "",
    ...table(
      ["mutant", "description", "declared", "killed", "also fails", "status"],
      m.kills.map((k) => [
        code(k.mutant),
        cell(k.description),
        `${k.patterns.map(code).join(", ")} (${k.declared.length} selected)`,
        `${k.killed.length}/${k.declared.length}`,
        String(k.also.length),
        k.status === "killed"
          ? "killed"
          : k.status === "survived"
          ? `**survived**: passed ${k.missing.map(code).join(", ")}`
          : "no declared case selected",
      ]),
    ),
  ];
  lines.push(
    "",
    `Cases no mutant in this run failed: ${m.unkilled.length}${m.unkilled.length === 0 ? "." : ""}`,
  );
  if (m.unkilled.length > 0) {
    lines.push(
      "",
      "<details><summary>list</summary>",
      "",
      ...m.unkilled.map((id) => `- ${code(id)}`),
      "",
      "</details>",
    );
  }
  return lines;
}

function defects(m: ReportModel): string[] {
  if (m.defects.length === 0) return [];
  const byRules = m.defects.some((d) => d.by === "rules");
  return [
    "",
    "## Seed as posted: defects behind each failure",
    "",
    "Defects are the seed quirks that, switched on alone on the same guest as the target, also fail the case" +
    (byRules
      ? "; rows marked † fall back to the rule table's defect links (no single quirk fails the case)."
      : "."),
    "",
    ...table(
      ["target", "case", "rule", "level", "defects"],
      m.defects.map((d) => [
        code(d.target),
        code(d.case),
        d.rules.map((id) => ruleLink(m, id)).join(", "),
        d.level,
        (d.defects.length > 0
          ? d.defects.map((id) => `${ruleLink(m, id)} ${defectTitle(id)}`).join("; ")
          : "none identified") +
        (d.by === "rules" ? " †" : ""),
      ]),
    ),
  ];
}

function coverageSection(m: ReportModel): string[] {
  return m.coverages.flatMap((c, i) => profileCoverage(m, c, m.coverages.length > 1 ? i : -1));
}

function profileCoverage(m: ReportModel, c: ReportModel["coverage"], nth: number): string[] {
  const pct = (n: number, t: number) => (t === 0 ? "–" : `${Math.round((100 * n) / t)}%`);
  const lines = [
    "",
    nth < 0 ? "## Rule coverage" : `## Rule coverage of profile ${c.profile}`,
    "",
    `Rules of profile ${c.profile} that at least one case checks (the whole case table, whatever the filter).`,
    "",
    ...table(
      ["level", "covered", "total", "%"],
      Object.entries(c.byLevel).map(([l, [n, t]]) => [l, String(n), String(t), pct(n, t)]),
    ),
    "",
    ...table(
      ["role", "covered", "total", "%"],
      Object.entries(c.byRole).map(([l, [n, t]]) => [l, String(n), String(t), pct(n, t)]),
    ),
    "",
    `### SHOULD / SHOULD NOT / MAY rules without a case (${c.uncoveredOptional.length})`,
    "",
    ...c.uncoveredOptional.map((r) => `- ${ruleLink(m, r.id)} ${r.level}: ${r.statement}`),
    "",
    `### MUST and MUST NOT rules without a case, and why (${c.explained.length} of ${
      c.byLevel["MUST"][1] + c.byLevel["MUST NOT"][1]
    })`,
    "",
    "No case checks these rules; each row says why. A MUST rule added to the tables without a case or a reason fails the suite's self-tests.",
    "",
    "<details><summary>reasons</summary>",
    "",
    ...table(
      ["rule", "level", "statement", "why no case"],
      c.explained.map((e) => [
        ruleLink(m, e.rule.id),
        e.rule.level,
        cell(e.rule.statement),
        cell(e.reason),
      ]),
    ),
    "",
    "</details>",
  ];
  if (c.unexplained.length > 0) {
    lines.push(
      "",
      `**${c.unexplained.length} MUST rules have neither a case nor a reason:** ${
        c.unexplained.map((r) => code(r.id)).join(", ")
      }`,
    );
  }
  return lines;
}

function expectSection(m: ReportModel): string[] {
  const e = m.expect;
  if (e === undefined) return [];
  return [
    "",
    "## Expected failures",
    "",
    `${e.expected.length} results failed as ${
      code(e.file)
    } lists (${e.entries} entries; ${e.notRun.length} not in this run).`,
    ...(e.problems.length === 0
      ? []
      : ["", "Stale entries (they fail the run):", "", ...e.problems.map((p) => `- ${p.message}`)]),
    ...(e.expected.length === 0
      ? []
      : ["", ...e.expected.map((r) => `- ${code(r.case)} on ${code(r.target)}: ${r.verdict}`)]),
  ];
}

/** A rule or defect id linked to its row in docs/SPEC.md. */
function ruleLink(m: ReportModel, id: string): string {
  const href = specHref(id, m.context.outDir);
  return href === undefined ? id : `[${id}](${href})`;
}

function defectTitle(id: string): string {
  return DEFECTS.find((d) => d.id === id)?.title ?? "";
}

function legendLines(): string[] {
  return [
    "",
    "Rule ids: " + RULE_FAMILIES.map((f) => `**${f.prefix}nn** ${f.source}`).join("; ") + ".",
  ];
}

function groupSection(m: ReportModel): string[] {
  if (m.groups.length === 0) return [];
  return [
    "",
    "## Shared causes",
    "",
    "Failures of one target that rest on the same observation: mend the cause once.",
    "",
    ...table(
      ["target", "cause", "rules", "cases"],
      m.groups.map((g) => [
        code(g.target),
        cell(g.root),
        g.rules.map((id) => ruleLink(m, id)).join(", "),
        `${g.cases.length}: ${g.cases.map(code).join(", ")}`,
      ]),
    ),
  ];
}

function failures(m: ReportModel): string[] {
  const list = [...m.failures, ...m.warnings];
  if (list.length === 0) return [];
  const defectOf = new Map(m.defects.map((d) => [`${d.target}\n${d.case}`, d.defects]));
  const lines = ["", `## Failures (${m.failures.length}) and warnings (${m.warnings.length})`];
  for (const r of list) {
    const d = failureDetail(r);
    const k = caseById(r.case);
    lines.push(
      "",
      `<a id="${anchor(r)}"></a>`,
      "",
      `### ${r.verdict === "warn" ? "warn" : r.verdict.toUpperCase()}: ${code(r.case)} on ${
        code(r.target)
      } (${r.level})`,
      "",
    );
    if (k !== undefined) lines.push(`${k.title}.`, "");
    for (const x of d.rules) {
      const id = x.split(" ")[0] ?? "";
      lines.push(`- **${ruleLink(m, id)}** ${rule(id).level}: ${rule(id).statement}`);
    }
    lines.push(`- Observed: ${d.message}`);
    const through = seenThrough(r, false);
    if (through.length > 0) lines.push(`- Seen through: ${through.join(", ")}`);
    const others = r.findings.filter((f) => !f.ok).slice(1, 6);
    for (const f of others) lines.push(`  - also ${f.rule}: ${f.message}`);
    if (d.expected !== undefined) lines.push(`- Expected: ${d.expected}`);
    if (d.actual !== undefined) lines.push(`- Actual: ${d.actual}`);
    const ds = defectOf.get(`${r.target}\n${r.case}`);
    if (ds !== undefined && ds.length > 0) {
      lines.push(
        `- Defects: ${ds.map((id) => `${ruleLink(m, id)} ${defectTitle(id)}`).join("; ")}`,
      );
    }
    if (d.hexdump !== undefined) lines.push("", "```text", d.hexdump, "```");
    lines.push("", "Rerun:", "", "```sh", r.rerun, "```");
  }
  return lines;
}

/**
 * Renders the Markdown report of a run.
 *
 * @example
 * ```ts
 * import { CASES, REFERENCE_DRIVER, runSuite } from "../mod.ts";
 * import { markdownReport } from "./markdown.ts";
 * import assert from "node:assert/strict";
 * const run = runSuite({ cases: CASES.filter((k) => k.area === "oom"), targets: [REFERENCE_DRIVER] });
 * const md = markdownReport(run, { profile: "v3", startedAt: new Date() });
 * assert.ok(md.includes("**Result: PASS.**"));
 * assert.match(md, /^## Cases × targets$/m);
 * assert.match(md, /^## Rule coverage$/m);
 * ```
 */
export function markdownReport(run: SuiteRun, context: ReportContext): string {
  const m = reportModel(run, context);
  return [
    ...facts(m),
    ...summary(m),
    ...passBasis(m),
    ...matrix(m),
    ...kills(m),
    ...defects(m),
    ...expectSection(m),
    ...groupSection(m),
    ...failures(m),
    ...coverageSection(m),
    ...legendLines(),
    "",
  ].join("\n");
}
