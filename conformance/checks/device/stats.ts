/**
 * Device checks of the stats queue: unknown tags and any order accepted.
 *
 * @module
 */

import { enumValues } from "../../../spec/mod.ts";
import { bad, deviceCheck, type DeviceCheckDef, ok } from "../define.ts";
import { missing, sendOf } from "./_shared.ts";

/** B33 / B34: stats with unknown tags or in any order are accepted. */
export const statsAccepted: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("stats-accepted", (run, { rule, params: p }) => {
  const label = p.label;
  const s = sendOf(run, label);
  if (s === undefined) return missing(rule, label);
  const rejected = run.trace.some((e) =>
    e.kind === "request" && e.what === "rejected" && e.queue === "statsq" &&
    e.seq > (s.usedSeq ?? -1)
  );
  const stats = run.port.host.lastStats?.() ?? [];
  const known = new Set(enumValues("stats_tag", run.scenario.profile).map((t) => t.value));
  const tags = stats.map((x) => x.tag).filter((t) => known.has(t));
  if (rejected || tags.length === 0) {
    return [bad(rule, `the device refused the stats buffer "${label}"`, {
      expected: rule === "B33"
        ? "unknown tags ignored, known ones kept"
        : "entries accepted in any order",
      evidence: { title: `statsq buffer "${label}"`, bytes: s.bytes, annotations: [] },
    })];
  }
  return [ok(rule, `stats kept: tags ${tags.join(", ")}`)];
});
