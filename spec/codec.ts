/**
 * Encoders and decoders for every struct, driven by the layout tables in
 * `structs.ts`. Decoders never read past the bytes they are given and
 * report every problem as a {@link ProtocolError}.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import {
  checksFor,
  describeLegal,
  type FieldDef,
  fieldSize,
  fieldsOf,
  isLegal,
  type StructContext,
  type StructName,
  STRUCTS,
  structSize,
} from "./structs.ts";
import type { ProfileId } from "./types.ts";
import { type ByteOrder, readScalar, wireSize, writeScalar } from "./wire.ts";

/** A field value: a number (≤ 32 bits), a bigint (64 bits), or an array of them. */
export type FieldValue = number | bigint | readonly (number | bigint)[];

/** Field values of a struct, keyed by wire name. */
export type StructValues = Readonly<Record<string, FieldValue>>;

/** Options shared by struct encoders and decoders. */
export interface CodecOptions {
  /** Byte order of the conversation. */
  readonly order: ByteOrder;
  /** Profile: selects the fields present (config space differs). Defaults to all fields. */
  readonly profile?: ProfileId;
  /** The struct's use; selects which legal-value checks apply. */
  readonly context?: StructContext;
}

/** Options of {@link decodeStruct}. */
export interface DecodeOptions extends CodecOptions {
  /** Skip the legal-value checks (decode the raw bytes only). */
  readonly raw?: boolean;
  /** Offset to report in errors for byte 0 of the buffer (when it is part of a larger stream). */
  readonly baseOffset?: number;
}

function elementValue(field: FieldDef, v: number | bigint): number | bigint {
  return wireSize(field.type) === 8 ? BigInt(v) : Number(v);
}

/**
 * Encodes a struct. Every field must be given; arrays must have the field's count.
 *
 * @example
 * ```ts
 * import { encodeStruct } from "./codec.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeStruct("virtio_balloon_config", { num_pages: 1, actual: 2 }, { order: "legacy-be", profile: "v3" });
 * assert.deepEqual([...bytes], [1, 0, 0, 0, 2, 0, 0, 0]); // config space is always little-endian
 * ```
 */
export function encodeStruct(
  name: StructName,
  values: StructValues,
  options: CodecOptions,
): Uint8Array {
  const fields = fieldsOf(name, options.profile);
  const out = new Uint8Array(structSize(name, options.profile));
  const view = new DataView(out.buffer);
  for (const f of fields) {
    const v = values[f.name];
    if (v === undefined) {
      throw new TypeError(`Cannot encode ${name}: field ${f.name} is missing`);
    }
    const count = f.count ?? 1;
    const elems = typeof v === "object" ? v : [v];
    if (elems.length !== count) {
      throw new TypeError(
        `Cannot encode ${name}: field ${f.name} has ${elems.length} elements, expected ${count}`,
      );
    }
    elems.forEach((e, i) => {
      try {
        writeScalar(view, f.offset + i * wireSize(f.type), f.type, options.order, e);
      } catch (err) {
        throw new RangeError(
          `Cannot encode ${name}: field ${f.name} ${
            (err as Error).message.replace(/^Cannot encode /, "")
          }`,
        );
      }
    });
  }
  return out;
}

/**
 * Decodes a struct from the start of `bytes` (extra bytes are ignored; the
 * caller decides what follows). Throws a {@link ProtocolError} when the
 * buffer is too short or, unless `raw`, when a field breaks a check.
 */
export function decodeStruct(
  name: StructName,
  bytes: Uint8Array,
  options: DecodeOptions,
): Record<string, FieldValue> {
  const base = options.baseOffset ?? 0;
  const fields = fieldsOf(name, options.profile);
  const size = structSize(name, options.profile);
  if (bytes.length < size) {
    const first = fields.find((f) => f.offset + fieldSize(f) > bytes.length) as FieldDef;
    throw new ProtocolError({
      code: "short-buffer",
      struct: name,
      field: first.name,
      offset: base + first.offset,
      value: `cut off after ${bytes.length} bytes`,
      expected: `at least ${size} bytes`,
      ...(STRUCTS[name].lengthRule === undefined ? {} : { rule: STRUCTS[name].lengthRule }),
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, size);
  const out: Record<string, FieldValue> = {};
  for (const f of fields) {
    const count = f.count ?? 1;
    const elems: (number | bigint)[] = [];
    for (let i = 0; i < count; i++) {
      elems.push(
        elementValue(f, readScalar(view, f.offset + i * wireSize(f.type), f.type, options.order)),
      );
    }
    out[f.name] = f.count === undefined ? elems[0] as number | bigint : elems;
    if (options.raw) continue;
    for (const check of checksFor(f, options.context)) {
      elems.forEach((e, i) => {
        if (!isLegal(check.legal, e)) {
          throw new ProtocolError({
            code: "illegal-value",
            struct: name,
            field: f.count === undefined ? f.name : `${f.name}[${i}]`,
            offset: base + f.offset + i * wireSize(f.type),
            value: String(e),
            expected: describeLegal(check.legal),
            rule: check.rule,
          });
        }
      });
    }
  }
  return out;
}

/** One broken check found by {@link validateStruct}. */
export interface Violation {
  /** Field at fault. */
  readonly field: string;
  /** The value found. */
  readonly value: number | bigint;
  /** What was expected. */
  readonly expected: string;
  /** The rule broken. */
  readonly rule: string;
}

/** Lists every check that given field values break in one use of the struct. */
export function validateStruct(
  name: StructName,
  values: StructValues,
  context?: StructContext,
  profile?: ProfileId,
): Violation[] {
  const out: Violation[] = [];
  for (const f of fieldsOf(name, profile)) {
    const v = values[f.name];
    if (v === undefined) continue;
    const elems = typeof v === "object" ? v : [v];
    for (const check of checksFor(f, context)) {
      elems.forEach((e, i) => {
        if (!isLegal(check.legal, e)) {
          out.push({
            field: f.count === undefined ? f.name : `${f.name}[${i}]`,
            value: e,
            expected: describeLegal(check.legal),
            rule: check.rule,
          });
        }
      });
    }
  }
  return out;
}

/** A bitmap request/reply header (`struct balloon_bmap_hdr`). */
export interface BitmapHeader {
  /** Command (0 on inflate/deflate). */
  readonly cmd: number;
  /** log2 of the bytes per bit. */
  readonly page_shift: number;
  /** CONT/DONE on misc replies, 0 otherwise. */
  readonly flag: number;
  /** Always 0. */
  readonly reserved: number;
  /** Echoed request param on misc replies, 0 otherwise. */
  readonly req_id: bigint;
  /** PFN of bit 0. */
  readonly start_pfn: bigint;
  /** Bitmap length in bytes. */
  readonly bmap_len: bigint;
}

/** A misc-queue request (`struct balloon_req_hdr`). */
export interface RequestHeader {
  /** Command. */
  readonly cmd: number;
  /** Three reserved u16. */
  readonly reserved: readonly number[];
  /** Parameter, echoed as req_id. */
  readonly param: bigint;
}

/** One statistics entry. */
export interface StatEntry {
  /** Tag. */
  readonly tag: number;
  /** Value. */
  readonly val: bigint;
}

/** The balloon's config space. */
export interface BalloonConfig {
  /** Target, in 4 KiB pages (device-written). */
  readonly num_pages: number;
  /** Current balloon size, in 4 KiB pages (driver-written). */
  readonly actual: number;
  /** virtio-1.x with FREE_PAGE_HINT only. */
  readonly free_page_hint_cmd_id?: number;
  /** virtio-1.x with PAGE_POISON only. */
  readonly poison_val?: number;
}

/**
 * Encodes a bitmap header.
 *
 * @example
 * ```ts
 * import { decodeBitmapHeader, encodeBitmapHeader } from "./codec.ts";
 * import assert from "node:assert/strict";
 * const h = { cmd: 0, page_shift: 12, flag: 0, reserved: 0, req_id: 0n, start_pfn: 4096n, bmap_len: 32n };
 * const bytes = encodeBitmapHeader(h, "v1");
 * assert.equal(bytes.length, 32);
 * assert.deepEqual(decodeBitmapHeader(bytes, { order: "v1", context: "inflate" }), h);
 * ```
 */
export function encodeBitmapHeader(h: BitmapHeader, order: ByteOrder): Uint8Array {
  return encodeStruct("balloon_bmap_hdr", { ...h }, { order });
}

/** Decodes and checks a bitmap header (checks depend on `options.context`). */
export function decodeBitmapHeader(bytes: Uint8Array, options: DecodeOptions): BitmapHeader {
  return decodeStruct("balloon_bmap_hdr", bytes, options) as unknown as BitmapHeader;
}

/** Encodes a misc request header. */
export function encodeRequestHeader(h: RequestHeader, order: ByteOrder): Uint8Array {
  return encodeStruct("balloon_req_hdr", { ...h }, { order });
}

/** Decodes and checks a misc request header. */
export function decodeRequestHeader(bytes: Uint8Array, options: DecodeOptions): RequestHeader {
  return decodeStruct("balloon_req_hdr", bytes, {
    ...options,
    context: "misc-request",
  }) as unknown as RequestHeader;
}

/** Encodes a whole statsq buffer (entries in the given order). */
export function encodeStats(entries: readonly StatEntry[], order: ByteOrder): Uint8Array {
  const parts = entries.map((e) => encodeStruct("virtio_balloon_stat", { ...e }, { order }));
  const size = structSize("virtio_balloon_stat");
  const out = new Uint8Array(parts.length * size);
  parts.forEach((p, i) => out.set(p, i * size));
  return out;
}

/**
 * Decodes a statsq buffer into entries. The length must be a whole number of
 * entries (B29, read as 10-byte entries). Unknown tags are returned too; the
 * device is the one that ignores them (B33).
 */
export function decodeStats(bytes: Uint8Array, order: ByteOrder): StatEntry[] {
  const size = structSize("virtio_balloon_stat");
  if (bytes.length % size !== 0) {
    throw new ProtocolError({
      code: "length-mismatch",
      struct: "virtio_balloon_stat",
      field: "buffer length",
      offset: 0,
      value: `${bytes.length} bytes`,
      expected: `a multiple of ${size} bytes`,
      rule: "B29",
    });
  }
  const out: StatEntry[] = [];
  for (let off = 0; off < bytes.length; off += size) {
    out.push(
      decodeStruct("virtio_balloon_stat", bytes.subarray(off, off + size), {
        order,
        baseOffset: off,
      }) as unknown as StatEntry,
    );
  }
  return out;
}

/** Encodes the config space of a profile (fields absent from `c` must not be in the profile). */
export function encodeConfig(c: BalloonConfig, profile: ProfileId): Uint8Array {
  const values: Record<string, number> = { num_pages: c.num_pages, actual: c.actual };
  if (profile === "virtio-1.x") {
    values["free_page_hint_cmd_id"] = c.free_page_hint_cmd_id ?? 0;
    values["poison_val"] = c.poison_val ?? 0;
  }
  return encodeStruct("virtio_balloon_config", values, { order: "v1", profile });
}

/** Decodes the config space of a profile (always little-endian, B07). */
export function decodeConfig(bytes: Uint8Array, profile: ProfileId): BalloonConfig {
  return decodeStruct("virtio_balloon_config", bytes, {
    order: "v1",
    profile,
    context: "config",
  }) as unknown as BalloonConfig;
}
