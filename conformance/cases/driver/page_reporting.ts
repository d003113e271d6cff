/**
 * Driver cases of free page reporting (B59, B60, B62, B63, S-08), profile
 * virtio-1.x.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import {
  reportedLeftAlone,
  reportedPoisoned,
  reportKeptUntilUsed,
  reportLargeBlocks,
  reportNotInBalloon,
} from "../../checks/driver/page_reporting.ts";
import { DRV_V1X_POISON, DRV_V1X_REPORT, DRV_V1X_REPORT_HELD } from "../../scenarios/v1x_driver.ts";

/** Written driver cases of this family. */
export const PAGE_REPORTING_CASES: readonly CaseDef[] = [
  driverCase({
    id: "report.poisoned",
    title: "With PAGE_POISON every reported page holds poison_val",
    scenario: DRV_V1X_POISON,
    check: reportedPoisoned,
    rules: ["B59"],
  }),
  driverCase({
    id: "report.kept-until-used",
    title: "Reported pages stay out of the guest's hands until the device used the report",
    scenario: DRV_V1X_REPORT_HELD,
    check: reportKeptUntilUsed,
    rules: ["B60"],
  }),
  driverCase({
    id: "report.large-blocks",
    title: "Free pages are reported in blocks of at least the reporting order",
    scenario: DRV_V1X_REPORT,
    check: reportLargeBlocks,
    rules: ["B62"],
  }),
  driverCase({
    id: "report.left-alone",
    title: "The driver does not write reported pages while they are free",
    scenario: DRV_V1X_REPORT,
    check: reportedLeftAlone,
    rules: ["B63"],
  }),
  driverCase({
    id: "report.not-in-balloon",
    title: "No report names a page in the balloon",
    scenario: DRV_V1X_REPORT,
    check: reportNotInBalloon,
    rules: ["S-08"],
  }),
];
