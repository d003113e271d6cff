/**
 * Device cases of the config space (B07).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { deviceCase } from "../define.ts";
import { configLe } from "../../checks/device/config.ts";
import { DEV_LEGACY_BE } from "../../scenarios/device.ts";

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
];
