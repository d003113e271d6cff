/**
 * Private test helpers for the virtqueue tests: a driver/device pair on one
 * guest memory, and raw views of the ring fields.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  BALLOON_PAGE_SIZE,
  type ByteOrder,
  enumValue,
  fieldOf,
  isLittleEndian,
  structSize,
  wireSize,
  writeScalar,
} from "../spec/mod.ts";
import { GuestMemory } from "./memory.ts";
import {
  type Chain,
  DeviceQueue,
  DriverQueue,
  type QueueFeatures,
  type RingLayout,
  ringLayout,
  type Segment,
  VirtqueueError,
} from "./virtqueue.ts";

export const NEXT = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_NEXT");
export const WRITE = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_WRITE");
export const INDIRECT = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_INDIRECT");
export const NO_INTERRUPT = enumValue("virtq_avail_flags", "VIRTQ_AVAIL_F_NO_INTERRUPT");
export const NO_NOTIFY = enumValue("virtq_used_flags", "VIRTQ_USED_F_NO_NOTIFY");
export const DESC = structSize("virtq_desc");
export const AVAIL_HDR = structSize("virtq_avail_hdr");
export const USED_HDR = structSize("virtq_used_hdr");
export const USED_ELEM = structSize("virtq_used_elem");
export const ENTRY = wireSize(fieldOf("virtq_avail_hdr", "idx").type);
export const PAGE: number = BALLOON_PAGE_SIZE;
export const DATA = 0x10_0000;
export const TABLES = 0x30_0000;

export interface Rig {
  readonly mem: GuestMemory;
  readonly layout: RingLayout;
  readonly features: QueueFeatures;
  readonly driver: DriverQueue<number>;
  readonly device: DeviceQueue;
}

export interface RigOptions {
  readonly size?: number;
  readonly order?: ByteOrder;
  readonly eventIdx?: boolean;
  readonly indirect?: boolean;
  readonly legacy?: boolean;
  readonly startIdx?: number;
  readonly maxChainLength?: number;
  readonly pages?: number;
}

export function rig(o: RigOptions = {}): Rig {
  const mem = new GuestMemory({ pages: o.pages ?? 1024 });
  const layout = ringLayout(0, o.size ?? 8, { legacy: o.legacy ?? false });
  const features = {
    order: o.order ?? "v1",
    eventIdx: o.eventIdx ?? false,
    indirect: o.indirect ?? true,
  };
  const start = o.startIdx === undefined ? {} : { startIdx: o.startIdx };
  const driver = new DriverQueue<number>(mem, layout, features, { ...start, queue: 0 });
  const device = new DeviceQueue(mem, layout, features, {
    ...start,
    queue: 0,
    ...(o.maxChainLength === undefined ? {} : { maxChainLength: o.maxChainLength }),
  });
  return { mem, layout, features, driver, device };
}

export function errorOf(fn: () => unknown): VirtqueueError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VirtqueueError) return e;
    throw e;
  }
  assert.fail("expected a VirtqueueError");
}

export function popOk(device: DeviceQueue): Chain {
  const c = device.pop();
  assert.ok(c !== undefined, "expected a chain");
  return c;
}

export function ringField(r: Rig, part: "avail" | "used", field: "flags" | "idx"): number {
  const f = fieldOf(part === "avail" ? "virtq_avail_hdr" : "virtq_used_hdr", field);
  const size = wireSize(f.type) as 2;
  return Number(
    r.mem.readUint(r.layout[part] + f.offset, size, isLittleEndian(f.type, r.features.order)),
  );
}

export function usedEvent(r: Rig): number {
  const le = isLittleEndian(fieldOf("virtq_avail_hdr", "idx").type, r.features.order);
  return Number(r.mem.readUint(r.layout.avail + AVAIL_HDR + r.layout.size * ENTRY, 2, le));
}

export function availEvent(r: Rig): number {
  const le = isLittleEndian(fieldOf("virtq_used_hdr", "idx").type, r.features.order);
  return Number(r.mem.readUint(r.layout.used + USED_HDR + r.layout.size * USED_ELEM, 2, le));
}

/** Encodes descriptors back to back with the table's field offsets, for indirect tables. */
export function encodeTable(
  order: ByteOrder,
  entries: readonly { addr: number; len: number; flags: number; next: number }[],
): Uint8Array {
  const b = new Uint8Array(entries.length * DESC);
  const v = new DataView(b.buffer);
  for (const [i, e] of entries.entries()) {
    for (const name of ["addr", "len", "flags", "next"] as const) {
      const f = fieldOf("virtq_desc", name);
      writeScalar(
        v,
        i * DESC + f.offset,
        f.type,
        order,
        name === "addr" ? BigInt(e.addr) : e[name],
      );
    }
  }
  return b;
}

export function fill(mem: GuestMemory, seg: Segment, seed: number): Uint8Array {
  const b = new Uint8Array(seg.len).map((_, i) => (seed * 31 + i) & 0xff);
  mem.write(seg.addr, b, "driver");
  return b;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
