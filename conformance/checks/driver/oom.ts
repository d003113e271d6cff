/**
 * Driver checks of DEFLATE_ON_OOM: the managed-page count and the OOM
 * deflate.
 *
 * @module
 */

import { OOM_VBALLOON_DEFAULT_PAGES } from "../../../spec/mod.ts";
import type { Finding } from "../../model/types.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { actualWrites, BalloonReplay, requests } from "../queries.ts";
import { none } from "./_shared.ts";

/** Parameters of {@link managedCount}. */
interface ManagedParams {
  /** Whether DEFLATE_ON_OOM is negotiated in the scenario. */
  readonly doom: boolean;
  /** The step after which the managed count is read. */
  readonly afterStep: number;
}

/** managed pages after inflating, with or without DEFLATE_ON_OOM. */
export const managedCount: DriverCheckDef<ManagedParams> = driverCheck<ManagedParams>(
  "managed-count",
  (run, { rule, params: p }) => {
    const step = p.afterStep;
    const doom = p.doom;
    const before = run.managed[0] as number;
    const after = run.managed[step] as number;
    // the pages the host was told are in the balloon by the end of that step; when the
    // device could read none of them (malformed requests), the driver's own actual
    const end = run.stepSeq[step] ?? Infinity;
    const replay = new BalloonReplay();
    for (const e of run.trace) {
      if (e.seq >= end) break;
      replay.apply(e);
    }
    const held = replay.pages.size ||
      (actualWrites(run.trace).filter((w) => w.seq < end).pop()?.value ?? 0);
    if (held === 0) return none(run, rule, "inflated page");
    const want = doom ? before : before - held;
    return after === want
      ? [
        ok(
          rule,
          `managed pages ${after} with ${held} pages ballooned (${
            doom ? "stay managed" : "removed"
          })`,
        ),
      ]
      : [
        bad(rule, `managed pages ${after} after ballooning ${held} pages`, {
          expected: `${want}`,
          actual: `${after}`,
        }),
      ];
  },
  { needs: (p) => (p.doom ? ["DEFLATE_ON_OOM"] : []) },
);

/** R-13 / B11: OOM deflate only with DEFLATE_ON_OOM, at most the OOM count, then actual. */
export const oomDeflate: DriverCheckDef<{ readonly doom: boolean }> = driverCheck<
  { readonly doom: boolean }
>("oom-deflate", (run, { rule, params: p }) => {
  const doom = p.doom;
  if (run.oomFreed.length === 0) return none(run, rule, "OOM event");
  const out: Finding[] = [];
  for (const [i, freed] of run.oomFreed.entries()) {
    if (!doom && freed > 0) {
      out.push(
        bad(rule, `OOM event ${i + 1} deflated ${freed} pages without DEFLATE_ON_OOM`, {
          expected: "0",
          actual: `${freed}`,
        }),
      );
    }
    if (doom && (freed > OOM_VBALLOON_DEFAULT_PAGES || freed === 0)) {
      out.push(bad(rule, `OOM event ${i + 1} deflated ${freed} pages`, {
        expected: `1…${OOM_VBALLOON_DEFAULT_PAGES} (OOM_VBALLOON_DEFAULT_PAGES)`,
        actual: `${freed}`,
      }));
    }
  }
  if (!doom) {
    const deflates = requests(run.trace, "deflate").length;
    if (deflates > 0) {
      out.push(bad(rule, `${deflates} deflate requests without DEFLATE_ON_OOM`));
    }
  }
  return out.length > 0 ? out : [ok(rule, `OOM events freed ${run.oomFreed.join(", ")} pages`)];
}, { needs: (p) => (p.doom ? ["DEFLATE_ON_OOM"] : []) });
