/**
 * Inflate and deflate requests on the device side: a chain is checked,
 * decoded defensively (PFN array or bitmap, never trusting the guest) and
 * applied to the host's view of the balloon — or rejected as a whole
 * (S-01 – S-03, S-05, R-16).
 *
 * @module
 */

import { type BitmapHeader, type PageSet, ProtocolError } from "../../spec/mod.ts";
import type { Chain } from "../virtqueue.ts";
import type { DeviceCore } from "./core.ts";
import type { PageQueue, RequestEvent } from "./seams.ts";

/** A chain read from inflateq or deflateq. */
export interface PageRequest {
  /** The chain. */
  readonly chain: Chain;
  /** The bytes the device read. */
  readonly data: Uint8Array;
  /** Its trace event, without the verdict. */
  readonly event: RequestEvent;
}

/** Checks, decodes and applies one inflate/deflate request, or rejects it. */
export function handlePages(d: DeviceCore, queue: PageQueue, request: PageRequest): void {
  const { chain, data, event } = request;
  const wrong = d.seams.chainError(queue, chain);
  if (wrong !== undefined) {
    d.malformed(event, queue, wrong);
    return;
  }
  let decoded: { pages: PageSet; header?: BitmapHeader };
  try {
    decoded = d.profile === "v3" && d.has("PAGE_BITMAP")
      ? d.seams.decodeBitmap(queue, data)
      : { pages: d.seams.decodePfns(data) };
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    d.seams.rejectPages(queue, { data, error: e, event });
    return;
  }
  const { pages } = decoded;
  d.counters.descriptors += chain.readable.length;
  d.counters.bytes += data.length;
  d.trace({
    ...event,
    what: queue === "inflateq" ? "inflate" : "deflate",
    pages,
    ...(decoded.header === undefined ? {} : { header: decoded.header }),
  });
  applyPages(d, queue, pages);
}

/** Inflate: the pages join the host's balloon and are discarded; deflate: they are given back. */
export function applyPages(d: DeviceCore, queue: PageQueue, pages: PageSet): void {
  if (queue === "inflateq") {
    d.counters.inflateRequests++;
    const again = pages.intersectionSize(d.ballooned);
    if (again > 0) {
      d.observations.push({
        rule: "R-08",
        message: `inflate names ${again} pages already in the balloon`,
        queue,
      });
    }
    d.ballooned.unionWith(pages);
    const mem = d.transport.mem;
    for (const r of pages.runs()) {
      d.counters.discardCalls++;
      d.counters.discardedPages += r.length;
      if (r.start + r.length <= mem.pages) mem.discard(r.start, r.length);
    }
  } else {
    d.counters.deflateRequests++;
    const known = pages.intersectionSize(d.ballooned);
    if (known < pages.size) {
      d.observations.push({
        rule: "B13",
        message: `deflate names ${pages.size - known} pages that are not in the balloon`,
        queue,
      });
    }
    d.seams.giveBack(pages);
    d.counters.givenBackPages += known;
  }
}
