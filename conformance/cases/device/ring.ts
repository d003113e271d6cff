/**
 * Device cases of ring service: chains in flight together and across ring
 * wrap, used-buffer notifications as the driver asks for them, without and
 * with EVENT_IDX (S-05, G43a, G43b, G44a, G44b), the WRITE flag of an
 * indirect descriptor ignored (G38), and, judged from the device's own
 * memory writes (observation `device-writes`: a device in another process),
 * no write into device-readable buffers or descriptor tables (G31a), each
 * used element's len before the used.idx update that publishes it (G45)
 * and the values of used.flags (G51a).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { deviceCase } from "../define.ts";
import { applied } from "../../checks/device/inflate_deflate.ts";
import { allApplied, notifiedWhenAsked, quietWhenSuppressed } from "../../checks/device/rings.ts";
import {
  readableNotWritten,
  usedFlagsValues,
  usedLenBeforeIdx,
} from "../../checks/device/ring_writes.ts";
import { DEV_BITMAP, DEV_MISC, DEV_PFN, DEV_STATS } from "../../scenarios/device.ts";
import {
  DEV_NOTIFY_EVENT_IDX,
  DEV_NOTIFY_FLAGS,
  DEV_RING_IN_FLIGHT,
  DEV_RING_INDIRECT,
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
  deviceCase({
    id: "device.ring.indirect-write-flag",
    title: "VIRTQ_DESC_F_WRITE on a descriptor pointing to an indirect table is ignored",
    scenario: DEV_RING_INDIRECT,
    check: applied,
    rules: ["G38"],
    params: { label: "indirect-write-flag" },
  }),
  deviceCase({
    id: "device.ring.readable-not-written.pfn",
    title:
      "The device writes nothing into the PFN arrays of inflates and deflates or into a descriptor table",
    scenario: DEV_PFN,
    check: readableNotWritten,
    rules: ["G31a"],
  }),
  deviceCase({
    id: "device.ring.readable-not-written.indirect",
    title: "The device writes nothing into PFN arrays in indirect tables or into the tables",
    scenario: DEV_RING_INDIRECT,
    check: readableNotWritten,
    rules: ["G31a"],
  }),
  deviceCase({
    id: "device.ring.readable-not-written.stats",
    title: "The device writes nothing into the stats buffers it holds and returns",
    scenario: DEV_STATS,
    check: readableNotWritten,
    rules: ["G31a"],
  }),
  deviceCase({
    id: "device.ring.readable-not-written.bitmap",
    title: "The device writes nothing into bitmap requests (headers and bitmaps)",
    scenario: DEV_BITMAP,
    check: readableNotWritten,
    rules: ["G31a"],
  }),
  deviceCase({
    id: "device.ring.readable-not-written.misc",
    title: "The device writes its misc request buffer and nothing of the driver's replies",
    scenario: DEV_MISC,
    check: readableNotWritten,
    rules: ["G31a"],
  }),
  deviceCase({
    id: "device.ring.used-len-before-idx",
    title: "Each used element's len is written before the used.idx update that publishes it",
    scenario: DEV_RING_WRAP,
    check: usedLenBeforeIdx,
    rules: ["G45"],
  }),
  deviceCase({
    id: "device.ring.used-flags",
    title: "Without EVENT_IDX, used.flags is only ever 0 or VIRTQ_USED_F_NO_NOTIFY",
    scenario: DEV_NOTIFY_FLAGS,
    check: usedFlagsValues,
    rules: ["G51a"],
  }),
  deviceCase({
    id: "device.ring.used-flags.event-idx",
    title: "With EVENT_IDX, used.flags is only ever 0",
    scenario: DEV_NOTIFY_EVENT_IDX,
    check: usedFlagsValues,
    rules: ["G51a"],
    needs: ["EVENT_IDX"],
  }),
];
