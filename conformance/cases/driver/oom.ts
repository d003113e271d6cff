/**
 * Driver cases of DEFLATE_ON_OOM: the OOM deflate and the managed count.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import { actualEqualsBalloon } from "../../checks/driver/config_actual.ts";
import { managedCount, oomDeflate } from "../../checks/driver/oom.ts";
import { DRV_DOOM_OOM, DRV_NO_DOOM_OOM } from "../../scenarios/driver.ts";

/** Written driver cases of this family. */
export const OOM_CASES: readonly CaseDef[] = [
  driverCase({
    id: "oom.doom.deflate",
    title: "With DEFLATE_ON_OOM, an OOM event deflates at most OOM_VBALLOON_DEFAULT_PAGES",
    scenario: DRV_DOOM_OOM,
    check: oomDeflate,
    rules: ["R-13", "B12"],
    params: { doom: true },
  }),
  driverCase({
    id: "oom.doom.actual",
    title: "After an OOM deflate, actual equals the host's balloon",
    scenario: DRV_DOOM_OOM,
    check: actualEqualsBalloon,
    rules: ["R-06", "R-13"],
  }),
  driverCase({
    id: "oom.no-doom.none",
    title: "Without DEFLATE_ON_OOM, an OOM event deflates nothing",
    scenario: DRV_NO_DOOM_OOM,
    check: oomDeflate,
    rules: ["R-13", "B11"],
    params: { doom: false },
  }),
  driverCase({
    id: "oom.doom.managed",
    title: "With DEFLATE_ON_OOM ballooned pages stay in the managed count",
    scenario: DRV_DOOM_OOM,
    check: managedCount,
    rules: ["R-10"],
    params: { doom: true, afterStep: 2 },
  }),
  driverCase({
    id: "oom.no-doom.managed",
    title: "Without DEFLATE_ON_OOM ballooned pages leave the managed count",
    scenario: DRV_NO_DOOM_OOM,
    check: managedCount,
    rules: ["R-10"],
    params: { doom: false, afterStep: 2 },
  }),
];
