import assert from "node:assert/strict";
import fc from "fast-check";
import { PageSet } from "../spec/mod.ts";
import { migrate } from "./migration.ts";
import { Testbed } from "./testbed.ts";

const PAGES = 16_384; // 64 MiB keeps each run quick

type Op =
  | { readonly op: "target"; readonly pages: number }
  | { readonly op: "oom" }
  | { readonly op: "alloc"; readonly pages: number }
  | { readonly op: "free"; readonly fraction: number }
  | { readonly op: "misc" }
  | { readonly op: "stats" }
  | { readonly op: "migratePage" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("target" as const), pages: fc.integer({ min: 0, max: 12_000 }) }),
  fc.record({ op: fc.constant("oom" as const) }),
  fc.record({ op: fc.constant("alloc" as const), pages: fc.integer({ min: 1, max: 3000 }) }),
  fc.record({
    op: fc.constant("free" as const),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  fc.record({ op: fc.constant("misc" as const) }),
  fc.record({ op: fc.constant("stats" as const) }),
  fc.record({ op: fc.constant("migratePage" as const) }),
);

/** Every step runs for at most a minute of virtual time: a target the guest cannot reach keeps the driver retrying. */
function bound(tb: Testbed): { until: number } {
  return { until: tb.guest.sched.now + 60_000 };
}

function apply(tb: Testbed, o: Op): void {
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
      const some = all.slice(0, Math.floor(all.length * o.fraction));
      tb.guest.releaseMemory(PageSet.of(some));
      return;
    }
    case "misc": {
      const round = tb.device.requestUnusedPages();
      tb.run(bound(tb));
      if (round !== undefined) {
        assert.ok(round.done, "the round completes");
        // every hinted page was free at scan time (nothing ran in between)
        assert.ok(round.hints.isSubsetOf(tb.guest.alloc.freeSet()), "hints only name free pages");
      }
      return;
    }
    case "stats":
      tb.device.requestStats();
      tb.run(bound(tb));
      return;
    case "migratePage": {
      const first = tb.driver.balloon.min();
      if (first !== undefined) tb.task("migrate", tb.driver.migratePage(first), bound(tb));
      return;
    }
  }
}

for (const mode of ["bitmap", "pfn"] as const) {
  Deno.test(`${mode} mode: random targets, OOMs, allocations, frees and misc requests keep the invariants (property)`, () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 12 }), (ops) => {
        const tb = new Testbed({
          pages: PAGES,
          touchOnFree: true,
          log: false,
          ...(mode === "pfn"
            ? {
              offer: [
                "MUST_TELL_HOST",
                "STATS_VQ",
                "DEFLATE_ON_OOM",
                "MISC_VQ",
                "VERSION_1",
                "EVENT_IDX",
              ],
            }
            : {}),
        });
        assert.equal(tb.probe(), true);
        for (const o of ops) {
          apply(tb, o);
          assert.ok(
            tb.device.ballooned.equals(tb.driver.balloon),
            `host and guest agree after ${o.op}`,
          );
          assert.equal(tb.device.actual, tb.driver.numPages, `actual after ${o.op}`);
          assert.equal(tb.driver.numPages, tb.device.ballooned.size);
          assert.deepEqual(tb.violations, [], "no guest write lands on a ballooned page");
          assert.deepEqual(tb.device.observations, []);
          assert.equal(tb.device.counters.rejected, 0);
        }
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
      }),
      {
        numRuns: 40,
        // found by CI: migratePage waited for the lock while a deflate took its page
        examples: [[[
          { op: "alloc", pages: 1790 },
          { op: "alloc", pages: 2319 },
          { op: "alloc", pages: 10 },
          { op: "target", pages: 11992 },
          { op: "migratePage" },
          { op: "target", pages: 0 },
        ]]],
      },
    );
  });
}
