/**
 * Deno.bench: inflate and deflate 1 GiB of a 2 GiB guest through the whole
 * stack (allocator, driver, split rings in guest memory, device decode, host
 * accounting), PFN arrays against bitmaps. `deno task bench:seed` runs the
 * seed's full-size experiment and prints the comparison table.
 *
 * @module
 */

import { BalloonDriver, Testbed } from "../impl/mod.ts";

const GIB = 262_144;
const PFN_OFFER = BalloonDriver.implemented("v3").filter((f) => f !== "PAGE_BITMAP");

function cycle(bitmap: boolean): void {
  const tb = new Testbed({ pages: 2 * GIB, log: false, ...(bitmap ? {} : { offer: PFN_OFFER }) });
  if (!tb.probe()) throw new Error("probe failed");
  for (const target of [GIB, 0]) {
    tb.setTarget(target);
    const actual: number = tb.device.actual;
    if (actual !== target) throw new Error(`the balloon stopped at ${actual}, target ${target}`);
  }
}

Deno.bench(
  "inflate + deflate 1 GiB, PFN arrays",
  { group: "balloon 1 GiB", baseline: true },
  () => {
    cycle(false);
  },
);

Deno.bench("inflate + deflate 1 GiB, bitmaps", { group: "balloon 1 GiB" }, () => {
  cycle(true);
});
