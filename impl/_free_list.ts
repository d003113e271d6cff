/**
 * One buddy free list, `free_area[order].free_list[migratetype]` of a zone.
 *
 * Membership is a sparse bitmap indexed by block number (`pfn / 2^order`),
 * which makes `has` and `delete` O(1) without a hash table; picking a block
 * pops a stack of block starts, skipping entries deleted since they were
 * pushed (the kernel unlinks from a doubly linked list instead). The stack is
 * filtered when stale entries outnumber live ones, so every operation is
 * amortised O(1) whatever the span of the list's bitmap.
 *
 * @module
 */

import { BlockBits } from "./_block_bits.ts";

/** A set of free blocks of one order, with O(1) add, delete, has and pop. */
export class FreeList {
  /** Pages per block (2^order). */
  readonly blockPages: number;
  #members = new BlockBits();
  #stack: number[] = [];

  /** Creates an empty list of blocks of `2^order` pages. */
  constructor(order: number) {
    this.blockPages = 2 ** order;
  }

  /** Number of blocks on the list. */
  get size(): number {
    return this.#members.size;
  }

  /** Whether the block starting at `pfn` is on the list. */
  has(pfn: number): boolean {
    return this.#members.has(pfn / this.blockPages);
  }

  /** Adds the block starting at `pfn` (which must be aligned and absent). */
  add(pfn: number): void {
    this.#members.add(pfn / this.blockPages);
    this.#stack.push(pfn);
  }

  /** Adds `count` consecutive blocks starting at `pfn`. */
  addRun(pfn: number, count: number): void {
    this.#members.addRange(pfn / this.blockPages, count);
    for (let i = 0; i < count; i++) this.#stack.push(pfn + i * this.blockPages);
  }

  /** Removes the block starting at `pfn`; returns whether it was there. */
  delete(pfn: number): boolean {
    if (!this.#members.delete(pfn / this.blockPages)) return false;
    if (this.#stack.length > 2 * this.#members.size + 64) this.#rebuild();
    return true;
  }

  /** Removes and returns the most recently added block, or `undefined`. */
  pop(): number | undefined {
    const stack = this.#stack;
    while (stack.length > 0) {
      const pfn = stack.pop() as number;
      if (this.#members.delete(pfn / this.blockPages)) return pfn;
    }
    return undefined;
  }

  /** Starts of the blocks whose start lies in `[start, end)`, ascending. */
  within(start: number, end: number): number[] {
    const out: number[] = [];
    const bp = this.blockPages;
    for (let i = Math.ceil(start / bp); i * bp < end; i++) {
      if (this.#members.has(i)) out.push(i * bp);
    }
    return out;
  }

  /** Block starts in ascending order. */
  *[Symbol.iterator](): IterableIterator<number> {
    for (const i of this.#members) yield i * this.blockPages;
  }

  /** Whether every member is reachable from the pick stack (a self-check). */
  stackCoversMembers(): boolean {
    const onStack = new Set(this.#stack);
    for (const pfn of this) if (!onStack.has(pfn)) return false;
    return true;
  }

  /** Drops stale and duplicate entries: O(stack length), never a bitmap walk. */
  #rebuild(): void {
    const seen = new Set<number>();
    const stack: number[] = [];
    for (const pfn of this.#stack) {
      if (!seen.has(pfn) && this.#members.has(pfn / this.blockPages)) {
        seen.add(pfn);
        stack.push(pfn);
      }
    }
    this.#stack = stack;
  }
}
