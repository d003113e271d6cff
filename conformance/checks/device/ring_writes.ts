/**
 * Device checks judged from the device's own memory writes, in the order it
 * made them (observation `device-writes`: a device in another process, whose
 * every `mem.write` the suite serves): no write lands in a device-readable
 * buffer, an indirect table or a descriptor table (G31a); every used element
 * a `used.idx` update publishes had its `len` written before that update
 * (G45); `used.flags` only ever holds the values the rule allows (G51a).
 *
 * Rings and buffers are where the suite's runner placed them
 * (`DeviceRun.rings`, `SendResult.descriptors`); the suite never reuses a
 * buffer's memory within a scenario, so a region counts from the moment it
 * was made available (a ring from its setup) to the end of the scenario.
 *
 * @module
 */

import {
  type ByteOrder,
  enumValue,
  enumValues,
  fieldOf,
  readScalar,
  structSize,
  wireSize,
} from "../../../spec/mod.ts";
import type { DeviceWrite } from "../../model/ports.ts";
import type { Finding } from "../../model/types.ts";
import type { DeviceRun, RingRecord } from "../../runners/device.ts";
import { bad, deviceCheck, type DeviceCheckDef, ok } from "../define.ts";

const DESC_SIZE = structSize("virtq_desc");
const USED_HDR = structSize("virtq_used_hdr");
const ELEM = structSize("virtq_used_elem");
const USED_FLAGS = fieldOf("virtq_used_hdr", "flags");
const USED_IDX = fieldOf("virtq_used_hdr", "idx");
const ELEM_LEN = fieldOf("virtq_used_elem", "len");
const F_WRITE = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_WRITE");
const F_INDIRECT = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_INDIRECT");
const NO_NOTIFY = enumValue("virtq_used_flags", "VIRTQ_USED_F_NO_NOTIFY");
/** Ring indices wrap at this (a `virtio16`). */
const IDX_MODULUS = 2 ** (8 * wireSize(USED_IDX.type));
/** Failing findings listed one by one; the rest are counted in one more. */
const MAX_LISTED = 5;

const OBSERVES = { observes: () => ["device-writes" as const] };

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function descFlags(flags: number): string {
  if (flags === 0) return "0 (no flag: device-readable)";
  const names = enumValues("virtq_desc_flags").filter((v) => (flags & v.value) !== 0).map((v) =>
    v.name
  );
  return `${hex(flags)} (${names.join(" | ")})`;
}

/** Where a write is: its number in the scenario and what the suite had asked then. */
function where(writes: readonly DeviceWrite[], i: number): string {
  const w = writes[i] as DeviceWrite;
  return `mem.write ${i + 1} of ${writes.length} (during ${w.during || "?"}${
    w.line === undefined ? "" : `, transcript line ${w.line}`
  })`;
}

function unrecorded(rule: string): Finding[] {
  return [bad(rule, "the device port records no device writes to judge")];
}

function overlaps(a: number, len: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + len;
}

/** The device writes made while a ring was the live one of its queue (from its setup to the next). */
function ringWrites(run: DeviceRun, r: RingRecord, total: number): [number, number] {
  const next = run.rings.find((x) => x.index === r.index && x.writesBefore > r.writesBefore);
  return [r.writesBefore, next?.writesBefore ?? total];
}

function listed(rule: string, found: Finding[], what: string): Finding[] {
  if (found.length <= MAX_LISTED) return found;
  return [
    ...found.slice(0, MAX_LISTED),
    bad(rule, `and ${found.length - MAX_LISTED} more ${what}`, { observation: "device-writes" }),
  ];
}

/** A region of guest memory the device must not write, from a point in its writes on. */
interface Forbidden {
  readonly from: number;
  readonly addr: number;
  readonly len: number;
  readonly what: string;
}

/**
 * G31a: no device write lands inside a device-readable buffer (a descriptor
 * without VIRTQ_DESC_F_WRITE: PFN arrays, bitmap headers and bitmaps, stats
 * buffers, misc replies, command ids), inside an indirect table, or inside a
 * queue's descriptor table. A finding names the write (address, length,
 * which write of the scenario), the buffer or table, its descriptor and its
 * queue.
 */
export const readableNotWritten: DeviceCheckDef = deviceCheck("readable-not-written", (
  run,
  { rule },
) => {
  const ws = run.port.deviceWrites?.();
  if (ws === undefined) return unrecorded(rule);
  const sends = [...run.sends.values()].filter((s) => s.descriptors.length > 0);
  if (sends.length === 0) {
    return [bad(rule, "the scenario made no chain available", { root: "no chain made available" })];
  }
  const regions: Forbidden[] = [];
  for (const r of run.rings) {
    regions.push({
      from: r.writesBefore,
      addr: r.layout.desc,
      len: DESC_SIZE * r.layout.size,
      what: `the descriptor table of ${r.queue} (queue ${r.index}, ${r.layout.size} entries at ${
        hex(r.layout.desc)
      })`,
    });
  }
  let readable = 0;
  let readableBytes = 0;
  let tables = 0;
  for (const s of sends) {
    for (const d of s.descriptors) {
      const desc = `descriptor ${d.index} of ${
        d.table === "ring" ? `the ${s.queue} descriptor table` : "its indirect table"
      } ([${hex(d.addr)}, +${d.len}), flags ${descFlags(d.flags)})`;
      if ((d.flags & F_INDIRECT) !== 0) {
        tables++;
        regions.push({
          from: s.writesBefore,
          addr: d.addr,
          len: d.len,
          what: `the indirect table of ${s.queue} chain "${s.label}", which ${desc} points to`,
        });
      } else if ((d.flags & F_WRITE) === 0) {
        readable++;
        readableBytes += d.len;
        regions.push({
          from: s.writesBefore,
          addr: d.addr,
          len: d.len,
          what: `the device-readable buffer of ${s.queue} chain "${s.label}": ${desc}`,
        });
      }
    }
  }
  const found: Finding[] = [];
  ws.forEach((w, i) => {
    for (const g of regions) {
      if (i < g.from || !overlaps(w.addr, w.bytes.length, g.addr, g.len)) continue;
      found.push(bad(
        rule,
        `the device wrote ${w.bytes.length} bytes at ${hex(w.addr)} in ${
          where(ws, i)
        } into ${g.what}`,
        {
          expected: "no device write to a device-readable buffer or a descriptor table",
          actual: `[${hex(w.addr)}, +${w.bytes.length}) written, ${
            hex(Math.max(w.addr, g.addr) - g.addr)
          } bytes into it`,
          evidence: { title: `the bytes of ${where(ws, i)}`, bytes: w.bytes, annotations: [] },
          observation: "device-writes",
        },
      ));
    }
  });
  if (found.length > 0) {
    return listed(rule, found, "device writes into device-readable memory");
  }
  return [{
    ...ok(
      rule,
      `${ws.length} device writes, none inside the ${readable} device-readable buffers (${readableBytes} bytes) of ${sends.length} chains, ${tables} indirect tables or the descriptor tables of ${run.rings.length} queues`,
    ),
    observation: "device-writes",
  }];
}, OBSERVES);

function scalar(b: Uint8Array, type: typeof USED_IDX.type, order: ByteOrder): number {
  return Number(readScalar(new DataView(b.buffer, b.byteOffset, b.length), 0, type, order));
}

/** Copies the bytes of `w` that fall in `[at, at + field.length)` into `field`; whether any did. */
function apply(w: DeviceWrite, at: number, field: Uint8Array): boolean {
  let hit = false;
  for (let k = 0; k < field.length; k++) {
    const o = at + k - w.addr;
    if (o >= 0 && o < w.bytes.length) {
      field[k] = w.bytes[o] as number;
      hit = true;
    }
  }
  return hit;
}

/**
 * G45: every used element a write of `used.idx` publishes had its `len`
 * written before that write — after the slot was last published (a slot is
 * reused when the ring wraps), and not in the same write as the index.
 */
export const usedLenBeforeIdx: DeviceCheckDef = deviceCheck("used-len-before-idx", (
  run,
  { rule },
) => {
  const ws = run.port.deviceWrites?.();
  if (ws === undefined) return unrecorded(rule);
  const order = run.byteOrder;
  const found: Finding[] = [];
  let updates = 0;
  let published = 0;
  const queues = new Set<number>();
  for (const r of run.rings) {
    const { used, size } = r.layout;
    const [from, to] = ringWrites(run, r, ws.length);
    const idxAt = used + USED_IDX.offset;
    const idx = new Uint8Array(wireSize(USED_IDX.type)); // the driver set it to 0
    let cur = 0;
    const lenAt = new Array<number | undefined>(size).fill(undefined);
    const publishedAt = new Array<number>(size).fill(from - 1);
    const elemBase = used + USED_HDR;
    for (let i = from; i < to; i++) {
      const w = ws[i] as DeviceWrite;
      const end = w.addr + w.bytes.length;
      if (end > elemBase && w.addr < elemBase + ELEM * size) {
        const first = Math.max(0, Math.floor((w.addr - elemBase) / ELEM));
        const last = Math.min(size - 1, Math.floor((end - 1 - elemBase) / ELEM));
        for (let s = first; s <= last; s++) {
          const at = elemBase + ELEM * s + ELEM_LEN.offset;
          if (overlaps(w.addr, w.bytes.length, at, wireSize(ELEM_LEN.type))) lenAt[s] = i;
        }
      }
      if (!apply(w, idxAt, idx)) continue;
      const now = scalar(idx, USED_IDX.type, order);
      const moved = (now - cur + IDX_MODULUS) % IDX_MODULUS;
      if (moved === 0) continue;
      updates++;
      queues.add(r.index);
      for (let k = Math.max(0, moved - size); k < moved; k++) {
        const j = (cur + k) % IDX_MODULUS;
        const s = j % size;
        published++;
        const at = lenAt[s];
        const last = publishedAt[s] as number;
        const slot = `used.ring[${s}] (used entry ${j}, len at ${
          hex(elemBase + ELEM * s + ELEM_LEN.offset)
        })`;
        const why = at === i
          ? "written in that same mem.write, not before it"
          : at === undefined || at <= last
          ? last >= from
            ? `not written again since ${where(ws, last)} published the slot before`
            : "never written before it"
          : undefined;
        if (why !== undefined) {
          found.push(bad(
            rule,
            `used.idx of ${r.queue} (queue ${r.index}) went from ${cur} to ${now} in ${
              where(ws, i)
            }, publishing ${slot}, whose len was ${why}`,
            {
              expected: "the len of each used element written before the used.idx update",
              actual: `used.idx ${now} written first`,
              evidence: { title: `the bytes of ${where(ws, i)}`, bytes: w.bytes, annotations: [] },
              observation: "device-writes",
            },
          ));
        }
        publishedAt[s] = i;
      }
      cur = now;
    }
  }
  if (found.length > 0) return listed(rule, found, "used elements published before their len");
  if (updates === 0) {
    return [bad(rule, "the device never updated used.idx: no used element was published to judge", {
      root: "the device used no buffer",
      observation: "device-writes",
    })];
  }
  return [{
    ...ok(
      rule,
      `${updates} used.idx updates on ${queues.size} of ${run.rings.length} queues published ${published} used elements, each after its len was written`,
    ),
    observation: "device-writes",
  }];
}, OBSERVES);

/**
 * G51a: `used.flags` holds only 0 or VIRTQ_USED_F_NO_NOTIFY without
 * EVENT_IDX, and only 0 with EVENT_IDX, after every device write to it (the
 * driver set it to 0, G48; a device that never writes it keeps that).
 */
export const usedFlagsValues: DeviceCheckDef = deviceCheck("used-flags-values", (
  run,
  { rule },
) => {
  const ws = run.port.deviceWrites?.();
  if (ws === undefined) return unrecorded(rule);
  if (run.rings.length === 0) return [bad(rule, "the scenario set up no queue")];
  const found: Finding[] = [];
  let written = 0;
  for (const r of run.rings) {
    const legal = r.eventIdx ? [0] : [0, NO_NOTIFY];
    const [from, to] = ringWrites(run, r, ws.length);
    const flags = new Uint8Array(wireSize(USED_FLAGS.type));
    for (let i = from; i < to; i++) {
      const w = ws[i] as DeviceWrite;
      if (!apply(w, r.layout.used + USED_FLAGS.offset, flags)) continue;
      written++;
      const v = scalar(flags, USED_FLAGS.type, run.byteOrder);
      if (legal.includes(v)) continue;
      found.push(bad(
        rule,
        `used.flags of ${r.queue} (queue ${r.index}) is ${hex(v)} after ${where(ws, i)}`,
        {
          expected: r.eventIdx
            ? "0, as EVENT_IDX is negotiated"
            : `0 or VIRTQ_USED_F_NO_NOTIFY (${NO_NOTIFY}), as EVENT_IDX is not negotiated`,
          actual: hex(v),
          evidence: { title: `the bytes of ${where(ws, i)}`, bytes: w.bytes, annotations: [] },
          observation: "device-writes",
        },
      ));
    }
  }
  if (found.length > 0) return listed(rule, found, "illegal used.flags values");
  const eventIdx = run.rings.some((r) => r.eventIdx);
  return [{
    ...ok(
      rule,
      written === 0
        ? `the device never wrote used.flags of its ${run.rings.length} queues: it stayed 0, as the driver set it`
        : `${written} device writes of used.flags, each leaving ${
          eventIdx ? "0 (EVENT_IDX)" : "0 or VIRTQ_USED_F_NO_NOTIFY"
        }`,
    ),
    observation: "device-writes",
  }];
}, OBSERVES);
