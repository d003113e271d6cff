/**
 * Reproducers: a shrunk failing sequence as a JSON file (the scenario's
 * steps, the target, fast-check's seed and path, the findings), replayed by
 * `deno task conform --adversarial --replay FILE --target T`; and, for a
 * qemu-device target, the qtest commands QEMU received while it ran the
 * sequence (`-qtest-log`), as a plain command file that
 * `qemu-system-x86_64 … -qtest stdio < FILE.qtest` replays without the
 * suite's runner.
 *
 * @module
 */

import type { DeviceScenario, DeviceStep, DeviceTarget } from "../model/types.ts";
import type { SequenceFinding } from "./judge.ts";
import { runSequence } from "./run.ts";

/** The format tag of a reproducer file. */
export const REPRODUCER_FORMAT = "virtio-balloon-adversarial-reproducer/1";

/** A finding as a reproducer keeps it. */
export interface ReproducerFinding {
  /** The step (1-based; 0 for the run as a whole). */
  readonly step: number;
  /** The check that made it. */
  readonly check: string;
  /** The rule it cites. */
  readonly rule: string;
  /** What was observed. */
  readonly message: string;
}

/** A reproducer file. */
export interface Reproducer {
  /** {@link REPRODUCER_FORMAT}. */
  readonly format: typeof REPRODUCER_FORMAT;
  /** The target it failed on. */
  readonly target: string;
  /** fast-check's seed. */
  readonly seed: number;
  /** fast-check's path to the shrunk counterexample. */
  readonly path: string;
  /** Sequences run before the first failure. */
  readonly runsToFailure: number;
  /** Steps of the first failing sequence, before shrinking. */
  readonly originalSteps?: number;
  /** The shrunk sequence: a device scenario. */
  readonly scenario: DeviceScenario;
  /** What it found. */
  readonly findings: readonly ReproducerFinding[];
  /** For qemu-device: the qtest replay file beside this one, and the command that replays it. */
  readonly qtest?: { readonly file: string; readonly command: string; readonly lines: number };
}

/** The findings as a reproducer keeps them. */
export function reproducerFindings(fs: readonly SequenceFinding[]): ReproducerFinding[] {
  return fs.map((f) => ({ step: f.step, check: f.check, rule: f.rule, message: f.message }));
}

/** A finding's identity for "the same finding": check, rule and step (messages may hold timings). */
export function findingKey(f: { step: number; check: string; rule: string }): string {
  return `${f.check} ${f.rule} step ${f.step}`;
}

/** Why a reproducer file is not one. */
export class ReproducerError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "ReproducerError";
  }
}

const STEP_KINDS: readonly DeviceStep["do"][] = [
  "negotiate",
  "driver-ok",
  "send",
  "kick",
  "suppress",
  "write-actual",
  "post-request-buffer",
  "target",
  "stats",
  "unused",
  "reply",
  "write-guest",
  "write-config",
  "hint-start",
  "hint-stop",
  "hint-done",
  "fill-guest",
  "check-guest",
];

/** Parses and checks a reproducer file's text; `file` names it in errors. */
export function parseReproducer(text: string, file: string): Reproducer {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ReproducerError(`${file} is not JSON: ${(e as Error).message}`);
  }
  const o = v as Record<string, unknown>;
  if (typeof v !== "object" || v === null || o.format !== REPRODUCER_FORMAT) {
    throw new ReproducerError(
      `${file} is not a reproducer: expected "format": "${REPRODUCER_FORMAT}"`,
    );
  }
  const s = o.scenario as Record<string, unknown> | undefined;
  if (
    typeof s !== "object" || s === null || s.role !== "device" ||
    (s.profile !== "v3" && s.profile !== "virtio-1.x") || !Number.isSafeInteger(s.guestPages) ||
    !Array.isArray(s.accept) || !Array.isArray(s.steps)
  ) {
    throw new ReproducerError(
      `${file}: "scenario" is not a device scenario (role "device", a profile, guestPages, accept and steps)`,
    );
  }
  for (const [i, step] of (s.steps as unknown[]).entries()) {
    const kind = (step as { do?: unknown } | null)?.do;
    if (!STEP_KINDS.includes(kind as DeviceStep["do"])) {
      throw new ReproducerError(
        `${file}: step ${i + 1} is not a device step: "do" is ${
          JSON.stringify(kind)
        }, expected one of ${STEP_KINDS.join(", ")}`,
      );
    }
  }
  if (!Array.isArray(o.findings) || typeof o.target !== "string") {
    throw new ReproducerError(`${file}: expected "target" (a name) and "findings" (a list)`);
  }
  return v as Reproducer;
}

/** The outcome of a replay. */
export interface ReplayResult {
  /** The findings of the replay. */
  readonly findings: readonly SequenceFinding[];
  /** Whether they are the reproducer's (same checks, rules and steps). */
  readonly same: boolean;
  /** Why the scenario could not run on the target. */
  readonly unsupported?: string;
}

/** Replays a reproducer's scenario on a target and compares the findings. */
export function replay(r: Reproducer, target: DeviceTarget): ReplayResult {
  if (r.scenario.profile !== target.profile) {
    throw new ReproducerError(
      `the reproducer's scenario is of profile ${r.scenario.profile}, and ${target.name} is of ${target.profile}`,
    );
  }
  const outcome = runSequence(r.scenario, target);
  const want = new Set(r.findings.map(findingKey));
  const got = new Set(outcome.findings.map(findingKey));
  const same = want.size === got.size && [...want].every((k) => got.has(k));
  return {
    findings: outcome.findings,
    same,
    ...(outcome.unsupported === undefined ? {} : { unsupported: outcome.unsupported }),
  };
}

/** The qtest commands of a `-qtest-log` file: what QEMU received, in order (`[R +t] cmd`). */
export function qtestCommands(log: string): string[] {
  const out: string[] = [];
  for (const line of log.split("\n")) {
    const m = /^\[R \+[0-9.]+\] (.*)$/.exec(line);
    if (m !== null && m[1] !== undefined) out.push(m[1].trim());
  }
  return out;
}

/**
 * The command line that replays a qtest file without the suite: QEMU's own
 * arguments (as the run started it) with qtest on stdio, no QMP monitor, no
 * log, and the firmware named `firmware` (written beside the file).
 */
export function replayCommand(
  qemu: string,
  args: readonly string[],
  qtestFile: string,
  firmware: string,
): string {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const next = args[i + 1] ?? "";
    if (a === "-qtest") {
      out.push("-qtest", "stdio");
      i++;
    } else if (a === "-qtest-log" || (a === "-chardev" && next.includes("id=qmp0"))) i++;
    else if (a === "-mon" && next.includes("chardev=qmp0")) i++;
    else if (a === "-bios") {
      out.push("-bios", firmware);
      i++;
    } else out.push(a);
  }
  const quote = (s: string) => /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
  return `${[qemu, ...out].map(quote).join(" ")} < ${quote(qtestFile)}`;
}
