/**
 * The boundary a driver sees of a virtio device on PCI, driven over qtest:
 * status, features, device configuration, queues, notifications and
 * interrupts, with the guest RAM the rings live in. Two implementations:
 * {@link ModernTransport} (the virtio 1.x capabilities in a memory BAR) and
 * {@link LegacyTransport} (the legacy I/O BAR0 header of §4.1.4.8).
 *
 * **Interrupts are detected by reading the ISR byte**, in both modes, at the
 * moments the suite chooses (after a notification, after a host action):
 * QEMU 7.2's balloon has no MSI-X capability, so MSI-X into guest RAM is not
 * available; INTx needs PCI interrupt routing only firmware sets up, and
 * tells no more than the ISR does (QEMU raises the line exactly when it sets
 * an ISR bit). Reading ISR is deterministic, works on every machine and in
 * both modes, tells a used-buffer notification (bit 0) from a configuration
 * change (bit 1), and reflects interrupt suppression (NO_INTERRUPT,
 * `used_event`) because QEMU sets ISR only when it decided to notify.
 * Reading clears it (and lowers INTx). With `intx` on a `pc` machine the
 * transport also routes INTx and intercepts the IOAPIC, and hands over the
 * `IRQ raise N` lines qtest reports, as a cross-check.
 *
 * @module
 */

import type { ByteOrder, FieldDef } from "../../../spec/mod.ts";
import { pciEnumValue, wireMax, wireSize } from "../../../spec/mod.ts";
import type { RingLayout } from "../../../impl/mod.ts";
import type { IrqNotice, QtestCommand } from "./qtest.ts";
import type { QtestMemory } from "./qtest_memory.ts";

/** What {@link VirtioPciTransport.takeInterrupts} saw. */
export interface Interrupts {
  /** The ISR byte as read (reading cleared it). */
  readonly isr: number;
  /** ISR bit 0: a used-buffer notification. */
  readonly used: boolean;
  /** ISR bit 1: a configuration change. */
  readonly config: boolean;
  /** INTx notices since the last call (only with `intx`). */
  readonly lines: readonly IrqNotice[];
}

/** The driver's view of a virtio device on PCI. */
export interface VirtioPciTransport {
  /** Guest RAM, through qtest (the rings live there). */
  readonly memory: QtestMemory;
  /** Whether this is the legacy interface. */
  readonly legacy: boolean;
  /** Byte order of the rings: `v1`, or `legacy-le` (x86 guests are little-endian). */
  readonly order: ByteOrder;
  /** Resets the device (status 0, read back until it reads 0). */
  reset(): void;
  /** device_status. */
  readStatus(): number;
  /** Writes device_status. */
  writeStatus(status: number): void;
  /** The features the device offers (64 bits modern, 32 legacy). */
  readDeviceFeatures(): bigint;
  /** Writes the features the driver accepts. */
  writeDriverFeatures(features: bigint): void;
  /** Reads `length` bytes of device configuration at `offset`, each field at its natural width. */
  readConfig(offset: number, length: number): Uint8Array;
  /** Writes device configuration bytes. */
  writeConfig(offset: number, data: Uint8Array): void;
  /** config_generation (modern); `undefined` for legacy, which has none. */
  configGeneration(): number | undefined;
  /** The largest size of queue `index`, 0 when it does not exist. */
  queueMaxSize(index: number): number;
  /** Tells the device where queue `index` is and enables it. */
  setupQueue(index: number, layout: RingLayout): void;
  /** Notifies queue `index` (available buffers). */
  notify(index: number): void;
  /** Reads (and so clears) the ISR byte; with `intx`, the interrupt lines reported since. */
  takeInterrupts(): Interrupts;
  /** Stops the QEMU behind it. */
  close(): void;
}

/** Reads of status after a reset before the device counts as stuck. */
export const RESET_READS = 100;

/** ISR bit of a used-buffer notification. */
export const ISR_QUEUE: number = pciEnumValue("virtio_pci_isr", "VIRTIO_PCI_ISR_QUEUE");
/** ISR bit of a configuration change. */
export const ISR_CONFIG: number = pciEnumValue("virtio_pci_isr", "VIRTIO_PCI_ISR_CONFIG");

/** One access of a config read or write plan. */
export interface ConfigAccess {
  /** Offset from the start of the device config. */
  readonly offset: number;
  /** Width. */
  readonly width: 1 | 2 | 4;
}

/**
 * Splits `[offset, offset + length)` into naturally aligned accesses of at
 * most 4 bytes, widest first: how a driver reads and writes config fields
 * (every balloon config field is a 32-bit aligned `le32`).
 *
 * @example
 * ```ts
 * import { configAccesses } from "./transport.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(configAccesses(0, 8).map((a) => a.width), [4, 4]);
 * assert.deepEqual(configAccesses(3, 4), [
 *   { offset: 3, width: 1 }, { offset: 4, width: 2 }, { offset: 6, width: 1 },
 * ]);
 * ```
 */
export function configAccesses(offset: number, length: number): ConfigAccess[] {
  const out: ConfigAccess[] = [];
  let at = offset;
  const end = offset + length;
  while (at < end) {
    const width: 1 | 2 | 4 = at % 4 === 0 && end - at >= 4
      ? 4
      : at % 2 === 0 && end - at >= 2
      ? 2
      : 1;
    out.push({ offset: at, width });
    at += width;
  }
  return out;
}

/** Checks a config range against the size of the config window. */
export function checkConfigRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(
      `Invalid config range: offset ${offset} length ${length}, expected non-negative integers`,
    );
  }
  if (offset + length > size) {
    throw new RangeError(
      `Invalid config range: [${offset}, +${length}) ends beyond the ${size}-byte config window`,
    );
  }
}

/** Reads a little-endian value of `width` bytes from `bytes`. */
export function getLe(bytes: Uint8Array, at: number, width: number): number {
  let v = 0;
  for (let i = width - 1; i >= 0; i--) v = v * 256 + (bytes[at + i] ?? 0);
  return v;
}

/** Writes a little-endian value of `width` bytes into `bytes`. */
export function setLe(bytes: Uint8Array, at: number, width: number, value: number): void {
  let v = value;
  for (let i = 0; i < width; i++) {
    bytes[at + i] = v % 256;
    v = Math.floor(v / 256);
  }
}

/** Checks a feature mask: a bigint of `bits` bits. */
export function checkFeatures(features: bigint, bits: 32 | 64): void {
  if (typeof features !== "bigint" || features < 0n || features >= 1n << BigInt(bits)) {
    throw new RangeError(
      `Invalid driver features: ${features}, expected a bigint from 0 to 2^${bits} - 1${
        bits === 32 ? " (the legacy interface has 32 feature bits)" : ""
      }`,
    );
  }
}

/** Checks a queue index against the width of the queue_select register. */
export function checkQueueIndex(index: number, select: FieldDef): void {
  const max = Number(wireMax(select.type));
  if (!Number.isInteger(index) || index < 0 || index > max) {
    throw new RangeError(`Invalid queue index: ${index}, expected an integer from 0 to ${max}`);
  }
}

/** Checks a status value (one byte). */
export function checkStatus(status: number): void {
  if (!Number.isInteger(status) || status < 0 || status > 0xff) {
    throw new RangeError(`Invalid device status: ${status}, expected an integer from 0 to 255`);
  }
}

/** Where a register access goes: a field at `base` (plus `extra` bytes), and the value of a write. */
export interface AccessAt {
  /** Start of the register block (guest physical address or I/O port). */
  readonly base: number;
  /** The field. */
  readonly field: FieldDef;
  /** Bytes past the field's offset (the high half of a 64-bit field). */
  readonly extra?: number;
  /** The value to write; a read when absent. */
  readonly value?: number;
  /** Width override (the halves of a 64-bit field are 4 bytes). */
  readonly width?: 1 | 2 | 4;
}

/** A register access for a batch: memory (MMIO) or I/O at `base + field.offset`. */
export function access(space: "memory" | "io", at: AccessAt): QtestCommand {
  const width = at.width ?? wireSize(at.field.type);
  if (width === 8) throw new RangeError(`Field ${at.field.name} is 64-bit: access its halves`);
  const offset = at.base + at.field.offset + (at.extra ?? 0);
  const value = at.value;
  if (space === "io") {
    return value === undefined
      ? { op: "in", port: offset, width }
      : { op: "out", port: offset, width, value };
  }
  return value === undefined
    ? { op: "read", addr: offset, width }
    : { op: "write", addr: offset, width, value };
}
