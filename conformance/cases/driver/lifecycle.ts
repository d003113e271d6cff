/**
 * Driver cases of remove, freeze/restore and balloon-page migration.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import { noWriteToHeld } from "../../checks/driver/inflate_deflate.ts";
import { migratePage, removeClean, restoreResumes } from "../../checks/driver/lifecycle.ts";
import {
  DRV_BITMAP_MIGRATE_PAGE,
  DRV_FREEZE_RESTORE,
  DRV_PFN_MIGRATE_PAGE,
  DRV_REMOVE,
} from "../../scenarios/driver.ts";

/** Written driver cases of this family. */
export const LIFECYCLE_CASES: readonly CaseDef[] = [
  driverCase({
    id: "lifecycle.remove",
    title: "Remove deflates everything and writes actual 0 before the reset",
    scenario: DRV_REMOVE,
    check: removeClean,
    rules: ["R-22"],
  }),
  driverCase({
    id: "lifecycle.remove.no-reuse",
    title: "Remove uses no page before its deflate was used",
    scenario: DRV_REMOVE,
    check: noWriteToHeld,
    rules: ["R-22", "B14"],
  }),
  driverCase({
    id: "lifecycle.freeze-restore",
    title: "Restore renegotiates and goes back to the target",
    scenario: DRV_FREEZE_RESTORE,
    check: restoreResumes,
    rules: ["R-23"],
    params: { target: 2000 },
  }),
  driverCase({
    id: "lifecycle.migrate-page.bitmap",
    title: "Balloon-page migration: one page inflated, then one deflated (bitmaps)",
    scenario: DRV_BITMAP_MIGRATE_PAGE,
    check: migratePage,
    rules: ["R-24"],
  }),
  driverCase({
    id: "lifecycle.migrate-page.pfn",
    title: "Balloon-page migration: one page inflated, then one deflated (PFN arrays)",
    scenario: DRV_PFN_MIGRATE_PAGE,
    check: migratePage,
    rules: ["R-24"],
  }),
];
