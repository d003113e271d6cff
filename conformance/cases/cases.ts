/**
 * The case table: every case of both profiles, assembled from the family
 * files in `driver/` and `device/` (written rows for the ordering rules,
 * generated rows from the spec tables), and lookups over it. The standard
 * profile (virtio-1.x) shares the base balloon's families — each v3 family
 * holds the standard counterparts of its cases (`standard_base.ts`) and the
 * standard profile's own cases of that family — and adds three of its own:
 * free page hinting, page poison and free page reporting.
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
import { DEVICE_BAD_BITMAP_CASES, DEVICE_BITMAP_CASES } from "./device/bitmap.ts";
import { DEVICE_CONFIG_CASES } from "./device/config.ts";
import { DEVICE_INFLATE_DEFLATE_CASES } from "./device/inflate_deflate.ts";
import { DEVICE_INIT_FEATURES_CASES, DEVICE_NEGOTIATION_CASES } from "./device/init_features.ts";
import { DEVICE_MISC_CASES } from "./device/misc.ts";
import { DEVICE_RING_CASES } from "./device/ring.ts";
import { DEVICE_STATS_CASES } from "./device/stats.ts";
import { FREE_PAGE_HINT_CASES } from "./driver/free_page_hint.ts";
import { PAGE_POISON_CASES } from "./driver/page_poison.ts";
import { PAGE_REPORTING_CASES } from "./driver/page_reporting.ts";
import {
  V1X_CONFIG_RING_CASES,
  V1X_INIT_FEATURES_CASES,
  V1X_NEGOTIATION_CASES,
} from "./driver/v1x_init_features.ts";
import { DEVICE_FREE_PAGE_HINT_CASES } from "./device/free_page_hint.ts";
import { DEVICE_PAGE_REPORTING_CASES } from "./device/page_reporting.ts";
import {
  V1X_DEVICE_INIT_FEATURES_CASES,
  V1X_DEVICE_NEGOTIATION_CASES,
  V1X_DEVICE_QUEUE_CASES,
  V1X_DEVICE_STATS_CASES,
} from "./device/v1x_init_features.ts";
import { standardCounterparts } from "./standard_base.ts";

/** A rule family: its area name, what it covers, and its cases of both roles. */
export interface CaseFamily {
  /** The area name reports group by (the family files are named after it). */
  readonly area: string;
  /** What the family covers, in words. */
  readonly title: string;
  /** Its cases, driver cases first. */
  readonly cases: readonly CaseDef[];
}

/** The families of the base balloon and the seed (v3), in report order. */
const V3_FAMILIES: readonly CaseFamily[] = [
  {
    area: "inflate-deflate",
    title: "inflate and deflate with PFN arrays, MUST_TELL_HOST, the balloon set",
    cases: [...INFLATE_DEFLATE_CASES, ...DEVICE_INFLATE_DEFLATE_CASES],
  },
  {
    area: "bitmap",
    title: "PAGE_BITMAP requests: header fields, chunks, layout, windows",
    cases: [
      ...BITMAP_CASES,
      ...BITMAP_HEADER_CASES,
      ...DEVICE_BITMAP_CASES,
      ...DEVICE_BAD_BITMAP_CASES,
    ],
  },
  {
    area: "config-actual",
    title: "the config space and actual",
    cases: [...CONFIG_ACTUAL_CASES, ...DEVICE_CONFIG_CASES],
  },
  { area: "oom", title: "DEFLATE_ON_OOM", cases: OOM_CASES },
  { area: "stats", title: "the stats queue", cases: [...STATS_CASES, ...DEVICE_STATS_CASES] },
  { area: "misc", title: "MISC_VQ", cases: [...MISC_CASES, ...DEVICE_MISC_CASES] },
  {
    area: "init-features",
    title: "initialisation and feature negotiation",
    cases: [
      ...INIT_FEATURES_CASES,
      ...NEGOTIATION_CASES,
      ...DEVICE_INIT_FEATURES_CASES,
      ...DEVICE_NEGOTIATION_CASES,
    ],
  },
  { area: "ring", title: "ring use", cases: [...RING_CASES, ...DEVICE_RING_CASES] },
  { area: "lifecycle", title: "remove, freeze/restore, migration", cases: LIFECYCLE_CASES },
];

/** The standard profile's own cases of the shared families, by area. */
const V1X_OF_FAMILY: Readonly<Record<string, readonly CaseDef[]>> = {
  "config-actual": V1X_CONFIG_RING_CASES.filter((k) => !k.id.startsWith("v1x.ring.")),
  "stats": V1X_DEVICE_STATS_CASES,
  "init-features": [
    ...V1X_INIT_FEATURES_CASES,
    ...V1X_NEGOTIATION_CASES,
    ...V1X_DEVICE_INIT_FEATURES_CASES,
    ...V1X_DEVICE_QUEUE_CASES,
    ...V1X_DEVICE_NEGOTIATION_CASES,
  ],
  "ring": V1X_CONFIG_RING_CASES.filter((k) => k.id.startsWith("v1x.ring.")),
};

/**
 * The rule families in report order. A case's area is its family: the file
 * it is written in (`driver/<area>.ts`, `device/<area>.ts`), whatever the
 * first segment of its id.
 */
export const CASE_FAMILIES: readonly CaseFamily[] = [
  ...V3_FAMILIES.map((f) => ({
    ...f,
    cases: [...f.cases, ...standardCounterparts(f.cases), ...(V1X_OF_FAMILY[f.area] ?? [])],
  })),
  {
    area: "free-page-hint",
    title: "FREE_PAGE_HINT (virtio-1.x): command ids, hinted pages, STOP and DONE",
    cases: [...FREE_PAGE_HINT_CASES, ...DEVICE_FREE_PAGE_HINT_CASES],
  },
  {
    area: "page-poison",
    title: "PAGE_POISON (virtio-1.x): poison_val, poisoned deflated pages",
    cases: PAGE_POISON_CASES,
  },
  {
    area: "page-reporting",
    title: "PAGE_REPORTING (virtio-1.x): reports, their pages and their buffers",
    cases: [...PAGE_REPORTING_CASES, ...DEVICE_PAGE_REPORTING_CASES],
  },
];

/** Every case of both profiles (a case's `profile` says which). */
export const CASES: readonly CaseDef[] = CASE_FAMILIES.flatMap((f) =>
  f.cases.map((k) => ({ ...k, area: f.area }))
);

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
