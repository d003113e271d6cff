/**
 * Word-at-a-time range helpers over any bitmap of PFNs with an aligned
 * `wordAt` (a `PageSet` or the allocator's `BlockBits`), so that a range of
 * n PFNs costs n / 32 word reads.
 *
 * @module
 */

import { popcount32 } from "../spec/mod.ts";
import type { PageSet } from "../spec/mod.ts";

/** A bitmap that reads 32 PFNs from a multiple of 32: bit i stands for `base + i`. */
export interface WordSource {
  /** The word of PFNs `[base, base + 32)`. */
  wordAt(base: number): number;
}

/** Index of the lowest set bit of a non-zero 32-bit word. */
export function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * Calls `fn(base, word)` for every aligned 32-PFN word of `set` that meets
 * `[start, end)` and has a set bit there, with the bits outside the range
 * cleared. `base` is a multiple of 32; bit i of `word` stands for `base + i`.
 * Stops early when `fn` returns `false`.
 */
export function forEachWordInRange(
  set: WordSource,
  start: number,
  end: number,
  fn: (base: number, word: number) => boolean | void,
): void {
  if (end <= start) return;
  const head = start & 31;
  for (let base = start - head; base < end; base += 32) {
    let w = set.wordAt(base);
    if (w === 0) continue;
    if (base < start) w &= 0xffffffff << head;
    const left = end - base;
    if (left < 32) w &= (1 << left) - 1;
    if (w !== 0 && fn(base, w >>> 0) === false) return;
  }
}

/** The first PFN of `set` in `[start, end)`, or -1 when there is none. */
export function firstInRange(set: WordSource, start: number, end: number): number {
  let found = -1;
  forEachWordInRange(set, start, end, (base, w) => {
    found = base + ctz32(w);
    return false;
  });
  return found;
}

/** How many PFNs of `set` lie in `[start, end)`. */
export function countInRange(set: WordSource, start: number, end: number): number {
  let n = 0;
  forEachWordInRange(set, start, end, (_base, w) => {
    n += popcount32(w);
  });
  return n;
}

/**
 * Adds to `into` every PFN of `set` in `[start, end)`; returns how many were
 * not already in `into`.
 */
export function copyRange(set: WordSource, start: number, end: number, into: PageSet): number {
  let n = 0;
  forEachWordInRange(set, start, end, (base, w) => {
    n += into.orWord(base, w);
  });
  return n;
}
