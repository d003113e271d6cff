/**
 * Annotated hexdumps for failure evidence, annotations derived from the
 * spec's struct tables (so a bitmap header is labelled field by field), and
 * the evidence of a device's recorded writes.
 *
 * @module
 */

import {
  type ByteOrder,
  decodeStruct,
  fieldOf,
  fieldSize,
  fieldsOf,
  type FieldValue,
  type StructName,
  structSize,
  wireSize,
} from "../../spec/mod.ts";
import type { RingLayout } from "../../impl/mod.ts";
import type { DeviceWrite } from "./ports.ts";
import type { Annotation, Evidence } from "./types.ts";

function fmtValue(v: FieldValue): string {
  if (typeof v === "object") return `[${v.join(",")}]`;
  return String(v);
}

/**
 * Labels every field of a struct at `base` in `bytes` with its decoded value;
 * fields named in `bad` are marked.
 */
export function structAnnotations(
  struct: StructName,
  bytes: Uint8Array,
  options: { order: ByteOrder; base?: number; bad?: readonly string[] },
): Annotation[] {
  const base = options.base ?? 0;
  const size = structSize(struct);
  if (bytes.length < base + size) return [];
  const values = decodeStruct(struct, bytes.subarray(base, base + size), {
    order: options.order,
    raw: true,
  });
  return fieldsOf(struct).map((f) => ({
    offset: base + f.offset,
    length: fieldSize(f),
    label: `${f.name}=${fmtValue(values[f.name] as FieldValue)}`,
    ...(options.bad?.includes(f.name) ? { bad: true } : {}),
  }));
}

const HEX = [...Array(256).keys()].map((b) => b.toString(16).padStart(2, "0"));

/**
 * Renders evidence as a hexdump, 16 bytes per line, with each annotation
 * printed at the line where its region starts; offending regions are marked
 * with `<--` and their bytes are bracketed. Long buffers are elided in the
 * middle, always keeping annotated lines.
 *
 * @example
 * ```ts
 * import { hexdump } from "./evidence.ts";
 * import assert from "node:assert/strict";
 * const out = hexdump({ title: "chain", bytes: new Uint8Array([1, 2, 3]), annotations: [{ offset: 1, length: 1, label: "x=2", bad: true }] });
 * assert.match(out, /0000  01\[02\]03/);
 * assert.match(out, /x=2 <--/);
 * ```
 */
export function hexdump(e: Evidence, maxLines = 24): string {
  const lines: string[] = [`${e.title} (${e.bytes.length} bytes)`];
  const total = Math.ceil(e.bytes.length / 16);
  const marked = new Set<number>();
  for (const a of e.annotations) {
    for (let o = a.offset; o < a.offset + a.length; o++) if (a.bad) marked.add(o);
  }
  const keep = new Set<number>();
  for (const a of e.annotations) keep.add(Math.floor(a.offset / 16));
  for (let l = 0; l < Math.min(total, 4); l++) keep.add(l);
  for (let l = Math.max(0, total - 2); l < total; l++) keep.add(l);
  let skipped = 0;
  let shown = 0;
  for (let l = 0; l < total; l++) {
    if (!keep.has(l) && total > maxLines) {
      skipped++;
      continue;
    }
    if (skipped > 0) {
      lines.push(
        `      … ${skipped} line${skipped === 1 ? "" : "s"} (${skipped * 16} bytes) not shown`,
      );
      skipped = 0;
    }
    if (shown++ > maxLines * 2) {
      lines.push("      … (cut)");
      break;
    }
    let hex = "";
    for (let i = 0; i < 16; i++) {
      const o = l * 16 + i;
      if (o >= e.bytes.length) {
        hex += "   ";
        continue;
      }
      const open = marked.has(o) && !marked.has(o - 1)
        ? "["
        : i === 0
        ? ""
        : marked.has(o - 1) && !marked.has(o)
        ? "]"
        : " ";
      hex += (i === 0 && !marked.has(o) ? "" : open) + HEX[e.bytes[o] as number];
    }
    const lastIdx = Math.min(e.bytes.length, (l + 1) * 16) - 1;
    if (marked.has(lastIdx)) hex += "]";
    const here = e.annotations.filter((a) => Math.floor(a.offset / 16) === l);
    const offset = (l * 16).toString(16).padStart(4, "0");
    if (e.labelLines !== true || here.length <= 1) {
      const labels = here.map((a) => (a.bad ? `${a.label} <-- ` : a.label)).join("  ");
      lines.push(`${offset}  ${hex.padEnd(49)} ${labels}`.trimEnd());
      continue;
    }
    // evidence that asks for it: each label on a line of its own, with its offset
    const label = (a: Annotation) =>
      `@${(a.offset % 16).toString(16).padStart(2, "0")} ${a.label}${a.bad ? " <--" : ""}`;
    lines.push(`${offset}  ${hex.padEnd(49)} ${label(here[0] as Annotation)}`);
    for (const a of here.slice(1)) lines.push(`${" ".repeat(56)}${label(a)}`);
  }
  if (skipped > 0) lines.push(`      … ${skipped} lines not shown`);
  return lines.join("\n");
}

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
 * A device's writes of a scenario as one annotated hexdump (the first
 * {@link MAX_WRITES}, up to {@link MAX_BYTES} bytes each), each labelled
 * with the ring part it hit — a descriptor, the avail ring (both marked: a
 * device must not write there, G31), the used ring's flags, index or an
 * element (decoded from the struct table) — or "a buffer"; undefined when it
 * wrote nothing. The evidence of a failing case on a port that records the
 * device's writes (observation `device-writes`).
 */
export function writesEvidence(
  writes: readonly DeviceWrite[],
  rings: ReadonlyMap<number, RingLayout>,
  order: ByteOrder,
): Evidence | undefined {
  if (writes.length === 0) return undefined;
  const shown = writes.slice(0, MAX_WRITES);
  const parts: Uint8Array[] = [];
  const annotations: Annotation[] = [];
  let offset = 0;
  for (const w of shown) {
    const data = w.bytes.subarray(0, MAX_BYTES);
    const { where, bad } = place(w.addr, w.bytes, rings, order);
    annotations.push({
      offset,
      length: data.length,
      label: `mem.write 0x${w.addr.toString(16)} +${w.bytes.length}: ${where} (during ${w.during}${
        w.line === undefined ? "" : `, line ${w.line}`
      })`,
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
