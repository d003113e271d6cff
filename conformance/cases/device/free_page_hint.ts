/**
 * Device cases of free page hinting (B48, B49, B51, B52, B53, G31a, S-09,
 * S-10), profile virtio-1.x.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { deviceCase } from "../define.ts";
import {
  buffersUsed,
  hintDone,
  hintMalformedIgnored,
  hintNewIdPerRound,
  hintStaleIgnored,
  hintTaken,
  hintUnchangedAfterDone,
} from "../../checks/device/free_page_hint.ts";
import { readableNotWritten } from "../../checks/device/ring_writes.ts";
import {
  DEV_V1X_HINT,
  DEV_V1X_HINT_LEGACY_BE,
  DEV_V1X_HINT_MALFORMED,
  DEV_V1X_HINT_STALE,
} from "../../scenarios/v1x_device.ts";

/** Written device cases of this family. */
export const DEVICE_FREE_PAGE_HINT_CASES: readonly CaseDef[] = [
  deviceCase({
    id: "device.hint.new-id-per-round",
    title: "A hint round the driver has not stopped is followed by one with a new command id",
    scenario: DEV_V1X_HINT,
    check: hintNewIdPerRound,
    rules: ["B48"],
  }),
  deviceCase({
    id: "device.hint.done",
    title: "free_page_hint_cmd_id reads DONE once the host no longer needs the hints",
    scenario: DEV_V1X_HINT,
    check: hintDone,
    rules: ["B52"],
  }),
  deviceCase({
    id: "device.hint.used",
    title: "Every free_page_vq buffer is used, with length 0",
    scenario: DEV_V1X_HINT,
    check: buffersUsed,
    rules: ["S-09"],
    params: { labels: ["start-1", "hint-1", "start-2", "hint-2", "stop-2"] },
  }),
  deviceCase({
    id: "device.hint.unchanged-after-done",
    title: "Hinted pages the guest reuses after DONE are not changed by the device",
    scenario: DEV_V1X_HINT,
    check: hintUnchangedAfterDone,
    rules: ["B51"],
    params: { label: "after-done" },
  }),
  deviceCase({
    id: "device.hint.stale-id-ignored",
    title: "Pages sent under a command id the host never issued are not taken as hints",
    scenario: DEV_V1X_HINT_STALE,
    check: hintStaleIgnored,
    rules: ["B49"],
    params: { stale: "hint-stale" },
  }),
  deviceCase({
    id: "device.hint.bad-cmd-length",
    title: "An 8-byte command id buffer starts no round, is used, and the next round works",
    scenario: DEV_V1X_HINT_MALFORMED,
    check: hintMalformedIgnored,
    rules: ["S-10"],
    params: { bad: "long-cmd", after: "hint-after-long", good: "hint" },
  }),
  deviceCase({
    id: "device.hint.legacy-be.cmd-id",
    title: "Over the legacy interface a big-endian guest's command id is read in its byte order",
    scenario: DEV_V1X_HINT_LEGACY_BE,
    check: hintTaken,
    rules: ["B53"],
    params: { label: "hint" },
  }),
  deviceCase({
    id: "device.hint.readable-not-written",
    title: "The device writes nothing into the command-id buffers of hint rounds",
    scenario: DEV_V1X_HINT,
    check: readableNotWritten,
    rules: ["G31a"],
  }),
];
