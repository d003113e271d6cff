/**
 * Checks: turn a run into findings that cite rule ids. Each check is defined
 * with `driverCheck()` / `deviceCheck()` (`define.ts`) in a file named after
 * its rule family:
 *
 * - `driver/inflate_deflate.ts`: PFN arrays, one request in flight, MUST_TELL_HOST
 *   (R-12a, R-12b, B14), the balloon set (S-06, S-07)
 * - `driver/config_actual.ts`: `actual` (R-05, R-06, B18, B07, B23)
 * - `driver/oom.ts`: DEFLATE_ON_OOM (R-10, R-13, B11, B12)
 * - `driver/stats.ts`: the stats queue (B25–B29, B32)
 * - `driver/bitmap.ts`: PAGE_BITMAP headers and chains
 * - `driver/misc.ts`: MISC_VQ (R-04, R-17b, R-18, R-19)
 * - `driver/init_features.ts`: status sequence and negotiation (G01, G02, G08, G55a…, R-01–R-03)
 * - `driver/ring.ts`: ring use (G29, G34, R-14)
 * - `driver/lifecycle.ts`: remove, freeze/restore, migration
 * - `device/inflate_deflate.ts`, `device/stats.ts`, `device/misc.ts`,
 *   `device/init_features.ts`, `device/config.ts`: the same families, device side
 *
 * `driver.ts` and `device.ts` hold the registries by id; `queries.ts` the
 * trace queries the checks share. A check with nothing to look at fails and
 * says why.
 *
 * May import: the rooms above it (`model/` … `runners/`); spec/ and impl/.
 *
 * @module
 */

export * from "./queries.ts";
export { DRIVER_CHECKS, type DriverCheck } from "./driver.ts";
export { DEVICE_CHECKS, type DeviceCheck } from "./device.ts";
export {
  bad,
  type CheckInput,
  type CheckOptions,
  deviceCheck,
  type DeviceCheckDef,
  driverCheck,
  type DriverCheckDef,
  type NoParams,
  ok,
} from "./define.ts";
