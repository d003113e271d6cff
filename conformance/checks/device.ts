/**
 * Every device check, by id. The checks themselves live in `device/`, one
 * file per rule family: `inflate_deflate.ts` (inflate/deflate applied or rejected,
 * used lengths), `stats.ts`, `misc.ts`, `init_features.ts`, `config.ts`,
 * `rings.ts`, `ring_writes.ts` (judged from the device's memory writes), and
 * the standard profile's `free_page_hint.ts` and `page_reporting.ts`.
 *
 * @module
 */

import type { DeviceCheckDef } from "./define.ts";
import { checksOf, registry } from "./define.ts";
import * as config from "./device/config.ts";
import * as initFeatures from "./device/init_features.ts";
import * as misc from "./device/misc.ts";
import * as inflateDeflate from "./device/inflate_deflate.ts";
import * as rings from "./device/rings.ts";
import * as ringWrites from "./device/ring_writes.ts";
import * as stats from "./device/stats.ts";
import * as freePageHint from "./device/free_page_hint.ts";
import * as pageReporting from "./device/page_reporting.ts";

/** A device check of any parameter type (see {@link DeviceCheckDef}). */
export type DeviceCheck = DeviceCheckDef<never>;

/** Every device check, by id. */
export const DEVICE_CHECKS: Readonly<Record<string, DeviceCheck>> = registry(
  [
    inflateDeflate,
    stats,
    misc,
    initFeatures,
    config,
    rings,
    ringWrites,
    freePageHint,
    pageReporting,
  ]
    .flatMap((m) => checksOf<DeviceCheck>(m)),
);
