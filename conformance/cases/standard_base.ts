/**
 * The base balloon on the standard profile: every v3 case whose scenario
 * the standard profile shares (`STANDARD_BASE`, `STANDARD_DEVICE_BASE`) and
 * whose rules all hold in virtio-1.x too becomes a virtio-1.x case with the
 * same check on that scenario's standard counterpart, its id prefixed with
 * `v1x.`. The cases are the v3 table's own, so they cannot drift apart.
 *
 * @module
 */

import { findFeature, rule } from "../../spec/mod.ts";
import type { CaseDef } from "../model/types.ts";
import { STANDARD_BASE } from "../scenarios/v1x_driver.ts";
import { STANDARD_DEVICE_BASE } from "../scenarios/v1x_device.ts";

/** The prefix of the standard profile's counterparts of v3 cases. */
export const STANDARD_PREFIX = "v1x.";

/** The standard profile's counterparts of some v3 cases (those that have one). */
export function standardCounterparts(cases: readonly CaseDef[]): CaseDef[] {
  const out: CaseDef[] = [];
  for (const k of cases) {
    if (k.profile !== "v3") continue;
    const s = STANDARD_BASE.get(k.scenario) ?? STANDARD_DEVICE_BASE.get(k.scenario);
    if (s === undefined) continue;
    if (!k.rules.every((r) => rule(r).profiles.includes("virtio-1.x"))) continue;
    const features = [...(k.needs ?? []), ...(k.needsOffer ?? [])];
    if (!features.every((f) => findFeature("virtio-1.x", f) !== undefined)) continue;
    out.push({ ...k, id: `${STANDARD_PREFIX}${k.id}`, profile: "virtio-1.x", scenario: s.id });
  }
  return out;
}
