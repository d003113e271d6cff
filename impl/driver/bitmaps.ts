/**
 * Bitmap requests (VIRTIO_BALLOON_F_PAGE_BITMAP): the driver's bitmaps,
 * how a pass is cut into windows, and how one request's header and chunks
 * are written and chained. Misc replies use the same writer.
 *
 * @module
 */

import {
  BALLOON_BMAP_ALIGN_BITS,
  BALLOON_BMAP_COUNT,
  BALLOON_BMAP_SIZE,
  type BitmapHeader,
  BITS_PER_BYTE,
  encodeBitmapHeader,
  type PageSet,
  structSize,
  VIRTIO_BALLOON_PFN_SHIFT,
} from "../../spec/mod.ts";
import { planWindows } from "../bitmap_plan.ts";
import { GuestMemory } from "../memory.ts";
import type { TaskBody } from "../scheduler.ts";
import type { Segment } from "../virtqueue.ts";
import type { DriverCore } from "./core.ts";
import { PAGE } from "./layout.ts";
import { tellHost } from "./requests.ts";
import type { BitmapQueue, PagePass } from "./seams.ts";

const HDR_SIZE = structSize("balloon_bmap_hdr");

/** extend_page_bitmap: allocates bitmaps up to `count` (and the limit), stopping at the first failure. */
export function extendBitmaps(vb: DriverCore, count: number): void {
  const order = Math.log2(BALLOON_BMAP_SIZE / PAGE);
  while (vb.bitmaps.length < Math.min(count, vb.bitmapLimit)) {
    const pfn = vb.guest.alloc.allocBlock(order, "UNMOVABLE");
    if (pfn === undefined) break;
    vb.bitmaps.push(GuestMemory.addressOf(pfn));
  }
}

/** As many bitmaps as the guest's highest PFN needs, at most BALLOON_BMAP_COUNT. */
export function wantedBitmaps(vb: DriverCore): number {
  const bits = vb.seams.bitmapSpan(vb.guest.alloc.maxPfn);
  const bytes = Math.ceil(bits / BALLOON_BMAP_ALIGN_BITS) * BALLOON_BMAP_ALIGN_BITS /
    BITS_PER_BYTE;
  return Math.min(BALLOON_BMAP_COUNT, Math.ceil(bytes / BALLOON_BMAP_SIZE));
}

/** Sends one pass as bitmap requests, one window each, waiting for each to be used. */
export function* sendBitmaps(
  vb: DriverCore,
  queue: "inflateq" | "deflateq",
  pass: PagePass,
): TaskBody<void> {
  const windows = planWindows(
    vb.seams.bitmapBits(pass.range),
    vb.seams.bitmapBits(pass.report),
    vb.seams.windowPlan(queue),
  );
  for (const w of windows) {
    const chain = writeBitmapRequest(vb, queue, { window: w, fields: {} });
    yield* tellHost(vb, queue, { chain });
  }
}

/** What one bitmap request or reply chunk holds. */
export interface BitmapRequest {
  /** The window: bit 0's PFN, bmap_len, the pages whose bits are set, the chunk lengths. */
  readonly window: {
    readonly startPfn: number;
    readonly bmapLen: number;
    readonly pages: PageSet;
    readonly chunkLens: readonly number[];
  };
  /** Header fields other than start_pfn and bmap_len (a reply's cmd, flag and req_id). */
  readonly fields: Partial<BitmapHeader>;
}

/** Writes the header and the chunks into the driver's buffers; returns the chain's segments. */
export function writeBitmapRequest(
  vb: DriverCore,
  queue: BitmapQueue,
  request: BitmapRequest,
): Segment[] {
  const w = request.window;
  // cmd 0, flag 0, reserved 0, req_id 0 and page_shift VIRTIO_BALLOON_PFN_SHIFT on requests
  const header = vb.seams.bitmapHeader({
    cmd: 0,
    page_shift: VIRTIO_BALLOON_PFN_SHIFT,
    flag: 0,
    reserved: 0,
    req_id: 0n,
    ...request.fields,
    start_pfn: BigInt(w.startPfn),
    bmap_len: BigInt(w.bmapLen),
  }, queue);
  const hdrAddr = vb.seams.headerBuffer(queue);
  vb.write(hdrAddr, encodeBitmapHeader(header, vb.order));
  const bitmap = vb.seams.bitmapBytes(w);
  const chunks: Segment[] = [];
  for (let i = 0; i < w.chunkLens.length; i++) {
    const addr = vb.bitmaps[i] as number;
    const off = i * BALLOON_BMAP_SIZE;
    vb.write(addr, bitmap.subarray(off, Math.min(bitmap.length, off + BALLOON_BMAP_SIZE)));
    chunks.push({ addr, len: w.chunkLens[i] as number });
  }
  return vb.seams.bitmapChain({ queue, header: { addr: hdrAddr, len: HDR_SIZE }, chunks });
}
