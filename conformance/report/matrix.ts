/**
 * A case × target table of verdicts for the terminal: one row per case, one
 * column per target, every verdict spelt out (pass, fail, warn,
 * unsupported, error; an expected failure marked `xfail` / `xwarn`). The
 * terminal summary counts; this shows which case did what on which target —
 * what a reader of a real device's run (QEMU's device variants) asks first.
 *
 * @module
 */

import type { CaseDef, CaseResult, Target, Verdict } from "../model/types.ts";

/** Options of {@link verdictMatrix}. */
export interface VerdictMatrixOptions {
  /** Results the expected-failure list accounts for. */
  readonly expected?: ReadonlySet<CaseResult>;
  /** A line printed above the table (e.g. the device's version and the run time). */
  readonly title?: string;
}

const WORD: Readonly<Record<Verdict, string>> = {
  pass: "pass",
  fail: "FAIL",
  warn: "warn",
  unsupported: "unsup",
  error: "ERROR",
};

/** The longest common prefix of names that ends in `:` (e.g. `qemu-device:`), or "". */
function commonPrefix(names: readonly string[]): string {
  if (names.length < 2) return "";
  const first = names[0] as string;
  let n = first.length;
  for (const x of names) {
    let i = 0;
    while (i < n && i < x.length && x[i] === first[i]) i++;
    n = i;
  }
  const cut = first.lastIndexOf(":", n - 1);
  return cut < 0 ? "" : first.slice(0, cut + 1);
}

/**
 * The table of `results` for `cases` × `targets` (cases no target ran are
 * left out), with a legend and the verdict counts per target.
 *
 * @example
 * ```ts
 * import { verdictMatrix } from "./matrix.ts";
 * import assert from "node:assert/strict";
 * const k = { id: "device.pfn.inflate", role: "device" } as never;
 * const t = [{ name: "qemu-device:default" }, { name: "qemu-device:legacy-only" }] as never;
 * const r = (target: string, verdict: "pass" | "unsupported") =>
 *   ({ case: "device.pfn.inflate", target, verdict }) as never;
 * const text = verdictMatrix([k], t, [r("qemu-device:default", "pass"), r("qemu-device:legacy-only", "unsupported")]);
 * assert.match(text, /device\.pfn\.inflate\s+pass\s+unsup/);
 * assert.match(text, /qemu-device: default, legacy-only/);
 * ```
 */
export function verdictMatrix(
  cases: readonly CaseDef[],
  targets: readonly Target[],
  results: readonly CaseResult[],
  options: VerdictMatrixOptions = {},
): string {
  const by = new Map(results.map((r) => [`${r.target}\n${r.case}`, r]));
  const names = targets.map((t) => t.name);
  const prefix = commonPrefix(names);
  const heads = names.map((n) => n.slice(prefix.length));
  const rows = cases.filter((k) => names.some((n) => by.has(`${n}\n${k.id}`)));
  const idWidth = Math.max(4, ...rows.map((k) => k.id.length));
  const widths = heads.map((h) => Math.max(h.length, 5));
  const cell = (r: CaseResult | undefined): string => {
    if (r === undefined) return "-";
    const w = WORD[r.verdict];
    return options.expected?.has(r) === true ? `x${w.toLowerCase()}` : w;
  };
  const lines: string[] = [];
  if (options.title !== undefined) lines.push(options.title);
  if (prefix !== "") lines.push(`${prefix.slice(0, -1)}: ${heads.join(", ")}`);
  lines.push(
    `  ${"case".padEnd(idWidth)}  ${heads.map((h, i) => h.padEnd(widths[i] ?? 0)).join("  ")}`,
  );
  for (const k of rows) {
    const cells = names.map((n, i) => cell(by.get(`${n}\n${k.id}`)).padEnd(widths[i] ?? 0));
    lines.push(`  ${k.id.padEnd(idWidth)}  ${cells.join("  ")}`.trimEnd());
  }
  const counts = names.map((n) => {
    const c: Record<Verdict, number> = { pass: 0, fail: 0, warn: 0, unsupported: 0, error: 0 };
    for (const r of results) if (r.target === n) c[r.verdict]++;
    return c;
  });
  for (const v of ["pass", "fail", "warn", "unsupported", "error"] as const) {
    if (counts.every((c) => c[v] === 0)) continue;
    const cells = counts.map((c, i) => String(c[v]).padEnd(widths[i] ?? 0));
    lines.push(`  ${`${v} (total)`.padEnd(idWidth)}  ${cells.join("  ")}`.trimEnd());
  }
  lines.push(
    "  pass: judged and kept · FAIL / warn: a MUST / SHOULD broken · unsup: cannot be judged here" +
      " (the reason is in report.md) · xfail / xwarn: listed in --expect-fail",
  );
  return lines.join("\n");
}
