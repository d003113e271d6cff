/**
 * Split-virtqueue geometry (virtio 1.x §2.7): where the descriptor table,
 * the available ring and the used ring sit in guest memory, and the index
 * arithmetic both sides share. Every size and offset comes from the spec
 * tables (`STRUCTS.virtq_*`, `VIRTQ_MAX_SIZE`, `VIRTQ_IDX_MODULUS`).
 *
 * @module
 */

import {
  BALLOON_PAGE_SIZE,
  type ByteOrder,
  fieldOf,
  STRUCTS,
  structSize,
  VIRTQ_IDX_MODULUS,
  VIRTQ_MAX_SIZE,
  wireSize,
} from "../spec/mod.ts";

/** A buffer in guest physical memory. */
export interface Segment {
  /** Guest physical address of the first byte. */
  readonly addr: number;
  /** Length in bytes. */
  readonly len: number;
}

/** Where the three parts of a split virtqueue are, as guest physical addresses. */
export interface RingLayout {
  /** Queue size: a power of two from 1 to `VIRTQ_MAX_SIZE`. */
  readonly size: number;
  /** Address of the descriptor table. */
  readonly desc: number;
  /** Address of the available (driver) ring. */
  readonly avail: number;
  /** Address of the used (device) ring. */
  readonly used: number;
}

/** Negotiated facts that change how a queue is read and written. */
export interface QueueFeatures {
  /** Byte order of the `virtio*` ring fields. */
  readonly order: ByteOrder;
  /** VIRTIO_F_EVENT_IDX (`used_event` / `avail_event` instead of the flags). */
  readonly eventIdx: boolean;
  /** VIRTIO_F_INDIRECT_DESC (descriptors may point to an indirect table). */
  readonly indirect: boolean;
}

/** Options of {@link ringLayout} and {@link ringBytes}. */
export interface RingLayoutOptions {
  /** Use the contiguous legacy layout (§2.7.2, rule G27). */
  readonly legacy?: boolean;
  /** Legacy Queue Align: the used ring starts on this boundary (default {@link LEGACY_QUEUE_ALIGN}). */
  readonly legacyAlign?: number;
}

/** Bytes of one `virtio16` avail-ring entry (also the size of `used_event` and `avail_event`). */
const RING_ENTRY: number = wireSize(fieldOf("virtq_avail_hdr", "idx").type);

/**
 * Alignment of each ring part (§2.7, rule G26): 16, 2 and 4 bytes. The spec
 * tables have no alignment column, so each is derived from the unit the part
 * is made of: a whole descriptor, a `virtio16` ring entry, and the widest
 * field of a used element.
 *
 * @example
 * ```ts
 * import { RING_ALIGN } from "./virtqueue_ring.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(RING_ALIGN, { desc: 16, avail: 2, used: 4 });
 * ```
 */
export const RING_ALIGN: Readonly<{ desc: number; avail: number; used: number }> = Object.freeze({
  desc: structSize("virtq_desc"),
  avail: RING_ENTRY,
  used: Math.max(...STRUCTS.virtq_used_elem.fields.map((f) => wireSize(f.type))),
});

/**
 * Default legacy Queue Align (§2.7.2): the legacy PCI transport's 4 KiB page,
 * the unit its queue-address register counts in (the same 12-bit shift as a
 * balloon PFN).
 */
export const LEGACY_QUEUE_ALIGN: number = BALLOON_PAGE_SIZE;

/** Bytes of each ring part for a queue of `size` entries (with `used_event` / `avail_event`). */
export function ringPartBytes(size: number): { desc: number; avail: number; used: number } {
  checkQueueSize(size);
  return {
    desc: size * structSize("virtq_desc"),
    avail: structSize("virtq_avail_hdr") + size * RING_ENTRY + RING_ENTRY,
    used: structSize("virtq_used_hdr") + size * structSize("virtq_used_elem") + RING_ENTRY,
  };
}

/**
 * Whether `size` is a legal queue size: a power of two from 1 to `VIRTQ_MAX_SIZE`.
 *
 * @example
 * ```ts
 * import { isQueueSize } from "./virtqueue_ring.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isQueueSize(256), true);
 * assert.equal(isQueueSize(384), false);
 * assert.equal(isQueueSize(65536), false);
 * ```
 */
export function isQueueSize(size: number): boolean {
  return Number.isInteger(size) && size >= 1 && size <= VIRTQ_MAX_SIZE &&
    (size & (size - 1)) === 0;
}

/** Throws a RangeError unless `size` is a legal queue size. */
export function checkQueueSize(size: number): void {
  if (!isQueueSize(size)) {
    throw new RangeError(
      `Invalid queue size: ${size}, expected a power of two from 1 to ${VIRTQ_MAX_SIZE} (VIRTQ_MAX_SIZE)`,
    );
  }
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

function legacyAlignOf(options: RingLayoutOptions | undefined): number {
  const align = options?.legacyAlign ?? LEGACY_QUEUE_ALIGN;
  if (!Number.isSafeInteger(align) || align < RING_ALIGN.desc || (align & (align - 1)) !== 0) {
    throw new RangeError(
      `Invalid legacy queue align: ${align}, expected a power of two of at least ${RING_ALIGN.desc}`,
    );
  }
  return align;
}

/**
 * Places a queue of `size` entries at `base`. Modern layout: each part is
 * aligned as {@link RING_ALIGN} says and packed after the previous one, so
 * `base` must be descriptor-aligned (rule G26). Legacy layout (rule G27):
 * descriptor table, then the avail ring, then padding to `legacyAlign`, then
 * the used ring; `base` must be `legacyAlign`-aligned. Throws a RangeError
 * for an illegal size, base or alignment.
 *
 * @example
 * ```ts
 * import { ringLayout } from "./virtqueue_ring.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(ringLayout(0x10000, 4), { size: 4, desc: 0x10000, avail: 0x10040, used: 0x10050 });
 * assert.equal(ringLayout(0x10000, 4, { legacy: true }).used, 0x11000);
 * ```
 */
export function ringLayout(base: number, size: number, options?: RingLayoutOptions): RingLayout {
  const parts = ringPartBytes(size);
  const align = options?.legacy === true ? legacyAlignOf(options) : RING_ALIGN.desc;
  if (!Number.isSafeInteger(base) || base < 0 || base % align !== 0) {
    throw new RangeError(
      `Invalid ring base: ${base}, expected a non-negative multiple of ${align}` +
        (options?.legacy === true ? " (legacy Queue Align)" : " (rule G26)"),
    );
  }
  const desc = base;
  if (options?.legacy === true) {
    const avail = desc + parts.desc;
    return { size, desc, avail, used: alignUp(avail + parts.avail, align) };
  }
  const avail = alignUp(desc + parts.desc, RING_ALIGN.avail);
  return { size, desc, avail, used: alignUp(avail + parts.avail, RING_ALIGN.used) };
}

/**
 * Bytes a queue of `size` entries occupies from its base. For the legacy
 * layout this is the spec's size formula (§2.7.2): both halves rounded up to
 * `legacyAlign`.
 *
 * @example
 * ```ts
 * import { ringBytes } from "./virtqueue_ring.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ringBytes(256), 16 * 256 + (6 + 2 * 256) + 2 + (6 + 8 * 256)); // 2 bytes of padding
 * assert.equal(ringBytes(256, { legacy: true }), 0x3000);
 * ```
 */
export function ringBytes(size: number, options?: RingLayoutOptions): number {
  const parts = ringPartBytes(size);
  if (options?.legacy === true) {
    const align = legacyAlignOf(options);
    return alignUp(parts.desc + parts.avail, align) + alignUp(parts.used, align);
  }
  const layout = ringLayout(0, size);
  return layout.used + parts.used;
}

/**
 * `vring_need_event()` on free-running u16 indices: whether moving an index
 * from `oldIdx` to `newIdx` passed `eventIdx`, i.e. whether the entry at
 * `eventIdx` was among those just added. Inputs are taken mod 2^16.
 *
 * @example
 * ```ts
 * import { needEvent } from "./virtqueue_ring.ts";
 * import assert from "node:assert/strict";
 * assert.equal(needEvent(0, 1, 0), true); // the entry at index 0 was just added
 * assert.equal(needEvent(0, 2, 1), false);
 * assert.equal(needEvent(65535, 1, 65534), true); // across the wrap
 * ```
 */
export function needEvent(eventIdx: number, newIdx: number, oldIdx: number): boolean {
  return wrapIdx(newIdx - eventIdx - 1) < wrapIdx(newIdx - oldIdx);
}

/** A free-running ring index reduced mod 2^16 (`VIRTQ_IDX_MODULUS`). */
export function wrapIdx(n: number): number {
  return ((n % VIRTQ_IDX_MODULUS) + VIRTQ_IDX_MODULUS) % VIRTQ_IDX_MODULUS;
}
