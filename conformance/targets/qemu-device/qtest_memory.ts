/**
 * QEMU's guest RAM as a {@link PhysicalMemory}: every read and write is a
 * qtest `b64read` / `b64write` of the real RAM the device reads and writes
 * (no copy, no cache), so the suite's own split-ring code (`DriverQueue`)
 * works on the device's memory exactly as a guest driver would. The suite
 * owns the RAM from the machine's `ramStart` up and hands it out with a bump
 * allocator.
 *
 * @module
 */

import type { PhysicalMemory, Writer } from "../../../impl/mod.ts";
import type { QtestClient } from "./qtest.ts";

/** Options of {@link QtestMemory}. */
export interface QtestMemoryOptions {
  /** First byte the suite may use. */
  readonly start: number;
  /** End of RAM (exclusive). */
  readonly end: number;
}

/** Accesses made so far, by kind. */
export interface QtestMemoryStats {
  /** `read` calls. */
  readonly reads: number;
  /** `write` calls. */
  readonly writes: number;
  /** Bytes read. */
  readonly bytesRead: number;
  /** Bytes written. */
  readonly bytesWritten: number;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Guest RAM behind qtest, with an allocator for the suite's rings and buffers. */
export class QtestMemory implements PhysicalMemory {
  #qtest: QtestClient;
  #start: number;
  #end: number;
  #next: number;
  #reads = 0;
  #writes = 0;
  #bytesRead = 0;
  #bytesWritten = 0;

  /** RAM in [start, end) through `qtest`. */
  constructor(qtest: QtestClient, options: QtestMemoryOptions) {
    const { start, end } = options;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) {
      throw new RangeError(
        `Invalid RAM range: [${start}, ${end}), expected integers with 0 <= start < end`,
      );
    }
    this.#qtest = qtest;
    this.#start = start;
    this.#end = end;
    this.#next = start;
  }

  /** End of RAM: addresses at or above it are not RAM. */
  get bytes(): number {
    return this.#end;
  }

  /** Accesses so far. */
  get stats(): QtestMemoryStats {
    return {
      reads: this.#reads,
      writes: this.#writes,
      bytesRead: this.#bytesRead,
      bytesWritten: this.#bytesWritten,
    };
  }

  /** Whether `[addr, addr + len)` is RAM the suite owns. */
  contains(addr: number, len: number): boolean {
    return Number.isSafeInteger(addr) && Number.isSafeInteger(len) && len >= 0 &&
      addr >= this.#start && addr + len <= this.#end;
  }

  #check(addr: number, len: number, what: string): void {
    if (!this.contains(addr, len)) {
      throw new RangeError(
        `Cannot ${what} guest memory: [${hex(addr)}, +${len}) is outside the suite's RAM [${
          hex(this.#start)
        }, ${hex(this.#end)})`,
      );
    }
  }

  /** Reads RAM (one `b64read`). */
  read(addr: number, len: number): Uint8Array {
    this.#check(addr, len, "read");
    this.#reads++;
    this.#bytesRead += len;
    return len === 0 ? new Uint8Array(0) : this.#qtest.read(addr, len);
  }

  /** Writes RAM (one `b64write`); `writer` is not recorded: QEMU's RAM has no tags. */
  write(addr: number, data: Uint8Array, _writer: Writer): void {
    this.#check(addr, data.length, "write");
    this.#writes++;
    this.#bytesWritten += data.length;
    if (data.length > 0) this.#qtest.write(addr, data);
  }

  /** Fills RAM with one byte value (one `memset`). */
  fill(addr: number, len: number, byte: number): void {
    this.#check(addr, len, "fill");
    this.#writes++;
    this.#bytesWritten += len;
    this.#qtest.memset(addr, len, byte);
  }

  /**
   * Takes `len` bytes aligned to `align` (a power of two, default 4096) from
   * the suite's RAM; RangeError when it is used up.
   */
  alloc(len: number, align = 4096): number {
    if (!Number.isSafeInteger(len) || len <= 0) {
      throw new RangeError(`Invalid allocation length: ${len}, expected a positive integer`);
    }
    if (!Number.isSafeInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
      throw new RangeError(`Invalid alignment: ${align}, expected a power of two`);
    }
    const at = Math.ceil(this.#next / align) * align;
    if (at + len > this.#end) {
      throw new RangeError(
        `Cannot allocate ${len} bytes of guest RAM: ${this.#end - this.#next} bytes are left`,
      );
    }
    this.#next = at + len;
    return at;
  }
}
