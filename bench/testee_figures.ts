/**
 * Figures of the testee protocol, printed:
 * - the device suite (every v3 device case) in-process on the reference
 *   device, through the protocol on the C example (`examples/c/device`,
 *   built with `cc -O2` first) and on the reference device as a testee
 *   (`reference_testee.ts`), median of N runs each, and the ratio to
 *   in-process (the goal: under 2x for the C example);
 * - the messages of one C run: lines each way, bytes, memory accesses;
 * - base64 against hex for guest memory: line bytes and encode + decode
 *   time for 4-byte, 16-byte, 1 KiB and 4 KiB payloads.
 *
 * Run: `deno task bench:testee [--runs N]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CASES } from "../conformance/cases/cases.ts";
import { runSuite } from "../conformance/run/suite.ts";
import { REFERENCE_DEVICE } from "../conformance/targets/reference/reference.ts";
import { processDeviceTarget } from "../conformance/targets/testee/target.ts";
import { fromBase64, toBase64 } from "../conformance/targets/testee/protocol.ts";
import type { DeviceTarget } from "../conformance/model/types.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "5" } },
});
const RUNS = Math.max(1, Number(values.runs));
const ROOT = new URL("../", import.meta.url).pathname;
const CASES_V3 = CASES.filter((k) => k.role === "device" && k.profile === "v3");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function buildC(): string {
  const out = `${Deno.makeTempDirSync({ prefix: "bench-testee-" })}/device`;
  const r = new Deno.Command("cc", { args: ["-O2", "-o", out, `${ROOT}examples/c/device.c`] })
    .outputSync();
  if (!r.success) throw new Error(`cc failed: ${new TextDecoder().decode(r.stderr)}`);
  return out;
}

/** Median ms of the device suite on a target; a process target's start is included once per run. */
function time(make: () => DeviceTarget & { close?: () => void }): { ms: number; counts: string } {
  const ms: number[] = [];
  let counts = "";
  for (let i = 0; i < RUNS; i++) {
    const t = make();
    const t0 = performance.now();
    const run = runSuite({ cases: CASES_V3, targets: [t] });
    ms.push(performance.now() - t0);
    t.close?.();
    const by = new Map<string, number>();
    for (const r of run.results) by.set(r.verdict, (by.get(r.verdict) ?? 0) + 1);
    counts = [...by].map(([v, n]) => `${n} ${v}`).join(", ");
  }
  return { ms: median(ms), counts };
}

const c = buildC();
const inProcess = time(() => REFERENCE_DEVICE);
const cRun = time(() => processDeviceTarget({ command: c }));
const refRun = time(() =>
  processDeviceTarget({
    command: {
      command: Deno.execPath(),
      args: [
        "run",
        "--allow-read",
        `${ROOT}conformance/targets/testee/reference_testee.ts`,
        "reference-device",
      ],
    },
  })
);

console.log(`device suite, ${CASES_V3.length} v3 device cases, median of ${RUNS} runs:`);
console.log(
  `  in-process reference device      ${
    inProcess.ms.toFixed(0).padStart(6)
  } ms   (${inProcess.counts})`,
);
console.log(
  `  C example over the protocol      ${cRun.ms.toFixed(0).padStart(6)} ms   ${
    (cRun.ms / inProcess.ms).toFixed(2)
  }x in-process   (${cRun.counts})`,
);
console.log(
  `  reference device as a testee     ${refRun.ms.toFixed(0).padStart(6)} ms   ${
    (refRun.ms / inProcess.ms).toFixed(2)
  }x in-process   (${refRun.counts}; a Deno process starting included)`,
);

// the traffic of one C run, counted from the transcripts of each scenario
{
  const t = processDeviceTarget({ command: c });
  let sent = 0, received = 0, bytes = 0, reads = 0, writes = 0, discards = 0, scenarios = 0;
  const wrapped: DeviceTarget = {
    ...t,
    open: (ctx) => {
      const port = (t.open as NonNullable<DeviceTarget["open"]>)(ctx);
      const close = port.close;
      return {
        ...port,
        get legacy() {
          return port.legacy;
        },
        close: () => {
          const s = t.session;
          if (s !== undefined) {
            scenarios++;
            // (each transcript starts with the handshake, exchanged once per process)
            for (const l of s.transcript.slice(2)) {
              if (l.startsWith(">")) sent++;
              else received++;
              bytes += l.length - 1;
            }
            for (const a of s.accesses) {
              if (a.op === "read") reads++;
              else if (a.op === "write") writes++;
              else discards++;
            }
          }
          close();
        },
      };
    },
  };
  runSuite({ cases: CASES_V3, targets: [wrapped] });
  t.close();
  console.log(
    `one C run: ${scenarios} scenarios, ${sent} lines to the testee, ${received} from it, ${
      (bytes / 1024).toFixed(0)
    } KiB; memory: ${reads} reads, ${writes} writes, ${discards} discards`,
  );
}

// base64 or hex for guest memory
console.log("guest memory as base64 or hex (line bytes, encode + decode time per payload):");
const toHex = (b: Uint8Array) => (b as unknown as { toHex(): string }).toHex();
const fromHex = (s: string) =>
  (Uint8Array as unknown as { fromHex(s: string): Uint8Array }).fromHex(s);
for (const n of [4, 16, 1024, 4096]) {
  const data = Uint8Array.from({ length: n }, (_, i) => (i * 37) & 0xff);
  const iters = Math.max(2_000, Math.floor(4_000_000 / n));
  const measure = (enc: (b: Uint8Array) => string, dec: (s: string) => Uint8Array) => {
    let s = "";
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) s = enc(data), dec(s);
    return { bytes: s.length, us: ((performance.now() - t0) * 1000) / iters };
  };
  const b = measure(toBase64, fromBase64);
  const h = measure(toHex, fromHex);
  console.log(
    `  ${String(n).padStart(5)} bytes: base64 ${String(b.bytes).padStart(5)} chars ${
      b.us.toFixed(2)
    } µs · hex ${String(h.bytes).padStart(5)} chars ${h.us.toFixed(2)} µs`,
  );
}
