/**
 * Device cases of features and initialisation: the offer, valid subsets
 * accepted (generated), no buffer consumed before DRIVER_OK.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { deviceCase } from "../define.ts";
import {
  notBeforeDriverOk,
  offersAnyLayout,
  offersDependencies,
  offersVersion1,
} from "../../checks/device/init_features.ts";
import { DEV_BEFORE_DRIVER_OK, DEV_BITMAP } from "../../scenarios/device.ts";

import { balloonSubsets, comboName, V3_BALLOON_BITS } from "../../scenarios/features.ts";
import { deviceNegotiationScenario } from "../../scenarios/device.ts";
import { DEV_LEGACY } from "../../scenarios/device_rings.ts";
import { acceptsSubset } from "../../checks/device/init_features.ts";

/** Written device cases of this family. */
export const DEVICE_INIT_FEATURES_CASES: readonly CaseDef[] = [
  deviceCase({
    id: "device.features.dependencies",
    title: "The device offers no feature without the features it requires",
    scenario: DEV_BITMAP,
    check: offersDependencies,
    rules: ["G14"],
  }),
  deviceCase({
    id: "device.features.version-1",
    title: "The device offers VERSION_1",
    scenario: DEV_BITMAP,
    check: offersVersion1,
    rules: ["G62a"],
  }),
  deviceCase({
    id: "device.features.any-layout",
    title: "A transitional device offers ANY_LAYOUT through its legacy interface",
    scenario: DEV_LEGACY,
    check: offersAnyLayout,
    rules: ["G64"],
  }),
  deviceCase({
    id: "device.init.not-before-driver-ok",
    title: "No buffer is consumed before DRIVER_OK",
    scenario: DEV_BEFORE_DRIVER_OK,
    check: notBeforeDriverOk,
    rules: ["G05"],
    params: { label: "early" },
  }),
];

/** Generated: every valid proper subset of the balloon bits, accepted. */
export const DEVICE_NEGOTIATION_CASES: readonly CaseDef[] = balloonSubsets()
  .filter((combo) =>
    !(combo.includes("MISC_VQ") && !combo.includes("STATS_VQ")) &&
    combo.length !== V3_BALLOON_BITS.length
  )
  .map((combo) =>
    deviceCase({
      id: `device.negotiation.${comboName(combo)}`,
      title: `Accepts the valid subset ${comboName(combo)}`,
      scenario: deviceNegotiationScenario(combo),
      check: acceptsSubset,
      rules: ["G15a"],
      needsOffer: combo,
      generated: true,
    })
  );
