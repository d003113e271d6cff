/**
 * Seed quirks on the misc queue: the unused-page scan (D-04), requests
 * handled in the interrupt (D-05), dropped bad requests (D-06), cmd and param
 * read raw (D-07) and through an unsigned long (D-08), and the DONE chunk's
 * bmap_len (D-16).
 *
 * @module
 */

import { decodeStruct } from "../../spec/mod.ts";
import { planReply } from "../bitmap_plan.ts";
import type { DriverSeamOverride } from "../driver/seams.ts";
import type { QuirkId } from "../quirks.ts";
import { scanUnusedPages } from "../unused_scan.ts";

/** Overrides of the misc queue quirks. */
export const MISC_QUEUE_QUIRKS: Readonly<Partial<Record<QuirkId, DriverSeamOverride>>> = {
  "D-04": (vb) => ({
    unusedPages: () => (chunk) =>
      scanUnusedPages(vb.guest.alloc, chunk.startPfn, chunk.scanEnd, { asPosted: true }),
  }),
  // virtballoon_handle_misc runs in the interrupt callback and blocks in tell_host
  "D-05": () => ({ miscContext: () => () => "interrupt" }),
  "D-06": () => ({
    repostsRequest: (base) => (outcome) => outcome === "answered" && base(outcome),
  }),
  "D-07": (vb) => ({
    readRequest: () => (raw) => {
      const order = vb.transport.guestEndian === "le" ? "legacy-le" : "legacy-be";
      const req = decodeStruct("balloon_req_hdr", raw, { order, raw: true });
      return { cmd: req["cmd"] as number, param: req["param"] as bigint };
    },
  }),
  "D-08": (vb) => ({
    readRequest: (base) => (raw) => {
      const req = base(raw);
      return vb.abi.bitsPerLong === 32 ? { ...req, param: req.param & 0xffffffffn } : req;
    },
  }),
  "D-16": () => ({
    replyChunks: () => (maxPfn, nrBitmaps) => planReply(maxPfn, nrBitmaps, new Set(["D-16"])),
  }),
};
