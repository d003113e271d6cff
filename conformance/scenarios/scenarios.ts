/**
 * Scenario lookup by id, over the driver and device scenarios.
 *
 * @module
 */

import type { DeviceScenario, DriverScenario } from "../model/types.ts";
import { DEVICE_SCENARIOS } from "./device.ts";
import { DRIVER_SCENARIOS } from "./driver.ts";

/** A scenario by id. */
export function scenario(id: string): DriverScenario | DeviceScenario {
  const s = DRIVER_SCENARIOS.find((x) => x.id === id) ?? DEVICE_SCENARIOS.find((x) => x.id === id);
  if (s === undefined) throw new RangeError(`No scenario ${id}`);
  return s;
}
