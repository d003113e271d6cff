/**
 * `deno task conform`: runs the conformance cases on targets (the reference
 * driver and device, the seed as posted, mutants), prints a summary and
 * writes JSON, JUnit, Markdown and HTML reports. `--help` lists the flags.
 *
 * Exit codes: 0 when every result of the targets under test passed (or
 * warned outside `--strict`, or was an expected failure) and every mutant
 * failed the cases it declares; 1 otherwise; 2 for a usage error.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { hasRule, type ProfileId } from "../../spec/mod.ts";
import type { QuirkId } from "../../impl/mod.ts";
import { caseById, caseLevel, CASES } from "../cases/cases.ts";
import { notCheckedOf } from "../cases/coverage.ts";
import { flagErrorMessage } from "./flags.ts";
import { printable } from "../model/text.ts";
import { EXIT_OUTPUT, makeOutputDir, OutputError, readExpectFile, writeOutput } from "./files.ts";
import { isModuleTarget, loadModuleTargets, ModuleTargetError } from "./module_targets.ts";
import { casesDocument, casesSchema } from "../report/cases_export.ts";
import { traceLineSchema } from "../trace/format.ts";
import { isPassive, PASSIVE_USAGE, passiveMain, PassiveUsageError } from "./passive.ts";
import {
  ADVERSARIAL_USAGE,
  adversarialMain,
  AdversarialUsageError,
  isAdversarial,
} from "./adversarial.ts";
import {
  matchesPattern,
  MUTANTS,
  mutantsOf,
  QUIRKS_NOT_MUTANTS,
} from "../targets/mutants/mutants.ts";
import type { ExpectList } from "../run/expect.ts";
import { jsonReport } from "../report/json.ts";
import { junitReport } from "../report/junit.ts";
import { markdownReport } from "../report/markdown.ts";
import { htmlReport } from "../report/html.ts";
import {
  isMutant,
  profilesOf,
  type ReportContext,
  reportModel,
  resultFailed,
  specDocPath,
} from "../report/model.ts";
import { terminalReport } from "../report/terminal.ts";
import { runSuite, type SuiteRun } from "../run/suite.ts";
import {
  REFERENCE_DEVICE,
  REFERENCE_DEVICE_V1X,
  REFERENCE_DRIVER,
  REFERENCE_DRIVER_V1X,
  referenceDriverTarget,
  V3_AS_POSTED,
} from "../targets/reference/reference.ts";
import {
  QEMU_DEVICE_PREFIX,
  QEMU_DEVICE_VARIANTS,
  qemuDeviceRecipe,
  qemuDeviceTarget,
  qemuDeviceVariant,
} from "../targets/qemu-device/target.ts";
import { ensureQemu } from "../targets/qemu/setup.ts";
import { defaultConcurrency, runSuiteInWorkers } from "../run/parallel.ts";
import { verdictMatrix } from "../report/matrix.ts";
import type { CaseDef, CaseResult, Target } from "../model/types.ts";
import { closeProcessTargets, processTargets, TesteeUsageError } from "../targets/testee/cli.ts";

import { USAGE } from "./usage.ts";

/** A usage error: printed as one line, exit code 2. */
class UsageError extends Error {}

const FORMATS = ["json", "junit", "markdown", "html"] as const;
type Format = (typeof FORMATS)[number];
const FILES: Record<Format, string> = {
  json: "report.json",
  junit: "report.junit.xml",
  markdown: "report.md",
  html: "report.html",
};

interface Options {
  readonly targets: readonly Target[];
  readonly explicit: ReadonlySet<string>;
  readonly profile: ProfileId | "all";
  readonly filters: readonly string[];
  readonly cases: readonly CaseDef[];
  readonly strict: boolean;
  readonly list: boolean;
  readonly formats: readonly Format[];
  readonly out: string;
  readonly expectFail?: ExpectList;
  readonly exportDir?: string;
  readonly jobs: number;
}

const PROFILES: readonly ProfileId[] = ["v3", "virtio-1.x"];
const REFERENCES: Readonly<Record<ProfileId, readonly Target[]>> = {
  "v3": [REFERENCE_DRIVER, REFERENCE_DEVICE],
  "virtio-1.x": [REFERENCE_DRIVER_V1X, REFERENCE_DEVICE_V1X],
};
const NAMED: readonly Target[] = [
  ...PROFILES.flatMap((p) => REFERENCES[p]),
  V3_AS_POSTED,
  ...MUTANTS.map((m) => m.target),
];

/** The qemu-device targets a `--target qemu-device[:variant]` value names (one profile at a time). */
function qemuPlaceholders(
  v: string,
  profiles: readonly ProfileId[],
  explicit: Set<string>,
): Target[] {
  if (profiles.length !== 1) {
    throw new UsageError(
      `--target ${
        printable(v)
      } runs one profile at a time: expected --profile v3 or --profile virtio-1.x, not all`,
    );
  }
  const profile = profiles[0] as ProfileId;
  if (v === QEMU_DEVICE_PREFIX) {
    return QEMU_DEVICE_VARIANTS.map((x) => qemuDeviceTarget(x.name, { qemu: "", profile }));
  }
  const variant = qemuDeviceVariant(v);
  if (variant === undefined) {
    throw new UsageError(
      `--target '${printable(v)}' is not a qemu-device variant: expected ${
        QEMU_DEVICE_VARIANTS.map((x) => `${QEMU_DEVICE_PREFIX}:${x.name}`).join(", ")
      }, or ${QEMU_DEVICE_PREFIX} for all of them`,
    );
  }
  const t = qemuDeviceTarget(variant.name, { qemu: "", profile });
  explicit.add(t.name);
  return [t];
}

async function resolveTargets(
  values: readonly string[],
  profiles: readonly ProfileId[],
): Promise<{ targets: Target[]; explicit: Set<string> }> {
  const out: Target[] = [];
  const explicit = new Set<string>();
  const add = (...ts: Target[]) => {
    for (const t of ts) if (!out.some((x) => x.name === t.name)) out.push(t);
  };
  const mutants = profiles.flatMap((p) => mutantsOf(p).map((m) => m.target));
  const references = profiles.flatMap((p) => REFERENCES[p]);
  for (const v of values.flatMap((x) => x.split(",")).map((x) => x.trim()).filter((x) => x)) {
    if (v === "reference") add(...references);
    else if (v === QEMU_DEVICE_PREFIX || v.startsWith(`${QEMU_DEVICE_PREFIX}:`)) {
      // placeholders until QEMU is found: a run rebuilds them with its path (see withQemu)
      add(...qemuPlaceholders(v, profiles, explicit));
    } else if (v === "mutants") add(...mutants);
    else if (v === "all") {
      add(...references, ...(profiles.includes("v3") ? [V3_AS_POSTED] : []), ...mutants);
    } else if (isModuleTarget(v)) {
      try {
        for (const t of await loadModuleTargets(v)) {
          explicit.add(t.name);
          add(t);
        }
      } catch (e) {
        if (e instanceof ModuleTargetError) throw new UsageError(e.message);
        throw e;
      }
    } else {
      const t = NAMED.find((x) => x.name === v);
      if (t === undefined) {
        const near = MUTANTS.map((m) => m.name).filter((n) => n.includes(v) || v.includes(n));
        throw new UsageError(
          `--target '${
            printable(v)
          }' is not a target: expected reference, reference-driver, reference-device, reference-driver-v1x, reference-device-v1x, v3-as-posted, mutants, all, a mutant name, qemu-device or a module of your own (./my_impl.ts)${
            near.length > 0 ? ` (did you mean ${near.slice(0, 3).join(", ")}?)` : ""
          }; '--list --target mutants' lists the mutants`,
        );
      }
      explicit.add(t.name);
      add(t);
    }
  }
  if (out.length === 0) add(...references);
  return { targets: out, explicit };
}

/** The profile of a run: the flag's, else that of the targets named one by one when they share one, else v3. */
function runProfile(flag: string | undefined, targets: readonly string[]): ProfileId | "all" {
  if (flag === "all" || flag === "v3" || flag === "virtio-1.x") return flag;
  if (flag !== undefined) {
    throw new UsageError(
      `--profile '${printable(flag)}' is not a profile: expected v3, virtio-1.x or all`,
    );
  }
  const named = targets.flatMap((x) => x.split(",")).map((x) => x.trim())
    .flatMap((v) => NAMED.filter((t) => t.name === v).map((t) => t.profile));
  const set = new Set(named);
  return set.size === 1 ? [...set][0] as ProfileId : "v3";
}

function selectCases(filters: readonly string[], profiles: readonly ProfileId[]): CaseDef[] {
  const all = CASES.filter((k) => profiles.includes(k.profile));
  if (filters.length === 0) return all;
  const chosen = new Set<string>();
  for (const f of filters) {
    let hits: CaseDef[];
    if (f.includes("*")) hits = all.filter((k) => matchesPattern(k.id, f));
    else if (caseById(f) !== undefined) hits = all.filter((k) => k.id === f);
    else if (hasRule(f)) {
      hits = all.filter((k) => k.rules.includes(f));
      if (hits.length === 0) {
        const why = profiles.map((p) => notCheckedOf(p)[f]).find((x) => x !== undefined);
        throw new UsageError(
          `--filter '${printable(f)}': rule ${f} exists but no case cites it${
            why ? ` (${why})` : ""
          }`,
        );
      }
    } else hits = [];
    if (hits.length === 0) {
      const prefix = all.some((k) => k.id.startsWith(`${f}.`))
        ? ` (did you mean '${printable(f)}.*'?)`
        : "";
      throw new UsageError(
        `--filter '${
          printable(f)
        }' matches no case: expected a case id, a glob with * such as 'inflate.*', or a rule id such as 'R-12a'${prefix}`,
      );
    }
    for (const k of hits) chosen.add(k.id);
  }
  return all.filter((k) => chosen.has(k.id));
}

function parseFlagError(e: unknown, args: readonly string[]): UsageError {
  return new UsageError(flagErrorMessage(e, args));
}

async function parseOptions(args: readonly string[]): Promise<Options | "help"> {
  let v;
  try {
    v = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        target: { type: "string", multiple: true },
        profile: { type: "string" },
        filter: { type: "string", multiple: true },
        strict: { type: "boolean" },
        list: { type: "boolean" },
        report: { type: "string" },
        out: { type: "string" },
        "expect-fail": { type: "string" },
        export: { type: "string" },
        jobs: { type: "string" },
        "device-cmd": { type: "string", multiple: true },
        "step-timeout": { type: "string" },
        "driver-cmd": { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    throw parseFlagError(e, args);
  }
  if (v.help) return "help";
  const profile = runProfile(v.profile, v.target ?? []);
  const profiles = profilesOf(profile);
  const formats: Format[] = [];
  const wantedFormats = v.report?.trim() === "none"
    ? []
    : (v.report ?? FORMATS.join(",")).split(",");
  for (const f of wantedFormats.map((x) => x.trim())) {
    if (!(FORMATS as readonly string[]).includes(f)) {
      throw new UsageError(
        `--report '${printable(v.report ?? "")}': '${
          printable(f)
        }' is not a format: expected a comma list of json, junit, markdown, html, or none`,
      );
    }
    if (!formats.includes(f as Format)) formats.push(f as Format);
  }
  for (const [flag, value] of [["--out", v.out], ["--export", v.export]] as const) {
    if (value !== undefined && value.trim() === "") {
      throw new UsageError(`${flag} '' is empty: expected a directory`);
    }
  }
  const filters = v.filter ?? [];
  const commands = { device: v["device-cmd"] ?? [], driver: v["driver-cmd"] ?? [] };
  // --device-cmd / --driver-cmd alone test those only (no default reference targets)
  const { targets, explicit } = commands.device.length + commands.driver.length > 0 &&
      v.target === undefined
    ? { targets: [] as Target[], explicit: new Set<string>() }
    : await resolveTargets(v.target ?? [], profiles);
  try {
    const processes = processTargets(commands, {
      profiles,
      stepTimeout: v["step-timeout"],
      out: v.out ?? "conformance-report",
    });
    for (const t of processes) explicit.add(t.name);
    targets.push(...processes);
  } catch (e) {
    if (e instanceof TesteeUsageError) throw new UsageError(e.message);
    throw e;
  }
  const jobs = v.jobs === undefined ? defaultConcurrency() : Number(v.jobs);
  if (!Number.isSafeInteger(jobs) || jobs < 1 || !/^\s*\d+\s*$/.test(v.jobs ?? "1")) {
    throw new UsageError(
      `--jobs '${printable(v.jobs ?? "")}' is not a count: expected a whole number of 1 or more`,
    );
  }
  return {
    targets,
    explicit,
    profile,
    filters,
    cases: selectCases(filters, profiles),
    strict: v.strict ?? false,
    list: v.list ?? false,
    formats,
    out: v.out ?? "conformance-report",
    ...(v["expect-fail"] === undefined
      ? {}
      : { expectFail: await readExpectFile(v["expect-fail"], (m) => new UsageError(m)) }),
    ...(v.export === undefined ? {} : { exportDir: v.export }),
    jobs,
  };
}

function listing(o: Options): string {
  const lines = [`Targets (${o.targets.length})`];
  const w = Math.max(...o.targets.map((t) => t.name.length));
  for (const t of o.targets) lines.push(`  ${t.name.padEnd(w)}  ${t.kind}  ${t.description}`);
  lines.push("", `Cases (${o.cases.length}): id, rules, level, role, scenario, title`);
  const rows = o.cases.map((k) => [k.id, k.rules.join(","), caseLevel(k), k.role, k.scenario]);
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  o.cases.forEach((k, i) => {
    const r = rows[i] ?? [];
    lines.push(`  ${r.map((c, j) => c.padEnd(widths[j] ?? 0)).join("  ")}  ${k.title}`);
  });
  return lines.join("\n");
}

function join(dir: string, file: string): string {
  return `${dir.replace(/[\\/]+$/, "")}/${file}`;
}

function progress(enabled: boolean): {
  update: (done: number, total: number, label: string) => void;
  clear: () => void;
} {
  const enc = new TextEncoder();
  const write = (s: string) => enabled && Deno.stderr.writeSync(enc.encode(s));
  return {
    update: (done, total, label) => write(`\r\x1b[K[${done}/${total}] ${label}`.slice(0, 100)),
    clear: () => write("\r\x1b[K"),
  };
}

/**
 * Defect attribution for targets that reproduce seed defects: each of their
 * quirks alone, on the same guest, run on the cases they failed. (The quirk
 * mutants of the run may use another guest, e.g. 64 KiB pages for D-14.)
 */
function attribution(run: SuiteRun, onProgress: RunProgress): CaseResult[] {
  const out: CaseResult[] = [];
  for (const t of run.targets) {
    if (t.kind !== "driver" || (t.defects ?? []).length === 0 || isMutant(t.name)) continue;
    const failing = new Set(
      run.results.filter((r) => r.target === t.name && resultFailed(r)).map((r) => r.case),
    );
    const cases = run.cases.filter((k) => failing.has(k.id));
    const quirks = (t.defects ?? []).filter((q) => QUIRKS_NOT_MUTANTS[q] === undefined).map((q) =>
      referenceDriverTarget(`quirk:${q}`, `${q} alone, on the guest of ${t.name}`, {
        quirks: [q as QuirkId],
        ...(t.guestEndian === undefined ? {} : { guestEndian: t.guestEndian }),
      })
    );
    if (cases.length === 0 || quirks.length === 0) continue;
    out.push(...runSuite({ cases, targets: quirks, strict: run.strict, onProgress }).results);
  }
  return out;
}

type RunProgress = (done: number, total: number, label: string) => void;

function colorWanted(): boolean {
  try {
    return Deno.stdout.isTerminal() && (Deno.env.get("NO_COLOR") ?? "") === "";
  } catch {
    return false;
  }
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** What the qemu-device part of a run used and took. */
interface QemuPart {
  readonly version: string;
  readonly path: string;
  readonly targets: readonly Target[];
  readonly jobs: number;
  readonly ms: number;
}

/**
 * Runs the in-process targets on this thread and the qemu-device targets
 * (QEMU found or installed first) in parallel child processes; the results
 * in the order of `targets`.
 */
async function runTargets(
  cases: readonly CaseDef[],
  targets: readonly Target[],
  o: {
    readonly strict: boolean;
    readonly jobs: number;
    readonly onProgress: RunProgress;
  },
): Promise<{ run: SuiteRun; qemu?: QemuPart }> {
  const t0 = performance.now();
  const remote = targets.filter((t) => qemuDeviceVariant(t.name) !== undefined);
  const local = targets.filter((t) => !remote.includes(t));
  const parts: SuiteRun[] = [];
  if (local.length > 0) {
    parts.push(runSuite({ cases, targets: local, strict: o.strict, onProgress: o.onProgress }));
  }
  let qemu: QemuPart | undefined;
  if (remote.length > 0) {
    let found: { path: string; version: string };
    try {
      found = await ensureQemu((s) => console.error(`qemu-device: ${s}`));
    } catch (e) {
      throw new UsageError(
        `--target ${QEMU_DEVICE_PREFIX}: QEMU cannot be had: ${(e as Error).message}`,
      );
    }
    const t1 = performance.now();
    const r = await runSuiteInWorkers({
      cases,
      targets: remote.map((t) => {
        const v = (qemuDeviceVariant(t.name) as { name: string }).name;
        // the placeholder's profile: a run of qemu-device has one (see qemuPlaceholders)
        const options = { qemu: found.path, version: found.version, profile: t.profile };
        return { target: qemuDeviceTarget(v, options), recipe: qemuDeviceRecipe(v, options) };
      }),
      strict: o.strict,
      concurrency: o.jobs,
      onProgress: o.onProgress,
    });
    parts.push(r);
    qemu = {
      version: found.version,
      path: found.path,
      targets: r.targets,
      jobs: o.jobs,
      ms: performance.now() - t1,
    };
  }
  const all = parts.flatMap((p) => p.targets);
  const ordered = targets.map((t) => all.find((x) => x.name === t.name) ?? t);
  const run: SuiteRun = {
    results: ordered.flatMap((t) =>
      parts.flatMap((p) => p.results.filter((r) => r.target === t.name))
    ),
    cases,
    targets: ordered,
    strict: o.strict,
    ms: performance.now() - t0,
  };
  return qemu === undefined ? { run } : { run, qemu };
}

async function main(args: readonly string[]): Promise<number> {
  if (isAdversarial(args)) return await adversarialMain(args);
  if (isPassive(args)) return await passiveMain(args);
  const o = await parseOptions(args);
  if (o === "help") {
    console.log(`${USAGE}\n\n${PASSIVE_USAGE}\n\n${ADVERSARIAL_USAGE}`);
    return 0;
  }
  if (o.exportDir !== undefined) {
    await makeOutputDir("--export", o.exportDir);
    const doc = casesDocument(o.cases);
    const [cases, schema] = [
      join(o.exportDir, "cases.json"),
      join(o.exportDir, "cases.schema.json"),
    ];
    const traceSchema = join(o.exportDir, "trace.schema.json");
    await writeOutput("--export", cases, JSON.stringify(doc, null, 2) + "\n");
    await writeOutput("--export", schema, JSON.stringify(casesSchema(), null, 2) + "\n");
    await writeOutput("--export", traceSchema, JSON.stringify(traceLineSchema(), null, 2) + "\n");
    console.log(
      `wrote ${cases} (${doc.cases.length} cases), ${schema} and ${traceSchema} (one line of a trace for --trace)`,
    );
  }
  if (o.list) console.log(listing(o));
  if (o.list || o.exportDir !== undefined) return 0;

  const roles = new Set(o.cases.map((k) => k.role));
  const targets = o.targets.filter((t) => roles.has(t.kind));
  for (const t of o.targets) {
    if (!roles.has(t.kind) && o.explicit.has(t.name)) {
      console.error(`note: ${t.name} skipped: no selected case is a ${t.kind} case`);
    }
  }
  if (targets.length === 0) {
    throw new UsageError(
      `no selected case runs on the selected targets: the cases are ${
        [...roles].join(" and ")
      } cases, the targets are ${[...new Set(o.targets.map((t) => t.kind))].join(" and ")} targets`,
    );
  }
  const bar = progress(Deno.stderr.isTerminal());
  const startedAt = new Date();
  const { run, qemu } = await runTargets(
    o.cases.filter((k) => targets.some((t) => t.kind === k.role)),
    targets,
    { strict: o.strict, jobs: o.jobs, onProgress: bar.update },
  );
  for (const note of closeProcessTargets(targets)) console.error(note);
  const extra = attribution(run, (d, t, l) => bar.update(d, t, `attributing defects: ${l}`));
  bar.clear();
  const context: ReportContext = {
    profile: o.profile,
    startedAt,
    finishedAt: new Date(),
    ...(o.filters.length === 0 ? {} : { filters: o.filters }),
    ...(o.expectFail === undefined ? {} : { expectFail: o.expectFail }),
    attribution: extra,
    outDir: o.out,
  };
  const written: string[] = [];
  if (o.formats.length > 0) await makeOutputDir("--out", o.out);
  const specDoc = o.formats.includes("html") ? specDocPath(o.out) : undefined;
  const render = {
    json: jsonReport,
    junit: junitReport,
    markdown: markdownReport,
    html: (r: SuiteRun, c: ReportContext) =>
      htmlReport(r, c, specDoc === undefined ? {} : { specDoc }),
  };
  for (const f of o.formats) {
    const path = join(o.out, FILES[f]);
    await writeOutput("--out", path, render[f](run, context));
    written.push(path);
  }
  if (qemu !== undefined) {
    const expected = new Set(reportModel(run, context).expect?.expected ?? []);
    console.log(verdictMatrix(run.cases, qemu.targets, run.results, {
      expected,
      title: `${qemu.version} (${qemu.path}) · ${count(qemu.targets.length, "device variant")} × ${
        count(run.cases.filter((k) => k.role === "device").length, "device case")
      } in ${formatSeconds(qemu.ms)} (${
        count(qemu.jobs, "scenario")
      } at a time, each its own QEMU; ${defaultConcurrency()} cores)`,
    }));
    console.log("");
  }
  console.log(terminalReport(run, { ...context, written }, { color: colorWanted() }));
  const m = reportModel(run, context);
  return m.ok ? 0 : m.nothingJudged ? EXIT_NOTHING_JUDGED : 1;
}

/** The exit code of a run that judged nothing (as passive mode's). */
const EXIT_NOTHING_JUDGED = 3;

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    const msg = e instanceof UsageError || e instanceof PassiveUsageError ||
        e instanceof OutputError ||
        e instanceof AdversarialUsageError
      ? e.message
      : `internal error: ${e instanceof Error ? e.message : String(e)}`;
    console.error(`error: ${msg}`);
    code = e instanceof OutputError ? EXIT_OUTPUT : 2;
  }
  Deno.exit(code);
}
