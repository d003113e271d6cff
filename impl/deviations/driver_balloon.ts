/**
 * Driver deviations in inflate, deflate, OOM and `actual` (B16, B23, R-05 –
 *
 *
 * @module
 */

import type { PageSet } from "../../spec/mod.ts";
import type { DriverDeviation } from "../deviations.ts";
import type { DriverContext, DriverSeamOverride } from "../driver/seams.ts";

/** `pages` and the page above their highest one (wrapping at the end of guest RAM). */
function withPageAbove(vb: DriverContext, pages: PageSet, of: PageSet): PageSet {
  const out = pages.clone();
  out.add(((of.max() as number) + 1) % vb.guest.mem.pages);
  return out;
}

/** Overrides of the inflate, deflate, OOM and `actual` deviations. */
export const BALLOON_DEVIATIONS: Readonly<Partial<Record<DriverDeviation, DriverSeamOverride>>> = {
  "release-before-ack": () => ({ releaseOrder: () => () => "release-then-tell" }),
  "managed-count-ignores-doom": () => ({ adjustsManagedCount: () => () => true }),
  "oom-ignores-doom": () => ({ deflatesOnOom: () => () => true }),
  "oom-double": () => ({
    oomPasses: (base) => (oomPages) => [...base(oomPages), ...base(oomPages)],
  }),
  "pfn-array-512": () => ({ pfnsPerRequest: (base) => () => 2 * base() }),
  "actual-before-ack": (vb) => ({
    beforeInflateRequest: (base) => () => {
      base();
      vb.updateActual();
    },
  }),
  "actual-off-by-one": () => ({ actualValue: (base) => (numPages) => base(numPages) + 1 }),
  "actual-bytewise": () => ({
    actualAccesses: (base) => (bytes) =>
      base(bytes).flatMap((part) => Array.from(part, (_, i) => part.subarray(i, i + 1))),
  }),
  "deflate-silently": () => ({ deflateReport: () => () => undefined }),
  "touch-inflated-page": (vb) => ({
    whileInFlight: (base) =>
      function* (queue, firstPage) {
        yield* base(queue, firstPage);
        if (queue !== "inflateq") return;
        yield { yield: true };
        const pfn = firstPage ?? vb.balloon.max();
        if (pfn !== undefined) vb.guest.mem.touch(pfn, "driver");
      },
  }),
  "inflate-no-wait": () => ({
    waitsForUse: (base) => (queue) => queue !== "inflateq" && base(queue),
  }),
  "remove-without-deflate": () => ({ deflatesOnRemove: () => () => false }),
  "inflate-report-extra-page": (vb) => ({
    inflateReport: (base) => (pass) =>
      pass.encoding === "pfn" ? withPageAbove(vb, base(pass), pass.taken) : base(pass),
  }),
  "inflate-repeat-page": () => ({
    inflateReport: (base) => (pass) => {
      const report = base(pass);
      if (pass.encoding !== "pfn" || pass.lowestBefore === undefined) return report;
      const out = report.clone();
      out.add(pass.lowestBefore);
      return out;
    },
  }),
  "deflate-extra-page": (vb) => ({
    deflateReport: (base) => (pages) => {
      const report = base(pages);
      return report === undefined ? undefined : withPageAbove(vb, report, pages);
    },
  }),
  "ignore-page-bitmap": () => ({ usesBitmaps: () => () => false }),
  "bitmap-unnegotiated": (vb) => ({ usesBitmaps: (base) => () => vb.profile === "v3" || base() }),
};
