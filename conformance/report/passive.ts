/**
 * Reports of passive checking: a per-rule table (pass, fail with the
 * offending events, not observable, error when an input problem makes the
 * verdict unreliable) for the terminal, Markdown and JSON, with the versions
 * tested, expected deviations, run time, and how the run ends: OK (exit 0),
 * FAILED (exit 1), or NOT JUDGED (exit 3) when nothing failed but the input
 * gave nothing to judge (no event, no rule decided, the device not
 * identified) or made verdicts unreliable.
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
  /** Problems found while reading or importing it (they make verdicts unreliable). */
  readonly problems?: readonly string[];
  /** What the input cannot show, in words (rules about it are not observable). */
  readonly notes?: readonly string[];
  /** Why nothing in it could be judged (no event, the device not identified). */
  readonly empty?: string;
  /** An error that stopped it, with whatever log explains it. */
  readonly error?: string;
  /** The trace, when it is held in memory (evidence lines come from the results otherwise). */
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

/** Exit codes of passive mode. */
export const PASSIVE_EXIT = {
  /** Every rule and scenario check as expected, and the input judged. */
  ok: 0,
  /** A rule or scenario check failed unexpectedly, a guest could not run, or the list is stale. */
  failed: 1,
  /** A usage error: a bad flag, an unreadable file, a trace that breaks the format. */
  usage: 2,
  /** Nothing failed, but the input could not be judged (see {@link PassiveOutcome.reason}). */
  notJudged: 3,
  /** A report could not be written (the CLI's output error). */
  output: 4,
} as const;

/** How a run ends, after the expected-failure list. */
export interface PassiveOutcome {
  /** True when nothing failed unexpectedly, no error stopped a section, and the input was judged. */
  readonly ok: boolean;
  /** Why the input could not be judged, when nothing failed but it could not. */
  readonly reason?: string;
  /** The exit code: {@link PASSIVE_EXIT}. */
  readonly exitCode: number;
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
  const unreliable = new Set(run.results.filter((r) => r.verdict === "error").map((r) => r.rule));
  for (const [id, line] of listed) {
    // a listed rule not judged is no stale line: the run is not judged instead
    if (!failed.includes(id) && !unreliable.has(id)) {
      const v = run.results.find((r) => r.rule === id)?.verdict ??
        checks.find((c) => c.id === id)?.verdict ?? "not checked";
      listProblems.push(
        `${run.expect?.file}:${line}: lists ${
          id.includes("/") ? "scenario check" : "rule"
        } ${id} as failing, but it is ${v}: remove the line`,
      );
    }
  }
  const counts = { pass: 0, fail: 0, "not-observable": 0, error: 0 };
  for (const r of run.results) counts[r.verdict]++;
  const checkCounts = { pass: 0, fail: 0 };
  for (const c of checks) checkCounts[c.verdict]++;
  const unexpected = failed.filter((id) => !listed.has(id));
  const bad = run.error !== undefined || run.sections.some((s) => s.error !== undefined) ||
    unexpected.length > 0 || listProblems.length > 0;
  const reason = bad ? undefined : notJudged(run, counts);
  return {
    ok: !bad && reason === undefined,
    ...(reason === undefined ? {} : { reason }),
    exitCode: bad
      ? PASSIVE_EXIT.failed
      : reason === undefined
      ? PASSIVE_EXIT.ok
      : PASSIVE_EXIT.notJudged,
    expected: failed.filter((id) => listed.has(id)),
    unexpected,
    listProblems,
    counts,
    checks: checkCounts,
  };
}

/**
 * Why a run in which nothing failed could not be judged: a section gave no
 * event (or its device could not be identified), a verdict is unreliable, or
 * no rule was decided at all. Undefined when it was judged.
 */
function notJudged(
  run: PassiveRun,
  counts: Readonly<Record<TraceRuleResult["verdict"], number>>,
): string | undefined {
  const empty = run.sections.find((s) => s.empty !== undefined);
  if (empty !== undefined) {
    return `${run.sections.length > 1 ? `${empty.name}: ` : ""}${empty.empty}`;
  }
  if (counts.error > 0) {
    const s = run.sections.find((x) => (x.problems?.length ?? 0) > 0);
    const first = s?.problems?.[0];
    return `${counts.error} verdicts unreliable because of input problems${
      first === undefined ? "" : ` (${first})`
    }`;
  }
  if (counts.pass + counts.fail === 0) return "no rule could be decided from the input";
  return undefined;
}

/**
 * Where an event is: its line in the source log when imported, and in the
 * trace (its trace line as the checker saw it, or its place in a trace held
 * in memory).
 */
export function eventPlace(e: TraceEvent, where?: Trace | number): string {
  const at = typeof where === "number"
    ? where
    : where === undefined || where.events.indexOf(e) < 0
    ? 0
    : where.events.indexOf(e) + 2;
  const parts: string[] = [];
  if (e.line !== undefined) parts.push(`log line ${e.line}`);
  if (at > 0) parts.push(`trace line ${at}`);
  return parts.join(", ");
}

/** One event in a line, without its time. */
export function eventText(e: TraceEvent): string {
  const { t: _t, line: _l, ...rest } = e;
  return JSON.stringify(rest);
}

function sectionOf(run: PassiveRun, e: TraceEvent): PassiveSection | undefined {
  return run.sections.find((s) =>
    s.results.some((r) => r.evidence.includes(e)) || s.trace?.events.includes(e)
  );
}

/** The place of a result's i-th evidence event. */
function placeOf(run: PassiveRun, r: TraceRuleResult, i: number): string {
  const e = r.evidence[i] as TraceEvent;
  const line = r.evidenceLines?.[i];
  return eventPlace(e, line !== undefined && line > 0 ? line : sectionOf(run, e)?.trace);
}

/** The offending events of a rule, one line each: where (section, log and trace line) and what. */
export function evidenceLines(run: PassiveRun, r: TraceRuleResult): string[] {
  return r.evidence.map((e, i) => {
    const s = sectionOf(run, e);
    const place = placeOf(run, r, i);
    const where = [run.sections.length > 1 && s !== undefined ? s.name : "", place].filter((x) => x)
      .join(", ");
    return `${where === "" ? "" : where + ": "}${eventText(e)}`;
  });
}

const VERDICT_WORD: Readonly<Record<TraceRuleResult["verdict"], string>> = {
  pass: "pass",
  fail: "FAIL",
  "not-observable": "not observable",
  error: "error",
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
    for (const n of s.notes ?? []) out.push(`  note: ${n}`);
    for (const p of (s.problems ?? []).slice(0, 10)) out.push(paint("yellow", `  import: ${p}`));
    if ((s.problems?.length ?? 0) > 10) {
      out.push(`  import: … ${(s.problems?.length ?? 0) - 10} more`);
    }
    if (s.empty !== undefined) out.push(paint("yellow", `  nothing to judge: ${s.empty}`));
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
      : r.verdict === "error"
      ? "yellow"
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
    `rules: ${countText(o)}${checkSummary(o)}${
      o.expected.length > 0 ? ` · ${o.expected.length} failures expected` : ""
    } · ${
      o.ok
        ? paint("green", "OK")
        : o.reason !== undefined
        ? paint("yellow", `NOT JUDGED: ${o.reason}`)
        : paint("red", "FAILED")
    }`,
  );
  return out.join("\n");
}

/** "12 pass, 2 fail, 3 error, 155 not observable" (error only when there are some). */
function countText(o: PassiveOutcome): string {
  return `${o.counts.pass} pass, ${o.counts.fail} fail, ${
    o.counts.error > 0 ? `${o.counts.error} error, ` : ""
  }${o.counts["not-observable"]} not observable`;
}

/** The run's end in words: OK, FAILED, or NOT JUDGED with the reason. */
function endWord(o: PassiveOutcome): string {
  return o.ok ? "OK" : o.reason !== undefined ? `NOT JUDGED (${o.reason})` : "FAILED";
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
    for (const n of s.notes ?? []) out.push(`- note: ${n}`);
    for (const p of s.problems ?? []) out.push(`- **import problem**: ${p}`);
    if (s.empty !== undefined) out.push(`- **nothing to judge**: ${s.empty}`);
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
  out.push("", `Rules: ${countText(o)}${checkSummary(o)}: ${endWord(o)}.`);
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
      outcome: o.ok ? "ok" : o.reason !== undefined ? "not-judged" : "failed",
      exitCode: o.exitCode,
      ...(o.reason === undefined ? {} : { reason: o.reason }),
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
        notes: s.notes ?? [],
        ...(s.empty === undefined ? {} : { empty: s.empty }),
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
        evidence: r.evidence.map((e, i) => ({ place: placeOf(run, r, i), event: e })),
      })),
    },
    null,
    2,
  ) + "\n";
}
