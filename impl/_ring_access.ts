/**
 * Private: reads and writes the fields of a split virtqueue in guest memory,
 * with offsets, sizes and byte order taken from the spec tables.
 *
 * @module
 */

import {
  type ByteOrder,
  enumValue,
  enumValues,
  fieldOf,
  isLittleEndian,
  structSize,
  wireMax,
  wireSize,
  type WireType,
} from "../spec/mod.ts";
import { GuestMemory, type PhysicalMemory, type Writer } from "./memory.ts";
import { checkQueueSize, RING_ALIGN, type RingLayout, ringPartBytes } from "./virtqueue_ring.ts";

/** Bytes of one descriptor. */
export const DESC_SIZE: number = structSize("virtq_desc");
const D_ADDR = fieldOf("virtq_desc", "addr");
const D_LEN = fieldOf("virtq_desc", "len");
const D_FLAGS = fieldOf("virtq_desc", "flags");
const D_NEXT = fieldOf("virtq_desc", "next");

/** VIRTQ_DESC_F_NEXT. */
export const F_NEXT: number = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_NEXT");
/** VIRTQ_DESC_F_WRITE. */
export const F_WRITE: number = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_WRITE");
/** VIRTQ_DESC_F_INDIRECT. */
export const F_INDIRECT: number = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_INDIRECT");
/** VIRTQ_AVAIL_F_NO_INTERRUPT. */
export const NO_INTERRUPT: number = enumValue("virtq_avail_flags", "VIRTQ_AVAIL_F_NO_INTERRUPT");
/** VIRTQ_USED_F_NO_NOTIFY. */
export const NO_NOTIFY: number = enumValue("virtq_used_flags", "VIRTQ_USED_F_NO_NOTIFY");
/** Largest `len` of one descriptor. */
export const DESC_LEN_MAX: number = Number(wireMax(D_LEN.type));
/** A chain may hold at most this many bytes in total (2^32, rule G32). */
export const CHAIN_BYTES_MAX: number = DESC_LEN_MAX + 1;

const AVAIL_FLAGS = fieldOf("virtq_avail_hdr", "flags");
const AVAIL_IDX = fieldOf("virtq_avail_hdr", "idx");
const AVAIL_HDR = structSize("virtq_avail_hdr");
/** Type of an avail-ring entry, `used_event` and `avail_event` (the same as `idx`). */
const ENTRY_TYPE: WireType = AVAIL_IDX.type;
const ENTRY = wireSize(ENTRY_TYPE);
const USED_FLAGS = fieldOf("virtq_used_hdr", "flags");
const USED_IDX = fieldOf("virtq_used_hdr", "idx");
const USED_HDR = structSize("virtq_used_hdr");
const ELEM = structSize("virtq_used_elem");
const ELEM_ID = fieldOf("virtq_used_elem", "id");
const ELEM_LEN = fieldOf("virtq_used_elem", "len");

/** A descriptor as raw field values. */
export interface RawDesc {
  /** Buffer address (above 2^53 it is only approximate, and outside any RAM). */
  readonly addr: number;
  /** Buffer length. */
  readonly len: number;
  /** Flags. */
  readonly flags: number;
  /** Next descriptor index. */
  readonly next: number;
}

const TWO_32 = 2 ** 32;
const PAGE = 1 << GuestMemory.PAGE_SHIFT;
const ZERO_PAGE = new Uint8Array(PAGE);

/**
 * Reads an unsigned scalar of `type` from `bytes` at `at` without allocating
 * (hot path). A 64-bit value above 2^53 comes back rounded, which is still
 * outside any RAM.
 */
function getScalar(bytes: Uint8Array, at: number, type: WireType, order: ByteOrder): number {
  const n = wireSize(type);
  const le = isLittleEndian(type, order);
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + (bytes[le ? at + n - 1 - i : at + i] ?? 0);
  return v;
}

const MAX: Readonly<Record<WireType, number>> = {
  u8: Number(wireMax("u8")),
  le16: Number(wireMax("le16")),
  le32: Number(wireMax("le32")),
  le64: Number.MAX_SAFE_INTEGER,
  virtio16: Number(wireMax("virtio16")),
  virtio32: Number(wireMax("virtio32")),
  virtio64: Number.MAX_SAFE_INTEGER,
};

/** Writes an unsigned scalar of `type` without BigInt; throws a RangeError if it does not fit. */
function setScalar(
  v: DataView,
  at: number,
  type: WireType,
  order: ByteOrder,
  value: number,
  name: string,
): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX[type]) {
    throw new RangeError(`Cannot encode ${name}: ${value} is outside 0..${MAX[type]} (${type})`);
  }
  const le = isLittleEndian(type, order);
  switch (wireSize(type)) {
    case 1:
      v.setUint8(at, value);
      return;
    case 2:
      v.setUint16(at, value, le);
      return;
    case 4:
      v.setUint32(at, value, le);
      return;
    case 8: {
      const hi = Math.floor(value / TWO_32);
      v.setUint32(le ? at : at + 4, value - hi * TWO_32, le);
      v.setUint32(le ? at + 4 : at, hi, le);
      return;
    }
  }
}

/** Flags as `0x5 (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT)`. */
export function describeFlags(flags: number): string {
  const names = enumValues("virtq_desc_flags").filter((e) => (flags & e.value) !== 0).map((e) =>
    e.name
  );
  return `0x${flags.toString(16)}` + (names.length === 0 ? "" : ` (${names.join(" | ")})`);
}

function checkLayout(mem: PhysicalMemory, layout: RingLayout): void {
  checkQueueSize(layout.size);
  const bytes = ringPartBytes(layout.size);
  const parts = [
    { name: "descriptor table", addr: layout.desc, len: bytes.desc, align: RING_ALIGN.desc },
    { name: "available ring", addr: layout.avail, len: bytes.avail, align: RING_ALIGN.avail },
    { name: "used ring", addr: layout.used, len: bytes.used, align: RING_ALIGN.used },
  ];
  for (const p of parts) {
    if (!Number.isSafeInteger(p.addr) || p.addr % p.align !== 0) {
      throw new RangeError(
        `Invalid ring layout: ${p.name} at ${p.addr}, expected a multiple of ${p.align} (rule G26)`,
      );
    }
    if (!mem.contains(p.addr, p.len)) {
      throw new RangeError(
        `Invalid ring layout: ${p.name} [0x${
          p.addr.toString(16)
        }, +${p.len}) ends beyond RAM (${mem.bytes} bytes)`,
      );
    }
  }
  for (const [i, a] of parts.entries()) {
    for (const b of parts.slice(i + 1)) {
      if (a.addr < b.addr + b.len && b.addr < a.addr + a.len) {
        throw new RangeError(
          `Invalid ring layout: ${a.name} at 0x${a.addr.toString(16)} overlaps ${b.name} at 0x${
            b.addr.toString(16)
          }, expected disjoint parts`,
        );
      }
    }
  }
}

/**
 * Field access for one queue in guest memory. On a {@link GuestMemory} it
 * reads fields straight from the stored page (no copy); on any other
 * {@link PhysicalMemory} every field is one `read` or `write` of that memory.
 */
export class RingAccess {
  /** Guest memory. */
  readonly mem: PhysicalMemory;
  /** Where the queue is. */
  readonly layout: RingLayout;
  /** Byte order of the ring fields. */
  readonly order: ByteOrder;
  /** Queue size. */
  readonly size: number;
  #bytes: Uint8Array = ZERO_PAGE;
  #at = 0;
  /** The same memory when it is a GuestMemory (the in-process fast path), else undefined. */
  #pages: GuestMemory | undefined;

  /** Validates the layout against the memory (RangeError). */
  constructor(mem: PhysicalMemory, layout: RingLayout, order: ByteOrder) {
    checkLayout(mem, layout);
    this.mem = mem;
    this.#pages = mem instanceof GuestMemory ? mem : undefined;
    this.layout = { size: layout.size, desc: layout.desc, avail: layout.avail, used: layout.used };
    this.order = order;
    this.size = layout.size;
  }

  /**
   * Points `#bytes`/`#at` at `len` bytes of guest memory at `addr`: straight
   * at the stored page when they lie in one page (a page never written reads
   * as zeros), else at a copy. Ring fields are aligned, so the copy is rare.
   */
  #span(addr: number, len: number): void {
    const pages = this.#pages;
    const pfn = Math.floor(addr / PAGE);
    const off = addr - pfn * PAGE;
    const page = pages !== undefined && off + len <= PAGE && addr >= 0 && addr + len <= pages.bytes
      ? pages.pageContents(pfn)
      : null;
    if (page !== null && (page === undefined || page.length >= off + len)) {
      // a stored page long enough, or a page never written (zeros)
      this.#bytes = page ?? ZERO_PAGE;
      this.#at = off;
    } else {
      this.#bytes = this.mem.read(addr, len);
      this.#at = 0;
    }
  }

  #read(addr: number, type: WireType): number {
    this.#span(addr, wireSize(type));
    return getScalar(this.#bytes, this.#at, type, this.order);
  }

  #write(addr: number, type: WireType, value: number, writer: Writer, name: string): void {
    const b = new Uint8Array(wireSize(type));
    setScalar(new DataView(b.buffer), 0, type, this.order, value, name);
    this.mem.write(addr, b, writer);
  }

  /** Decodes the descriptor at `index` of a table at `table` (caller checks bounds). */
  readDesc(table: number, index: number): RawDesc {
    this.#span(table + index * DESC_SIZE, DESC_SIZE);
    const b = this.#bytes;
    const at = this.#at;
    return {
      addr: getScalar(b, at + D_ADDR.offset, D_ADDR.type, this.order),
      len: getScalar(b, at + D_LEN.offset, D_LEN.type, this.order),
      flags: getScalar(b, at + D_FLAGS.offset, D_FLAGS.type, this.order),
      next: getScalar(b, at + D_NEXT.offset, D_NEXT.type, this.order),
    };
  }

  /** Encodes descriptors back to back, as an indirect table or one table slot. */
  encodeDescs(descs: readonly RawDesc[]): Uint8Array {
    const b = new Uint8Array(descs.length * DESC_SIZE);
    const v = new DataView(b.buffer);
    for (const [i, d] of descs.entries()) {
      const at = i * DESC_SIZE;
      setScalar(v, at + D_ADDR.offset, D_ADDR.type, this.order, d.addr, "virtq_desc.addr");
      setScalar(v, at + D_LEN.offset, D_LEN.type, this.order, d.len, "virtq_desc.len");
      setScalar(v, at + D_FLAGS.offset, D_FLAGS.type, this.order, d.flags, "virtq_desc.flags");
      setScalar(v, at + D_NEXT.offset, D_NEXT.type, this.order, d.next, "virtq_desc.next");
    }
    return b;
  }

  /** Writes one descriptor of the ring's table (driver). */
  writeDesc(index: number, desc: RawDesc): void {
    this.mem.write(this.layout.desc + index * DESC_SIZE, this.encodeDescs([desc]), "driver");
  }

  /** avail.flags. */
  get availFlags(): number {
    return this.#read(this.layout.avail + AVAIL_FLAGS.offset, AVAIL_FLAGS.type);
  }
  set availFlags(v: number) {
    this.#write(
      this.layout.avail + AVAIL_FLAGS.offset,
      AVAIL_FLAGS.type,
      v,
      "driver",
      "avail.flags",
    );
  }

  /** avail.idx. */
  get availIdx(): number {
    return this.#read(this.layout.avail + AVAIL_IDX.offset, AVAIL_IDX.type);
  }
  set availIdx(v: number) {
    this.#write(this.layout.avail + AVAIL_IDX.offset, AVAIL_IDX.type, v, "driver", "avail.idx");
  }

  /** avail.ring[slot]. */
  availEntry(slot: number): number {
    return this.#read(this.layout.avail + AVAIL_HDR + slot * ENTRY, ENTRY_TYPE);
  }

  /** Sets avail.ring[slot] (driver). */
  setAvailEntry(slot: number, head: number): void {
    this.#write(
      this.layout.avail + AVAIL_HDR + slot * ENTRY,
      ENTRY_TYPE,
      head,
      "driver",
      "avail.ring entry",
    );
  }

  /** used_event, after the avail ring entries. */
  get usedEvent(): number {
    return this.#read(this.layout.avail + AVAIL_HDR + this.size * ENTRY, ENTRY_TYPE);
  }
  set usedEvent(v: number) {
    this.#write(
      this.layout.avail + AVAIL_HDR + this.size * ENTRY,
      ENTRY_TYPE,
      v,
      "driver",
      "used_event",
    );
  }

  /** used.flags. */
  get usedFlags(): number {
    return this.#read(this.layout.used + USED_FLAGS.offset, USED_FLAGS.type);
  }

  /** Sets used.flags as `writer` (the device, or the driver when it allocates the ring). */
  setUsedFlags(v: number, writer: Writer): void {
    this.#write(this.layout.used + USED_FLAGS.offset, USED_FLAGS.type, v, writer, "used.flags");
  }

  /** used.idx. */
  get usedIdx(): number {
    return this.#read(this.layout.used + USED_IDX.offset, USED_IDX.type);
  }

  /** Sets used.idx as `writer`. */
  setUsedIdx(v: number, writer: Writer): void {
    this.#write(this.layout.used + USED_IDX.offset, USED_IDX.type, v, writer, "used.idx");
  }

  /** used.ring[slot]. */
  usedElem(slot: number): { id: number; len: number } {
    this.#span(this.layout.used + USED_HDR + slot * ELEM, ELEM);
    return {
      id: getScalar(this.#bytes, this.#at + ELEM_ID.offset, ELEM_ID.type, this.order),
      len: getScalar(this.#bytes, this.#at + ELEM_LEN.offset, ELEM_LEN.type, this.order),
    };
  }

  /** Writes used.ring[slot] (device). */
  setUsedElem(slot: number, id: number, len: number): void {
    const b = new Uint8Array(ELEM);
    const v = new DataView(b.buffer);
    setScalar(v, ELEM_ID.offset, ELEM_ID.type, this.order, id, "virtq_used_elem.id");
    setScalar(v, ELEM_LEN.offset, ELEM_LEN.type, this.order, len, "virtq_used_elem.len");
    this.mem.write(this.layout.used + USED_HDR + slot * ELEM, b, "device");
  }

  /** avail_event, after the used ring entries. */
  get availEvent(): number {
    return this.#read(this.layout.used + USED_HDR + this.size * ELEM, ENTRY_TYPE);
  }
  set availEvent(v: number) {
    this.#write(
      this.layout.used + USED_HDR + this.size * ELEM,
      ENTRY_TYPE,
      v,
      "device",
      "avail_event",
    );
  }
}
