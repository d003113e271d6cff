/**
 * Scenarios: the scripted interactions, as data. A driver scenario has the
 * suite play the device and the host (`driver.ts`); a device scenario has it
 * play the driver (`device.ts`); `features.ts` holds the feature lists and
 * guest sizes they are built from. The standard profile's are in
 * `v1x_driver.ts`, `v1x_device.ts` and `v1x_features.ts`. Several cases share
 * one run of a scenario.
 *
 * May import: `model/`, `trace/`, spec/ and impl/.
 *
 * @module
 */

export { balloonSubsets, comboName, V3_ALL, V3_BALLOON_BITS } from "./features.ts";
export { DRIVER_SCENARIOS } from "./driver.ts";
export { BAD_BITMAP_REQUESTS, DEVICE_SCENARIOS } from "./device.ts";
export { scenario } from "./scenarios.ts";
export { V1X_ALL, V1X_BALLOON_BITS, v1xComboName, v1xSubsets } from "./v1x_features.ts";
export { V1X_DRIVER_SCENARIOS } from "./v1x_driver.ts";
export { V1X_DEVICE_SCENARIOS } from "./v1x_device.ts";
