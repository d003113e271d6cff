/**
 * Builds the language-neutral test vectors and their JSON Schema from the
 * spec tables. `scripts/vectors.ts` writes them to `vectors/`; a test checks
 * that the checked-in files are what this produces.
 *
 * Longer than our ~600-line guideline on purpose: it is mostly data, one
 * generator per vector family (struct fields, PFN arrays, bitmap headers,
 * misc requests, stats, the standard profile's ids and reports) and the
 * schema they share, read top to bottom against `vectors/vectors.json`.
 *
 * @module
 */

import {
  asPostedBitmapLayout,
  BITMAP_LAYOUTS,
  type BitmapLayout,
  BMAP_HDR_SIZE,
  BYTE_ORDERS,
  type ByteOrder,
  concatChain,
  constantValue,
  encodeBitmapRequest,
  encodePfnArray,
  encodeStruct,
  enumValues,
  type FieldDef,
  fieldOf,
  fieldsOf,
  type FieldValue,
  INTENDED_BITMAP_LAYOUT,
  type Legal,
  PageSet,
  PFN_ARRAY,
  type ProtocolErrorCode,
  type StructContext,
  type StructName,
  STRUCTS,
  structSize,
  wireMax,
  wireSize,
} from "../spec/mod.ts";

/** Version of the vector file format. */
export const VECTOR_FORMAT_VERSION = 1;

/** The error a decoder must report for an invalid vector. */
export interface VectorError {
  /** Error kind. */
  readonly code: ProtocolErrorCode;
  /** Struct or payload. */
  readonly struct: string;
  /** Field at fault. */
  readonly field: string;
  /** Byte offset of the field in the vector's bytes. */
  readonly offset: number;
  /** Rule broken, if any. */
  readonly rule?: string;
}

type JsonValue = number | string | JsonValue[];

/** One vector (the JSON shape; see the schema for field meanings). */
export interface Vector {
  /** Stable id. */
  readonly id: string;
  /** What is encoded. */
  readonly kind: "struct" | "pfn_array" | "bitmap_request";
  /** Struct name for `struct` vectors. */
  readonly struct?: string;
  /** Profile whose fields are present. */
  readonly profile?: string;
  /** Use of the struct (selects the legal-value checks). */
  readonly context?: string;
  /** Byte order. */
  readonly byteOrder: ByteOrder;
  /** Bitmap layout for bitmap requests. */
  readonly layout?: string;
  /** Guest RAM in 4 KiB PFNs, when range checks apply. */
  readonly guestPfns?: number;
  /** The bytes, lowercase hex. */
  readonly hex: string;
  /** Whether a conforming decoder accepts it. */
  readonly valid: boolean;
  /** Decoded field values (valid struct vectors; 64-bit values as decimal strings). */
  readonly values?: Record<string, JsonValue>;
  /** Decoded PFNs (valid pfn_array vectors). */
  readonly pfns?: number[];
  /** Decoded pages as [start, length] runs (valid bitmap_request vectors). */
  readonly runs?: [number, number][];
  /** The error (invalid vectors). */
  readonly error?: VectorError;
  /** Why the vector exists. */
  readonly description: string;
}

/** The whole vector file. */
export interface VectorFile {
  /** Schema reference. */
  readonly $schema: string;
  /** Format name. */
  readonly format: "virtio-balloon-test-vectors";
  /** Format version. */
  readonly version: number;
  /** How to read the file. */
  readonly notes: readonly string[];
  /** The vectors. */
  readonly vectors: readonly Vector[];
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function jsonValue(v: FieldValue): JsonValue {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return v;
  return v.map((x) => (typeof x === "bigint" ? x.toString() : x));
}

function jsonValues(values: Record<string, FieldValue>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(values)) out[k] = jsonValue(v);
  return out;
}

function zeroOf(f: FieldDef): FieldValue {
  const z = wireSize(f.type) === 8 ? 0n : 0;
  return f.count === undefined ? z : new Array(f.count).fill(z);
}

function maxOf(f: FieldDef): FieldValue {
  const m = wireSize(f.type) === 8 ? wireMax(f.type) : Number(wireMax(f.type));
  return f.count === undefined ? m : new Array(f.count).fill(m);
}

/** A legal example per struct use: the values a conforming peer would send. */
function examples(): {
  struct: StructName;
  context: StructContext;
  values: Record<string, FieldValue>;
}[] {
  const shift = constantValue("VIRTIO_BALLOON_PFN_SHIFT");
  const window = constantValue("PFNS_PER_BMAP");
  const done = enumValues("balloon_flag").find((v) => v.name === "BALLOON_FLAG_DONE")?.value ?? 0;
  return [
    {
      struct: "virtio_balloon_config",
      context: "config",
      values: {
        num_pages: 1835008,
        actual: 262144,
        free_page_hint_cmd_id: 0x80000000,
        poison_val: 0xaaaaaaaa,
      },
    },
    {
      struct: "virtio_balloon_stat",
      context: "stats",
      values: { tag: 4, val: 0x0000000123456789n },
    },
    {
      struct: "balloon_bmap_hdr",
      context: "inflate",
      values: {
        cmd: 0,
        page_shift: shift,
        flag: 0,
        reserved: 0,
        req_id: 0n,
        start_pfn: 4096n,
        bmap_len: 32n,
      },
    },
    {
      struct: "balloon_bmap_hdr",
      context: "deflate",
      values: {
        cmd: 0,
        page_shift: shift,
        flag: 0,
        reserved: 0,
        req_id: 0n,
        start_pfn: 8388608n,
        bmap_len: 1048576n,
      },
    },
    {
      struct: "balloon_bmap_hdr",
      context: "misc-reply",
      values: {
        cmd: 0,
        page_shift: shift,
        flag: done,
        reserved: 0,
        req_id: 0x0102030405060708n,
        start_pfn: BigInt(window),
        bmap_len: 16n,
      },
    },
    {
      struct: "balloon_req_hdr",
      context: "misc-request",
      values: { cmd: 0, reserved: [0, 0, 0], param: 0x0102030405060708n },
    },
    { struct: "free_page_hint_cmd", context: "free-page-hint", values: { cmd_id: 0x80000001 } },
    {
      struct: "virtq_desc",
      context: "ring",
      values: { addr: 0x12345000n, len: 32, flags: 1, next: 7 },
    },
    { struct: "virtq_avail_hdr", context: "ring", values: { flags: 0, idx: 65535 } },
    { struct: "virtq_used_hdr", context: "ring", values: { flags: 1, idx: 3 } },
    { struct: "virtq_used_elem", context: "ring", values: { id: 5, len: 16 } },
  ];
}

/** Values that break a predicate, derived from the predicate itself. */
function illegalValues(
  legal: Legal,
  f: FieldDef,
  legalExample: number | bigint,
): (number | bigint)[] {
  const big = wireSize(f.type) === 8;
  const num = (x: number | bigint) => (big ? BigInt(x) : Number(x));
  const max = wireMax(f.type);
  if ("eq" in legal) return [num(legal.eq + 1)];
  if ("constant" in legal) {
    const c = constantValue(legal.constant);
    return [num(0), num(c + 4), num(63)].filter((x) => BigInt(x) !== BigInt(c));
  }
  if ("enum" in legal) {
    const top = Math.max(...enumValues(legal.enum).map((v) => v.value));
    return [num(top + 1), num(max)];
  }
  if ("multipleOf" in legal) return [num(BigInt(legalExample) + 1n)];
  if ("atMost" in legal) return [num(constantValue(legal.atMost) + 8)];
  if ("flagsOf" in legal) {
    const all = enumValues(legal.flagsOf).reduce((a, v) => a | v.value, 0);
    return [num(all + 1)];
  }
  return [];
}

function structVectors(): Vector[] {
  const out: Vector[] = [];
  for (const ex of examples()) {
    const def = STRUCTS[ex.struct];
    const profile = def.profiles.includes("virtio-1.x") && ex.struct === "virtio_balloon_config"
      ? "virtio-1.x"
      : def.profiles[0] as string;
    const fields = fieldsOf(ex.struct, profile as "v3" | "virtio-1.x");
    for (const order of BYTE_ORDERS) {
      const base = {
        kind: "struct" as const,
        struct: ex.struct,
        profile,
        context: ex.context,
        byteOrder: order,
      };
      const opts = { order, profile: profile as "v3" | "virtio-1.x" };
      out.push({
        ...base,
        id: `struct.${ex.struct}.${ex.context}.${order}.example`,
        hex: hex(encodeStruct(ex.struct, ex.values, opts)),
        valid: true,
        values: jsonValues(ex.values),
        description: `A legal ${ex.struct} as used in ${ex.context}`,
      });
      // zero and all-ones encodings exercise every byte of every field (raw layout, no checks)
      for (const [tag, make] of [["zeros", zeroOf], ["max", maxOf]] as const) {
        const values: Record<string, FieldValue> = {};
        for (const f of fields) values[f.name] = make(f);
        const illegal = fields.some((f) =>
          f.checks.some((c) =>
            (c.contexts === undefined || c.contexts.includes(ex.context)) &&
            !("any" in c.legal) && tag === "max"
          )
        );
        if (illegal) continue; // covered by the invalid vectors below
        out.push({
          ...base,
          id: `struct.${ex.struct}.${ex.context}.${order}.${tag}`,
          hex: hex(encodeStruct(ex.struct, values, opts)),
          valid: tag === "zeros" ? fieldsLegal(ex.struct, values, ex.context) : true,
          ...(tag === "zeros" && !fieldsLegal(ex.struct, values, ex.context)
            ? { error: firstError(ex.struct, values, ex.context) as VectorError }
            : { values: jsonValues(values) }),
          description: `Every field ${
            tag === "zeros" ? "zero" : "at its largest value"
          }: checks byte order and offsets`,
        });
      }
      // one invalid vector per check per illegal value
      for (const f of fields) {
        for (const check of f.checks) {
          if (check.contexts !== undefined && !check.contexts.includes(ex.context)) continue;
          const example = ex.values[f.name] as number | bigint | (number | bigint)[];
          const exScalar = Array.isArray(example) ? example[0] as number | bigint : example;
          for (const bad of illegalValues(check.legal, f, exScalar)) {
            const values = {
              ...ex.values,
              [f.name]: f.count === undefined
                ? bad
                : [bad, ...new Array(f.count - 1).fill(exScalar)],
            };
            out.push({
              ...base,
              id: `struct.${ex.struct}.${ex.context}.${order}.bad-${f.name}-${bad}`,
              hex: hex(encodeStruct(ex.struct, values, opts)),
              valid: false,
              error: {
                code: "illegal-value",
                struct: ex.struct,
                field: f.count === undefined ? f.name : `${f.name}[0]`,
                offset: f.offset,
                rule: check.rule,
              },
              description: `${f.name} = ${bad} breaks ${check.rule} in ${ex.context}`,
            });
          }
        }
      }
      // a buffer one byte short
      const full = encodeStruct(ex.struct, ex.values, opts);
      const size = structSize(ex.struct, profile as "v3" | "virtio-1.x");
      const last = fields[fields.length - 1] as FieldDef;
      out.push({
        ...base,
        id: `struct.${ex.struct}.${ex.context}.${order}.short`,
        hex: hex(full.subarray(0, size - 1)),
        valid: false,
        error: {
          code: "short-buffer",
          struct: ex.struct,
          field: last.name,
          offset: last.offset,
          ...(def.lengthRule === undefined ? {} : { rule: def.lengthRule }),
        },
        description: `One byte short of the ${size}-byte struct`,
      });
    }
  }
  return out;
}

function fieldsLegal(
  struct: StructName,
  values: Record<string, FieldValue>,
  context: StructContext,
): boolean {
  return firstError(struct, values, context) === undefined;
}

function firstError(
  struct: StructName,
  values: Record<string, FieldValue>,
  context: StructContext,
): VectorError | undefined {
  for (const f of STRUCTS[struct].fields) {
    const v = values[f.name];
    if (v === undefined) continue;
    const elems = typeof v === "object" ? v : [v];
    for (const check of f.checks) {
      if (check.contexts !== undefined && !check.contexts.includes(context)) continue;
      for (let i = 0; i < elems.length; i++) {
        const e = elems[i] as number | bigint;
        if (!legalNow(check.legal, e)) {
          return {
            code: "illegal-value",
            struct,
            field: f.count === undefined ? f.name : `${f.name}[${i}]`,
            offset: f.offset + i * wireSize(f.type),
            rule: check.rule,
          };
        }
      }
    }
  }
  return undefined;
}

function legalNow(legal: Legal, v: number | bigint): boolean {
  const x = BigInt(v);
  if ("any" in legal) return true;
  if ("eq" in legal) return x === BigInt(legal.eq);
  if ("constant" in legal) return x === BigInt(constantValue(legal.constant));
  if ("enum" in legal) return enumValues(legal.enum).some((e) => BigInt(e.value) === x);
  if ("multipleOf" in legal) {
    const m = typeof legal.multipleOf === "number"
      ? legal.multipleOf
      : constantValue(legal.multipleOf);
    return x % BigInt(m) === 0n;
  }
  if ("atMost" in legal) return x <= BigInt(constantValue(legal.atMost));
  return (x & ~BigInt(enumValues(legal.flagsOf).reduce((a, e) => a | e.value, 0))) === 0n;
}

function pfnVectors(): Vector[] {
  const out: Vector[] = [];
  const max = constantValue(PFN_ARRAY.maxEntries);
  for (const order of BYTE_ORDERS) {
    const base = { kind: "pfn_array" as const, byteOrder: order };
    const pfns = [0, 1, 4096, 0x01020304, 2 ** 32 - 1];
    out.push({
      ...base,
      id: `pfn_array.${order}.example`,
      hex: hex(encodePfnArray(pfns, order)),
      valid: true,
      pfns,
      description: "PFNs of several sizes, to show the element byte order",
    });
    const full = Array.from({ length: max }, (_, i) => 4096 + i);
    out.push({
      ...base,
      id: `pfn_array.${order}.full`,
      hex: hex(encodePfnArray(full, order)),
      valid: true,
      pfns: full,
      description: `A full request of ${max} PFNs (${PFN_ARRAY.maxEntries})`,
    });
    const odd = encodePfnArray([1, 2], order).subarray(0, 6);
    out.push({
      ...base,
      id: `pfn_array.${order}.odd-length`,
      hex: hex(odd),
      valid: false,
      error: {
        code: "length-mismatch",
        struct: PFN_ARRAY.name,
        field: "buffer length",
        offset: 4,
        rule: "S-01",
      },
      description: "6 bytes: one PFN and half of another",
    });
    out.push({
      ...base,
      id: `pfn_array.${order}.beyond-ram`,
      guestPfns: 2097152,
      hex: hex(encodePfnArray([4096, 2097152], order)),
      valid: false,
      error: {
        code: "out-of-range",
        struct: PFN_ARRAY.name,
        field: "pfns[1]",
        offset: 4,
        rule: "S-02",
      },
      description: "The second PFN is the first one past an 8 GiB guest's RAM",
    });
  }
  return out;
}

function runsOf(s: PageSet): [number, number][] {
  return [...s.runs()].map((r) => [r.start, r.length]);
}

function bitmapVectors(): Vector[] {
  const out: Vector[] = [];
  const window = constantValue("PFNS_PER_BMAP");
  const lenOff = fieldOf("balloon_bmap_hdr", "bmap_len").offset;
  const startOff = fieldOf("balloon_bmap_hdr", "start_pfn").offset;
  const layouts: BitmapLayout[] = [...BITMAP_LAYOUTS];
  for (const order of BYTE_ORDERS) {
    // 256 pages at 4096…4351 (the D-01 exposure, done right)
    const run = new PageSet();
    run.addRange(4096, 256);
    for (const layout of layouts) {
      const chain = encodeBitmapRequest({ pages: run, startPfn: 4096, bmapLen: 32, order, layout });
      out.push({
        kind: "bitmap_request",
        id: `bitmap_request.inflate.${order}.${layout.name}.run-256`,
        context: "inflate",
        byteOrder: order,
        layout: layout.name,
        hex: hex(concatChain(chain)),
        valid: true,
        runs: runsOf(run),
        description: "Inflate PFNs 4096…4351: header and 32 bytes of 0xff",
      });
    }
    // scattered pages, where layouts differ (D-13)
    const scattered = PageSet.of([64, 65, 72, 127, 128, 191]);
    for (const layout of layouts) {
      const chain = encodeBitmapRequest({
        pages: scattered,
        startPfn: 64,
        bmapLen: 16,
        order,
        layout,
      });
      out.push({
        kind: "bitmap_request",
        id: `bitmap_request.deflate.${order}.${layout.name}.scattered`,
        context: "deflate",
        byteOrder: order,
        layout: layout.name,
        hex: hex(concatChain(chain)),
        valid: true,
        runs: runsOf(scattered),
        description:
          `Six pages in two 64-bit words, in the ${layout.name} layout (decode with that layout)`,
      });
    }
    // a misc DONE chunk past the first window, echoing param
    const free = new PageSet();
    free.addRange(window, 100);
    const done = enumValues("balloon_flag").find((v) => v.name === "BALLOON_FLAG_DONE")?.value ?? 0;
    const misc = encodeBitmapRequest({
      pages: free,
      startPfn: window,
      bmapLen: 16,
      order,
      header: { flag: done, req_id: 0x0102030405060708n },
    });
    out.push({
      kind: "bitmap_request",
      id: `bitmap_request.misc-reply.${order}.done`,
      context: "misc-reply",
      byteOrder: order,
      layout: INTENDED_BITMAP_LAYOUT.name,
      guestPfns: window + 128,
      hex: hex(concatChain(misc)),
      valid: true,
      runs: runsOf(free),
      description: "A DONE chunk for a guest of 262272 PFNs echoing param 0x0102030405060708",
    });
    // invalid: header only, claiming 32 bytes (D-01 as posted)
    const headerOnly = encodeBitmapRequest({
      pages: run,
      startPfn: 4096,
      bmapLen: 32,
      order,
    })[0] as Uint8Array;
    out.push({
      kind: "bitmap_request",
      id: `bitmap_request.inflate.${order}.header-only`,
      context: "inflate",
      byteOrder: order,
      layout: INTENDED_BITMAP_LAYOUT.name,
      hex: hex(headerOnly),
      valid: false,
      error: {
        code: "length-mismatch",
        struct: "balloon_bmap_hdr",
        field: "bmap_len",
        offset: lenOff,
        rule: "R-16",
      },
      description: "The seed's D-01: a 32-byte header with bmap_len 32 and no bitmap",
    });
    const short = concatChain(
      encodeBitmapRequest({ pages: run, startPfn: 4096, bmapLen: 32, order }),
    ).subarray(0, BMAP_HDR_SIZE + 16);
    out.push({
      kind: "bitmap_request",
      id: `bitmap_request.inflate.${order}.bmap-len-past-chain`,
      context: "inflate",
      byteOrder: order,
      layout: INTENDED_BITMAP_LAYOUT.name,
      hex: hex(short),
      valid: false,
      error: {
        code: "length-mismatch",
        struct: "balloon_bmap_hdr",
        field: "bmap_len",
        offset: lenOff,
        rule: "R-16",
      },
      description: "bmap_len 32 but only 16 bitmap bytes in the chain",
    });
    const beyond = encodeBitmapRequest({
      pages: PageSet.of([2097152]),
      startPfn: 2097152,
      bmapLen: 8,
      order,
    });
    out.push({
      kind: "bitmap_request",
      id: `bitmap_request.inflate.${order}.start-beyond-ram`,
      context: "inflate",
      byteOrder: order,
      layout: INTENDED_BITMAP_LAYOUT.name,
      guestPfns: 2097152,
      hex: hex(concatChain(beyond)),
      valid: false,
      error: {
        code: "out-of-range",
        struct: "balloon_bmap_hdr",
        field: "start_pfn",
        offset: startOff,
        rule: "S-02",
      },
      description: "start_pfn is the first PFN past an 8 GiB guest's RAM",
    });
    const straddle = encodeBitmapRequest({
      pages: PageSet.of([2097100, 2097160]),
      startPfn: 2097088,
      bmapLen: 16,
      order,
    });
    out.push({
      kind: "bitmap_request",
      id: `bitmap_request.inflate.${order}.bit-beyond-ram`,
      context: "inflate",
      byteOrder: order,
      layout: INTENDED_BITMAP_LAYOUT.name,
      guestPfns: 2097152,
      hex: hex(concatChain(straddle)),
      valid: false,
      error: {
        code: "out-of-range",
        struct: "bitmap",
        field: "bit 72 (PFN 2097160)",
        offset: BMAP_HDR_SIZE + 9,
        rule: "S-02",
      },
      description: "A window that straddles the end of RAM with a bit set past it",
    });
  }
  void asPostedBitmapLayout;
  return out;
}

/** The vector file, generated from the tables. */
export function buildVectors(): VectorFile {
  return {
    $schema: "./vectors.schema.json",
    format: "virtio-balloon-test-vectors",
    version: VECTOR_FORMAT_VERSION,
    notes: [
      "Generated by `deno task vectors` from the spec tables; do not edit by hand.",
      "hex is the exact byte sequence (for bitmap_request: the concatenated descriptor chain).",
      "byteOrder: v1 = VERSION_1 negotiated (little-endian); legacy-le / legacy-be = legacy interface on a little- / big-endian guest. Config space is little-endian in all three.",
      "Integer values up to 32 bits are JSON numbers; 64-bit values are decimal strings.",
      "A decoder passes a valid vector when it decodes exactly values / pfns / runs; it passes an invalid one when it rejects it, ideally naming error.field at error.offset and error.rule.",
      "context selects the legal-value checks of a struct (e.g. flag must be 0 on inflate but CONT/DONE on a misc reply).",
      "layout names the bitmap byte layout: intended (bit j = byte j/8, bit j%8) or as-posted-<BITS_PER_LONG><le|be> (the seed's raw unsigned long words, D-13).",
    ],
    vectors: [...structVectors(), ...pfnVectors(), ...bitmapVectors()],
  };
}

/** JSON Schema (draft 2020-12) of the vector file. */
export function vectorSchema(): Record<string, unknown> {
  const scalar = {
    oneOf: [{ type: "integer", minimum: 0 }, { type: "string", pattern: "^[0-9]+$" }],
  };
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://example.invalid/virtio-balloon/vectors.schema.json",
    title: "virtio-balloon test vectors",
    type: "object",
    required: ["format", "version", "vectors"],
    properties: {
      $schema: { type: "string" },
      format: { const: "virtio-balloon-test-vectors" },
      version: { const: VECTOR_FORMAT_VERSION },
      notes: { type: "array", items: { type: "string" } },
      vectors: {
        type: "array",
        items: {
          type: "object",
          required: ["id", "kind", "byteOrder", "hex", "valid", "description"],
          additionalProperties: false,
          properties: {
            id: { type: "string", pattern: "^[a-z0-9_.\\-]+$" },
            kind: { enum: ["struct", "pfn_array", "bitmap_request"] },
            struct: { type: "string" },
            profile: { enum: ["v3", "virtio-1.x"] },
            context: { type: "string" },
            byteOrder: { enum: [...BYTE_ORDERS] },
            layout: { type: "string" },
            guestPfns: { type: "integer", minimum: 0 },
            hex: { type: "string", pattern: "^([0-9a-f]{2})*$" },
            valid: { type: "boolean" },
            values: {
              type: "object",
              additionalProperties: { oneOf: [scalar, { type: "array", items: scalar }] },
            },
            pfns: { type: "array", items: { type: "integer", minimum: 0 } },
            runs: {
              type: "array",
              items: {
                type: "array",
                prefixItems: [{ type: "integer", minimum: 0 }, { type: "integer", minimum: 1 }],
                minItems: 2,
                maxItems: 2,
              },
            },
            error: {
              type: "object",
              required: ["code", "struct", "field", "offset"],
              additionalProperties: false,
              properties: {
                code: {
                  enum: [
                    "short-buffer",
                    "illegal-value",
                    "length-mismatch",
                    "out-of-range",
                    "trailing-bytes",
                  ],
                },
                struct: { type: "string" },
                field: { type: "string" },
                offset: { type: "integer", minimum: 0 },
                rule: { type: "string" },
              },
            },
            description: { type: "string" },
          },
          allOf: [
            { if: { properties: { valid: { const: false } } }, then: { required: ["error"] } },
            {
              if: { properties: { kind: { const: "struct" } } },
              then: { required: ["struct", "context"] },
            },
            {
              if: { properties: { kind: { const: "bitmap_request" } } },
              then: { required: ["context", "layout"] },
            },
          ],
        },
      },
    },
  };
}

/** Serialises JSON the way the checked-in files are written. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}
