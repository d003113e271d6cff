import assert from "node:assert/strict";
import { type FeatureName, hasFeature } from "../spec/mod.ts";
import { BalloonDriver } from "./driver.ts";
import { AS_POSTED_V3, type QuirkId, QUIRKS } from "./quirks.ts";
import { Testbed, type TestbedOptions } from "./testbed.ts";

const GIB = 262_144;
const ALL = BalloonDriver.implemented("v3");
const without = (...fs: FeatureName[]) => ALL.filter((f) => !fs.includes(f));

function bed(quirks: QuirkId[], options: Partial<TestbedOptions> = {}): Testbed {
  const tb = new Testbed({ pages: GIB, quirks, log: false, ...options });
  assert.equal(tb.probe(), true);
  return tb;
}

/** Rules named by the device's rejections and observations. */
function complaints(tb: Testbed): string[] {
  const rules = [
    ...tb.device.rejections.map((e) => e.rule ?? "?"),
    ...tb.device.observations.map((o) => o.rule),
  ];
  return [...new Set(rules)].sort();
}

/** Runs a scenario with and without one quirk; returns both testbeds. */
function both(
  q: QuirkId,
  options: Partial<TestbedOptions>,
  scenario: (tb: Testbed) => void,
): [Testbed, Testbed] {
  const clean = bed([], options);
  scenario(clean);
  const quirky = bed([q], options);
  scenario(quirky);
  return [clean, quirky];
}

function hostMatchesGuest(tb: Testbed): boolean {
  return tb.device.ballooned.equals(tb.driver.balloon) && tb.device.actual === tb.driver.numPages;
}

Deno.test("every quirk is documented and asPostedV3 switches all of them on", () => {
  assert.deepEqual([...AS_POSTED_V3].sort(), Object.keys(QUIRKS).sort());
  for (
    const q of [
      "D-01",
      "D-02",
      "D-03",
      "D-04",
      "D-06",
      "D-07",
      "D-08",
      "D-09",
      "D-10",
      "D-13",
      "D-14",
      "D-16",
    ]
  ) {
    assert.ok(AS_POSTED_V3.has(q as QuirkId), q);
  }
});

Deno.test("D-01: a window under 1 GiB goes out as a header with no bitmap", () => {
  const [clean, quirky] = both("D-01", {}, (tb) => tb.setTarget(256));
  assert.deepEqual(complaints(clean), []);
  assert.ok(hostMatchesGuest(clean));
  const rejected = quirky.device.rejections;
  assert.ok(rejected.length > 0);
  assert.equal(rejected[0]?.bytes, 32, "a 32-byte chain: the header only");
  assert.equal(rejected[0]?.rule, "R-16");
  assert.equal(quirky.device.ballooned.size, 0, "the host balloons nothing");
  assert.equal(quirky.device.actual, 256, "yet actual says 256");
});

Deno.test("D-02: a single 64-aligned page is inflated without any request", () => {
  const scenario = (tb: Testbed) => {
    for (let n = 1; n <= 130; n++) tb.setTarget(n);
  };
  const [clean, quirky] = both("D-02", {}, scenario);
  assert.ok(hostMatchesGuest(clean));
  assert.equal(clean.device.counters.inflateRequests, 130);
  assert.ok(quirky.device.counters.inflateRequests < 130);
  assert.ok(quirky.device.ballooned.size < quirky.device.actual);
});

Deno.test("D-03: a second inflate re-reports pages already in the balloon", () => {
  const [clean, quirky] = both("D-03", {}, (tb) => {
    tb.setTarget(1000);
    tb.setTarget(2000);
  });
  assert.deepEqual(complaints(clean), []);
  assert.deepEqual(complaints(quirky), ["R-08"]);
  assert.match(quirky.device.observations[0]?.message ?? "", /already in the balloon/);
});

Deno.test("D-04: free blocks that end on a 1 GiB boundary are missing from the unused-page report", () => {
  const options = { pages: 3 * GIB };
  const [clean, quirky] = both("D-04", options, (tb) => {
    tb.device.requestUnusedPages();
    tb.run();
  });
  const truth = clean.guest.alloc.buddyFreeSet();
  assert.ok(clean.device.lastRound?.hints.equals(truth));
  const hints = quirky.device.lastRound?.hints;
  assert.ok(hints !== undefined);
  const missing = truth.clone();
  missing.subtract(hints);
  assert.ok(missing.size > 0);
  for (const pfn of missing) {
    assert.ok(
      Math.floor(pfn / GIB) !== Math.floor((pfn + 1024) / GIB),
      `PFN ${pfn} sits below a 1 GiB boundary`,
    );
  }
});

Deno.test("D-05: the misc request is handled in interrupt context, which blocks", () => {
  const [clean, quirky] = both("D-05", {}, (tb) => {
    tb.device.requestUnusedPages();
    tb.run();
  });
  assert.deepEqual(clean.guest.sched.violations, []);
  assert.ok(quirky.guest.sched.violations.length > 0);
  assert.match(quirky.guest.sched.violations[0]?.message ?? "", /in interrupt context/);
});

Deno.test("D-06: a request with a bad used length loses the request buffer for good", () => {
  const [clean, quirky] = both("D-06", {}, (tb) => {
    tb.device.requestUnusedPages({ usedLength: 8 });
    tb.run();
  });
  assert.equal(clean.device.canRequestUnusedPages, true);
  assert.equal(quirky.device.canRequestUnusedPages, false);
  const [clean2, quirky2] = both("D-06", {}, (tb) => {
    tb.device.requestUnusedPages({ cmd: 1 });
    tb.run();
  });
  assert.equal(clean2.device.canRequestUnusedPages, true);
  assert.equal(quirky2.device.canRequestUnusedPages, false);
});

Deno.test("D-07: a big-endian guest with VERSION_1 echoes a byte-swapped req_id", () => {
  const [clean, quirky] = both("D-07", { guestEndian: "be" }, (tb) => {
    tb.device.requestUnusedPages({ param: 0x0102030405060708n });
    tb.run();
  });
  assert.deepEqual(complaints(clean), []);
  assert.deepEqual(complaints(quirky), ["R-18"]);
  assert.match(
    quirky.device.observations[0]?.message ?? "",
    /req_id 578437695752307201 does not echo/,
  );
});

Deno.test("D-08: a 32-bit guest truncates req_id to 32 bits", () => {
  const [clean, quirky] = both("D-08", { abi: { bitsPerLong: 32 } }, (tb) => {
    tb.device.requestUnusedPages({ param: 0x1_0000_0001n });
    tb.run();
  });
  assert.deepEqual(complaints(clean), []);
  assert.match(
    quirky.device.observations[0]?.message ?? "",
    /req_id 1 does not echo param 4294967297/,
  );
});

Deno.test("D-09: after a misc reply, inflate headers carry flag DONE and the old req_id", () => {
  const [clean, quirky] = both("D-09", {}, (tb) => {
    tb.device.requestUnusedPages({ param: 7n });
    tb.run();
    tb.setTarget(100);
  });
  assert.deepEqual(complaints(clean), []);
  const r = quirky.device.rejections[0];
  assert.equal(r?.rule, "R-15");
  assert.match(r?.error ?? "", /flag at byte 4 is 1, expected 0/);
});

Deno.test("D-10: features dropped after FEATURES_OK — the device sees bit 3 but gets PFN arrays", () => {
  const [clean, quirky] = both(
    "D-10",
    { driver: { failBitmapAllocation: true } },
    (tb) => tb.setTarget(100),
  );
  assert.equal(hasFeature("v3", clean.transport.negotiated, "PAGE_BITMAP"), false);
  assert.deepEqual(complaints(clean), []);
  assert.equal(hasFeature("v3", quirky.transport.negotiated, "PAGE_BITMAP"), true);
  assert.equal(hasFeature("v3", quirky.driver.features, "PAGE_BITMAP"), false);
  assert.ok(quirky.device.counters.rejected > 0, "PFN arrays read as bitmap requests are rejected");
  assert.equal(quirky.device.ballooned.size, 0);
});

Deno.test("D-11: without STATS_VQ the driver drops PAGE_BITMAP", () => {
  const offer = without("STATS_VQ", "MISC_VQ");
  const [clean, quirky] = both("D-11", { offer }, (tb) => tb.setTarget(300));
  assert.equal(hasFeature("v3", clean.transport.negotiated, "PAGE_BITMAP"), true);
  assert.equal(clean.device.counters.inflateRequests, 1);
  assert.equal(hasFeature("v3", quirky.transport.negotiated, "PAGE_BITMAP"), false);
  assert.equal(quirky.device.counters.inflateRequests, 2, "256 + 44 PFNs");
});

Deno.test("D-12: balloon-page migration resends the stale bitmap of the last request", () => {
  const [clean, quirky] = both("D-12", {}, (tb) => {
    tb.setTarget(500);
    const old = tb.driver.balloon.min() as number;
    tb.task("migrate", tb.driver.migratePage(old));
  });
  assert.ok(hostMatchesGuest(clean));
  assert.equal(hostMatchesGuest(quirky), false);
});

Deno.test("D-13: a big-endian legacy guest sends its bitmap words byte-swapped", () => {
  const offer = without("VERSION_1");
  const [clean, quirky] = both("D-13", { guestEndian: "be", offer }, (tb) => tb.setTarget(300));
  assert.ok(hostMatchesGuest(clean));
  assert.equal(hostMatchesGuest(quirky), false, "the device reads the bits at the wrong PFNs");
  const [clean32, quirky32] = both("D-13", { abi: { bitsPerLong: 32 } }, (tb) => {
    for (let n = 1; n <= 40; n++) tb.setTarget(n * 7);
  });
  assert.deepEqual(complaints(clean32), []);
  assert.ok(complaints(quirky32).includes("R-15"), "32-bit rounding breaks the 64-bit alignment");
});

Deno.test("D-14: a 64 KiB-page guest says page_shift 16 and sets one bit per guest page", () => {
  const [clean, quirky] = both("D-14", { abi: { pageShift: 16 } }, (tb) => tb.setTarget(160));
  assert.ok(hostMatchesGuest(clean));
  const r = quirky.device.rejections[0];
  assert.equal(r?.rule, "R-15");
  assert.match(r?.error ?? "", /page_shift at byte 2 is 16, expected 12/);
});

Deno.test("D-15: a request larger than a small ring spins forever", () => {
  const options = { pages: 8 * GIB, queueSize: 4, offer: without("INDIRECT_DESC") };
  const clean = bed([], options);
  assert.equal(clean.setTarget(7 * GIB).idle, true);
  assert.equal(clean.device.actual, 7 * GIB);
  const quirky = bed(["D-15"], options);
  const r = quirky.setTarget(7 * GIB, { until: 10_000 });
  assert.equal(r.idle, false, "still spinning after 10 virtual seconds");
  assert.equal(quirky.device.counters.inflateRequests, 0);
});

Deno.test("D-16: the DONE chunk is cut to floor(nr_pfn / 8) bytes", () => {
  const options = { pages: GIB + 100 };
  const [clean, quirky] = both("D-16", options, (tb) => {
    tb.device.requestUnusedPages();
    tb.run();
  });
  assert.ok(clean.device.lastRound?.done);
  assert.deepEqual(complaints(clean), []);
  const r = quirky.device.rejections[0];
  assert.equal(r?.rule, "R-18", "the misc reply's rule, not the inflate/deflate header's");
  // 262,244 PFNs in one DONE window (two bitmaps): floor(262244 / 8) = 32780 bytes
  assert.match(r?.error ?? "", /bmap_len at byte 24 is 32780, expected a multiple of 8/);
  assert.equal(quirky.device.lastRound?.done, false, "the round never completes");
});

Deno.test("asPostedV3 as a whole: the base inflate/deflate scenario draws complaints from the device", () => {
  const tb = bed([...AS_POSTED_V3], { touchOnFree: true });
  tb.setTarget(256);
  assert.equal(hostMatchesGuest(tb), false, "actual says 256, the host holds none");
  tb.setTarget(0, { until: 60_000 });
  assert.ok(complaints(tb).length > 0);
});
