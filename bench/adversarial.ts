/**
 * `deno task bench:adversarial`: sequences per second of adversarial mode —
 * the same generated sequences (fixed seed) run and judged on the reference
 * device in-process and on QEMU's balloon over qtest (one fresh QEMU per
 * sequence, as the mode runs them). Findings do not stop the count: every
 * sequence runs to its end.
 *
 * Flags: `--runs N` in-process sequences (default 500), `--qemu-runs N`
 * (default 30, 0 to skip QEMU), `--variant V` (default `default`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import fc from "fast-check";
import { sequenceArbitrary } from "../conformance/adversarial/sequences.ts";
import { runSequence, sequenceOptionsOf } from "../conformance/adversarial/run.ts";
import { REFERENCE_DEVICE } from "../conformance/targets/reference/reference.ts";
import { qemuDeviceTarget } from "../conformance/targets/qemu-device/target.ts";
import { ensureQemu } from "../conformance/targets/qemu/setup.ts";
import type { DeviceTarget } from "../conformance/model/types.ts";

const SEED = 20_261_203;

function whole(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) {
    console.error(`error: ${flag} '${text}' is not a count: expected a whole number`);
    Deno.exit(2);
  }
  return n;
}

function measure(target: DeviceTarget, runs: number): string {
  const seqs = fc.sample(sequenceArbitrary(sequenceOptionsOf(target)), {
    seed: SEED,
    numRuns: runs,
  });
  const steps = seqs.reduce((n, s) => n + s.steps.length, 0);
  let findings = 0;
  let unsupported = 0;
  const t0 = performance.now();
  for (const s of seqs) {
    const o = runSequence(s, target);
    if (o.findings.length > 0) findings++;
    if (o.unsupported !== undefined) unsupported++;
  }
  const sec = (performance.now() - t0) / 1000;
  return `${target.name.padEnd(22)} ${String(runs).padStart(5)} sequences (${
    (steps / runs).toFixed(1)
  } steps each) in ${sec.toFixed(1)} s: ${(runs / sec).toFixed(1)} sequences/s, ${
    (steps / sec).toFixed(0)
  } steps/s; ${findings} with findings, ${unsupported} unsupported`;
}

const v = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string" },
    "qemu-runs": { type: "string" },
    variant: { type: "string" },
  },
}).values;
const runs = whole(v.runs, "--runs", 500);
const qemuRuns = whole(v["qemu-runs"], "--qemu-runs", 30);
console.log(`adversarial throughput (seed ${SEED}, ${navigator.hardwareConcurrency} cores)`);
console.log(measure(REFERENCE_DEVICE, runs));
if (qemuRuns > 0) {
  let qemu: { path: string; version: string } | undefined;
  try {
    qemu = await ensureQemu((s) => console.error(`qemu-device: ${s}`));
  } catch (e) {
    console.log(`qemu-device skipped: QEMU cannot be had: ${(e as Error).message}`);
  }
  if (qemu !== undefined) {
    const t = qemuDeviceTarget(v.variant ?? "default", { qemu: qemu.path, version: qemu.version });
    console.log(`${qemu.version}:`);
    console.log(measure(t, qemuRuns));
  }
}
