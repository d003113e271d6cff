/**
 * Cases: the case table and rule coverage. A case names its scenario, its
 * check and the rules it cites; it is written with `driverCase()` /
 * `deviceCase()` (`define.ts`), which take the scenario and check objects
 * themselves. The rows sit in files named after their rule family, like the
 * checks: `driver/inflate_deflate.ts`, `driver/config_actual.ts`,
 * `driver/oom.ts`, `driver/stats.ts`, `driver/bitmap.ts` (with the header
 * cases generated from the struct table), `driver/misc.ts`,
 * `driver/init_features.ts` (with the generated feature-subset cases),
 * `driver/ring.ts`, `driver/lifecycle.ts`, and `device/…`. `cases.ts`
 * assembles `CASES`; `coverage.ts` maps every rule to its cases and says why a
 * MUST without a case has none.
 *
 * May import: the rooms above it (`model/` … `checks/`); spec/ and impl/.
 *
 * @module
 */

export * from "./cases.ts";
export * from "./coverage.ts";
export {
  type CaseParams,
  type CaseSpecBase,
  deviceCase,
  type DeviceCaseSpec,
  driverCase,
  type DriverCaseSpec,
} from "./define.ts";
