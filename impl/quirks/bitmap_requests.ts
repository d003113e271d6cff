/**
 * Seed quirks in inflate and deflate bitmap requests: how windows and chunks
 * are cut (D-01, D-02, D-15), which pages an inflate reports (D-03), the
 * shared header (D-09), migration's stale request (D-12), the raw
 * `unsigned long[]` layout (D-13) and guest-page bits (D-14).
 *
 * @module
 */

import { asPostedBitmapLayout, type BitmapHeader, encodeBitmap, PageSet } from "../../spec/mod.ts";
import type { DriverSeamOverride } from "../driver/seams.ts";
import type { QuirkId } from "../quirks.ts";
import type { Segment } from "../virtqueue.ts";

/** Overrides of the bitmap request quirks. */
export const BITMAP_REQUEST_QUIRKS: Readonly<Partial<Record<QuirkId, DriverSeamOverride>>> = {
  // nr_used_bmap = nr_pfn / PFNS_PER_BMAP: header only under 1 GiB; above, the last
  // chunk can be longer than its buffer, an over-read of guest memory
  "D-01": () => ({ windowPlan: (base) => (queue) => ({ ...base(queue), chunks: "as-posted" }) }),
  // while (w < roundup(max, 64)): a 64-aligned highest page at a window start is never sent
  "D-02": () => ({ windowPlan: (base) => (queue) => ({ ...base(queue), bound: "as-posted" }) }),
  // the bitmap is never cleared between passes: every balloon page of the window is set
  "D-03": (vb) => ({
    inflateReport: (base) => (pass) => pass.encoding === "bitmap" ? vb.balloon : base(pass),
  }),
  // one bmap_hdr for every queue: a misc reply's cmd, flag and req_id stay for the next request
  "D-09": () => {
    let shared: BitmapHeader | undefined;
    return {
      headerBuffer: (base) => () => base("inflateq"),
      bitmapHeader: (base) => (header, queue) => {
        const fresh = base(header, queue);
        const out = queue === "miscq" || shared === undefined
          ? fresh
          : { ...fresh, cmd: shared.cmd, flag: shared.flag, req_id: shared.req_id };
        shared = out;
        return out;
      },
    };
  },
  // migration calls tell_host with whatever the header and bitmaps last held
  "D-12": (vb) => {
    let last: Segment[] | undefined;
    return {
      bitmapChain: (base) => (chain) => {
        const segments = base(chain);
        if (chain.queue !== "miscq") last = segments;
        return segments;
      },
      sendMigration: (base) =>
        function* (queue, pages) {
          if (vb.seams.usesBitmaps() && last !== undefined) yield* vb.tellHost(queue, last);
          else yield* base(queue, pages);
        },
    };
  },
  // raw unsigned long words in guest byte order, start and span rounded to BITS_PER_LONG
  "D-13": (vb) => ({
    windowPlan: (base) => (queue) => ({ ...base(queue), granularity: vb.abi.bitsPerLong }),
    bitmapBytes: () => (w) =>
      encodeBitmap(
        w.pages,
        w.startPfn,
        w.bmapLen,
        asPostedBitmapLayout(vb.abi.bitsPerLong, vb.transport.guestEndian),
      ),
  }),
  // page_shift = PAGE_SHIFT and one bit per guest page
  "D-14": (vb) => ({
    bitmapBits: (base) => (pages) => {
      const ppp = vb.pagesPerPage;
      if (ppp === 1) return base(pages);
      const out = new PageSet();
      for (const r of base(pages).runs()) {
        for (let p = r.start; p < r.start + r.length; p += ppp) out.add(p);
      }
      return out;
    },
    bitmapSpan: (base) => (maxPfn) => Math.floor(base(maxPfn) / vb.pagesPerPage),
    bitmapHeader: (base) => (header, queue) => ({
      ...base(header, queue),
      page_shift: vb.abi.pageShift,
    }),
  }),
  // while (vq->num_free < nr_buf) msleep(2): requests are not cut to fit the ring
  "D-15": () => ({
    windowPlan: (base) => (queue) => {
      const { maxChunks: _, ...plan } = base(queue);
      return plan;
    },
    waitForRoom: () =>
      function* (vq, descriptors) {
        while (vq.numFree < descriptors) yield { sleep: 2 };
      },
  }),
};
