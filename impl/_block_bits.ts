/**
 * A sparse bitmap of non-negative integers (PFNs or block numbers) for the
 * allocator's hot internal sets. Unlike `PageSet` it keeps a chunk once made:
 * free lists and the per-cpu list toggle between empty and one member all
 * the time, and `PageSet` drops an emptied chunk and zero-allocates a new
 * one on the next add (about 4 µs per toggle, measured).
 *
 * @module
 */

import { PageSet, popcount32 } from "../spec/mod.ts";
import { ctz32 } from "./_page_bits.ts";

const SHIFT = 15; // 32,768 bits (4 KiB) per chunk
const BITS = 1 << SHIFT;
const WORDS = BITS >>> 5;

/** A set of non-negative integers kept as bits in lazily made 4 KiB chunks. */
export class BlockBits {
  #chunks = new Map<number, Uint32Array>();
  #size = 0;

  /** Number of members. */
  get size(): number {
    return this.#size;
  }

  /** Whether `i` is a member. */
  has(i: number): boolean {
    const c = this.#chunks.get(Math.floor(i / BITS));
    if (c === undefined) return false;
    const off = i % BITS;
    return (((c[off >>> 5] as number) >>> (off & 31)) & 1) === 1;
  }

  /** Adds `i`; returns whether it was absent. */
  add(i: number): boolean {
    const k = Math.floor(i / BITS);
    let c = this.#chunks.get(k);
    if (c === undefined) {
      c = new Uint32Array(WORDS);
      this.#chunks.set(k, c);
    }
    const off = i % BITS;
    const w = off >>> 5;
    const m = 1 << (off & 31);
    const old = c[w] as number;
    if (old & m) return false;
    c[w] = old | m;
    this.#size++;
    return true;
  }

  /** Removes `i`; returns whether it was present. */
  delete(i: number): boolean {
    const c = this.#chunks.get(Math.floor(i / BITS));
    if (c === undefined) return false;
    const off = i % BITS;
    const w = off >>> 5;
    const m = 1 << (off & 31);
    const old = c[w] as number;
    if (!(old & m)) return false;
    c[w] = old & ~m;
    this.#size--;
    return true;
  }

  /** Adds `count` consecutive integers from `start`, a word at a time. */
  addRange(start: number, count: number): void {
    let i = start;
    const end = start + count;
    while (i < end && (i & 31) !== 0) this.add(i++);
    while (i + 32 <= end) {
      const k = Math.floor(i / BITS);
      let c = this.#chunks.get(k);
      if (c === undefined) {
        c = new Uint32Array(WORDS);
        this.#chunks.set(k, c);
      }
      const w = (i % BITS) >>> 5;
      this.#size += 32 - popcount32(c[w] as number);
      c[w] = 0xffffffff;
      i += 32;
    }
    while (i < end) this.add(i++);
  }

  /** Removes `count` consecutive integers from `start`, a word at a time. */
  deleteRange(start: number, count: number): void {
    let i = start;
    const end = start + count;
    while (i < end && (i & 31) !== 0) this.delete(i++);
    while (i + 32 <= end) {
      const c = this.#chunks.get(Math.floor(i / BITS));
      if (c !== undefined) {
        const w = (i % BITS) >>> 5;
        this.#size -= popcount32(c[w] as number);
        c[w] = 0;
      }
      i += 32;
    }
    while (i < end) this.delete(i++);
  }

  /** The 32 bits from `base` (a multiple of 32): bit i stands for `base + i`. */
  wordAt(base: number): number {
    const c = this.#chunks.get(Math.floor(base / BITS));
    return c === undefined ? 0 : (c[(base % BITS) >>> 5] as number);
  }

  /** The members as a new {@link PageSet}, a word at a time. */
  toPageSet(): PageSet {
    const out = new PageSet();
    for (const k of this.#sortedKeys()) {
      const c = this.#chunks.get(k) as Uint32Array;
      for (let w = 0; w < WORDS; w++) {
        const x = c[w] as number;
        if (x !== 0) out.orWord(k * BITS + w * 32, x);
      }
    }
    return out;
  }

  #sortedKeys(): number[] {
    return [...this.#chunks.keys()].sort((a, b) => a - b);
  }

  /** Members in ascending order. */
  *[Symbol.iterator](): IterableIterator<number> {
    for (const k of this.#sortedKeys()) {
      const c = this.#chunks.get(k) as Uint32Array;
      for (let w = 0; w < WORDS; w++) {
        let x = c[w] as number;
        while (x !== 0) {
          yield k * BITS + w * 32 + ctz32(x);
          x &= x - 1;
        }
      }
    }
  }
}
