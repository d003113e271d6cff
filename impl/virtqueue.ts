/**
 * The virtio 1.x split virtqueue (§2.7) laid out in guest memory, with a
 * driver side ({@link DriverQueue}) and a device side ({@link DeviceQueue})
 * that share no JavaScript state: each reads what the other wrote into
 * `GuestMemory`, so a test can drive one side with the real class and
 * craft or inspect the bytes of the other.
 *
 * Indices are free-running u16 values (mod `VIRTQ_IDX_MODULUS`); ring slots
 * are `idx % size`; sizes are powers of two up to `VIRTQ_MAX_SIZE`. Ring
 * fields are little-endian under `"v1"` and guest-native for the legacy byte
 * orders. Offsets, sizes, flag values and limits come from the spec tables.
 *
 * @example
 * ```ts
 * import { GuestMemory } from "./memory.ts";
 * import { DeviceQueue, DriverQueue, ringLayout } from "./virtqueue.ts";
 * import assert from "node:assert/strict";
 * const mem = new GuestMemory({ pages: 64 });
 * const layout = ringLayout(0x1000, 16);
 * const features = { order: "legacy-be", eventIdx: true, indirect: true } as const;
 * const driver = new DriverQueue<string>(mem, layout, features);
 * const device = new DeviceQueue(mem, layout, features);
 * driver.add([{ addr: 0x10000, len: 32 }], [{ addr: 0x11000, len: 64 }], "a", {
 *   indirectTable: 0x20000,
 * });
 * assert.equal(driver.kickPrepare(), true);
 * const chain = device.pop();
 * assert.ok(chain !== undefined && chain.indirect);
 * device.push(chain.head, 0);
 * assert.equal(device.needsNotify(), true);
 * assert.equal(driver.getUsed()?.token, "a");
 * ```
 *
 * @module
 */

export * from "./virtqueue_ring.ts";
export * from "./virtqueue_error.ts";
export * from "./virtqueue_driver.ts";
export * from "./virtqueue_device.ts";
