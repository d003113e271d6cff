import assert from "node:assert/strict";
import { enumValue, type FeatureName, OOM_VBALLOON_DEFAULT_PAGES, PageSet } from "../spec/mod.ts";
import { BalloonDriver } from "./driver.ts";
import { migrate } from "./migration.ts";
import { STATUS } from "./transport.ts";
import { Testbed, type TestbedOptions } from "./testbed.ts";

const GIB = 262_144; // 4 KiB pages per GiB
const V3_NO_BITMAP: FeatureName[] = [
  "MUST_TELL_HOST",
  "STATS_VQ",
  "DEFLATE_ON_OOM",
  "MISC_VQ",
  "VERSION_1",
  "EVENT_IDX",
  "INDIRECT_DESC",
];

function bed(options: Partial<TestbedOptions> = {}): Testbed {
  const tb = new Testbed({ pages: GIB, ...options });
  assert.equal(tb.probe(), true, "probe reaches DRIVER_OK");
  return tb;
}

for (const mode of ["pfn", "bitmap"] as const) {
  Deno.test(`${mode} mode: inflating to a target and back keeps host and guest views equal`, () => {
    const tb = bed(mode === "pfn" ? { offer: V3_NO_BITMAP } : {});
    tb.setTarget(100_000);
    assert.equal(tb.device.actual, 100_000);
    assert.equal(tb.driver.numPages, 100_000);
    assert.ok(tb.device.ballooned.equals(tb.driver.balloon));
    for (const pfn of tb.device.ballooned) assert.equal(tb.guest.alloc.isAllocated(pfn), true);
    tb.setTarget(30_000);
    assert.equal(tb.device.actual, 30_000);
    assert.ok(tb.device.ballooned.equals(tb.driver.balloon));
    tb.setTarget(0);
    assert.equal(tb.device.actual, 0);
    assert.equal(tb.device.ballooned.size, 0);
    assert.deepEqual(tb.device.observations, []);
    assert.equal(tb.device.counters.rejected, 0);
    tb.guest.alloc.checkInvariants();
    if (mode === "pfn") assert.equal(tb.device.counters.inflateRequests, Math.ceil(100_000 / 256));
    else assert.equal(tb.device.counters.inflateRequests, 1);
  });
}

Deno.test("without DEFLATE_ON_OOM ballooned pages leave the managed count; with it they stay (R-10)", () => {
  for (const doom of [false, true]) {
    const offer = V3_NO_BITMAP.filter((f) => doom || f !== "DEFLATE_ON_OOM");
    const tb = bed({ offer });
    const before = tb.guest.alloc.managedPages;
    tb.setTarget(10_000);
    assert.equal(tb.guest.alloc.managedPages, doom ? before : before - 10_000);
    tb.setTarget(0);
    assert.equal(tb.guest.alloc.managedPages, before);
  }
});

Deno.test("OOM deflates at most OOM_VBALLOON_DEFAULT_PAGES, and only with DEFLATE_ON_OOM (R-13)", () => {
  for (const doom of [false, true]) {
    const offer = V3_NO_BITMAP.filter((f) => doom || f !== "DEFLATE_ON_OOM");
    const tb = bed({ offer });
    tb.setTarget(10_000);
    const t = tb.task("oom", tb.guest.oom());
    assert.equal(t.result, doom ? OOM_VBALLOON_DEFAULT_PAGES : 0);
    assert.equal(tb.device.actual, 10_000 - (t.result ?? 0));
    assert.ok(tb.device.ballooned.equals(tb.driver.balloon));
  }
});

Deno.test("a guest under memory pressure gets pages back through the OOM notifier", () => {
  const tb = bed({ pages: 16_384 });
  tb.setTarget(12_000);
  const free = tb.guest.alloc.freePageCount;
  const t = tb.task("pressure", tb.guest.useMemoryUnderPressure(free + 100));
  assert.equal(t.result?.size, free + 100);
  assert.equal(tb.device.actual, 12_000 - OOM_VBALLOON_DEFAULT_PAGES);
});

Deno.test("with MUST_TELL_HOST no deflated page is used before the device acked it (write watch)", () => {
  for (const mode of ["pfn", "bitmap"] as const) {
    const tb = bed({ touchOnFree: true, ...(mode === "pfn" ? { offer: V3_NO_BITMAP } : {}) });
    tb.setTarget(5000);
    tb.setTarget(1000);
    tb.setTarget(0);
    assert.deepEqual(tb.violations, [], mode);
    assert.equal(tb.device.counters.givenBackPages, 5000);
  }
});

Deno.test("a device that is slow to ack keeps the driver waiting, not reusing pages", () => {
  const tb = bed({ touchOnFree: true, offer: V3_NO_BITMAP });
  tb.setTarget(600);
  tb.transport.hold();
  tb.device.setTarget(0);
  tb.run();
  assert.equal(tb.device.actual, 600, "nothing acked, actual unchanged");
  assert.equal(tb.driver.numPages, 600 - 256, "the first deflate pass is in flight");
  assert.deepEqual(tb.violations, []);
  tb.transport.release();
  tb.run();
  assert.equal(tb.device.actual, 0);
  assert.deepEqual(tb.violations, []);
});

Deno.test("stats: one buffer held by the device, refilled after each request with the same tags", () => {
  const tb = bed();
  assert.ok(tb.device.lastStats !== undefined, "the first buffer is already filled (B28)");
  const tags = tb.device.lastStats?.map((s) => s.tag);
  for (let i = 0; i < 3; i++) {
    tb.guest.useMemory(1000);
    assert.equal(tb.device.requestStats(), true);
    tb.run();
    assert.deepEqual(tb.device.lastStats?.map((s) => s.tag), tags);
  }
  assert.equal(tb.device.statsUpdates, 4);
  const memfree = tb.device.lastStats?.find((s) =>
    s.tag === enumValue("stats_tag", "VIRTIO_BALLOON_S_MEMFREE")
  );
  assert.equal(memfree?.val, BigInt(tb.guest.alloc.freePageCount) * 4096n);
  assert.deepEqual(tb.device.observations, []);
});

Deno.test("unused-page rounds report exactly the buddy free pages at scan time", () => {
  const tb = bed({ pages: 3 * GIB + 123 });
  tb.guest.useMemory(200_000);
  tb.setTarget(50_000);
  const expected = tb.guest.alloc.buddyFreeSet();
  const round = tb.device.requestUnusedPages({ param: 0x0102030405060708n });
  tb.run();
  assert.ok(round?.done);
  assert.ok(round?.hints.equals(expected));
  assert.equal(
    round?.flags[round.flags.length - 1],
    enumValue("balloon_flag", "BALLOON_FLAG_DONE"),
  );
  assert.equal(
    round?.flags.filter((f) => f === enumValue("balloon_flag", "BALLOON_FLAG_DONE")).length,
    1,
  );
  assert.deepEqual(tb.device.observations, []);
  assert.equal(tb.device.canRequestUnusedPages, true, "the request buffer is posted again (R-04)");
});

Deno.test("remove deflates everything, writes actual 0 and resets the device (R-22)", () => {
  const tb = bed({ touchOnFree: true });
  tb.setTarget(20_000);
  const t = tb.task("remove", tb.driver.remove());
  assert.equal(t.error, undefined);
  assert.equal(tb.device.ballooned.size, 0);
  assert.equal(tb.device.actual, 0);
  assert.equal(tb.transport.status, 0);
  assert.deepEqual(tb.violations, []);
});

Deno.test("freeze and restore: deflate, reset, renegotiate and go back to the target (R-23)", () => {
  const tb = bed();
  tb.setTarget(20_000);
  tb.task("freeze", tb.driver.freeze());
  assert.equal(tb.device.ballooned.size, 0);
  assert.equal(tb.transport.status, 0);
  const r = tb.task("restore", tb.driver.restore());
  assert.equal(r.result, true);
  assert.ok(tb.transport.status & STATUS.DRIVER_OK);
  assert.equal(tb.device.actual, 20_000);
  assert.ok(tb.device.ballooned.equals(tb.driver.balloon));
});

Deno.test("balloon-page migration reports the new page, then the old one (R-24)", () => {
  for (const mode of ["pfn", "bitmap"] as const) {
    const tb = bed(mode === "pfn" ? { offer: V3_NO_BITMAP } : {});
    tb.setTarget(100);
    const old = tb.driver.balloon.min() as number;
    const t = tb.task("migrate", tb.driver.migratePage(old));
    assert.equal(t.result, true);
    assert.equal(tb.device.ballooned.has(old), false);
    assert.equal(tb.device.ballooned.size, 100);
    assert.ok(tb.device.ballooned.equals(tb.driver.balloon), mode);
  }
});

Deno.test("a 64 KiB-page guest reports every 4 KiB page of each guest page", () => {
  const tb = bed({ abi: { pageShift: 16 } });
  tb.setTarget(1000);
  assert.equal(tb.device.actual, 1008, "rounded up to whole 64 KiB pages");
  assert.equal(tb.device.ballooned.size, 1008);
  assert.ok(tb.device.ballooned.equals(tb.driver.balloon));
});

Deno.test("bitmap windows beyond 32 GiB: a 40 GiB guest inflated to 36 GiB", () => {
  const tb = bed({ pages: 40 * GIB, log: false });
  tb.setTarget(36 * GIB);
  assert.equal(tb.device.actual, 36 * GIB);
  assert.equal(tb.driver.nrBitmaps, 32);
  assert.equal(tb.device.counters.inflateRequests, 2, "one 32 GiB window, then the rest");
  assert.ok(tb.device.ballooned.equals(tb.driver.balloon));
  assert.ok((tb.device.ballooned.max() as number) >= 32 * GIB);
});

Deno.test("legacy big-endian guest: PFN arrays and bitmap headers in guest byte order", () => {
  for (const mode of ["pfn", "bitmap"] as const) {
    const base = mode === "pfn" ? V3_NO_BITMAP : BalloonDriver.implemented("v3");
    const tb = bed({ guestEndian: "be", offer: base.filter((f) => f !== "VERSION_1") });
    assert.equal(tb.transport.isLegacy, true);
    tb.setTarget(3000);
    assert.equal(tb.device.actual, 3000);
    assert.ok(tb.device.ballooned.equals(tb.driver.balloon));
    const round = tb.device.requestUnusedPages({ param: 0x0102030405060708n });
    tb.run();
    assert.ok(round?.done);
    assert.deepEqual(tb.device.observations, []);
  }
});

Deno.test("a small ring without indirect descriptors gets split bitmap requests, not a hang", () => {
  const tb = bed({
    pages: 8 * GIB,
    queueSize: 4,
    log: false,
    offer: BalloonDriver.implemented("v3").filter((f) => f !== "INDIRECT_DESC"),
  });
  const r = tb.setTarget(7 * GIB);
  assert.equal(r.idle, true);
  assert.equal(tb.device.actual, 7 * GIB);
  assert.ok(tb.device.counters.inflateRequests > 1);
});

Deno.test("live migration with hints sends fewer pages and loses nothing", () => {
  const results = [false, true].map((useHints) => {
    const tb = bed({ pages: GIB, log: false });
    const used = tb.guest.useMemory(50_000);
    tb.setTarget(100_000);
    let writes = 0;
    const task = tb.task(
      "migrate",
      migrate(tb.guest, tb.device, {
        useHints,
        guestActivity: () => {
          // the guest keeps working: allocates fresh pages and rewrites some old ones
          tb.guest.useMemory(500);
          tb.guest.writeTo([...used].slice(writes, writes + 300));
          writes += 300;
        },
      }),
    );
    assert.equal(task.error, undefined);
    const m = task.result;
    assert.ok(m !== undefined);
    assert.deepEqual(m.lost, []);
    assert.ok(m.verified > 50_000);
    return m;
  });
  const [plain, hinted] = results;
  assert.ok(hinted !== undefined && plain !== undefined);
  assert.ok(hinted.hinted);
  assert.ok(hinted.skippedHinted > 100_000);
  assert.ok(hinted.bytesSent < plain.bytesSent);
  assert.equal(hinted.pagesSent, plain.pagesSent, "pages with data are sent either way");
});

Deno.test("migration detects a page lost to a wrong hint", () => {
  const tb = bed({ pages: GIB, log: false });
  const used = tb.guest.useMemory(1000);
  const victim = used.min() as number;
  const task = tb.task("migrate", migrate(tb.guest, tb.device, { useHints: true }));
  assert.deepEqual(task.result?.lost, []);
  // now forge a hint that covers a used page and migrate again
  const tb2 = bed({ pages: GIB, log: false });
  const used2 = tb2.guest.useMemory(1000);
  const victim2 = used2.min() as number;
  const orig = tb2.guest.alloc.scanFreeRange.bind(tb2.guest.alloc);
  tb2.guest.alloc.scanFreeRange = (s: number, e: number, into: PageSet) => {
    const n = orig(s, e, into);
    into.add(victim2);
    return n + 1;
  };
  const task2 = tb2.task("migrate", migrate(tb2.guest, tb2.device, { useHints: true }));
  assert.deepEqual(task2.result?.lost, [victim2]);
  void victim;
});
