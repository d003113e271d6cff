/**
 * PCI over qtest, as firmware and a guest kernel do it: configuration
 * access through mechanism #1 (address to port 0xcf8, data at 0xcfc + the
 * low offset bits; one qtest round trip per access, both lines in one
 * write), enumeration of bus 0, BAR sizing (write all ones, read back) and
 * assignment from the machine's windows, the command register, and the
 * capability list. Every offset and bit comes from `spec/virtio_pci.ts`.
 *
 * @module
 */

import {
  type FieldDef,
  PCI_BAR_COUNT,
  PCI_BASE_ADDRESS_IO_FLAGS,
  PCI_BASE_ADDRESS_MEM_FLAGS,
  PCI_CAP_AREA_START,
  PCI_CONFIG_ADDRESS_PORT,
  PCI_CONFIG_DATA_PORT,
  PCI_CONFIG_ENABLE,
  PCI_CONFIG_SPACE_SIZE,
  PCI_DEVICES_PER_BUS,
  PCI_FUNCTIONS_PER_DEVICE,
  PCI_HEADER_TYPE_MULTI_FUNCTION,
  PCI_VENDOR_ID_NONE,
  pciEnumValue,
  pciFieldOf,
  type PciStructName,
  wireSize,
} from "../../../spec/mod.ts";
import { TargetError } from "../bridge/target_error.ts";
import type { MachineFacts } from "./machine.ts";
import type { QtestClient } from "./qtest.ts";

/** A register: where and how wide. */
export interface Register {
  /** Byte offset. */
  readonly offset: number;
  /** Access width in bytes. */
  readonly width: 1 | 2 | 4;
}

/**
 * The register of a table field, at `base` (the start of its struct). A
 * 64-bit field is two 32-bit registers: take `lo`/`hi` with {@link reg64}.
 */
export function reg(struct: PciStructName, field: string, base = 0): Register {
  const f = pciFieldOf(struct, field);
  return { offset: base + f.offset, width: width32(f) };
}

/** The two 32-bit halves of a 64-bit table field, low first. */
export function reg64(struct: PciStructName, field: string, base = 0): [Register, Register] {
  const f = pciFieldOf(struct, field);
  if (wireSize(f.type) !== 8) {
    throw new RangeError(`Field ${struct}.${field} is ${wireSize(f.type)} bytes, expected 8`);
  }
  return [{ offset: base + f.offset, width: 4 }, { offset: base + f.offset + 4, width: 4 }];
}

function width32(f: FieldDef): 1 | 2 | 4 {
  const w = wireSize(f.type);
  if (w === 8) throw new RangeError(`Field ${f.name} is 8 bytes: use reg64`);
  return w;
}

/** Bus, device, function. */
export interface PciAddress {
  /** Bus number. */
  readonly bus: number;
  /** Device (slot) number. */
  readonly device: number;
  /** Function number. */
  readonly fn: number;
}

/** `bb:dd.f`. */
export function formatPciAddress(a: PciAddress): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, "0");
  return `${h(a.bus, 2)}:${h(a.device, 2)}.${a.fn}`;
}

/**
 * The configuration address of `offset` in function `a` (its dword).
 *
 * @example
 * ```ts
 * import { configAddress } from "./pci.ts";
 * import assert from "node:assert/strict";
 * assert.equal(configAddress({ bus: 0, device: 1, fn: 0 }, 0x60), 0x80000860);
 * assert.equal(configAddress({ bus: 0, device: 4, fn: 0 }, 0x3d), 0x8000203c);
 * ```
 */
export function configAddress(a: PciAddress, offset: number): number {
  if (
    !Number.isInteger(a.bus) || a.bus < 0 || a.bus > 255 ||
    !Number.isInteger(a.device) || a.device < 0 || a.device >= PCI_DEVICES_PER_BUS ||
    !Number.isInteger(a.fn) || a.fn < 0 || a.fn >= PCI_FUNCTIONS_PER_DEVICE
  ) {
    throw new RangeError(
      `Invalid PCI address: ${JSON.stringify(a)}, expected bus 0-255, device 0-${
        PCI_DEVICES_PER_BUS - 1
      }, function 0-${PCI_FUNCTIONS_PER_DEVICE - 1}`,
    );
  }
  if (!Number.isInteger(offset) || offset < 0 || offset >= PCI_CONFIG_SPACE_SIZE) {
    throw new RangeError(
      `Invalid PCI config offset: ${offset}, expected 0 to ${PCI_CONFIG_SPACE_SIZE - 1}`,
    );
  }
  return (PCI_CONFIG_ENABLE | (a.bus << 16) | (a.device << 11) | (a.fn << 8) | (offset & 0xfc)) >>>
    0;
}

function checkAccess(r: Register): void {
  if (r.offset % r.width !== 0) {
    throw new RangeError(
      `Invalid PCI config access: ${r.width} bytes at ${r.offset}, expected a naturally aligned access`,
    );
  }
}

/** Configuration space of one PCI function. */
export class PciFunction {
  /** Where it is. */
  readonly address: PciAddress;
  #qtest: QtestClient;

  /** Config access to `address` through `qtest`. */
  constructor(qtest: QtestClient, address: PciAddress) {
    configAddress(address, 0);
    this.#qtest = qtest;
    this.address = address;
  }

  /** Reads a config register (one round trip). */
  read(r: Register): number {
    checkAccess(r);
    const [, v] = this.#qtest.batch([
      {
        op: "out",
        port: PCI_CONFIG_ADDRESS_PORT,
        width: 4,
        value: configAddress(this.address, r.offset),
      },
      { op: "in", port: PCI_CONFIG_DATA_PORT + (r.offset & 3), width: r.width },
    ]);
    return v as number;
  }

  /** Writes a config register (one round trip). */
  write(r: Register, value: number): void {
    checkAccess(r);
    this.#qtest.batch([
      {
        op: "out",
        port: PCI_CONFIG_ADDRESS_PORT,
        width: 4,
        value: configAddress(this.address, r.offset),
      },
      { op: "out", port: PCI_CONFIG_DATA_PORT + (r.offset & 3), width: r.width, value },
    ]);
  }

  /** Reads a field of the type-0 header. */
  header(field: string): number {
    return this.read(reg("pci_config_header", field));
  }
}

/** A function found on the bus. */
export interface PciFunctionInfo {
  /** Where. */
  readonly address: PciAddress;
  /** vendor_id. */
  readonly vendorId: number;
  /** device_id. */
  readonly deviceId: number;
  /** subsystem_vendor_id. */
  readonly subsystemVendorId: number;
  /** subsystem_id. */
  readonly subsystemId: number;
  /** revision_id. */
  readonly revisionId: number;
}

/** Every function on bus 0, in slot order (functions 1-7 of multi-function devices too). */
export function enumerate(qtest: QtestClient): PciFunctionInfo[] {
  const out: PciFunctionInfo[] = [];
  for (let device = 0; device < PCI_DEVICES_PER_BUS; device++) {
    for (let fn = 0; fn < PCI_FUNCTIONS_PER_DEVICE; fn++) {
      const f = new PciFunction(qtest, { bus: 0, device, fn });
      const vendorId = f.header("vendor_id");
      if (vendorId === PCI_VENDOR_ID_NONE) {
        if (fn === 0) break;
        continue;
      }
      out.push({
        address: f.address,
        vendorId,
        deviceId: f.header("device_id"),
        subsystemVendorId: f.header("subsystem_vendor_id"),
        subsystemId: f.header("subsystem_id"),
        revisionId: f.header("revision_id"),
      });
      if (fn === 0 && (f.header("header_type") & PCI_HEADER_TYPE_MULTI_FUNCTION) === 0) break;
    }
  }
  return out;
}

/** One implemented BAR, sized and assigned. */
export interface Bar {
  /** BAR index (0-5; a 64-bit BAR also takes the next). */
  readonly index: number;
  /** I/O or memory space. */
  readonly space: "io" | "memory";
  /** 64-bit memory BAR. */
  readonly is64: boolean;
  /** Prefetchable. */
  readonly prefetchable: boolean;
  /** Size in bytes. */
  readonly size: number;
  /** The address assigned (port number for I/O). */
  readonly base: number;
}

const IO_BIT = pciEnumValue("pci_bar", "PCI_BASE_ADDRESS_SPACE_IO");
const MEM64_BIT = pciEnumValue("pci_bar", "PCI_BASE_ADDRESS_MEM_TYPE_64");
const PREFETCH_BIT = pciEnumValue("pci_bar", "PCI_BASE_ADDRESS_MEM_PREFETCH");
const ALL_ONES = 0xffff_ffff;

function barReg(i: number): Register {
  return reg("pci_config_header", `bar${i}`);
}

/** The size a BAR asks for: the lowest address bit that stuck when all ones were written. */
function lowestBit(addressBits: number, where: string, mask: number): number {
  const bit = (addressBits & -addressBits) >>> 0;
  if (bit === 0) {
    throw new TargetError({
      kind: "bad-reply",
      target: where,
      message: `${where} reads back 0x${
        mask.toString(16)
      } after all ones: flags but no address bits`,
    });
  }
  return bit;
}

/** A bump allocator over a window; sizes are powers of two, bases aligned to them. */
class Window {
  #next: number;
  readonly #end: number;
  readonly #name: string;
  constructor(w: { start: number; end: number }, name: string) {
    this.#next = w.start;
    this.#end = w.end;
    this.#name = name;
  }
  take(size: number, what: string): number {
    const at = Math.ceil(this.#next / size) * size;
    if (at + size > this.#end) {
      throw new RangeError(
        `Cannot place ${what} of ${size} bytes: the ${this.#name} window ends at 0x${
          this.#end.toString(16)
        }`,
      );
    }
    this.#next = at + size;
    return at;
  }
}

/**
 * Sizes every BAR of `fn` (writing all ones and reading back, then
 * restoring), assigns each a naturally aligned base in the machine's MMIO or
 * I/O window (64-bit BARs below 4 GiB, high half 0), and returns them. The
 * command register is left alone: see {@link enableDevice}.
 */
export function assignBars(fn: PciFunction, machine: MachineFacts): Bar[] {
  const mmio = new Window(machine.mmio, "MMIO");
  const io = new Window(machine.io, "I/O");
  const bars: Bar[] = [];
  for (let i = 0; i < PCI_BAR_COUNT; i++) {
    const r = barReg(i);
    const orig = fn.read(r);
    fn.write(r, ALL_ONES);
    const mask = fn.read(r);
    fn.write(r, orig);
    if (mask === 0) continue;
    const where = `BAR${i} of ${formatPciAddress(fn.address)}`;
    if ((mask & IO_BIT) !== 0) {
      const size = lowestBit(mask & ~PCI_BASE_ADDRESS_IO_FLAGS, where, mask);
      const base = io.take(size, where);
      fn.write(r, base);
      bars.push({ index: i, space: "io", is64: false, prefetchable: false, size, base });
      continue;
    }
    const is64 = (mask & MEM64_BIT) !== 0;
    let size = lowestBit(mask & ~PCI_BASE_ADDRESS_MEM_FLAGS, where, mask);
    if (is64) {
      if (i + 1 >= PCI_BAR_COUNT) {
        throw new TargetError({
          kind: "bad-reply",
          target: where,
          message: `${where} says it is 64-bit but is the last BAR`,
        });
      }
      const hi = barReg(i + 1);
      const origHi = fn.read(hi);
      fn.write(hi, ALL_ONES);
      const maskHi = fn.read(hi);
      fn.write(hi, origHi);
      if (maskHi !== ALL_ONES) {
        throw new RangeError(`Cannot place ${where}: it needs more than 4 GiB`);
      }
    }
    // the smallest memory BAR is 16 bytes (its flag bits); keep bases at least that aligned
    size = Math.max(size, PCI_BASE_ADDRESS_MEM_FLAGS + 1);
    const base = mmio.take(size, where);
    fn.write(r, (base | (mask & PCI_BASE_ADDRESS_MEM_FLAGS)) >>> 0);
    if (is64) fn.write(barReg(i + 1), 0);
    bars.push({
      index: i,
      space: "memory",
      is64,
      prefetchable: (mask & PREFETCH_BIT) !== 0,
      size,
      base,
    });
    if (is64) i++;
  }
  return bars;
}

/** Sets the command register's I/O, memory and bus-master bits (firmware's last step). */
export function enableDevice(fn: PciFunction, bars: readonly Bar[]): void {
  const r = reg("pci_config_header", "command");
  let cmd = fn.read(r) | pciEnumValue("pci_command", "PCI_COMMAND_MASTER");
  if (bars.some((b) => b.space === "io")) cmd |= pciEnumValue("pci_command", "PCI_COMMAND_IO");
  if (bars.some((b) => b.space === "memory")) {
    cmd |= pciEnumValue("pci_command", "PCI_COMMAND_MEMORY");
  }
  fn.write(r, cmd);
}

/** A capability in the list. */
export interface PciCapability {
  /** cap_id. */
  readonly id: number;
  /** Its offset in config space. */
  readonly offset: number;
}

/**
 * The capability list of `fn`, in list order. A list that loops or points
 * outside config space is a {@link TargetError} (`bad-reply`).
 */
export function capabilities(fn: PciFunction): PciCapability[] {
  const status = fn.header("status");
  if ((status & pciEnumValue("pci_status", "PCI_STATUS_CAP_LIST")) === 0) return [];
  const out: PciCapability[] = [];
  const seen = new Set<number>();
  let at = fn.header("capabilities_pointer") & ~3;
  const idReg = pciFieldOf("pci_cap_header", "cap_id").offset;
  const nextReg = pciFieldOf("pci_cap_header", "cap_next").offset;
  while (at !== 0) {
    if (seen.has(at) || at < PCI_CAP_AREA_START || at >= PCI_CONFIG_SPACE_SIZE) {
      throw new TargetError({
        kind: "bad-reply",
        target: formatPciAddress(fn.address),
        message: `The capability list of ${formatPciAddress(fn.address)} ${
          seen.has(at) ? "loops back to" : "points outside the capability area at"
        } 0x${at.toString(16)}`,
      });
    }
    seen.add(at);
    const id = fn.read({ offset: at + idReg, width: 1 });
    out.push({ id, offset: at });
    at = fn.read({ offset: at + nextReg, width: 1 }) & ~3;
  }
  return out;
}
