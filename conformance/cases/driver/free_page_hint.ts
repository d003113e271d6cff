/**
 * Driver cases of free page hinting (B37 – B46, B53), profile virtio-1.x.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import {
  hintCmdLength,
  hintEndsWithStop,
  hintFreePagesOnly,
  hintIdGuestOrder,
  hintInitBeforeRelease,
  hintOneStart,
  hintReleaseOnDone,
  hintStartsWithId,
  hintStopsOnStop,
  hintSuppliesPages,
} from "../../checks/driver/free_page_hint.ts";
import {
  DRV_V1X_HINT,
  DRV_V1X_HINT_LEGACY_BE,
  DRV_V1X_HINT_RECLAIM,
  DRV_V1X_HINT_STOP_EARLY,
} from "../../scenarios/v1x_driver.ts";

/** Written driver cases of this family. */
export const FREE_PAGE_HINT_CASES: readonly CaseDef[] = [
  driverCase({
    id: "hint.cmd-id-4-bytes",
    title: "Every free_page_vq out buffer is exactly 4 bytes",
    scenario: DRV_V1X_HINT,
    check: hintCmdLength,
    rules: ["B37"],
  }),
  driverCase({
    id: "hint.starts-with-cmd-id",
    title: "A hint round starts with an out buffer holding the round's command id",
    scenario: DRV_V1X_HINT,
    check: hintStartsWithId,
    rules: ["B38"],
  }),
  driverCase({
    id: "hint.one-start-per-id",
    title: "No more than one out buffer holds a round's command id",
    scenario: DRV_V1X_HINT,
    check: hintOneStart,
    rules: ["B39"],
  }),
  driverCase({
    id: "hint.supplies-pages",
    title: "Free pages are hinted while the command id is current",
    scenario: DRV_V1X_HINT,
    check: hintSuppliesPages,
    rules: ["B40"],
  }),
  driverCase({
    id: "hint.stops-on-stop",
    title: "No page is hinted once the driver has read STOP",
    scenario: DRV_V1X_HINT_STOP_EARLY,
    check: hintStopsOnStop,
    rules: ["B41"],
  }),
  driverCase({
    id: "hint.ends-with-stop",
    title: "A round that hinted pages ends with an out buffer holding STOP",
    scenario: DRV_V1X_HINT,
    check: hintEndsWithStop,
    rules: ["B42"],
  }),
  driverCase({
    id: "hint.free-pages-only",
    title: "Only pages the guest does not use are hinted",
    scenario: DRV_V1X_HINT,
    check: hintFreePagesOnly,
    rules: ["B44"],
  }),
  driverCase({
    id: "hint.init-before-release",
    title: "A hinted page the guest takes back before DONE is initialised first",
    scenario: DRV_V1X_HINT_RECLAIM,
    check: hintInitBeforeRelease,
    rules: ["B45", "B44"],
  }),
  driverCase({
    id: "hint.release-on-done",
    title: "Every hinted page goes back to the guest once the command id is DONE",
    scenario: DRV_V1X_HINT,
    check: hintReleaseOnDone,
    rules: ["B46"],
  }),
  driverCase({
    id: "hint.legacy-be.cmd-id",
    title: "Over the legacy interface a big-endian guest's command id is in its own byte order",
    scenario: DRV_V1X_HINT_LEGACY_BE,
    check: hintIdGuestOrder,
    rules: ["B53"],
  }),
];
