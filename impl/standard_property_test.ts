import assert from "node:assert/strict";
import fc from "fast-check";
import { type FeatureName, PageSet, readScalar } from "../spec/mod.ts";
import { migrate } from "./migration.ts";
import { Testbed } from "./testbed.ts";
import type { DeviceTraceEvent, LoggedEvent } from "./transport.ts";

const PAGES = 8_192; // 32 MiB: a poisoned guest writes every free page it reports
const BASE: readonly FeatureName[] = ["MUST_TELL_HOST", "STATS_VQ", "DEFLATE_ON_OOM", "VERSION_1"];
const OPTIONAL: readonly FeatureName[] = ["FREE_PAGE_HINT", "PAGE_POISON", "PAGE_REPORTING"];

type Op =
  | { readonly op: "target"; readonly pages: number }
  | { readonly op: "oom" }
  | { readonly op: "alloc"; readonly pages: number }
  | { readonly op: "free"; readonly fraction: number }
  | { readonly op: "hint-start" }
  | { readonly op: "hint-stop" }
  | { readonly op: "hint-done" }
  | { readonly op: "hint-reclaim" }
  | { readonly op: "hold-reports" }
  | { readonly op: "release" }
  | { readonly op: "wait" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("target" as const), pages: fc.integer({ min: 0, max: 6000 }) }),
  fc.record({ op: fc.constant("oom" as const) }),
  fc.record({ op: fc.constant("alloc" as const), pages: fc.integer({ min: 1, max: 2500 }) }),
  fc.record({
    op: fc.constant("free" as const),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  fc.record({ op: fc.constant("hint-start" as const) }),
  fc.record({ op: fc.constant("hint-stop" as const) }),
  fc.record({ op: fc.constant("hint-done" as const) }),
  fc.record({ op: fc.constant("hint-reclaim" as const) }),
  fc.record({ op: fc.constant("hold-reports" as const) }),
  fc.record({ op: fc.constant("release" as const) }),
  fc.record({ op: fc.constant("wait" as const) }),
);

/** Whether a page holds a 32-bit value in every word (an unwritten page holds zeros). */
function holds(tb: Testbed, pfn: number, value: number): boolean {
  const c = tb.guest.mem.pageContents(pfn);
  if (c === undefined) return value === 0;
  const v = new DataView(c.buffer, c.byteOffset, c.byteLength);
  for (let i = 0; i + 4 <= c.length; i += 4) if (v.getUint32(i, true) !== value) return false;
  return c.length >= 4096 || value === 0;
}

/**
 * Watches what the host may still discard: pages of a report from the moment
 * the device takes it until the driver sees it used, and hinted pages the
 * driver has not initialised since; records every violation.
 */
function watch(
  tb: Testbed,
  poison: () => number | undefined,
): { problems: string[]; reporting: PageSet } {
  const problems: string[] = [];
  const held = new Map<string, PageSet>();
  const reporting = new PageSet();
  const hinted = new PageSet();
  tb.transport.onEvent((e: LoggedEvent) => {
    if (e.kind === "request") {
      const r = e as DeviceTraceEvent;
      if (r.what === "report" && r.pages !== undefined) {
        held.set(`${r.index}:${r.head}`, r.pages);
        reporting.unionWith(r.pages);
        const p = poison();
        if (p !== undefined) {
          const bare = [...r.pages].filter((pfn) => !holds(tb, pfn, p));
          if (bare.length > 0) problems.push(`report of ${bare.length} pages without poison ${p}`);
        }
      }
      if (r.what === "hint" && r.pages !== undefined) {
        hinted.unionWith(r.pages);
        const used = r.pages.intersectionSize(tb.guest.workload);
        if (used > 0) problems.push(`hint of ${used} pages the guest uses`);
      }
    } else if (e.kind === "used") {
      const pages = held.get(`${e.index}:${e.head}`);
      if (pages !== undefined) {
        held.delete(`${e.index}:${e.head}`);
        reporting.subtract(pages);
        // with a poison value the device leaves the reported pages holding it (B65)
        const p = poison();
        if (p !== undefined) {
          const lost = [...pages].filter((pfn) => !holds(tb, pfn, p));
          if (lost.length > 0) problems.push(`${lost.length} reported pages lost poison ${p}`);
        }
      }
    }
  });
  tb.guest.mem.onWrite((pfn, writer) => {
    if (writer === "device" || writer === "host") return;
    if (reporting.has(pfn)) problems.push(`${writer} wrote PFN ${pfn} while its report was held`);
    if (writer === "driver") hinted.delete(pfn);
  });
  tb.guest.onReturn((pages, reason) => {
    if (reason === "hint") {
      const done = tb.device.hintRounds.at(-1)?.status === "done";
      const bare = pages.intersectionSize(hinted);
      if (!done && bare > 0) problems.push(`${bare} hinted pages back before DONE uninitialised`);
      hinted.subtract(pages);
    }
    const p = poison();
    if (reason === "deflate" && p !== undefined) {
      const bare = [...pages].filter((pfn) => !holds(tb, pfn, p));
      if (bare.length > 0) problems.push(`${bare.length} deflated pages back without poison ${p}`);
    }
  });
  return { problems, reporting };
}

function bound(tb: Testbed): { until: number } {
  return { until: tb.guest.sched.now + 60_000 };
}

function apply(tb: Testbed, o: Op, reporting: PageSet): void {
  switch (o.op) {
    case "target":
      tb.setTarget(o.pages, bound(tb));
      return;
    case "oom":
      tb.task("oom", tb.guest.oom(), bound(tb));
      return;
    case "alloc":
      tb.guest.useMemory(o.pages);
      return;
    case "free": {
      const all = [...tb.guest.workload];
      tb.guest.releaseMemory(PageSet.of(all.slice(0, Math.floor(all.length * o.fraction))));
      tb.run(bound(tb));
      return;
    }
    case "hint-start":
      if (tb.device.has("FREE_PAGE_HINT")) tb.device.startHinting();
      tb.run(bound(tb));
      return;
    case "hint-stop":
      if (tb.device.has("FREE_PAGE_HINT")) tb.device.stopHinting();
      tb.run(bound(tb));
      return;
    case "hint-done":
      if (tb.device.has("FREE_PAGE_HINT")) {
        tb.device.finishHinting();
        tb.run(bound(tb));
        const hinted = new PageSet();
        for (const r of tb.device.hintRounds) hinted.unionWith(r.hints);
        // every hinted page went back to the guest (B46): free, or taken since by someone else
        const held = hinted.clone();
        held.subtract(tb.guest.alloc.freeSet());
        held.subtract(tb.guest.workload);
        held.subtract(tb.device.ballooned);
        held.subtract(reporting); // given back, then taken off the free lists for a report
        assert.equal(held.size, 0, `${held.size} hinted pages still held after DONE`);
      }
      return;
    case "hint-reclaim":
      // a round, then the guest runs out of memory before DONE: the shrinker gives hints back
      if (tb.device.has("FREE_PAGE_HINT")) tb.device.startHinting();
      tb.run(bound(tb));
      tb.task("oom", tb.guest.oom(), bound(tb));
      tb.guest.useMemory(500);
      return;
    case "hold-reports":
      tb.device.holdUsed(["reporting_vq"]);
      return;
    case "release":
      tb.device.releaseUsed();
      tb.run(bound(tb));
      return;
    case "wait":
      tb.run({ until: tb.guest.sched.now + 3000 });
      return;
  }
}

Deno.test("virtio-1.x: random hint, report, poison, OOM and balloon sequences keep host and guest in step (property)", () => {
  fc.assert(
    fc.property(
      fc.subarray([...OPTIONAL]),
      fc.constantFrom(undefined, 0, 0xaaaa_aaaa),
      fc.array(opArb, { minLength: 1, maxLength: 10 }),
      (optional, pagePoison, ops) => {
        const tb = new Testbed({
          pages: PAGES,
          profile: "virtio-1.x",
          offer: [...BASE, ...optional],
          touchOnFree: true,
          log: false,
          ...(pagePoison === undefined ? {} : { pagePoison }),
        });
        const poison = () => {
          if (!tb.device.has("PAGE_POISON")) return undefined;
          const config = new DataView(tb.transport.config.buffer);
          return Number(readScalar(config, 12, "le32", "v1"));
        };
        const { problems, reporting } = watch(tb, poison);
        assert.equal(tb.probe(), true);
        // the driver offers PAGE_POISON only for a guest that initialises free pages (B02), and
        // that guest reports only with PAGE_POISON (B03)
        if (pagePoison === undefined) assert.equal(tb.device.has("PAGE_POISON"), false);
        else if (!tb.device.has("PAGE_POISON")) {
          assert.equal(tb.device.has("PAGE_REPORTING"), false);
        }
        if (tb.device.has("PAGE_POISON")) assert.equal(poison(), pagePoison);
        for (const o of ops) {
          apply(tb, o, reporting);
          assert.ok(
            tb.device.ballooned.equals(tb.driver.balloon),
            `host and guest agree after ${o.op}`,
          );
          assert.equal(tb.device.actual, tb.driver.numPages, `actual after ${o.op}`);
          assert.deepEqual(tb.violations, [], "no guest write lands on a ballooned page");
          assert.deepEqual(problems, [], `after ${o.op}`);
          assert.equal(tb.device.counters.rejected, 0);
        }
        tb.device.releaseUsed();
        tb.run(bound(tb));
        tb.guest.alloc.checkInvariants();
        const m = tb.task(
          "migrate",
          migrate(tb.guest, tb.device, {
            useHints: true,
            guestActivity: () => {
              tb.guest.useMemory(50);
            },
          }),
          bound(tb),
        );
        assert.deepEqual(m.result?.lost, [], "migration loses nothing");
        assert.deepEqual(problems, [], "during the migration");
      },
    ),
    {
      numRuns: 40,
      // found while writing it: hinted pages given back at DONE, then held for a report
      examples: [[["FREE_PAGE_HINT", "PAGE_REPORTING"], undefined, [
        { op: "hold-reports" },
        { op: "hint-start" },
        { op: "hint-done" },
        { op: "free", fraction: 0 },
      ]]],
    },
  );
});
