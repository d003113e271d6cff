/**
 * The deviations as seam overrides of the reference driver and device, one
 * family per file. A new mutant is a name and a line in `../deviations.ts`
 * and an entry in one of these families; no reference file changes.
 *
 * @module
 */

import type { DeviceSeamOverride } from "../device/seams.ts";
import {
  DEVICE_DEVIATIONS,
  type DeviceDeviation,
  DRIVER_DEVIATIONS,
  type DriverDeviation,
} from "../deviations.ts";
import type { DriverSeamOverride } from "../driver/seams.ts";
import { seamTable } from "../seams.ts";
import { DEVICE_FEATURE_DEVIATIONS } from "./device_features.ts";
import { DEVICE_REQUEST_DEVIATIONS } from "./device_requests.ts";
import { DEVICE_RING_DEVIATIONS } from "./device_ring.ts";
import { DEVICE_STATS_MISC_DEVIATIONS } from "./device_stats_misc.ts";
import { STANDARD_DEVICE_DEVIATIONS } from "./device_standard.ts";
import { BALLOON_DEVIATIONS } from "./driver_balloon.ts";
import { BITMAP_DEVIATIONS } from "./driver_bitmaps.ts";
import { MISC_DEVIATIONS } from "./driver_misc.ts";
import { NEGOTIATION_DEVIATIONS } from "./driver_negotiation.ts";
import { RING_DEVIATIONS } from "./driver_ring.ts";
import { STANDARD_DRIVER_DEVIATIONS } from "./driver_standard.ts";
import { STATS_DEVIATIONS } from "./driver_stats.ts";

/** How each driver deviation changes the reference driver, in catalogue order. */
export const DRIVER_DEVIATION_SEAMS: Readonly<Record<DriverDeviation, DriverSeamOverride>> =
  seamTable("driver deviation", Object.keys(DRIVER_DEVIATIONS) as DriverDeviation[], [
    NEGOTIATION_DEVIATIONS,
    BALLOON_DEVIATIONS,
    BITMAP_DEVIATIONS,
    STATS_DEVIATIONS,
    MISC_DEVIATIONS,
    STANDARD_DRIVER_DEVIATIONS,
    RING_DEVIATIONS,
  ]);

/** How each device deviation changes the reference device, in catalogue order. */
export const DEVICE_DEVIATION_SEAMS: Readonly<Record<DeviceDeviation, DeviceSeamOverride>> =
  seamTable("device deviation", Object.keys(DEVICE_DEVIATIONS) as DeviceDeviation[], [
    DEVICE_FEATURE_DEVIATIONS,
    DEVICE_REQUEST_DEVIATIONS,
    DEVICE_STATS_MISC_DEVIATIONS,
    DEVICE_RING_DEVIATIONS,
    STANDARD_DEVICE_DEVIATIONS,
  ]);
