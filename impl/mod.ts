/**
 * The reference implementation: sparse guest memory and a buddy page
 * allocator, the split virtqueue, an in-process transport, the balloon
 * driver (intended v3 semantics, with the seed's defects as named quirks) and
 * the balloon device, plus a live-migration model. Everything runs on one
 * deterministic scheduler.
 *
 * @example
 * ```ts
 * import { BalloonDevice, BalloonDriver, GuestEnv, Transport } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const guest = new GuestEnv({ pages: 262_144 }); // 1 GiB
 * const device = new BalloonDevice({ guestPages: 262_144 });
 * const driver = new BalloonDriver(guest, new Transport(guest.mem, guest.sched, device));
 * guest.sched.spawn("probe", driver.probe());
 * guest.sched.run();
 * device.setTarget(65_536);
 * guest.sched.run();
 * assert.equal(device.actual, 65_536);
 * assert.ok(device.ballooned.equals(driver.balloon));
 * ```
 *
 * @module
 */

export * from "./memory.ts";
export * from "./allocator.ts";
export * from "./scheduler.ts";
export * from "./guest.ts";
export * from "./virtqueue.ts";
export * from "./transport.ts";
export * from "./quirks.ts";
export * from "./bitmap_plan.ts";
export * from "./unused_scan.ts";
export * from "./features.ts";
export * from "./driver.ts";
export * from "./device.ts";
export * from "./migration.ts";
export * from "./testbed.ts";
export * from "./deviations.ts";
export * from "./seams.ts";
export * from "./deviations/mod.ts";
export * from "./quirks/mod.ts";
