/**
 * Annotated hexdumps for failure evidence, and annotations derived from the
 * spec's struct tables (so a bitmap header is labelled field by field).
 *
 * @module
 */

import {
  type ByteOrder,
  decodeStruct,
  fieldSize,
  fieldsOf,
  type FieldValue,
  type StructName,
  structSize,
} from "../../spec/mod.ts";
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
