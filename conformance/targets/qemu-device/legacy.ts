/**
 * The legacy virtio PCI interface over qtest (virtio 1.2 §4.1.4.8): the
 * guest-native-endian register block in I/O BAR0 (32 feature bits, the
 * queue's PFN, a queue size the driver cannot change, status, ISR), then
 * the device configuration at 20, or at 24 while MSI-X is enabled. Rings use
 * the legacy contiguous layout (§2.7.2) with 4096-byte alignment, and the
 * guest byte order of x86: little-endian.
 *
 * @module
 */

import {
  type FieldDef,
  pciEnumValue,
  pciFieldOf,
  pciStructSize,
  VIRTIO_PCI_QUEUE_ADDR_SHIFT,
} from "../../../spec/mod.ts";
import { checkQueueSize, type RingLayout, ringLayout } from "../../../impl/mod.ts";
import { TargetError } from "../bridge/target_error.ts";
import { reg } from "./pci.ts";
import type { QtestQemu } from "./qemu_qtest.ts";
import type { QtestClient, QtestCommand } from "./qtest.ts";
import type { QtestMemory } from "./qtest_memory.ts";
import {
  access,
  checkConfigRange,
  checkFeatures,
  checkQueueIndex,
  checkStatus,
  configAccesses,
  getLe,
  type Interrupts,
  ISR_CONFIG,
  ISR_QUEUE,
  RESET_READS,
  setLe,
  type VirtioPciTransport,
} from "./transport.ts";
import type { VirtioPciDevice } from "./virtio_pci_device.ts";

/** The legacy queue address unit and alignment: 4096 bytes. */
export const LEGACY_QUEUE_UNIT: number = 2 ** VIRTIO_PCI_QUEUE_ADDR_SHIFT;

function header(name: string): FieldDef {
  return pciFieldOf("virtio_pci_legacy_cfg", name);
}

/** Parts of a {@link LegacyTransport}. */
export interface LegacyTransportParts {
  /** The QEMU. */
  readonly qemu: QtestQemu;
  /** The device, probed. */
  readonly device: VirtioPciDevice;
  /** Its RAM. */
  readonly memory: QtestMemory;
}

/** The legacy interface of a probed transitional or legacy-only device. */
export class LegacyTransport implements VirtioPciTransport {
  /** Guest RAM. */
  readonly memory: QtestMemory;
  /** Legacy. */
  readonly legacy = true;
  /** x86 is little-endian. */
  readonly order = "legacy-le" as const;
  /** Where the device configuration starts in BAR0: 20, or 24 with MSI-X enabled. */
  readonly configOffset: number;
  #qemu: QtestQemu;
  #q: QtestClient;
  #port: number;
  #configSize: number;

  /** Uses I/O BAR0 of `parts.device` (TargetError when it has none). */
  constructor(parts: LegacyTransportParts) {
    const d = parts.device;
    if (d.legacyIo === undefined) {
      throw new TargetError({
        kind: "unusable",
        target: "virtio PCI device",
        message:
          `The device has no legacy interface: BAR0 is not an I/O BAR (a modern-only device, id 0x${
            d.info.deviceId.toString(16)
          })`,
      });
    }
    this.#qemu = parts.qemu;
    this.#q = parts.qemu.qtest;
    this.#port = d.legacyIo.base;
    this.memory = parts.memory;
    this.configOffset = msixEnabled(d)
      ? pciStructSize("virtio_pci_legacy_msix")
      : pciStructSize("virtio_pci_legacy_cfg");
    this.#configSize = d.legacyIo.size - this.configOffset;
  }

  #cmd(name: string, value?: number): QtestCommand {
    return access("io", {
      base: this.#port,
      field: header(name),
      ...(value === undefined ? {} : { value }),
    });
  }

  #read(name: string): number {
    return this.#q.batch([this.#cmd(name)])[0] as number;
  }

  /** Writes 0 to the status register and reads it back until it is 0. */
  reset(): void {
    this.writeStatus(0);
    for (let i = 0; i < RESET_READS; i++) if (this.readStatus() === 0) return;
    throw new TargetError({
      kind: "bad-reply",
      target: this.#qemu.bridge.label,
      message: `The legacy status register is not 0 after a reset and ${RESET_READS} reads`,
    });
  }

  /** The status register. */
  readStatus(): number {
    return this.#read("device_status");
  }

  /** Writes the status register. */
  writeStatus(status: number): void {
    checkStatus(status);
    this.#q.batch([this.#cmd("device_status", status)]);
  }

  /** The 32 feature bits the device offers. */
  readDeviceFeatures(): bigint {
    return BigInt(this.#read("device_features"));
  }

  /** Writes the driver's 32 feature bits (RangeError above bit 31). */
  writeDriverFeatures(features: bigint): void {
    checkFeatures(features, 32);
    this.#q.batch([this.#cmd("driver_features", Number(features))]);
  }

  /** Reads device configuration bytes (at {@link configOffset} in BAR0). */
  readConfig(offset: number, length: number): Uint8Array {
    checkConfigRange(offset, length, this.#configSize);
    const plan = configAccesses(offset, length);
    const base = this.#port + this.configOffset;
    const values = this.#q.batch(
      plan.map((a) => ({ op: "in", port: base + a.offset, width: a.width })),
    );
    const out = new Uint8Array(length);
    for (const [i, a] of plan.entries()) {
      setLe(out, a.offset - offset, a.width, values[i] as number);
    }
    return out;
  }

  /** Writes device configuration bytes. */
  writeConfig(offset: number, data: Uint8Array): void {
    checkConfigRange(offset, data.length, this.#configSize);
    const base = this.#port + this.configOffset;
    this.#q.batch(
      configAccesses(offset, data.length).map((a) => ({
        op: "out",
        port: base + a.offset,
        width: a.width,
        value: getLe(data, a.offset - offset, a.width),
      })),
    );
  }

  /** The legacy interface has no generation counter. */
  configGeneration(): undefined {
    return undefined;
  }

  /** queue_size of queue `index` (fixed by the device; 0: no such queue). */
  queueMaxSize(index: number): number {
    checkQueueIndex(index, header("queue_select"));
    const [, size] = this.#q.batch([this.#cmd("queue_select", index), this.#cmd("queue_size")]);
    return size as number;
  }

  /**
   * Selects queue `index` and writes its PFN. The layout must be the legacy
   * one (`ringLayout(desc, size, { legacy: true })`) at the device's own
   * queue size, the descriptor table 4096-byte aligned: RangeError otherwise.
   */
  setupQueue(index: number, layout: RingLayout): void {
    checkQueueSize(layout.size);
    const size = this.queueMaxSize(index);
    if (size === 0) {
      throw new RangeError(`Invalid queue index: ${index}, the device has no such queue`);
    }
    if (layout.size !== size) {
      throw new RangeError(
        `Invalid queue size for legacy queue ${index}: ${layout.size}, expected the device's ${size} (legacy drivers cannot choose)`,
      );
    }
    const want = ringLayout(layout.desc, size, { legacy: true, legacyAlign: LEGACY_QUEUE_UNIT });
    if (want.avail !== layout.avail || want.used !== layout.used) {
      throw new RangeError(
        `Invalid ring layout for legacy queue ${index}: avail 0x${
          layout.avail.toString(16)
        } used 0x${layout.used.toString(16)}, expected the legacy layout from 0x${
          layout.desc.toString(16)
        } (avail 0x${want.avail.toString(16)} used 0x${want.used.toString(16)})`,
      );
    }
    if (!this.memory.contains(layout.desc, want.used - want.desc)) {
      throw new RangeError(
        `Invalid ring layout for legacy queue ${index}: 0x${
          layout.desc.toString(16)
        } is outside guest RAM`,
      );
    }
    this.#q.batch([
      this.#cmd("queue_select", index),
      this.#cmd("queue_address", layout.desc / LEGACY_QUEUE_UNIT),
    ]);
  }

  /** Writes the queue index to queue_notify. */
  notify(index: number): void {
    checkQueueIndex(index, header("queue_notify"));
    this.#q.batch([this.#cmd("queue_notify", index)]);
  }

  /** Reads the ISR register (clearing it) and takes the INTx notices. */
  takeInterrupts(): Interrupts {
    const isr = this.#read("isr_status");
    return {
      isr,
      used: (isr & ISR_QUEUE) !== 0,
      config: (isr & ISR_CONFIG) !== 0,
      lines: this.#q.takeIrqs(),
    };
  }

  /** Stops QEMU. */
  close(): void {
    this.#qemu.close();
  }
}

/** Whether MSI-X is enabled on the device (the legacy config then starts 4 bytes later). */
function msixEnabled(d: VirtioPciDevice): boolean {
  if (d.msixCap === undefined) return false;
  const control = d.fn.read(reg("pci_msix_cap", "message_control", d.msixCap));
  return (control & pciEnumValue("pci_msix_control", "PCI_MSIX_FLAGS_ENABLE")) !== 0;
}
