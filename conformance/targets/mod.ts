/**
 * Targets: the implementations a run can test, one folder per kind —
 * `reference/` (the reference driver and device, and the seed as posted),
 * `mutants/` (deliberately broken ones that prove every case can fail),
 * `qemu-linux/` (Debian's real QEMU and Linux, booted and checked passively)
 * and `qemu-device/` (QEMU's real virtio-balloon-pci with the suite as its
 * guest driver, over qtest: PCI, modern and legacy virtio-pci transports,
 * guest RAM through qtest) and `testee/` (a device or a driver in another
 * process, in any language, over the testee protocol: `--device-cmd`,
 * `--driver-cmd`). Shared by them: `bridge/` (a synchronous bridge
 * to a child process through a worker, and `TargetError`) and `qemu/`
 * (installing QEMU, QMP async and sync).
 *
 * May import: the rooms above it: `model/`, `trace/`, `scenarios/`; spec/ and impl/.
 *
 * @module
 */

export * from "./reference/reference.ts";
export * from "./mutants/mutants.ts";
export {
  collidingFeatures,
  QEMU_DEVICE_PREFIX,
  QEMU_DEVICE_VARIANTS,
  type QemuDeviceRecipe,
  qemuDeviceRecipe,
  qemuDeviceTarget,
  qemuDeviceTargetName,
  type QemuDeviceTargetOptions,
  type QemuDeviceVariant,
  qemuDeviceVariant,
} from "./qemu-device/target.ts";
export {
  type InProcessDevicePort,
  inProcessDevicePort,
  type SelfReport,
} from "./reference/device_port.ts";
export {
  type FieldDef,
  type FieldType,
  type MessageDef,
  type MessageKind,
  MESSAGES,
  PROTOCOL_VERSION,
  protocolSchema,
} from "./testee/protocol.ts";
export {
  type ProcessDeviceTarget,
  processDeviceTarget,
  type ProcessDeviceTargetOptions,
  type ProcessTargetHandle,
  type ProcessTargetOptions,
} from "./testee/target.ts";
export {
  type ProcessDriverTarget,
  processDriverTarget,
  type ProcessDriverTargetOptions,
} from "./testee/driver_target.ts";
export {
  type Exchange,
  type Hello,
  type MemoryAccess,
  PIPELINED,
  splitCommand,
  SUSPEND,
  type Suspend,
  type TesteeCommand,
  type TesteeEvent,
  TesteeSession,
  type TesteeSessionOptions,
} from "./testee/session.ts";
