/**
 * QEMU's real virtio-balloon-pci with the suite as its guest driver, over
 * qtest (no guest OS): {@link openQemuBalloon} starts QEMU stopped (`-S`)
 * with qtest and QMP on sockets of a {@link ProcessBridge}, finds the
 * balloon on PCI bus 0, assigns its BARs, walks its capabilities, and opens
 * the modern or the legacy virtio-pci interface ({@link VirtioPciTransport});
 * the rings live in QEMU's RAM, which the suite's own `DriverQueue` reads and
 * writes through {@link QtestMemory}; interrupts are read from the ISR byte;
 * the host side is QMP ({@link QemuBalloonHost}).
 *
 * On top of that, the suite's device runner drives it like any device:
 * {@link qemuDevicePort} is its `DevicePort` (ring, config, guest memory,
 * `query-balloon`, QEMU's own record of the last stats buffer), and
 * {@link qemuDeviceTarget} the `qemu-device:<variant>` targets of
 * {@link QEMU_DEVICE_VARIANTS}, a fresh QEMU per scenario.
 *
 * Measured on the 2-core build machine while other jobs ran (`deno task
 * bench:qtest`): a qtest round trip 100–200 µs; QEMU start to ready 90–160
 * ms; opening the balloon (start, enumeration, BARs, capabilities: 271 qtest
 * commands) about 200 ms; bring-up to DRIVER_OK with three queues 6–18 ms;
 * an inflate of 256 PFNs (array written, added, notified, used, ISR) 3–4 ms,
 * plus about 20–40 ms to read the 1 MiB back for the zero check; eight
 * QEMUs side by side all worked (39 MiB resident each), with throughput best
 * at two (one per core).
 *
 * @example
 * ```ts ignore
 * import { bringUp, openQemuBalloon } from "./mod.ts";
 * const s = openQemuBalloon({ qemu: "/usr/bin/qemu-system-x86_64" });
 * try {
 *   const up = bringUp<string>(s.transport);
 *   console.log(up.offered.toString(16)); // 10130000012
 * } finally {
 *   s.close();
 * }
 * ```
 *
 * @module
 */

export * from "./target.ts";
export * from "./device_port.ts";
export * from "./session.ts";
export * from "./qemu_qtest.ts";
export * from "./qtest.ts";
export * from "./qtest_memory.ts";
export * from "./machine.ts";
export * from "./pci.ts";
export * from "./virtio_pci_device.ts";
export * from "./transport.ts";
export * from "./modern.ts";
export * from "./legacy.ts";
export * from "./intx.ts";
export * from "./host.ts";
export * from "./bring_up.ts";
export * from "../bridge/process_bridge.ts";
export * from "../bridge/target_error.ts";
export * from "../qemu/qmp_sync.ts";
