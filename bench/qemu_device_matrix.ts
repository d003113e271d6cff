/**
 * Figures of the `qemu-device` matrix, printed: every v3 device case on
 * every variant of QEMU's balloon, through `runSuiteInWorkers` at each
 * concurrency asked for (child processes, a fresh QEMU per scenario), with
 * the verdict counts (the same at every concurrency, or the run says so), the
 * wall time, and the CPU this process and its children used; then each
 * variant alone on one thread, with its slowest scenarios.
 *
 * Run: `deno task bench:qemu-device [--jobs 1,2,4] [--runs N]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CASES } from "../conformance/cases/cases.ts";
import { runSuiteInWorkers } from "../conformance/run/parallel.ts";
import { runSuite } from "../conformance/run/suite.ts";
import { ensureQemu } from "../conformance/targets/qemu/setup.ts";
import {
  QEMU_DEVICE_VARIANTS,
  qemuDeviceRecipe,
  qemuDeviceTarget,
} from "../conformance/targets/qemu-device/target.ts";
import type { CaseResult } from "../conformance/model/types.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { jobs: { type: "string", default: "1,2,4" }, runs: { type: "string", default: "1" } },
});
const JOBS = (values.jobs ?? "").split(",").map(Number);
const RUNS = Number(values.runs);
for (const n of [...JOBS, RUNS]) {
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(
      `error: --jobs '${values.jobs}' / --runs '${values.runs}': expected whole numbers of 1 or more`,
    );
    Deno.exit(2);
  }
}

const qemu = await ensureQemu((s) => console.error(s));
const options = { qemu: qemu.path, version: qemu.version };
const cases = CASES.filter((k) => k.role === "device" && k.profile === "v3");

function counts(results: readonly CaseResult[]): string {
  const c: Record<string, number> = {};
  for (const r of results) c[r.verdict] = (c[r.verdict] ?? 0) + 1;
  return Object.entries(c).map(([k, v]) => `${v} ${k}`).join(", ");
}

/** CPU seconds of this process and its finished children (Linux /proc), for the figures only. */
function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  // utime, stime, cutime, cstime are fields 14-17 (1-based); f starts at field 3
  return ((f[11] ?? 0) + (f[12] ?? 0) + (f[13] ?? 0) + (f[14] ?? 0)) / 100;
}

console.log(
  `${qemu.version} · ${cases.length} device cases × ${QEMU_DEVICE_VARIANTS.length} variants · ${navigator.hardwareConcurrency} cores`,
);
let first: string | undefined;
for (const jobs of JOBS) {
  for (let run = 0; run < RUNS; run++) {
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    const r = await runSuiteInWorkers({
      cases,
      concurrency: jobs,
      targets: QEMU_DEVICE_VARIANTS.map((v) => ({
        target: qemuDeviceTarget(v.name, options),
        recipe: qemuDeviceRecipe(v.name, options),
      })),
    });
    const wall = (performance.now() - t0) / 1000;
    const c = counts(r.results);
    first ??= c;
    console.log(
      `  matrix, ${jobs} at a time: ${wall.toFixed(1)} s wall, ${
        (cpuSeconds() - cpu0).toFixed(1)
      } s CPU (this process and its children) · ${c}${c === first ? "" : " (DIFFERENT VERDICTS)"}`,
    );
  }
}
for (const v of QEMU_DEVICE_VARIANTS) {
  const per = new Map<string, number>();
  let last = performance.now();
  const t0 = last;
  runSuite({
    cases,
    targets: [qemuDeviceTarget(v.name, options)],
    onProgress: (_d, _n, label) => {
      const now = performance.now();
      per.set(label.split(" ")[1] ?? label, now - last);
      last = now;
    },
  });
  const slow = [...per].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([s, ms]) =>
    `${s} ${ms.toFixed(0)} ms`
  );
  console.log(
    `  ${v.name} alone, one thread: ${((performance.now() - t0) / 1000).toFixed(1)} s · slowest: ${
      slow.join(", ")
    }`,
  );
}
