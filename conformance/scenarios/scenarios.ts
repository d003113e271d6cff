/**
 * Scenario lookup by id, over the driver and device scenarios.
 *
 * @module
 */

import type { DeviceScenario, DriverScenario } from "../model/types.ts";
import { DEVICE_SCENARIOS } from "./device.ts";
import { DRIVER_SCENARIOS } from "./driver.ts";
import { V1X_DEVICE_SCENARIOS } from "./v1x_device.ts";
import { V1X_DRIVER_SCENARIOS } from "./v1x_driver.ts";

const BY_ID: ReadonlyMap<string, DriverScenario | DeviceScenario> = new Map(
  [...DRIVER_SCENARIOS, ...DEVICE_SCENARIOS, ...V1X_DRIVER_SCENARIOS, ...V1X_DEVICE_SCENARIOS].map((
    s,
  ) => [s.id, s]),
);

/** A scenario by id (either profile). */
export function scenario(id: string): DriverScenario | DeviceScenario {
  const s = BY_ID.get(id);
  if (s === undefined) throw new RangeError(`No scenario ${id}`);
  return s;
}
