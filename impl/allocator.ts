/**
 * A model of the Linux buddy page allocator for one guest: zones DMA, DMA32
 * and Normal, free lists per (zone, order, migrate type), migrate types per
 * 512-page pageblock with fallback stealing, and one per-cpu (pcp) list for
 * order-0 frees. Bulk operations work a block or a 32-page word at a time,
 * so an 8 GiB or 1 TiB guest is modelled at full size.
 *
 * Longer than our ~600-line guideline on purpose: it is one state machine
 * (the free lists, pageblock types and the pcp list change together on
 * every call, and the invariants its property tests check span all of
 * them); its bit-level helpers already live in `_free_list.ts`,
 * `_block_bits.ts`, `_page_bits.ts` and `_aligned_blocks.ts`.
 *
 * @module
 */

import { PageSet } from "../spec/mod.ts";
import { forEachAlignedBlock } from "./_aligned_blocks.ts";
import { BlockBits } from "./_block_bits.ts";
import { FreeList } from "./_free_list.ts";
import { copyRange, countInRange, firstInRange } from "./_page_bits.ts";

/** A memory zone; the allocator tries Normal, then DMA32, then DMA. */
export type Zone = "DMA" | "DMA32" | "Normal";

/** A pageblock's mobility class, as in the kernel's `enum migratetype`. */
export type MigrateType = "UNMOVABLE" | "MOVABLE" | "RECLAIMABLE";

/** Largest block order: blocks of up to 2^10 = 1024 pages (the kernel's MAX_PAGE_ORDER). */
export const MAX_ORDER = 10;

/** log2 of the pages per pageblock (512 pages, 2 MiB), the unit migrate types are kept in. */
export const PAGEBLOCK_ORDER = 9;

/** First PFN above the DMA zone (16 MiB). */
export const DMA_END_PFN = 4096;

/** First PFN above the DMA32 zone (4 GiB). */
export const DMA32_END_PFN = 1_048_576;

/** Largest guest the allocator accepts, in pages (16 TiB). */
export const MAX_GUEST_PAGES = 2 ** 32;

/** Options of {@link PageAllocator}. */
export interface AllocatorOptions {
  /** Guest RAM in 4 KiB pages. */
  readonly pages: number;
  /**
   * Pages at the bottom of RAM held by the kernel, in use and never free
   * (default: the larger of 256 and 1% of RAM, at most `pages`).
   */
  readonly reserved?: number;
  /** Capacity of the per-cpu list for order-0 frees (default 0: no pcp list). */
  readonly pcpHigh?: number;
}

/** A block on a buddy free list, as {@link PageAllocator.freeBlocks} reports it. */
export interface FreeBlock {
  /** First PFN of the block. */
  readonly pfn: number;
  /** The block holds 2^order pages. */
  readonly order: number;
  /** Zone of the block. */
  readonly zone: Zone;
  /** Migrate type of the free list the block is on. */
  readonly migrateType: MigrateType;
}

const ZONES: readonly Zone[] = ["DMA", "DMA32", "Normal"];
const MIGRATE_TYPES: readonly MigrateType[] = ["UNMOVABLE", "MOVABLE", "RECLAIMABLE"];
const MT_UNMOVABLE = 0;
const MT_MOVABLE = 1;
const MT_RECLAIMABLE = 2;
const NR_ORDERS = MAX_ORDER + 1;
const PAGEBLOCK_PAGES = 2 ** PAGEBLOCK_ORDER;
const MAX_BLOCK = 2 ** MAX_ORDER;
/** Zone indices in allocation preference order (the zonelist of a highmem/movable request). */
const ZONE_PREFERENCE: readonly number[] = [2, 1, 0];
/** The kernel's `fallbacks[]` table: which types a request may steal from, in order. */
const FALLBACKS: readonly (readonly number[])[] = [
  [MT_RECLAIMABLE, MT_MOVABLE],
  [MT_RECLAIMABLE, MT_UNMOVABLE],
  [MT_UNMOVABLE, MT_MOVABLE],
];

function zoneIndex(pfn: number): number {
  return pfn < DMA_END_PFN ? 0 : pfn < DMA32_END_PFN ? 1 : 2;
}

function migrateTypeIndex(mt: MigrateType | undefined): number {
  if (mt === undefined) return MT_MOVABLE;
  const i = MIGRATE_TYPES.indexOf(mt);
  if (i < 0) {
    throw new RangeError(
      `Invalid migrate type "${String(mt)}": expected "UNMOVABLE", "MOVABLE" or "RECLAIMABLE"`,
    );
  }
  return i;
}

function checkOrder(order: number): void {
  if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER) {
    throw new RangeError(`Invalid order ${order}: expected an integer from 0 to ${MAX_ORDER}`);
  }
}

/**
 * The buddy allocator of a guest of `pages` 4 KiB pages.
 *
 * Free memory is 99 free lists (3 zones × 11 orders × 3 migrate types),
 * each a bitmap of block numbers plus a pick stack, and a sparse page bitmap
 * of the pages in free blocks below order 10. Free order-10 blocks live only
 * on their lists (one bit per 1024 pages), so building a 1 TiB guest or
 * taking whole blocks costs nothing per page. Allocated pages are not
 * tracked: a page is allocated when it is in range, above the reserved pages
 * and not free.
 *
 * @example
 * ```ts
 * import { PageAllocator } from "./allocator.ts";
 * import assert from "node:assert/strict";
 * const a = new PageAllocator({ pages: 2_097_152 }); // 8 GiB
 * const before = a.freePageCount;
 * const got = a.allocPages(1_835_008);
 * assert.equal(got.size, 1_835_008);
 * assert.equal(a.freePageCount, before - 1_835_008);
 * a.freePages(got);
 * assert.equal(a.freePageCount, before);
 * a.checkInvariants();
 * ```
 */
export class PageAllocator {
  /** Guest RAM in pages. */
  readonly pages: number;
  /** Pages at the bottom of RAM that are reserved: PFNs `[0, reserved)`. */
  readonly reserved: number;
  /** Capacity of the per-cpu list (0 when disabled). */
  readonly pcpHigh: number;
  #managed: number;
  /** Pages in buddy free blocks of order below MAX_ORDER. */
  #small = new BlockBits();
  #lists: FreeList[] = [];
  #pageblockType: Uint8Array;
  #pcp = new BlockBits();
  #pcpLists: number[][] = [[], [], []];

  /** Builds the allocator with every non-reserved page free, in maximal blocks. */
  constructor(options: AllocatorOptions) {
    const { pages } = options;
    if (!Number.isSafeInteger(pages) || pages <= 0 || pages > MAX_GUEST_PAGES) {
      throw new RangeError(
        `Invalid guest size ${pages} pages: expected an integer from 1 to ${MAX_GUEST_PAGES}`,
      );
    }
    const reserved = options.reserved ?? Math.min(pages, Math.max(256, Math.floor(pages / 100)));
    if (!Number.isSafeInteger(reserved) || reserved < 0 || reserved > pages) {
      throw new RangeError(
        `Invalid reserved page count ${reserved}: expected an integer from 0 to ${pages}`,
      );
    }
    const pcpHigh = options.pcpHigh ?? 0;
    if (!Number.isSafeInteger(pcpHigh) || pcpHigh < 0) {
      throw new RangeError(`Invalid pcpHigh ${pcpHigh}: expected a non-negative integer`);
    }
    this.pages = pages;
    this.reserved = reserved;
    this.pcpHigh = pcpHigh;
    this.#managed = pages - reserved;
    this.#pageblockType = new Uint8Array(Math.ceil(pages / PAGEBLOCK_PAGES)).fill(MT_MOVABLE);
    for (let i = 0; i < ZONES.length * NR_ORDERS * MIGRATE_TYPES.length; i++) {
      this.#lists.push(new FreeList(Math.floor(i / MIGRATE_TYPES.length) % NR_ORDERS));
    }
    const bounds = [0, DMA_END_PFN, DMA32_END_PFN, Infinity];
    for (let z = 0; z < ZONES.length; z++) {
      const start = Math.max(reserved, bounds[z] as number);
      const end = Math.min(pages, bounds[z + 1] as number);
      forEachAlignedBlock(start, end, MAX_ORDER, (pfn, order, count) => {
        this.#list(z, order, MT_MOVABLE).addRun(pfn, count);
        if (order < MAX_ORDER) this.#small.addRange(pfn, 2 ** order);
      });
    }
  }

  /** Exclusive upper bound of PFNs, like the kernel's `max_pfn`. */
  get maxPfn(): number {
    return this.pages;
  }

  /** Pages on buddy free lists plus pages on the per-cpu list. */
  get freePageCount(): number {
    return this.#buddyPages() + this.#pcp.size;
  }

  /** Pages on the per-cpu list. */
  get pcpCount(): number {
    return this.#pcp.size;
  }

  /** The kernel's `totalram_pages`: starts at `pages - reserved`. */
  get managedPages(): number {
    return this.#managed;
  }

  /** Linux `adjust_managed_page_count`: adds `delta` (may be negative) to {@link managedPages}. */
  adjustManagedPageCount(delta: number): void {
    if (!Number.isSafeInteger(delta)) {
      throw new RangeError(`Invalid managed page delta ${delta}: expected an integer`);
    }
    const next = this.#managed + delta;
    if (next < 0 || next > this.pages) {
      throw new RangeError(
        `Cannot adjust managed pages ${this.#managed} by ${delta}: expected a result from 0 to ${this.pages}`,
      );
    }
    this.#managed = next;
  }

  /** Zone of a PFN: DMA below 16 MiB, DMA32 below 4 GiB, Normal above. */
  zoneOf(pfn: number): Zone {
    this.#checkPfn(pfn);
    return ZONES[zoneIndex(pfn)] as Zone;
  }

  /** Migrate type of the pageblock holding `pfn`. */
  pageblockType(pfn: number): MigrateType {
    this.#checkPfn(pfn);
    return MIGRATE_TYPES[this.#typeAt(pfn)] as MigrateType;
  }

  /** Whether `pfn` is on a buddy free list or the per-cpu list. */
  isFree(pfn: number): boolean {
    this.#checkPfn(pfn);
    return this.#buddyHas(pfn) || this.#pcp.has(pfn);
  }

  /** Whether `pfn` is in use and not reserved: allocated by someone. */
  isAllocated(pfn: number): boolean {
    this.#checkPfn(pfn);
    return pfn >= this.reserved && !this.#buddyHas(pfn) && !this.#pcp.has(pfn);
  }

  /** A copy of every free page (buddy free lists and per-cpu list). */
  freeSet(): PageSet {
    const s = this.buddyFreeSet();
    for (const pfn of this.#pcp) s.add(pfn);
    return s;
  }

  /** A copy of the pages on buddy free lists only: what a free-list walk can see. */
  buddyFreeSet(): PageSet {
    const s = this.#small.toPageSet();
    for (let z = 0; z < ZONES.length; z++) {
      for (let mt = 0; mt < MIGRATE_TYPES.length; mt++) {
        for (const pfn of this.#list(z, MAX_ORDER, mt)) s.addRange(pfn, MAX_BLOCK);
      }
    }
    return s;
  }

  /** A copy of the pages on the per-cpu list. */
  pcpSet(): PageSet {
    return PageSet.of(this.#pcp);
  }

  /**
   * Every block on a buddy free list, zone by zone, order by order, migrate
   * type by migrate type (like `free_area[order].free_list[mt]`), each list
   * in ascending PFN order. Do not allocate or free while iterating.
   */
  *freeBlocks(): IterableIterator<FreeBlock> {
    for (let z = 0; z < ZONES.length; z++) {
      for (let order = 0; order < NR_ORDERS; order++) {
        for (let mt = 0; mt < MIGRATE_TYPES.length; mt++) {
          const zone = ZONES[z] as Zone;
          const migrateType = MIGRATE_TYPES[mt] as MigrateType;
          for (const pfn of this.#list(z, order, mt)) yield { pfn, order, zone, migrateType };
        }
      }
    }
  }

  /**
   * Adds to `into` every PFN in `[start, end)` that lies in a buddy free
   * block (blocks are clipped at the range; per-cpu pages are not included).
   * Works 32 pages at a time. Returns how many PFNs were newly added to `into`.
   */
  scanFreeRange(start: number, end: number, into: PageSet): number {
    if (
      !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start ||
      end > this.pages
    ) {
      throw new RangeError(
        `Invalid scan range [${start}, ${end}): expected integers with 0 <= start <= end <= ${this.pages}`,
      );
    }
    let added = copyRange(this.#small, start, end, into);
    for (let h = start - (start % MAX_BLOCK); h < end; h += MAX_BLOCK) {
      if (!this.#maxFree(h)) continue;
      const a = Math.max(h, start);
      added += into.addRange(a, Math.min(h + MAX_BLOCK, end) - a);
    }
    return added;
  }

  /** Allocates one order-0 page: from the per-cpu list first, else from the buddy lists. */
  allocPage(migrateType?: MigrateType): number | undefined {
    const mt = migrateTypeIndex(migrateType);
    const fromPcp = this.#pcpLists[mt]?.pop();
    if (fromPcp !== undefined) {
      this.#pcp.delete(fromPcp);
      return fromPcp;
    }
    const got = this.#rmqueue(0, mt);
    if (got === undefined) return undefined;
    return this.#expand(got.pfn, got.order, 0);
  }

  /** Allocates one naturally aligned block of 2^order pages; returns its first PFN. */
  allocBlock(order: number, migrateType?: MigrateType): number | undefined {
    checkOrder(order);
    if (order === 0) return this.allocPage(migrateType);
    const got = this.#rmqueue(order, migrateTypeIndex(migrateType));
    if (got === undefined) return undefined;
    return this.#expand(got.pfn, got.order, order);
  }

  /**
   * Allocates up to `count` order-0 pages (fewer when memory runs out):
   * per-cpu pages first, then whole free blocks, largest first, zone by zone
   * (Normal, DMA32, DMA) and the requested migrate type before its fallbacks;
   * only the last block taken is split. Costs O(blocks + count / 32).
   */
  allocPages(count: number, migrateType?: MigrateType): PageSet {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`Invalid page count ${count}: expected a non-negative integer`);
    }
    const mt = migrateTypeIndex(migrateType);
    const out = new PageSet();
    let remaining = count;
    const pcpList = this.#pcpLists[mt] as number[];
    while (remaining > 0 && pcpList.length > 0) {
      const pfn = pcpList.pop() as number;
      this.#pcp.delete(pfn);
      out.add(pfn);
      remaining--;
    }
    for (const z of ZONE_PREFERENCE) {
      // A steal can claim a pageblock and move its other free blocks onto the
      // requested type's lists, already walked: walk again until nothing moves.
      let progressed = true;
      while (progressed && remaining > 0) {
        progressed = false;
        for (const from of [mt, ...(FALLBACKS[mt] as number[])]) {
          for (let order = MAX_ORDER; order >= 0 && remaining > 0; order--) {
            const size = 2 ** order;
            const list = this.#list(z, order, from);
            while (size <= remaining) {
              const pfn = list.pop();
              if (pfn === undefined) break;
              if (from !== mt) this.#steal(pfn, order, mt, from);
              if (order < MAX_ORDER) this.#small.deleteRange(pfn, size);
              out.addRange(pfn, size);
              remaining -= size;
              progressed = true;
            }
          }
        }
      }
    }
    if (remaining > 0) {
      // Every free block is now larger than `remaining`: split one.
      const got = this.#rmqueue(Math.ceil(Math.log2(remaining)), mt);
      if (got !== undefined) {
        const { pfn, order } = got;
        if (order < MAX_ORDER) this.#small.deleteRange(pfn, remaining);
        else this.#small.addRange(pfn + remaining, MAX_BLOCK - remaining);
        out.addRange(pfn, remaining);
        const z = zoneIndex(pfn);
        forEachAlignedBlock(pfn + remaining, pfn + 2 ** order, MAX_ORDER, (p, o, n) => {
          for (let i = 0; i < n; i++) {
            const q = p + i * 2 ** o;
            this.#list(z, o, this.#typeAt(q)).add(q);
          }
        });
      }
    }
    return out;
  }

  /**
   * Frees one order-0 page: onto the per-cpu list while it holds fewer than
   * `pcpHigh` pages, else to the buddy lists with merging.
   */
  freePage(pfn: number): void {
    this.#checkAllocated(pfn, 1);
    if (this.#pcp.size < this.pcpHigh) {
      this.#pcp.add(pfn);
      (this.#pcpLists[this.#typeAt(pfn)] as number[]).push(pfn);
      return;
    }
    this.#freeToBuddy(pfn, 0);
  }

  /**
   * Frees every page of a set, bypassing the per-cpu list: each run is cut
   * into maximal naturally aligned blocks, each freed with buddy merging.
   * Checks every page first, so a bad set frees nothing. Costs O(blocks).
   */
  freePages(pages: PageSet): void {
    const runs = [...pages.runs()];
    for (const r of runs) this.#checkAllocated(r.start, r.length);
    for (const r of runs) {
      forEachAlignedBlock(r.start, r.start + r.length, MAX_ORDER, (pfn, order, count) => {
        for (let i = 0; i < count; i++) this.#freeToBuddy(pfn + i * 2 ** order, order);
      });
    }
  }

  /** Frees a naturally aligned block of 2^order allocated pages, with buddy merging. */
  freeBlock(pfn: number, order: number): void {
    checkOrder(order);
    this.#checkPfn(pfn);
    if (pfn % 2 ** order !== 0) {
      throw new RangeError(
        `Cannot free block at PFN ${pfn}: expected a PFN aligned to its order ${order} (a multiple of ${
          2 ** order
        })`,
      );
    }
    this.#checkAllocated(pfn, 2 ** order);
    this.#freeToBuddy(pfn, order);
  }

  /**
   * Takes one free block off its buddy list as it is, without splitting or
   * merging (the kernel's `__isolate_free_page`, as page reporting does):
   * its pages become allocated. Returns false when no free block of exactly
   * that order starts at `pfn`.
   */
  isolateBlock(pfn: number, order: number): boolean {
    checkOrder(order);
    this.#checkPfn(pfn);
    if (pfn % 2 ** order !== 0 || pfn + 2 ** order > this.pages) return false;
    if (!this.#list(zoneIndex(pfn), order, this.#typeAt(pfn)).delete(pfn)) return false;
    if (order < MAX_ORDER) this.#small.deleteRange(pfn, 2 ** order);
    return true;
  }

  /** Returns every per-cpu page to the buddy lists (the kernel's `drain_all_pages`). */
  drainPcp(): void {
    for (const list of this.#pcpLists) {
      for (const pfn of list) {
        this.#pcp.delete(pfn);
        this.#freeToBuddy(pfn, 0);
      }
      list.length = 0;
    }
  }

  /**
   * Throws an `Error` describing the first broken invariant: free pages out
   * of range or reserved; pages both on buddy and per-cpu lists; free blocks
   * misaligned, overlapping, in the wrong zone or on the wrong migrate-type
   * list; two free buddies of one order left unmerged; counts that disagree.
   */
  checkInvariants(): void {
    const fail = (what: string): never => {
      throw new Error(`Allocator invariant broken: ${what}`);
    };
    const seen = new PageSet();
    const seenSmall = new PageSet();
    let listed = 0;
    for (let z = 0; z < ZONES.length; z++) {
      for (let order = 0; order < NR_ORDERS; order++) {
        const size = 2 ** order;
        for (let mt = 0; mt < MIGRATE_TYPES.length; mt++) {
          const list = this.#list(z, order, mt);
          if (!list.stackCoversMembers()) fail(`a ${ZONES[z]} order-${order} list lost blocks`);
          for (const pfn of list) {
            const at = `free block ${pfn} of order ${order}`;
            if (pfn % size !== 0) fail(`${at} is not aligned`);
            if (pfn < this.reserved || pfn + size > this.pages) fail(`${at} is out of range`);
            if (zoneIndex(pfn) !== z || zoneIndex(pfn + size - 1) !== z) {
              fail(`${at} is not within zone ${ZONES[z]}`);
            }
            for (let p = pfn; p < pfn + size; p += PAGEBLOCK_PAGES) {
              if (this.#typeAt(p) !== mt) fail(`${at} is on the ${MIGRATE_TYPES[mt]} list`);
            }
            if (seen.addRange(pfn, size) !== size) fail(`${at} overlaps another free block`);
            if (order < MAX_ORDER) seenSmall.addRange(pfn, size);
            if (order < MAX_ORDER) {
              const buddy = pfn % (2 * size) === 0 ? pfn + size : pfn - size;
              for (let bmt = 0; bmt < MIGRATE_TYPES.length; bmt++) {
                if (this.#list(z, order, bmt).has(buddy)) fail(`${at} has a free buddy ${buddy}`);
              }
            }
            listed += size;
          }
        }
      }
    }
    if (!seenSmall.equals(this.#small.toPageSet())) {
      fail(`free lists of orders below ${MAX_ORDER} disagree with the free page bitmap`);
    }
    if (listed !== this.#buddyPages()) {
      fail(`free lists hold ${listed} pages but the free page count is ${this.#buddyPages()}`);
    }
    const pcpListed = this.#pcpLists.reduce((n, l) => n + l.length, 0);
    if (pcpListed !== this.#pcp.size) {
      fail(`per-cpu lists hold ${pcpListed} pages, expected ${this.#pcp.size}`);
    }
    for (const pfn of this.#pcpLists.flat()) {
      if (!this.#pcp.has(pfn)) fail(`per-cpu page ${pfn} is listed but not marked`);
      if (pfn < this.reserved || pfn >= this.pages) fail(`per-cpu page ${pfn} is out of range`);
      if (seen.has(pfn)) fail(`page ${pfn} is on both a buddy and the per-cpu list`);
    }
    if (this.#pcp.size > this.pcpHigh) fail(`per-cpu list holds more than ${this.pcpHigh} pages`);
    if (this.#managed < 0 || this.#managed > this.pages) fail(`managed pages ${this.#managed}`);
  }

  #list(zone: number, order: number, mt: number): FreeList {
    return this.#lists[(zone * NR_ORDERS + order) * MIGRATE_TYPES.length + mt] as FreeList;
  }

  #typeAt(pfn: number): number {
    return this.#pageblockType[Math.floor(pfn / PAGEBLOCK_PAGES)] as number;
  }

  /** Whether the free order-10 block starting at `pfn` (a multiple of 1024) exists. */
  #maxFree(pfn: number): boolean {
    return pfn + MAX_BLOCK <= this.pages &&
      this.#list(zoneIndex(pfn), MAX_ORDER, this.#typeAt(pfn)).has(pfn);
  }

  /** Whether `pfn` lies in a buddy free block. */
  #buddyHas(pfn: number): boolean {
    return this.#small.has(pfn) || this.#maxFree(pfn - (pfn % MAX_BLOCK));
  }

  /** Pages on the buddy free lists. */
  #buddyPages(): number {
    let blocks = 0;
    for (let z = 0; z < ZONES.length; z++) {
      for (let mt = 0; mt < MIGRATE_TYPES.length; mt++) blocks += this.#list(z, MAX_ORDER, mt).size;
    }
    return this.#small.size + blocks * MAX_BLOCK;
  }

  /** The first PFN of `[start, end)` in a buddy free block, or -1. */
  #firstBuddyFree(start: number, end: number): number {
    for (let h = start - (start % MAX_BLOCK); h < end; h += MAX_BLOCK) {
      const a = Math.max(h, start);
      const b = Math.min(h + MAX_BLOCK, end);
      if (this.#maxFree(h)) return a;
      const p = firstInRange(this.#small, a, b);
      if (p >= 0) return p;
    }
    return -1;
  }

  /** Whether every pageblock of `[pfn, pfn + pages)` has type `mt`. */
  #sameType(pfn: number, pages: number, mt: number): boolean {
    for (let p = pfn; p < pfn + pages; p += PAGEBLOCK_PAGES) {
      if (this.#typeAt(p) !== mt) return false;
    }
    return true;
  }

  #setTypes(pfn: number, pages: number, mt: number): void {
    const first = Math.floor(pfn / PAGEBLOCK_PAGES);
    this.#pageblockType.fill(mt, first, first + Math.ceil(pages / PAGEBLOCK_PAGES));
  }

  #checkPfn(pfn: number): void {
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn >= this.pages) {
      throw new RangeError(`Invalid PFN ${pfn}: expected an integer from 0 to ${this.pages - 1}`);
    }
  }

  /** Throws unless every page of `[pfn, pfn + length)` is allocated. */
  #checkAllocated(pfn: number, length: number): void {
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn + length > this.pages) {
      const bad = Number.isSafeInteger(pfn) && pfn >= 0 ? Math.max(pfn, this.pages) : pfn;
      throw new RangeError(
        `Cannot free PFN ${bad}: expected an integer PFN from 0 to ${this.pages - 1}`,
      );
    }
    if (pfn < this.reserved) {
      throw new RangeError(
        `Cannot free PFN ${pfn}: expected an allocated page, but it is reserved (PFNs below ${this.reserved})`,
      );
    }
    const end = pfn + length;
    const free = this.#firstBuddyFree(pfn, end);
    if (free >= 0) {
      throw new RangeError(
        `Cannot free PFN ${free}: expected an allocated page, but it is already free (double free)`,
      );
    }
    const pcp = firstInRange(this.#pcp, pfn, end);
    if (pcp >= 0) {
      throw new RangeError(
        `Cannot free PFN ${pcp}: expected an allocated page, but it is already free on the per-cpu list (double free)`,
      );
    }
  }

  /** Frees allocated pages `[pfn, pfn + 2^order)` to the buddy lists, merging with free buddies. */
  #freeToBuddy(pfn: number, order: number): void {
    if (order > PAGEBLOCK_ORDER) {
      // An order-10 block cannot merge further: list it whole when its
      // pageblocks agree; else, like the kernel's split_large_buddy(), free
      // each pageblock with its own type.
      const mt = this.#typeAt(pfn);
      if (this.#sameType(pfn, 2 ** order, mt)) {
        this.#list(zoneIndex(pfn), order, mt).add(pfn);
        return;
      }
      for (let p = pfn; p < pfn + 2 ** order; p += PAGEBLOCK_PAGES) {
        this.#freeToBuddy(p, PAGEBLOCK_ORDER);
      }
      return;
    }
    this.#small.addRange(pfn, 2 ** order);
    const zone = zoneIndex(pfn);
    const mt = this.#typeAt(pfn);
    let p = pfn;
    let k = order;
    while (k < MAX_ORDER) {
      const size = 2 ** k;
      const buddy = p % (2 * size) === 0 ? p + size : p - size;
      if (buddy + size > this.pages) break;
      const bmt = this.#typeAt(buddy);
      if (!this.#list(zone, k, bmt).delete(buddy)) break;
      // Merging pageblocks of different types: the buddy takes ours, as in __free_one_page().
      if (bmt !== mt) this.#setTypes(buddy, size, mt);
      p = Math.min(p, buddy);
      k++;
    }
    if (k === MAX_ORDER) this.#small.deleteRange(p, MAX_BLOCK);
    this.#list(zone, k, mt).add(p);
  }

  /**
   * Takes a free block of at least 2^order pages off its list, preferring
   * zones Normal, DMA32, DMA; within a zone the smallest block of type `mt`,
   * else a block stolen from a fallback type (the kernel's __rmqueue()).
   * The block's pages stay marked free; the caller splits and allocates.
   */
  #rmqueue(order: number, mt: number): { pfn: number; order: number } | undefined {
    const fallbacks = FALLBACKS[mt] as number[];
    for (const z of ZONE_PREFERENCE) {
      for (let k = order; k <= MAX_ORDER; k++) {
        const pfn = this.#list(z, k, mt).pop();
        if (pfn !== undefined) return { pfn, order: k };
      }
      // __rmqueue_fallback(): largest block first, unless it is too small to
      // claim its pageblock for a movable request, then the smallest.
      let found: { k: number; from: number } | undefined;
      for (let k = MAX_ORDER; k >= order && found === undefined; k--) {
        for (const from of fallbacks) {
          if (this.#list(z, k, from).size > 0) {
            found = { k, from };
            break;
          }
        }
      }
      if (found === undefined) continue;
      if (!canSteal(found.k, mt) && mt === MT_MOVABLE && found.k > order) {
        smallest: for (let k = order; k <= MAX_ORDER; k++) {
          for (const from of fallbacks) {
            if (this.#list(z, k, from).size > 0) {
              found = { k, from };
              break smallest;
            }
          }
        }
      }
      const pfn = this.#list(z, found.k, found.from).pop() as number;
      this.#steal(pfn, found.k, mt, found.from);
      return { pfn, order: found.k };
    }
    return undefined;
  }

  /**
   * A block of type `from` (already off its list) is being taken for a
   * request of type `mt`: convert its pageblocks when it spans whole ones,
   * or claim its pageblock when stealing is allowed and at least half of the
   * pageblock is free (the kernel's steal_suitable_fallback()).
   */
  #steal(pfn: number, blockOrder: number, mt: number, from: number): void {
    if (blockOrder >= PAGEBLOCK_ORDER) {
      this.#setTypes(pfn, 2 ** blockOrder, mt);
      return;
    }
    if (!canSteal(blockOrder, mt)) return;
    const start = pfn - (pfn % PAGEBLOCK_PAGES);
    const end = Math.min(start + PAGEBLOCK_PAGES, this.pages);
    // No free order-10 block can hold this pageblock: `block` lies in it.
    if (countInRange(this.#small, start, end) < PAGEBLOCK_PAGES / 2) return;
    this.#setTypes(start, PAGEBLOCK_PAGES, mt);
    const zone = zoneIndex(start);
    for (let k = 0; k < PAGEBLOCK_ORDER; k++) {
      const old = this.#list(zone, k, from);
      const next = this.#list(zone, k, mt);
      for (const p of old.within(start, end)) {
        old.delete(p);
        next.add(p);
      }
    }
  }

  /** Allocates the low 2^want pages of a free block of 2^order pages, freeing the upper halves. */
  #expand(pfn: number, order: number, want: number): number {
    const zone = zoneIndex(pfn);
    for (let k = order - 1; k >= want; k--) {
      const half = pfn + 2 ** k;
      this.#list(zone, k, this.#typeAt(half)).add(half);
    }
    if (order === MAX_ORDER) {
      if (want < MAX_ORDER) this.#small.addRange(pfn + 2 ** want, MAX_BLOCK - 2 ** want);
    } else {
      this.#small.deleteRange(pfn, 2 ** want);
    }
    return pfn;
  }
}

/** The kernel's can_steal_fallback(): may a request claim the pageblock of a block of this order? */
function canSteal(blockOrder: number, mt: number): boolean {
  return blockOrder >= PAGEBLOCK_ORDER / 2 || mt === MT_UNMOVABLE || mt === MT_RECLAIMABLE;
}
