/**
 * Checks: turn a run into findings that cite rule ids. Driver checks read the
 * trace of a driver scenario (`driver.ts`), device checks what the device did
 * with the chains the suite sent (`device.ts`); `queries.ts` holds the trace
 * queries they share. A check with nothing to look at fails and says why.
 *
 * May import: the rooms above it (`model/` … `runners/`); spec/ and impl/.
 *
 * @module
 */

export * from "./queries.ts";
export { DRIVER_CHECKS, type DriverCheck } from "./driver.ts";
export { DEVICE_CHECKS, type DeviceCheck } from "./device.ts";
