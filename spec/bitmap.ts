/**
 * Bitmaps ↔ page sets, a 32-bit word at a time, under any
 * {@link BitmapLayout}.
 *
 * @module
 */

import { PageSet } from "./page_set.ts";
import { type BitmapLayout, INTENDED_BITMAP_LAYOUT } from "./payloads.ts";

const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Reorders bytes between a layout and the intended (byte-wise LSB-first) order. Involutive. */
function toIntended(bytes: Uint8Array, layout: BitmapLayout): Uint8Array {
  const w = layout.wordBytes;
  if (layout.endian === "le" || w === 1) return bytes;
  const padded = Math.ceil(bytes.length / w) * w;
  const out = new Uint8Array(padded);
  for (let g = 0; g < padded; g += w) {
    for (let k = 0; k < w; k++) {
      const src = g + w - 1 - k;
      out[g + k] = src < bytes.length ? bytes[src] as number : 0;
    }
  }
  return out;
}

function fromIntended(bytes: Uint8Array, nBytes: number, layout: BitmapLayout): Uint8Array {
  const w = layout.wordBytes;
  if (layout.endian === "le" || w === 1) return bytes.subarray(0, nBytes);
  const out = new Uint8Array(nBytes);
  for (let g = 0; g < nBytes; g += w) {
    for (let k = 0; k < w && g + k < nBytes; k++) {
      out[g + k] = bytes[g + w - 1 - k] ?? 0;
    }
  }
  return out;
}

function wordsOf(bytes: Uint8Array): Uint32Array | undefined {
  if (!HOST_LE) return undefined;
  const n = bytes.length >>> 2;
  if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, n);
  return new Uint32Array(bytes.slice(0, n * 4).buffer);
}

/**
 * ORs the pages a bitmap names into `into`: bit j stands for PFN
 * `startPfn + j`. Returns how many PFNs were newly added.
 */
export function decodeBitmapInto(
  bytes: Uint8Array,
  startPfn: number,
  into: PageSet,
  layout: BitmapLayout = INTENDED_BITMAP_LAYOUT,
): number {
  const b = toIntended(bytes, layout);
  let added = 0;
  const words = wordsOf(b);
  const nWords = b.length >>> 2;
  if (words !== undefined && startPfn % 32 === 0) {
    added += into.orWords(startPfn, words);
  } else if (words !== undefined) {
    for (let i = 0; i < nWords; i++) {
      const x = words[i] as number;
      if (x !== 0) added += into.orWord(startPfn + i * 32, x);
    }
  } else {
    const view = new DataView(b.buffer, b.byteOffset, b.length);
    for (let i = 0; i < nWords; i++) {
      const x = view.getUint32(i * 4, true);
      if (x !== 0) added += into.orWord(startPfn + i * 32, x);
    }
  }
  for (let k = nWords * 4; k < b.length; k++) {
    const x = b[k] as number;
    if (x !== 0) added += into.orWord(startPfn + k * 8, x);
  }
  return added;
}

/**
 * The pages a bitmap names.
 *
 * @example
 * ```ts
 * import { decodeBitmap } from "./bitmap.ts";
 * import assert from "node:assert/strict";
 * const pages = decodeBitmap(new Uint8Array([0b0000_0101, 0, 0, 0, 0, 0, 0, 0x80]), 4096);
 * assert.deepEqual([...pages], [4096, 4098, 4096 + 63]);
 * ```
 */
export function decodeBitmap(
  bytes: Uint8Array,
  startPfn: number,
  layout: BitmapLayout = INTENDED_BITMAP_LAYOUT,
): PageSet {
  const s = new PageSet();
  decodeBitmapInto(bytes, startPfn, s, layout);
  return s;
}

/**
 * Encodes the pages of `pages` in `[startPfn, startPfn + 8 * nBytes)` as a
 * bitmap of `nBytes` bytes. Pages outside the window are left out, except
 * that a big-endian layout whose last word is cut short keeps that word's
 * high-order bytes, exactly as a guest's descriptor of `nBytes` would.
 *
 * @example
 * ```ts
 * import { encodeBitmap } from "./bitmap.ts";
 * import { PageSet } from "./page_set.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeBitmap(PageSet.of([4096, 4098]), 4096, 8);
 * assert.deepEqual([...bytes], [5, 0, 0, 0, 0, 0, 0, 0]);
 * ```
 */
export function encodeBitmap(
  pages: PageSet,
  startPfn: number,
  nBytes: number,
  layout: BitmapLayout = INTENDED_BITMAP_LAYOUT,
): Uint8Array {
  if (!Number.isSafeInteger(nBytes) || nBytes < 0) {
    throw new RangeError(`Cannot encode bitmap: length ${nBytes} is not a byte count`);
  }
  const padded = Math.ceil(nBytes / 8) * 8;
  const out = new Uint8Array(padded);
  const nWords = padded >>> 2;
  if (HOST_LE) {
    const words = new Uint32Array(out.buffer);
    for (let i = 0; i < nWords; i++) words[i] = pages.wordAt(startPfn + i * 32);
  } else {
    const view = new DataView(out.buffer);
    for (let i = 0; i < nWords; i++) view.setUint32(i * 4, pages.wordAt(startPfn + i * 32), true);
  }
  // Cut in memory order, as a guest's descriptor of nBytes would: with big-endian
  // words and a partial last word, that keeps the word's high-order bytes.
  return fromIntended(out, nBytes, layout);
}

/** Splits a bitmap into chunks of at most `chunkBytes` bytes (the descriptors after the header). */
export function chunkBitmap(bytes: Uint8Array, chunkBytes: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < bytes.length; off += chunkBytes) {
    out.push(bytes.subarray(off, Math.min(bytes.length, off + chunkBytes)));
  }
  return out;
}
