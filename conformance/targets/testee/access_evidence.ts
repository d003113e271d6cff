/**
 * Evidence from a testee's recorded memory accesses: the bytes a device in
 * another process wrote into guest memory (and the pages it discarded) in a
 * scenario, each labelled with the part of a ring it hit — a descriptor, the
 * avail ring, the used ring's flags, index or an element (decoded from the
 * spec's struct tables) — or the buffer it landed in. A failing case on a
 * process device carries it, so a reader sees what the device actually did.
 *
 * @module
 */

import {
  BALLOON_PAGE_SIZE,
  type ByteOrder,
  decodeStruct,
  fieldOf,
  structSize,
  wireSize,
} from "../../../spec/mod.ts";
import type { RingLayout } from "../../../impl/mod.ts";
import type { Annotation, Evidence } from "../../model/types.ts";
import type { MemoryAccess } from "./session.ts";

const DESC = structSize("virtq_desc");
const AVAIL_HDR = structSize("virtq_avail_hdr");
const USED_HDR = structSize("virtq_used_hdr");
const USED_ELEM = structSize("virtq_used_elem");
/** Bytes of one avail ring entry (and of `used_event` / `avail_event`). */
const RING_ENTRY = wireSize(fieldOf("virtq_avail_hdr", "idx").type);
const USED_FLAGS = fieldOf("virtq_used_hdr", "flags");
const USED_FLAGS_END = USED_FLAGS.offset + wireSize(USED_FLAGS.type);
/** Writes shown, and bytes shown of each. */
const MAX_WRITES = 24;
const MAX_BYTES = 32;

/** What a write at `addr` hit, and whether a device may write there (G31). */
function place(
  addr: number,
  data: Uint8Array,
  rings: ReadonlyMap<number, RingLayout>,
  order: ByteOrder,
): { where: string; bad: boolean } {
  for (const [q, l] of rings) {
    if (addr >= l.desc && addr < l.desc + l.size * DESC) {
      return { where: `queue ${q} desc[${Math.floor((addr - l.desc) / DESC)}]`, bad: true };
    }
    if (addr >= l.avail && addr < l.avail + AVAIL_HDR + (l.size + 1) * RING_ENTRY) {
      return { where: `queue ${q} avail ring`, bad: true };
    }
    const elems = l.used + USED_HDR;
    if (addr >= l.used && addr < elems) {
      return {
        where: `queue ${q} used ${addr - l.used < USED_FLAGS_END ? "flags" : "idx"}`,
        bad: false,
      };
    }
    if (addr >= elems && addr < elems + l.size * USED_ELEM) {
      const i = Math.floor((addr - elems) / USED_ELEM);
      const whole = (addr - elems) % USED_ELEM === 0 && data.length === USED_ELEM;
      const v = whole ? decodeStruct("virtq_used_elem", data, { order, raw: true }) : undefined;
      return {
        where: `queue ${q} used[${i}]${v === undefined ? "" : ` id=${v.id} len=${v.len}`}`,
        bad: false,
      };
    }
    if (addr === elems + l.size * USED_ELEM) return { where: `queue ${q} avail_event`, bad: false };
  }
  return { where: "a buffer", bad: false };
}

/**
 * The device's writes and discards of a scenario as one annotated hexdump
 * (the first {@link MAX_WRITES}, up to {@link MAX_BYTES} bytes each), or
 * undefined when it wrote nothing.
 */
export function accessEvidence(
  accesses: readonly MemoryAccess[],
  rings: ReadonlyMap<number, RingLayout>,
  order: ByteOrder,
): Evidence | undefined {
  const writes = accesses.filter((a) => a.op !== "read");
  if (writes.length === 0) return undefined;
  const shown = writes.slice(0, MAX_WRITES);
  const parts: Uint8Array[] = [];
  const annotations: Annotation[] = [];
  let offset = 0;
  for (const a of shown) {
    const data = (a.data ?? new Uint8Array(0)).subarray(0, MAX_BYTES);
    const at = `0x${a.addr.toString(16)}`;
    if (a.op === "discard") {
      annotations.push({
        offset,
        length: 0,
        label: `mem.discard pages ${a.addr / BALLOON_PAGE_SIZE}+${
          a.len / BALLOON_PAGE_SIZE
        } (during ${a.during})`,
      });
      continue;
    }
    const { where, bad } = place(a.addr, a.data ?? data, rings, order);
    annotations.push({
      offset,
      length: data.length,
      label: `mem.write ${at} +${a.len}: ${where} (during ${a.during}, line ${a.line + 1})`,
      ...(bad ? { bad } : {}),
    });
    parts.push(data);
    offset += data.length;
  }
  const bytes = new Uint8Array(offset);
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return {
    title:
      `the device's memory writes in this scenario, as recorded (${shown.length} of ${writes.length})`,
    bytes,
    annotations,
    labelLines: true,
  };
}
