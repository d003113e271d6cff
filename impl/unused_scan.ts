/**
 * The unused-page scan behind GET_UNUSED_PAGES (seed patch 5/7,
 * `get_unused_pages` / `mark_unused_pages_bitmap`): which PFNs of a window lie
 * in buddy free blocks at scan time — intended, or as posted (D-04).
 *
 * @module
 */

import { PageSet, PFNS_PER_BMAP } from "../spec/mod.ts";
import type { PageAllocator, Zone } from "./allocator.ts";

/** Options of {@link scanUnusedPages}. */
export interface ScanOptions {
  /** Reproduce D-04: the else-branch for blocks that end on a 1 GiB boundary. */
  readonly asPosted?: boolean;
}

/**
 * The free pages of `[start, end)` as a bitmap's page set.
 *
 * Intended: every PFN inside a buddy free block (runs clipped at the window).
 * As posted (D-04): the kernel walks each zone's free lists order by order; a
 * block whose end falls in the next 1 GiB bitmap (that is, a block that ends
 * on a 1 GiB boundary, or is clipped at the window end) takes the else-branch,
 * which never computes its position: its pages are not reported and one stale
 * bit — the previous block's offset modulo PFNS_PER_BMAP, in bitmap 0 — is set
 * instead. An uninitialised position (the first block of a zone) cannot be
 * modelled and sets nothing.
 *
 * @example
 * ```ts
 * import { PageAllocator } from "./allocator.ts";
 * import { scanUnusedPages } from "./unused_scan.ts";
 * import assert from "node:assert/strict";
 * const a = new PageAllocator({ pages: 262_144 });
 * const free = scanUnusedPages(a, 0, 262_144);
 * assert.equal(free.size, a.freePageCount);
 * ```
 */
export function scanUnusedPages(
  alloc: PageAllocator,
  start: number,
  end: number,
  options: ScanOptions = {},
): PageSet {
  const out = new PageSet();
  if (!options.asPosted) {
    alloc.scanFreeRange(start, Math.min(end, alloc.maxPfn), out);
    return out;
  }
  const bits = PFNS_PER_BMAP;
  let zone: Zone | undefined;
  let pos: number | undefined;
  for (const b of alloc.freeBlocks()) {
    if (b.zone !== zone) {
      zone = b.zone;
      pos = undefined; // a new mark_unused_pages_bitmap() call: pos is uninitialised
    }
    const blockEnd = b.pfn + (1 << b.order);
    if (blockEnd <= start || b.pfn >= end) continue;
    const pfn = Math.max(b.pfn, start);
    const nr = Math.min(blockEnd, end) - pfn;
    if (Math.floor((pfn + nr - start) / bits) === Math.floor((pfn - start) / bits)) {
      out.addRange(pfn, nr);
      pos = pfn - start;
    } else if (pos !== undefined) {
      // for (i = 0; i < nr_pg; i++) set_bit(pos % bits, bitmap[pos / bits]) with stale pos
      out.add(start + (pos % bits));
    }
  }
  return out;
}
