/**
 * Runs cases against targets: each scenario once per target, then every
 * case of that scenario on its result; verdicts with evidence.
 *
 * @module
 */

import {
  type FeatureName,
  featuresOf,
  hasFeature,
  type Level,
  type ProfileId,
  rule,
} from "../../spec/mod.ts";
import { caseLevel } from "../cases/cases.ts";
import { DEVICE_CHECKS } from "../checks/device.ts";
import { DRIVER_CHECKS } from "../checks/driver.ts";
import { type DeviceRun, runDeviceScenario } from "../runners/device.ts";
import { type DriverRun, runDriverScenario } from "../runners/driver.ts";
import { scenario as scenarioById } from "../scenarios/scenarios.ts";
import { type DevicePort, UnsupportedScenarioError } from "../model/ports.ts";
import { writesEvidence } from "../model/evidence.ts";
import type {
  CaseDef,
  CaseResult,
  DeviceScenario,
  DriverScenario,
  Finding,
  Target,
  Verdict,
} from "../model/types.ts";

/** Options of {@link runSuite}. */
export interface RunOptions {
  /** Cases to run. */
  readonly cases: readonly CaseDef[];
  /** Targets to run them on (driver cases on driver targets, device cases on device targets). */
  readonly targets: readonly Target[];
  /** SHOULD failures count as failures. */
  readonly strict?: boolean;
  /** Called after each scenario run. */
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

/** The outcome of a run. */
export interface SuiteRun {
  /** Every case result. */
  readonly results: readonly CaseResult[];
  /** Cases run. */
  readonly cases: readonly CaseDef[];
  /** Targets run. */
  readonly targets: readonly Target[];
  /** Whether SHOULD failures counted as failures. */
  readonly strict: boolean;
  /** Milliseconds. */
  readonly ms: number;
}

const STRICT_LEVELS: readonly Level[] = ["MUST", "MUST NOT"];

/** The verdict of a case from its findings. */
export function verdictOf(
  findings: readonly Finding[],
  strict: boolean,
): { verdict: Verdict; level: Level | undefined } {
  const failing = findings.filter((f) => !f.ok);
  if (failing.length === 0) return { verdict: "pass", level: undefined };
  const levels = failing.map((f) => rule(f.rule).level);
  const hard = levels.find((l) => STRICT_LEVELS.includes(l));
  if (hard !== undefined) return { verdict: "fail", level: hard };
  return { verdict: strict ? "fail" : "warn", level: levels[0] as Level };
}

/**
 * The one-line command that reruns one case on one target (of a profile
 * other than v3: with `--profile`); a `target` starting with `--` is the
 * flags that name it (`--device-cmd ./dev`).
 */
export function rerunCommand(
  caseId: string,
  target: string,
  options: { readonly profile?: ProfileId } = {},
): string {
  const profile = options.profile === undefined || options.profile === "v3"
    ? ""
    : ` --profile ${options.profile}`;
  // a target named by flags of its own (`--device-cmd './dev'`) reruns with them
  if (target.startsWith("--")) return `deno task conform${profile} ${target} --filter '${caseId}'`;
  const t = /^[A-Za-z0-9_.:\/#+-]+$/.test(target) ? target : `'${target.replaceAll("'", "'\\''")}'`;
  return `deno task conform${profile} --target ${t} --filter '${caseId}'`;
}

/**
 * Why a case cannot be judged on any run of a target: it needs a feature the
 * target declares unsupported, or (a device case) is about accepting an offer
 * of one.
 */
function declaredNeed(k: CaseDef, t: Target): string | undefined {
  const declared = t.unsupported ?? [];
  const f = (k.needs ?? []).find((x) => declared.includes(x));
  if (f !== undefined) return `the target declares ${f} unsupported, and the case needs it`;
  const offer = k.role === "device" ? (k.needsOffer ?? []).filter((x) => declared.includes(x)) : [];
  return offer.length === 0 ? undefined : declinedOfferMessage(offer);
}

function declinedOfferMessage(features: readonly FeatureName[]): string {
  return `the target declares ${
    features.join(", ")
  } unsupported, so the suite's driver did not accept it, and the case is about accepting that offer`;
}

/** The host's optional controls a device scenario's steps need: step, host method, what it issues. */
const HOST_CONTROLS: readonly (readonly [string, keyof DevicePort["host"], string])[] = [
  ["unused", "requestUnusedPages", "unused-page requests"],
  ["hint-start", "startHinting", "free-page-hint rounds"],
  ["hint-stop", "stopHinting", "a free-page-hint STOP"],
  ["hint-done", "finishHinting", "a free-page-hint DONE"],
];

/** Why a case cannot be judged on a run: a feature it needs was not negotiated, or a method is missing. */
function unsupportedOn(k: CaseDef, t: Target, run: DriverRun | DeviceRun): string | undefined {
  const declared = t.unsupported ?? [];
  if (run.scenario.role === "device") {
    const dev = run as DeviceRun;
    for (const [step, method, what] of HOST_CONTROLS) {
      if (dev.port.host[method] === undefined && dev.scenario.steps.some((s) => s.do === step)) {
        return `the target's host cannot issue ${what}, which the scenario needs`;
      }
    }
    if (k.needsModern === true && dev.port.legacyOnly === true) {
      return "the case is about the modern interface (64 feature bits), and the device has only the legacy one";
    }
    const can = k.observes ?? [];
    if (can.length > 0 && !can.some((o) => dev.port.observations.has(o))) {
      return `the target cannot observe ${can.join(" or ")}, which the case rests on (it provides ${
        [...dev.port.observations].join(", ")
      })`;
    }
    const notOffered = (k.needsOffer ?? []).filter((x) => !hasFeature(k.profile, dev.offered, x));
    if (notOffered.length > 0) {
      return `the device does not offer ${notOffered.join(", ")}, and the case is about that offer`;
    }
    const declinedOffer = (k.needsOffer ?? []).filter((x) => declared.includes(x));
    if (declinedOffer.length > 0) return declinedOfferMessage(declinedOffer);
  }
  const missing = (k.needs ?? []).filter((f) => !hasFeature(k.profile, run.negotiated, f));
  if (missing.length > 0) {
    const f = missing[0] as FeatureName;
    if (declared.includes(f)) return `the target declares ${f} unsupported, and the case needs it`;
    if (run.scenario.role === "driver") {
      const offered = (run as DriverRun).offered.includes(f);
      return offered
        ? `the driver did not accept ${f}, which the device offered and the case needs`
        : `the scenario's device does not offer ${f}, which the case needs`;
    }
    const dev = run as DeviceRun;
    if (!dev.featuresOk) return "the device refused FEATURES_OK, so nothing was negotiated";
    if (!hasFeature(k.profile, dev.offered, f)) {
      return `the device does not offer ${f}, which the case needs`;
    }
    const unmet = (featuresOf(k.profile).find((x) => x.name === f)?.requires ?? [])
      .filter((r) => !hasFeature(k.profile, dev.offered, r));
    return unmet.length > 0
      ? `the device offers ${f} without ${
        unmet.join(", ")
      }, which it requires, so the suite's driver cannot accept it (the case needs it)`
      : `the scenario does not accept ${f}, which the case needs`;
  }
  if (run.scenario.role === "driver") {
    const notOffered = (k.needsOffer ?? []).filter((f) => !(run as DriverRun).offered.includes(f));
    if (notOffered.length > 0) {
      const f = notOffered[0] as FeatureName;
      return declared.includes(f)
        ? `the target declares ${f} unsupported, so the suite's device does not offer it, and the case is about that offer`
        : `the scenario's device does not offer ${f}, and the case is about that offer`;
    }
    const methods = (run as DriverRun).missingMethods;
    if (methods.length > 0) {
      return `the driver has no ${methods.join(", ")}, which the scenario calls`;
    }
  }
  return undefined;
}

/** The error a run's exceptions make of every case on it. */
function exceptionOf(run: DriverRun | DeviceRun): string | undefined {
  if (run.scenario.role !== "driver") return undefined;
  const x = (run as DriverRun).exceptions[0];
  if (x === undefined) return undefined;
  const stack = (x.stack ?? "").split("\n").slice(1, 6).map((l) => l.trim()).join("; ");
  return `the driver threw in ${x.step}: ${x.message}${stack ? ` (${stack})` : ""}`;
}

/** Runs the cases on the targets. */
export function runSuite(options: RunOptions): SuiteRun {
  const t0 = performance.now();
  const strict = options.strict ?? false;
  const results: CaseResult[] = [];
  const groups = new Map<string, CaseDef[]>();
  for (const k of options.cases) {
    const list = groups.get(k.scenario) ?? [];
    list.push(k);
    groups.set(k.scenario, list);
  }
  const jobs: { target: Target; scenario: string; cases: CaseDef[] }[] = [];
  for (const t of options.targets) {
    for (const [s, cases] of groups) {
      const mine = cases.filter((k) => k.role === t.kind && k.profile === t.profile);
      if (mine.length > 0) jobs.push({ target: t, scenario: s, cases: mine });
    }
  }
  let done = 0;
  for (const job of jobs) {
    const rerun = (id: string) =>
      rerunCommand(id, job.target.rerunAs ?? job.target.name, { profile: job.target.profile });
    const declared = job.cases.map((k) => declaredNeed(k, job.target));
    if (declared.every((m) => m !== undefined)) {
      // every case needs what the target declares it lacks: running the scenario could change nothing
      job.cases.forEach((k, i) =>
        results.push({
          case: k.id,
          target: job.target.name,
          rerun: rerun(k.id),
          ms: 0,
          verdict: "unsupported",
          level: caseLevel(k),
          findings: [],
          message: declared[i] as string,
        })
      );
      done++;
      options.onProgress?.(done, jobs.length, `${job.target.name} ${job.scenario}`);
      continue;
    }
    const t1 = performance.now();
    let run: DriverRun | DeviceRun | undefined;
    let error: string | undefined;
    let cannotRun: string | undefined;
    try {
      const scn = scenarioById(job.scenario);
      run = job.target.kind === "driver"
        ? runDriverScenario(scn as DriverScenario, job.target)
        : runDeviceScenario(scn as DeviceScenario, job.target);
    } catch (e) {
      if (e instanceof UnsupportedScenarioError) cannotRun = e.message;
      else error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    const ms = (performance.now() - t1) / Math.max(1, job.cases.length);
    for (const k of job.cases) {
      const base = {
        case: k.id,
        target: job.target.name,
        rerun: rerun(k.id),
        ms,
      };
      if (cannotRun !== undefined) {
        results.push({
          ...base,
          verdict: "unsupported",
          level: caseLevel(k),
          findings: [],
          message: `the target cannot run the scenario: ${cannotRun}`,
        });
        continue;
      }
      if (run === undefined) {
        results.push({
          ...base,
          verdict: "error",
          level: caseLevel(k),
          findings: [],
          message: error ?? "no result",
        });
        continue;
      }
      const why = unsupportedOn(k, job.target, run);
      if (why !== undefined) {
        results.push({
          ...base,
          verdict: "unsupported",
          level: caseLevel(k),
          findings: [],
          message: why,
        });
        continue;
      }
      const threw = exceptionOf(run);
      if (threw !== undefined) {
        results.push({
          ...base,
          verdict: "error",
          level: caseLevel(k),
          findings: [],
          message: threw,
        });
        continue;
      }
      let findings: Finding[];
      try {
        const input = {
          rule: k.rules[0] as string,
          rules: k.rules,
          params: (k.params ?? {}) as never,
        };
        findings = job.target.kind === "driver"
          ? (DRIVER_CHECKS[k.check] ?? missingCheck(k)).judge(run as DriverRun, input)
          : (DEVICE_CHECKS[k.check] ?? missingCheck(k)).judge(run as DeviceRun, input);
      } catch (e) {
        results.push({
          ...base,
          verdict: "error",
          level: caseLevel(k),
          findings: [],
          message: `check ${k.check} threw: ${e instanceof Error ? e.message : String(e)}`,
        });
        continue;
      }
      // a device case that rests on one observation was judged through it
      const only = k.role === "device" && k.observes?.length === 1 ? k.observes[0] : undefined;
      if (only !== undefined) {
        findings = findings.map((f) =>
          f.observation === undefined ? { ...f, observation: only } : f
        );
      }
      const { verdict, level } = verdictOf(findings, strict);
      const failing = findings.filter((f) => !f.ok);
      // a port that records the device's writes: what it wrote backs the first failure
      const first = failing[0];
      if (first !== undefined && first.evidence === undefined && job.target.kind === "device") {
        const dev = run as DeviceRun;
        const writes = dev.port.deviceWrites?.();
        const rings = new Map(dev.rings.map((r) => [r.index, r.layout]));
        const evidence = writes && writesEvidence(writes, rings, dev.byteOrder);
        if (evidence !== undefined) failing[0] = { ...first, evidence };
      }
      const defects = verdict === "pass" || !("defects" in job.target)
        ? []
        : defectsOf(failing, job.target.defects ?? []);
      results.push({
        ...base,
        verdict,
        level: level ?? caseLevel(k),
        findings: [...failing, ...findings.filter((f) => f.ok)],
        ...(defects.length > 0 ? { defects } : {}),
      });
    }
    done++;
    options.onProgress?.(done, jobs.length, `${job.target.name} ${job.scenario}`);
  }
  return {
    results,
    cases: options.cases,
    targets: options.targets,
    strict,
    ms: performance.now() - t0,
  };
}

function missingCheck(k: CaseDef): never {
  throw new RangeError(`Case ${k.id} names check ${k.check}, which does not exist`);
}

function defectsOf(failing: readonly Finding[], targetDefects: readonly string[]): string[] {
  const out = new Set<string>();
  for (const f of failing) {
    for (const d of rule(f.rule).defects) if (targetDefects.includes(d)) out.add(d);
  }
  return [...out].sort();
}
