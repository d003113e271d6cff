/**
 * The seed quirks as seam overrides of the reference driver, one family per
 * file: negotiation, bitmap requests, the misc queue.
 *
 * @module
 */

import type { DriverSeamOverride } from "../driver/seams.ts";
import { type QuirkId, QUIRKS } from "../quirks.ts";
import { seamTable } from "../seams.ts";
import { BITMAP_REQUEST_QUIRKS } from "./bitmap_requests.ts";
import { MISC_QUEUE_QUIRKS } from "./misc_queue.ts";
import { NEGOTIATION_QUIRKS } from "./negotiation.ts";

/** How each quirk changes the reference driver, in catalogue order. */
export const QUIRK_SEAMS: Readonly<Record<QuirkId, DriverSeamOverride>> = seamTable(
  "quirk",
  Object.keys(QUIRKS) as QuirkId[],
  [NEGOTIATION_QUIRKS, BITMAP_REQUEST_QUIRKS, MISC_QUEUE_QUIRKS],
);
