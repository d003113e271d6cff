/**
 * Device cases of the stats queue (B33, B34).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { deviceCase } from "../define.ts";
import { statsAccepted } from "../../checks/device/stats.ts";
import { DEV_STATS } from "../../scenarios/device.ts";

/** Written device cases of this family. */
export const DEVICE_STATS_CASES: readonly CaseDef[] = [
  deviceCase({
    id: "device.stats.unknown-tag",
    title: "A stats buffer with an unknown tag is accepted; the tag is ignored",
    scenario: DEV_STATS,
    check: statsAccepted,
    rules: ["B33"],
    params: { label: "stats-unknown" },
  }),
  deviceCase({
    id: "device.stats.any-order",
    title: "Stats entries are accepted in any order",
    scenario: DEV_STATS,
    check: statsAccepted,
    rules: ["B34"],
    params: { label: "stats-reversed" },
  }),
];
