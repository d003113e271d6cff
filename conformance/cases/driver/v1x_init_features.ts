/**
 * Driver cases of initialisation and feature negotiation on the standard
 * profile, written and generated (every subset of the six balloon bits the
 * device offers: only offered bits accepted, VERSION_1 accepted, the dense
 * queue numbering, the status sequence, reporting only with poison for a
 * guest whose free pages hold a value, poison_val before DRIVER_OK).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import {
  featuresAnyLayout,
  featuresOfferedOnly,
  featuresVersion1,
  initNoEarlyConfig,
  initNoEarlyNotify,
  initNoLateFeatures,
  initNoStatusClear,
  initOrder,
  queuesMatch,
} from "../../checks/driver/init_features.ts";
import { actualLe } from "../../checks/driver/config_actual.ts";
import { ringKept, ringLegal } from "../../checks/driver/ring.ts";
import { configFieldsOffered, statsGuestOrder } from "../../checks/driver/standard_config.ts";
import { poisonBeforeDriverOk, reportingNeedsPoison } from "../../checks/driver/page_poison.ts";
import {
  DRV_V1X_CYCLE,
  DRV_V1X_NO_INDIRECT,
  DRV_V1X_STATS_LEGACY_BE,
  STANDARD_BASE,
  v1xNegotiationScenario,
} from "../../scenarios/v1x_driver.ts";
import { DRV_PFN_LEGACY_BE, DRV_RING_SMALL } from "../../scenarios/driver.ts";
import type { DriverScenario } from "../../model/types.ts";
import { v1xComboName, v1xSubsets } from "../../scenarios/v1x_features.ts";

const LEGACY_BE = STANDARD_BASE.get(DRV_PFN_LEGACY_BE.id) as DriverScenario;
const RING_SMALL = STANDARD_BASE.get(DRV_RING_SMALL.id) as DriverScenario;

/** Written driver cases of this family (profile virtio-1.x). */
export const V1X_INIT_FEATURES_CASES: readonly CaseDef[] = [
  driverCase({
    id: "v1x.negotiation.init.sequence",
    title: "Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, re-read, DRIVER_OK",
    scenario: DRV_V1X_CYCLE,
    check: initOrder,
    rules: ["G55a", "G01"],
  }),
  driverCase({
    id: "v1x.negotiation.init.no-clear",
    title: "The driver never clears a status bit",
    scenario: DRV_V1X_CYCLE,
    check: initNoStatusClear,
    rules: ["G02"],
  }),
  driverCase({
    id: "v1x.negotiation.init.no-early-notify",
    title: "No notification before DRIVER_OK",
    scenario: DRV_V1X_CYCLE,
    check: initNoEarlyNotify,
    rules: ["G57"],
  }),
  driverCase({
    id: "v1x.negotiation.init.no-late-features",
    title: "No feature is added after FEATURES_OK",
    scenario: DRV_V1X_CYCLE,
    check: initNoLateFeatures,
    rules: ["G55d"],
  }),
  driverCase({
    id: "v1x.negotiation.init.no-early-config",
    title: "No config write before FEATURES_OK",
    scenario: DRV_V1X_CYCLE,
    check: initNoEarlyConfig,
    rules: ["G55c"],
  }),
  driverCase({
    id: "v1x.negotiation.any-layout",
    title: "A transitional driver on the legacy interface accepts ANY_LAYOUT when offered",
    scenario: LEGACY_BE,
    check: featuresAnyLayout,
    rules: ["G64"],
  }),
];

/** Written driver cases of the config space and the ring (profile virtio-1.x). */
export const V1X_CONFIG_RING_CASES: readonly CaseDef[] = [
  driverCase({
    id: "v1x.legacy.be.stats-guest-order",
    title: "A big-endian legacy guest writes its stats entries in its own byte order",
    scenario: DRV_V1X_STATS_LEGACY_BE,
    check: statsGuestOrder,
    rules: ["B35"],
  }),
  driverCase({
    id: "v1x.legacy.be.actual-le",
    title: "A big-endian legacy guest writes actual little-endian",
    scenario: LEGACY_BE,
    check: actualLe,
    rules: ["B07"],
  }),
  driverCase({
    id: "v1x.ring.chains.no-indirect-unnegotiated",
    title: "No indirect descriptor without INDIRECT_DESC",
    scenario: DRV_V1X_NO_INDIRECT,
    check: ringLegal,
    rules: ["G34"],
  }),
  driverCase({
    id: "v1x.ring.chains.queue-size",
    title: "No chain, not even a report in an indirect table, is longer than the queue size",
    scenario: RING_SMALL,
    check: ringKept,
    rules: ["G36"],
    needs: ["INDIRECT_DESC"],
  }),
];

/** Generated: for every subset of the six balloon bits the device offers. */
function negotiationCases(): CaseDef[] {
  const out: CaseDef[] = [];
  for (const combo of v1xSubsets()) {
    const name = v1xComboName(combo);
    const scenario = v1xNegotiationScenario(combo);
    const id = (aspect: string) => `v1x.negotiation.offer.${name}.${aspect}`;
    out.push(driverCase({
      id: id("offered-only"),
      title: `Offered ${name}: accepts only offered features`,
      scenario,
      check: featuresOfferedOnly,
      rules: ["G08"],
      generated: true,
    }));
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
      title: `Offered ${name}: sets up the queues the negotiated features give, densely numbered`,
      scenario,
      check: queuesMatch,
      rules: ["S-11"],
      generated: true,
    }));
    out.push(driverCase({
      id: id("config-fields"),
      title: `Offered ${name}: no access to a config field whose feature is not offered`,
      scenario,
      check: configFieldsOffered,
      rules: ["G23"],
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
    if (combo.includes("PAGE_REPORTING") && !combo.includes("PAGE_POISON")) {
      out.push(driverCase({
        id: id("reporting-needs-poison"),
        title: `Offered ${name}: a guest that zeroes freed pages declines reporting without poison`,
        scenario,
        check: reportingNeedsPoison,
        rules: ["B03"],
        generated: true,
      }));
    }
    if (combo.includes("PAGE_POISON")) {
      out.push(driverCase({
        id: id("poison-before-driver-ok"),
        title: `Offered ${name}: poison_val is written before DRIVER_OK`,
        scenario,
        check: poisonBeforeDriverOk,
        rules: ["B55"],
        generated: true,
      }));
    }
  }
  return out;
}

/** Generated negotiation cases of the standard profile. */
export const V1X_NEGOTIATION_CASES: readonly CaseDef[] = negotiationCases();
