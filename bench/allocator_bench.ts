/**
 * Benchmarks of the buddy allocator model at real guest sizes.
 *
 * @module
 */

import { PageSet } from "../spec/mod.ts";
import { PageAllocator } from "../impl/allocator.ts";

const GIB = 262_144; // 4 KiB pages per GiB

const guest8 = new PageAllocator({ pages: 8 * GIB });

Deno.bench("allocPages(1,835,008) + freePages() on an 8 GiB guest", { group: "bulk" }, () => {
  guest8.freePages(guest8.allocPages(1_835_008));
});

Deno.bench("allocPage() + freePage() x 100,000 on an 8 GiB guest", { group: "single" }, () => {
  const got: number[] = [];
  for (let i = 0; i < 100_000; i++) got.push(guest8.allocPage() as number);
  for (const pfn of got) guest8.freePage(pfn);
});

Deno.bench("construct an 8 GiB guest", { group: "construct" }, () => {
  new PageAllocator({ pages: 8 * GIB });
});

Deno.bench("construct a 1 TiB guest", { group: "construct" }, () => {
  new PageAllocator({ pages: 1024 * GIB });
});

/** A 64 GiB guest with about half its memory free in runs of 1 to 64 pages. */
function fragmented(): PageAllocator {
  const a = new PageAllocator({ pages: 64 * GIB });
  const all = a.allocPages(a.freePageCount);
  const toFree = new PageSet();
  let seed = 0x9e3779b9;
  const next = (): number => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed;
  };
  for (let p = a.reserved; p < a.pages;) {
    const run = 1 + (next() % 64);
    toFree.addRange(p, Math.min(run, a.pages - p));
    p += run + 1 + (next() % 64);
  }
  a.freePages(toFree.intersection(all));
  return a;
}

const guest64 = fragmented();

Deno.bench("scanFreeRange() over a 32 GiB window of a fragmented 64 GiB guest", () => {
  guest64.scanFreeRange(8 * GIB, 40 * GIB, new PageSet());
});

/** A 16 GiB guest, fully allocated, and a scattered half of it (runs of 1 to 64 pages). */
function scattered(): { a: PageAllocator; half: PageSet } {
  const a = new PageAllocator({ pages: 16 * GIB });
  a.allocPages(a.freePageCount);
  const half = new PageSet();
  let seed = 12_345;
  for (let p = a.reserved; p < a.pages;) {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    const run = 1 + (seed % 64);
    half.addRange(p, Math.min(run, a.pages - p));
    p += 2 * run;
  }
  return { a, half };
}

const churn = scattered();

Deno.bench("freePages() + allocPages() of a scattered half of a 16 GiB guest", () => {
  churn.a.freePages(churn.half);
  churn.a.allocPages(churn.half.size);
});

const full8 = new PageAllocator({ pages: 8 * GIB, pcpHigh: 0 });
full8.allocPages(full8.freePageCount);
const lone = full8.reserved + 12_345;
full8.freePage(lone);

Deno.bench("allocPage() + freePage() x 100,000 of one page in a full 8 GiB guest", () => {
  for (let i = 0; i < 100_000; i++) full8.freePage(full8.allocPage() as number);
});

const pcp8 = new PageAllocator({ pages: 8 * GIB, pcpHigh: 64 });

Deno.bench("freePage() + allocPage() x 100,000 through the pcp list on an 8 GiB guest", () => {
  for (let i = 0; i < 100_000; i++) pcp8.freePage(pcp8.allocPage() as number);
});
