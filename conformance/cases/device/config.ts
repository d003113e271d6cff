/**
 * Device cases of the config space: little-endian for legacy guests (B07),
 * and the host following the driver's `actual` (S-12; legacy: only once its
 * most significant byte is written, B24).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { deviceCase } from "../define.ts";
import { actualAfterMsb, actualTaken, configLe } from "../../checks/device/config.ts";
import { DEV_LEGACY_BE } from "../../scenarios/device.ts";
import { DEV_ACTUAL, DEV_ACTUAL_LEGACY } from "../../scenarios/device_rings.ts";

/** Written device cases of this family. */
export const DEVICE_CONFIG_CASES: readonly CaseDef[] = [
  deviceCase({
    id: "device.legacy.config-le",
    title: "Config space is little-endian for a big-endian legacy guest",
    scenario: DEV_LEGACY_BE,
    check: configLe,
    rules: ["B07"],
    params: { target: 0x1020304 },
  }),
  deviceCase({
    id: "device.actual.taken",
    title: "The host takes actual as the driver writes it, before and after num_pages changes",
    scenario: DEV_ACTUAL,
    check: actualTaken,
    rules: ["S-12"],
  }),
  deviceCase({
    id: "device.legacy.actual-msb",
    title: "Legacy: actual written a byte at a time is taken only once its last byte is in",
    scenario: DEV_ACTUAL_LEGACY,
    check: actualAfterMsb,
    rules: ["B24"],
  }),
];
