/**
 * The case table: every case of profile v3, assembled from the family files
 * in `driver/` and `device/` (written rows for the ordering rules, generated
 * rows from the spec tables), and lookups over it.
 *
 * @module
 */

import { type Level, rule } from "../../spec/mod.ts";
import type { CaseDef } from "../model/types.ts";
import { BITMAP_CASES, BITMAP_HEADER_CASES } from "./driver/bitmap.ts";
import { CONFIG_ACTUAL_CASES } from "./driver/config_actual.ts";
import { INFLATE_DEFLATE_CASES } from "./driver/inflate_deflate.ts";
import { INIT_FEATURES_CASES, NEGOTIATION_CASES } from "./driver/init_features.ts";
import { LIFECYCLE_CASES } from "./driver/lifecycle.ts";
import { MISC_CASES } from "./driver/misc.ts";
import { OOM_CASES } from "./driver/oom.ts";
import { RING_CASES } from "./driver/ring.ts";
import { STATS_CASES } from "./driver/stats.ts";
import { DEVICE_CONFIG_CASES } from "./device/config.ts";
import { DEVICE_INIT_FEATURES_CASES, DEVICE_NEGOTIATION_CASES } from "./device/init_features.ts";
import { DEVICE_MISC_CASES } from "./device/misc.ts";
import { DEVICE_BAD_BITMAP_CASES, DEVICE_REQUEST_CASES } from "./device/requests.ts";
import { DEVICE_STATS_CASES } from "./device/stats.ts";

/** Every case of profile v3. */
export const CASES: readonly CaseDef[] = [
  ...INFLATE_DEFLATE_CASES,
  ...CONFIG_ACTUAL_CASES,
  ...BITMAP_CASES,
  ...BITMAP_HEADER_CASES,
  ...RING_CASES,
  ...OOM_CASES,
  ...STATS_CASES,
  ...MISC_CASES,
  ...LIFECYCLE_CASES,
  ...INIT_FEATURES_CASES,
  ...NEGOTIATION_CASES,
  ...DEVICE_REQUEST_CASES,
  ...DEVICE_BAD_BITMAP_CASES,
  ...DEVICE_STATS_CASES,
  ...DEVICE_MISC_CASES,
  ...DEVICE_INIT_FEATURES_CASES,
  ...DEVICE_NEGOTIATION_CASES,
  ...DEVICE_CONFIG_CASES,
];

const LEVEL_ORDER: Level[] = ["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY"];

/** The strictest level among a case's rules (MUST and MUST NOT are equally strict). */
export function caseLevel(k: CaseDef): Level {
  const levels = k.rules.map((r) => rule(r).level);
  return levels.sort((a, b) => LEVEL_ORDER.indexOf(a) - LEVEL_ORDER.indexOf(b))[0] ?? "MUST";
}

/** A case by id. */
export function caseById(id: string): CaseDef | undefined {
  return CASES.find((k) => k.id === id);
}
