/**
 * Runners: run one scenario on one target and record everything it did —
 * the trace of the transport, what only the guest model can see (writes to
 * held pages, pages named that were free), what happened to each chain the
 * suite sent. A run is judged later, by `checks/`.
 *
 * May import: `model/`, `trace/`, `scenarios/`, `targets/`; spec/ and impl/.
 *
 * @module
 */

export { type DriverRun, runDriverScenario, type WatchHit } from "./driver.ts";
export {
  type DeviceRun,
  type HostActualWrite,
  type PlacedDescriptor,
  type RingRecord,
  runDeviceScenario,
  type SendResult,
} from "./device.ts";
export type { ReportRecord, ReturnRecord, StandardWatch } from "./driver_standard.ts";
export type { ReadBack } from "./device_standard.ts";
export type { AvailOrderFinding, AvailOrderWatch } from "./avail_order.ts";
