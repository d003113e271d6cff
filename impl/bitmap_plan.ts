/**
 * Planning bitmap requests: which windows, which bits, how many chunks —
 * the intended rules and the seed's code as posted,
 * switch by switch (D-01, D-02, D-03, D-16). Pure functions over page sets.
 *
 * @module
 */

import {
  BALLOON_BMAP_ALIGN_BITS,
  BALLOON_BMAP_SIZE,
  BITS_PER_BYTE,
  PageSet,
  PFNS_PER_BMAP,
} from "../spec/mod.ts";
import type { QuirkId } from "./quirks.ts";

/** One planned inflate/deflate bitmap request. */
export interface PlannedWindow {
  /** PFN of bit 0. */
  readonly startPfn: number;
  /** Bitmap length in bytes (the header's bmap_len). */
  readonly bmapLen: number;
  /** Pages whose bits are set. */
  readonly pages: PageSet;
  /** Length of each chunk descriptor after the header, in order. */
  readonly chunkLens: readonly number[];
}

/** Options of {@link planWindows}. */
export interface PlanOptions {
  /** Bitmaps the driver holds (`nr_page_bmap`, 1…32). */
  readonly nrBitmaps: number;
  /** Rounding of start_pfn and span in bits: 64 intended, BITS_PER_LONG as posted (D-13). */
  readonly granularity: number;
  /**
   * Chunk lengths: `"intended"` (default) sends every byte of the bitmap;
   * `"as-posted"` sends floor(nr_pfn / PFNS_PER_BMAP) chunks (D-01).
   */
  readonly chunks?: "intended" | "as-posted";
  /**
   * Where the window loop stops: `"intended"` (default) after the highest
   * page; `"as-posted"` below roundup(max, granularity) (D-02).
   */
  readonly bound?: "intended" | "as-posted";
  /** Quirks in effect: D-01 and D-02 stand for `chunks` and `bound` `"as-posted"`. */
  readonly quirks?: ReadonlySet<QuirkId>;
  /** Cap on chunks per request (ring too small and no indirect descriptors); default: no cap. */
  readonly maxChunks?: number;
}

function roundDown(x: number, m: number): number {
  return Math.floor(x / m) * m;
}

function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}

/** Chunk lengths for a bitmap of `bmapLen` bytes (intended: ceil, every byte sent; D-01 as posted). */
export function chunkLengths(
  bmapLen: number,
  quirks: ReadonlySet<QuirkId>,
  granularity: number,
): number[] {
  return chunksOf(bmapLen, quirks.has("D-01") ? "as-posted" : "intended", granularity);
}

function chunksOf(
  bmapLen: number,
  chunks: "intended" | "as-posted",
  granularity: number,
): number[] {
  const out: number[] = [];
  if (chunks === "as-posted") {
    // nr_used_bmap = nr_pfn / PFNS_PER_BMAP, rounded down; last = bmap_len - BMAP_SIZE * i
    const nrPfn = bmapLen * BITS_PER_BYTE;
    const used = Math.floor(nrPfn / PFNS_PER_BMAP);
    for (let i = 0; i < used; i++) {
      out.push(i + 1 === used ? bmapLen - BALLOON_BMAP_SIZE * i : BALLOON_BMAP_SIZE);
    }
    void granularity;
    return out;
  }
  for (let off = 0; off < bmapLen; off += BALLOON_BMAP_SIZE) {
    out.push(Math.min(BALLOON_BMAP_SIZE, bmapLen - off));
  }
  return out;
}

/**
 * Plans the bitmap requests of one inflate or deflate pass.
 *
 * `range` holds the pages whose lowest and highest PFN bound the pass (the
 * pages allocated or dequeued in it); `report` holds the pages whose bits are
 * set (the same set, intended; the whole balloon with quirk D-03).
 *
 * @example
 * ```ts
 * import { planWindows } from "./bitmap_plan.ts";
 * import { PageSet } from "../spec/mod.ts";
 * import assert from "node:assert/strict";
 * const pages = new PageSet();
 * pages.addRange(4096, 256);
 * const [w] = planWindows(pages, pages, { nrBitmaps: 1, granularity: 64 });
 * assert.deepEqual([w?.startPfn, w?.bmapLen, w?.chunkLens], [4096, 32, [32]]);
 * const asPosted = planWindows(pages, pages, { nrBitmaps: 1, granularity: 64, chunks: "as-posted" });
 * assert.deepEqual(asPosted[0]?.chunkLens, []); // D-01: header only
 * const byQuirk = planWindows(pages, pages, { nrBitmaps: 1, granularity: 64, quirks: new Set(["D-01"]) });
 * assert.deepEqual(byQuirk, asPosted);
 * ```
 */
export function planWindows(
  range: PageSet,
  report: PageSet,
  options: PlanOptions,
): PlannedWindow[] {
  const min = range.min();
  const max = range.max();
  if (min === undefined || max === undefined) return [];
  if (!Number.isInteger(options.nrBitmaps) || options.nrBitmaps < 1) {
    throw new RangeError(
      `Cannot plan bitmap windows with ${options.nrBitmaps} bitmaps: expected at least 1`,
    );
  }
  const g = options.granularity;
  let limit = PFNS_PER_BMAP * options.nrBitmaps;
  if (options.maxChunks !== undefined && options.maxChunks > 0) {
    limit = Math.min(limit, PFNS_PER_BMAP * options.maxChunks);
  }
  const start = roundDown(min, g);
  const out: PlannedWindow[] = [];
  const quirks = options.quirks ?? new Set<QuirkId>();
  const chunks = options.chunks ?? (quirks.has("D-01") ? "as-posted" : "intended");
  const asPostedBound = (options.bound ?? (quirks.has("D-02") ? "as-posted" : "intended")) ===
    "as-posted";
  const bound = asPostedBound ? roundUp(max, g) : max + 1;
  for (let w = start; w < bound; w += limit) {
    const pages = windowOf(report, w, w + limit);
    const end = pages.max();
    if (end === undefined) continue;
    const nrPfn = roundUp(end - w + 1, g);
    const bmapLen = nrPfn / BITS_PER_BYTE;
    out.push({ startPfn: w, bmapLen, pages, chunkLens: chunksOf(bmapLen, chunks, g) });
  }
  return out;
}

/** The pages of `set` in `[start, end)`, copied a word at a time. */
export function windowOf(set: PageSet, start: number, end: number): PageSet {
  const out = new PageSet();
  const total = set.size;
  if (total === 0) return out;
  // Walk runs: cheap when the set is made of long runs, as balloon sets are.
  for (const r of set.runs()) {
    if (r.start >= end) break;
    const a = Math.max(r.start, start);
    const b = Math.min(r.start + r.length, end);
    if (b > a) out.addRange(a, b - a);
  }
  return out;
}

/** One chunk of a reply to GET_UNUSED_PAGES. */
export interface PlannedReplyChunk {
  /** PFN of bit 0 (`k * pfn_limit`). */
  readonly startPfn: number;
  /** Whether this is the last chunk (DONE), else CONT. */
  readonly done: boolean;
  /** bmap_len in bytes. */
  readonly bmapLen: number;
  /** PFNs this chunk's scan covers: `[startPfn, scanEnd)`. */
  readonly scanEnd: number;
  /** Chunk descriptor lengths after the header. */
  readonly chunkLens: readonly number[];
}

/**
 * The chunk layout of a reply for a guest of `maxPfn` PFNs: windows
 * of `PFNS_PER_BMAP * nrBitmaps` from PFN 0; CONT while the window ends below
 * max_pfn, then DONE. Intended: the DONE bmap_len is rounded up to 8 bytes;
 * with D-16 it is floor(nr_pfn / 8).
 */
export function planReply(
  maxPfn: number,
  nrBitmaps: number,
  quirks: ReadonlySet<QuirkId> = new Set(),
): PlannedReplyChunk[] {
  if (!Number.isInteger(nrBitmaps) || nrBitmaps < 1) {
    throw new RangeError(`Cannot plan a reply with ${nrBitmaps} bitmaps: expected at least 1`);
  }
  const limit = PFNS_PER_BMAP * nrBitmaps;
  const out: PlannedReplyChunk[] = [];
  for (let pfn = 0;; pfn += limit) {
    if (pfn + limit < maxPfn) {
      const bmapLen = BALLOON_BMAP_SIZE * nrBitmaps;
      out.push({
        startPfn: pfn,
        done: false,
        bmapLen,
        scanEnd: pfn + limit,
        chunkLens: new Array(nrBitmaps).fill(BALLOON_BMAP_SIZE),
      });
      continue;
    }
    const nrPfn = maxPfn - pfn;
    const bmapLen = quirks.has("D-16")
      ? Math.floor(nrPfn / BITS_PER_BYTE)
      : roundUp(nrPfn, BALLOON_BMAP_ALIGN_BITS) / BITS_PER_BYTE;
    const lens: number[] = [];
    const used = Math.ceil(nrPfn / PFNS_PER_BMAP);
    for (let i = 0; i < used; i++) {
      lens.push(i + 1 === used ? bmapLen - BALLOON_BMAP_SIZE * i : BALLOON_BMAP_SIZE);
    }
    out.push({ startPfn: pfn, done: true, bmapLen, scanEnd: maxPfn, chunkLens: lens });
    return out;
  }
}
