/**
 * The misc queue (VIRTIO_BALLOON_F_MISC_VQ): one device-writable request
 * buffer always available; a request is read (R-17b) and
 * GET_UNUSED_PAGES is answered with bitmap reply chunks, CONT … DONE, each
 * echoing the request's param.
 *
 * @module
 */

import { enumValue, structSize } from "../../spec/mod.ts";
import type { TaskBody } from "../scheduler.ts";
import { extendBitmaps, wantedBitmaps, writeBitmapRequest } from "./bitmaps.ts";
import type { DriverCore } from "./core.ts";
import { SCRATCH } from "./layout.ts";
import { tellHost } from "./requests.ts";
import type { MiscRequest } from "./seams.ts";

const REQ_SIZE = structSize("balloon_req_hdr");
const GET_UNUSED_PAGES = enumValue("balloon_req_cmd", "BALLOON_GET_UNUSED_PAGES");

/** Makes the request buffer available on the misc queue, notifying the device if asked. */
export function postRequestBuffer(vb: DriverCore, index: number, kick: boolean): void {
  const addr = vb.scratch + SCRATCH.miscRequest;
  vb.queues.get(index)?.vq.add([], [{ addr, len: REQ_SIZE }], "misc-request");
  if (kick) vb.kick(index);
}

/** The misc work: handles every request the device has used. */
export function* miscWork(vb: DriverCore, index: number): TaskBody<void> {
  const q = vb.queues.get(index);
  if (q === undefined) return;
  for (;;) {
    const used = q.vq.getUsed();
    if (used === undefined) return;
    if (used.token !== "misc-request") continue;
    yield* handleRequest(vb, index, used.len);
  }
}

/** One request: ignored unless it is 16 bytes long with a known cmd (R-17b), then answered. */
function* handleRequest(vb: DriverCore, index: number, len: number): TaskBody<void> {
  if (len !== REQ_SIZE) {
    vb.counters.ignoredRequests++;
    if (vb.seams.repostsRequest("bad-length")) postRequestBuffer(vb, index, true);
    return;
  }
  const request = vb.seams.readRequest(
    vb.guest.mem.read(vb.scratch + SCRATCH.miscRequest, REQ_SIZE),
  );
  if (request.cmd !== GET_UNUSED_PAGES) {
    vb.counters.ignoredRequests++;
    if (vb.seams.repostsRequest("bad-command")) postRequestBuffer(vb, index, true);
    return;
  }
  yield* sendUnusedPages(vb, request);
  if (vb.seams.repostsRequest("answered")) postRequestBuffer(vb, index, true);
}

/** The reply to GET_UNUSED_PAGES: one chunk per window of guest RAM, each used before the next. */
function* sendUnusedPages(vb: DriverCore, request: MiscRequest): TaskBody<void> {
  if (vb.seams.usesBitmaps() || vb.bitmaps.length === 0) {
    if (vb.bitmaps.length <= 1) extendBitmaps(vb, wantedBitmaps(vb));
  }
  if (vb.bitmaps.length === 0) extendBitmaps(vb, 1);
  if (vb.bitmaps.length === 0) return; // no memory for even one bitmap: no reply (the buffer is re-posted)
  yield* vb.lock();
  try {
    for (const c of vb.seams.replyChunks(vb.guest.alloc.maxPfn, vb.bitmaps.length)) {
      const pages = vb.seams.unusedPages(c);
      const chain = writeBitmapRequest(vb, "miscq", {
        window: { startPfn: c.startPfn, bmapLen: c.bmapLen, pages, chunkLens: c.chunkLens },
        fields: vb.seams.replyFields(c, request),
      });
      vb.counters.replyChunks++;
      yield* tellHost(vb, "miscq", { chain });
    }
  } finally {
    vb.unlock();
  }
}
