/**
 * The misc queue on the device side: the driver's request buffer is held
 * until the host issues GET_UNUSED_PAGES (R-17a, R-20); reply chunks are
 * decoded and collected into rounds.
 *
 * @module
 */

import {
  decodeBitmapRequest,
  encodeStruct,
  enumValue,
  PageSet,
  ProtocolError,
} from "../../spec/mod.ts";
import type { Chain, DeviceQueue } from "../virtqueue.ts";
import type { DeviceCore, UnusedPageRound } from "./core.ts";
import type { RequestEvent } from "./seams.ts";

const FLAG_DONE = enumValue("balloon_flag", "BALLOON_FLAG_DONE");
const GET_UNUSED_PAGES = enumValue("balloon_req_cmd", "BALLOON_GET_UNUSED_PAGES");

/** Holds the driver's request buffer (a second one makes the device return the first, R-04). */
export function holdRequestBuffer(
  d: DeviceCore,
  dq: DeviceQueue,
  request: { readonly index: number; readonly chain: Chain; readonly event: RequestEvent },
): boolean {
  const { index, chain, event } = request;
  d.trace({ ...event, what: "misc-request-buffer" });
  if (d.requestChain !== undefined) {
    d.observations.push({
      rule: "R-04",
      message: "a second misc request buffer was made available while one was held",
      queue: "miscq",
    });
    d.push(index, dq, d.requestChain.chain.head, 0);
  }
  d.requestChain = { index, chain };
  return false;
}

/** Options of {@link requestUnusedPages}. */
export interface UnusedPagesRequest {
  /** The param (default: the next of a counter). */
  readonly param?: bigint;
  /** The cmd (default BALLOON_GET_UNUSED_PAGES). */
  readonly cmd?: number;
  /** The used length (default: what the device reports for a request). */
  readonly usedLength?: number;
}

/**
 * Issues GET_UNUSED_PAGES: fills the driver's request buffer and uses it.
 * Returns the round, or undefined when no request buffer is available.
 */
export function requestUnusedPages(
  d: DeviceCore,
  options: UnusedPagesRequest,
): UnusedPageRound | undefined {
  const held = d.requestChain;
  if (held === undefined) return undefined;
  d.requestChain = undefined;
  const param = options.param ?? d.paramCounter++;
  const cmd = options.cmd ?? GET_UNUSED_PAGES;
  const request = d.seams.unusedRequest({ cmd, param });
  const len = options.usedLength ?? request.usedLength;
  const round: UnusedPageRound = {
    param,
    done: false,
    chunks: 0,
    flags: [],
    starts: [],
    hints: new PageSet(),
    issuedAt: d.transport.sched.now,
  };
  d.seams.sendUnusedRequest(() => {
    const bytes = encodeStruct("balloon_req_hdr", request.header, { order: d.order });
    const dq = d.transport.deviceQueue(held.index) as DeviceQueue;
    dq.write(held.chain, bytes);
    d.rounds.push(round);
    d.transport.record({ kind: "host", action: "request-unused", param, cmd, len });
  });
  d.use(held.index, held.chain.head, len);
  return round;
}

/** Decodes one reply chunk and adds it to the open round. */
export function handleReply(
  d: DeviceCore,
  reply: { readonly data: Uint8Array; readonly event: RequestEvent },
): void {
  const { data, event } = reply;
  d.counters.replyChunks++;
  const round = d.rounds.find((r) => !r.done);
  try {
    const r = decodeBitmapRequest(data, {
      order: d.order,
      context: "misc-reply",
      guestPfns: d.guestPages,
    });
    d.trace({ ...event, what: "misc-reply", pages: r.pages, header: r.header });
    if (round === undefined) {
      d.observations.push({
        rule: "R-18",
        message: "a misc reply arrived with no request outstanding",
        queue: "miscq",
      });
      return;
    }
    if (r.header.req_id !== round.param) {
      d.observations.push({
        rule: "R-18",
        message: `reply req_id ${r.header.req_id} does not echo param ${round.param}`,
        queue: "miscq",
      });
    }
    round.chunks++;
    round.flags.push(r.header.flag);
    round.starts.push(Number(r.header.start_pfn));
    round.hints.unionWith(r.pages);
    if (r.header.flag === FLAG_DONE) round.done = true;
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    d.malformed(event, "miscq", e);
  }
}
