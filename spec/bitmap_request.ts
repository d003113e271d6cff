/**
 * Whole bitmap requests: a `balloon_bmap_hdr` followed by bitmap chunks in
 * one descriptor chain, read as one byte stream.
 *
 * @module
 */

import {
  BITMAP_PAYLOAD,
  type BitmapLayout,
  bitPosition,
  INTENDED_BITMAP_LAYOUT,
} from "./payloads.ts";
import { chunkBitmap, decodeBitmapInto, encodeBitmap } from "./bitmap.ts";
import { type BitmapHeader, decodeBitmapHeader, encodeBitmapHeader } from "./codec.ts";
import { constantValue } from "./constants.ts";
import { ProtocolError } from "./errors.ts";
import { PageSet } from "./page_set.ts";
import { fieldOf, type StructContext, structSize } from "./structs.ts";
import type { ByteOrder } from "./wire.ts";

/** Size of the bitmap header in bytes (from the layout table). */
export const BMAP_HDR_SIZE: number = structSize("balloon_bmap_hdr");

/** What goes into one bitmap request. */
export interface BitmapRequestInit {
  /** Pages to report; only those inside the window are encoded. */
  readonly pages: PageSet;
  /** PFN of bit 0. */
  readonly startPfn: number;
  /** Bitmap length in bytes. */
  readonly bmapLen: number;
  /** Header fields other than start_pfn/bmap_len (defaults: 0, page_shift 12). */
  readonly header?: Partial<Omit<BitmapHeader, "start_pfn" | "bmap_len">>;
  /** Byte order. */
  readonly order: ByteOrder;
  /** Bitmap layout (intended unless reproducing D-13). */
  readonly layout?: BitmapLayout;
}

/**
 * Encodes a bitmap request as the buffers of its chain: the header, then
 * chunks of at most BALLOON_BMAP_SIZE bytes.
 *
 * @example
 * ```ts
 * import { encodeBitmapRequest } from "./bitmap_request.ts";
 * import { PageSet } from "./page_set.ts";
 * import assert from "node:assert/strict";
 * const pages = new PageSet();
 * pages.addRange(4096, 256);
 * const chain = encodeBitmapRequest({ pages, startPfn: 4096, bmapLen: 32, order: "v1" });
 * assert.deepEqual(chain.map((b) => b.length), [32, 32]);
 * ```
 */
export function encodeBitmapRequest(init: BitmapRequestInit): Uint8Array[] {
  const header: BitmapHeader = {
    cmd: 0,
    page_shift: constantValue("VIRTIO_BALLOON_PFN_SHIFT"),
    flag: 0,
    reserved: 0,
    req_id: 0n,
    ...init.header,
    start_pfn: BigInt(init.startPfn),
    bmap_len: BigInt(init.bmapLen),
  };
  const bitmap = encodeBitmap(init.pages, init.startPfn, init.bmapLen, init.layout);
  return [
    encodeBitmapHeader(header, init.order),
    ...chunkBitmap(bitmap, constantValue(BITMAP_PAYLOAD.chunkBytes)),
  ];
}

/** Options of {@link decodeBitmapRequest}. */
export interface BitmapDecodeOptions {
  /** Byte order. */
  readonly order: ByteOrder;
  /** Queue the request came on (selects the header checks). */
  readonly context: Extract<StructContext, "inflate" | "deflate" | "misc-reply">;
  /** Layout to read the bitmap with (intended by default). */
  readonly layout?: BitmapLayout;
  /** Guest RAM in 4 KiB PFNs: start_pfn and set bits must lie below it (S-02). */
  readonly guestPfns?: number;
  /** Skip header legal-value checks (length checks still apply). */
  readonly rawHeader?: boolean;
}

/** A decoded bitmap request. */
export interface BitmapRequest {
  /** The header. */
  readonly header: BitmapHeader;
  /** The PFNs whose bits are set. */
  readonly pages: PageSet;
  /** Bytes of the stream after header + bmap_len (ignored, reported for diagnostics). */
  readonly trailingBytes: number;
}

function bmapLenError(value: bigint, expected: string, rule: string): ProtocolError {
  return new ProtocolError({
    code: "length-mismatch",
    struct: "balloon_bmap_hdr",
    field: "bmap_len",
    offset: fieldOf("balloon_bmap_hdr", "bmap_len").offset,
    value: String(value),
    expected,
    rule,
  });
}

/**
 * Decodes a bitmap request from the concatenated bytes of its chain. Never
 * reads past `stream`; every problem is a {@link ProtocolError} naming the
 * field, byte offset, value, expectation and rule.
 */
export function decodeBitmapRequest(
  stream: Uint8Array,
  options: BitmapDecodeOptions,
): BitmapRequest {
  const header = decodeBitmapHeader(stream, {
    order: options.order,
    context: options.context,
    ...(options.rawHeader ? { raw: true } : {}),
  });
  const follow = stream.length - BMAP_HDR_SIZE;
  if (header.bmap_len > BigInt(follow)) {
    throw bmapLenError(
      header.bmap_len,
      `at most ${follow}, the bytes that follow the header in the chain`,
      "R-16",
    );
  }
  const bmapLen = Number(header.bmap_len);
  const startField = fieldOf("balloon_bmap_hdr", "start_pfn");
  if (header.start_pfn + BigInt(bmapLen) * 8n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ProtocolError({
      code: "out-of-range",
      struct: "balloon_bmap_hdr",
      field: "start_pfn",
      offset: startField.offset,
      value: String(header.start_pfn),
      expected: "a window that ends below 2^53 PFNs",
      rule: "S-02",
    });
  }
  const start = Number(header.start_pfn);
  if (options.guestPfns !== undefined && start >= options.guestPfns) {
    throw new ProtocolError({
      code: "out-of-range",
      struct: "balloon_bmap_hdr",
      field: "start_pfn",
      offset: startField.offset,
      value: String(start),
      expected: `a PFN below ${options.guestPfns} (guest RAM)`,
      rule: "S-02",
    });
  }
  const layout = options.layout ?? INTENDED_BITMAP_LAYOUT;
  const pages = new PageSet();
  decodeBitmapInto(stream.subarray(BMAP_HDR_SIZE, BMAP_HDR_SIZE + bmapLen), start, pages, layout);
  if (options.guestPfns !== undefined) {
    const top = pages.max();
    if (top !== undefined && top >= options.guestPfns) {
      let first = top;
      for (const r of pages.runs()) {
        if (r.start + r.length > options.guestPfns) {
          first = Math.max(r.start, options.guestPfns);
          break;
        }
      }
      const pos = bitPosition(first - start, layout);
      throw new ProtocolError({
        code: "out-of-range",
        struct: BITMAP_PAYLOAD.name,
        field: `bit ${first - start} (PFN ${first})`,
        offset: BMAP_HDR_SIZE + pos.byte,
        value: "set",
        expected: `no bit set at or beyond PFN ${options.guestPfns} (guest RAM)`,
        rule: "S-02",
      });
    }
  }
  return { header, pages, trailingBytes: follow - bmapLen };
}

/** Concatenates the buffers of a chain into one stream (the device's view, R-16). */
export function concatChain(buffers: readonly Uint8Array[]): Uint8Array {
  const n = buffers.reduce((a, b) => a + b.length, 0);
  const out = new Uint8Array(n);
  let off = 0;
  for (const b of buffers) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}
