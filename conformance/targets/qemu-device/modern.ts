/**
 * The modern virtio PCI interface over qtest (virtio 1.2 §4.1.4): the common
 * configuration, notification, ISR and device configuration structures the
 * vendor capabilities locate in a memory BAR. Each operation is one qtest
 * round trip (its register accesses batched in one write), except reset,
 * which reads status back until it is 0.
 *
 * @module
 */

import { type FieldDef, pciFieldOf, wireSize } from "../../../spec/mod.ts";
import { checkQueueSize, type RingLayout } from "../../../impl/mod.ts";
import { TargetError } from "../bridge/target_error.ts";
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
import type { VirtioPciDevice, VirtioRegion } from "./virtio_pci_device.ts";

/** A 64-bit ring address register is written as two halves of this many bytes, low first. */
const HALF_BYTES = (wireSize(pciFieldOf("virtio_pci_common_cfg", "queue_desc").type) / 2) as 4;
const HALF_MODULUS = 2 ** (8 * HALF_BYTES);
/** Feature bits per select of device_feature / driver_feature (32). */
const FEATURE_WORD_BITS = BigInt(
  8 * wireSize(pciFieldOf("virtio_pci_common_cfg", "driver_feature").type),
);
const FEATURE_WORD_MASK = (1n << FEATURE_WORD_BITS) - 1n;

function common(name: string): FieldDef {
  return pciFieldOf("virtio_pci_common_cfg", name);
}

/** Parts of a {@link ModernTransport}. */
export interface ModernTransportParts {
  /** The QEMU. */
  readonly qemu: QtestQemu;
  /** The device, probed. */
  readonly device: VirtioPciDevice;
  /** Its RAM. */
  readonly memory: QtestMemory;
}

function need(device: VirtioPciDevice, name: string, r: VirtioRegion | undefined): VirtioRegion {
  if (r === undefined) {
    throw new TargetError({
      kind: "unusable",
      target: "virtio PCI device",
      message:
        `The device has no usable ${name} capability: the modern interface needs COMMON, NOTIFY, ISR and DEVICE (found ${
          device.virtioCaps.map((c) => c.typeName).join(", ") || "none"
        })`,
    });
  }
  return r;
}

/** The modern interface of a probed device. */
export class ModernTransport implements VirtioPciTransport {
  /** Guest RAM. */
  readonly memory: QtestMemory;
  /** Not legacy. */
  readonly legacy = false;
  /** Rings are little-endian (VERSION_1). */
  readonly order = "v1" as const;
  #qemu: QtestQemu;
  #q: QtestClient;
  #common: number;
  #notify: VirtioRegion;
  #multiplier: number;
  #isr: number;
  #device: VirtioRegion;
  #notifyAt = new Map<number, number>();

  /** Uses the COMMON, NOTIFY, ISR and DEVICE regions of `parts.device` (TargetError if one is missing). */
  constructor(parts: ModernTransportParts) {
    const d = parts.device;
    this.#common = need(d, "COMMON", d.common).address;
    this.#notify = need(d, "NOTIFY", d.notify);
    this.#multiplier = this.#notify.cap.notifyOffMultiplier ?? 0;
    this.#isr = need(d, "ISR", d.isr).address;
    this.#device = need(d, "DEVICE", d.device);
    this.#qemu = parts.qemu;
    this.#q = parts.qemu.qtest;
    this.memory = parts.memory;
  }

  #cmd(name: string, value?: number, extra?: number): QtestCommand {
    return access("memory", {
      base: this.#common,
      field: common(name),
      ...(value === undefined ? {} : { value }),
      ...(extra === undefined ? {} : { extra, width: HALF_BYTES }),
    });
  }

  #read(name: string): number {
    return this.#q.batch([this.#cmd(name)])[0] as number;
  }

  /** Writes 0 to device_status and reads it back until it is 0. */
  reset(): void {
    this.writeStatus(0);
    for (let i = 0; i < RESET_READS; i++) {
      if (this.readStatus() === 0) {
        this.#notifyAt.clear();
        return;
      }
    }
    throw new TargetError({
      kind: "bad-reply",
      target: this.#qemu.bridge.label,
      message: `device_status is not 0 after a reset and ${RESET_READS} reads`,
    });
  }

  /** device_status. */
  readStatus(): number {
    return this.#read("device_status");
  }

  /** Writes device_status. */
  writeStatus(status: number): void {
    checkStatus(status);
    this.#q.batch([this.#cmd("device_status", status)]);
  }

  /** The 64 feature bits the device offers (two selects of device_feature). */
  readDeviceFeatures(): bigint {
    const [, lo, , hi] = this.#q.batch([
      this.#cmd("device_feature_select", 0),
      this.#cmd("device_feature"),
      this.#cmd("device_feature_select", 1),
      this.#cmd("device_feature"),
    ]);
    return (BigInt(hi as number) << FEATURE_WORD_BITS) | BigInt(lo as number);
  }

  /** Writes the 64 feature bits the driver accepts. */
  writeDriverFeatures(features: bigint): void {
    checkFeatures(features, 64);
    this.#q.batch([
      this.#cmd("driver_feature_select", 0),
      this.#cmd("driver_feature", Number(features & FEATURE_WORD_MASK)),
      this.#cmd("driver_feature_select", 1),
      this.#cmd("driver_feature", Number(features >> FEATURE_WORD_BITS)),
    ]);
  }

  /** num_queues. */
  numQueues(): number {
    return this.#read("num_queues");
  }

  /** Reads device configuration bytes (naturally aligned accesses, one round trip). */
  readConfig(offset: number, length: number): Uint8Array {
    checkConfigRange(offset, length, this.#device.length);
    const plan = configAccesses(offset, length);
    const values = this.#q.batch(
      plan.map((a) => ({ op: "read", addr: this.#device.address + a.offset, width: a.width })),
    );
    const out = new Uint8Array(length);
    for (const [i, a] of plan.entries()) {
      setLe(out, a.offset - offset, a.width, values[i] as number);
    }
    return out;
  }

  /** Writes device configuration bytes. */
  writeConfig(offset: number, data: Uint8Array): void {
    checkConfigRange(offset, data.length, this.#device.length);
    this.#q.batch(
      configAccesses(offset, data.length).map((a) => ({
        op: "write",
        addr: this.#device.address + a.offset,
        width: a.width,
        value: getLe(data, a.offset - offset, a.width),
      })),
    );
  }

  /** config_generation. */
  configGeneration(): number {
    return this.#read("config_generation");
  }

  /**
   * queue_size of queue `index`: its maximum until the driver writes a
   * smaller size; 0 when `index` is at or beyond num_queues.
   */
  queueMaxSize(index: number): number {
    checkQueueIndex(index, common("queue_select"));
    const [n, , size] = this.#q.batch([
      this.#cmd("num_queues"),
      this.#cmd("queue_select", index),
      this.#cmd("queue_size"),
    ]);
    return index >= (n as number) ? 0 : size as number;
  }

  /**
   * Selects queue `index`, writes its size and the three ring addresses,
   * reads its notify offset and enables it. RangeError when the queue does
   * not exist or the layout is larger than its maximum.
   */
  setupQueue(index: number, layout: RingLayout): void {
    checkQueueSize(layout.size);
    const max = this.queueMaxSize(index);
    if (max === 0) {
      throw new RangeError(`Invalid queue index: ${index}, the device has no such queue`);
    }
    if (layout.size > max) {
      throw new RangeError(
        `Invalid queue size for queue ${index}: ${layout.size}, expected at most ${max}`,
      );
    }
    for (const [part, addr] of Object.entries(layout)) {
      if (part !== "size" && !this.memory.contains(addr, 1)) {
        throw new RangeError(
          `Invalid ring layout for queue ${index}: ${part} at 0x${
            addr.toString(16)
          } is outside guest RAM`,
        );
      }
    }
    const halves = (name: string, addr: number): QtestCommand[] => [
      this.#cmd(name, addr % HALF_MODULUS, 0),
      this.#cmd(name, Math.floor(addr / HALF_MODULUS), HALF_BYTES),
    ];
    const replies = this.#q.batch([
      this.#cmd("queue_select", index),
      this.#cmd("queue_size", layout.size),
      ...halves("queue_desc", layout.desc),
      ...halves("queue_driver", layout.avail),
      ...halves("queue_device", layout.used),
      this.#cmd("queue_notify_off"),
      this.#cmd("queue_enable", 1),
    ]);
    const off = replies[replies.length - 2] as number;
    this.#notifyAt.set(index, this.#notify.address + off * this.#multiplier);
  }

  /** Writes the queue index to the queue's notification address (§4.1.4.4). */
  notify(index: number): void {
    checkQueueIndex(index, common("queue_select"));
    let at = this.#notifyAt.get(index);
    if (at === undefined) {
      const [, off] = this.#q.batch([
        this.#cmd("queue_select", index),
        this.#cmd("queue_notify_off"),
      ]);
      at = this.#notify.address + (off as number) * this.#multiplier;
      this.#notifyAt.set(index, at);
    }
    this.#q.writew(at, index);
  }

  /** Reads the ISR byte (clearing it) and takes the INTx notices. */
  takeInterrupts(): Interrupts {
    const isr = this.#q.readb(this.#isr);
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
