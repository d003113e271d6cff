/**
 * The terminal summary of a run, readable in ten seconds: a header, one
 * line per target and per area, the failures with their rule, bytes and
 * rerun command, the mutant kill summary, rule coverage and the verdict.
 *
 * @module
 */

import { styleText } from "node:util";
import { DEFECTS, RULE_FAMILIES } from "../../spec/mod.ts";
import type { SuiteRun } from "../run/suite.ts";
import {
  type DefectRow,
  failureDetail,
  formatDuration,
  type ReportContext,
  type ReportModel,
  reportModel,
  SUITE_NAME,
  SUITE_VERSION,
} from "./model.ts";
import type { CaseResult } from "../model/types.ts";

/** Options of {@link terminalReport}. */
export interface TerminalOptions {
  /** Use ANSI colours (default false). */
  readonly color?: boolean;
  /** Failures shown in full before "… N more" (default 20). */
  readonly maxFailures?: number;
}

/** Mutant targets listed one per line; more are folded into one line. */
const MAX_MUTANT_LINES = 5;

type Paint = (style: Parameters<typeof styleText>[0], text: string) => string;

function painter(color: boolean): Paint {
  return color ? (style, text) => styleText(style, text, { validateStream: false }) : (_s, t) => t;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function indent(text: string, by: string): string {
  return text.split("\n").map((l) => by + l).join("\n");
}

function header(m: ReportModel, paint: Paint): string[] {
  const { run, context } = m;
  const generated = run.cases.filter((k) => k.generated).length;
  const lines = [
    paint("bold", `${SUITE_NAME} ${SUITE_VERSION}`) +
    ` · profile ${context.profile} · ${plural(run.targets.length, "target")} · ${
      plural(run.cases.length, "case")
    } · ${formatDuration(run.ms)}`,
    paint(
      "dim",
      `${plural(run.cases.length, "case")} of ${
        plural(new Set(run.cases.flatMap((k) => k.rules)).size, "rule")
      }: ${generated} generated from the tables, ${run.cases.length - generated} written`,
    ),
  ];
  if (context.filters !== undefined && context.filters.length > 0) {
    lines.push(`filter: ${context.filters.join(", ")}`);
  }
  if (run.strict) lines.push("strict: SHOULD / SHOULD NOT failures count as failures");
  return lines;
}

function targetLines(m: ReportModel, paint: Paint): string[] {
  const shown = m.targets.filter((t) => !t.mutant || m.kills.length <= MAX_MUTANT_LINES);
  const width = Math.max(...shown.map((t) => t.target.name.length), 6);
  const lines = ["", paint("bold", "Targets")];
  const kills = new Map(m.kills.map((k) => [k.mutant, k]));
  const mutants = m.targets.filter((t) => t.mutant);
  const folded = mutants.length > MAX_MUTANT_LINES;
  const expected = m.expect?.expected ?? [];
  for (const t of m.targets) {
    if (t.mutant && folded) continue;
    const x = (v: string) => expected.filter((r) => r.target === t.target.name && r.verdict === v);
    const c = {
      ...t.counts,
      fail: t.counts.fail - x("fail").length,
      warn: t.counts.warn - x("warn").length,
    };
    const parts = [
      paint("green", `${String(c.pass).padStart(3)} pass`),
      (c.fail > 0 && !t.mutant ? (s: string) => paint(["red", "bold"], s) : (s: string) => s)(
        `${String(c.fail).padStart(3)} fail`,
      ),
      (c.warn > 0 ? (s: string) => paint("yellow", s) : (s: string) => s)(
        `${String(c.warn).padStart(3)} warn`,
      ),
    ];
    if (c.unsupported > 0) parts.push(`${c.unsupported} unsupported`);
    if (c.error > 0) parts.push(paint("red", `${c.error} error`));
    if (t.expected > 0) parts.push(`${t.expected} expected failure${t.expected === 1 ? "" : "s"}`);
    let status: string;
    if (t.mutant) {
      const k = kills.get(t.target.name);
      status = k?.status === "killed"
        ? paint("green", "mutant killed")
        : k?.status === "survived"
        ? paint(["red", "bold"], "mutant SURVIVED")
        : paint("dim", "mutant: no declared case selected");
    } else {
      const judged = c.pass + c.fail + c.warn > 0 || t.total === 0;
      status = t.failing > 0
        ? paint(["red", "bold"], "FAILED")
        : judged
        ? paint("green", "ok")
        : paint(["red", "bold"], "NOT JUDGED");
    }
    lines.push(`  ${t.target.name.padEnd(width)}  ${parts.join("  ")}   ${status}`);
  }
  if (folded) {
    const survived = m.kills.filter((k) => k.status === "survived").length;
    lines.push(
      `  ${plural(mutants.length, "mutant")}: ${
        survived > 0
          ? paint(["red", "bold"], `${survived} SURVIVED`)
          : paint("green", "none survived")
      } (see Mutants below)`,
    );
  }
  return lines;
}

function areaLines(m: ReportModel, paint: Paint): string[] {
  const subjects = m.targets.filter((t) => !t.mutant).map((t) => t.target.name);
  if (subjects.length === 0 || m.areas.length === 0) return [];
  const lines = [
    "",
    paint("bold", `Areas`) +
    paint(
      "dim",
      ` (cases by rule family: driver + device, the rules they cite; ${subjects.join(", ")})`,
    ),
  ];
  const width = Math.max(...m.areas.map((a) => a.area.length));
  for (const a of m.areas) {
    const c = a.counts;
    const parts = [`${String(c.pass).padStart(3)} pass`];
    if (c.fail > 0) parts.push(paint(["red", "bold"], `${c.fail} FAIL`));
    if (c.warn > 0) parts.push(paint("yellow", `${c.warn} warn`));
    if (c.unsupported > 0) parts.push(`${c.unsupported} unsupported`);
    if (c.error > 0) parts.push(paint("red", `${c.error} error`));
    if (a.expected > 0) parts.push(`${a.expected} expected failure${a.expected === 1 ? "" : "s"}`);
    const split = `${String(a.driverCases).padStart(3)} + ${String(a.deviceCases).padEnd(3)}`;
    const gen = a.generated > 0
      ? paint(
        "dim",
        `  (${a.generated} generated over ${plural(a.generatedScenarios, "scenario")})`,
      )
      : "";
    lines.push(
      `  ${a.area.padEnd(width)}  ${split} cases ${String(a.rules.length).padStart(3)} rule${
        a.rules.length === 1 ? " " : "s"
      }  ${parts.join("  ")}${gen}`,
    );
  }
  return lines;
}

/** Width failure blocks are wrapped to. */
const WIDTH = 100;

/** Words of `text` wrapped to {@link WIDTH}: the first line after `first`, the others after `rest`. */
export function wrap(text: string, first: string, rest: string): string[] {
  const out: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/ +/)) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      out.push(line);
      line = rest + word;
    } else {
      line += (empty ? "" : " ") + word;
    }
    empty = false;
  }
  out.push(line);
  return out;
}

function defectTitle(id: string): string {
  return DEFECTS.find((d) => d.id === id)?.title ?? "";
}

function failureBlock(
  r: CaseResult,
  defects: ReadonlyMap<string, DefectRow>,
  paint: Paint,
): string[] {
  const d = failureDetail(r);
  const mark = r.verdict === "error" ? "ERROR" : "FAIL";
  const lines = [
    `${paint(["red", "bold"], mark)} ${paint("bold", r.case)} on ${r.target} ${
      paint("dim", `(${r.level})`)
    }`,
    ...d.rules.flatMap((x) => wrap(x, "    ", "      ")),
    ...wrap(d.message, "    ", "    "),
  ];
  if (d.expected !== undefined) lines.push(...wrap(d.expected, "    expected: ", "              "));
  if (d.actual !== undefined) lines.push(...wrap(d.actual, "    actual:   ", "              "));
  const row = defects.get(`${r.target}\n${r.case}`);
  if (row !== undefined && row.defects.length > 0) {
    const titled = row.defects.map((id) => `${id} ${defectTitle(id)}`);
    lines.push(
      ...titled.flatMap((t, i) =>
        wrap(t, i === 0 ? "    defects:  " : "              ", "                ")
      ),
    );
  }
  if (d.hexdump !== undefined) lines.push(indent(d.hexdump, "    "));
  lines.push(paint("dim", `    rerun: ${r.rerun}`));
  return lines;
}

function failureLines(m: ReportModel, paint: Paint, max: number): string[] {
  const lines: string[] = [];
  const defects = new Map(m.defects.map((d) => [`${d.target}\n${d.case}`, d]));
  if (m.failures.length > 0) {
    lines.push("", paint("bold", `Failures (${m.failures.length})`));
    for (const r of m.failures.slice(0, max)) lines.push(...failureBlock(r, defects, paint));
    if (m.failures.length > max) {
      const md = m.context.written?.find((p) => p.endsWith(".md"));
      lines.push(
        `… ${m.failures.length - max} more, ${
          md === undefined ? "write them all with --report markdown" : `see ${md}`
        }`,
      );
    }
  }
  if (m.groups.length > 0) {
    lines.push(
      "",
      paint("bold", "Shared causes") + paint("dim", " (failures that rest on one observation)"),
    );
    for (const g of m.groups) {
      lines.push(
        ...wrap(
          `${g.target}: ${g.cases.length} cases fail on one observation, ${g.root} (${
            g.rules.join(", ")
          }): ${g.cases.slice(0, 6).join(", ")}${g.cases.length > 6 ? ", …" : ""}`,
          "  ",
          "    ",
        ),
      );
    }
  }
  if (m.warnings.length > 0) {
    lines.push(
      "",
      paint("bold", `Warnings (${m.warnings.length}, SHOULD rules; --strict fails them)`),
    );
    for (const r of m.warnings.slice(0, 10)) {
      const d = failureDetail(r);
      lines.push(`${paint("yellow", "warn")} ${r.case} on ${r.target}: ${d.message}`);
    }
    if (m.warnings.length > 10) lines.push(`… ${m.warnings.length - 10} more`);
  }
  return lines;
}

function defectSummary(m: ReportModel, paint: Paint): string[] {
  if (m.defects.length === 0) return [];
  const byDefect = new Map<string, number>();
  for (const row of m.defects) {
    for (const d of row.defects) byDefect.set(d, (byDefect.get(d) ?? 0) + 1);
  }
  const none = m.defects.filter((r) => r.defects.length === 0).length;
  const targets = [...new Set(m.defects.map((r) => r.target))].join(", ");
  return [
    "",
    paint("bold", `Seed defects behind the failures of ${targets}`) +
    paint("dim", " (cases failed per defect)"),
    `  ${
      [...byDefect].sort(([a], [b]) => a.localeCompare(b)).map(([d, n]) => `${d} ${n}`).join(
        " · ",
      )
    }${none > 0 ? ` · unattributed ${none}` : ""}`,
  ];
}

function mutantLines(m: ReportModel, paint: Paint): string[] {
  if (m.kills.length === 0) return [];
  const killed = m.kills.filter((k) => k.status === "killed");
  const survived = m.kills.filter((k) => k.status === "survived");
  const idle = m.kills.filter((k) => k.status === "not-selected");
  const lines = [
    "",
    paint("bold", "Mutants") +
    `: ${m.kills.length} run · ${killed.length} killed (failed every declared case) · ${survived.length} survived${
      idle.length > 0 ? ` · ${idle.length} with no declared case selected` : ""
    }`,
  ];
  for (const k of m.kills) {
    if (k.status === "survived") {
      lines.push(
        `  ${paint(["red", "bold"], "SURVIVED")} ${k.mutant}: passed ${k.missing.join(", ")}`,
      );
    } else if (k.status === "killed" && m.kills.length <= MAX_MUTANT_LINES) {
      lines.push(
        `  ${
          paint("green", "killed")
        } ${k.mutant}: failed ${k.killed.length}/${k.declared.length} declared case${
          k.declared.length === 1 ? "" : "s"
        }${k.also.length > 0 ? ` (and ${k.also.length} other)` : ""}`,
      );
    }
  }
  if (idle.length > 0) {
    lines.push(
      `  no declared case selected (nothing proven): ${
        idle.slice(0, 5).map((k) => k.mutant).join(", ")
      }${idle.length > 5 ? ", …" : ""}`,
    );
  }
  const u = m.unkilled;
  if (m.kills.length > 1) {
    lines.push(
      `  cases no mutant in this run failed: ${u.length}${
        u.length > 0 && u.length <= 8 ? ` (${u.join(", ")})` : ""
      }`,
    );
  }
  return lines;
}

function coverageLines(m: ReportModel, paint: Paint): string[] {
  const lines: string[] = [];
  for (const c of m.coverages) {
    const levels = Object.entries(c.byLevel).map(([l, [n, total]]) => `${l} ${n}/${total}`);
    lines.push(
      "",
      paint("bold", `Rule coverage of profile ${c.profile}`) +
        paint("dim", " (rules with a case / rules, whole case table)"),
      `  ${levels.join(" · ")}`,
      `  ${c.explained.length} of ${
        mustTotal(c)
      } MUST / MUST NOT rules are checked by no case (each states why: report.md lists them)${
        c.unexplained.length > 0
          ? paint(["red", "bold"], `; ${c.unexplained.length} have no reason`)
          : ""
      }`,
    );
  }
  lines.push(...legend().map((l) => paint("dim", l)));
  return lines;
}

/** The rule-id legend, two families a line. */
function legend(): string[] {
  const parts = RULE_FAMILIES.map((f) => `${f.prefix}nn ${f.short}`);
  const out: string[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    out.push(`  ${i === 0 ? "rule ids:" : "         "} ${parts.slice(i, i + 2).join(" · ")}`);
  }
  return out;
}

function mustTotal(c: ReportModel["coverage"]): number {
  return c.byLevel["MUST"][1] + c.byLevel["MUST NOT"][1];
}

function expectLines(m: ReportModel, paint: Paint): string[] {
  const e = m.expect;
  if (e === undefined) return [];
  const lines = [
    "",
    paint("bold", "Expected failures") +
    `: ${e.expected.length} result${
      e.expected.length === 1 ? "" : "s"
    } failed as listed in ${e.file} (${e.entries} entr${e.entries === 1 ? "y" : "ies"}${
      e.notRun.length > 0 ? `, ${e.notRun.length} not in this run` : ""
    })`,
  ];
  for (const p of e.problems) lines.push(`  ${paint(["red", "bold"], "STALE")} ${p.message}`);
  return lines;
}

/**
 * Renders the terminal summary of a run.
 *
 * @example
 * ```ts
 * import { CASES, REFERENCE_DRIVER, runSuite } from "../mod.ts";
 * import { terminalReport } from "./terminal.ts";
 * import assert from "node:assert/strict";
 * const run = runSuite({ cases: CASES.filter((k) => k.area === "oom"), targets: [REFERENCE_DRIVER] });
 * const text = terminalReport(run, { profile: "v3", startedAt: new Date() });
 * assert.match(text, /reference-driver +5 pass +0 fail +0 warn +ok/);
 * assert.match(text, /^PASS/m);
 * ```
 */
export function terminalReport(
  run: SuiteRun,
  context: ReportContext,
  options: TerminalOptions = {},
): string {
  const m = reportModel(run, context);
  const paint = painter(options.color ?? false);
  const lines = [
    ...header(m, paint),
    ...targetLines(m, paint),
    ...areaLines(m, paint),
    ...failureLines(m, paint, options.maxFailures ?? 20),
    ...defectSummary(m, paint),
    ...expectLines(m, paint),
    ...mutantLines(m, paint),
    ...coverageLines(m, paint),
  ];
  if (context.written !== undefined && context.written.length > 0) {
    lines.push("", paint("bold", "Reports") + `: ${context.written.join("  ")}`);
  }
  lines.push("");
  if (m.ok) {
    const subjects = m.targets.filter((t) => !t.mutant).length;
    const what = [
      subjects > 0 ? `no failure on ${plural(subjects, "target")}` : "",
      m.kills.some((k) => k.status === "killed") ? "every mutant failed its declared cases" : "",
      m.kills.some((k) => k.status === "not-selected")
        ? "mutants with no declared case selected proved nothing"
        : "",
    ].filter((x) => x).join("; ");
    lines.push(`${paint(["green", "bold"], "PASS")}: ${what}`);
  } else {
    const fail = paint(["red", "bold"], "FAIL");
    if (m.problems.length === 1) lines.push(`${fail}: ${m.problems[0]}`);
    else {
      lines.push(`${fail}: ${m.problems.length} problems`);
      for (const p of m.problems.slice(0, 10)) lines.push(`  ${p}`);
      if (m.problems.length > 10) lines.push(`  … ${m.problems.length - 10} more`);
    }
  }
  return lines.join("\n");
}
