/**
 * Sparse guest physical memory: contents are stored only for pages that were
 * written, so an 8 GiB or 1 TiB guest costs what it touches. It supports
 * write watches (who wrote which page), host discards (a discarded page
 * reads as zeros) and dirty logging for the live-migration model.
 *
 * @module
 */

import { BALLOON_PAGE_SIZE, PageSet, VIRTIO_BALLOON_PFN_SHIFT } from "../spec/mod.ts";

/** Who wrote a page: the guest's own code, the balloon driver, or the device/host. */
export type Writer = "guest" | "driver" | "device" | "host";

/** Called for every write, once per page touched. */
export type WriteListener = (pfn: number, writer: Writer) => void;

/** Called once for every write, with its address and length, after the bytes are stored. */
export type RangeWriteListener = (addr: number, length: number, writer: Writer) => void;

/**
 * Guest physical memory as the split virtqueue sees it: bytes read and
 * written at guest physical addresses. {@link GuestMemory} is the in-process
 * one; a transport to a real device provides another (QEMU's RAM through
 * qtest), so the same ring code reads and writes the device's own memory,
 * never a copy.
 */
export interface PhysicalMemory {
  /** Addresses below this can be RAM; {@link contains} says which are. */
  readonly bytes: number;
  /** Whether `[addr, addr + len)` is RAM the rings may use. */
  contains(addr: number, len: number): boolean;
  /** Copies `len` bytes out of memory (RangeError outside RAM). */
  read(addr: number, len: number): Uint8Array;
  /** Copies bytes into memory as `writer` (RangeError outside RAM). */
  write(addr: number, data: Uint8Array, writer: Writer): void;
}

/** Options of {@link GuestMemory}. */
export interface GuestMemoryOptions {
  /** Guest RAM size in 4 KiB pages. */
  readonly pages: number;
}

const PAGE = BALLOON_PAGE_SIZE;
const SHIFT = VIRTIO_BALLOON_PFN_SHIFT;

/**
 * Guest physical memory of `pages` 4 KiB pages, addressed from 0.
 *
 * @example
 * ```ts
 * import { GuestMemory } from "./memory.ts";
 * import assert from "node:assert/strict";
 * const mem = new GuestMemory({ pages: 2_097_152 }); // 8 GiB
 * mem.write(0x1000_0000, new Uint8Array([1, 2, 3]), "guest");
 * assert.deepEqual([...mem.read(0x1000_0000, 4)], [1, 2, 3, 0]);
 * assert.equal(mem.storedPages, 1);
 * ```
 */
export class GuestMemory implements PhysicalMemory {
  /** RAM size in 4 KiB pages. */
  readonly pages: number;
  #store = new Map<number, Uint8Array>();
  #listeners: WriteListener[] = [];
  #rangeListeners: RangeWriteListener[] = [];
  #dirty: PageSet | undefined;
  #generation = new Map<number, number>();

  /** Creates an all-zero memory. */
  constructor(options: GuestMemoryOptions) {
    if (!Number.isSafeInteger(options.pages) || options.pages <= 0) {
      throw new RangeError(
        `Invalid guest size: ${options.pages} pages, expected a positive integer`,
      );
    }
    this.pages = options.pages;
  }

  /** RAM size in bytes. */
  get bytes(): number {
    return this.pages * PAGE;
  }

  /** Number of pages whose contents are stored (written and not discarded). */
  get storedPages(): number {
    return this.#store.size;
  }

  #check(addr: number, len: number, what: string): void {
    if (!Number.isSafeInteger(addr) || addr < 0 || !Number.isSafeInteger(len) || len < 0) {
      throw new RangeError(
        `Cannot ${what} guest memory: address ${addr} length ${len} is not valid`,
      );
    }
    if (addr + len > this.bytes) {
      throw new RangeError(
        `Cannot ${what} guest memory: [0x${
          addr.toString(16)
        }, +${len}) ends beyond RAM (${this.bytes} bytes)`,
      );
    }
  }

  /** Whether `[addr, addr + len)` lies inside RAM. */
  contains(addr: number, len: number): boolean {
    return Number.isSafeInteger(addr) && addr >= 0 && len >= 0 && addr + len <= this.bytes;
  }

  /** Copies `len` bytes out of guest memory. */
  read(addr: number, len: number): Uint8Array {
    this.#check(addr, len, "read");
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = addr + done;
      const pfn = Math.floor(a / PAGE);
      const off = a - pfn * PAGE;
      const n = Math.min(len - done, PAGE - off);
      const page = this.#store.get(pfn);
      if (page !== undefined && off < page.length) {
        out.set(page.subarray(off, Math.min(page.length, off + n)), done);
      }
      done += n;
    }
    return out;
  }

  /**
   * Copies bytes into guest memory; listeners see each page once. A page's
   * storage grows to the highest byte written (pages written only at the
   * start stay small).
   */
  write(addr: number, data: Uint8Array, writer: Writer): void {
    this.#check(addr, data.length, "write");
    let done = 0;
    while (done < data.length) {
      const a = addr + done;
      const pfn = Math.floor(a / PAGE);
      const off = a - pfn * PAGE;
      const n = Math.min(data.length - done, PAGE - off);
      let page = this.#store.get(pfn);
      const need = off + n;
      if (page === undefined || page.length < need) {
        let size = page?.length ?? 64;
        while (size < need) size *= 2;
        const grown = new Uint8Array(Math.min(PAGE, size));
        if (page !== undefined) grown.set(page);
        page = grown;
        this.#store.set(pfn, page);
      }
      page.set(data.subarray(done, done + n), off);
      this.#wrote(pfn, writer);
      done += n;
    }
    for (const l of this.#rangeListeners) l(addr, data.length, writer);
  }

  #wrote(pfn: number, writer: Writer): void {
    this.#generation.set(pfn, (this.#generation.get(pfn) ?? 0) + 1);
    this.#dirty?.add(pfn);
    for (const l of this.#listeners) l(pfn, writer);
  }

  /** Reads a little- or big-endian unsigned integer of 2, 4 or 8 bytes. */
  readUint(addr: number, size: 2 | 4 | 8, littleEndian: boolean): number | bigint {
    const b = this.read(addr, size);
    const v = new DataView(b.buffer);
    if (size === 2) return v.getUint16(0, littleEndian);
    if (size === 4) return v.getUint32(0, littleEndian);
    return v.getBigUint64(0, littleEndian);
  }

  /** Writes an unsigned integer of 2, 4 or 8 bytes. */
  writeUint(
    addr: number,
    size: 2 | 4 | 8,
    value: number | bigint,
    littleEndian: boolean,
    writer: Writer,
  ): void {
    const b = new Uint8Array(size);
    const v = new DataView(b.buffer);
    if (size === 2) v.setUint16(0, Number(value), littleEndian);
    else if (size === 4) v.setUint32(0, Number(value), littleEndian);
    else v.setBigUint64(0, BigInt(value), littleEndian);
    this.write(addr, b, writer);
  }

  /**
   * Marks a page as used by writing a recognisable pattern into its first
   * bytes (the page's PFN and a per-page write count), as a workload would.
   */
  touch(pfn: number, writer: Writer): void {
    const gen = (this.#generation.get(pfn) ?? 0) + 1;
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setFloat64(0, pfn, true);
    v.setFloat64(8, gen, true);
    this.write(pfn * PAGE, b, writer);
  }

  /** Drops the contents of pages (host discard, MADV_DONTNEED): they read as zeros. */
  discard(pfn: number, count: number): void {
    if (count > this.#store.size) {
      // cheaper to look at the stored pages than at every page of the range
      for (const p of [...this.#store.keys()]) {
        if (p >= pfn && p < pfn + count) this.#store.delete(p);
      }
      return;
    }
    for (let p = pfn; p < pfn + count; p++) this.#store.delete(p);
  }

  /**
   * The stored contents of a page, or `undefined` if it reads as zeros. The
   * array may be shorter than a page: the rest of the page is zeros.
   */
  pageContents(pfn: number): Uint8Array | undefined {
    return this.#store.get(pfn);
  }

  /** Pages whose contents are stored. */
  storedPfns(): IterableIterator<number> {
    return this.#store.keys();
  }

  /** Registers a write listener; returns a function that removes it. */
  onWrite(listener: WriteListener): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Subscribes to every write, once per write with its address and length
   * (the order of a ring's field writes); returns an unsubscribe function.
   */
  onWriteRange(listener: RangeWriteListener): () => void {
    this.#rangeListeners.push(listener);
    return () => {
      this.#rangeListeners = this.#rangeListeners.filter((l) => l !== listener);
    };
  }

  /** Starts dirty logging (clears the log). */
  startDirtyLog(): void {
    this.#dirty = new PageSet();
  }

  /** Whether dirty logging is on. */
  get dirtyLogging(): boolean {
    return this.#dirty !== undefined;
  }

  /** Pages written since dirty logging started (empty when it is off). */
  get dirtyLog(): PageSet {
    return this.#dirty ?? new PageSet();
  }

  /** Returns the log and starts a new one (a migration round's bitmap sync). */
  syncDirtyLog(): PageSet {
    const d = this.#dirty ?? new PageSet();
    this.#dirty = new PageSet();
    return d;
  }

  /** Stops dirty logging. */
  stopDirtyLog(): void {
    this.#dirty = undefined;
  }

  /** The guest physical address of a PFN. */
  static addressOf(pfn: number): number {
    return pfn * PAGE;
  }

  /** The PFN of a guest physical address. */
  static pfnOf(addr: number): number {
    return Math.floor(addr / PAGE);
  }

  /** log2 of the page size. */
  static readonly PAGE_SHIFT: number = SHIFT;
}
