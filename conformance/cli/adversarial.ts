/**
 * `deno task conform --adversarial`: property-based driver sequences against
 * device targets (see `../adversarial/`), the first failure shrunk and
 * written as a reproducer; `--replay FILE` runs a reproducer again.
 *
 * Exit codes: 0 when no target had a finding and every mutant had one
 * (with `--replay`: when the replay found nothing); 1 otherwise; 2 for a
 * usage error.
 *
 * @module
 */

import { makeOutputDir, readExpectFile, unreadable, writeOutput } from "./files.ts";
import { parseArgs } from "node:util";
import type { ProfileId } from "../../spec/mod.ts";
import type { DeviceTarget } from "../model/types.ts";
import { printable } from "../model/text.ts";
import { flagErrorMessage } from "./flags.ts";
import { adversarial, type AdversarialResult } from "../adversarial/run.ts";
import {
  findingKey,
  parseReproducer,
  replay,
  type Reproducer,
  REPRODUCER_FORMAT,
  ReproducerError,
  reproducerFindings,
} from "../adversarial/reproducer.ts";
import type { SequenceFinding } from "../adversarial/judge.ts";
import { qtestReplay } from "../adversarial/qemu.ts";
import { MUTANTS, mutantsOf } from "../targets/mutants/mutants.ts";
import { REFERENCE_DEVICE, REFERENCE_DEVICE_V1X } from "../targets/reference/reference.ts";
import {
  QEMU_DEVICE_PREFIX,
  QEMU_DEVICE_VARIANTS,
  qemuDeviceTarget,
  qemuDeviceVariant,
} from "../targets/qemu-device/target.ts";
import { ensureQemu } from "../targets/qemu/setup.ts";
import type { ExpectList } from "../run/expect.ts";
import { caseById } from "../cases/cases.ts";

/** The help text of adversarial mode. */
export const ADVERSARIAL_USAGE = `Adversarial mode: deno task conform --adversarial [flags]

Generates driver sequences from the spec tables (features, queue sizes, valid
and malformed inflate/deflate/stats/misc chains, config writes, resets, host
target changes), runs each on a fresh device, and judges every step by the
device checks (rule-cited findings), liveness and survival. The first failure
is shrunk and written as a reproducer (JSON; for qemu-device also a .qtest file
that qemu-system-x86_64 -qtest stdio replays without the suite).

  --adversarial     this mode
  --target T        device targets (repeatable, or comma-separated; default
                    reference-device): reference-device, reference-device-v1x,
                    device:<name>, v1x-device:<name>, mutants (every device
                    mutant of the profile: each must be found),
                    qemu-device:<variant> or qemu-device (every variant)
  --runs N          sequences per target (default 100)
  --seed S          fast-check seed, an integer (default: random, printed)
  --profile P       v3 (default) or virtio-1.x, for mutants and qemu-device
  --replay FILE     run a reproducer again on --target (default: its own)
                    and say whether it gives the same finding
  --out DIR         directory for reproducers (default conformance-report/adversarial)
  --expect-fail F   known deviations, the --expect-fail file of the cases (e.g.
                    conformance/targets/qemu-device/expected-failures.txt): a
                    finding of a listed case's check and rule is counted, not
                    failed, so the search goes on past it

Exit codes: 0 no target had a finding and every mutant (device:<name>,
v1x-device:<name>, mutants) had one; --replay: 0 when the replay found nothing;
1 otherwise; 2 usage error; 4 a reproducer could not be written.

Examples:
  deno task conform --adversarial --runs 2000 --target reference-device
  deno task conform --adversarial --target mutants --runs 300 --seed 1
  deno task conform --adversarial --target qemu-device:default --runs 50
  deno task conform --adversarial --replay conformance-report/adversarial/device_notify-never.json`;

/** A usage error of adversarial mode: printed as one line, exit code 2. */
export class AdversarialUsageError extends Error {}

/** Whether the arguments ask for adversarial mode. */
export function isAdversarial(args: readonly string[]): boolean {
  return args.includes("--adversarial");
}

interface Planned {
  readonly target: DeviceTarget;
  /** For qemu-device: the variant (a replay file is written). */
  readonly variant?: string;
  /** A mutant: it must be found. */
  readonly mutant: boolean;
}

const DEVICE_NAMED: readonly DeviceTarget[] = [
  REFERENCE_DEVICE,
  REFERENCE_DEVICE_V1X,
  ...MUTANTS.flatMap((m) => m.target.kind === "device" ? [m.target] : []),
];

function count(text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new AdversarialUsageError(
      `${flag} '${printable(text)}' is not ${
        min === 1 ? "a count: expected a whole number of 1 or more" : "an integer seed"
      }`,
    );
  }
  return n;
}

function seedOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(n) || Math.abs(n) > 2 ** 31 - 1) {
    throw new AdversarialUsageError(
      `--seed '${
        printable(text)
      }' is not a seed: expected an integer from -2147483647 to 2147483647`,
    );
  }
  return n | 0;
}

function plan(values: readonly string[], profile: ProfileId, qemu: string): Planned[] {
  const out: Planned[] = [];
  const names = values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v);
  for (const v of names.length === 0 ? ["reference-device"] : names) {
    if (v === "mutants") {
      for (const m of mutantsOf(profile)) {
        if (m.target.kind === "device") out.push({ target: m.target, mutant: true });
      }
    } else if (v === QEMU_DEVICE_PREFIX || v.startsWith(`${QEMU_DEVICE_PREFIX}:`)) {
      const variants = v === QEMU_DEVICE_PREFIX
        ? QEMU_DEVICE_VARIANTS.map((x) => x.name)
        : [qemuDeviceVariant(v)?.name];
      for (const variant of variants) {
        if (variant === undefined) {
          throw new AdversarialUsageError(
            `--target '${printable(v)}' is not a qemu-device variant: expected ${
              QEMU_DEVICE_VARIANTS.map((x) => `${QEMU_DEVICE_PREFIX}:${x.name}`).join(", ")
            }, or ${QEMU_DEVICE_PREFIX} for all of them`,
          );
        }
        out.push({ target: qemuDeviceTarget(variant, { qemu, profile }), variant, mutant: false });
      }
    } else {
      const t = DEVICE_NAMED.find((x) => x.name === v);
      if (t === undefined) {
        throw new AdversarialUsageError(
          `--target '${
            printable(v)
          }' is not a device target: expected reference-device, reference-device-v1x, device:<name>, v1x-device:<name>, mutants, qemu-device or qemu-device:<variant> ('deno task conform --list --target mutants' lists the mutants)`,
        );
      }
      out.push({ target: t, mutant: MUTANTS.some((m) => m.target === t) });
    }
  }
  return out;
}

function fileName(target: string): string {
  return target.replace(/[^A-Za-z0-9._-]+/g, "_");
}

function describe(f: SequenceFinding): string {
  return `${f.rule} (${f.check}${f.step > 0 ? `, step ${f.step}` : ""}): ${f.message}`;
}

async function findQemu(needed: boolean): Promise<{ path: string; version: string } | undefined> {
  if (!needed) return undefined;
  try {
    return await ensureQemu((s) => console.error(`qemu-device: ${s}`));
  } catch (e) {
    throw new AdversarialUsageError(
      `--target ${QEMU_DEVICE_PREFIX}: QEMU cannot be had: ${(e as Error).message}`,
    );
  }
}

function printExpected(r: AdversarialResult): void {
  for (const [k, n] of Object.entries(r.expectedSeen)) {
    console.log(`  expected (--expect-fail): ${k} in ${n} sequences`);
  }
}

function rate(r: AdversarialResult): string {
  const s = r.ms / 1000;
  return `${s.toFixed(1)} s, ${(r.executed / s).toFixed(1)} sequences/s`;
}

/**
 * Known deviations of a target from an expected-failure list (the format of
 * `--expect-fail`): a finding is expected when a listed case for the target
 * uses the same check and cites the finding's rule.
 */
function expectedFindings(
  list: ExpectList,
  target: string,
): (f: SequenceFinding) => boolean {
  const cases = list.entries.filter((e) => e.target === undefined || e.target === target)
    .flatMap((e) => caseById(e.case) ?? []);
  return (f) => cases.some((k) => k.check === f.check && k.rules.includes(f.rule));
}

/** Runs adversarial mode; returns the exit code. */
export async function adversarialMain(args: readonly string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        adversarial: { type: "boolean" },
        target: { type: "string", multiple: true },
        runs: { type: "string" },
        seed: { type: "string" },
        profile: { type: "string" },
        replay: { type: "string" },
        out: { type: "string" },
        "expect-fail": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    throw new AdversarialUsageError(flagErrorMessage(e, args, "--adversarial --help"));
  }
  if (v.help) {
    console.log(ADVERSARIAL_USAGE);
    return 0;
  }
  const runs = count(v.runs, "--runs", 1) ?? 100;
  const seed = seedOf(v.seed);
  if (v.profile !== undefined && v.profile !== "v3" && v.profile !== "virtio-1.x") {
    throw new AdversarialUsageError(
      `--profile '${printable(v.profile)}' is not a profile: expected v3 or virtio-1.x`,
    );
  }
  const out = v.out ?? "conformance-report/adversarial";
  if (out.trim() === "") throw new AdversarialUsageError("--out '' is empty: expected a directory");

  if (v.replay !== undefined) return await replayMain(v.replay, v.target ?? [], v.profile);

  const profile: ProfileId = (v.profile as ProfileId | undefined) ?? "v3";
  const expectList = v["expect-fail"] === undefined
    ? undefined
    : await readExpectFile(v["expect-fail"], (m) => new AdversarialUsageError(m));
  const wanted = v.target ?? [];
  const needsQemu = wanted.flatMap((x) => x.split(",")).some((x) =>
    x.trim().startsWith(QEMU_DEVICE_PREFIX)
  );
  // the targets are checked before QEMU is looked for: a typo is a usage error at once
  plan(wanted, profile, "");
  const qemu = await findQemu(needsQemu);
  const planned = plan(wanted, profile, qemu?.path ?? "");
  const bar = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  let failed = 0;
  let missed = 0;
  for (const p of planned) {
    const r = adversarial({
      target: p.target,
      runs,
      ...(seed === undefined ? {} : { seed }),
      ...(expectList === undefined
        ? {}
        : { expected: expectedFindings(expectList, p.target.name) }),
      onSequence: (done) => {
        if (bar) {
          Deno.stderr.writeSync(enc.encode(`\r\x1b[K${p.target.name}: ${done} sequences`));
        }
      },
    });
    if (bar) Deno.stderr.writeSync(enc.encode("\r\x1b[K"));
    if (r.counterexample === undefined) {
      console.log(
        `${p.target.name}: ${r.runsToFailure} sequences, no finding (seed ${r.seed}; ${rate(r)}${
          r.unsupported > 0 ? `; ${r.unsupported} could not run on it` : ""
        })`,
      );
      if (p.mutant) missed++;
      printExpected(r);
      continue;
    }
    if (!p.mutant) failed++;
    await makeOutputDir("--out", out);
    const base = `${out.replace(/[\\/]+$/, "")}/${fileName(p.target.name)}`;
    const q = p.variant === undefined || qemu === undefined
      ? undefined
      : qtestReplay(r.counterexample, {
        variant: p.variant,
        qemu: qemu.path,
        profile,
        base,
      });
    const rep: Reproducer = {
      format: REPRODUCER_FORMAT,
      target: p.target.name,
      seed: r.seed,
      path: r.path ?? "",
      runsToFailure: r.runsToFailure,
      ...(r.originalSteps === undefined ? {} : { originalSteps: r.originalSteps }),
      scenario: r.counterexample,
      findings: reproducerFindings(r.findings),
      ...(q === undefined ? {} : { qtest: { file: q.file, command: q.command, lines: q.lines } }),
    };
    const file = `${base}.json`;
    await writeOutput("--out", file, JSON.stringify(rep, null, 2) + "\n");
    console.log(
      `${p.target.name}: finding after ${r.runsToFailure} sequences (seed ${r.seed}; ${
        rate(r)
      }); shrunk from ${
        r.originalSteps ?? "?"
      } to ${r.counterexample.steps.length} steps in ${r.shrinks} shrinks`,
    );
    for (const f of r.findings.slice(0, 5)) console.log(`  ${describe(f)}`);
    console.log(`  reproducer: ${file}`);
    printExpected(r);
    if (q !== undefined) {
      console.log(`  qtest replay (${q.lines} commands): ${q.command}`);
    }
  }
  if (planned.some((p) => p.mutant)) {
    const mutants = planned.filter((p) => p.mutant).length;
    console.log(`mutants: ${mutants - missed} of ${mutants} found within ${runs} sequences each`);
  }
  return failed > 0 || missed > 0 ? 1 : 0;
}

async function replayMain(
  file: string,
  targets: readonly string[],
  profileFlag: string | undefined,
): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new AdversarialUsageError(unreadable("--replay", file, e));
  }
  let rep: Reproducer;
  try {
    rep = parseReproducer(text, file);
  } catch (e) {
    if (e instanceof ReproducerError) throw new AdversarialUsageError(`--replay: ${e.message}`);
    throw e;
  }
  const names = targets.flatMap((x) => x.split(",")).map((x) => x.trim()).filter((x) => x);
  if (names.length > 1) {
    throw new AdversarialUsageError(
      `--replay runs on one target: expected one --target, not ${names.join(", ")}`,
    );
  }
  const name = names[0] ?? rep.target;
  const profile = (profileFlag as ProfileId | undefined) ?? rep.scenario.profile;
  const qemu = await findQemu(name.startsWith(QEMU_DEVICE_PREFIX));
  const [p] = plan([name], profile, qemu?.path ?? "");
  if (p === undefined || name === "mutants" || name === QEMU_DEVICE_PREFIX) {
    throw new AdversarialUsageError(
      `--replay runs on one target: expected a target name, not '${printable(name)}'`,
    );
  }
  let r;
  try {
    r = replay(rep, p.target);
  } catch (e) {
    if (e instanceof ReproducerError) throw new AdversarialUsageError(`--replay: ${e.message}`);
    throw e;
  }
  if (r.unsupported !== undefined) {
    console.log(`${p.target.name}: the reproducer cannot run on it: ${r.unsupported}`);
    return 1;
  }
  const want = rep.findings.map(findingKey);
  console.log(
    `${p.target.name}: replayed ${file} (${rep.scenario.steps.length} steps): ${
      r.findings.length === 0 ? "no finding" : `${r.findings.length} findings`
    }; ${r.same ? "the same finding as recorded" : `recorded: ${want.join("; ") || "none"}`}`,
  );
  for (const f of r.findings.slice(0, 5)) console.log(`  ${describe(f)}`);
  return r.findings.length > 0 ? 1 : 0;
}
