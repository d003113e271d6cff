/**
 * A set of page frame numbers stored as a sparse bitmap: fixed-size chunks
 * of 32-bit words allocated only where a page is present, with word-at-a-time
 * bulk operations so that a 1 TiB guest's pages are handled quickly.
 *
 * @module
 */

/** log2 of the PFNs per chunk (65,536 PFNs, 8 KiB of bitmap per chunk). */
const CHUNK_SHIFT = 16;
const CHUNK_PFNS = 1 << CHUNK_SHIFT;
const CHUNK_WORDS = CHUNK_PFNS >>> 5;

/** Number of set bits in a 32-bit word. */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Index of the lowest set bit of a non-zero 32-bit word. */
function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

function checkPfn(pfn: number): void {
  if (!Number.isSafeInteger(pfn) || pfn < 0) {
    throw new RangeError(`Invalid PFN ${pfn}: expected a non-negative safe integer`);
  }
}

/** A contiguous run of PFNs `[start, start + length)`. */
export interface PfnRun {
  /** First PFN of the run. */
  readonly start: number;
  /** Number of PFNs in the run. */
  readonly length: number;
}

/**
 * A sparse set of PFNs.
 *
 * @example
 * ```ts
 * import { PageSet } from "./page_set.ts";
 * import assert from "node:assert/strict";
 * const s = new PageSet();
 * s.addRange(4096, 256);
 * s.add(5000);
 * assert.equal(s.size, 257);
 * assert.deepEqual([...s.runs()], [{ start: 4096, length: 256 }, { start: 5000, length: 1 }]);
 * ```
 */
export class PageSet {
  #chunks = new Map<number, Uint32Array>();
  #counts = new Map<number, number>();
  #sortedKeys: number[] | undefined = [];
  #size = 0;

  /** Builds a set from PFNs. */
  static of(pfns: Iterable<number>): PageSet {
    const s = new PageSet();
    for (const p of pfns) s.add(p);
    return s;
  }

  /** Number of PFNs in the set. */
  get size(): number {
    return this.#size;
  }

  #chunk(index: number, create: boolean): Uint32Array | undefined {
    let c = this.#chunks.get(index);
    if (c === undefined && create) {
      c = new Uint32Array(CHUNK_WORDS);
      this.#chunks.set(index, c);
      this.#counts.set(index, 0);
      this.#sortedKeys = undefined;
    }
    return c;
  }

  /** Adjusts a chunk's population; drops the chunk when it becomes empty. */
  #count(index: number, delta: number): void {
    const n = (this.#counts.get(index) ?? 0) + delta;
    this.#size += delta;
    if (n === 0) {
      this.#chunks.delete(index);
      this.#counts.delete(index);
      this.#sortedKeys = undefined;
    } else {
      this.#counts.set(index, n);
    }
  }

  #keys(): number[] {
    if (this.#sortedKeys === undefined) {
      this.#sortedKeys = [...this.#chunks.keys()].sort((a, b) => a - b);
    }
    return this.#sortedKeys;
  }

  /** Adds a PFN; returns whether it was absent. */
  add(pfn: number): boolean {
    checkPfn(pfn);
    const index = Math.floor(pfn / CHUNK_PFNS);
    const c = this.#chunk(index, true) as Uint32Array;
    const off = pfn % CHUNK_PFNS;
    const w = off >>> 5;
    const m = 1 << (off & 31);
    const old = c[w] as number;
    if (old & m) return false;
    c[w] = old | m;
    this.#count(index, 1);
    return true;
  }

  /** Removes a PFN; returns whether it was present. */
  delete(pfn: number): boolean {
    checkPfn(pfn);
    const index = Math.floor(pfn / CHUNK_PFNS);
    const c = this.#chunk(index, false);
    if (c === undefined) return false;
    const off = pfn % CHUNK_PFNS;
    const w = off >>> 5;
    const m = 1 << (off & 31);
    const old = c[w] as number;
    if (!(old & m)) return false;
    c[w] = old & ~m;
    this.#count(index, -1);
    return true;
  }

  /** Whether the set holds a PFN. */
  has(pfn: number): boolean {
    if (!Number.isSafeInteger(pfn) || pfn < 0) return false;
    const c = this.#chunks.get(Math.floor(pfn / CHUNK_PFNS));
    if (c === undefined) return false;
    const off = pfn % CHUNK_PFNS;
    return (((c[off >>> 5] as number) >>> (off & 31)) & 1) === 1;
  }

  /** Removes every PFN. */
  clear(): void {
    this.#chunks.clear();
    this.#counts.clear();
    this.#sortedKeys = [];
    this.#size = 0;
  }

  /**
   * ORs 32 bits into the set: bit i of `word` stands for PFN `pfn + i`.
   * `pfn` need not be aligned. Returns how many PFNs were newly added.
   */
  orWord(pfn: number, word: number): number {
    if (word === 0) return 0;
    checkPfn(pfn);
    const shift = pfn & 31;
    if (shift === 0) return this.#orAligned(pfn, word >>> 0);
    return this.#orAligned(pfn - shift, (word << shift) >>> 0) +
      this.#orAligned(pfn - shift + 32, word >>> (32 - shift));
  }

  #orAligned(pfn: number, word: number): number {
    if (word === 0) return 0;
    const index = Math.floor(pfn / CHUNK_PFNS);
    const c = this.#chunk(index, true) as Uint32Array;
    const w = (pfn % CHUNK_PFNS) >>> 5;
    const old = c[w] as number;
    const added = word & ~old;
    if (added === 0) {
      if ((this.#counts.get(index) ?? 0) === 0) this.#count(index, 0);
      return 0;
    }
    c[w] = old | word;
    const n = popcount32(added);
    this.#count(index, n);
    return n;
  }

  /**
   * ORs many words: bit i of `words[k]` stands for PFN `pfn + 32 * k + i`.
   * `pfn` must be a multiple of 32. Returns how many PFNs were newly added.
   * Works a chunk at a time (one lookup per 65,536 PFNs).
   */
  orWords(pfn: number, words: Uint32Array): number {
    checkPfn(pfn);
    if (pfn % 32 !== 0) {
      throw new RangeError(`Invalid PFN ${pfn}: orWords() needs a multiple of 32`);
    }
    let added = 0;
    let k = 0;
    while (k < words.length) {
      const p = pfn + k * 32;
      const index = Math.floor(p / CHUNK_PFNS);
      const w0 = (p % CHUNK_PFNS) >>> 5;
      const n = Math.min(words.length - k, CHUNK_WORDS - w0);
      let any = false;
      for (let i = 0; i < n; i++) {
        if (words[k + i] !== 0) {
          any = true;
          break;
        }
      }
      if (any) {
        const c = this.#chunk(index, true) as Uint32Array;
        let got = 0;
        for (let i = 0; i < n; i++) {
          const x = words[k + i] as number;
          if (x === 0) continue;
          const old = c[w0 + i] as number;
          const a = x & ~old;
          if (a !== 0) {
            got += popcount32(a);
            c[w0 + i] = old | x;
          }
        }
        this.#count(index, got);
        added += got;
      }
      k += n;
    }
    return added;
  }

  /**
   * The 32 bits starting at `pfn` (aligned or not): bit i stands for `pfn + i`.
   */
  wordAt(pfn: number): number {
    checkPfn(pfn);
    const shift = pfn & 31;
    const lo = this.#alignedWord(pfn - shift);
    if (shift === 0) return lo;
    const hi = this.#alignedWord(pfn - shift + 32);
    return ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
  }

  #alignedWord(pfn: number): number {
    const c = this.#chunks.get(Math.floor(pfn / CHUNK_PFNS));
    if (c === undefined) return 0;
    return c[(pfn % CHUNK_PFNS) >>> 5] as number;
  }

  /** Adds `length` consecutive PFNs from `start`; returns how many were newly added. */
  addRange(start: number, length: number): number {
    checkPfn(start);
    if (length <= 0) return 0;
    checkPfn(start + length - 1);
    let added = 0;
    let p = start;
    const end = start + length;
    while (p < end && (p & 31) !== 0) {
      if (this.add(p)) added++;
      p++;
    }
    const full = Math.floor((end - p) / 32);
    if (full > 0) {
      added += this.orWords(p, new Uint32Array(full).fill(0xffffffff));
      p += full * 32;
    }
    while (p < end) {
      if (this.add(p)) added++;
      p++;
    }
    return added;
  }

  /** Removes `length` consecutive PFNs from `start`; returns how many were present. */
  deleteRange(start: number, length: number): number {
    let removed = 0;
    const end = start + length;
    let p = start;
    while (p < end) {
      const index = Math.floor(p / CHUNK_PFNS);
      const c = this.#chunks.get(index);
      if (c === undefined) {
        p = (index + 1) * CHUNK_PFNS;
        continue;
      }
      if ((p & 31) === 0 && p + 32 <= end) {
        const w = (p % CHUNK_PFNS) >>> 5;
        const old = c[w] as number;
        if (old !== 0) {
          const n = popcount32(old);
          removed += n;
          c[w] = 0;
          this.#count(index, -n);
        }
        p += 32;
      } else {
        if (this.delete(p)) removed++;
        p++;
      }
    }
    return removed;
  }

  /** Number of PFNs of the set in `[start, end)` (a word at a time; chunks outside it are not read). */
  countRange(start: number, end: number): number {
    const keys = this.#keys();
    if (keys.length === 0) return 0;
    const stop = Math.min(end, ((keys[keys.length - 1] as number) + 1) * CHUNK_PFNS);
    let n = 0;
    let p = Math.max(0, Math.ceil(start));
    while (p < stop) {
      const index = Math.floor(p / CHUNK_PFNS);
      const c = this.#chunks.get(index);
      if (c === undefined) {
        p = (index + 1) * CHUNK_PFNS;
        continue;
      }
      if ((p & 31) === 0 && p + 32 <= stop) {
        n += popcount32(c[(p % CHUNK_PFNS) >>> 5] as number);
        p += 32;
      } else {
        if (this.has(p)) n++;
        p++;
      }
    }
    return n;
  }

  /** Smallest PFN, or `undefined` when empty. */
  min(): number | undefined {
    for (const k of this.#keys()) {
      const c = this.#chunks.get(k) as Uint32Array;
      for (let w = 0; w < CHUNK_WORDS; w++) {
        const x = c[w] as number;
        if (x !== 0) return k * CHUNK_PFNS + w * 32 + ctz32(x);
      }
    }
    return undefined;
  }

  /** Largest PFN, or `undefined` when empty. */
  max(): number | undefined {
    const keys = this.#keys();
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i] as number;
      const c = this.#chunks.get(k) as Uint32Array;
      for (let w = CHUNK_WORDS - 1; w >= 0; w--) {
        const x = c[w] as number;
        if (x !== 0) return k * CHUNK_PFNS + w * 32 + 31 - Math.clz32(x);
      }
    }
    return undefined;
  }

  /** PFNs in ascending order. */
  *[Symbol.iterator](): IterableIterator<number> {
    for (const k of [...this.#keys()]) {
      const c = this.#chunks.get(k);
      if (c === undefined) continue;
      const base = k * CHUNK_PFNS;
      let left = this.#counts.get(k) ?? 0;
      for (let w = 0; w < CHUNK_WORDS && left > 0; w++) {
        let x = c[w] as number;
        while (x !== 0) {
          const b = ctz32(x);
          yield base + w * 32 + b;
          left--;
          x &= x - 1;
        }
      }
    }
  }

  /** PFNs in ascending order, as an array (faster than iterating). */
  toArray(): number[] {
    const out: number[] = new Array(this.#size);
    let i = 0;
    for (const k of this.#keys()) {
      const c = this.#chunks.get(k);
      if (c === undefined) continue;
      const base = k * CHUNK_PFNS;
      let left = this.#counts.get(k) ?? 0;
      for (let w = 0; w < CHUNK_WORDS && left > 0; w++) {
        let x = c[w] as number;
        while (x !== 0) {
          out[i++] = base + w * 32 + ctz32(x);
          left--;
          x &= x - 1;
        }
      }
    }
    return out;
  }

  /** Maximal runs of consecutive PFNs, ascending. */
  *runs(): IterableIterator<PfnRun> {
    let start = -1;
    let next = -1;
    for (const k of [...this.#keys()]) {
      const c = this.#chunks.get(k);
      if (c === undefined) continue;
      const base = k * CHUNK_PFNS;
      let left = this.#counts.get(k) ?? 0;
      for (let w = 0; w < CHUNK_WORDS && left > 0; w++) {
        const x = c[w] as number;
        const p0 = base + w * 32;
        if (x === 0) continue;
        left -= popcount32(x);
        if (x === 0xffffffff) {
          if (start >= 0 && next === p0) {
            next = p0 + 32;
          } else {
            if (start >= 0) yield { start, length: next - start };
            start = p0;
            next = p0 + 32;
          }
          continue;
        }
        let y = x >>> 0;
        while (y !== 0) {
          const b = ctz32(y);
          // length of the run of ones starting at bit b
          // y has at least one zero bit above the run, so ~(y >>> b) is non-zero
          const len = ctz32(~(y >>> b));
          const p = p0 + b;
          if (start >= 0 && next === p) {
            next = p + len;
          } else {
            if (start >= 0) yield { start, length: next - start };
            start = p;
            next = p + len;
          }
          y = b + len >= 32 ? 0 : (y & ~(((1 << len) - 1) << b)) >>> 0;
          // (len < 32 here: a full word took the fast path above)
        }
      }
    }
    if (start >= 0) yield { start, length: next - start };
  }

  /**
   * A new set with the `n` smallest PFNs of this one (all of them when it
   * holds fewer), found a word at a time with an early stop.
   */
  lowest(n: number): PageSet {
    const out = new PageSet();
    let left = n;
    for (const k of [...this.#keys()]) {
      if (left <= 0) break;
      const c = this.#chunks.get(k);
      if (c === undefined) continue;
      for (let w = 0; w < CHUNK_WORDS && left > 0; w++) {
        let x = c[w] as number;
        if (x === 0) continue;
        const cnt = popcount32(x);
        if (cnt > left) {
          // keep only the lowest `left` bits of this word
          let keep = 0;
          for (let i = 0; i < left; i++) {
            const low = x & -x;
            keep |= low;
            x &= x - 1;
          }
          x = keep >>> 0;
        }
        const got = out.#orAligned(k * CHUNK_PFNS + w * 32, x >>> 0);
        left -= got;
      }
    }
    return out;
  }

  /** A copy of the set. */
  clone(): PageSet {
    const s = new PageSet();
    for (const [k, c] of this.#chunks) s.#chunks.set(k, c.slice());
    for (const [k, n] of this.#counts) s.#counts.set(k, n);
    s.#sortedKeys = undefined;
    s.#size = this.#size;
    return s;
  }

  /** Adds every PFN of another set (in place); returns how many were new. */
  unionWith(other: PageSet): number {
    let added = 0;
    for (const [k, oc] of other.#chunks) {
      const c = this.#chunk(k, true) as Uint32Array;
      let n = 0;
      for (let w = 0; w < CHUNK_WORDS; w++) {
        const o = oc[w] as number;
        if (o === 0) continue;
        const old = c[w] as number;
        const a = o & ~old;
        if (a !== 0) {
          n += popcount32(a);
          c[w] = old | o;
        }
      }
      this.#count(k, n);
      added += n;
    }
    return added;
  }

  /** Removes every PFN of another set (in place); returns how many were removed. */
  subtract(other: PageSet): number {
    let removed = 0;
    for (const [k, oc] of [...other.#chunks]) {
      const c = this.#chunks.get(k);
      if (c === undefined) continue;
      let n = 0;
      for (let w = 0; w < CHUNK_WORDS; w++) {
        const o = oc[w] as number;
        if (o === 0) continue;
        const old = c[w] as number;
        const r = o & old;
        if (r !== 0) {
          n += popcount32(r);
          c[w] = old & ~o;
        }
      }
      if (n > 0) this.#count(k, -n);
      removed += n;
    }
    return removed;
  }

  /** A new set holding the PFNs in both sets. */
  intersection(other: PageSet): PageSet {
    const s = new PageSet();
    for (const [k, c] of this.#chunks) {
      const oc = other.#chunks.get(k);
      if (oc === undefined) continue;
      let out: Uint32Array | undefined;
      let n = 0;
      for (let w = 0; w < CHUNK_WORDS; w++) {
        const x = (c[w] as number) & (oc[w] as number);
        if (x !== 0) {
          out ??= new Uint32Array(CHUNK_WORDS);
          out[w] = x;
          n += popcount32(x);
        }
      }
      if (out !== undefined) {
        s.#chunks.set(k, out);
        s.#counts.set(k, n);
        s.#size += n;
      }
    }
    s.#sortedKeys = undefined;
    return s;
  }

  /** Number of PFNs in both sets, without building the intersection. */
  intersectionSize(other: PageSet): number {
    let n = 0;
    for (const [k, c] of this.#chunks) {
      const oc = other.#chunks.get(k);
      if (oc === undefined) continue;
      for (let w = 0; w < CHUNK_WORDS; w++) {
        const x = (c[w] as number) & (oc[w] as number);
        if (x !== 0) n += popcount32(x);
      }
    }
    return n;
  }

  /** Whether every PFN of this set is in `other`. */
  isSubsetOf(other: PageSet): boolean {
    return this.intersectionSize(other) === this.#size;
  }

  /** Whether both sets hold the same PFNs. */
  equals(other: PageSet): boolean {
    return this.#size === other.#size && this.isSubsetOf(other);
  }

  /** Bytes of bitmap storage the set currently holds. */
  get storageBytes(): number {
    return this.#chunks.size * CHUNK_WORDS * 4;
  }

  /** Number of storage chunks (each covers 65,536 PFNs); empty chunks are dropped at once. */
  get chunkCount(): number {
    return this.#chunks.size;
  }
}
