/**
 * What every report of a run shares: per-target and per-area counts, the
 * mutant kill matrix, defect attribution for targets that reproduce seed
 * defects, rule coverage, expected failures, and whether the run passed.
 *
 * @module
 */

import { QEMU_DEVICE_VARIANTS, qemuDeviceTargetName } from "../targets/qemu-device/target.ts";
import { dirname, isAbsolute, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type Level, type ProfileId, rule, specAnchor } from "../../spec/mod.ts";
import { CASE_FAMILIES, caseById, CASES } from "../cases/cases.ts";
import { type Coverage, coverage } from "../cases/coverage.ts";
import { hexdump } from "../model/evidence.ts";
import { matchesPattern, MUTANTS } from "../targets/mutants/mutants.ts";
import { type ExpectList, type ExpectOutcome, expectOutcome } from "../run/expect.ts";
import type { SuiteRun } from "../run/suite.ts";
import {
  REFERENCE_DEVICE,
  REFERENCE_DEVICE_V1X,
  REFERENCE_DRIVER,
  REFERENCE_DRIVER_V1X,
  V3_AS_POSTED,
} from "../targets/reference/reference.ts";
import type { CaseDef, CaseResult, Target, Verdict } from "../model/types.ts";

/** Name printed in reports. */
export const SUITE_NAME = "virtio-balloon conformance suite";

/** Version of the suite (kept equal to `deno.json`). */
export const SUITE_VERSION = "0.1.0";

/** Areas (rule families) in report order. */
export const AREAS: readonly string[] = CASE_FAMILIES.map((f) => f.area);

/** Every verdict, in report order. */
export const VERDICTS: readonly Verdict[] = ["pass", "fail", "warn", "unsupported", "error"];

/** What a report needs besides the run. */
export interface ReportContext {
  /** Profile run (`all`: both). */
  readonly profile: ProfileId | "all";
  /** When the run started. */
  readonly startedAt: Date;
  /** When it ended (default: `startedAt` plus the run's time). */
  readonly finishedAt?: Date;
  /** The `--filter` values, if any. */
  readonly filters?: readonly string[];
  /** The expected-failure list, if any. */
  readonly expectFail?: ExpectList;
  /**
   * Results of single-quirk drivers (target names `quirk:D-nn`) run on the
   * same guest as a target that reproduces seed defects, on the cases it
   * failed: they attribute each failure to the quirks that cause it. They
   * are not reported as targets.
   */
  readonly attribution?: readonly CaseResult[];
  /** Directory the reports go to (named in the terminal summary). */
  readonly outDir?: string;
  /** Report files written (listed in the terminal summary). */
  readonly written?: readonly string[];
}

/** Counts of one target's results. */
export interface TargetSummary {
  /** The target. */
  readonly target: Target;
  /** Whether it is a mutant (its failures are expected; it must fail its declared cases). */
  readonly mutant: boolean;
  /** Results per verdict. */
  readonly counts: Readonly<Record<Verdict, number>>;
  /** Results that failed or warned as the expected-failure list says. */
  readonly expected: number;
  /** Results that fail the run (always 0 for mutants: see the kill matrix). */
  readonly failing: number;
  /** Number of results. */
  readonly total: number;
}

/** Counts of one area over the non-mutant targets. */
export interface AreaSummary {
  /** Area (rule family). */
  readonly area: string;
  /** What the family covers, in words. */
  readonly title: string;
  /** Cases of the area in the run. */
  readonly cases: number;
  /** Of which driver cases. */
  readonly driverCases: number;
  /** Of which device cases. */
  readonly deviceCases: number;
  /** The distinct rules its cases cite. */
  readonly rules: readonly string[];
  /** Cases generated from the spec tables. */
  readonly generated: number;
  /** Scenarios the generated cases run (e.g. one per feature combination). */
  readonly generatedScenarios: number;
  /** The case ids, folded into patterns (`negotiation.offer.*`). */
  readonly ids: readonly string[];
  /** Results per verdict (expected failures are not counted here). */
  readonly counts: Readonly<Record<Verdict, number>>;
  /** Results that failed or warned as the expected-failure list says. */
  readonly expected: number;
}

/** One row of the kill matrix. */
export interface KillRow {
  /** Mutant name. */
  readonly mutant: string;
  /** What is wrong with it. */
  readonly description: string;
  /** Its declared kill patterns. */
  readonly patterns: readonly string[];
  /** The run's cases the patterns match. */
  readonly declared: readonly string[];
  /** Declared cases it failed (or warned on). */
  readonly killed: readonly string[];
  /** Declared cases it did not fail. */
  readonly missing: readonly string[];
  /** Other cases it failed. */
  readonly also: readonly string[];
  /** `killed`: failed every declared case; `survived`: missed some; `not-selected`: none ran. */
  readonly status: "killed" | "survived" | "not-selected";
}

/** One row of the "seed as posted" table. */
export interface DefectRow {
  /** Target. */
  readonly target: string;
  /** Case id. */
  readonly case: string;
  /** Rules the failing findings cite. */
  readonly rules: readonly string[];
  /** Level of the result. */
  readonly level: Level;
  /** Defects the failure comes from. */
  readonly defects: readonly string[];
  /**
   * `quirks`: the quirks that fail the case when switched on alone (see
   * {@link ReportContext.attribution}); `rules`: the rule table's defect links.
   */
  readonly by: "quirks" | "rules";
}

/** Everything the reports show about a run. */
export interface ReportModel {
  /** The run. */
  readonly run: SuiteRun;
  /** The context. */
  readonly context: ReportContext;
  /** When the run ended. */
  readonly finishedAt: Date;
  /** One per target, in run order. */
  readonly targets: readonly TargetSummary[];
  /** One per area with cases, over the non-mutant targets. */
  readonly areas: readonly AreaSummary[];
  /** Results of non-mutant targets that fail the run. */
  readonly failures: readonly CaseResult[];
  /** Results of non-mutant targets that warn (SHOULD failures outside strict mode). */
  readonly warnings: readonly CaseResult[];
  /** Failures and warnings of one target that share a root observation (two or more). */
  readonly groups: readonly RootGroup[];
  /** One row per mutant in the run. */
  readonly kills: readonly KillRow[];
  /** Cases (of a role some mutant in the run plays) that no mutant in the run failed. */
  readonly unkilled: readonly string[];
  /** Failing cases of targets that reproduce seed defects, with the defects. */
  readonly defects: readonly DefectRow[];
  /** Rule coverage of the profile by the whole case table (the first profile, for `all`). */
  readonly coverage: Coverage;
  /** Rule coverage of each profile run (one, or both for `all`). */
  readonly coverages: readonly Coverage[];
  /** How the expected-failure list matched, if one was given. */
  readonly expect?: ExpectOutcome;
  /** Why the run fails (empty: it passes). */
  readonly problems: readonly string[];
  /** Whether the run passes (exit code 0). */
  readonly ok: boolean;
  /** True when the only problems are targets none of whose cases could be judged (exit 3). */
  readonly nothingJudged: boolean;
}

const MUTANT_NAMES = new Set(MUTANTS.map((m) => m.name));

/** Every target name the command line accepts one by one. */
export const TARGET_NAMES: readonly string[] = [
  REFERENCE_DRIVER.name,
  REFERENCE_DEVICE.name,
  V3_AS_POSTED.name,
  REFERENCE_DRIVER_V1X.name,
  REFERENCE_DEVICE_V1X.name,
  ...MUTANTS.map((m) => m.name),
  ...QEMU_DEVICE_VARIANTS.map((v) => qemuDeviceTargetName(v.name)),
];

/** Whether a target name is a mutant's. */
export function isMutant(name: string): boolean {
  return MUTANT_NAMES.has(name);
}

/** The area (rule family) of a case id; for an id outside the case table, its first segment. */
export function areaOf(caseId: string): string {
  return caseById(caseId)?.area ?? caseId.split(".")[0] ?? caseId;
}

/**
 * Case ids folded into patterns: ids sharing their first two segments with
 * another id become `first.second.*`.
 */
export function idPatterns(ids: readonly string[]): string[] {
  const groups = new Map<string, string[]>();
  for (const id of ids) {
    const key = id.split(".").slice(0, 2).join(".");
    groups.set(key, [...(groups.get(key) ?? []), id]);
  }
  return [...groups].map(([key, list]) => list.length > 1 ? `${key}.*` : list[0] as string);
}

/** Results that count as a failure of their case (fail, or warn for SHOULD rules). */
export function resultFailed(r: CaseResult): boolean {
  return r.verdict === "fail" || r.verdict === "warn";
}

function zero(): Record<Verdict, number> {
  return { pass: 0, fail: 0, warn: 0, unsupported: 0, error: 0 };
}

/** The failing findings' rules of a result (the case's rules when none). */
export function failingRules(r: CaseResult, k?: CaseDef): string[] {
  const ids = [...new Set(r.findings.filter((f) => !f.ok).map((f) => f.rule))];
  return ids.length > 0 ? ids : [...(k?.rules ?? [])];
}

function killRows(run: SuiteRun): KillRow[] {
  const rows: KillRow[] = [];
  for (const t of run.targets) {
    const m = MUTANTS.find((x) => x.name === t.name);
    if (m === undefined) continue;
    const mine = run.results.filter((r) => r.target === t.name);
    const ran = new Set(mine.map((r) => r.case));
    const declared = run.cases
      .filter((k) => ran.has(k.id) && m.kills.some((p) => matchesPattern(k.id, p)))
      .map((k) => k.id);
    const hit = new Set(mine.filter(resultFailed).map((r) => r.case));
    const killed = declared.filter((id) => hit.has(id));
    const missing = declared.filter((id) => !hit.has(id));
    const also = [...hit].filter((id) => !declared.includes(id));
    const status = declared.length === 0
      ? "not-selected"
      : missing.length === 0
      ? "killed"
      : "survived";
    rows.push({
      mutant: m.name,
      description: m.description,
      patterns: m.kills,
      declared,
      killed,
      missing,
      also,
      status,
    });
  }
  return rows;
}

function unkilledCases(run: SuiteRun): string[] {
  const mutants = run.targets.filter((t) => isMutant(t.name));
  if (mutants.length === 0) return [];
  const roles = new Set(mutants.map((t) => `${t.kind} ${t.profile}`));
  const hit = new Set(
    run.results.filter((r) => isMutant(r.target) && resultFailed(r)).map((r) => r.case),
  );
  return run.cases.filter((k) => roles.has(`${k.role} ${k.profile}`) && !hit.has(k.id)).map((
    k,
  ) => k.id);
}

/** The profiles a report context covers. */
export function profilesOf(profile: ProfileId | "all"): ProfileId[] {
  return profile === "all" ? ["v3", "virtio-1.x"] : [profile];
}

function defectRows(run: SuiteRun, attribution: readonly CaseResult[]): DefectRow[] {
  const quirkFails = new Map<string, Set<string>>();
  const quirkRan = new Set<string>();
  for (const r of attribution) {
    if (!r.target.startsWith("quirk:")) continue;
    quirkRan.add(r.case);
    if (!resultFailed(r)) continue;
    const s = quirkFails.get(r.case) ?? new Set<string>();
    s.add(r.target.slice("quirk:".length));
    quirkFails.set(r.case, s);
  }
  const rows: DefectRow[] = [];
  for (const t of run.targets) {
    const own = t.kind === "driver" ? t.defects ?? [] : [];
    if (own.length === 0 || isMutant(t.name)) continue;
    for (const r of run.results) {
      if (r.target !== t.name || !resultFailed(r)) continue;
      const byMutants = [...(quirkFails.get(r.case) ?? [])].filter((d) => own.includes(d)).sort();
      const useMutants = quirkRan.has(r.case) && byMutants.length > 0;
      rows.push({
        target: t.name,
        case: r.case,
        rules: failingRules(r),
        level: r.level,
        defects: useMutants ? byMutants : [...(r.defects ?? [])],
        by: useMutants ? "quirks" : "rules",
      });
    }
  }
  return rows;
}

/**
 * Computes what the reports share.
 *
 * @example
 * ```ts
 * import { CASES, REFERENCE_DRIVER, runSuite } from "../mod.ts";
 * import { reportModel } from "./model.ts";
 * import assert from "node:assert/strict";
 * const run = runSuite({ cases: CASES.filter((k) => k.area === "oom"), targets: [REFERENCE_DRIVER] });
 * const model = reportModel(run, { profile: "v3", startedAt: new Date() });
 * assert.equal(model.ok, true);
 * assert.equal(model.targets[0]?.counts.pass, 5);
 * ```
 */
export function reportModel(run: SuiteRun, context: ReportContext): ReportModel {
  const expect = context.expectFail === undefined
    ? undefined
    : expectOutcome(context.expectFail, run.results, TARGET_NAMES);
  const expectedSet = new Set(expect?.expected ?? []);
  const subject = run.results.filter((r) => !isMutant(r.target));
  const failures = subject.filter((r) =>
    (r.verdict === "fail" || r.verdict === "error") && !expectedSet.has(r)
  );
  const warnings = subject.filter((r) => r.verdict === "warn" && !expectedSet.has(r));
  const targets = run.targets.map((t): TargetSummary => {
    const mine = run.results.filter((r) => r.target === t.name);
    const counts = zero();
    for (const r of mine) counts[r.verdict]++;
    const mutant = isMutant(t.name);
    return {
      target: t,
      mutant,
      counts,
      expected: mine.filter((r) => expectedSet.has(r)).length,
      failing: mutant ? 0 : failures.filter((r) => r.target === t.name).length,
      total: mine.length,
    };
  });
  const subjectCases = new Set(subject.map((r) => r.case));
  const ran = run.cases.filter((k) => subjectCases.has(k.id));
  const areaNames = [...new Set(ran.map((k) => k.area))].sort((a, b) =>
    (AREAS.indexOf(a) + 1 || 99) - (AREAS.indexOf(b) + 1 || 99) || a.localeCompare(b)
  );
  const areas = areaNames.map((area): AreaSummary => {
    const counts = zero();
    let expected = 0;
    for (const r of subject) {
      if (areaOf(r.case) !== area) continue;
      if (expectedSet.has(r)) expected++;
      else counts[r.verdict]++;
    }
    const mine = ran.filter((k) => k.area === area);
    const generated = mine.filter((k) => k.generated);
    return {
      area,
      title: CASE_FAMILIES.find((f) => f.area === area)?.title ?? area,
      cases: mine.length,
      driverCases: mine.filter((k) => k.role === "driver").length,
      deviceCases: mine.filter((k) => k.role === "device").length,
      rules: [...new Set(mine.flatMap((k) => k.rules))].sort(),
      generated: generated.length,
      generatedScenarios: new Set(generated.map((k) => k.scenario)).size,
      ids: idPatterns(mine.map((k) => k.id)),
      counts,
      expected,
    };
  });
  const kills = killRows(run);
  const coverages = profilesOf(context.profile).map((p) => coverage(CASES, p));
  const problems: string[] = [];
  let unjudged = 0;
  for (const t of targets) {
    if (t.failing > 0) {
      problems.push(`${t.target.name}: ${t.failing} result${t.failing === 1 ? "" : "s"} failed`);
    }
    // a target none of whose cases could be judged (all unsupported or errored) is no pass
    const judged = t.counts.pass + t.counts.fail + t.counts.warn;
    if (!t.mutant && t.total > 0 && judged === 0 && t.failing === 0) {
      unjudged++;
      problems.push(
        `${t.target.name}: none of its ${t.total} cases could be judged (${t.counts.unsupported} unsupported, ${t.counts.error} errors)`,
      );
    }
  }
  for (const k of kills) {
    if (k.status === "survived") {
      problems.push(
        `mutant ${k.mutant} survived: it passed ${k.missing.length} of its declared cases (${
          k.missing.slice(0, 3).join(", ")
        }${k.missing.length > 3 ? ", …" : ""})`,
      );
    }
  }
  for (const p of expect?.problems ?? []) problems.push(p.message);
  const finishedAt = context.finishedAt ?? new Date(context.startedAt.getTime() + run.ms);
  return {
    run,
    context,
    finishedAt,
    targets,
    areas,
    failures,
    warnings,
    groups: rootGroups([...failures, ...warnings]),
    kills,
    unkilled: unkilledCases(run),
    defects: defectRows(run, context.attribution ?? []),
    coverage: coverages[0] as Coverage,
    coverages,
    ...(expect === undefined ? {} : { expect }),
    problems,
    ok: problems.length === 0,
    nothingJudged: problems.length > 0 && problems.length === unjudged,
  };
}

/** Results of one target that fail on the same root observation. */
export interface RootGroup {
  /** The target. */
  readonly target: string;
  /** The root observation, in words. */
  readonly root: string;
  /** The rules the grouped findings cite. */
  readonly rules: readonly string[];
  /** The cases, in report order. */
  readonly cases: readonly string[];
}

/** The root observation of a failing result: that of its first failing finding that names one. */
export function rootOf(r: CaseResult): string | undefined {
  return r.findings.find((f) => !f.ok && f.root !== undefined)?.root;
}

function rootGroups(results: readonly CaseResult[]): RootGroup[] {
  const by = new Map<string, CaseResult[]>();
  for (const r of results) {
    const root = rootOf(r);
    if (root === undefined) continue;
    const key = `${r.target}\n${root}`;
    by.set(key, [...(by.get(key) ?? []), r]);
  }
  return [...by.entries()].filter(([, rs]) => rs.length > 1).map(([key, rs]) => ({
    target: key.split("\n")[0] as string,
    root: key.split("\n")[1] as string,
    rules: [
      ...new Set(
        rs.flatMap((r) =>
          r.findings.filter((f) => !f.ok && f.root !== undefined).map((f) => f.rule)
        ),
      ),
    ],
    cases: rs.map((r) => r.case),
  }));
}

/** What a report shows about one failing result. */
export interface FailureDetail {
  /** `R-07 MUST: statement` for each rule the failing findings cite. */
  readonly rules: readonly string[];
  /** What was observed (or the error message). */
  readonly message: string;
  /** What the rule expects, if the check said. */
  readonly expected?: string;
  /** What the target did, if the check said. */
  readonly actual?: string;
  /** Hexdump of the first failing finding's evidence, if any. */
  readonly hexdump?: string;
}

/** The details of a failing result: rules, message, expected/actual, hexdump. */
export function failureDetail(r: CaseResult): FailureDetail {
  const bad = r.findings.filter((f) => !f.ok);
  // show the first failing finding that has bytes, else the first failing one
  const shown = bad.find((f) => f.evidence !== undefined) ?? bad[0];
  const k = caseById(r.case);
  const message = shown === undefined
    ? r.message ?? "no finding"
    : bad.length === 1
    ? shown.message
    : `${shown.message} (and ${bad.length - 1} more finding${bad.length === 2 ? "" : "s"})`;
  return {
    rules: failingRules(r, k).map(ruleLine),
    message,
    ...(shown?.expected === undefined ? {} : { expected: shown.expected }),
    ...(shown?.actual === undefined ? {} : { actual: shown.actual }),
    ...(shown?.evidence === undefined ? {} : { hexdump: hexdump(shown.evidence) }),
  };
}

/** `R-07 MUST: statement` for a rule id. */
export function ruleLine(id: string): string {
  const r = rule(id);
  return `${id} ${r.level}: ${r.statement}`;
}

/** Milliseconds as `850 ms` or `1.2 s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const SPEC_DOC = new URL("../../docs/SPEC.md", import.meta.url);

/**
 * The relative path from a report directory to `docs/SPEC.md`, when the
 * suite runs from a checkout and the directory lies inside it (a link from
 * anywhere else would only work on this machine); otherwise undefined, and
 * reports show rule statements without links.
 */
export function specDocPath(outDir: string | undefined): string | undefined {
  if (outDir === undefined || SPEC_DOC.protocol !== "file:") return undefined;
  try {
    const file = Deno.realPathSync(fileURLToPath(SPEC_DOC));
    const dir = Deno.realPathSync(outDir);
    const inside = relative(dirname(dirname(file)), dir);
    if (inside.startsWith("..") || isAbsolute(inside)) return undefined;
    return relative(dir, file).split(sep).join("/");
  } catch {
    return undefined;
  }
}

/** A link to a rule's or defect's row in `docs/SPEC.md`, when {@link specDocPath} has one. */
export function specHref(id: string, outDir: string | undefined): string | undefined {
  const path = specDocPath(outDir);
  return path === undefined ? undefined : `${path}#${specAnchor(id)}`;
}
