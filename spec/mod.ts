/**
 * The virtio memory balloon protocol as data: feature bits of both profiles
 * (`v3`, the 2016 seed proposal, and `virtio-1.x`, the standard), struct and
 * payload layouts, constants, enums, queue-index rules, the normative rule
 * table and the seed's defects, plus the codecs those tables drive.
 *
 * Nothing else in the package writes a protocol number, offset or rule text.
 *
 * @example
 * ```ts
 * import { decodeBitmapRequest, encodeBitmapRequest, PageSet, concatChain } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const pages = PageSet.of([4096, 4100]);
 * const chain = encodeBitmapRequest({ pages, startPfn: 4096, bmapLen: 8, order: "v1" });
 * const back = decodeBitmapRequest(concatChain(chain), { order: "v1", context: "inflate" });
 * assert.ok(back.pages.equals(pages));
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./wire.ts";
export * from "./features.ts";
export * from "./constants.ts";
export * from "./structs.ts";
export * from "./payloads.ts";
export * from "./queues.ts";
export * from "./conditions.ts";
export * from "./defects.ts";
export * from "./rules.ts";
export * from "./errors.ts";
export * from "./page_set.ts";
export * from "./codec.ts";
export * from "./pfn.ts";
export * from "./bitmap.ts";
export * from "./bitmap_request.ts";
export * from "./virtio_pci.ts";
