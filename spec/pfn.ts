/**
 * The PFN-array payload codec (inflate/deflate without PAGE_BITMAP).
 *
 * @module
 */

import { constantValue } from "./constants.ts";
import { ProtocolError } from "./errors.ts";
import { PFN_ARRAY } from "./payloads.ts";
import {
  type ByteOrder,
  isLittleEndian,
  readScalar,
  wireMax,
  wireSize,
  writeScalar,
} from "./wire.ts";

/**
 * Encodes PFNs as a PFN array.
 *
 * @example
 * ```ts
 * import { decodePfnArray, encodePfnArray } from "./pfn.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodePfnArray([1, 0x01020304], "legacy-be");
 * assert.deepEqual([...bytes], [0, 0, 0, 1, 1, 2, 3, 4]);
 * assert.deepEqual(decodePfnArray(bytes, { order: "legacy-be" }), [1, 0x01020304]);
 * ```
 */
export function encodePfnArray(pfns: readonly number[], order: ByteOrder): Uint8Array {
  const size = wireSize(PFN_ARRAY.element);
  const out = new Uint8Array(pfns.length * size);
  const view = new DataView(out.buffer);
  const max = Number(wireMax(PFN_ARRAY.element));
  const le = isLittleEndian(PFN_ARRAY.element, order);
  for (let i = 0; i < pfns.length; i++) {
    const p = pfns[i] as number;
    if (!Number.isInteger(p) || p < 0 || p > max) {
      throw new RangeError(
        `Cannot encode pfn_array: pfns[${i}] is ${p}, expected a PFN below 2^32 (a 32-bit PFN covers 16 TiB)`,
      );
    }
    if (size === 4) view.setUint32(i * size, p, le);
    else writeScalar(view, i * size, PFN_ARRAY.element, order, p);
  }
  return out;
}

/** Options of {@link decodePfnArray}. */
export interface PfnDecodeOptions {
  /** Byte order. */
  readonly order: ByteOrder;
  /** Guest RAM size in 4 KiB PFNs: a PFN at or beyond it is an error (S-02). */
  readonly guestPfns?: number;
  /** Check the driver-side cap of R-07 (VIRTIO_BALLOON_ARRAY_PFNS_MAX entries). */
  readonly enforceMaxEntries?: boolean;
}

/**
 * Decodes a PFN array. Errors: a length that is not a whole number of
 * entries (S-01), more entries than R-07 allows (when asked), a PFN beyond
 * guest RAM (S-02).
 */
export function decodePfnArray(bytes: Uint8Array, options: PfnDecodeOptions): number[] {
  const size = wireSize(PFN_ARRAY.element);
  if (bytes.length % size !== 0) {
    throw new ProtocolError({
      code: "length-mismatch",
      struct: PFN_ARRAY.name,
      field: "buffer length",
      offset: bytes.length - (bytes.length % size),
      value: `${bytes.length} bytes`,
      expected: `a multiple of ${size} bytes (whole ${PFN_ARRAY.element} entries)`,
      rule: "S-01",
    });
  }
  const n = bytes.length / size;
  const max = constantValue(PFN_ARRAY.maxEntries);
  if (options.enforceMaxEntries && n > max) {
    throw new ProtocolError({
      code: "out-of-range",
      struct: PFN_ARRAY.name,
      field: "entry count",
      offset: max * size,
      value: String(n),
      expected: `at most ${max} (${PFN_ARRAY.maxEntries})`,
      rule: "R-07",
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const pfn = readScalar(view, i * size, PFN_ARRAY.element, options.order) as number;
    if (options.guestPfns !== undefined && pfn >= options.guestPfns) {
      throw new ProtocolError({
        code: "out-of-range",
        struct: PFN_ARRAY.name,
        field: `pfns[${i}]`,
        offset: i * size,
        value: String(pfn),
        expected: `a PFN below ${options.guestPfns} (guest RAM)`,
        rule: "S-02",
      });
    }
    out[i] = pfn;
  }
  return out;
}
