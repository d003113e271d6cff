/**
 * The deviations as seam overrides of the reference driver, one family per
 * file. A new mutant is a name and a line in `../deviations.ts` and an entry
 * in one of these families; no reference file changes.
 *
 * @module
 */

import { DRIVER_DEVIATIONS, type DriverDeviation } from "../deviations.ts";
import type { DriverSeamOverride } from "../driver/seams.ts";
import { seamTable } from "../seams.ts";
import { BALLOON_DEVIATIONS } from "./driver_balloon.ts";
import { BITMAP_DEVIATIONS } from "./driver_bitmaps.ts";
import { MISC_DEVIATIONS } from "./driver_misc.ts";
import { NEGOTIATION_DEVIATIONS } from "./driver_negotiation.ts";
import { STATS_DEVIATIONS } from "./driver_stats.ts";

/** How each driver deviation changes the reference driver, in catalogue order. */
export const DRIVER_DEVIATION_SEAMS: Readonly<Record<DriverDeviation, DriverSeamOverride>> =
  seamTable("driver deviation", Object.keys(DRIVER_DEVIATIONS) as DriverDeviation[], [
    NEGOTIATION_DEVIATIONS,
    BALLOON_DEVIATIONS,
    BITMAP_DEVIATIONS,
    STATS_DEVIATIONS,
    MISC_DEVIATIONS,
  ]);
