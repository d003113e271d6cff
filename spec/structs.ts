/**
 * Struct layouts as tables: every field's offset, wire type, writer, legal
 * values (per use) and meaning. Sizes are computed, never written.
 *
 * @module
 */

import { type ConstantName, constantValue, type EnumName, enumValues } from "./constants.ts";
import type { Condition, ProfileId, Role } from "./types.ts";
import { wireSize, type WireType } from "./wire.ts";

/** Where a struct is used; legal values can differ per use. */
export type StructContext =
  | "config"
  | "inflate"
  | "deflate"
  | "misc-reply"
  | "misc-request"
  | "stats"
  | "free-page-hint"
  | "ring";

/** A legal-value predicate, referring to constants and enums by name. */
export type Legal =
  | { readonly any: true }
  | { readonly eq: number }
  | { readonly constant: ConstantName }
  | { readonly enum: EnumName }
  | { readonly multipleOf: ConstantName | number }
  | { readonly atMost: ConstantName }
  | { readonly flagsOf: EnumName };

/** One check on a field: a predicate, the rule it enforces, and where it applies. */
export interface FieldCheck {
  /** The predicate. */
  readonly legal: Legal;
  /** Rule id that the check enforces (appears in errors). */
  readonly rule: string;
  /** Uses of the struct where it applies (all uses when absent). */
  readonly contexts?: readonly StructContext[];
}

/** One field of a struct. */
export interface FieldDef {
  /** Wire name (as in the C struct). */
  readonly name: string;
  /** Byte offset from the start of the struct. */
  readonly offset: number;
  /** Scalar wire type of each element. */
  readonly type: WireType;
  /** Number of elements (arrays such as `reserved[3]`); 1 when absent. */
  readonly count?: number;
  /** Who writes it. */
  readonly writer: Role;
  /** Checks on its value. */
  readonly checks: readonly FieldCheck[];
  /** Meaning. */
  readonly meaning: string;
  /** Only present (valid) when this holds. */
  readonly presentWhen?: Condition;
  /** Profiles that define it. */
  readonly profiles?: readonly ProfileId[];
  /** What the seed's code puts there, where that differs from the intended value. */
  readonly asPosted?: string;
}

/** Names of the structs in {@link STRUCTS}. */
export type StructName =
  | "virtio_balloon_config"
  | "virtio_balloon_stat"
  | "balloon_bmap_hdr"
  | "balloon_req_hdr"
  | "free_page_hint_cmd"
  | "virtq_desc"
  | "virtq_avail_hdr"
  | "virtq_used_hdr"
  | "virtq_used_elem";

/** One struct layout. */
export interface StructDef {
  /** Name used in the tables, errors and vectors. */
  readonly name: StructName;
  /** The C declaration it mirrors. */
  readonly cName: string;
  /** Meaning. */
  readonly meaning: string;
  /** Where it is defined. */
  readonly source: string;
  /** Profiles that use it. */
  readonly profiles: readonly ProfileId[];
  /** Who writes it. */
  readonly writer: Role;
  /** Uses (queues, config space). */
  readonly contexts: readonly StructContext[];
  /** When each use occurs (the features it needs); a use not listed occurs always. */
  readonly usedWhen?: Readonly<Partial<Record<StructContext, Condition>>>;
  /** Fields in offset order, with no gaps (packed). */
  readonly fields: readonly FieldDef[];
  /** Rules about the struct as a whole. */
  readonly rules: readonly string[];
  /** Rule broken by a buffer too short to hold the struct. */
  readonly lengthRule?: string;
}

const BOTH: readonly ProfileId[] = ["v3", "virtio-1.x"];
const INFLATE_DEFLATE: readonly StructContext[] = ["inflate", "deflate"];
const MISC_REPLY: readonly StructContext[] = ["misc-reply"];

/** Every struct of both profiles. */
export const STRUCTS: Readonly<Record<StructName, StructDef>> = {
  virtio_balloon_config: {
    name: "virtio_balloon_config",
    cName: "struct virtio_balloon_config",
    meaning: "Device configuration space. Always little-endian, even for legacy devices (B07)",
    source: "uapi virtio_balloon.h; virtio 1.x §5.5.4",
    profiles: BOTH,
    writer: "both",
    contexts: ["config"],
    rules: ["B07", "R-05", "R-06"],
    fields: [
      {
        name: "num_pages",
        offset: 0,
        type: "le32",
        writer: "device",
        checks: [],
        meaning:
          "Target number of 4 KiB pages the host wants in the balloon; a change raises a config-change notification",
      },
      {
        name: "actual",
        offset: 4,
        type: "le32",
        writer: "driver",
        checks: [],
        meaning:
          "Number of 4 KiB pages currently in the balloon, written after each pass (R-05, R-06, B18)",
      },
      {
        name: "free_page_hint_cmd_id",
        offset: 8,
        type: "le32",
        writer: "device",
        checks: [],
        meaning: "Current free-page-hint command id: STOP (0), DONE (1) or a round id >= 2",
        presentWhen: { feature: "FREE_PAGE_HINT" },
        profiles: ["virtio-1.x"],
      },
      {
        name: "poison_val",
        offset: 12,
        type: "le32",
        writer: "driver",
        checks: [],
        meaning:
          "Value the driver fills deflated and reported pages with (written before DRIVER_OK)",
        presentWhen: { feature: "PAGE_POISON" },
        profiles: ["virtio-1.x"],
      },
    ],
  },
  virtio_balloon_stat: {
    name: "virtio_balloon_stat",
    cName: "struct virtio_balloon_stat (packed)",
    meaning: "One memory statistic; the statsq buffer is an array of these, one per supported tag",
    source: "uapi virtio_balloon.h; virtio 1.x §5.5.6.3",
    profiles: BOTH,
    writer: "driver",
    contexts: ["stats"],
    usedWhen: { stats: { feature: "STATS_VQ" } },
    rules: ["B28", "B29", "B32", "B33", "B35"],
    lengthRule: "B29",
    fields: [
      {
        name: "tag",
        offset: 0,
        type: "virtio16",
        writer: "driver",
        checks: [],
        meaning: "Which statistic (stats_tag); devices ignore unknown tags (B33)",
      },
      {
        name: "val",
        offset: 2,
        type: "virtio64",
        writer: "driver",
        checks: [],
        meaning: "Its value: bytes for memory and swap, counts for faults",
      },
    ],
  },
  balloon_bmap_hdr: {
    name: "balloon_bmap_hdr",
    cName: "struct balloon_bmap_hdr",
    meaning:
      "Header of a bitmap request: inflate/deflate with PAGE_BITMAP, and every misc reply chunk; bitmap chunks follow it in the same chain",
    source: "seed patch 2/7 (uapi), 4/7 tell_host, 7/7 send_unused_pages_info",
    profiles: ["v3"],
    writer: "driver",
    contexts: ["inflate", "deflate", "misc-reply"],
    usedWhen: {
      inflate: { feature: "PAGE_BITMAP" },
      deflate: { feature: "PAGE_BITMAP" },
      "misc-reply": { feature: "MISC_VQ" },
    },
    rules: ["R-15", "R-16", "R-18"],
    lengthRule: "R-16",
    fields: [
      {
        name: "cmd",
        offset: 0,
        type: "virtio16",
        writer: "driver",
        checks: [
          { legal: { eq: 0 }, rule: "R-15", contexts: INFLATE_DEFLATE },
          { legal: { enum: "balloon_req_cmd" }, rule: "R-18", contexts: MISC_REPLY },
        ],
        meaning:
          '"Used to distinguish different request": 0 on inflate/deflate (unused); the request\'s command on a misc reply',
        asPosted:
          "Never written on inflate/deflate: 0 from kzalloc, or the last misc reply's (D-09)",
      },
      {
        name: "page_shift",
        offset: 2,
        type: "virtio16",
        writer: "driver",
        checks: [
          {
            legal: { constant: "VIRTIO_BALLOON_PFN_SHIFT" },
            rule: "R-15",
            contexts: INFLATE_DEFLATE,
          },
          { legal: { constant: "VIRTIO_BALLOON_PFN_SHIFT" }, rule: "R-18", contexts: MISC_REPLY },
        ],
        meaning:
          "log2 of the bytes one bit stands for; intended: the balloon PFN unit, so always 12",
        asPosted:
          "PAGE_SHIFT of the guest (16 on 64 KiB-page guests) while the bits are 4 KiB PFNs (D-14)",
      },
      {
        name: "flag",
        offset: 4,
        type: "virtio16",
        writer: "driver",
        checks: [
          { legal: { eq: 0 }, rule: "R-15", contexts: INFLATE_DEFLATE },
          { legal: { enum: "balloon_flag" }, rule: "R-18", contexts: MISC_REPLY },
        ],
        meaning:
          "0 on inflate/deflate; BALLOON_FLAG_CONT or BALLOON_FLAG_DONE (values) on a misc reply",
        asPosted: "Stale DONE (1) on inflate/deflate after a misc reply (D-09)",
      },
      {
        name: "reserved",
        offset: 6,
        type: "virtio16",
        writer: "driver",
        checks: [
          { legal: { eq: 0 }, rule: "R-15", contexts: INFLATE_DEFLATE },
          { legal: { eq: 0 }, rule: "R-18", contexts: MISC_REPLY },
        ],
        meaning: "Reserved; keeps req_id 8-byte aligned; always 0",
      },
      {
        name: "req_id",
        offset: 8,
        type: "virtio64",
        writer: "driver",
        checks: [{ legal: { eq: 0 }, rule: "R-15", contexts: INFLATE_DEFLATE }],
        meaning: "0 on inflate/deflate; on a misc reply the request's param, echoed (R-18)",
        asPosted:
          "Stale param on inflate/deflate (D-09); byte-swapped on BE guests (D-07); 32 bits on 32-bit guests (D-08)",
      },
      {
        name: "start_pfn",
        offset: 16,
        type: "virtio64",
        writer: "driver",
        checks: [
          {
            legal: { multipleOf: "BALLOON_BMAP_ALIGN_BITS" },
            rule: "R-15",
            contexts: INFLATE_DEFLATE,
          },
          { legal: { multipleOf: "PFNS_PER_BMAP" }, rule: "R-18", contexts: MISC_REPLY },
        ],
        meaning: "PFN (4 KiB units) of bit 0 of the bitmap",
      },
      {
        name: "bmap_len",
        offset: 24,
        type: "virtio64",
        writer: "driver",
        checks: [
          { legal: { multipleOf: 8 }, rule: "R-15", contexts: INFLATE_DEFLATE },
          { legal: { multipleOf: 8 }, rule: "R-18", contexts: MISC_REPLY },
          { legal: { atMost: "BALLOON_BMAP_MAX_BYTES" }, rule: "R-16" },
        ],
        meaning: "Length in bytes of the bitmap that follows the header in the same chain",
        asPosted: "Misc DONE chunk: floor(nr_pfn / 8), not a multiple of 8 and truncating (D-16)",
      },
    ],
  },
  balloon_req_hdr: {
    name: "balloon_req_hdr",
    cName: "struct balloon_req_hdr",
    meaning:
      "A host request on the misc queue: the device writes it into the driver's 16-byte device-writable buffer and uses it with len 16",
    source: "seed patch 6/7 (uapi), 7/7 misc_handle_rq",
    profiles: ["v3"],
    writer: "device",
    contexts: ["misc-request"],
    usedWhen: { "misc-request": { feature: "MISC_VQ" } },
    rules: ["R-04", "R-17a", "R-17b"],
    lengthRule: "R-17a",
    fields: [
      {
        name: "cmd",
        offset: 0,
        type: "virtio16",
        writer: "device",
        checks: [{ legal: { enum: "balloon_req_cmd" }, rule: "R-17a" }],
        meaning: "Command; only BALLOON_GET_UNUSED_PAGES exists",
        asPosted: "Read without virtio16_to_cpu (D-07)",
      },
      {
        name: "reserved",
        offset: 2,
        type: "virtio16",
        count: 3,
        writer: "device",
        checks: [{ legal: { eq: 0 }, rule: "R-17a" }],
        meaning: "Reserved; written as 0 (the seed's driver does not check it)",
      },
      {
        name: "param",
        offset: 8,
        type: "virtio64",
        writer: "device",
        checks: [],
        meaning: "Request parameter, echoed as req_id in every reply chunk",
        asPosted: "Read without virtio64_to_cpu (D-07) and through an unsigned long (D-08)",
      },
    ],
  },
  free_page_hint_cmd: {
    name: "free_page_hint_cmd",
    cName: "__virtio32 cmd_id (free_page_vq out buffer)",
    meaning: "A 4-byte free-page-hint out buffer holding a command id (B37)",
    source: "virtio 1.2 §5.5.6.5",
    profiles: ["virtio-1.x"],
    writer: "driver",
    contexts: ["free-page-hint"],
    usedWhen: { "free-page-hint": { feature: "FREE_PAGE_HINT" } },
    rules: ["B37", "B38", "B42", "B53"],
    lengthRule: "B37",
    fields: [
      {
        name: "cmd_id",
        offset: 0,
        type: "virtio32",
        writer: "driver",
        checks: [],
        meaning: "The current cmd id at the start of a round, or STOP at its end",
      },
    ],
  },
  virtq_desc: {
    name: "virtq_desc",
    cName: "struct virtq_desc",
    meaning: "Split-ring descriptor (16 bytes, 16-byte aligned table)",
    source: "virtio 1.x §2.7.5",
    profiles: BOTH,
    writer: "driver",
    contexts: ["ring"],
    rules: ["G26", "G29", "G32", "G36", "G37"],
    fields: [
      {
        name: "addr",
        offset: 0,
        type: "virtio64",
        writer: "driver",
        checks: [],
        meaning: "Guest physical address of the buffer",
      },
      {
        name: "len",
        offset: 8,
        type: "virtio32",
        writer: "driver",
        checks: [],
        meaning: "Length in bytes",
      },
      {
        name: "flags",
        offset: 12,
        type: "virtio16",
        writer: "driver",
        checks: [],
        meaning: "NEXT, WRITE, INDIRECT",
      },
      {
        name: "next",
        offset: 14,
        type: "virtio16",
        writer: "driver",
        checks: [],
        meaning: "Index of the next descriptor when NEXT is set",
      },
    ],
  },
  virtq_avail_hdr: {
    name: "virtq_avail_hdr",
    cName: "struct virtq_avail (flags, idx; then le16 ring[Q], le16 used_event)",
    meaning: "Head of the available ring; ring entries and used_event are virtio16 each",
    source: "virtio 1.x §2.7.6",
    profiles: BOTH,
    writer: "driver",
    contexts: ["ring"],
    rules: ["G40", "G41a", "G41b"],
    fields: [
      {
        name: "flags",
        offset: 0,
        type: "virtio16",
        writer: "driver",
        checks: [{ legal: { flagsOf: "virtq_avail_flags" }, rule: "G41a" }],
        meaning: "VIRTQ_AVAIL_F_NO_INTERRUPT",
      },
      {
        name: "idx",
        offset: 2,
        type: "virtio16",
        writer: "driver",
        checks: [],
        meaning: "Where the driver will put the next entry (free-running, wraps at 65536)",
      },
    ],
  },
  virtq_used_hdr: {
    name: "virtq_used_hdr",
    cName: "struct virtq_used (flags, idx; then ring[Q] of virtq_used_elem, le16 avail_event)",
    meaning: "Head of the used ring",
    source: "virtio 1.x §2.7.8",
    profiles: BOTH,
    writer: "device",
    contexts: ["ring"],
    rules: ["G45", "G51a", "G51b"],
    fields: [
      {
        name: "flags",
        offset: 0,
        type: "virtio16",
        writer: "device",
        checks: [{ legal: { flagsOf: "virtq_used_flags" }, rule: "G51a" }],
        meaning: "VIRTQ_USED_F_NO_NOTIFY",
      },
      {
        name: "idx",
        offset: 2,
        type: "virtio16",
        writer: "device",
        checks: [],
        meaning: "Where the device will put the next entry (free-running, wraps at 65536)",
      },
    ],
  },
  virtq_used_elem: {
    name: "virtq_used_elem",
    cName: "struct virtq_used_elem",
    meaning: "One used-ring entry",
    source: "virtio 1.x §2.7.8",
    profiles: BOTH,
    writer: "device",
    contexts: ["ring"],
    rules: ["G45", "G46a"],
    fields: [
      {
        name: "id",
        offset: 0,
        type: "virtio32",
        writer: "device",
        checks: [],
        meaning: "Head index of the used chain",
      },
      {
        name: "len",
        offset: 4,
        type: "virtio32",
        writer: "device",
        checks: [],
        meaning: "Bytes written into the device-writable part of the chain",
      },
    ],
  },
};

/** Size in bytes of one field (all its elements). */
export function fieldSize(field: FieldDef): number {
  return wireSize(field.type) * (field.count ?? 1);
}

/**
 * Size in bytes of a struct, optionally only the fields present in one profile.
 *
 * @example
 * ```ts
 * import { structSize } from "./structs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(structSize("balloon_bmap_hdr"), 32);
 * assert.equal(structSize("virtio_balloon_config", "v3"), 8);
 * assert.equal(structSize("virtio_balloon_config", "virtio-1.x"), 16);
 * ```
 */
export function structSize(name: StructName, profile?: ProfileId): number {
  return fieldsOf(name, profile).reduce((n, f) => Math.max(n, f.offset + fieldSize(f)), 0);
}

/** The fields of a struct that a profile defines. */
export function fieldsOf(name: StructName, profile?: ProfileId): readonly FieldDef[] {
  return STRUCTS[name].fields.filter((f) =>
    profile === undefined || (f.profiles ?? STRUCTS[name].profiles).includes(profile)
  );
}

/** A field of a struct, by name. */
export function fieldOf(struct: StructName, field: string): FieldDef {
  const f = STRUCTS[struct].fields.find((x) => x.name === field);
  if (f === undefined) throw new RangeError(`Struct ${struct} has no field ${field}`);
  return f;
}

/** The checks of a field that apply in one use of its struct. */
export function checksFor(field: FieldDef, context?: StructContext): readonly FieldCheck[] {
  return field.checks.filter((c) =>
    c.contexts === undefined || context === undefined || c.contexts.includes(context)
  );
}

function resolve(n: ConstantName | number): number {
  return typeof n === "number" ? n : constantValue(n);
}

/** Whether a value satisfies a legal-value predicate. */
export function isLegal(legal: Legal, value: number | bigint): boolean {
  const v = BigInt(value);
  if ("any" in legal) return true;
  if ("eq" in legal) return v === BigInt(legal.eq);
  if ("constant" in legal) return v === BigInt(constantValue(legal.constant));
  if ("enum" in legal) return enumValues(legal.enum).some((e) => BigInt(e.value) === v);
  if ("multipleOf" in legal) return v % BigInt(resolve(legal.multipleOf)) === 0n;
  if ("atMost" in legal) return v <= BigInt(constantValue(legal.atMost));
  let all = 0n;
  for (const e of enumValues(legal.flagsOf)) all |= BigInt(e.value);
  return (v & ~all) === 0n;
}

/**
 * What a legal-value predicate expects, in words (used in error messages and docs).
 *
 * @example
 * ```ts
 * import { describeLegal } from "./structs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(describeLegal({ constant: "VIRTIO_BALLOON_PFN_SHIFT" }), "12 (VIRTIO_BALLOON_PFN_SHIFT)");
 * ```
 */
export function describeLegal(legal: Legal): string {
  if ("any" in legal) return "any value";
  if ("eq" in legal) return String(legal.eq);
  if ("constant" in legal) return `${constantValue(legal.constant)} (${legal.constant})`;
  if ("enum" in legal) {
    return "one of " + enumValues(legal.enum).map((e) => `${e.value} (${e.name})`).join(", ");
  }
  if ("multipleOf" in legal) {
    const n = resolve(legal.multipleOf);
    return typeof legal.multipleOf === "number"
      ? `a multiple of ${n}`
      : `a multiple of ${n} (${legal.multipleOf})`;
  }
  if ("atMost" in legal) return `at most ${constantValue(legal.atMost)} (${legal.atMost})`;
  return "a combination of " + enumValues(legal.flagsOf).map((e) => e.name).join(" | ");
}
