/**
 * Device checks of the stats queue: unknown tags and any order accepted.
 *
 * @module
 */

import { enumValues } from "../../../spec/mod.ts";
import { bad, deviceCheck, type DeviceCheckDef, ok } from "../define.ts";
import { missing, sendOf } from "./_shared.ts";

/**
 * B33 / B34: stats with unknown tags or in any order are accepted: after the
 * host's request, the statistics it reports are this buffer's known entries
 * (every buffer of the scenario carries values of its own).
 */
export const statsAccepted: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("stats-accepted", (run, { rule, params: p }) => {
  const label = p.label;
  const s = sendOf(run, label);
  if (s === undefined || s.chain === undefined || !("stats" in s.chain)) {
    return missing(rule, label);
  }
  const known = new Set(enumValues("stats_tag", run.scenario.profile).map((t) => t.value));
  const sent = s.chain.stats.filter((x) => known.has(x.tag));
  const kept = s.statsAfter ?? [];
  const lost = sent.filter((x) => !kept.some((k) => k.tag === x.tag && k.val === BigInt(x.val)));
  const tags = kept.map((x) => x.tag).filter((t) => known.has(t));
  if (lost.length > 0 || tags.length === 0) {
    return [bad(rule, `the device refused the stats buffer "${label}"`, {
      expected: rule === "B33"
        ? "unknown tags ignored, known ones kept"
        : "entries accepted in any order",
      actual: `the host reports ${
        kept.map((x) => `${x.tag}=${x.val}`).join(", ") || "no statistics"
      }; the buffer sent ${sent.map((x) => `${x.tag}=${x.val}`).join(", ")}`,
      evidence: { title: `statsq buffer "${label}"`, bytes: s.bytes, annotations: [] },
      observation: "host-stats",
    })];
  }
  return [{ ...ok(rule, `stats kept: tags ${tags.join(", ")}`), observation: "host-stats" }];
}, { observes: () => ["host-stats"] });

/**
 * B33 (the standard profile): a stats buffer holding a tag no spec defines
 * is still read: after the host's request, the statistics it reports
 * include every entry of the buffer whose tag the spec defines.
 */
export const statsSpecTagsKept: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("stats-spec-tags-kept", (run, { rule, params: p }) => {
  const s = sendOf(run, p.label);
  if (s === undefined || s.chain === undefined || !("stats" in s.chain)) {
    return missing(rule, p.label);
  }
  const spec = new Set(
    enumValues("stats_tag", run.scenario.profile).filter((t) => !t.nonStandard).map((t) => t.value),
  );
  const sent = s.chain.stats.filter((x) => spec.has(x.tag));
  const kept = s.statsAfter ?? [];
  const lost = sent.filter((x) => !kept.some((k) => k.tag === x.tag && k.val === BigInt(x.val)));
  const other = s.chain.stats.filter((x) => !spec.has(x.tag)).map((x) => x.tag);
  if (lost.length > 0 || sent.length === 0) {
    return [
      bad(
        rule,
        `the device dropped the stats buffer "${p.label}", which holds tag ${other.join(", ")}`,
        {
          expected: "the tags the spec defines kept, the others ignored",
          actual: `the host reports ${
            kept.map((x) => `${x.tag}=${x.val}`).join(", ") || "no statistics"
          }`,
          evidence: { title: `statsq buffer "${p.label}"`, bytes: s.bytes, annotations: [] },
          observation: "host-stats",
        },
      ),
    ];
  }
  return [{
    ...ok(rule, `tags ${sent.map((x) => x.tag).join(", ")} kept beside tag ${other.join(", ")}`),
    observation: "host-stats",
  }];
}, { observes: () => ["host-stats"] });
