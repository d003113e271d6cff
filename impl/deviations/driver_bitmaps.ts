/**
 * Driver deviations in bitmap headers and bitmaps (R-15, R-16, S-04).
 *
 * @module
 */

import type { DriverDeviation } from "../deviations.ts";
import type { DriverSeamOverride } from "../driver/seams.ts";

/** Mirrors the bits of a byte (bit 0 ↔ bit 7). */
export function reverseBits(b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 1 << (7 - i);
  return r;
}

/** Overrides of the bitmap header and bitmap deviations. */
export const BITMAP_DEVIATIONS: Readonly<Partial<Record<DriverDeviation, DriverSeamOverride>>> = {
  "start-pfn-off-by-one": () => ({
    bitmapHeader: (base) => (header, queue) => {
      const h = base(header, queue);
      return { ...h, start_pfn: h.start_pfn + 1n };
    },
  }),
  "bmap-len-in-bits": () => ({
    bitmapHeader: (base) => (header, queue) => {
      const h = base(header, queue);
      return { ...h, bmap_len: h.bmap_len * 8n };
    },
  }),
  "header-reserved-nonzero": () => ({
    bitmapHeader: (base) => (header, queue) => ({ ...base(header, queue), reserved: 1 }),
  }),
  "page-shift-13": () => ({
    bitmapHeader: (base) => (header, queue) => {
      const h = base(header, queue);
      return { ...h, page_shift: h.page_shift + 1 };
    },
  }),
  "bit-order-msb-first": () => ({
    bitmapBytes: (base) => (window) => base(window).map(reverseBits),
  }),
  "short-last-chunk": () => ({
    bitmapChain: (base) => (chain) => {
      const chunks = [...chain.chunks];
      const last = chunks.at(-1);
      if (last !== undefined) {
        chunks[chunks.length - 1] = { ...last, len: Math.max(0, last.len - 8) };
      }
      return base({ ...chain, chunks });
    },
  }),
};
