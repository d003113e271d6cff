/**
 * Driver checks of the standard profile's config space and legacy stats:
 * no access to an optional config field whose feature is not offered (G23),
 * stats entries in the guest's byte order over the legacy interface (B35).
 *
 * @module
 */

import {
  BALLOON_PAGE_SIZE,
  enumValues,
  featureMask,
  fieldsOf,
  hasFeature,
} from "../../../spec/mod.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { requests } from "../queries.ts";
import { none, withEvidence } from "./_shared.ts";

/** G23: the driver touches an optional config field only when the device offers its feature. */
export const configFieldsOffered: DriverCheckDef = driverCheck(
  "config-fields-offered",
  (run, { rule }) => {
    const profile = run.scenario.profile;
    const offered = featureMask(profile, [...run.offered]);
    const optional = fieldsOf("virtio_balloon_config", profile).filter((f) =>
      f.presentWhen !== undefined && "feature" in f.presentWhen
    );
    const accesses = run.trace.filter((e) => e.kind === "config-read" || e.kind === "config-write");
    if (accesses.length === 0) return none(run, rule, "config access");
    for (const e of accesses) {
      if (e.kind !== "config-read" && e.kind !== "config-write") continue;
      for (const f of optional) {
        const feature = (f.presentWhen as { feature: Parameters<typeof hasFeature>[2] }).feature;
        if (hasFeature(profile, offered, feature)) continue;
        if (e.offset < f.offset + 4 && e.offset + e.bytes.length > f.offset) {
          return [
            bad(
              rule,
              `the driver ${
                e.kind === "config-read" ? "read" : "wrote"
              } ${f.name} although the device does not offer ${feature}`,
              {
                expected: `no access to ${f.name} without ${feature}`,
                actual: `a ${e.bytes.length}-byte ${e.kind} at offset ${e.offset}`,
              },
            ),
          ];
        }
      }
    }
    return [
      ok(rule, `${accesses.length} config accesses, none to a field whose feature is not offered`),
    ];
  },
);

/** B35: over the legacy interface, stats entries are in the guest's byte order (the device reads them so). */
export const statsGuestOrder: DriverCheckDef = driverCheck("stats-guest-order", (run, { rule }) => {
  const stats = requests(run.trace, "stats", "rejected").filter((r) => r.queue === "statsq");
  if (stats.length === 0) return none(run, rule, "stats buffer");
  const known = new Set(enumValues("stats_tag", run.scenario.profile).map((t) => t.value));
  // a value of more than a thousand times guest RAM is a byte-swapped one (counters included)
  const limit = BigInt(run.scenario.guestPages) * BigInt(BALLOON_PAGE_SIZE) * 1024n;
  for (const s of stats) {
    const entries = s.stats ?? [];
    const odd = entries.filter((e) => !known.has(e.tag) || e.val > limit);
    if (s.what === "rejected" || entries.length === 0 || odd.length > 0) {
      return [
        bad(
          rule,
          `a stats buffer read in the ${
            run.transport.guestEndian === "be" ? "big" : "little"
          }-endian guest's order holds ${
            odd.length > 0
              ? `tags ${odd.map((e) => e.tag).join(", ")} (byte-swapped?)`
              : "nothing the device could read"
          }`,
          {
            expected: "the tags the profile defines, in the guest's own byte order",
            ...withEvidence(run, s),
          },
        ),
      ];
    }
  }
  return [ok(rule, `${stats.length} stats buffers, each read in the guest's byte order`)];
}, { needs: () => ["STATS_VQ"] });
