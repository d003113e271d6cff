/**
 * Device checks of free page reporting (B65, S-10, S-11): with PAGE_POISON
 * and a poison value, reported pages keep it; a malformed report changes
 * nothing and the next one works; a report on its dense index is taken.
 *
 * @module
 */

import type { Finding } from "../../model/types.ts";
import type { SendResult } from "../../runners/device.ts";
import { bad, deviceCheck, type DeviceCheckDef, ok } from "../define.ts";
import { evidence, missing, sendOf } from "./_shared.ts";

const NEEDS = () => ["PAGE_REPORTING" as const];

/** The pages a send added to the host's reported set. */
function newlyReported(s: SendResult): number {
  if (s.hostBefore === undefined || s.hostAfter === undefined) return 0;
  return s.hostAfter.reported.size - s.hostBefore.reported.size;
}

/** B65: with PAGE_POISON, reported pages hold nothing but poison_val afterwards. */
export const reportKeepsPoison: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("report-keeps-poison", (run, { rule, params: p }) => {
  const c = run.guestChecks.get(p.label);
  if (c === undefined) return [bad(rule, `the scenario did not read "${p.label}" back`)];
  const changed = c.pages.size - c.kept.size;
  return changed === 0
    ? [{
      ...ok(rule, `${c.pages.size} reported pages still hold poison_val`),
      observation: "guest-memory",
    }]
    : [
      bad(
        rule,
        `${changed} of ${c.pages.size} reported pages lost poison_val (${c.zeroed.size} read as zeros)`,
        {
          expected: "poison_val (or the pages left as they were)",
          actual: `first changed: PFN ${(c.zeroed.size > 0 ? c.zeroed : c.other).min()}`,
          observation: "guest-memory",
        },
      ),
    ];
}, {
  needs: () => ["PAGE_REPORTING", "PAGE_POISON"],
  readsChains: false,
  observes: () => ["guest-memory"],
});

/** S-10: a malformed report changes no host state, is used, and the next report is taken. */
export const reportMalformedIgnored: DeviceCheckDef<
  { readonly bad: string; readonly after: string }
> = deviceCheck<{ readonly bad: string; readonly after: string }>(
  "report-malformed-ignored",
  (run, { rule, params: p }) => {
    const b = sendOf(run, p.bad);
    const a = sendOf(run, p.after);
    if (b === undefined || a === undefined) return missing(rule, `${p.bad}, ${p.after}`);
    if (b.hostAfter === undefined) return [bad(rule, "the target reports no reported pages")];
    const out: Finding[] = [];
    if (newlyReported(b) > 0) {
      out.push(
        bad(rule, `the malformed report "${p.bad}" made the host take ${newlyReported(b)} pages`, {
          expected: "no host state change",
          evidence: evidence(run, b),
          observation: "host-view",
        }),
      );
    }
    if (!b.used) {
      out.push(
        bad(rule, `the malformed report "${p.bad}" was never used`, { observation: "ring" }),
      );
    }
    if (!a.used || newlyReported(a) !== (a.pages?.size ?? 0)) {
      out.push(
        bad(
          rule,
          `the report after it was not taken (${newlyReported(a)} of ${a.pages?.size} pages${
            a.used ? "" : ", not used"
          })`,
          {
            expected: "the device stays usable",
            observation: "host-view",
          },
        ),
      );
    }
    return out.length > 0 ? out : [{
      ...ok(rule, `"${p.bad}" changed nothing and was used; the next report was taken`),
      observation: "host-view",
    }];
  },
  { needs: NEEDS, observes: () => ["host-view"] },
);

/** S-11: a report sent on the queue's dense index is taken as a report and used. */
export const reportTaken: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("report-taken", (run, { rule, params: p }) => {
  const s = sendOf(run, p.label);
  if (s === undefined) return missing(rule, p.label);
  if (s.hostAfter === undefined || s.pages === undefined) {
    return [bad(rule, "the target reports no reported pages")];
  }
  const taken = s.pages.intersectionSize(s.hostAfter.reported);
  return taken === s.pages.size && s.used
    ? [{
      ...ok(rule, `the ${taken} pages of "${p.label}" were taken as a report, the buffer used`),
      observation: "host-view",
    }]
    : [
      bad(
        rule,
        `${taken} of ${s.pages.size} pages of "${p.label}" were taken as a report${
          s.used ? "" : ", and it was never used"
        }`,
        {
          expected: "a report on reporting_vq's dense index taken and used",
          observation: "host-view",
        },
      ),
    ];
}, { needs: NEEDS, observes: () => ["host-view"] });
