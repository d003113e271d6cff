/**
 * Page poison (VIRTIO_BALLOON_F_PAGE_POISON): the driver tells the device
 * what its free pages hold, `poison_val`, before DRIVER_OK (B55) and never
 * changes it afterwards (B56); pages it deflates or reports hold that value
 * (B54, B59), and a hinted page it gives back before DONE is initialised
 * first (B45).
 *
 * @module
 */

import { fieldOf, type PageSet, writeScalar } from "../../spec/mod.ts";
import type { DriverContext } from "./seams.ts";
import { PAGE } from "./layout.ts";

const POISON_VAL = fieldOf("virtio_balloon_config", "poison_val");

/** A page's worth of a 32-bit value (little-endian, as the guest's memory holds it). */
function pattern(value: number): Uint8Array {
  const b = new Uint8Array(PAGE);
  const v = new DataView(b.buffer);
  for (let i = 0; i < PAGE; i += 4) v.setUint32(i, value >>> 0, true);
  return b;
}

/** Writes a 32-bit value into every byte of every page of a set, as the driver. */
export function fillPages(vb: DriverContext, pages: PageSet, value: number): void {
  const page = pattern(value);
  for (const pfn of pages) vb.guest.mem.write(pfn * PAGE, page, "driver");
}

/** Writes `poison_val` into the config space (little-endian, legacy too: B07). */
export function writePoisonVal(vb: DriverContext, value: number): void {
  const b = new Uint8Array(4);
  writeScalar(new DataView(b.buffer), 0, POISON_VAL.type, "v1", value);
  vb.transport.writeConfig(POISON_VAL.offset, b);
}
