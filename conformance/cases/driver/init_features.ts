/**
 * Driver cases of initialisation and feature negotiation, written and
 * generated (every subset of the balloon bits the device offers).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import {
  featuresAnyLayout,
  formatMatches,
  initNoEarlyConfig,
  initNoEarlyNotify,
  initNoLateFeatures,
  initNoStatusClear,
  initOrder,
  refusalSetsFailed,
  refusalStops,
} from "../../checks/driver/init_features.ts";
import {
  DRV_BITMAP_ALLOC_FAILS,
  DRV_BITMAP_CYCLE,
  DRV_BITMAP_LEGACY_BE,
  DRV_REFUSED,
} from "../../scenarios/driver.ts";

import { balloonSubsets, comboName } from "../../scenarios/features.ts";
import { negotiationScenario } from "../../scenarios/driver.ts";
import {
  featuresDependencies,
  featuresOfferedOnly,
  featuresVersion1,
  queuesMatch,
} from "../../checks/driver/init_features.ts";

/** Written driver cases of this family. */
export const INIT_FEATURES_CASES: readonly CaseDef[] = [
  driverCase({
    id: "negotiation.init.sequence",
    title: "Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, re-read, DRIVER_OK",
    scenario: DRV_BITMAP_CYCLE,
    check: initOrder,
    rules: ["G55a", "G01"],
  }),
  driverCase({
    id: "negotiation.init.no-clear",
    title: "The driver never clears a status bit",
    scenario: DRV_BITMAP_CYCLE,
    check: initNoStatusClear,
    rules: ["G02"],
  }),
  driverCase({
    id: "negotiation.init.no-early-notify",
    title: "No notification before DRIVER_OK",
    scenario: DRV_BITMAP_CYCLE,
    check: initNoEarlyNotify,
    rules: ["G57"],
  }),
  driverCase({
    id: "negotiation.init.no-late-features",
    title: "No feature is added after FEATURES_OK",
    scenario: DRV_BITMAP_CYCLE,
    check: initNoLateFeatures,
    rules: ["G55d"],
  }),
  driverCase({
    id: "negotiation.any-layout",
    title: "A transitional driver on the legacy interface accepts ANY_LAYOUT when offered",
    scenario: DRV_BITMAP_LEGACY_BE,
    check: featuresAnyLayout,
    rules: ["G64"],
  }),
  driverCase({
    id: "negotiation.init.no-early-config",
    title: "No config write before FEATURES_OK",
    scenario: DRV_BITMAP_CYCLE,
    check: initNoEarlyConfig,
    rules: ["G55c"],
  }),
  driverCase({
    id: "negotiation.refused.failed",
    title: "When the device refuses FEATURES_OK the driver sets FAILED",
    scenario: DRV_REFUSED,
    check: refusalSetsFailed,
    rules: ["G56a"],
  }),
  driverCase({
    id: "negotiation.refused.stops",
    title: "When the device refuses FEATURES_OK the driver does not go on",
    scenario: DRV_REFUSED,
    check: refusalStops,
    rules: ["G56b", "G12b"],
  }),
  driverCase({
    id: "negotiation.fallback-before-features-ok",
    title: "A failed bitmap allocation changes the features before FEATURES_OK",
    scenario: DRV_BITMAP_ALLOC_FAILS,
    check: formatMatches,
    rules: ["R-02"],
    // a fallback from page bitmaps: about a driver that would take them (a driver without them
    // falls back from nothing, and would pass on no evidence)
    needsOffer: ["PAGE_BITMAP"],
  }),
];

/** Generated: for every subset of the balloon bits the device offers. */
function negotiationCases(): CaseDef[] {
  const out: CaseDef[] = [];
  for (const combo of balloonSubsets()) {
    const name = comboName(combo);
    const scenario = negotiationScenario(combo);
    const id = (aspect: string) => `negotiation.offer.${name}.${aspect}`;
    out.push(driverCase({
      id: id("offered-only"),
      title: `Offered ${name}: accepts only offered features`,
      scenario,
      check: featuresOfferedOnly,
      rules: ["G08", "R-01"],
      generated: true,
    }));
    if (combo.includes("MISC_VQ") && !combo.includes("STATS_VQ")) {
      out.push(driverCase({
        id: id("dependencies"),
        title: `Offered ${name}: does not accept MISC_VQ without STATS_VQ`,
        scenario,
        check: featuresDependencies,
        rules: ["G09"],
        generated: true,
      }));
    }
    out.push(driverCase({
      id: id("version-1"),
      title: `Offered ${name}: accepts VERSION_1`,
      scenario,
      check: featuresVersion1,
      rules: ["G60a"],
      generated: true,
    }));
    out.push(driverCase({
      id: id("queues"),
      title: `Offered ${name}: sets up exactly the queues the negotiated features give`,
      scenario,
      check: queuesMatch,
      rules: ["R-03"],
      generated: true,
    }));
    out.push(driverCase({
      id: id("format"),
      title: `Offered ${name}: inflates in the format the negotiated features give`,
      scenario,
      check: formatMatches,
      rules: ["R-01"],
      generated: true,
    }));
    out.push(driverCase({
      id: id("init"),
      title: `Offered ${name}: the initialisation sequence`,
      scenario,
      check: initOrder,
      rules: ["G55a"],
      generated: true,
    }));
  }
  return out;
}

/** Generated negotiation cases. */
export const NEGOTIATION_CASES: readonly CaseDef[] = negotiationCases();
