/**
 * Driver cases of the config space and `actual` (R-05, R-06, B18, B07, B23).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import {
  actualAfterAck,
  actualAtomic,
  actualEqualsBalloon,
  actualLe,
} from "../../checks/driver/config_actual.ts";
import {
  DRV_BITMAP_CYCLE,
  DRV_BITMAP_LEGACY_BE,
  DRV_PFN_CYCLE,
  DRV_PFN_INFLATE_HELD,
  DRV_PFN_LEGACY_BE,
} from "../../scenarios/driver.ts";

/** Written driver cases of this family. */
export const CONFIG_ACTUAL_CASES: readonly CaseDef[] = [
  driverCase({
    id: "actual.pfn.after-ack",
    title: "actual is written after each pass, once its requests were used",
    scenario: DRV_PFN_CYCLE,
    check: actualAfterAck,
    rules: ["R-05", "B18"],
  }),
  driverCase({
    id: "actual.pfn.equals-balloon",
    title: "actual equals the pages the host was told about",
    scenario: DRV_PFN_CYCLE,
    check: actualEqualsBalloon,
    rules: ["R-06"],
  }),
  driverCase({
    id: "actual.pfn.held-inflate",
    title: "With the inflate ack held back, actual waits for it",
    scenario: DRV_PFN_INFLATE_HELD,
    check: actualAfterAck,
    rules: ["R-09", "B18"],
  }),
  driverCase({
    id: "actual.bitmap.after-ack",
    title: "actual is written after each bitmap pass, once its requests were used",
    scenario: DRV_BITMAP_CYCLE,
    check: actualAfterAck,
    rules: ["R-05", "B18"],
    needs: ["PAGE_BITMAP"],
  }),
  driverCase({
    id: "actual.bitmap.equals-balloon",
    title: "actual equals the pages the host was told about (bitmaps)",
    scenario: DRV_BITMAP_CYCLE,
    check: actualEqualsBalloon,
    rules: ["R-06"],
    needs: ["PAGE_BITMAP"],
  }),
  driverCase({
    id: "legacy.be.actual-le",
    title: "A big-endian legacy guest writes actual little-endian",
    scenario: DRV_BITMAP_LEGACY_BE,
    check: actualLe,
    rules: ["B07"],
  }),
  driverCase({
    id: "legacy.actual-atomic",
    title: "actual is written in one 4-byte access",
    scenario: DRV_PFN_LEGACY_BE,
    check: actualAtomic,
    rules: ["B23"],
  }),
];
