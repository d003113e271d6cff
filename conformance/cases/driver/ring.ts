/**
 * Driver cases of ring use: requests larger than the ring, descriptor
 * order, indirect descriptors without INDIRECT_DESC, the order of the
 * avail ring's writes, and what the suite's device finds reading a driver's
 * own rings — loops, nested indirect tables, INDIRECT with NEXT, chains
 * longer than the queue, the avail index going back, avail flags out of
 * range, notifications left out.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import { actualEqualsBalloon } from "../../checks/driver/config_actual.ts";
import { ringKept, ringLegal, settles } from "../../checks/driver/ring.ts";
import { availEntryBeforeIdx } from "../../checks/driver/ring_order.ts";
import {
  DRV_BITMAP_SMALL_RING,
  DRV_BITMAP_SMALL_RING_INDIRECT,
  DRV_RING_SMALL,
  DRV_RING_SMALL_NO_EVENT_IDX,
  DRV_STATS,
} from "../../scenarios/driver.ts";

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
    id: "ring.chains.no-loop",
    title: "No chain loops back on itself",
    scenario: DRV_RING_SMALL,
    check: ringKept,
    rules: ["G32"],
  }),
  driverCase({
    id: "ring.chains.no-nested-indirect",
    title: "No indirect descriptor inside an indirect table",
    scenario: DRV_RING_SMALL,
    check: ringKept,
    rules: ["G35"],
    needs: ["INDIRECT_DESC"],
  }),
  driverCase({
    id: "ring.chains.indirect-without-next",
    title: "No descriptor has both INDIRECT and NEXT",
    scenario: DRV_RING_SMALL,
    check: ringKept,
    rules: ["G37"],
    needs: ["INDIRECT_DESC"],
  }),
  driverCase({
    id: "ring.chains.queue-size",
    title: "No chain, not even in an indirect table, is longer than the queue size",
    scenario: DRV_BITMAP_SMALL_RING_INDIRECT,
    check: ringKept,
    rules: ["G36"],
  }),
  driverCase({
    id: "ring.avail.idx-no-decrement",
    title: "avail.idx never goes back, also past the queue size",
    scenario: DRV_RING_SMALL,
    check: ringKept,
    rules: ["G40"],
  }),
  driverCase({
    id: "ring.avail.flags",
    title: "Without EVENT_IDX, avail.flags holds no bit but NO_INTERRUPT",
    scenario: DRV_RING_SMALL_NO_EVENT_IDX,
    check: ringKept,
    rules: ["G41a"],
  }),
  driverCase({
    id: "ring.avail.flags.event-idx",
    title: "With EVENT_IDX, avail.flags stays 0",
    scenario: DRV_RING_SMALL,
    check: ringKept,
    rules: ["G41a"],
    needs: ["EVENT_IDX"],
  }),
  driverCase({
    id: "ring.notify.flags",
    title: "Without EVENT_IDX, every chain made available while used.flags is 0 is notified",
    scenario: DRV_RING_SMALL_NO_EVENT_IDX,
    check: ringKept,
    rules: ["G49a"],
  }),
  driverCase({
    id: "ring.notify.event-idx",
    title: "With EVENT_IDX, a chain placed at avail_event is notified",
    scenario: DRV_RING_SMALL,
    check: ringKept,
    rules: ["G50a"],
    needs: ["EVENT_IDX"],
  }),
  driverCase({
    id: "ring.avail.entry-before-idx",
    title: "Each avail ring entry is written before the avail.idx update that publishes it",
    scenario: DRV_STATS,
    check: availEntryBeforeIdx,
    rules: ["G53"],
  }),
];
