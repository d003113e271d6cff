/**
 * `deno task bench:seed`: the seed's experiments, side by side in one run.
 *
 * 1. An 8 GiB guest (2,097,152 pages) inflated to 7 GiB (1,835,008 pages)
 *    and deflated back, PFN-array mode vs bitmap mode: wall time (median of
 *    `--runs` runs), requests, descriptors, bytes on the wire, notifications,
 *    device discard calls, pages/s, and the ratios.
 * 2. Live migration of an idle 8 GiB guest with and without unused-page
 *    hints: pages and bytes sent, and the time that implies at 10 Gbit/s.
 * 3. A 1 TiB guest (268,435,456 pages) inflated by 900 GiB through bitmaps:
 *    time and peak RSS.
 *
 * Flags: `--runs N` (default 5), `--skip-tib`, `--json`.
 *
 * @module
 */

import { fmt, table } from "./_table.ts";
import { parseArgs } from "node:util";
import { type FeatureName } from "../spec/mod.ts";
import { BalloonDriver, migrate, type MigrationResult, Testbed } from "../impl/mod.ts";

const GIB = 262_144;
const args = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "5" },
    "skip-tib": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const runs = Number(args.values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a positive integer, got ${args.values.runs}`);
  Deno.exit(2);
}

const V3 = BalloonDriver.implemented("v3");
const PFN_OFFER: FeatureName[] = V3.filter((f) => f !== "PAGE_BITMAP");

interface Pass {
  ms: number;
  requests: number;
  descriptors: number;
  bytes: number;
  notifications: number;
  discardCalls: number;
}

interface ModeResult {
  inflate: Pass;
  deflate: Pass;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function onePass(mode: "pfn" | "bitmap"): ModeResult {
  const tb = new Testbed({
    pages: 8 * GIB,
    log: false,
    ...(mode === "pfn" ? { offer: PFN_OFFER } : {}),
  });
  if (!tb.probe()) throw new Error("probe failed");
  const c = tb.device.counters;
  const snap = () => ({
    requests: c.inflateRequests + c.deflateRequests,
    descriptors: c.descriptors,
    bytes: c.bytes,
    notifications: c.notifications,
    discardCalls: c.discardCalls,
  });
  const diff = (a: ReturnType<typeof snap>, b: ReturnType<typeof snap>, ms: number): Pass => ({
    ms,
    requests: b.requests - a.requests,
    descriptors: b.descriptors - a.descriptors,
    bytes: b.bytes - a.bytes,
    notifications: b.notifications - a.notifications,
    discardCalls: b.discardCalls - a.discardCalls,
  });
  const s0 = snap();
  const t0 = performance.now();
  tb.setTarget(7 * GIB);
  const t1 = performance.now();
  if (tb.device.actual !== 7 * GIB) throw new Error(`inflate stopped at ${tb.device.actual}`);
  const s1 = snap();
  tb.setTarget(0);
  const t2 = performance.now();
  if (tb.device.actual !== 0) throw new Error(`deflate stopped at ${tb.device.actual}`);
  const s2 = snap();
  return { inflate: diff(s0, s1, t1 - t0), deflate: diff(s1, s2, t2 - t1) };
}

const enc = new TextEncoder();
/** One progress line on stderr (the results go to stdout). */
function progress(text: string): void {
  Deno.stderr.writeSync(enc.encode(`${text}\n`));
}

function modeResult(
  mode: "pfn" | "bitmap",
): ModeResult & { inflateMs: number[]; deflateMs: number[] } {
  const all: ModeResult[] = [];
  for (let i = 0; i < runs; i++) {
    progress(
      `  ${mode === "pfn" ? "PFN arrays" : "bitmaps"}: inflate + deflate, run ${i + 1}/${runs}`,
    );
    all.push(onePass(mode));
  }
  const first = all[0] as ModeResult;
  const inflateMs = all.map((r) => r.inflate.ms);
  const deflateMs = all.map((r) => r.deflate.ms);
  return {
    inflate: { ...first.inflate, ms: median(inflateMs) },
    deflate: { ...first.deflate, ms: median(deflateMs) },
    inflateMs,
    deflateMs,
  };
}

function migration(useHints: boolean): MigrationResult {
  const tb = new Testbed({ pages: 8 * GIB, log: false });
  if (!tb.probe()) throw new Error("probe failed");
  // an idle guest: the kernel and services hold 512 MiB of written pages
  tb.guest.useMemory(GIB / 2);
  const t = tb.task("migrate", migrate(tb.guest, tb.device, { useHints }));
  if (t.error !== undefined) throw t.error;
  return t.result as MigrationResult;
}

function peakRssMiB(): number | undefined {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function tib(): { ms: number; requests: number; bytes: number; rssMiB: number | undefined } {
  const tb = new Testbed({ pages: 1024 * GIB, log: false });
  if (!tb.probe()) throw new Error("probe failed");
  // Deno needs --allow-all to read /proc; sample the resident size at every request instead
  let sampled = Deno.memoryUsage().rss;
  tb.transport.onEvent(() => {
    sampled = Math.max(sampled, Deno.memoryUsage().rss);
  });
  const t0 = performance.now();
  tb.setTarget(900 * GIB);
  const ms = performance.now() - t0;
  sampled = Math.max(sampled, Deno.memoryUsage().rss);
  if (tb.device.actual !== 900 * GIB) {
    throw new Error(`1 TiB inflate stopped at ${tb.device.actual}`);
  }
  return {
    ms,
    requests: tb.device.counters.inflateRequests,
    bytes: tb.device.counters.bytes,
    rssMiB: Math.max(peakRssMiB() ?? 0, sampled / 2 ** 20),
  };
}

progress("8 GiB guest, 7 GiB inflate and deflate, PFN arrays vs bitmaps:");
const pfn = modeResult("pfn");
const bitmap = modeResult("bitmap");
progress("live migration of an idle 8 GiB guest, without and with unused-page hints");
const plain = migration(false);
const hinted = migration(true);
if (!args.values["skip-tib"]) progress("1 TiB guest, 900 GiB inflated through bitmaps");
const big = args.values["skip-tib"] ? undefined : tib();

if (args.values.json) {
  console.log(
    JSON.stringify(
      { runs, pfn, bitmap, migration: { plain, hinted }, tib: big },
      (_k, v) => typeof v === "bigint" ? v.toString() : v,
      2,
    ),
  );
  Deno.exit(0);
}

const ratio = (a: number, b: number) => (b === 0 ? "—" : `${fmt(a / b, a / b >= 100 ? 0 : 1)}×`);
const pagesPerSec = (ms: number) => fmt((7 * GIB) / (ms / 1000));

const rows: string[][] = [
  ["", "PFN arrays", "bitmap", "PFN / bitmap"],
  [
    "inflate 7 GiB: wall time (median ms)",
    fmt(pfn.inflate.ms, 1),
    fmt(bitmap.inflate.ms, 1),
    ratio(pfn.inflate.ms, bitmap.inflate.ms),
  ],
  ["inflate: pages/s", pagesPerSec(pfn.inflate.ms), pagesPerSec(bitmap.inflate.ms), ""],
  [
    "inflate: requests",
    fmt(pfn.inflate.requests),
    fmt(bitmap.inflate.requests),
    ratio(pfn.inflate.requests, bitmap.inflate.requests),
  ],
  [
    "inflate: descriptors",
    fmt(pfn.inflate.descriptors),
    fmt(bitmap.inflate.descriptors),
    ratio(pfn.inflate.descriptors, bitmap.inflate.descriptors),
  ],
  [
    "inflate: bytes on the wire",
    fmt(pfn.inflate.bytes),
    fmt(bitmap.inflate.bytes),
    ratio(pfn.inflate.bytes, bitmap.inflate.bytes),
  ],
  [
    "inflate: notifications",
    fmt(pfn.inflate.notifications),
    fmt(bitmap.inflate.notifications),
    ratio(pfn.inflate.notifications, bitmap.inflate.notifications),
  ],
  [
    "inflate: device discard calls",
    fmt(pfn.inflate.discardCalls),
    fmt(bitmap.inflate.discardCalls),
    ratio(pfn.inflate.discardCalls, bitmap.inflate.discardCalls),
  ],
  [
    "deflate 7 GiB: wall time (median ms)",
    fmt(pfn.deflate.ms, 1),
    fmt(bitmap.deflate.ms, 1),
    ratio(pfn.deflate.ms, bitmap.deflate.ms),
  ],
  ["deflate: pages/s", pagesPerSec(pfn.deflate.ms), pagesPerSec(bitmap.deflate.ms), ""],
  [
    "deflate: requests",
    fmt(pfn.deflate.requests),
    fmt(bitmap.deflate.requests),
    ratio(pfn.deflate.requests, bitmap.deflate.requests),
  ],
  [
    "deflate: descriptors",
    fmt(pfn.deflate.descriptors),
    fmt(bitmap.deflate.descriptors),
    ratio(pfn.deflate.descriptors, bitmap.deflate.descriptors),
  ],
  [
    "deflate: bytes on the wire",
    fmt(pfn.deflate.bytes),
    fmt(bitmap.deflate.bytes),
    ratio(pfn.deflate.bytes, bitmap.deflate.bytes),
  ],
  [
    "deflate: notifications",
    fmt(pfn.deflate.notifications),
    fmt(bitmap.deflate.notifications),
    ratio(pfn.deflate.notifications, bitmap.deflate.notifications),
  ],
  [
    "deflate: device discard calls (a deflate discards nothing)",
    fmt(pfn.deflate.discardCalls),
    fmt(bitmap.deflate.discardCalls),
    ratio(pfn.deflate.discardCalls, bitmap.deflate.discardCalls),
  ],
];

console.log(
  `Seed experiments, 8 GiB guest (2,097,152 pages) to 7 GiB ballooned (1,835,008 pages), ${runs} runs`,
);
console.log(
  `inflate ms per run — PFN: ${pfn.inflateMs.map((x) => fmt(x, 0)).join(", ")}; bitmap: ${
    bitmap.inflateMs.map((x) => fmt(x, 1)).join(", ")
  }`,
);
console.log("");
console.log(table(rows));
console.log("");
console.log("Live migration of an idle 8 GiB guest (512 MiB written), 10 Gbit/s");
console.log("");
console.log(table([
  ["", "without hints", "with unused-page hints", "ratio"],
  [
    "pages sent with data",
    fmt(plain.pagesSent),
    fmt(hinted.pagesSent),
    ratio(plain.pagesSent, hinted.pagesSent),
  ],
  [
    "zero pages sent",
    fmt(plain.zeroPages),
    fmt(hinted.zeroPages),
    ratio(plain.zeroPages, hinted.zeroPages),
  ],
  [
    "pages the host reads and processes",
    fmt(plain.pagesSent + plain.zeroPages),
    fmt(hinted.pagesSent + hinted.zeroPages),
    ratio(plain.pagesSent + plain.zeroPages, hinted.pagesSent + hinted.zeroPages),
  ],
  ["pages skipped (hinted unused)", fmt(plain.skippedHinted), fmt(hinted.skippedHinted), ""],
  [
    "bytes sent",
    fmt(plain.bytesSent),
    fmt(hinted.bytesSent),
    ratio(plain.bytesSent, hinted.bytesSent),
  ],
  [
    "time at 10 Gbit/s (ms)",
    fmt(plain.seconds * 1000, 1),
    fmt(hinted.seconds * 1000, 1),
    ratio(plain.seconds, hinted.seconds),
  ],
  ["pages lost", fmt(plain.lost.length), fmt(hinted.lost.length), ""],
]));
console.log("");
console.log(
  "Hints save host work, not bandwidth: the pages they skip are free pages, which a migration\n" +
    "without hints sends as zero pages at almost no cost on the wire. So the zero pages and the pages\n" +
    "the host reads and processes drop by the large ratio, while the pages sent with data and the\n" +
    "bytes stay about the same (1.0×).",
);
if (big !== undefined) {
  console.log("");
  console.log(
    `1 TiB guest (268,435,456 pages) inflated by 900 GiB through bitmaps: ${fmt(big.ms, 0)} ms, ${
      fmt(big.requests)
    } requests, ${fmt(big.bytes)} bytes, peak RSS ${
      big.rssMiB === undefined ? "unknown" : `${fmt(big.rssMiB, 0)} MiB`
    }`,
  );
}
