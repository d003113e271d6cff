/**
 * Device checks of how the rings are served: every chain made available is
 * applied and used — several in flight before one notification, and across
 * a ring that wraps — and used-buffer notifications follow the driver's
 * suppression (avail.flags without EVENT_IDX, used_event with it).
 *
 * @module
 */

import { PageSet } from "../../../spec/mod.ts";
import type { Observation } from "../../model/ports.ts";
import type { Finding } from "../../model/types.ts";
import { bad, deviceCheck, type DeviceCheckDef, ok } from "../define.ts";
import { missing, sendOf } from "./_shared.ts";
import { QUEUE_EFFECT } from "./inflate_deflate.ts";

/**
 * S-05: every inflate the scenario made available is applied and used, in
 * whatever order the device uses them (out-of-order use is allowed). Judged
 * over all of them together: with several in flight, one step's change at the
 * host is several chains' pages.
 */
export const allApplied: DeviceCheckDef = deviceCheck("all-applied", (run, { rule }) => {
  const sends = [...run.sends.values()].filter((s) => s.queue === "inflateq");
  if (sends.length === 0) return [bad(rule, "the scenario sent no inflate")];
  const named = new PageSet();
  for (const s of sends) if (s.pages !== undefined) named.unionWith(s.pages);
  const unused = sends.filter((s) => !s.used).map((s) => s.label);
  const out: Finding[] = [];
  if (unused.length > 0) {
    out.push(bad(rule, `${unused.length} of the ${sends.length} inflates were never used`, {
      expected: `all ${sends.length} buffers used`,
      actual: `unused: ${unused.slice(0, 8).join(", ")}`,
      observation: "ring",
    }));
  }
  let observation: Observation;
  let got: PageSet;
  if (run.port.observations.has("host-view")) {
    observation = "host-view";
    got = (sends[sends.length - 1] as (typeof sends)[number]).after.clone();
    got.subtract((sends[0] as (typeof sends)[number]).before);
  } else {
    const discarded = sends.map((s) => s.discarded);
    if (discarded.some((d) => d === undefined)) {
      return [...out, bad(rule, "what the inflates did at the host could not be observed")];
    }
    observation = "guest-memory";
    got = new PageSet();
    for (const d of discarded) got.unionWith(d as PageSet);
  }
  const extra = got.clone();
  extra.subtract(named);
  const lost = named.clone();
  lost.subtract(got);
  if (extra.size > 0 || lost.size > 0) {
    out.push(
      bad(
        rule,
        `after ${sends.length} inflates of ${named.size} pages the host changed ${got.size}`,
        {
          expected: `exactly the ${named.size} pages the chains name`,
          actual: `${extra.size} other pages (e.g. PFN ${
            extra.min() ?? "-"
          }), ${lost.size} named pages missing (e.g. PFN ${lost.min() ?? "-"})`,
          observation,
        },
      ),
    );
  }
  return out.length > 0 ? out : [{
    ...ok(rule, `all ${sends.length} inflates applied (${named.size} pages) and used`),
    observation,
  }];
}, { observes: () => QUEUE_EFFECT("inflateq") });

/** G43a / G44a: the device notifies for a used buffer when the driver asked for notifications. */
export const notifiedWhenAsked: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("notified-when-asked", (run, { rule, params: p }) => {
  const s = sendOf(run, p.label);
  if (s === undefined) return missing(rule, p.label);
  if (!s.used) return [bad(rule, `"${p.label}" was never used`, { observation: "ring" })];
  return s.interrupts > 0
    ? [{ ...ok(rule, `"${p.label}" was used with a notification`), observation: "ring" }]
    : [bad(rule, `"${p.label}" was used without a used-buffer notification`, {
      expected: "a notification: the driver asked for them",
      actual: "none",
      observation: "ring",
    })];
});

/** G43b / G44b: the device does not notify while the driver suppresses notifications. */
export const quietWhenSuppressed: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("quiet-when-suppressed", (run, { rule, params: p }) => {
  const s = sendOf(run, p.label);
  if (s === undefined) return missing(rule, p.label);
  if (!s.used) return [bad(rule, `"${p.label}" was never used`, { observation: "ring" })];
  return s.interrupts === 0
    ? [{ ...ok(rule, `"${p.label}" was used without a notification`), observation: "ring" }]
    : [bad(rule, `"${p.label}" was used with ${s.interrupts} used-buffer notifications`, {
      expected: "none: the driver suppressed them",
      actual: `${s.interrupts}`,
      observation: "ring",
    })];
});
