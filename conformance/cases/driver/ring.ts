/**
 * Driver cases of ring use: requests larger than the ring, descriptor
 * order, indirect descriptors without INDIRECT_DESC, the order of the
 * avail ring's writes.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import { actualEqualsBalloon } from "../../checks/driver/config_actual.ts";
import { ringLegal, settles } from "../../checks/driver/ring.ts";
import { availEntryBeforeIdx } from "../../checks/driver/ring_order.ts";
import { DRV_BITMAP_SMALL_RING, DRV_STATS } from "../../scenarios/driver.ts";

/** Written driver cases of this family. */
export const RING_CASES: readonly CaseDef[] = [
  driverCase({
    id: "ring.small.settles",
    title: "A request larger than the ring neither hangs nor spins",
    scenario: DRV_BITMAP_SMALL_RING,
    check: settles,
    rules: ["R-14"],
  }),
  driverCase({
    id: "ring.small.actual",
    title: "Through a small ring the balloon still reaches the target",
    scenario: DRV_BITMAP_SMALL_RING,
    check: actualEqualsBalloon,
    rules: ["R-06"],
  }),
  driverCase({
    id: "ring.chains.writable-after-readable",
    title: "Device-writable descriptors come after device-readable ones",
    scenario: DRV_STATS,
    check: ringLegal,
    rules: ["G29"],
  }),
  driverCase({
    id: "ring.chains.no-indirect-unnegotiated",
    title: "No indirect descriptor without INDIRECT_DESC",
    scenario: DRV_BITMAP_SMALL_RING,
    check: ringLegal,
    rules: ["G34"],
  }),
  driverCase({
    id: "ring.avail.entry-before-idx",
    title: "Each avail ring entry is written before the avail.idx update that publishes it",
    scenario: DRV_STATS,
    check: availEntryBeforeIdx,
    rules: ["G53"],
  }),
];
