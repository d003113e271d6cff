/**
 * Telling the host: a request's chain goes on its queue, the device is
 * notified (`Transport.notify`, which hands the queue to the device's
 * `notify` in a task of its own), and the driver waits on the queue's wait
 * queue until the used-buffer interrupt wakes it — the seed's `tell_host`.
 *
 * @module
 */

import { encodePfnArray, type PageSet } from "../../spec/mod.ts";
import type { TaskBody } from "../scheduler.ts";
import type { Segment } from "../virtqueue.ts";
import { sendBitmaps } from "./bitmaps.ts";
import type { DriverCore } from "./core.ts";
import { SCRATCH } from "./layout.ts";
import type { BitmapQueue, PagePass } from "./seams.ts";
import { queueWork } from "./works.ts";

/**
 * tell_host: adds the chain to the queue, notifies the device and waits
 * until the device has used it. A misc request that arrives meanwhile is
 * handled later, in the misc work.
 */
export function* tellHost(
  vb: DriverCore,
  queue: BitmapQueue,
  request: { readonly chain: Segment[]; readonly firstPage?: number | undefined },
): TaskBody<void> {
  const index = vb.roles.get(queue);
  const q = index === undefined ? undefined : vb.queues.get(index);
  if (index === undefined || q === undefined) {
    throw new RangeError(`Queue ${queue} is not set up`);
  }
  const out = request.chain;
  if (queue === "inflateq") vb.counters.inflateRequests++;
  else if (queue === "deflateq") vb.counters.deflateRequests++;
  yield* vb.seams.waitForRoom(q.vq, out.length);
  const indirect = vb.seams.useIndirect(queue, { descriptors: out.length, numFree: q.vq.numFree });
  q.vq.add(
    out,
    [],
    queue === "miscq" ? "reply" : "request",
    indirect ? { indirectTable: vb.scratch + SCRATCH.indirectTable } : {},
  );
  vb.kick(index);
  if (!vb.seams.waitsForUse(queue)) return;
  yield* vb.seams.whileInFlight(queue, request.firstPage);
  for (;;) {
    const used = q.vq.getUsed();
    if (used !== undefined) {
      if (used.token === "misc-request") {
        // a request arrived while a reply was in flight: handle it later
        queueWork(vb, "misc", { index });
        continue;
      }
      return;
    }
    yield { on: q.acked };
  }
}

/** Sends a PFN-array request naming `pages`. */
export function* sendPfns(
  vb: DriverCore,
  queue: "inflateq" | "deflateq",
  request: { readonly pages: PageSet },
): TaskBody<void> {
  const pages = request.pages;
  const bytes = encodePfnArray(pages.toArray(), vb.order);
  const addr = vb.scratch + SCRATCH.pfnArray;
  vb.write(addr, bytes);
  yield* tellHost(vb, queue, { chain: [{ addr, len: bytes.length }], firstPage: pages.min() });
}

/**
 * Tells the host about the pages of one pass: bitmap requests whose windows
 * the pass's `range` bounds and whose bits are `report`, or a PFN array of
 * `report`.
 */
export function* sendPages(
  vb: DriverCore,
  queue: "inflateq" | "deflateq",
  pass: PagePass,
): TaskBody<void> {
  if (vb.seams.usesBitmaps()) yield* sendBitmaps(vb, queue, pass);
  else yield* sendPfns(vb, queue, { pages: pass.report });
}
