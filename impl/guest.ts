/**
 * The guest environment a balloon driver lives in: memory, the buddy
 * allocator, the managed-page count, OOM notifiers, event counters for
 * statistics, and a workload that allocates and writes pages.
 *
 * @module
 */

import { PageSet, type ProfileId, type StatEntry } from "../spec/mod.ts";
import { type MigrateType, PageAllocator } from "./allocator.ts";
import { guestStatistics } from "./driver/stats.ts";
import { GuestMemory } from "./memory.ts";
import { Scheduler, type TaskBody } from "./scheduler.ts";

/** An OOM notifier: a task body that returns how many 4 KiB pages it freed. */
export type OomNotifier = () => TaskBody<number>;

/** Options of {@link GuestEnv}. */
export interface GuestOptions {
  /** Guest RAM in 4 KiB pages. */
  readonly pages: number;
  /** Pages held by the kernel at the bottom of RAM (see the allocator's default). */
  readonly reserved?: number;
  /** Per-CPU free list capacity (0 = off). */
  readonly pcpHigh?: number;
  /** An existing scheduler to share with the host side. */
  readonly sched?: Scheduler;
  /**
   * Guest RAM of another kind (default: a {@link GuestMemory} of `pages`
   * pages), e.g. memory reached through a protocol; it must have `pages` pages.
   */
  readonly memory?: GuestMemory;
  /**
   * A page allocator of another kind (default: a {@link PageAllocator} of
   * `pages` pages, `reserved` and `pcpHigh` as given), e.g. one reached
   * through a protocol; it must have `pages` pages.
   */
  readonly allocator?: PageAllocator;
  /**
   * Write every page the balloon driver gives back as soon as it is freed
   * (a guest hungry for memory): makes any reuse before the deflate ack
   * visible to a write watch.
   */
  readonly touchOnFree?: boolean;
  /**
   * The 32-bit value the guest's free pages are initialised to (Linux:
   * `page_poison=1` gives 0xaaaaaaaa, `init_on_free=1` gives 0), or none
   * when freed pages keep whatever they held (the Debian default). A driver
   * tells the device with PAGE_POISON (B02, B03, B55).
   */
  readonly pagePoison?: number;
}

/** Why the balloon driver gave pages back to the guest. */
export type ReturnReason = "deflate" | "hint" | "report";

/** Told when the balloon driver gives pages back to the guest. */
export type ReturnListener = (pages: PageSet, reason: ReturnReason) => void;

/** Guest-side event counters reported through the stats queue. */
export interface GuestCounters {
  /** Bytes swapped in. */
  swapIn: bigint;
  /** Bytes swapped out. */
  swapOut: bigint;
  /** Major faults. */
  majorFaults: bigint;
  /** Minor faults. */
  minorFaults: bigint;
  /** Page cache bytes. */
  caches: bigint;
}

/**
 * A guest: memory, allocator and scheduler, plus OOM notifiers and a workload.
 *
 * @example
 * ```ts
 * import { GuestEnv } from "./guest.ts";
 * import assert from "node:assert/strict";
 * const g = new GuestEnv({ pages: 262_144 }); // 1 GiB
 * const used = g.useMemory(1000);
 * assert.equal(used.size, 1000);
 * assert.equal(g.mem.storedPages, 1000);
 * ```
 */
export class GuestEnv {
  /** Guest RAM. */
  readonly mem: GuestMemory;
  /** The buddy allocator. */
  readonly alloc: PageAllocator;
  /** The scheduler. */
  readonly sched: Scheduler;
  /** Event counters for stats. */
  readonly counters: GuestCounters = {
    swapIn: 0n,
    swapOut: 0n,
    majorFaults: 0n,
    minorFaults: 0n,
    caches: 0n,
  };
  /** Pages the workload holds. */
  readonly workload: PageSet = new PageSet();
  /** Whether freed balloon pages are written at once (see {@link GuestOptions.touchOnFree}). */
  touchOnFree: boolean;
  /** The value freed pages are initialised to, if the guest initialises them. */
  readonly pagePoison: number | undefined;
  #returnListeners: ReturnListener[] = [];
  #freeListeners: ((pages: PageSet) => void)[] = [];
  #notifiers: { priority: number; fn: OomNotifier; name: string }[] = [];

  /** Builds a guest of `pages` 4 KiB pages. */
  constructor(options: GuestOptions) {
    this.mem = options.memory ?? new GuestMemory({ pages: options.pages });
    this.alloc = options.allocator ?? new PageAllocator({
      pages: options.pages,
      ...(options.reserved === undefined ? {} : { reserved: options.reserved }),
      ...(options.pcpHigh === undefined ? {} : { pcpHigh: options.pcpHigh }),
    });
    for (const [what, pages] of [["memory", this.mem.pages], ["allocator", this.alloc.pages]]) {
      if (pages !== options.pages) {
        throw new RangeError(
          `Invalid guest ${what}: it has ${pages} pages, expected the guest's ${options.pages}`,
        );
      }
    }
    this.sched = options.sched ?? new Scheduler();
    this.touchOnFree = options.touchOnFree ?? false;
    if (
      options.pagePoison !== undefined &&
      (!Number.isInteger(options.pagePoison) || options.pagePoison < 0 ||
        options.pagePoison > 0xffff_ffff)
    ) {
      throw new RangeError(
        `Invalid pagePoison ${options.pagePoison}: expected a 32-bit unsigned integer`,
      );
    }
    this.pagePoison = options.pagePoison;
  }

  /** Registers an OOM notifier; higher priority runs first. Returns an unregister function. */
  registerOomNotifier(name: string, priority: number, fn: OomNotifier): () => void {
    const entry = { priority, fn, name };
    this.#notifiers.push(entry);
    this.#notifiers.sort((a, b) => b.priority - a.priority);
    return () => {
      this.#notifiers = this.#notifiers.filter((n) => n !== entry);
    };
  }

  /**
   * The guest's memory statistics now, by the stats table's tags of
   * `profile`: what a balloon driver puts in a stats buffer.
   */
  statistics(profile: ProfileId): StatEntry[] {
    return guestStatistics(this, profile);
  }

  /** Names of the registered OOM notifiers, in call order. */
  get oomNotifiers(): string[] {
    return this.#notifiers.map((n) => n.name);
  }

  /** Runs every OOM notifier in priority order (a task); returns the pages freed. */
  *oom(): TaskBody<number> {
    let freed = 0;
    for (const n of [...this.#notifiers]) freed += yield* n.fn();
    return freed;
  }

  /**
   * The workload allocates `count` pages and writes each one. Returns the
   * pages it got (fewer when memory runs out; it does not call OOM).
   */
  useMemory(count: number, migrateType: MigrateType = "MOVABLE"): PageSet {
    const got = this.alloc.allocPages(count, migrateType);
    for (const pfn of got) {
      this.mem.touch(pfn, "guest");
      this.counters.minorFaults++;
    }
    this.workload.unionWith(got);
    return got;
  }

  /**
   * The workload allocates `count` pages under pressure: when the allocator
   * runs dry it calls the OOM notifiers once and tries again. A task.
   */
  *useMemoryUnderPressure(count: number): TaskBody<PageSet> {
    const got = this.useMemory(count);
    if (got.size < count) {
      const freed = yield* this.oom();
      if (freed > 0) got.unionWith(this.useMemory(count - got.size));
    }
    return got;
  }

  /** The workload frees pages it holds (all of them by default). */
  releaseMemory(pages?: PageSet): void {
    const set = pages ?? this.workload.clone();
    this.alloc.freePages(set);
    this.workload.subtract(set);
    this.#freed(set);
  }

  /**
   * Registers a listener for memory going back to the free lists (the
   * workload's, or pages the balloon driver gives back other than reported
   * ones), as free page reporting wants to hear (Linux
   * `page_reporting_notify_free`). Returns an unregister function.
   */
  onFree(listener: (pages: PageSet) => void): () => void {
    this.#freeListeners.push(listener);
    return () => {
      this.#freeListeners = this.#freeListeners.filter((l) => l !== listener);
    };
  }

  #freed(pages: PageSet): void {
    for (const l of this.#freeListeners) l(pages);
  }

  /** The workload writes to pages it holds (dirtying them). */
  writeTo(pages: Iterable<number>): void {
    for (const pfn of pages) this.mem.touch(pfn, "guest");
  }

  /** Registers a listener for pages the balloon driver gives back; returns an unregister function. */
  onReturn(listener: ReturnListener): () => void {
    this.#returnListeners.push(listener);
    return () => {
      this.#returnListeners = this.#returnListeners.filter((l) => l !== listener);
    };
  }

  /**
   * Called by the balloon driver after it frees pages back to the allocator
   * (deflated, hinted or reported pages): listeners are told first, then —
   * for deflated and hinted pages, which the guest may use at once — a guest
   * hungry for memory writes them (see {@link GuestOptions.touchOnFree});
   * reported pages only go back on the free lists.
   */
  pagesReturned(pages: PageSet, reason: ReturnReason = "deflate"): void {
    for (const l of this.#returnListeners) l(pages, reason);
    if (reason === "report") return; // back on the free lists, not in the guest's hands
    this.#freed(pages);
    if (!this.touchOnFree) return;
    for (const pfn of pages) this.mem.touch(pfn, "guest");
  }
}
