/**
 * INTx by hand, as firmware would set it up: route PIRQ A–D to IRQ lines in
 * the machine's interrupt router, then ask qtest to intercept the IOAPIC's
 * inputs, so each change of the device's line arrives as an `IRQ raise N` /
 * `IRQ lower N` notice. Only `pc` (PIIX3) is known.
 *
 * @module
 */

import { TargetError } from "../bridge/target_error.ts";
import type { MachineFacts } from "./machine.ts";
import { PciFunction } from "./pci.ts";
import type { QtestClient } from "./qtest.ts";

/** Pins per PCI function (INTA# to INTD#), the PIRQ lines they rotate over. */
const PINS = 4;

/**
 * Routes INTx and intercepts the IOAPIC; returns the IRQ line that pin
 * `pin` (1 = INTA#) of a device in `slot` raises. PIIX's swizzle: slot `s`,
 * pin `p` uses PIRQ `(s - 1 + p - 1) mod 4` (QEMU's `pci_slot_get_pirq`).
 */
export function routeIntx(
  qtest: QtestClient,
  device: { readonly machine: MachineFacts; readonly slot: number; readonly pin: number },
): number {
  const intx = device.machine.intx;
  if (intx === undefined) {
    throw new TargetError({
      kind: "unusable",
      target: `machine ${device.machine.name}`,
      message: `INTx routing on machine ${device.machine.name} is not known; use pc`,
    });
  }
  if (!Number.isInteger(device.pin) || device.pin < 1 || device.pin > PINS) {
    throw new RangeError(`Invalid interrupt pin: ${device.pin}, expected 1 (INTA#) to ${PINS}`);
  }
  const router = new PciFunction(qtest, { bus: 0, ...intx.router });
  const packed = intx.routes.reduceRight((v, line) => v * 256 + line, 0);
  router.write({ offset: intx.offset, width: 4 }, packed);
  qtest.interceptIrqIn(intx.interceptPath);
  const pirq = (device.slot - 1 + device.pin - 1 + PINS) % PINS;
  return intx.routes[pirq] as number;
}
