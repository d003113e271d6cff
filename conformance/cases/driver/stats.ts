/**
 * Driver cases of the stats queue (B25–B29, B32).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import {
  statsAfterInit,
  statsFirstFilled,
  statsOneAtATime,
  statsRefilled,
  statsSameSubset,
  statsWholeEntries,
} from "../../checks/driver/stats.ts";
import { DRV_STATS } from "../../scenarios/driver.ts";

/** Written driver cases of this family. */
export const STATS_CASES: readonly CaseDef[] = [
  driverCase({
    id: "stats.after-init",
    title: "A stats buffer is available after initialisation",
    scenario: DRV_STATS,
    check: statsAfterInit,
    rules: ["B26"],
  }),
  driverCase({
    id: "stats.first-filled",
    title: "The first stats buffer is filled, one entry per statistic",
    scenario: DRV_STATS,
    check: statsFirstFilled,
    rules: ["B28"],
  }),
  driverCase({
    id: "stats.one-at-a-time",
    title: "At most one stats buffer is available at a time",
    scenario: DRV_STATS,
    check: statsOneAtATime,
    rules: ["B25"],
  }),
  driverCase({
    id: "stats.refilled",
    title: "A new stats buffer follows every request",
    scenario: DRV_STATS,
    check: statsRefilled,
    rules: ["B27"],
  }),
  driverCase({
    id: "stats.whole-entries",
    title: "Stats buffers hold whole 10-byte entries",
    scenario: DRV_STATS,
    check: statsWholeEntries,
    rules: ["B29"],
  }),
  driverCase({
    id: "stats.same-subset",
    title: "Every stats buffer holds the same statistics",
    scenario: DRV_STATS,
    check: statsSameSubset,
    rules: ["B32"],
  }),
];
