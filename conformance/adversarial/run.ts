/**
 * Adversarial runs: fast-check draws sequences ({@link sequenceArbitrary}),
 * each runs on a fresh device of the target through the ordinary device
 * runner and is judged ({@link judgeSequence}); the first failing sequence
 * is shrunk by fast-check to a small one, which becomes a reproducer.
 *
 * @module
 */

import fc from "fast-check";
import { type DevicePort, UnsupportedScenarioError } from "../model/ports.ts";
import type { DeviceScenario, DeviceTarget } from "../model/types.ts";
import { runDeviceScenario } from "../runners/device.ts";
import { TargetError } from "../targets/bridge/target_error.ts";
import { judgeSequence, type PortAfter, type SequenceFinding } from "./judge.ts";
import { sequenceArbitrary, type SequenceOptions } from "./sequences.ts";

/** The outcome of one sequence on one fresh device. */
export interface SequenceOutcome {
  /** The failing findings (empty: the sequence passed). */
  readonly findings: readonly SequenceFinding[];
  /** Why the sequence could not run on this target (then it has no findings). */
  readonly unsupported?: string;
  /** Milliseconds. */
  readonly ms: number;
}

/**
 * A target whose ports are wrapped so the run can read the device status
 * just before the port closes and keep the errors the device raised.
 */
function watched(target: DeviceTarget, seen: { after?: PortAfter }): DeviceTarget {
  if (target.open === undefined) return target;
  const open = target.open.bind(target);
  return {
    ...target,
    open: (ctx) => {
      const port = open(ctx);
      const errors: string[] = [];
      return new Proxy(port, {
        get(t, key, receiver) {
          if (key === "settle") {
            return (until?: () => boolean) => {
              const e = t.settle(until);
              errors.push(...e);
              return e;
            };
          }
          if (key === "close") {
            return () => {
              let status: number | undefined;
              try {
                status = t.readStatus();
              } catch {
                status = undefined;
              }
              seen.after = { status, deviceErrors: errors };
              t.close();
            };
          }
          return Reflect.get(t, key, receiver);
        },
      }) as DevicePort;
    },
  };
}

/** Runs one sequence on a fresh device of `target` and judges it. */
export function runSequence(scenario: DeviceScenario, target: DeviceTarget): SequenceOutcome {
  const t0 = performance.now();
  const seen: { after?: PortAfter } = {};
  try {
    const run = runDeviceScenario(scenario, watched(target, seen));
    const after: PortAfter = seen.after ?? {
      status: safeStatus(run.port),
      deviceErrors: run.errors,
    };
    return { findings: judgeSequence(run, after), ms: performance.now() - t0 };
  } catch (e) {
    if (e instanceof UnsupportedScenarioError) {
      return { findings: [], unsupported: e.message, ms: performance.now() - t0 };
    }
    if (e instanceof TargetError) {
      return {
        findings: [{
          rule: "S-03",
          ok: false,
          message: `the device stopped answering or died: ${e.message}`,
          expected: "the device (its process) stays alive and answers within the port's bounds",
          step: 0,
          check: "liveness",
        }],
        ms: performance.now() - t0,
      };
    }
    throw e;
  }
}

function safeStatus(port: DevicePort): number | undefined {
  try {
    return port.readStatus();
  } catch {
    return undefined;
  }
}

/** Options of {@link adversarial}. */
export interface AdversarialOptions {
  /** The device target. */
  readonly target: DeviceTarget;
  /** Sequences to try (fast-check's numRuns). */
  readonly runs: number;
  /** fast-check seed (default: a random one, reported). */
  readonly seed?: number;
  /** What the target lets sequences vary (default from the target: see {@link sequenceOptionsOf}). */
  readonly sequences?: Partial<SequenceOptions>;
  /** Called after each sequence (shrinking included). */
  readonly onSequence?: (done: number, outcome: SequenceOutcome) => void;
  /**
   * Known deviations (the CLI builds it from an `--expect-fail` list): a sequence whose every
   * finding is expected passes; the expected findings seen are counted.
   */
  readonly expected?: (f: SequenceFinding) => boolean;
}

/** The result of an adversarial run. */
export interface AdversarialResult {
  /** The target's name. */
  readonly target: string;
  /** The seed fast-check used. */
  readonly seed: number;
  /** Sequences asked for. */
  readonly runs: number;
  /** Sequences run before the first failure (all of them when none failed). */
  readonly runsToFailure: number;
  /** Sequences that could not run on this target (unsupported), among them. */
  readonly unsupported: number;
  /** Sequences run in all, shrinking included. */
  readonly executed: number;
  /** fast-check's path to the shrunk counterexample (replays it with the seed). */
  readonly path?: string;
  /** Shrink steps taken. */
  readonly shrinks: number;
  /** The shrunk failing sequence. */
  readonly counterexample?: DeviceScenario;
  /** Its findings. */
  readonly findings: readonly SequenceFinding[];
  /** Length of the first failing sequence before shrinking (steps). */
  readonly originalSteps?: number;
  /** Expected findings seen before the first failure, by check and rule, with how many sequences showed each. */
  readonly expectedSeen: Readonly<Record<string, number>>;
  /** Milliseconds. */
  readonly ms: number;
}

/**
 * What a target lets sequences vary: VERSION_1, the guest's byte order and
 * the statistic values its host side can report. An in-process device takes
 * everything; a device in another process (QEMU) is driven through one
 * interface (legacy for a `legacy-only` variant, else modern) by a
 * little-endian guest.
 */
export function sequenceOptionsOf(target: DeviceTarget): SequenceOptions {
  if (target.open === undefined) {
    return { profile: target.profile, version1: "any", bigEndian: true };
  }
  const legacyOnly = /legacy-only$/.test(target.name);
  return {
    profile: target.profile,
    version1: legacyOnly ? "never" : "always",
    bigEndian: false,
    // the host reports statistics over QMP, whose JSON numbers are exact up to 2^53 - 1
    statsMax: 2n ** 53n - 1n,
  };
}

/** Runs `runs` generated sequences against a target; shrinks the first failure. */
export function adversarial(options: AdversarialOptions): AdversarialResult {
  const t0 = performance.now();
  const seed = options.seed ?? (Math.random() * 2 ** 31) | 0;
  const arb = sequenceArbitrary({ ...sequenceOptionsOf(options.target), ...options.sequences });
  let executed = 0;
  let unsupported = 0;
  let firstFailure: number | undefined;
  let originalSteps: number | undefined;
  let last: { scenario: DeviceScenario; findings: readonly SequenceFinding[] } | undefined;
  const expectedSeen: Record<string, number> = {};
  const expected = options.expected ?? (() => false);
  const property = fc.property(arb, (scenario) => {
    const outcome = runSequence(scenario, options.target);
    executed++;
    if (firstFailure === undefined && outcome.unsupported !== undefined) unsupported++;
    options.onSequence?.(executed, outcome);
    const unexpected = outcome.findings.filter((f) => !expected(f));
    if (firstFailure === undefined) {
      for (
        const k of new Set(outcome.findings.filter(expected).map((f) => `${f.rule} ${f.check}`))
      ) {
        expectedSeen[k] = (expectedSeen[k] ?? 0) + 1;
      }
    }
    if (unexpected.length > 0) {
      if (firstFailure === undefined) {
        firstFailure = executed;
        originalSteps = scenario.steps.length;
      }
      last = { scenario, findings: unexpected };
      return false;
    }
    return true;
  });
  const details = fc.check(property, { seed, numRuns: options.runs, endOnFailure: false });
  const base = {
    target: options.target.name,
    seed,
    runs: options.runs,
    unsupported,
    executed,
    shrinks: details.numShrinks,
    expectedSeen,
    ms: performance.now() - t0,
  };
  if (details.failed && details.errorInstance !== null && last === undefined) {
    // the runner itself failed (not the device): an internal error, not a finding
    throw details.errorInstance;
  }
  if (!details.failed || details.counterexample === null) {
    return { ...base, runsToFailure: details.numRuns, findings: [] };
  }
  const [scenario] = details.counterexample;
  // the shrunk counterexample's own findings (the last failing call was the shrunk one)
  const findings = last !== undefined && last.scenario === scenario
    ? last.findings
    : runSequence(scenario, options.target).findings.filter((f) => !expected(f));
  return {
    ...base,
    runsToFailure: firstFailure ?? details.numRuns,
    path: details.counterexamplePath ?? "",
    counterexample: scenario,
    findings,
    ...(originalSteps === undefined ? {} : { originalSteps }),
  };
}
