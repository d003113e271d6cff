/**
 * `deno task bench:profiles`: what the 2016 proposal (profile v3) would have
 * bought against what landed (virtio-1.x), on the same 8 GiB guest, for
 * spec reviewers.
 *
 * 1. Returning 7 GiB of an 8 GiB guest (1,835,008 pages) to the host, three
 *    ways: the seed's PAGE_BITMAP inflate, the standard's PFN-array inflate,
 *    and free page reporting of the same 7 GiB once the guest has freed it:
 *    requests, descriptors, bytes the device reads, notifications, wall time
 *    (median of `--runs`), pages the host discards and discard calls.
 * 2. An idle migration of the guest (512 MiB written) at 10 Gbit/s: without
 *    hints, with the seed's MISC_VQ unused-page hints, with FREE_PAGE_HINT:
 *    the hint protocol's requests, descriptors, bytes and notifications, the
 *    wall time of the model's run, pages the host skips, pages and bytes
 *    sent.
 * 3. With `--real`: the same 7 GiB inflate of an 8 GiB guest measured on
 *    Debian's QEMU and Linux under TCG (requests, notifications and pages
 *    from QEMU's trace, wall time from QMP), beside the model's figures.
 *
 * Flags: `--runs N` (default 3), `--real`, `--cache DIR`, `--json`.
 *
 * @module
 */

import { fmt, table } from "./_table.ts";
import { parseArgs } from "node:util";
import { BALLOON_PAGE_SIZE, type FeatureName } from "../spec/mod.ts";
import {
  BalloonDriver,
  type DeviceTraceEvent,
  type LoggedEvent,
  migrate,
  type MigrationResult,
  Testbed,
} from "../impl/mod.ts";
import { measureRealInflate, type RealInflate } from "./profiles_real.ts";

const GIB = 262_144;
const PAGES = 8 * GIB;
const RETURNED = 7 * GIB;
const args = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    real: { type: "boolean", default: false },
    cache: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const runs = Number(args.values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a positive integer, got ${args.values.runs}`);
  Deno.exit(2);
}

const enc = new TextEncoder();
function progress(text: string): void {
  Deno.stderr.writeSync(enc.encode(`${text}\n`));
}

/** What one way of returning memory cost. */
interface Cost {
  ms: number;
  requests: number;
  descriptors: number;
  bytes: number;
  notifications: number;
  discardedPages: number;
  discardCalls: number;
}

/** Counts requests, descriptors and the bytes the device reads, from the transport's events. */
function meter(tb: Testbed, what: readonly DeviceTraceEvent["what"][]): {
  snap(): { requests: number; descriptors: number; bytes: number };
} {
  const c = { requests: 0, descriptors: 0, bytes: 0 };
  tb.transport.onEvent((e: LoggedEvent) => {
    if (e.kind !== "request") return;
    const r = e as DeviceTraceEvent;
    if (!what.includes(r.what)) return;
    c.requests++;
    c.descriptors += r.readable.length + r.writable.length;
    c.bytes += r.readable.reduce((a, b) => a + b, 0);
  });
  return { snap: () => ({ ...c }) };
}

function cost(tb: Testbed, m: ReturnType<typeof meter>, fn: () => void): Cost {
  const d = tb.device.counters;
  const a = { ...m.snap(), n: d.notifications, p: d.discardedPages, k: d.discardCalls };
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  const b = m.snap();
  return {
    ms,
    requests: b.requests - a.requests,
    descriptors: b.descriptors - a.descriptors,
    bytes: b.bytes - a.bytes,
    notifications: d.notifications - a.n,
    discardedPages: d.discardedPages - a.p,
    discardCalls: d.discardCalls - a.k,
  };
}

const V3 = BalloonDriver.implemented("v3");
const V1X = BalloonDriver.implemented("virtio-1.x");
const V1X_NO_REPORTING: FeatureName[] = V1X.filter((f) => f !== "PAGE_REPORTING");

function bitmapInflate(): Cost {
  const tb = new Testbed({ pages: PAGES, log: false, offer: V3 });
  if (!tb.probe()) throw new Error("probe failed");
  const c = cost(tb, meter(tb, ["inflate"]), () => tb.setTarget(RETURNED));
  if (tb.device.actual !== RETURNED) throw new Error(`inflate stopped at ${tb.device.actual}`);
  return c;
}

function pfnInflate(): Cost {
  // free page reporting off: it would report the guest's free memory meanwhile
  const tb = new Testbed({
    pages: PAGES,
    log: false,
    profile: "virtio-1.x",
    offer: V1X_NO_REPORTING,
  });
  if (!tb.probe()) throw new Error("probe failed");
  const c = cost(tb, meter(tb, ["inflate"]), () => tb.setTarget(RETURNED));
  if (tb.device.actual !== RETURNED) throw new Error(`inflate stopped at ${tb.device.actual}`);
  return c;
}

function reporting(): Cost {
  const tb = new Testbed({ pages: PAGES, log: false, profile: "virtio-1.x", offer: V1X });
  if (!tb.probe()) throw new Error("probe failed");
  // the guest holds 7 GiB (without writing it: pages it wrote would cost memory here only),
  // the first reporting pass after probe reports what is left free; then it frees the 7 GiB
  const held = tb.guest.alloc.allocPages(RETURNED);
  if (held.size !== RETURNED) throw new Error(`the guest got only ${held.size} pages`);
  tb.guest.workload.unionWith(held);
  tb.run({ until: tb.guest.sched.now + 10_000 });
  const m = meter(tb, ["report"]);
  const before = tb.device.counters.reportedPages;
  const c = cost(tb, m, () => {
    tb.guest.releaseMemory(held);
    tb.run({ until: tb.guest.sched.now + 60_000 });
  });
  // every block of pageblock order or more is reported: all but what merged into smaller ones
  const reported = tb.device.counters.reportedPages - before;
  if (reported < RETURNED * 0.99) {
    throw new Error(`only ${reported} of ${RETURNED} freed pages reported`);
  }
  return c;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function repeat(name: string, fn: () => Cost): Cost & { all: number[] } {
  const all: Cost[] = [];
  for (let i = 0; i < runs; i++) {
    progress(`  ${name}, run ${i + 1}/${runs}`);
    all.push(fn());
  }
  const ms = all.map((c) => c.ms);
  return { ...(all[0] as Cost), ms: median(ms), all: ms };
}

/** The hint protocol's cost and the migration's result. */
interface HintedMigration {
  result: MigrationResult;
  ms: number;
  requests: number;
  descriptors: number;
  bytes: number;
  notifications: number;
}

function migration(hints: "none" | "misc" | "free-page-hint"): HintedMigration {
  const tb = hints === "free-page-hint"
    ? new Testbed({ pages: PAGES, log: false, profile: "virtio-1.x", offer: V1X_NO_REPORTING })
    : new Testbed({ pages: PAGES, log: false, offer: V3 });
  if (!tb.probe()) throw new Error("probe failed");
  // an idle guest: the kernel and services hold 512 MiB of written pages
  tb.guest.useMemory(GIB / 2);
  const m = meter(tb, ["misc-reply", "misc-request-buffer", "hint-cmd", "hint", "hint-ignored"]);
  let requestBuffers = 0;
  tb.transport.onEvent((e) => {
    if (e.kind === "host" && e.action === "request-unused") requestBuffers++;
  });
  const n0 = tb.device.counters.notifications;
  const t0 = performance.now();
  const t = tb.task("migrate", migrate(tb.guest, tb.device, { useHints: hints !== "none" }));
  const ms = performance.now() - t0;
  if (t.error !== undefined) throw t.error;
  const s = m.snap();
  return {
    result: t.result as MigrationResult,
    ms,
    // the misc request the device fills is a request of its own
    requests: s.requests + requestBuffers,
    descriptors: s.descriptors + requestBuffers,
    bytes: s.bytes,
    notifications: tb.device.counters.notifications - n0,
  };
}

progress(
  "returning 7 GiB of an 8 GiB guest: PAGE_BITMAP inflate, PFN inflate, free page reporting",
);
const bitmap = repeat("PAGE_BITMAP inflate (v3)", bitmapInflate);
const pfn = repeat("PFN-array inflate (virtio-1.x)", pfnInflate);
const report = repeat("free page reporting (virtio-1.x)", reporting);
progress("idle migration of the 8 GiB guest: no hints, MISC_VQ hints, FREE_PAGE_HINT");
const plain = migration("none");
const misc = migration("misc");
const fph = migration("free-page-hint");
let real: RealInflate | undefined;
if (args.values.real) {
  progress("the same 7 GiB inflate of an 8 GiB guest on QEMU + Linux (TCG)");
  real = await measureRealInflate({
    ...(args.values.cache === undefined ? {} : { cacheDir: args.values.cache }),
    log: progress,
  });
}

if (args.values.json) {
  console.log(JSON.stringify({ runs, bitmap, pfn, report, plain, misc, fph, real }, null, 2));
  Deno.exit(0);
}

const mib = (bytes: number) => `${fmt(bytes / 2 ** 20, 1)} MiB`;

const returnRows: string[][] = [
  [
    "7 GiB of an 8 GiB guest back to the host",
    "PAGE_BITMAP inflate (v3)",
    "PFN inflate (virtio-1.x)",
    "free page reporting (virtio-1.x)",
    ...(real === undefined ? [] : ["PFN inflate, QEMU + Linux (TCG)"]),
  ],
  [
    "requests",
    fmt(bitmap.requests),
    fmt(pfn.requests),
    fmt(report.requests),
    ...(real === undefined ? [] : [fmt(real.requests)]),
  ],
  [
    "descriptors",
    fmt(bitmap.descriptors),
    fmt(pfn.descriptors),
    fmt(report.descriptors),
    ...(real === undefined ? [] : [fmt(real.descriptors)]),
  ],
  [
    "bytes the device reads",
    fmt(bitmap.bytes),
    fmt(pfn.bytes),
    fmt(report.bytes),
    ...(real === undefined ? [] : [fmt(real.requests === 0 ? 0 : real.pages * 4)]),
  ],
  [
    "notifications",
    fmt(bitmap.notifications),
    fmt(pfn.notifications),
    fmt(report.notifications),
    ...(real === undefined ? [] : [fmt(real.notifications)]),
  ],
  [
    `wall time (median of ${runs}, ms)`,
    fmt(bitmap.ms, 1),
    fmt(pfn.ms, 1),
    fmt(report.ms, 1),
    ...(real === undefined ? [] : [fmt(real.ms, 0)]),
  ],
  [
    "pages the host discards",
    fmt(bitmap.discardedPages),
    fmt(pfn.discardedPages),
    fmt(report.discardedPages),
    ...(real === undefined ? [] : [fmt(real.pages)]),
  ],
  [
    "discard calls (contiguous ranges)",
    fmt(bitmap.discardCalls),
    fmt(pfn.discardCalls),
    fmt(report.discardCalls),
    ...(real === undefined ? [] : [fmt(real.discardCalls)]),
  ],
];

const migrationRows: string[][] = [
  [
    "idle migration, 8 GiB guest, 512 MiB written, 10 Gbit/s",
    "no hints",
    "MISC_VQ hints (v3)",
    "FREE_PAGE_HINT (virtio-1.x)",
  ],
  ["hint requests (buffers)", "0", fmt(misc.requests), fmt(fph.requests)],
  ["hint descriptors", "0", fmt(misc.descriptors), fmt(fph.descriptors)],
  ["hint bytes the device reads", "0", fmt(misc.bytes), fmt(fph.bytes)],
  ["notifications", fmt(plain.notifications), fmt(misc.notifications), fmt(fph.notifications)],
  [
    "pages the host skips (hinted)",
    "0",
    fmt(misc.result.skippedHinted),
    fmt(fph.result.skippedHinted),
  ],
  [
    "pages the host reads and processes",
    fmt(plain.result.pagesSent + plain.result.zeroPages),
    fmt(misc.result.pagesSent + misc.result.zeroPages),
    fmt(fph.result.pagesSent + fph.result.zeroPages),
  ],
  [
    "pages sent with data",
    fmt(plain.result.pagesSent),
    fmt(misc.result.pagesSent),
    fmt(fph.result.pagesSent),
  ],
  [
    "bytes sent",
    mib(plain.result.bytesSent),
    mib(misc.result.bytesSent),
    mib(fph.result.bytesSent),
  ],
  [
    "time on the wire at 10 Gbit/s (ms)",
    fmt(plain.result.seconds * 1000, 1),
    fmt(misc.result.seconds * 1000, 1),
    fmt(fph.result.seconds * 1000, 1),
  ],
  ["wall time of the model's run (ms)", fmt(plain.ms, 1), fmt(misc.ms, 1), fmt(fph.ms, 1)],
  [
    "pages lost",
    fmt(plain.result.lost.length),
    fmt(misc.result.lost.length),
    fmt(fph.result.lost.length),
  ],
];

console.log(
  `Profile comparison on an 8 GiB guest (${fmt(PAGES)} pages); 7 GiB = ${
    fmt(RETURNED)
  } pages of ${BALLOON_PAGE_SIZE} bytes`,
);
console.log("");
console.log(table(returnRows));
console.log("");
console.log(table(migrationRows));
if (real !== undefined) {
  console.log("");
  console.log(
    `QEMU + Linux: ${real.versions.qemu}; Linux ${real.versions.kernel}; ${real.memMiB} MiB guest, TCG, 1 vCPU; inflate to ${
      fmt(real.targetMiB)
    } MiB visible: ${fmt(real.ms / 1000, 1)} s (${
      fmt(real.pages / (real.ms / 1000))
    } pages/s), the model ${fmt(pfn.ms, 0)} ms; QEMU's RSS ${fmt(real.rssBeforeMiB)} MiB before, ${
      fmt(real.rssAfterMiB)
    } MiB after`,
  );
}
