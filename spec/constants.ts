/**
 * Protocol constants and enumerations, as tables. Derived constants are
 * computed from the ones they come from, never written twice.
 *
 * @module
 */

import type { ProfileId } from "./types.ts";

/** Names of the constants in {@link CONSTANTS}. */
export type ConstantName =
  | "VIRTIO_BALLOON_PFN_SHIFT"
  | "BALLOON_PAGE_SIZE"
  | "VIRTIO_BALLOON_ARRAY_PFNS_MAX"
  | "OOM_VBALLOON_DEFAULT_PAGES"
  | "VIRTBALLOON_OOM_NOTIFY_PRIORITY"
  | "BALLOON_BMAP_SIZE"
  | "PFNS_PER_BMAP"
  | "BALLOON_BMAP_COUNT"
  | "BALLOON_BMAP_MAX_WINDOW"
  | "BALLOON_BMAP_MAX_BYTES"
  | "BALLOON_BMAP_ALIGN_BITS"
  | "VIRTQ_MAX_SIZE"
  | "VIRTQ_IDX_MODULUS"
  | "VIRTIO_ID_BALLOON"
  | "VIRTIO_BALLOON_HINT_BLOCK_ORDER"
  | "PAGE_REPORTING_ORDER"
  | "PAGE_REPORTING_CAPACITY"
  | "PAGE_REPORTING_DELAY_MS"
  | "FREE_PAGE_HINT_CMD_ID_MIN"
  | "LINUX_PAGE_POISON";

/** One named constant. */
export interface Constant {
  /** C name (or our name where the seed has none). */
  readonly name: ConstantName;
  /** Value. */
  readonly value: number;
  /** Unit of the value. */
  readonly unit: string;
  /** How it is derived from other constants, if it is. */
  readonly derivation?: string;
  /** Meaning. */
  readonly meaning: string;
  /** Where it comes from. */
  readonly source: string;
  /** Profiles that use it. */
  readonly profiles: readonly ProfileId[];
}

const BOTH: readonly ProfileId[] = ["v3", "virtio-1.x"];

/** PFN unit of the balloon interface: a balloon PFN always means 4096 bytes. */
export const VIRTIO_BALLOON_PFN_SHIFT = 12;
/** Bytes per balloon PFN. */
export const BALLOON_PAGE_SIZE: number = 1 << VIRTIO_BALLOON_PFN_SHIFT;
/** PFNs per inflate/deflate PFN-array request (Linux `VIRTIO_BALLOON_ARRAY_PFNS_MAX`). */
export const VIRTIO_BALLOON_ARRAY_PFNS_MAX = 256;
/** Pages deflated per OOM notification (`OOM_VBALLOON_DEFAULT_PAGES`, module param `oom_pages`). */
export const OOM_VBALLOON_DEFAULT_PAGES = 256;
/** Priority of the OOM notifier. */
export const VIRTBALLOON_OOM_NOTIFY_PRIORITY = 80;
/** Guest pages per bitmap chunk size (`BALLOON_BMAP_SIZE = 8 * PAGE_SIZE`). */
export const BALLOON_BMAP_PAGES_PER_CHUNK = 8;
/** Bitmap chunk size in bytes for 4 KiB guest pages. */
export const BALLOON_BMAP_SIZE: number = BALLOON_BMAP_PAGES_PER_CHUNK * BALLOON_PAGE_SIZE;
/** Bits per byte. */
export const BITS_PER_BYTE = 8;
/** PFNs covered by one bitmap chunk (`PFNS_PER_BMAP`). */
export const PFNS_PER_BMAP: number = BALLOON_BMAP_SIZE * BITS_PER_BYTE;
/** Maximum number of bitmap chunks per request (`BALLOON_BMAP_COUNT`). */
export const BALLOON_BMAP_COUNT = 32;
/** PFNs in the largest bitmap window (`PFNS_PER_BMAP * BALLOON_BMAP_COUNT`). */
export const BALLOON_BMAP_MAX_WINDOW: number = PFNS_PER_BMAP * BALLOON_BMAP_COUNT;
/** Largest bitmap payload of one request, in bytes (`BALLOON_BMAP_SIZE * BALLOON_BMAP_COUNT`). */
export const BALLOON_BMAP_MAX_BYTES: number = BALLOON_BMAP_SIZE * BALLOON_BMAP_COUNT;
/** Alignment, in PFNs, of `start_pfn` and granularity of `bmap_len` (64 bits, intended layout). */
export const BALLOON_BMAP_ALIGN_BITS = 64;
/** Largest virtqueue size (virtio 1.x §2.7). */
export const VIRTQ_MAX_SIZE = 32768;
/** Device ID of the traditional balloon. */
export const VIRTIO_ID_BALLOON = 5;
/** Size of the u16 ring index space. */
export const VIRTQ_IDX_MODULUS = 65536;
/** Order of the blocks a Linux driver hints on free_page_vq (`VIRTIO_BALLOON_HINT_BLOCK_ORDER`). */
export const VIRTIO_BALLOON_HINT_BLOCK_ORDER = 10;
/** Smallest order of the free blocks Linux reports (`pageblock_order` on x86-64). */
export const PAGE_REPORTING_ORDER = 9;
/** Most free blocks in one report (`PAGE_REPORTING_CAPACITY`). */
export const PAGE_REPORTING_CAPACITY = 32;
/** Delay before a reporting pass after memory was freed (`PAGE_REPORTING_DELAY`, 2 s). */
export const PAGE_REPORTING_DELAY_MS = 2000;
/** First free-page-hint command id QEMU issues (ids wrap back to it). */
export const FREE_PAGE_HINT_CMD_ID_MIN = 0x8000_0000;
/** The byte Linux fills freed pages with under `page_poison=1` (`PAGE_POISON`). */
export const LINUX_PAGE_POISON = 0xaa;

/** Every constant with its provenance, in the order the spec doc prints them. */
export const CONSTANTS: readonly Constant[] = [
  {
    name: "VIRTIO_BALLOON_PFN_SHIFT",
    value: VIRTIO_BALLOON_PFN_SHIFT,
    unit: "bits",
    meaning:
      "A balloon PFN is a guest physical address shifted right by this, whatever the guest page size",
    source: "uapi virtio_balloon.h; virtio 1.x §5.5.6",
    profiles: BOTH,
  },
  {
    name: "BALLOON_PAGE_SIZE",
    value: BALLOON_PAGE_SIZE,
    unit: "bytes",
    derivation: "1 << VIRTIO_BALLOON_PFN_SHIFT",
    meaning: "Bytes per balloon PFN; num_pages and actual count these units",
    source: "derived",
    profiles: BOTH,
  },
  {
    name: "VIRTIO_BALLOON_ARRAY_PFNS_MAX",
    value: VIRTIO_BALLOON_ARRAY_PFNS_MAX,
    unit: "PFNs",
    meaning: "PFNs per inflate/deflate request in PFN-array mode (Linux and FreeBSD cap)",
    source: "Linux drivers/virtio/virtio_balloon.c; seed R-07",
    profiles: BOTH,
  },
  {
    name: "OOM_VBALLOON_DEFAULT_PAGES",
    value: OOM_VBALLOON_DEFAULT_PAGES,
    unit: "4 KiB pages",
    meaning: "Most pages one OOM notification deflates (module parameter oom_pages)",
    source: "seed patch 4/7 context; Linux VIRTIO_BALLOON_OOM_NR_PAGES",
    profiles: BOTH,
  },
  {
    name: "VIRTBALLOON_OOM_NOTIFY_PRIORITY",
    value: VIRTBALLOON_OOM_NOTIFY_PRIORITY,
    unit: "priority",
    meaning: "Priority of the balloon's OOM notifier",
    source: "seed patch 4/7 context",
    profiles: BOTH,
  },
  {
    name: "BALLOON_BMAP_SIZE",
    value: BALLOON_BMAP_SIZE,
    unit: "bytes",
    derivation: "8 * PAGE_SIZE (4 KiB guest pages)",
    meaning: "Size of one bitmap chunk (one descriptor after the header)",
    source: "seed patch 4/7",
    profiles: ["v3"],
  },
  {
    name: "PFNS_PER_BMAP",
    value: PFNS_PER_BMAP,
    unit: "PFNs",
    derivation: "BALLOON_BMAP_SIZE * BITS_PER_BYTE",
    meaning: "PFNs covered by one chunk (1 GiB of 4 KiB pages)",
    source: "seed patch 4/7",
    profiles: ["v3"],
  },
  {
    name: "BALLOON_BMAP_COUNT",
    value: BALLOON_BMAP_COUNT,
    unit: "chunks",
    meaning: "Most chunks per request: at most 1 + 32 descriptors per chain",
    source: "seed patch 4/7",
    profiles: ["v3"],
  },
  {
    name: "BALLOON_BMAP_MAX_WINDOW",
    value: BALLOON_BMAP_MAX_WINDOW,
    unit: "PFNs",
    derivation: "PFNS_PER_BMAP * BALLOON_BMAP_COUNT",
    meaning: "Largest bitmap window (32 GiB); larger guests need several requests",
    source: "derived",
    profiles: ["v3"],
  },
  {
    name: "BALLOON_BMAP_MAX_BYTES",
    value: BALLOON_BMAP_MAX_BYTES,
    unit: "bytes",
    derivation: "BALLOON_BMAP_SIZE * BALLOON_BMAP_COUNT",
    meaning: "Largest bmap_len of one request (1 MiB)",
    source: "derived",
    profiles: ["v3"],
  },
  {
    name: "BALLOON_BMAP_ALIGN_BITS",
    value: BALLOON_BMAP_ALIGN_BITS,
    unit: "PFNs",
    meaning:
      "Inflate/deflate start_pfn is a multiple of this and bmap_len a multiple of this / 8 bytes (intended; as posted it is BITS_PER_LONG)",
    source: "seed patch 4/7 set_page_bitmap/tell_host",
    profiles: ["v3"],
  },
  {
    name: "VIRTQ_MAX_SIZE",
    value: VIRTQ_MAX_SIZE,
    unit: "descriptors",
    meaning: "Largest queue size; a power of two",
    source: "virtio 1.x §2.7",
    profiles: BOTH,
  },
  {
    name: "VIRTQ_IDX_MODULUS",
    value: VIRTQ_IDX_MODULUS,
    unit: "indices",
    meaning: "Ring indices are free-running u16 values that wrap at this",
    source: "virtio 1.x §2.7.13",
    profiles: BOTH,
  },
  {
    name: "VIRTIO_ID_BALLOON",
    value: VIRTIO_ID_BALLOON,
    unit: "device id",
    meaning: "Device ID of the traditional memory balloon",
    source: "virtio 1.x §5",
    profiles: BOTH,
  },
  {
    name: "VIRTIO_BALLOON_HINT_BLOCK_ORDER",
    value: VIRTIO_BALLOON_HINT_BLOCK_ORDER,
    unit: "order (2^n 4 KiB pages)",
    meaning:
      "Blocks a driver hints on free_page_vq, one device-writable descriptor each (4 MiB); the spec sets no size",
    source: "Linux drivers/virtio/virtio_balloon.c (MAX_ORDER - 1 on x86-64)",
    profiles: ["virtio-1.x"],
  },
  {
    name: "PAGE_REPORTING_ORDER",
    value: PAGE_REPORTING_ORDER,
    unit: "order (2^n 4 KiB pages)",
    meaning:
      "Smallest free block a driver reports (2 MiB); larger free blocks are reported whole (B62)",
    source: "Linux mm/page_reporting.c (pageblock_order on x86-64)",
    profiles: ["virtio-1.x"],
  },
  {
    name: "PAGE_REPORTING_CAPACITY",
    value: PAGE_REPORTING_CAPACITY,
    unit: "blocks",
    meaning:
      "Most free blocks in one report (one device-writable descriptor each); reporting_vq needs at least this many entries",
    source: "Linux mm/page_reporting.h",
    profiles: ["virtio-1.x"],
  },
  {
    name: "PAGE_REPORTING_DELAY_MS",
    value: PAGE_REPORTING_DELAY_MS,
    unit: "ms",
    meaning: "Delay before a reporting pass once memory has been freed",
    source: "Linux mm/page_reporting.c (PAGE_REPORTING_DELAY = 2 * HZ)",
    profiles: ["virtio-1.x"],
  },
  {
    name: "FREE_PAGE_HINT_CMD_ID_MIN",
    value: FREE_PAGE_HINT_CMD_ID_MIN,
    unit: "cmd id",
    meaning:
      "First free_page_hint_cmd_id a device issues; later rounds count up and wrap back to it (any id >= 2 starts a round)",
    source: "QEMU hw/virtio/virtio-balloon.c (VIRTIO_BALLOON_FREE_PAGE_HINT_CMD_ID_MIN)",
    profiles: ["virtio-1.x"],
  },
  {
    name: "LINUX_PAGE_POISON",
    value: LINUX_PAGE_POISON,
    unit: "byte",
    meaning:
      "Byte Linux fills freed pages with under page_poison=1; its poison_val is this byte four times (0 with init_on_free)",
    source: "Linux include/linux/poison.h (PAGE_POISON), drivers/virtio/virtio_balloon.c",
    profiles: ["virtio-1.x"],
  },
];

/**
 * The value of a named constant.
 *
 * @example
 * ```ts
 * import { constantValue } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(constantValue("PFNS_PER_BMAP"), 262144);
 * ```
 */
export function constantValue(name: ConstantName): number {
  const c = CONSTANTS.find((x) => x.name === name);
  if (c === undefined) throw new RangeError(`No constant named ${name}`);
  return c.value;
}

/** One value of an enumeration. */
export interface EnumValue {
  /** C name. */
  readonly name: string;
  /** Value. */
  readonly value: number;
  /** Meaning. */
  readonly meaning: string;
  /** Profiles that define it (defaults to the enum's). */
  readonly profiles?: readonly ProfileId[];
  /** Defined outside any spec (e.g. Linux-only stats tags). */
  readonly nonStandard?: boolean;
}

/** An enumeration: named values of one field. */
export interface EnumDef {
  /** Enum name as used in legal-value references. */
  readonly name: string;
  /** Meaning. */
  readonly meaning: string;
  /** Where it is defined. */
  readonly source: string;
  /** Profiles that use it. */
  readonly profiles: readonly ProfileId[];
  /** Whether values are bit flags (or-ed) rather than plain values. */
  readonly flags: boolean;
  /** Its values. */
  readonly values: readonly EnumValue[];
}

/** Names of the enums defined in {@link ENUMS}. */
export type EnumName =
  | "balloon_req_cmd"
  | "balloon_flag"
  | "free_page_hint_cmd_id"
  | "stats_tag"
  | "device_status"
  | "virtq_desc_flags"
  | "virtq_avail_flags"
  | "virtq_used_flags";

const V12: readonly ProfileId[] = ["virtio-1.x"];

/** Every enumeration of the protocol. */
export const ENUMS: Readonly<Record<EnumName, EnumDef>> = {
  balloon_req_cmd: {
    name: "balloon_req_cmd",
    meaning:
      "Command in a misc-queue request (`enum balloon_req_id`); also echoed as cmd in replies",
    source: "seed patch 6/7",
    profiles: ["v3"],
    flags: false,
    values: [{ name: "BALLOON_GET_UNUSED_PAGES", value: 0, meaning: "Report unused pages" }],
  },
  balloon_flag: {
    name: "balloon_flag",
    meaning: "flag of a misc reply chunk; values, not bit numbers (D-23)",
    source: "seed patch 6/7",
    profiles: ["v3"],
    flags: false,
    values: [
      { name: "BALLOON_FLAG_CONT", value: 0, meaning: "More chunks follow for this request" },
      { name: "BALLOON_FLAG_DONE", value: 1, meaning: "Last chunk of this request" },
    ],
  },
  free_page_hint_cmd_id: {
    name: "free_page_hint_cmd_id",
    meaning: "Reserved values of free_page_hint_cmd_id; values >= 2 start a hinting round",
    source: "virtio 1.2 §5.5.6.5",
    profiles: V12,
    flags: false,
    values: [
      { name: "VIRTIO_BALLOON_CMD_ID_STOP", value: 0, meaning: "Stop hinting" },
      { name: "VIRTIO_BALLOON_CMD_ID_DONE", value: 1, meaning: "Hinted pages may be released" },
    ],
  },
  stats_tag: {
    name: "stats_tag",
    meaning: "tag of a statistics entry",
    source: "virtio 1.x §5.5.6.4; uapi virtio_balloon.h",
    profiles: ["v3", "virtio-1.x"],
    flags: false,
    values: [
      { name: "VIRTIO_BALLOON_S_SWAP_IN", value: 0, meaning: "Bytes swapped in" },
      { name: "VIRTIO_BALLOON_S_SWAP_OUT", value: 1, meaning: "Bytes swapped out" },
      { name: "VIRTIO_BALLOON_S_MAJFLT", value: 2, meaning: "Major page faults (count)" },
      { name: "VIRTIO_BALLOON_S_MINFLT", value: 3, meaning: "Minor page faults (count)" },
      { name: "VIRTIO_BALLOON_S_MEMFREE", value: 4, meaning: "Free memory (bytes)" },
      { name: "VIRTIO_BALLOON_S_MEMTOT", value: 5, meaning: "Total memory (bytes)" },
      { name: "VIRTIO_BALLOON_S_AVAIL", value: 6, meaning: "Available memory estimate (bytes)" },
      { name: "VIRTIO_BALLOON_S_CACHES", value: 7, meaning: "Disk caches (bytes)", profiles: V12 },
      {
        name: "VIRTIO_BALLOON_S_HTLB_PGALLOC",
        value: 8,
        meaning: "Hugetlb page allocations (count)",
        profiles: V12,
      },
      {
        name: "VIRTIO_BALLOON_S_HTLB_PGFAIL",
        value: 9,
        meaning: "Hugetlb allocation failures (count)",
        profiles: V12,
      },
      {
        name: "VIRTIO_BALLOON_S_OOM_KILL",
        value: 10,
        meaning: "OOM kills (Linux >= 6.12, not in any spec)",
        profiles: V12,
        nonStandard: true,
      },
      {
        name: "VIRTIO_BALLOON_S_ALLOC_STALL",
        value: 11,
        meaning: "Allocation stalls (Linux >= 6.12, not in any spec)",
        profiles: V12,
        nonStandard: true,
      },
      {
        name: "VIRTIO_BALLOON_S_ASYNC_SCAN",
        value: 12,
        meaning: "Pages scanned by kswapd (Linux >= 6.12, not in any spec)",
        profiles: V12,
        nonStandard: true,
      },
      {
        name: "VIRTIO_BALLOON_S_DIRECT_SCAN",
        value: 13,
        meaning: "Pages scanned directly (Linux >= 6.12, not in any spec)",
        profiles: V12,
        nonStandard: true,
      },
      {
        name: "VIRTIO_BALLOON_S_ASYNC_RECLAIM",
        value: 14,
        meaning: "Pages reclaimed by kswapd (Linux >= 6.12, not in any spec)",
        profiles: V12,
        nonStandard: true,
      },
      {
        name: "VIRTIO_BALLOON_S_DIRECT_RECLAIM",
        value: 15,
        meaning: "Pages reclaimed directly (Linux >= 6.12, not in any spec)",
        profiles: V12,
        nonStandard: true,
      },
    ],
  },
  device_status: {
    name: "device_status",
    meaning: "Bits of the device status field",
    source: "virtio 1.x §2.1",
    profiles: ["v3", "virtio-1.x"],
    flags: true,
    values: [
      { name: "ACKNOWLEDGE", value: 1, meaning: "The guest noticed the device" },
      { name: "DRIVER", value: 2, meaning: "The guest knows how to drive it" },
      { name: "DRIVER_OK", value: 4, meaning: "The driver is set up and ready" },
      { name: "FEATURES_OK", value: 8, meaning: "Feature negotiation is complete" },
      { name: "SUSPEND", value: 16, meaning: "Device suspended (needs SUSPEND)" },
      {
        name: "DEVICE_NEEDS_RESET",
        value: 64,
        meaning: "The device hit an error and needs a reset",
      },
      { name: "FAILED", value: 128, meaning: "The driver gave up on the device" },
    ],
  },
  virtq_desc_flags: {
    name: "virtq_desc_flags",
    meaning: "flags of a split-ring descriptor",
    source: "virtio 1.x §2.7.5",
    profiles: ["v3", "virtio-1.x"],
    flags: true,
    values: [
      { name: "VIRTQ_DESC_F_NEXT", value: 1, meaning: "The chain continues in field next" },
      { name: "VIRTQ_DESC_F_WRITE", value: 2, meaning: "Device-writable buffer" },
      {
        name: "VIRTQ_DESC_F_INDIRECT",
        value: 4,
        meaning: "Buffer holds an indirect descriptor table",
      },
    ],
  },
  virtq_avail_flags: {
    name: "virtq_avail_flags",
    meaning: "flags of the avail ring",
    source: "virtio 1.x §2.7.6",
    profiles: ["v3", "virtio-1.x"],
    flags: true,
    values: [{
      name: "VIRTQ_AVAIL_F_NO_INTERRUPT",
      value: 1,
      meaning: "Driver asks for no used-buffer notifications",
    }],
  },
  virtq_used_flags: {
    name: "virtq_used_flags",
    meaning: "flags of the used ring",
    source: "virtio 1.x §2.7.8",
    profiles: ["v3", "virtio-1.x"],
    flags: true,
    values: [{
      name: "VIRTQ_USED_F_NO_NOTIFY",
      value: 1,
      meaning: "Device asks for no available-buffer notifications",
    }],
  },
};

/**
 * The value of a named enum member.
 *
 * @example
 * ```ts
 * import { enumValue } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(enumValue("balloon_flag", "BALLOON_FLAG_DONE"), 1);
 * ```
 */
export function enumValue(enumName: EnumName, member: string): number {
  const v = ENUMS[enumName].values.find((x) => x.name === member);
  if (v === undefined) throw new RangeError(`Enum ${enumName} has no member ${member}`);
  return v.value;
}

/** The members of an enum that a profile defines. */
export function enumValues(enumName: EnumName, profile?: ProfileId): readonly EnumValue[] {
  const e = ENUMS[enumName];
  return e.values.filter((v) =>
    profile === undefined || (v.profiles ?? e.profiles).includes(profile)
  );
}

/** The member name of a value, or `undefined`. */
export function enumName(enumName: EnumName, value: number): string | undefined {
  return ENUMS[enumName].values.find((v) => v.value === value)?.name;
}
