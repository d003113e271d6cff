/**
 * Free page hinting on the device side (VIRTIO_BALLOON_F_FREE_PAGE_HINT),
 * as QEMU does it: the host issues a command id ≥ 2 in
 * `free_page_hint_cmd_id` (a new one each round, never one the driver has
 * not stopped: B48); a 4-byte out buffer holding that id starts the round,
 * any later out buffer stops it; pages in device-writable buffers count as
 * hints only while the round is started (B49); the host sets STOP when it
 * cannot use hints (B47) and DONE once it no longer needs them (B52), after
 * which it never changes a hinted page (B51). Every buffer is used with
 * length 0 (S-09); a malformed one changes nothing (S-10).
 *
 * @module
 */

import {
  enumValue,
  fieldOf,
  PageSet,
  ProtocolError,
  type QueueName,
  writeScalar,
} from "../../spec/mod.ts";
import type { Chain, DeviceQueue } from "../virtqueue.ts";
import type { DeviceCore } from "./core.ts";
import { type HintStatus, type RequestEvent, writablePages } from "./seams.ts";

const CMD_ID = fieldOf("virtio_balloon_config", "free_page_hint_cmd_id");
const STOP = enumValue("free_page_hint_cmd_id", "VIRTIO_BALLOON_CMD_ID_STOP");

/** One free-page-hint round, as the host sees it. */
export interface HintRound {
  /** The command id issued. */
  readonly cmdId: number;
  /** Where the round is. */
  status: HintStatus;
  /** Pages hinted in it (accepted hints). */
  readonly hints: PageSet;
  /** Pages sent while the round was not started, ignored (B49). */
  readonly ignored: PageSet;
  /** Whether the driver's STOP (an out buffer ending the started round) arrived. */
  stopped: boolean;
  /** Virtual time the id was issued. */
  readonly issuedAt: number;
  /** Stop the round after this many hinted pages (a host that can use no more). */
  readonly stopAfter: number | undefined;
}

/** Writes free_page_hint_cmd_id (little-endian, legacy too: B07) and notifies the driver. */
function announce(d: DeviceCore, value: number): void {
  const t = d.transport;
  const order = d.seams.configByteOrder();
  const type = order === "v1" ? CMD_ID.type : "virtio32";
  writeScalar(new DataView(t.config.buffer), CMD_ID.offset, type, order, value);
  t.record({ kind: "host", action: "hint-cmd-id", value });
  t.configChanged();
}

/** The host starts a hint round: a new command id (B48). Returns the round. */
export function startHinting(
  d: DeviceCore,
  options: { readonly stopAfter?: number } = {},
): HintRound {
  const cmdId = d.seams.nextCmdId(d.lastCmdId);
  d.lastCmdId = cmdId;
  const round: HintRound = {
    cmdId,
    status: "requested",
    hints: new PageSet(),
    ignored: new PageSet(),
    stopped: false,
    issuedAt: d.transport.sched.now,
    stopAfter: options.stopAfter,
  };
  d.hintRounds.push(round);
  announce(d, cmdId);
  return round;
}

/** The host can use no more hints: STOP (B47). */
export function stopHinting(d: DeviceCore): void {
  const round = d.hintRounds[d.hintRounds.length - 1];
  if (round !== undefined && round.status !== "done") round.status = "stop";
  announce(d, STOP);
}

/** The host no longer needs the hinted pages: DONE (B52); it will not change them (B51). */
export function finishHinting(d: DeviceCore): void {
  const round = d.hintRounds[d.hintRounds.length - 1];
  if (round !== undefined) round.status = "done";
  const pages = new PageSet();
  for (const r of d.hintRounds) pages.unionWith(r.hints);
  d.seams.hintsDone(pages);
  announce(d, d.seams.doneCmdId());
}

/** Handles one free_page_vq chain: a cmd id out buffer, hinted pages, or both; returns whether it was used now. */
export function handleHintChain(
  d: DeviceCore,
  dq: DeviceQueue,
  popped: { readonly index: number; readonly chain: Chain; readonly event: RequestEvent },
): boolean {
  const { index, chain, event } = popped;
  const queue: QueueName = "free_page_vq";
  const buffer = { index, queue, head: chain.head, len: 0 };
  return d.seams.applyAndUse(queue, {
    buffer,
    apply: () => applyHint(d, { dq, chain, event }),
  });
}

function applyHint(
  d: DeviceCore,
  popped: { readonly dq: DeviceQueue; readonly chain: Chain; readonly event: RequestEvent },
): void {
  const { dq, chain, event } = popped;
  const round = d.hintRounds[d.hintRounds.length - 1];
  d.counters.hintBuffers++;
  let pages: PageSet;
  let cmdId: number | undefined;
  try {
    if (chain.readable.length > 0) {
      cmdId = d.seams.readCmdId(dq.read(chain));
    }
    const limit = d.seams.pfnLimit();
    pages = writablePages(chain, {
      context: "free_page_vq chain",
      rule: "S-10",
      ...(limit === undefined ? {} : { guestPfns: limit }),
    });
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    d.malformed(d.keepBytes ? { ...event, bytes: dq.read(chain) } : event, "free_page_vq", e);
    return;
  }
  if (cmdId !== undefined) {
    if (round !== undefined) {
      const before = round.status;
      round.status = d.seams.hintTransition(round.status, cmdId, round.cmdId);
      if (before === "start" && round.status === "stop") round.stopped = true;
    }
    d.trace({ ...event, what: "hint-cmd", cmdId });
  }
  if (pages.size === 0) return;
  if (round !== undefined && round.status === "start") {
    round.hints.unionWith(pages);
    d.counters.hintedPages += pages.size;
    d.trace({ ...event, what: "hint", pages, cmdId: round.cmdId });
    if (round.stopAfter !== undefined && round.hints.size >= round.stopAfter) {
      d.later("device:hint-stop", () => stopHinting(d));
    }
  } else {
    round?.ignored.unionWith(pages);
    d.trace({ ...event, what: "hint-ignored", pages });
  }
}
