/**
 * Reports of passive checking: a per-rule table (pass, fail with the
 * offending events, not observable) for the terminal, Markdown and JSON,
 * with the versions tested, expected deviations and run time.
 *
 * @module
 */

import { styleText } from "node:util";
import { rule } from "../../spec/mod.ts";
import type { ExpectList } from "../run/expect.ts";
import { TRACE_RULES, type TraceRuleResult } from "../trace/check.ts";
import type { Trace, TraceEvent } from "../trace/format.ts";
import type { ScenarioCheck } from "../trace/check.ts";

/** One checked trace (a file, or one guest of the qemu-linux target). */
export interface PassiveSection {
  /** Its name (file name, or "guest A"). */
  readonly name: string;
  /** What it exercised, in words. */
  readonly title?: string;
  /** Measurements and notes, in words. */
  readonly facts?: readonly string[];
  /** Problems found while reading or importing it. */
  readonly problems?: readonly string[];
  /** An error that stopped it, with whatever log explains it. */
  readonly error?: string;
  /** The trace, to locate evidence (line numbers). */
  readonly trace?: Trace;
  /** Where the trace was written, when it was. */
  readonly tracePath?: string;
  /** Per-rule verdicts. */
  readonly results: readonly TraceRuleResult[];
  /** Expectations of the scenario, beyond the rules. */
  readonly checks?: readonly ScenarioCheck[];
}

/** A whole passive run. */
export interface PassiveRun {
  /** What was checked: "trace FILE", "qemu-trace FILE", "qemu-linux". */
  readonly subject: string;
  /** Profile of the rules. */
  readonly profile: string;
  /** Versions of the software checked. */
  readonly versions: Readonly<Record<string, string>>;
  /** The traces checked. */
  readonly sections: readonly PassiveSection[];
  /** Verdicts over all sections. */
  readonly results: readonly TraceRuleResult[];
  /** Seconds for the run. */
  readonly seconds: number;
  /** A setup error (nothing could be checked). */
  readonly error?: string;
  /** Expected failures, when a list was given. */
  readonly expect?: ExpectList;
}

/** How a run ends, after the expected-failure list. */
export interface PassiveOutcome {
  /** True when nothing failed unexpectedly and no error stopped a section. */
  readonly ok: boolean;
  /** Rules and scenario checks that failed and were listed as expected. */
  readonly expected: readonly string[];
  /** Rules and scenario checks that failed and were not listed. */
  readonly unexpected: readonly string[];
  /** Problems with the list: a listed rule that did not fail, or that does not exist. */
  readonly listProblems: readonly string[];
  /** Counts of verdicts. */
  readonly counts: Readonly<Record<TraceRuleResult["verdict"], number>>;
  /** Counts of scenario check verdicts. */
  readonly checks: Readonly<Record<ScenarioCheck["verdict"], number>>;
}

/**
 * Decides the outcome of a run.
 *
 * @example
 * ```ts
 * import { passiveOutcome } from "./passive.ts";
 * import assert from "node:assert/strict";
 * const results = [{ rule: "G57", verdict: "fail" as const, detail: "", evidence: [] }];
 * const run = { subject: "t", profile: "virtio-1.x", versions: {}, sections: [], results, seconds: 0 };
 * assert.equal(passiveOutcome(run).ok, false);
 * const expect = { file: "x", entries: [{ line: 1, case: "G57" }] };
 * assert.equal(passiveOutcome({ ...run, expect }).ok, true);
 * ```
 */
export function passiveOutcome(run: PassiveRun): PassiveOutcome {
  const listed = new Map<string, number>();
  const listProblems: string[] = [];
  const checks = run.sections.flatMap((s) => s.checks ?? []);
  for (const e of run.expect?.entries ?? []) {
    if (e.target !== undefined && !run.subject.startsWith(e.target)) continue;
    if (e.case.includes("/")) {
      if (checks.some((c) => c.id === e.case)) listed.set(e.case, e.line);
      else {
        listProblems.push(
          `${run.expect?.file}:${e.line}: lists scenario check '${e.case}', which this run does not have`,
        );
      }
      continue;
    }
    try {
      rule(e.case);
      listed.set(e.case, e.line);
    } catch {
      listProblems.push(
        `${run.expect?.file}:${e.line}: lists rule '${e.case}', which does not exist`,
      );
    }
  }
  const failed = [
    ...run.results.filter((r) => r.verdict === "fail").map((r) => r.rule),
    ...checks.filter((c) => c.verdict === "fail").map((c) => c.id),
  ];
  for (const [id, line] of listed) {
    if (!failed.includes(id)) {
      const v = run.results.find((r) => r.rule === id)?.verdict ??
        checks.find((c) => c.id === id)?.verdict ?? "not checked";
      listProblems.push(
        `${run.expect?.file}:${line}: lists ${
          id.includes("/") ? "scenario check" : "rule"
        } ${id} as failing, but it is ${v}: remove the line`,
      );
    }
  }
  const counts = { pass: 0, fail: 0, "not-observable": 0 };
  for (const r of run.results) counts[r.verdict]++;
  const checkCounts = { pass: 0, fail: 0 };
  for (const c of checks) checkCounts[c.verdict]++;
  const unexpected = failed.filter((id) => !listed.has(id));
  return {
    ok: run.error === undefined && !run.sections.some((s) => s.error !== undefined) &&
      unexpected.length === 0 &&
      listProblems.length === 0,
    expected: failed.filter((id) => listed.has(id)),
    unexpected,
    listProblems,
    counts,
    checks: checkCounts,
  };
}

/** Where an event is: its line in the trace file, and in the source log when imported. */
export function eventPlace(e: TraceEvent, trace: Trace | undefined): string {
  const at = trace === undefined ? -1 : trace.events.indexOf(e);
  const parts: string[] = [];
  if (e.line !== undefined) parts.push(`log line ${e.line}`);
  if (at >= 0) parts.push(`trace line ${at + 2}`);
  return parts.join(", ");
}

/** One event in a line, without its time. */
export function eventText(e: TraceEvent): string {
  const { t: _t, line: _l, ...rest } = e;
  return JSON.stringify(rest);
}

function sectionOf(run: PassiveRun, e: TraceEvent): PassiveSection | undefined {
  return run.sections.find((s) => s.trace?.events.includes(e));
}

/** The offending events of a rule, one line each: where (section, log and trace line) and what. */
export function evidenceLines(run: PassiveRun, r: TraceRuleResult): string[] {
  return r.evidence.map((e) => {
    const s = sectionOf(run, e);
    const place = eventPlace(e, s?.trace);
    const where = [run.sections.length > 1 && s !== undefined ? s.name : "", place].filter((x) => x)
      .join(", ");
    return `${where === "" ? "" : where + ": "}${eventText(e)}`;
  });
}

const VERDICT_WORD: Readonly<Record<TraceRuleResult["verdict"], string>> = {
  pass: "pass",
  fail: "FAIL",
  "not-observable": "not observable",
};

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/** Options of {@link passiveTerminal}. */
export interface PassiveTerminalOptions {
  /** ANSI colours. */
  readonly color?: boolean;
  /** List every rule, including those the trace format cannot decide. */
  readonly all?: boolean;
}

/** Rules the checker has a check for (decided, or not seen in this trace). */
function checkable(r: TraceRuleResult): boolean {
  return TRACE_RULES.includes(r.rule);
}

/**
 * The terminal report: versions, sections with their facts, then one row per
 * rule the trace can decide.
 */
export function passiveTerminal(run: PassiveRun, options: PassiveTerminalOptions = {}): string {
  const paint = options.color === true
    ? (s: Parameters<typeof styleText>[0], t: string) => styleText(s, t, { validateStream: false })
    : (_s: unknown, t: string) => t;
  const out = [
    paint("bold", `passive check of ${run.subject}`) +
    ` · profile ${run.profile} · ${run.seconds.toFixed(1)} s`,
  ];
  const versions = Object.entries(run.versions);
  if (versions.length > 0) {
    out.push(`versions: ${versions.map(([k, v]) => `${k} ${v}`).join(", ")}`);
  }
  if (run.error !== undefined) out.push(paint("red", `error: ${run.error}`));
  const o = passiveOutcome(run);
  for (const s of run.sections) {
    out.push("", paint("bold", s.name) + (s.title === undefined ? "" : ` · ${s.title}`));
    for (const f of s.facts ?? []) out.push(`  ${f}`);
    for (const c of s.checks ?? []) {
      const word = c.verdict === "pass"
        ? paint("green", "pass")
        : o.expected.includes(c.id)
        ? paint("yellow", "FAIL (expected)")
        : paint("red", "FAIL");
      out.push(`  ${word} ${c.id}: ${c.detail}`);
    }
    if (s.tracePath !== undefined) out.push(`  trace: ${s.tracePath}`);
    for (const p of (s.problems ?? []).slice(0, 10)) out.push(paint("yellow", `  import: ${p}`));
    if ((s.problems?.length ?? 0) > 10) {
      out.push(`  import: … ${(s.problems?.length ?? 0) - 10} more`);
    }
    if (s.error !== undefined) {
      out.push(paint("red", `  error: ${s.error.split("\n").join("\n    ")}`));
    }
  }
  const rows = run.results.filter((r) => options.all === true || checkable(r));
  out.push(
    "",
    paint(
      "bold",
      `${pad("rule", 6)} ${pad("level", 10)} ${pad("role", 7)} ${pad("verdict", 15)} detail`,
    ),
  );
  for (const r of rows) {
    const def = rule(r.rule);
    const word = r.verdict === "fail" && o.expected.includes(r.rule)
      ? "FAIL (expected)"
      : VERDICT_WORD[r.verdict];
    const style = r.verdict === "pass"
      ? "green"
      : r.verdict === "fail"
      ? (word === "FAIL" ? "red" : "yellow")
      : "dim";
    out.push(
      `${pad(r.rule, 6)} ${pad(def.level, 10)} ${pad(def.role, 7)} ${
        paint(style, pad(word, 15))
      } ${r.detail}`,
    );
    if (r.verdict === "fail") {
      out.push(`${" ".repeat(7)}${def.statement}`);
      for (const l of evidenceLines(run, r)) out.push(`${" ".repeat(9)}${l}`);
    }
  }
  const hidden = run.results.length - rows.length;
  if (hidden > 0) {
    out.push(`(${hidden} more rules are not observable from this trace format; --all lists them)`);
  }
  for (const p of o.listProblems) out.push(paint("red", p));
  out.push(
    "",
    `rules: ${o.counts.pass} pass, ${o.counts.fail} fail, ${
      o.counts["not-observable"]
    } not observable${checkSummary(o)}${
      o.expected.length > 0 ? ` · ${o.expected.length} failures expected` : ""
    } · ${o.ok ? paint("green", "OK") : paint("red", "FAILED")}`,
  );
  return out.join("\n");
}

function checkSummary(o: PassiveOutcome): string {
  const n = o.checks.pass + o.checks.fail;
  return n === 0 ? "" : ` · scenario checks: ${o.checks.pass} pass, ${o.checks.fail} fail`;
}

/** The Markdown report: the same content, every rule listed. */
export function passiveMarkdown(run: PassiveRun): string {
  const o = passiveOutcome(run);
  const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");
  const out = [
    `# Passive check of ${run.subject}`,
    "",
    `Profile ${run.profile}, ${run.seconds.toFixed(1)} s.`,
    "",
  ];
  for (const [k, v] of Object.entries(run.versions)) out.push(`- ${k}: ${v}`);
  if (run.error !== undefined) out.push("", `**Error:** ${run.error}`);
  for (const s of run.sections) {
    out.push("", `## ${s.name}${s.title === undefined ? "" : `: ${s.title}`}`, "");
    for (const f of s.facts ?? []) out.push(`- ${f}`);
    for (const c of s.checks ?? []) {
      const word = c.verdict === "fail" && o.expected.includes(c.id)
        ? "fail (expected)"
        : c.verdict;
      out.push(`- **${word}** \`${c.id}\`: ${c.detail}`);
    }
    if (s.error !== undefined) out.push("", "```", s.error, "```");
  }
  out.push(
    "",
    "## Rules",
    "",
    "| rule | level | role | verdict | detail | evidence |",
    "| --- | --- | --- | --- | --- | --- |",
  );
  for (const r of run.results) {
    const def = rule(r.rule);
    const word = r.verdict === "fail" && o.expected.includes(r.rule)
      ? "fail (expected)"
      : r.verdict;
    out.push(
      `| ${r.rule} | ${def.level} | ${def.role} | ${word} | ${cell(r.detail)} | ${
        cell(evidenceLines(run, r).join("; "))
      } |`,
    );
  }
  out.push(
    "",
    `Rules: ${o.counts.pass} pass, ${o.counts.fail} fail, ${
      o.counts["not-observable"]
    } not observable${checkSummary(o)}: ${o.ok ? "OK" : "FAILED"}.`,
  );
  return out.join("\n") + "\n";
}

/** The JSON report. */
export function passiveJson(run: PassiveRun): string {
  const o = passiveOutcome(run);
  return JSON.stringify(
    {
      subject: run.subject,
      profile: run.profile,
      versions: run.versions,
      seconds: run.seconds,
      ok: o.ok,
      counts: o.counts,
      checkCounts: o.checks,
      expectedFailures: o.expected,
      unexpectedFailures: o.unexpected,
      listProblems: o.listProblems,
      ...(run.error === undefined ? {} : { error: run.error }),
      sections: run.sections.map((s) => ({
        name: s.name,
        title: s.title,
        facts: s.facts ?? [],
        problems: s.problems ?? [],
        checks: s.checks ?? [],
        error: s.error,
        tracePath: s.tracePath,
      })),
      rules: run.results.map((r) => ({
        rule: r.rule,
        level: rule(r.rule).level,
        role: rule(r.rule).role,
        verdict: r.verdict,
        detail: r.detail,
        evidence: r.evidence.map((e) => ({
          place: eventPlace(e, sectionOf(run, e)?.trace),
          event: e,
        })),
      })),
    },
    null,
    2,
  ) + "\n";
}
