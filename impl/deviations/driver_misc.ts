/**
 * Driver deviations on the misc queue (R-04, R-17b, R-18, R-19).
 *
 * @module
 */

import { enumValue } from "../../spec/mod.ts";
import type { DriverDeviation } from "../deviations.ts";
import type { DriverSeamOverride } from "../driver/seams.ts";
import { GuestMemory } from "../memory.ts";

const FLAG_CONT = enumValue("balloon_flag", "BALLOON_FLAG_CONT");
const FLAG_DONE = enumValue("balloon_flag", "BALLOON_FLAG_DONE");

/** Overrides of the misc queue deviations. */
export const MISC_DEVIATIONS: Readonly<Partial<Record<DriverDeviation, DriverSeamOverride>>> = {
  "misc-no-repost": () => ({
    repostsRequest: (base) => (outcome) => outcome !== "answered" && base(outcome),
  }),
  "misc-no-done": () => ({
    replyFields: (base) => (chunk, request) => ({ ...base(chunk, request), flag: FLAG_CONT }),
  }),
  "misc-done-first": () => ({
    // the first chunk of a reply starts at PFN 0
    replyFields: (base) => (chunk, request) => ({
      ...base(chunk, request),
      flag: chunk.startPfn === 0 ? FLAG_DONE : FLAG_CONT,
    }),
  }),
  "misc-wrong-req-id": () => ({
    replyFields: (base) => (chunk, request) => ({
      ...base(chunk, request),
      req_id: request.param + 1n,
    }),
  }),
  "misc-hint-used-page": (vb) => ({
    unusedPages: (base) => (chunk) => {
      const pages = base(chunk);
      if (chunk.startPfn !== 0) return pages;
      const used = vb.guest.workload.min() ?? GuestMemory.pfnOf(vb.scratch);
      if (used < chunk.scanEnd) pages.add(used);
      return pages;
    },
  }),
  "misc-skip-window": () => ({
    replyChunks: (base) => (maxPfn, nrBitmaps) => base(maxPfn, nrBitmaps).filter((_, k) => k !== 1),
  }),
};
