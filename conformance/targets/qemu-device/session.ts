/**
 * One QEMU balloon ready to be driven: QEMU started over qtest, the balloon
 * found and mapped on PCI, a transport (modern or legacy) over it, the
 * suite's share of guest RAM, and the host's QMP controls.
 *
 * @module
 */

import { TargetError } from "../bridge/target_error.ts";
import { QemuBalloonHost } from "./host.ts";
import { routeIntx } from "./intx.ts";
import { LegacyTransport } from "./legacy.ts";
import { ModernTransport } from "./modern.ts";
import { QtestQemu, type QtestQemuOptions } from "./qemu_qtest.ts";
import { QtestMemory } from "./qtest_memory.ts";
import type { VirtioPciTransport } from "./transport.ts";
import { probeBalloon, type VirtioPciDevice } from "./virtio_pci_device.ts";

/** Options of {@link openQemuBalloon}. */
export interface QemuBalloonOptions extends Omit<QtestQemuOptions, "device"> {
  /** Which interface to drive (default: modern when the device has it, else legacy). */
  readonly mode?: "modern" | "legacy";
  /** Route INTx and intercept the IOAPIC (pc only), so interrupts also arrive as IRQ lines. */
  readonly intx?: boolean;
}

/** A QEMU balloon, mapped and ready. */
export interface QemuBalloonSession {
  /** The QEMU. */
  readonly qemu: QtestQemu;
  /** The balloon as found on PCI. */
  readonly device: VirtioPciDevice;
  /** The driver's interface to it. */
  readonly transport: VirtioPciTransport;
  /** The suite's share of guest RAM. */
  readonly memory: QtestMemory;
  /** QMP controls. */
  readonly host: QemuBalloonHost;
  /** The IRQ line the device raises (with `intx`). */
  readonly irqLine?: number;
  /** Stops QEMU (by its pid). */
  close(): void;
}

/**
 * Starts QEMU with `virtio-balloon-pci` and the given properties, finds and
 * maps the balloon, and opens the chosen interface. On any failure QEMU is
 * stopped before the error is thrown.
 */
export function openQemuBalloon(options: QemuBalloonOptions): QemuBalloonSession {
  const qemu = QtestQemu.start({ ...options, device: "virtio-balloon-pci" });
  try {
    const device = probeBalloon(qemu.qtest, qemu.machine);
    const memory = new QtestMemory(qemu.qtest, {
      start: qemu.machine.ramStart,
      end: qemu.ramBytes,
    });
    const mode = options.mode ?? (device.common !== undefined ? "modern" : "legacy");
    const parts = { qemu, device, memory };
    const transport = mode === "modern" ? new ModernTransport(parts) : new LegacyTransport(parts);
    let irqLine: number | undefined;
    if (options.intx === true) {
      if (device.interruptPin === 0) {
        throw new TargetError({
          kind: "unusable",
          target: "virtio PCI device",
          message: "The device has no INTx pin (interrupt_pin 0)",
        });
      }
      irqLine = routeIntx(qemu.qtest, {
        machine: qemu.machine,
        slot: qemu.slot,
        pin: device.interruptPin,
      });
    }
    return {
      qemu,
      device,
      transport,
      memory,
      host: new QemuBalloonHost(qemu),
      ...(irqLine === undefined ? {} : { irqLine }),
      close: () => void qemu.close(),
    };
  } catch (e) {
    qemu.close();
    throw e;
  }
}
