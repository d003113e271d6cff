/**
 * The virtio PCI transport as tables (virtio 1.2 §4.1): the PCI ids of a
 * balloon, the vendor capabilities that locate the common, notify, ISR and
 * device configuration regions (§4.1.4), the modern common configuration
 * (§4.1.4.3), the legacy I/O register block (§4.1.4.8), and the few parts of
 * PCI itself a driver needs to find them (type-0 configuration header,
 * configuration mechanism #1, BARs, capability list, MSI-X capability; PCI
 * Local Bus Specification 3.0). A transport over a real device (qtest) takes
 * every offset, width and bit from here.
 *
 * These tables are separate from {@link STRUCTS}: those are the balloon's
 * own structs (config space, requests, rings), encoded by the codecs; these
 * are registers, read one field at a time at their natural width.
 *
 * @module
 */

import { VIRTIO_ID_BALLOON } from "./constants.ts";
import type { FieldDef } from "./structs.ts";
import type { Role } from "./types.ts";
import { wireSize, type WireType } from "./wire.ts";

/** Names of the register layouts in {@link PCI_STRUCTS}. */
export type PciStructName =
  | "pci_config_header"
  | "pci_cap_header"
  | "virtio_pci_cap"
  | "virtio_pci_notify_cap"
  | "virtio_pci_common_cfg"
  | "virtio_pci_legacy_cfg"
  | "virtio_pci_legacy_msix"
  | "pci_msix_cap"
  | "pci_msix_table_entry";

/** One register layout. */
export interface PciStructDef {
  /** Name used in the tables and errors. */
  readonly name: PciStructName;
  /** The C declaration (or register block) it mirrors. */
  readonly cName: string;
  /** Meaning. */
  readonly meaning: string;
  /** Where it is defined. */
  readonly source: string;
  /** Fields in offset order (gaps allowed: registers the transport does not use). */
  readonly fields: readonly FieldDef[];
}

function field(
  name: string,
  offset: number,
  type: WireType,
  writer: Role,
  meaning: string,
): FieldDef {
  return { name, offset, type, writer, checks: [], meaning };
}

/** Every register layout of the virtio PCI transport that the suite uses. */
export const PCI_STRUCTS: Readonly<Record<PciStructName, PciStructDef>> = {
  pci_config_header: {
    name: "pci_config_header",
    cName: "PCI type-0 configuration header (the fields a virtio driver reads)",
    meaning: "Start of a PCI function's configuration space",
    source: "PCI Local Bus 3.0 §6.1; virtio 1.2 §4.1.2",
    fields: [
      field("vendor_id", 0x00, "le16", "device", "0x1af4 for virtio; 0xffff: no function"),
      field("device_id", 0x02, "le16", "device", "0x1040 + device id, or a transitional id"),
      field("command", 0x04, "le16", "driver", "I/O space, memory space, bus master bits"),
      field("status", 0x06, "le16", "device", "Bit CAP_LIST: a capability list exists"),
      field("revision_id", 0x08, "u8", "device", "0 for transitional devices, >= 1 for modern"),
      field("header_type", 0x0e, "u8", "device", "Bit 7: a multi-function device"),
      field("bar0", 0x10, "le32", "both", "Base address register 0"),
      field("bar1", 0x14, "le32", "both", "Base address register 1"),
      field("bar2", 0x18, "le32", "both", "Base address register 2"),
      field("bar3", 0x1c, "le32", "both", "Base address register 3"),
      field("bar4", 0x20, "le32", "both", "Base address register 4"),
      field("bar5", 0x24, "le32", "both", "Base address register 5"),
      field("subsystem_vendor_id", 0x2c, "le16", "device", "Subsystem vendor"),
      field("subsystem_id", 0x2e, "le16", "device", "The virtio device id (5: balloon)"),
      field("capabilities_pointer", 0x34, "u8", "device", "Offset of the first capability"),
      field("interrupt_line", 0x3c, "u8", "driver", "IRQ routing, written by firmware"),
      field("interrupt_pin", 0x3d, "u8", "device", "1 = INTA#; 0: no INTx"),
    ],
  },
  pci_cap_header: {
    name: "pci_cap_header",
    cName: "PCI capability header",
    meaning: "First two bytes of every capability in the list",
    source: "PCI Local Bus 3.0 §6.7",
    fields: [
      field("cap_id", 0, "u8", "device", "Capability id (pci_cap_id)"),
      field("cap_next", 1, "u8", "device", "Offset of the next capability, 0 at the end"),
    ],
  },
  virtio_pci_cap: {
    name: "virtio_pci_cap",
    cName: "struct virtio_pci_cap",
    meaning: "A vendor capability locating one virtio structure in a BAR",
    source: "virtio 1.2 §4.1.4",
    fields: [
      field("cap_vndr", 0, "u8", "device", "PCI_CAP_ID_VNDR (0x09)"),
      field("cap_next", 1, "u8", "device", "Next capability"),
      field("cap_len", 2, "u8", "device", "Length of this capability"),
      field("cfg_type", 3, "u8", "device", "Which structure (virtio_pci_cap_cfg_type)"),
      field("bar", 4, "u8", "device", "BAR holding it (0 to 5)"),
      field("id", 5, "u8", "device", "Multiple capabilities of one type"),
      field("offset", 8, "le32", "device", "Offset of the structure in the BAR"),
      field("length", 12, "le32", "device", "Length of the structure"),
    ],
  },
  virtio_pci_notify_cap: {
    name: "virtio_pci_notify_cap",
    cName: "struct virtio_pci_notify_cap",
    meaning:
      "The notification capability: a virtio_pci_cap, then the multiplier of queue_notify_off",
    source: "virtio 1.2 §4.1.4.4",
    fields: [
      field(
        "notify_off_multiplier",
        16,
        "le32",
        "device",
        "Queue q notifies at cap.offset + queue_notify_off(q) * this",
      ),
    ],
  },
  virtio_pci_common_cfg: {
    name: "virtio_pci_common_cfg",
    cName: "struct virtio_pci_common_cfg",
    meaning: "Common configuration: features, status, queue setup (modern interface)",
    source: "virtio 1.2 §4.1.4.3",
    fields: [
      field("device_feature_select", 0, "le32", "driver", "Which 32 feature bits to show"),
      field("device_feature", 4, "le32", "device", "The selected 32 bits the device offers"),
      field("driver_feature_select", 8, "le32", "driver", "Which 32 feature bits to write"),
      field("driver_feature", 12, "le32", "driver", "The selected 32 bits the driver accepts"),
      field("config_msix_vector", 16, "le16", "driver", "MSI-X vector of config changes"),
      field("num_queues", 18, "le16", "device", "Most queues the device supports"),
      field("device_status", 20, "u8", "both", "Device status; writing 0 resets"),
      field("config_generation", 21, "u8", "device", "Changes when device config changes"),
      field("queue_select", 22, "le16", "driver", "Queue the queue_* fields refer to"),
      field("queue_size", 24, "le16", "both", "Queue size: the maximum on reset, 0: no queue"),
      field("queue_msix_vector", 26, "le16", "driver", "MSI-X vector of the queue"),
      field("queue_enable", 28, "le16", "driver", "1: the queue is in use"),
      field("queue_notify_off", 30, "le16", "device", "Notify offset of the queue"),
      field("queue_desc", 32, "le64", "driver", "Descriptor table address"),
      field("queue_driver", 40, "le64", "driver", "Available (driver) ring address"),
      field("queue_device", 48, "le64", "driver", "Used (device) ring address"),
      field("queue_notify_data", 56, "le16", "device", "With NOTIFICATION_DATA"),
      field("queue_reset", 58, "le16", "both", "With RING_RESET: 1 resets the queue"),
    ],
  },
  virtio_pci_legacy_cfg: {
    name: "virtio_pci_legacy_cfg",
    cName: "legacy virtio header in I/O BAR0",
    meaning: "The legacy interface: guest-native-endian registers, then device config",
    source: "virtio 1.2 §4.1.4.8",
    fields: [
      field("device_features", 0, "virtio32", "device", "Feature bits 0 to 31 the device offers"),
      field("driver_features", 4, "virtio32", "driver", "Feature bits 0 to 31 the driver accepts"),
      field("queue_address", 8, "virtio32", "driver", "Queue PFN (address >> 12), 0: no queue"),
      field("queue_size", 12, "virtio16", "device", "Size of the selected queue, 0: no queue"),
      field("queue_select", 14, "virtio16", "driver", "Queue the queue_* fields refer to"),
      field("queue_notify", 16, "virtio16", "driver", "Writing a queue index notifies it"),
      field("device_status", 18, "u8", "both", "Device status; writing 0 resets"),
      field("isr_status", 19, "u8", "device", "ISR status; reading clears it"),
    ],
  },
  virtio_pci_legacy_msix: {
    name: "virtio_pci_legacy_msix",
    cName: "legacy MSI-X vector registers",
    meaning: "Present after the legacy header only while MSI-X is enabled; config follows",
    source: "virtio 1.2 §4.1.4.8",
    fields: [
      field("config_msix_vector", 20, "virtio16", "driver", "MSI-X vector of config changes"),
      field("queue_msix_vector", 22, "virtio16", "driver", "MSI-X vector of the queue"),
    ],
  },
  pci_msix_cap: {
    name: "pci_msix_cap",
    cName: "MSI-X capability",
    meaning: "Where the MSI-X table and pending-bit array are, and the enable bit",
    source: "PCI Local Bus 3.0 §6.8.2",
    fields: [
      field("cap_id", 0, "u8", "device", "PCI_CAP_ID_MSIX (0x11)"),
      field("cap_next", 1, "u8", "device", "Next capability"),
      field("message_control", 2, "le16", "both", "Table size - 1 (bits 0-10), mask, enable"),
      field("table", 4, "le32", "device", "Table offset | BIR (bits 0-2)"),
      field("pba", 8, "le32", "device", "Pending-bit array offset | BIR"),
    ],
  },
  pci_msix_table_entry: {
    name: "pci_msix_table_entry",
    cName: "MSI-X table entry",
    meaning: "One vector: the message address and data the device writes",
    source: "PCI Local Bus 3.0 §6.8.2",
    fields: [
      field("message_address", 0, "le32", "driver", "Address bits 0-31"),
      field("message_upper_address", 4, "le32", "driver", "Address bits 32-63"),
      field("message_data", 8, "le32", "driver", "Data written"),
      field("vector_control", 12, "le32", "driver", "Bit 0: masked"),
    ],
  },
};

/** A register of a layout, by name (RangeError for an unknown one). */
export function pciFieldOf(struct: PciStructName, name: string): FieldDef {
  const f = PCI_STRUCTS[struct].fields.find((x) => x.name === name);
  if (f === undefined) throw new RangeError(`Register layout ${struct} has no field ${name}`);
  return f;
}

/**
 * Bytes a register layout spans (to the end of its last field).
 *
 * @example
 * ```ts
 * import { pciStructSize } from "./virtio_pci.ts";
 * import assert from "node:assert/strict";
 * assert.equal(pciStructSize("virtio_pci_cap"), 16);
 * assert.equal(pciStructSize("virtio_pci_legacy_cfg"), 20);
 * ```
 */
export function pciStructSize(struct: PciStructName): number {
  return PCI_STRUCTS[struct].fields.reduce(
    (n, f) => Math.max(n, f.offset + wireSize(f.type) * (f.count ?? 1)),
    0,
  );
}

/** Names of the bit and value sets in {@link PCI_ENUMS}. */
export type PciEnumName =
  | "virtio_pci_cap_cfg_type"
  | "pci_cap_id"
  | "pci_command"
  | "pci_status"
  | "pci_bar"
  | "virtio_pci_isr"
  | "pci_msix_control";

/** One named value of a {@link PciEnumDef}. */
export interface PciEnumValue {
  /** C name. */
  readonly name: string;
  /** Value. */
  readonly value: number;
  /** Meaning. */
  readonly meaning: string;
}

/** A set of named values or bits. */
export interface PciEnumDef {
  /** Name. */
  readonly name: PciEnumName;
  /** Meaning. */
  readonly meaning: string;
  /** Where it is defined. */
  readonly source: string;
  /** Whether values are bits. */
  readonly flags: boolean;
  /** Its values. */
  readonly values: readonly PciEnumValue[];
}

/** Every value and bit set of the virtio PCI transport the suite uses. */
export const PCI_ENUMS: Readonly<Record<PciEnumName, PciEnumDef>> = {
  virtio_pci_cap_cfg_type: {
    name: "virtio_pci_cap_cfg_type",
    meaning: "cfg_type of a virtio vendor capability",
    source: "virtio 1.2 §4.1.4",
    flags: false,
    values: [
      { name: "VIRTIO_PCI_CAP_COMMON_CFG", value: 1, meaning: "Common configuration" },
      { name: "VIRTIO_PCI_CAP_NOTIFY_CFG", value: 2, meaning: "Notifications" },
      { name: "VIRTIO_PCI_CAP_ISR_CFG", value: 3, meaning: "ISR status" },
      { name: "VIRTIO_PCI_CAP_DEVICE_CFG", value: 4, meaning: "Device-specific configuration" },
      { name: "VIRTIO_PCI_CAP_PCI_CFG", value: 5, meaning: "Access through PCI config space" },
      { name: "VIRTIO_PCI_CAP_SHARED_MEMORY_CFG", value: 8, meaning: "Shared memory region" },
      { name: "VIRTIO_PCI_CAP_VENDOR_CFG", value: 9, meaning: "Vendor-specific data" },
    ],
  },
  pci_cap_id: {
    name: "pci_cap_id",
    meaning: "cap_id of a PCI capability",
    source: "PCI Local Bus 3.0 Appendix H",
    flags: false,
    values: [
      { name: "PCI_CAP_ID_VNDR", value: 0x09, meaning: "Vendor specific (virtio structures)" },
      { name: "PCI_CAP_ID_MSIX", value: 0x11, meaning: "MSI-X" },
    ],
  },
  pci_command: {
    name: "pci_command",
    meaning: "Bits of the command register",
    source: "PCI Local Bus 3.0 §6.2.2",
    flags: true,
    values: [
      { name: "PCI_COMMAND_IO", value: 0x1, meaning: "Decode I/O BARs" },
      { name: "PCI_COMMAND_MEMORY", value: 0x2, meaning: "Decode memory BARs" },
      { name: "PCI_COMMAND_MASTER", value: 0x4, meaning: "Bus master: the device may DMA" },
      { name: "PCI_COMMAND_INTX_DISABLE", value: 0x400, meaning: "No INTx interrupts" },
    ],
  },
  pci_status: {
    name: "pci_status",
    meaning: "Bits of the status register",
    source: "PCI Local Bus 3.0 §6.2.3",
    flags: true,
    values: [
      { name: "PCI_STATUS_INTERRUPT", value: 0x8, meaning: "INTx asserted" },
      { name: "PCI_STATUS_CAP_LIST", value: 0x10, meaning: "Capability list present" },
    ],
  },
  pci_bar: {
    name: "pci_bar",
    meaning: "Low bits of a base address register",
    source: "PCI Local Bus 3.0 §6.2.5.1",
    flags: true,
    values: [
      { name: "PCI_BASE_ADDRESS_SPACE_IO", value: 0x1, meaning: "An I/O BAR (else memory)" },
      { name: "PCI_BASE_ADDRESS_MEM_TYPE_64", value: 0x4, meaning: "A 64-bit memory BAR" },
      { name: "PCI_BASE_ADDRESS_MEM_PREFETCH", value: 0x8, meaning: "Prefetchable" },
    ],
  },
  virtio_pci_isr: {
    name: "virtio_pci_isr",
    meaning: "Bits of the ISR status byte (reading it clears it and deasserts INTx)",
    source: "virtio 1.2 §4.1.4.5",
    flags: true,
    values: [
      { name: "VIRTIO_PCI_ISR_QUEUE", value: 0x1, meaning: "A used-buffer notification" },
      { name: "VIRTIO_PCI_ISR_CONFIG", value: 0x2, meaning: "A configuration change" },
    ],
  },
  pci_msix_control: {
    name: "pci_msix_control",
    meaning: "Bits of the MSI-X message control register",
    source: "PCI Local Bus 3.0 §6.8.2.3",
    flags: true,
    values: [
      { name: "PCI_MSIX_FLAGS_QSIZE", value: 0x07ff, meaning: "Table size - 1" },
      { name: "PCI_MSIX_FLAGS_MASKALL", value: 0x4000, meaning: "Mask every vector" },
      { name: "PCI_MSIX_FLAGS_ENABLE", value: 0x8000, meaning: "MSI-X enabled" },
    ],
  },
};

/** The value of a named member of a {@link PCI_ENUMS} set (RangeError for an unknown one). */
export function pciEnumValue(set: PciEnumName, member: string): number {
  const v = PCI_ENUMS[set].values.find((x) => x.name === member);
  if (v === undefined) throw new RangeError(`Value set ${set} has no member ${member}`);
  return v.value;
}

/** The member name of a value, or `undefined`. */
export function pciEnumName(set: PciEnumName, value: number): string | undefined {
  return PCI_ENUMS[set].values.find((v) => v.value === value)?.name;
}

/** PCI vendor id of every virtio device (virtio 1.2 §4.1.2). */
export const VIRTIO_PCI_VENDOR_ID = 0x1af4;
/** Modern (non-transitional) device ids are this plus the virtio device id (§4.1.2). */
export const VIRTIO_PCI_MODERN_DEVICE_ID_BASE = 0x1040;
/** Modern PCI device id of the balloon: 0x1040 + 5. */
export const VIRTIO_PCI_BALLOON_MODERN_ID: number = VIRTIO_PCI_MODERN_DEVICE_ID_BASE +
  VIRTIO_ID_BALLOON;
/** Transitional PCI device id of the balloon (§4.1.2.1 table: 0x1002, "memory ballooning"). */
export const VIRTIO_PCI_BALLOON_TRANSITIONAL_ID = 0x1002;
/** Legacy queue_address counts in units of 1 << this (§4.1.4.8: 4096-byte pages). */
export const VIRTIO_PCI_QUEUE_ADDR_SHIFT = 12;
/** "No vector" for config_msix_vector and queue_msix_vector (§4.1.4.3). */
export const VIRTIO_MSI_NO_VECTOR = 0xffff;
/** I/O port of PCI configuration mechanism #1's address register. */
export const PCI_CONFIG_ADDRESS_PORT = 0xcf8;
/** I/O port of its data register (bytes at +0 to +3). */
export const PCI_CONFIG_DATA_PORT = 0xcfc;
/** Enable bit of a configuration address. */
export const PCI_CONFIG_ENABLE = 0x8000_0000;
/** Devices per bus. */
export const PCI_DEVICES_PER_BUS = 32;
/** Functions per device. */
export const PCI_FUNCTIONS_PER_DEVICE = 8;
/** Bytes of a function's (conventional) configuration space. */
export const PCI_CONFIG_SPACE_SIZE = 256;
/** Capabilities start after the 64-byte standard header (PCI Local Bus 3.0 §6.7). */
export const PCI_CAP_AREA_START = 0x40;
/** header_type bit of a multi-function device. */
export const PCI_HEADER_TYPE_MULTI_FUNCTION = 0x80;
/** vendor_id read from a function that does not exist. */
export const PCI_VENDOR_ID_NONE = 0xffff;
/** Number of base address registers of a type-0 header. */
export const PCI_BAR_COUNT = 6;
/** Bits of a memory BAR that are flags, not address. */
export const PCI_BASE_ADDRESS_MEM_FLAGS = 0xf;
/** Bits of an I/O BAR that are flags, not address. */
export const PCI_BASE_ADDRESS_IO_FLAGS = 0x3;
/** Bits of an MSI-X table or PBA register that name the BAR (BIR). */
export const PCI_MSIX_BIR_MASK = 0x7;
