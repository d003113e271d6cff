/**
 * Every driver check, by id. The checks themselves live in `driver/`, one
 * file per rule family: `inflate_deflate.ts` (PFN arrays, MUST_TELL_HOST,
 * the balloon set), `config_actual.ts`, `oom.ts`, `stats.ts`, `bitmap.ts`,
 * `misc.ts`, `init_features.ts`, `ring.ts`, `ring_order.ts`, `lifecycle.ts`, and the standard
 * profile's `free_page_hint.ts`, `page_poison.ts`, `page_reporting.ts`.
 *
 * @module
 */

import type { DriverCheckDef } from "./define.ts";
import { checksOf, registry } from "./define.ts";
import * as bitmap from "./driver/bitmap.ts";
import * as configActual from "./driver/config_actual.ts";
import * as inflateDeflate from "./driver/inflate_deflate.ts";
import * as initFeatures from "./driver/init_features.ts";
import * as lifecycle from "./driver/lifecycle.ts";
import * as misc from "./driver/misc.ts";
import * as oom from "./driver/oom.ts";
import * as ring from "./driver/ring.ts";
import * as ringOrder from "./driver/ring_order.ts";
import * as stats from "./driver/stats.ts";
import * as freePageHint from "./driver/free_page_hint.ts";
import * as pagePoison from "./driver/page_poison.ts";
import * as pageReporting from "./driver/page_reporting.ts";
import * as standardConfig from "./driver/standard_config.ts";

/** A driver check of any parameter type (see {@link DriverCheckDef}). */
export type DriverCheck = DriverCheckDef<never>;

/** Every driver check, by id. */
export const DRIVER_CHECKS: Readonly<Record<string, DriverCheck>> = registry(
  [
    inflateDeflate,
    configActual,
    oom,
    stats,
    bitmap,
    misc,
    initFeatures,
    ring,
    ringOrder,
    lifecycle,
    freePageHint,
    pagePoison,
    pageReporting,
    standardConfig,
  ].flatMap((m) => checksOf<DriverCheck>(m)),
);
