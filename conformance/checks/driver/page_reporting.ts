/**
 * Driver checks of free page reporting (B59, B60, B62, B63, S-08): reported
 * pages filled with poison_val under PAGE_POISON, kept until the report is
 * used, reported in large blocks, left alone once reported, never in the
 * balloon.
 *
 * @module
 */

import { BALLOON_PAGE_SIZE, PAGE_REPORTING_ORDER, PageSet } from "../../../spec/mod.ts";
import type { Finding } from "../../model/types.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { BalloonReplay, type RequestEvent, requests } from "../queries.ts";
import { none } from "./_shared.ts";

const NEEDS = { needs: () => ["PAGE_REPORTING" as const] };

/** B59: with PAGE_POISON every reported page holds poison_val. */
export const reportedPoisoned: DriverCheckDef = driverCheck(
  "reported-poisoned",
  (run, { rule }) => {
    const reports = run.standard.reports;
    if (reports.length === 0) return none(run, rule, "report");
    const bare = new PageSet();
    for (const r of reports) bare.unionWith(r.notPoisoned);
    const n = reports.reduce((a, r) => a + r.pages.size, 0);
    return bare.size === 0
      ? [ok(rule, `${reports.length} reports of ${n} pages, each holding poison_val`)]
      : [
        bad(
          rule,
          `${bare.size} of ${n} reported pages did not hold poison_val (first: PFN ${bare.min()})`,
          {
            expected: `poison_val 0x${run.device.poisonValue.toString(16)} in every word`,
            actual: `PFNs ${bare.toArray().slice(0, 8).join(", ")}`,
          },
        ),
      ];
  },
  { needs: () => ["PAGE_REPORTING", "PAGE_POISON"] },
);

/**
 * B60: reported pages stay the host's until the report is used: none goes
 * back to the guest before, and nothing writes one while the device holds it.
 */
export const reportKeptUntilUsed: DriverCheckDef = driverCheck(
  "report-kept-until-used",
  (run, { rule }) => {
    const reports = run.standard.reports;
    if (reports.length === 0) return none(run, rule, "report");
    type Ev = { seq: number; order: number; apply: () => void };
    const usedPages = new PageSet();
    const early = new PageSet();
    const evs: Ev[] = [];
    for (const r of reports) {
      if (r.usedSeq !== undefined) {
        evs.push({ seq: r.usedSeq, order: 0, apply: () => void usedPages.unionWith(r.pages) });
      }
    }
    for (const b of run.standard.returns.filter((x) => x.reason === "report")) {
      evs.push({
        seq: b.afterSeq,
        order: 1,
        apply: () => {
          const out = b.pages.clone();
          out.subtract(usedPages);
          early.unionWith(out);
          usedPages.subtract(b.pages);
        },
      });
    }
    evs.sort((a, b) => a.seq - b.seq || a.order - b.order);
    for (const e of evs) e.apply();
    const reported = new PageSet();
    for (const r of reports) reported.unionWith(r.pages);
    const written = run.watch.filter((w) => reported.has(w.pfn));
    const out: Finding[] = [];
    if (early.size > 0) {
      out.push(
        bad(
          rule,
          `${early.size} reported pages went back to the guest before their report was used (first: PFN ${early.min()})`,
          {
            expected: "reported pages kept until the device has used the report",
            actual: `PFNs ${early.toArray().slice(0, 8).join(", ")}`,
          },
        ),
      );
    }
    if (written.length > 0) {
      out.push(
        bad(
          rule,
          `${written.length} writes to reported pages while the device held the report (first: PFN ${
            written[0]?.pfn
          }, by the ${written[0]?.writer})`,
        ),
      );
    }
    return out.length > 0 ? out : [
      ok(
        rule,
        `${reports.length} reports; their pages went back only after the device used them`,
      ),
    ];
  },
  NEEDS,
);

/** B62: free pages are reported in large blocks (at least the reporting order). */
export const reportLargeBlocks: DriverCheckDef = driverCheck(
  "report-large-blocks",
  (run, { rule }) => {
    const rs = requests(run.trace, "report");
    if (rs.length === 0) return none(run, rule, "report");
    const min = 2 ** PAGE_REPORTING_ORDER * BALLOON_PAGE_SIZE;
    const small = rs.flatMap((r) => r.writable.filter((len) => len < min));
    const n = rs.reduce((a, r) => a + r.writable.length, 0);
    return small.length === 0
      ? [ok(rule, `${n} reported blocks, each at least ${min / 1024} KiB`)]
      : [bad(rule, `${small.length} of ${n} reported blocks are smaller than ${min / 1024} KiB`, {
        expected: `blocks of at least 2^${PAGE_REPORTING_ORDER} pages (PAGE_REPORTING_ORDER)`,
        actual: `${[...new Set(small)].slice(0, 4).map((l) => `${l / 1024} KiB`).join(", ")}`,
      })];
  },
  NEEDS,
);

/** B63: the driver leaves reported pages alone while they are free. */
export const reportedLeftAlone: DriverCheckDef = driverCheck(
  "reported-left-alone",
  (run, { rule }) => {
    const reports = run.standard.reports;
    if (reports.length === 0) return none(run, rule, "report");
    const w = run.standard.reportedWrites;
    const pfns = new Set(w.map((x) => x.pfn));
    return w.length === 0
      ? [
        ok(
          rule,
          `${reports.length} reports; the driver never wrote a reported page that was still free`,
        ),
      ]
      : [
        bad(
          rule,
          `the driver wrote ${pfns.size} reported pages that were still free (first: PFN ${
            w[0]?.pfn
          })`,
          {
            expected: "reported pages not read or written unless needed",
            actual: `${w.length} writes`,
          },
        ),
      ];
  },
  NEEDS,
);

/** S-08: no report names a page in the balloon. */
export const reportNotInBalloon: DriverCheckDef = driverCheck(
  "report-not-in-balloon",
  (run, { rule }) => {
    const replay = new BalloonReplay();
    const out: Finding[] = [];
    let n = 0;
    for (const e of run.trace) {
      if (e.kind === "request" && (e as RequestEvent).what === "report") {
        n++;
        const pages = (e as RequestEvent).pages as PageSet;
        const both = pages.intersection(replay.pages);
        if (both.size > 0) {
          out.push(
            bad(
              rule,
              `a report names ${both.size} pages in the balloon (first: PFN ${both.min()})`,
            ),
          );
        }
      }
      replay.apply(e);
    }
    if (n === 0) return none(run, rule, "report");
    return out.length > 0 ? out : [ok(rule, `${n} reports, none naming a page in the balloon`)];
  },
  NEEDS,
);
