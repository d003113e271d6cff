/**
 * Finding a virtio balloon on PCI and mapping it, as a guest's firmware and
 * virtio-pci driver do: enumerate bus 0, pick vendor 0x1af4 with the modern
 * id 0x1045 or the transitional id 0x1002 and subsystem 5 (virtio 1.2
 * §4.1.2), size and assign its BARs, enable I/O, memory and bus mastering,
 * then walk the capability list for the virtio vendor capabilities (§4.1.4:
 * the first of each type is used) and MSI-X.
 *
 * QEMU 7.2's virtio-balloon-pci has no MSI-X capability (it has no
 * `vectors` property): its interrupts are INTx pin A and the ISR byte.
 *
 * @module
 */

import {
  PCI_ENUMS,
  pciEnumName,
  pciEnumValue,
  VIRTIO_ID_BALLOON,
  VIRTIO_PCI_BALLOON_MODERN_ID,
  VIRTIO_PCI_BALLOON_TRANSITIONAL_ID,
  VIRTIO_PCI_VENDOR_ID,
} from "../../../spec/mod.ts";
import { TargetError } from "../bridge/target_error.ts";
import type { MachineFacts } from "./machine.ts";
import {
  assignBars,
  type Bar,
  capabilities,
  enableDevice,
  enumerate,
  formatPciAddress,
  type PciCapability,
  PciFunction,
  type PciFunctionInfo,
  reg,
} from "./pci.ts";
import type { QtestClient } from "./qtest.ts";

/** A virtio vendor capability (`struct virtio_pci_cap`), decoded. */
export interface VirtioPciCap {
  /** Offset of the capability in config space. */
  readonly capOffset: number;
  /** cfg_type. */
  readonly cfgType: number;
  /** Its name in `virtio_pci_cap_cfg_type`, or `unknown`. */
  readonly typeName: string;
  /** bar. */
  readonly bar: number;
  /** id. */
  readonly id: number;
  /** offset in the BAR. */
  readonly offset: number;
  /** length. */
  readonly length: number;
  /** cap_len. */
  readonly capLen: number;
  /** notify_off_multiplier (NOTIFY only). */
  readonly notifyOffMultiplier?: number;
}

/** A virtio structure mapped in a BAR. */
export interface VirtioRegion {
  /** The capability that locates it. */
  readonly cap: VirtioPciCap;
  /** The BAR. */
  readonly bar: Bar;
  /** Its address (guest physical, or an I/O port). */
  readonly address: number;
  /** Its length. */
  readonly length: number;
}

/** A balloon found and mapped. */
export interface VirtioPciDevice {
  /** Config access. */
  readonly fn: PciFunction;
  /** Ids as read. */
  readonly info: PciFunctionInfo;
  /** Transitional (0x1002) or modern-only (0x1045). */
  readonly kind: "transitional" | "modern";
  /** Implemented BARs, assigned. */
  readonly bars: readonly Bar[];
  /** The capability list. */
  readonly capabilities: readonly PciCapability[];
  /** The virtio vendor capabilities, in list order. */
  readonly virtioCaps: readonly VirtioPciCap[];
  /** COMMON_CFG, NOTIFY_CFG, ISR_CFG, DEVICE_CFG regions (modern interface), when present. */
  readonly common?: VirtioRegion;
  /** Notification region. */
  readonly notify?: VirtioRegion;
  /** ISR byte. */
  readonly isr?: VirtioRegion;
  /** Device-specific configuration. */
  readonly device?: VirtioRegion;
  /** The legacy interface: I/O BAR0 (transitional and legacy-only devices). */
  readonly legacyIo?: Bar;
  /** Offset of the MSI-X capability, if any. */
  readonly msixCap?: number;
  /** interrupt_pin (1 = INTA#). */
  readonly interruptPin: number;
}

/** Whether a function is a virtio balloon (modern id, or transitional id with subsystem 5). */
export function isBalloon(f: PciFunctionInfo): boolean {
  if (f.vendorId !== VIRTIO_PCI_VENDOR_ID) return false;
  if (f.deviceId === VIRTIO_PCI_BALLOON_MODERN_ID) return true;
  return f.deviceId === VIRTIO_PCI_BALLOON_TRANSITIONAL_ID && f.subsystemId === VIRTIO_ID_BALLOON;
}

function readCap(fn: PciFunction, at: number): VirtioPciCap {
  const r = (name: string) => fn.read(reg("virtio_pci_cap", name, at));
  const cfgType = r("cfg_type");
  const notify = pciEnumValue("virtio_pci_cap_cfg_type", "VIRTIO_PCI_CAP_NOTIFY_CFG");
  return {
    capOffset: at,
    cfgType,
    typeName: pciEnumName("virtio_pci_cap_cfg_type", cfgType) ?? "unknown",
    bar: r("bar"),
    id: r("id"),
    offset: r("offset"),
    length: r("length"),
    capLen: r("cap_len"),
    ...(cfgType === notify
      ? { notifyOffMultiplier: fn.read(reg("virtio_pci_notify_cap", "notify_off_multiplier", at)) }
      : {}),
  };
}

function region(
  caps: readonly VirtioPciCap[],
  bars: readonly Bar[],
  type: string,
): VirtioRegion | undefined {
  const value = pciEnumValue("virtio_pci_cap_cfg_type", type);
  for (const cap of caps.filter((c) => c.cfgType === value)) {
    const bar = bars.find((b) => b.index === cap.bar);
    // the first capability of a type that the driver can use (§4.1.4.1)
    if (bar !== undefined && cap.offset + cap.length <= bar.size) {
      return { cap, bar, address: bar.base + cap.offset, length: cap.length };
    }
  }
  return undefined;
}

/**
 * Enumerates the bus, finds the (first) balloon, maps it and reads its
 * capabilities. A machine without a balloon is a {@link TargetError}
 * naming the functions it has.
 */
export function probeBalloon(qtest: QtestClient, machine: MachineFacts): VirtioPciDevice {
  const all = enumerate(qtest);
  const info = all.find(isBalloon);
  if (info === undefined) {
    throw new TargetError({
      kind: "bad-reply",
      target: "PCI bus 0",
      message: `No virtio balloon on PCI bus 0 (expected vendor 0x${
        VIRTIO_PCI_VENDOR_ID.toString(16)
      } device 0x${VIRTIO_PCI_BALLOON_MODERN_ID.toString(16)} or 0x${
        VIRTIO_PCI_BALLOON_TRANSITIONAL_ID.toString(16)
      } with subsystem ${VIRTIO_ID_BALLOON}); found ${
        all.map((f) =>
          `${formatPciAddress(f.address)} ${f.vendorId.toString(16)}:${f.deviceId.toString(16)}`
        ).join(", ")
      }`,
    });
  }
  const fn = new PciFunction(qtest, info.address);
  const bars = assignBars(fn, machine);
  enableDevice(fn, bars);
  const caps = capabilities(fn);
  const vendor = pciEnumValue("pci_cap_id", "PCI_CAP_ID_VNDR");
  const virtioCaps = caps.filter((c) => c.id === vendor).map((c) => readCap(fn, c.offset));
  const msix = caps.find((c) => c.id === pciEnumValue("pci_cap_id", "PCI_CAP_ID_MSIX"));
  const bar0 = bars.find((b) => b.index === 0 && b.space === "io");
  const common = region(virtioCaps, bars, "VIRTIO_PCI_CAP_COMMON_CFG");
  const notify = region(virtioCaps, bars, "VIRTIO_PCI_CAP_NOTIFY_CFG");
  const isr = region(virtioCaps, bars, "VIRTIO_PCI_CAP_ISR_CFG");
  const device = region(virtioCaps, bars, "VIRTIO_PCI_CAP_DEVICE_CFG");
  return {
    fn,
    info,
    kind: info.deviceId === VIRTIO_PCI_BALLOON_MODERN_ID ? "modern" : "transitional",
    bars,
    capabilities: caps,
    virtioCaps,
    ...(common === undefined ? {} : { common }),
    ...(notify === undefined ? {} : { notify }),
    ...(isr === undefined ? {} : { isr }),
    ...(device === undefined ? {} : { device }),
    ...(bar0 === undefined ? {} : { legacyIo: bar0 }),
    ...(msix === undefined ? {} : { msixCap: msix.offset }),
    interruptPin: fn.read(reg("pci_config_header", "interrupt_pin")),
  };
}

/** The names of the capability types, for reports (`VIRTIO_PCI_CAP_COMMON_CFG` → `COMMON`). */
export function capTypeShortName(cfgType: number): string {
  const name = PCI_ENUMS.virtio_pci_cap_cfg_type.values.find((v) => v.value === cfgType)?.name;
  return name === undefined ? `type ${cfgType}` : name.replace(/^VIRTIO_PCI_CAP_|_CFG$/g, "");
}
