/**
 * Device cases of MISC_VQ (R-17a, R-20, R-21).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { deviceCase } from "../define.ts";
import { dirtyLogFirst, miscRequest, repliesUsed } from "../../checks/device/misc.ts";
import { DEV_MISC } from "../../scenarios/device.ts";

/** Written device cases of this family. */
export const DEVICE_MISC_CASES: readonly CaseDef[] = [
  deviceCase({
    id: "device.misc.request",
    title: "A host request fills the 16-byte buffer and is used with length 16",
    scenario: DEV_MISC,
    check: miscRequest,
    rules: ["R-17a"],
  }),
  deviceCase({
    id: "device.misc.dirty-log",
    title: "Dirty logging starts before the request is issued",
    scenario: DEV_MISC,
    check: dirtyLogFirst,
    rules: ["R-20"],
  }),
  deviceCase({
    id: "device.misc.replies-used",
    title: "Reply chunks are used as they arrive",
    scenario: DEV_MISC,
    check: repliesUsed,
    rules: ["R-21", "R-16"],
  }),
];
