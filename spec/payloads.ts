/**
 * Variable-length payloads as tables: the PFN array and the bitmap (its bit
 * numbering, chunking and byte layouts, intended and as posted).
 *
 * @module
 */

import type { ConstantName } from "./constants.ts";
import type { ProfileId } from "./types.ts";
import type { WireType } from "./wire.ts";

/** The PFN-array payload of inflateq/deflateq without PAGE_BITMAP. */
export interface PfnArrayDef {
  /** Name used in errors and vectors. */
  readonly name: "pfn_array";
  /** Element wire type. */
  readonly element: WireType;
  /** Constant bounding the entries per request (a driver rule, R-07). */
  readonly maxEntries: ConstantName;
  /** Constant giving the PFN unit. */
  readonly pfnShift: ConstantName;
  /** Meaning. */
  readonly meaning: string;
  /** Rules about it. */
  readonly rules: readonly string[];
  /** Profiles. */
  readonly profiles: readonly ProfileId[];
}

/** The PFN array: one device-readable buffer of virtio32 PFNs. */
export const PFN_ARRAY: PfnArrayDef = {
  name: "pfn_array",
  element: "virtio32",
  maxEntries: "VIRTIO_BALLOON_ARRAY_PFNS_MAX",
  pfnShift: "VIRTIO_BALLOON_PFN_SHIFT",
  meaning:
    "Array of 4 KiB PFNs (guest physical address >> 12); a guest page of PAGE_SIZE contributes PAGE_SIZE/4096 consecutive PFNs",
  rules: ["R-07", "B13", "S-01", "S-02"],
  profiles: ["v3", "virtio-1.x"],
};

/** How bitmap bits map to bytes. */
export interface BitmapLayout {
  /** Short name used in vectors and docs. */
  readonly name: string;
  /** Bytes per word in which bits are numbered (BITS_PER_LONG / 8 as posted; 1 = byte-wise). */
  readonly wordBytes: 1 | 4 | 8;
  /** Byte order of each word. */
  readonly endian: "le" | "be";
  /** bmap_len and start_pfn granularity, in bytes of bitmap (8 intended, BITS_PER_LONG/8 as posted). */
  readonly granularity: 4 | 8;
  /** Meaning. */
  readonly meaning: string;
}

/** The intended layout: bit j is bit j % 8 of byte j / 8, whatever the guest ABI (S-04). */
export const INTENDED_BITMAP_LAYOUT: BitmapLayout = {
  name: "intended",
  wordBytes: 1,
  endian: "le",
  granularity: 8,
  meaning:
    "Little-endian, LSB-first, independent of the guest's word size; bmap_len a multiple of 8",
};

/**
 * The layout the seed's code produces on a guest with the given word size and
 * endianness (D-13): raw `unsigned long[]` words manipulated with `set_bit`.
 *
 * @example
 * ```ts
 * import { asPostedBitmapLayout, bitPosition } from "./payloads.ts";
 * import assert from "node:assert/strict";
 * // a big-endian 64-bit guest puts bit 0 in byte 7
 * assert.deepEqual(bitPosition(0, asPostedBitmapLayout(64, "be")), { byte: 7, bit: 0 });
 * ```
 */
export function asPostedBitmapLayout(bitsPerLong: 32 | 64, endian: "le" | "be"): BitmapLayout {
  const wordBytes = bitsPerLong === 64 ? 8 : 4;
  return {
    name: `as-posted-${bitsPerLong}${endian}`,
    wordBytes,
    endian,
    granularity: wordBytes,
    meaning: `unsigned long[] of a ${bitsPerLong}-bit ${
      endian === "le" ? "little" : "big"
    }-endian guest, rounded to BITS_PER_LONG`,
  };
}

/** Every layout the vectors and docs cover. */
export const BITMAP_LAYOUTS: readonly BitmapLayout[] = [
  INTENDED_BITMAP_LAYOUT,
  asPostedBitmapLayout(64, "le"),
  asPostedBitmapLayout(64, "be"),
  asPostedBitmapLayout(32, "le"),
  asPostedBitmapLayout(32, "be"),
];

/** Byte and bit (0 = LSB) that hold bitmap bit `j` under a layout. */
export function bitPosition(j: number, layout: BitmapLayout): { byte: number; bit: number } {
  const wordBits = layout.wordBytes * 8;
  const word = Math.floor(j / wordBits);
  const within = j % wordBits;
  const byteInWord = layout.endian === "le"
    ? Math.floor(within / 8)
    : layout.wordBytes - 1 - Math.floor(within / 8);
  return { byte: word * layout.wordBytes + byteInWord, bit: within % 8 };
}

/** The bitmap payload of a bitmap request, as facts the docs print. */
export interface BitmapPayloadDef {
  /** Name used in errors. */
  readonly name: "bitmap";
  /** Bit-to-PFN mapping. */
  readonly mapping: string;
  /** Constant giving a chunk's size in bytes. */
  readonly chunkBytes: ConstantName;
  /** Constant giving the most chunks per request. */
  readonly maxChunks: ConstantName;
  /** Constant giving the PFNs per chunk. */
  readonly pfnsPerChunk: ConstantName;
  /** What a set bit means per queue. */
  readonly meaningByQueue: Readonly<Record<"inflateq" | "deflateq" | "miscq", string>>;
  /** Rules about it. */
  readonly rules: readonly string[];
}

/** The bitmap payload that follows a `balloon_bmap_hdr`. */
export const BITMAP_PAYLOAD: BitmapPayloadDef = {
  name: "bitmap",
  mapping:
    "Bit j of the concatenated chunks stands for PFN start_pfn + j; chunk i covers PFNs start_pfn + i * PFNS_PER_BMAP onwards; every chunk is BALLOON_BMAP_SIZE bytes except the last, which ends at bmap_len",
  chunkBytes: "BALLOON_BMAP_SIZE",
  maxChunks: "BALLOON_BMAP_COUNT",
  pfnsPerChunk: "PFNS_PER_BMAP",
  meaningByQueue: {
    inflateq: "this page is given to the host",
    deflateq: "this page is taken back by the guest",
    miscq: "this page was on a buddy free list when scanned (a hint)",
  },
  rules: ["R-08", "R-15", "R-16", "R-18", "R-19", "S-02", "S-04"],
};
