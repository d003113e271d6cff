/**
 * What the device does with an available-buffer notification: it pops every
 * available chain of the queue, hands each to the handler of the queue's
 * role (inflate/deflate: `pages.ts`; stats: `stats.ts`; misc: `misc.ts`),
 * uses the buffers and raises one interrupt. It runs in a device task of its
 * own, started by `Transport.notify`.
 *
 * @module
 */

import type { QueueName } from "../../spec/mod.ts";
import { type Chain, type DeviceQueue, VirtqueueError } from "../virtqueue.ts";
import type { DeviceCore } from "./core.ts";
import { handleHintChain } from "./hints.ts";
import { handleReply, holdRequestBuffer } from "./misc.ts";
import { handlePages } from "./pages.ts";
import { handleReport } from "./reporting.ts";
import type { RequestEvent } from "./seams.ts";
import { handleStats } from "./stats.ts";

/** Available-buffer notification: process every available chain of the queue. */
export function notify(d: DeviceCore, index: number): void {
  d.counters.notifications++;
  const t = d.transport;
  // what the driver made available so far has been notified, taken now or not (G49a, G50a)
  t.deviceQueue(index)?.notified();
  d.seams.beforeNotify(index);
  if (!d.seams.isLive()) return; // G05
  if (d.roles.size === 0 && t.isLegacy) d.assignRoles(t.negotiated);
  // without a feature negotiation the device cannot tell its queues apart: it waits
  if (d.roles.size === 0) return;
  const dq = t.deviceQueue(index);
  if (dq === undefined) return;
  const role = d.roles.get(index) ?? "unknown";
  let pushed = false;
  let popped = 0;
  for (;;) {
    if (!d.seams.keepsPopping({ now: popped, total: dq.lastAvailIdx, size: dq.size })) break;
    let chain: Chain | undefined;
    const before = dq.lastAvailIdx;
    try {
      chain = dq.pop();
    } catch (e) {
      if (!(e instanceof VirtqueueError)) throw e;
      d.counters.rejected++;
      d.trace({
        kind: "request",
        index,
        queue: role,
        head: e.head ?? -1,
        what: "bad-chain",
        readable: [],
        writable: [],
        error: e.message,
        ...(e.rule === undefined ? {} : { rule: e.rule }),
        ...(e.seen === undefined ? {} : { ring: e.seen }),
      });
      if (d.onMalformed === "needs-reset") {
        t.setNeedsReset(e.message);
        return;
      }
      // still use the buffer so the driver is not left waiting (S-03)
      if (e.head !== undefined) {
        d.push(index, dq, e.head, 0);
        pushed = true;
      }
      if (dq.lastAvailIdx === before || dq.pending === 0) break; // stuck until a reset
      continue;
    }
    if (chain === undefined) break;
    popped++;
    if (handleChain(d, dq, { index, role, chain })) pushed = true;
  }
  if (pushed) d.notifyUsed(index, dq);
}

/**
 * Looks at the state of every queue's available ring as the driver left it
 * (`DeviceQueue.audit`) and records what breaks the rules as `ring-fault`
 * events, each state once; missing notifications only when the driver is
 * `quiet` and notifications are not held back.
 */
export function auditQueues(d: DeviceCore, options: { readonly quiet: boolean }): void {
  const t = d.transport;
  for (const index of t.queueIndices) {
    const dq = t.deviceQueue(index);
    if (dq === undefined) continue;
    for (const e of dq.audit({ quiet: options.quiet && !t.held })) {
      t.record({
        kind: "ring-fault",
        index,
        queue: d.roles.get(index) ?? "unknown",
        code: e.code,
        ...(e.rule === undefined ? {} : { rule: e.rule }),
        error: e.message,
        ring: e.seen ?? [],
      });
    }
  }
}

/** Handles one chain by its queue's role; returns whether its buffer was used now. */
function handleChain(
  d: DeviceCore,
  dq: DeviceQueue,
  popped: { readonly index: number; readonly role: QueueName | "unknown"; readonly chain: Chain },
): boolean {
  const { index, role, chain } = popped;
  const event: RequestEvent = {
    kind: "request",
    index,
    queue: role,
    head: chain.head,
    readable: chain.readable.map((s) => s.len),
    writable: chain.writable.map((s) => s.len),
  };
  if (role === "statsq") return handleStats(d, dq, { index, chain, event });
  if (role === "free_page_vq") return handleHintChain(d, dq, { index, chain, event });
  if (role === "reporting_vq") return handleReport(d, dq, { index, chain, event });
  if (role === "miscq" && chain.readable.length === 0) {
    return holdRequestBuffer(d, dq, { index, chain, event });
  }
  const data = d.seams.requestBytes(chain, dq.read(chain));
  const withBytes = d.keepBytes ? { ...event, bytes: data } : event;
  const buffer = { index, queue: role, head: chain.head, len: d.seams.usedLength(role, data) };
  if (role === "inflateq" || role === "deflateq") {
    return d.seams.applyAndUse(role, {
      buffer,
      apply: () => handlePages(d, role, { chain, data, event: withBytes }),
    });
  }
  if (role === "miscq") {
    return d.seams.applyAndUse(role, {
      buffer,
      apply: () => handleReply(d, { data, event: withBytes }),
    });
  }
  d.counters.rejected++;
  d.trace({ ...withBytes, what: "rejected", error: `queue ${index} is not a balloon queue` });
  return d.useBuffer({ ...buffer, len: 0 });
}
