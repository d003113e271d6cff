/**
 * Chains of device scenarios: the bytes a chain spec (PFN array, bitmap
 * request, stats, raw hex, none) becomes, and the pages it names when read as the
 * tables define.
 *
 * @module
 */

import {
  BALLOON_BMAP_ALIGN_BITS,
  type ByteOrder,
  encodeBitmapRequest,
  encodePfnArray,
  encodeStats,
  encodeStruct,
  PageSet,
} from "../../spec/mod.ts";
import type { ChainSpec } from "../model/types.ts";

function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}

/** The segments of a chain spec, and the pages it names (undefined when malformed on purpose). */
export function buildChain(
  spec: ChainSpec,
  byteOrder: ByteOrder,
): { segments: Uint8Array[]; pages: PageSet | undefined } {
  const order = () => byteOrder;
  if ("pfns" in spec) {
    let b = encodePfnArray(spec.pfns, order());
    if (spec.cut) b = b.subarray(0, b.length - spec.cut);
    return { segments: [b], pages: spec.cut ? undefined : PageSet.of(spec.pfns) };
  }
  if ("bitmap" in spec) {
    const m = spec.bitmap;
    const pages = new PageSet();
    for (const [s, n] of m.runs) pages.addRange(s, n);
    const min = pages.min() ?? 0;
    const max = pages.max() ?? 0;
    const start = m.startPfn ??
      Math.floor(min / BALLOON_BMAP_ALIGN_BITS) * BALLOON_BMAP_ALIGN_BITS;
    const len = m.bmapLen ?? roundUp(max + 1 - start, BALLOON_BMAP_ALIGN_BITS) / 8;
    const segments = encodeBitmapRequest({
      pages,
      startPfn: start,
      bmapLen: len,
      order: order(),
    });
    let malformed = false;
    if (m.header !== undefined) {
      const base: Record<string, number | bigint> = {
        cmd: 0,
        page_shift: 12,
        flag: 0,
        reserved: 0,
        req_id: 0n,
        start_pfn: BigInt(start),
        bmap_len: BigInt(len),
      };
      for (const [k, v] of Object.entries(m.header)) {
        base[k] = typeof v === "string"
          ? BigInt(v)
          : (k === "req_id" || k === "start_pfn" || k === "bmap_len")
          ? BigInt(v)
          : v;
      }
      segments[0] = encodeStruct("balloon_bmap_hdr", base, { order: order() });
      malformed = true;
    }
    if (m.cut) {
      let left = m.cut;
      while (left > 0 && segments.length > 0) {
        const last = segments[segments.length - 1] as Uint8Array;
        if (last.length <= left) {
          left -= last.length;
          segments.pop();
        } else {
          segments[segments.length - 1] = last.subarray(0, last.length - left);
          left = 0;
        }
      }
      malformed = true;
    }
    return { segments, pages: malformed ? undefined : pages };
  }
  if ("stats" in spec) {
    return {
      segments: [
        encodeStats(spec.stats.map((s) => ({ tag: s.tag, val: BigInt(s.val) })), order()),
      ],
      pages: undefined,
    };
  }
  if ("cmdId" in spec) {
    throw new TypeError("A command-id chain is built from the device's current id, not here");
  }
  if ("none" in spec) return { segments: [], pages: undefined };
  const hex = spec.hex;
  const b = new Uint8Array(hex.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return { segments: [b], pages: undefined };
}
