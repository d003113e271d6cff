import assert from "node:assert/strict";
import fc from "fast-check";
import { PageSet } from "../spec/mod.ts";
import { type FreeBlock, MAX_ORDER, type MigrateType, PageAllocator } from "./allocator.ts";

const GIB8 = 2_097_152;
const TIB1 = 268_435_456;

function blocksOf(a: PageAllocator): FreeBlock[] {
  return [...a.freeBlocks()];
}

function countOrder(a: PageAllocator, order: number): number {
  let n = 0;
  for (const b of a.freeBlocks()) if (b.order === order) n++;
  return n;
}

Deno.test("PageAllocator() builds an 8 GiB guest with every non-reserved page free", () => {
  const a = new PageAllocator({ pages: GIB8 });
  assert.equal(a.reserved, 20_971);
  assert.equal(a.freePageCount, GIB8 - 20_971);
  assert.equal(a.managedPages, GIB8 - 20_971);
  assert.equal(a.maxPfn, GIB8);
  assert.equal(a.isAllocated(0), false);
  assert.equal(a.isFree(20_970), false);
  assert.equal(a.isFree(20_971), true);
  // [20971, 21504) in small blocks, then 2027 order-10 blocks
  assert.equal(countOrder(a, MAX_ORDER), (GIB8 - 21_504) / 1024);
  a.checkInvariants();
});

Deno.test("PageAllocator() builds a 1 TiB guest with every non-reserved page free", () => {
  const a = new PageAllocator({ pages: TIB1 });
  const reserved = Math.floor(TIB1 / 100);
  assert.equal(a.reserved, reserved);
  assert.equal(a.freePageCount, TIB1 - reserved);
  assert.equal(a.buddyFreeSet().size, TIB1 - reserved);
  assert.equal(a.isFree(TIB1 - 1), true);
  assert.equal(a.zoneOf(TIB1 - 1), "Normal");
});

Deno.test("PageAllocator() reserves at least 256 pages and rejects bad options", () => {
  assert.equal(new PageAllocator({ pages: 1000 }).reserved, 256);
  assert.equal(new PageAllocator({ pages: 100 }).freePageCount, 0);
  assert.equal(new PageAllocator({ pages: 100, reserved: 0 }).freePageCount, 100);
  assert.throws(() => new PageAllocator({ pages: 0 }), RangeError);
  assert.throws(() => new PageAllocator({ pages: 1.5 }), RangeError);
  assert.throws(() => new PageAllocator({ pages: 10, reserved: 11 }), /reserved page count 11/);
  assert.throws(() => new PageAllocator({ pages: 10, pcpHigh: -1 }), RangeError);
});

Deno.test("allocPages() takes 1,835,008 distinct free pages of an 8 GiB guest", () => {
  const a = new PageAllocator({ pages: GIB8 });
  const before = a.freeSet();
  const got = a.allocPages(1_835_008);
  assert.equal(got.size, 1_835_008);
  assert.ok(got.isSubsetOf(before));
  assert.equal(got.intersectionSize(a.freeSet()), 0);
  assert.equal(a.freePageCount, before.size - 1_835_008);
  for (const pfn of [got.min(), got.max()]) assert.equal(a.isAllocated(pfn as number), true);
  a.checkInvariants();
});

Deno.test("freePages() merges an 8 GiB bulk allocation back into the original blocks", () => {
  const a = new PageAllocator({ pages: GIB8 });
  const original = blocksOf(a);
  const got = a.allocPages(1_835_008);
  assert.ok(countOrder(a, MAX_ORDER) < 2027 - 1700);
  a.freePages(got);
  assert.deepEqual(blocksOf(a), original);
  assert.equal(countOrder(a, MAX_ORDER), 2027);
  a.checkInvariants();
});

Deno.test("allocPages() splits only the last block and returns what memory allows", () => {
  const a = new PageAllocator({ pages: 8192, reserved: 0 });
  const got = a.allocPages(1500);
  assert.equal(got.size, 1500);
  // one whole order-10 block, then 476 pages from the low end of another
  assert.deepEqual([...got.runs()].map((r) => r.length).sort((x, y) => x - y), [476, 1024]);
  a.checkInvariants();
  const rest = a.allocPages(10_000);
  assert.equal(rest.size, 8192 - 1500);
  assert.equal(a.freePageCount, 0);
  assert.equal(a.allocPage(), undefined);
  assert.equal(a.allocPages(5).size, 0);
  a.checkInvariants();
});

Deno.test("allocPage() splits a block and freePage() merges the buddies back", () => {
  const a = new PageAllocator({ pages: 2048, reserved: 0 });
  const pfn = a.allocPage() as number;
  assert.equal(a.isAllocated(pfn), true);
  // the order-10 block was split: one free block of each order 0..9
  const orders = blocksOf(a).map((b) => b.order).sort((x, y) => x - y);
  assert.deepEqual(orders, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  a.checkInvariants();
  a.freePage(pfn);
  assert.deepEqual(blocksOf(a).map((b) => [b.pfn, b.order]), [[0, 10], [1024, 10]]);
  a.checkInvariants();
});

Deno.test("freeBlock() of two buddies of order 3 leaves one merged order-4 block", () => {
  const a = new PageAllocator({ pages: 16, reserved: 0 });
  const lo = a.allocBlock(3) as number;
  const hi = a.allocBlock(3) as number;
  assert.deepEqual([lo, hi].sort((x, y) => x - y), [0, 8]);
  assert.equal(a.freePageCount, 0);
  a.freeBlock(lo, 3);
  assert.deepEqual(blocksOf(a).map((b) => [b.pfn, b.order]), [[lo, 3]]);
  a.freeBlock(hi, 3);
  assert.deepEqual(blocksOf(a).map((b) => [b.pfn, b.order]), [[0, 4]]);
  assert.throws(() => a.freeBlock(4, 3), /aligned to its order 3/);
  a.checkInvariants();
});

Deno.test("freePage() parks pages on the pcp list, where free-list scans cannot see them", () => {
  const a = new PageAllocator({ pages: 4096, reserved: 0, pcpHigh: 2 });
  const [p1, p2, p3] = [a.allocPage(), a.allocPage(), a.allocPage()] as number[];
  const free = a.freePageCount;
  a.freePage(p1 as number);
  a.freePage(p2 as number);
  a.freePage(p3 as number); // pcp is full: straight to buddy
  assert.equal(a.pcpCount, 2);
  assert.equal(a.freePageCount, free + 3);
  for (const p of [p1, p2] as number[]) {
    assert.equal(a.isFree(p), true);
    assert.equal(a.isAllocated(p), false);
    assert.equal(a.buddyFreeSet().has(p), false);
    assert.equal(a.freeSet().has(p), true);
    assert.ok(blocksOf(a).every((b) => p < b.pfn || p >= b.pfn + 2 ** b.order));
  }
  assert.equal(a.buddyFreeSet().has(p3 as number), true);
  assert.throws(() => a.freePage(p1 as number), /per-cpu list/);
  a.checkInvariants();
  assert.equal(a.allocPage(), p2); // LIFO from pcp
  a.drainPcp();
  assert.equal(a.pcpCount, 0);
  assert.equal(a.buddyFreeSet().has(p1 as number), true);
  a.freePage(p2 as number);
  a.drainPcp();
  assert.deepEqual(blocksOf(a).map((b) => [b.pfn, b.order]), [[0, 10], [1024, 10], [2048, 10], [
    3072,
    10,
  ]]);
  a.checkInvariants();
});

Deno.test("freePage() rejects a double free, a reserved page and an out-of-range PFN", () => {
  const a = new PageAllocator({ pages: 4096 });
  const pfn = a.allocPage() as number;
  a.freePage(pfn);
  assert.throws(() => a.freePage(pfn), {
    name: "RangeError",
    message:
      `Cannot free PFN ${pfn}: expected an allocated page, but it is already free (double free)`,
  });
  assert.throws(() => a.freePage(3), {
    name: "RangeError",
    message: "Cannot free PFN 3: expected an allocated page, but it is reserved (PFNs below 256)",
  });
  assert.throws(
    () => a.freePage(4096),
    /Cannot free PFN 4096: expected an integer PFN from 0 to 4095/,
  );
  assert.throws(() => a.freePage(-1), RangeError);
  assert.throws(() => a.freeBlock(0, 11), /Invalid order 11/);
  assert.throws(() => a.isFree(5000), /Invalid PFN 5000/);
  assert.throws(() => a.allocPages(-1), /Invalid page count -1/);
  assert.throws(
    () => a.allocPage("HIGHATOMIC" as MigrateType),
    /Invalid migrate type "HIGHATOMIC"/,
  );
  a.checkInvariants();
});

Deno.test("freePages() frees nothing when one page of the set is not allocated", () => {
  const a = new PageAllocator({ pages: 4096, reserved: 0 });
  const got = a.allocPages(100);
  const free = a.freeSet();
  const bad = got.clone();
  bad.add(free.min() as number);
  assert.throws(() => a.freePages(bad), /already free \(double free\)/);
  assert.ok(a.freeSet().equals(free));
  const reserved = new PageAllocator({ pages: 4096, reserved: 300 });
  assert.throws(() => reserved.freePages(PageSet.of([299, 300])), /PFN 299: .*reserved/);
});

Deno.test("adjustManagedPageCount() keeps managedPages within 0..pages", () => {
  const a = new PageAllocator({ pages: 1000, reserved: 0 });
  a.adjustManagedPageCount(-400);
  assert.equal(a.managedPages, 600);
  assert.throws(() => a.adjustManagedPageCount(-601), /expected a result from 0 to 1000/);
  assert.throws(() => a.adjustManagedPageCount(401), RangeError);
  a.adjustManagedPageCount(400);
  assert.equal(a.managedPages, 1000);
});

Deno.test("zoneOf() splits RAM at 16 MiB and 4 GiB and no free block straddles a zone", () => {
  const a = new PageAllocator({ pages: GIB8, reserved: 1000 });
  assert.equal(a.zoneOf(4095), "DMA");
  assert.equal(a.zoneOf(4096), "DMA32");
  assert.equal(a.zoneOf(1_048_575), "DMA32");
  assert.equal(a.zoneOf(1_048_576), "Normal");
  for (const b of a.freeBlocks()) {
    assert.equal(a.zoneOf(b.pfn), b.zone);
    assert.equal(a.zoneOf(b.pfn + 2 ** b.order - 1), b.zone);
  }
  const zones = [...new Set(blocksOf(a).map((b) => b.zone))];
  assert.deepEqual(zones, ["DMA", "DMA32", "Normal"]);
  // allocations prefer Normal, then DMA32, then DMA
  assert.equal(a.zoneOf(a.allocPage() as number), "Normal");
  const normal = a.allocPages(GIB8 - 1_048_576 - 1);
  assert.equal(normal.min(), 1_048_576);
  assert.equal(a.zoneOf(a.allocBlock(10) as number), "DMA32");
  a.allocPages(1_048_576 - 4096 - 1024);
  assert.equal(a.zoneOf(a.allocPage() as number), "DMA");
  a.checkInvariants();
});

Deno.test("an odd-sized guest keeps its tail blocks inside max_pfn", () => {
  const a = new PageAllocator({ pages: 4096 + 1024 + 7, reserved: 3 });
  a.checkInvariants();
  const all = a.allocPages(1e9);
  assert.equal(all.size, 4096 + 1024 + 7 - 3);
  a.freePages(all);
  a.checkInvariants();
  assert.equal(a.freePageCount, 4096 + 1024 + 7 - 3);
});

Deno.test("scanFreeRange() clips free blocks at the range and counts only new pages", () => {
  const a = new PageAllocator({ pages: 4096, reserved: 0 });
  a.allocPages(3072); // leaves one order-10 block
  const [block] = blocksOf(a);
  assert.deepEqual(block, { pfn: 0, order: 10, zone: "DMA", migrateType: "MOVABLE" });
  const into = new PageSet();
  assert.equal(a.scanFreeRange(1000, 3000, into), 24);
  assert.deepEqual([...into.runs()], [{ start: 1000, length: 24 }]);
  assert.equal(a.scanFreeRange(3, 1010, into), 997);
  assert.deepEqual([...into.runs()], [{ start: 3, length: 1021 }]);
  assert.equal(a.scanFreeRange(4000, 4096, into), 0);
  assert.equal(a.scanFreeRange(5, 5, into), 0);
  assert.throws(() => a.scanFreeRange(10, 4097, into), /Invalid scan range \[10, 4097\)/);
  assert.throws(() => a.scanFreeRange(10, 9, into), RangeError);
});

Deno.test("an unmovable allocation steals and converts a whole movable pageblock", () => {
  const a = new PageAllocator({ pages: 2048, reserved: 0 });
  const pfn = a.allocPage("UNMOVABLE") as number;
  assert.equal(a.pageblockType(pfn), "UNMOVABLE");
  const types = new Set(
    blocksOf(a).filter((b) => b.pfn >> 10 === pfn >> 10).map((b) => b.migrateType),
  );
  assert.deepEqual([...types], ["UNMOVABLE"]);
  const next = a.allocPage("UNMOVABLE") as number;
  assert.equal(next >> 10, pfn >> 10); // served from the converted block
  a.checkInvariants();
  a.freePage(next);
  a.freePage(pfn);
  assert.equal(countOrder(a, 10), 2);
  a.checkInvariants();
});

Deno.test("a small unmovable steal claims the pageblock only when half of it is free", () => {
  const a = new PageAllocator({ pages: 1024, reserved: 0 });
  const movable = a.allocPages(1024 - 8 - 512);
  assert.equal(movable.size, 504);
  a.checkInvariants();
  // free: 8 pages in one pageblock (too few to claim) and one whole pageblock
  const lo = a.allocBlock(9, "MOVABLE") as number;
  const pfn = a.allocPage("UNMOVABLE") as number;
  assert.equal(a.pageblockType(pfn), "MOVABLE");
  a.checkInvariants();
  a.freeBlock(lo, 9);
  a.freePage(pfn);
  a.freePages(movable);
  assert.equal(countOrder(a, 10), 1);
  a.checkInvariants();
});

const MTS: readonly MigrateType[] = ["UNMOVABLE", "MOVABLE", "RECLAIMABLE"];

type Op =
  | { kind: "allocPage"; mt: number }
  | { kind: "allocPages"; count: number; mt: number }
  | { kind: "allocBlock"; order: number; mt: number }
  | { kind: "freePage"; pick: number }
  | { kind: "freePages"; pick: number; span: number }
  | { kind: "freeBlock"; pick: number }
  | { kind: "badFree"; pick: number }
  | { kind: "drain" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("allocPage" as const), mt: fc.nat(2) }),
  fc.record({ kind: fc.constant("allocPages" as const), count: fc.nat(3000), mt: fc.nat(2) }),
  fc.record({ kind: fc.constant("allocBlock" as const), order: fc.nat(10), mt: fc.nat(2) }),
  fc.record({ kind: fc.constant("freePage" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("freePages" as const), pick: fc.nat(), span: fc.nat(2000) }),
  fc.record({ kind: fc.constant("freeBlock" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("badFree" as const), pick: fc.nat() }),
  fc.constant({ kind: "drain" as const }),
);

function nth(set: PageSet, i: number): number | undefined {
  if (set.size === 0) return undefined;
  let k = i % set.size;
  for (const r of set.runs()) {
    if (k < r.length) return r.start + k;
    k -= r.length;
  }
  return undefined;
}

Deno.test("random alloc and free sequences keep the invariants and match a model", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6000 }),
      fc.nat(700),
      fc.nat(6),
      fc.array(opArb, { maxLength: 40 }),
      (pages, reservedWish, pcpHigh, ops) => {
        const reserved = Math.min(pages, reservedWish);
        const a = new PageAllocator({ pages, reserved, pcpHigh });
        const allocated = new PageSet();
        const blocks: [number, number][] = [];
        const check = (): void => {
          a.checkInvariants();
          const model = new PageSet();
          model.addRange(reserved, pages - reserved);
          model.subtract(allocated);
          assert.ok(a.freeSet().equals(model));
          assert.equal(a.freePageCount, model.size);
        };
        const took = (got: PageSet): void => {
          assert.equal(got.intersectionSize(allocated), 0);
          for (const r of got.runs()) assert.ok(r.start >= reserved && r.start + r.length <= pages);
          allocated.unionWith(got);
        };
        for (const op of ops) {
          switch (op.kind) {
            case "allocPage": {
              const pfn = a.allocPage(MTS[op.mt]);
              if (pfn === undefined) assert.equal(a.buddyFreeSet().size, 0);
              else took(PageSet.of([pfn]));
              break;
            }
            case "allocPages": {
              const got = a.allocPages(op.count, MTS[op.mt]);
              assert.ok(got.size <= op.count);
              if (got.size < op.count) assert.equal(a.buddyFreeSet().size, 0);
              took(got);
              break;
            }
            case "allocBlock": {
              const pfn = a.allocBlock(op.order, MTS[op.mt]);
              const size = 2 ** op.order;
              if (pfn === undefined) {
                assert.ok([...a.freeBlocks()].every((b) => b.order < op.order));
              } else {
                assert.equal(pfn % size, 0);
                const got = new PageSet();
                got.addRange(pfn, size);
                took(got);
                blocks.push([pfn, op.order]);
              }
              break;
            }
            case "freePage": {
              const pfn = nth(allocated, op.pick);
              if (pfn === undefined) break;
              a.freePage(pfn);
              allocated.delete(pfn);
              break;
            }
            case "freePages": {
              const from = nth(allocated, op.pick);
              if (from === undefined) break;
              const set = new PageSet();
              set.addRange(from, Math.min(op.span, pages - from));
              const part = set.intersection(allocated);
              a.freePages(part);
              allocated.subtract(part);
              break;
            }
            case "freeBlock": {
              const live = blocks.filter(([p, o]) =>
                allocated.countRange(p, p + 2 ** o) === 2 ** o
              );
              const blk = live[op.pick % Math.max(1, live.length)];
              if (blk === undefined) break;
              a.freeBlock(blk[0], blk[1]);
              allocated.deleteRange(blk[0], 2 ** blk[1]);
              break;
            }
            case "badFree": {
              const pfn = op.pick % pages;
              if (allocated.has(pfn)) break;
              assert.throws(() => a.freePage(pfn), RangeError);
              break;
            }
            case "drain":
              a.drainPcp();
              break;
          }
          check();
        }
      },
    ),
    { numRuns: 150 },
  );
});
