/**
 * Device cases of ring service: chains in flight together and across ring
 * wrap, and used-buffer notifications as the driver asks for them, without
 * and with EVENT_IDX (S-05, G43a, G43b, G44a, G44b).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { deviceCase } from "../define.ts";
import { allApplied, notifiedWhenAsked, quietWhenSuppressed } from "../../checks/device/rings.ts";
import {
  DEV_NOTIFY_EVENT_IDX,
  DEV_NOTIFY_FLAGS,
  DEV_RING_IN_FLIGHT,
  DEV_RING_WRAP,
} from "../../scenarios/device_rings.ts";

/** Written device cases of this family. */
export const DEVICE_RING_CASES: readonly CaseDef[] = [
  deviceCase({
    id: "device.ring.several-in-flight",
    title: "Several chains made available before one notification are all applied and used",
    scenario: DEV_RING_IN_FLIGHT,
    check: allApplied,
    rules: ["S-05"],
  }),
  deviceCase({
    id: "device.ring.wrap",
    title: "Chains keep being applied and used after the ring wraps",
    scenario: DEV_RING_WRAP,
    check: allApplied,
    rules: ["S-05"],
  }),
  deviceCase({
    id: "device.notify.flags.sent",
    title: "Without EVENT_IDX, a used buffer is notified while avail.flags is 0",
    scenario: DEV_NOTIFY_FLAGS,
    check: notifiedWhenAsked,
    rules: ["G43a"],
    params: { label: "loud" },
  }),
  deviceCase({
    id: "device.notify.flags.suppressed",
    title: "Without EVENT_IDX, no notification while avail.flags is NO_INTERRUPT",
    scenario: DEV_NOTIFY_FLAGS,
    check: quietWhenSuppressed,
    rules: ["G43b"],
    params: { label: "quiet" },
  }),
  deviceCase({
    id: "device.notify.event-idx.sent",
    title: "With EVENT_IDX, a used buffer is notified when used idx reaches used_event",
    scenario: DEV_NOTIFY_EVENT_IDX,
    check: notifiedWhenAsked,
    rules: ["G44a"],
    params: { label: "loud" },
    needs: ["EVENT_IDX"],
  }),
  deviceCase({
    id: "device.notify.event-idx.suppressed",
    title: "With EVENT_IDX, no notification while used_event lies behind",
    scenario: DEV_NOTIFY_EVENT_IDX,
    check: quietWhenSuppressed,
    rules: ["G44b"],
    params: { label: "quiet" },
    needs: ["EVENT_IDX"],
  }),
];
