/**
 * Driver cases of page poison (B02, B03, B07, B54, B55, B56), profile
 * virtio-1.x.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import {
  deflatedPoisoned,
  poisonBeforeDriverOk,
  poisonDeclined,
  poisonLittleEndian,
  poisonUnchanged,
  reportingNeedsPoison,
} from "../../checks/driver/page_poison.ts";
import {
  DRV_V1X_CYCLE,
  DRV_V1X_HINT_LEGACY_BE,
  DRV_V1X_POISON,
  DRV_V1X_POISON_NOT_OFFERED,
} from "../../scenarios/v1x_driver.ts";

/** Written driver cases of this family. */
export const PAGE_POISON_CASES: readonly CaseDef[] = [
  driverCase({
    id: "poison.declined-without-init",
    title: "A guest that leaves its freed pages as they are does not accept PAGE_POISON",
    scenario: DRV_V1X_CYCLE,
    check: poisonDeclined,
    rules: ["B02"],
  }),
  driverCase({
    id: "poison.reporting-needs-poison",
    title: "A guest whose free pages hold a value accepts PAGE_REPORTING only with PAGE_POISON",
    scenario: DRV_V1X_POISON_NOT_OFFERED,
    check: reportingNeedsPoison,
    rules: ["B03"],
  }),
  driverCase({
    id: "poison.before-driver-ok",
    title: "poison_val is written before DRIVER_OK",
    scenario: DRV_V1X_POISON,
    check: poisonBeforeDriverOk,
    rules: ["B55"],
  }),
  driverCase({
    id: "poison.unchanged",
    title: "poison_val does not change while DRIVER_OK is set",
    scenario: DRV_V1X_POISON,
    check: poisonUnchanged,
    rules: ["B56"],
  }),
  driverCase({
    id: "poison.deflated-pages",
    title: "Deflated pages hold poison_val when they go back to the guest",
    scenario: DRV_V1X_POISON,
    check: deflatedPoisoned,
    rules: ["B54"],
  }),
  driverCase({
    id: "poison.legacy-le",
    title: "Over the legacy interface a big-endian guest writes poison_val little-endian",
    scenario: DRV_V1X_HINT_LEGACY_BE,
    check: poisonLittleEndian,
    rules: ["B07"],
  }),
];
