/**
 * Device deviations in reading, decoding, applying and using inflate,
 * deflate and reply buffers (G31b, R-16, S-01 – S-03, S-05, B13).
 *
 * @module
 */

import {
  type ByteOrder,
  concatChain,
  fieldOf,
  PageSet,
  structSize,
  VIRTIO_BALLOON_PFN_SHIFT,
} from "../../spec/mod.ts";
import type { DeviceDeviation } from "../deviations.ts";
import type { DeviceContext, DeviceSeamOverride } from "../device/seams.ts";
import { reverseBits } from "./driver_bitmaps.ts";

const HDR_SIZE = structSize("balloon_bmap_hdr");
const BMAP_LEN = fieldOf("balloon_bmap_hdr", "bmap_len").offset;
const START_PFN = fieldOf("balloon_bmap_hdr", "start_pfn").offset;
const PAGE_SHIFT = fieldOf("balloon_bmap_hdr", "page_shift").offset;
const PFN_BYTES = 4;

/** A copy of a bitmap request with one 64-bit header field rewritten (when the header is there). */
function rewrite64(
  data: Uint8Array,
  field: { offset: number; order: ByteOrder },
  fn: (value: bigint) => bigint,
): Uint8Array {
  if (data.length < HDR_SIZE) return data;
  const out = data.slice();
  const view = new DataView(out.buffer);
  const le = field.order !== "legacy-be";
  view.setBigUint64(field.offset, fn(view.getBigUint64(field.offset, le)), le);
  return out;
}

/** The whole PFNs before a malformed array's error (nothing for a bitmap). */
function partialPages(d: DeviceContext, data: Uint8Array): PageSet {
  const out = new PageSet();
  const whole = data.length - (data.length % PFN_BYTES);
  if (!(d.profile === "v3" && d.has("PAGE_BITMAP"))) {
    const view = new DataView(data.buffer, data.byteOffset, whole);
    const le = d.order !== "legacy-be";
    for (let o = 0; o < whole; o += PFN_BYTES) out.add(view.getUint32(o, le));
  }
  return out;
}

/** Overrides of the request deviations. */
export const DEVICE_REQUEST_DEVIATIONS: Readonly<
  Partial<Record<DeviceDeviation, DeviceSeamOverride>>
> = {
  "ack-before-process": (d) => ({
    applyAndUse: (base) => (queue, job) => {
      if (queue === "miscq") return base(queue, job);
      d.pushUsed(job.buffer);
      d.later("device:late-apply", job.apply);
      return true;
    },
  }),
  "never-ack-inflate": () => ({
    applyAndUse: (base) => (queue, job) => {
      if (queue !== "inflateq") return base(queue, job);
      job.apply();
      return false;
    },
  }),
  "trust-bmap-len": (d) => ({
    decodeBitmap: (base) => (queue, data) => {
      // decode only the whole words present when bmap_len overruns the chain
      const have = BigInt(data.length - HDR_SIZE);
      const fixed = rewrite64(
        data,
        { offset: BMAP_LEN, order: d.order },
        (len) => len > have ? have - (have % 8n) : len,
      );
      return base(queue, fixed);
    },
  }),
  "ignore-page-shift": (d) => ({
    decodeBitmap: (base) => (queue, data) => {
      if (data.length < HDR_SIZE) return base(queue, data);
      // read page_shift as if it were always the balloon PFN shift
      const fixed = data.slice();
      new DataView(fixed.buffer).setUint16(
        PAGE_SHIFT,
        VIRTIO_BALLOON_PFN_SHIFT,
        d.order !== "legacy-be",
      );
      return base(queue, fixed);
    },
  }),
  "no-range-check": () => ({ pfnLimit: () => () => undefined }),
  "partial-apply": (d) => ({
    rejectPages: (base) => (queue, rejection) => {
      // apply whatever whole PFNs came before the error
      const partial = partialPages(d, rejection.data);
      if (partial.size > 0) d.applyPages(queue, partial);
      base(queue, rejection);
    },
  }),
  "bit-order-msb-first": () => ({
    decodeBitmap: (base) => (queue, data) => {
      const stream = data.slice();
      for (let i = HDR_SIZE; i < stream.length; i++) stream[i] = reverseBits(stream[i] as number);
      return base(queue, stream);
    },
  }),
  "bmap-len-as-bits": (d) => ({
    decodeBitmap: (base) => (queue, data) =>
      base(queue, rewrite64(data, { offset: BMAP_LEN, order: d.order }, (len) => (len + 7n) / 8n)),
  }),
  "start-pfn-off-by-one": (d) => ({
    decodeBitmap: (base) => (queue, data) => {
      // +64 keeps start_pfn aligned for the decoder; bit 0 then lands at start_pfn + 1
      const r = base(
        queue,
        rewrite64(data, { offset: START_PFN, order: d.order }, (start) => start + 64n),
      );
      const shifted = new PageSet();
      for (const p of r.pages) shifted.add(p - 63);
      return { ...r, pages: shifted };
    },
  }),
  "used-len-bytes-read": () => ({ usedLength: () => (_queue, data) => data.length }),
  "pfn-trailing-bytes": () => ({
    decodePfns: (base) => (data) => base(data.subarray(0, data.length - (data.length % PFN_BYTES))),
  }),
  "ignore-writable-descriptors": (d) => ({
    requestBytes: (base) => (chain, readable) => {
      const data = base(chain, readable);
      if (chain.writable.length === 0) return data;
      return concatChain([data, ...chain.writable.map((s) => d.transport.mem.read(s.addr, s.len))]);
    },
    chainError: () => () => undefined,
  }),
  "deflate-keeps-pages": () => ({ giveBack: () => () => {} }),
};
