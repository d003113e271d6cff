/**
 * Free page reporting on the device side (VIRTIO_BALLOON_F_PAGE_REPORTING):
 * a chain of device-writable descriptors naming whole free pages of guest
 * RAM (S-10, S-02); the host discards them (B64) — unless the driver
 * negotiated PAGE_POISON with a non-zero poison_val, which a discard (zeros)
 * would break (B65, as QEMU does) — and uses the buffer with length 0 (S-09).
 *
 * @module
 */

import { ProtocolError, type QueueName } from "../../spec/mod.ts";
import type { Chain, DeviceQueue } from "../virtqueue.ts";
import type { DeviceCore } from "./core.ts";
import type { RequestEvent } from "./seams.ts";

/** Handles one reporting_vq chain; returns whether its buffer was used now. */
export function handleReport(
  d: DeviceCore,
  dq: DeviceQueue,
  popped: { readonly index: number; readonly chain: Chain; readonly event: RequestEvent },
): boolean {
  const { index, chain, event } = popped;
  const queue: QueueName = "reporting_vq";
  return d.seams.applyAndUse(queue, {
    buffer: { index, queue, head: chain.head, len: 0 },
    apply: () => applyReport(d, { dq, chain, event }),
  });
}

function applyReport(
  d: DeviceCore,
  popped: { readonly dq: DeviceQueue; readonly chain: Chain; readonly event: RequestEvent },
): void {
  const { dq, chain, event } = popped;
  d.counters.reports++;
  let pages;
  try {
    pages = d.seams.decodeReport(chain);
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    const withBytes = d.keepBytes && chain.readable.length > 0
      ? { ...event, bytes: dq.read(chain) }
      : event;
    d.malformed(withBytes, "reporting_vq", e);
    return;
  }
  d.counters.reportedPages += pages.size;
  d.reported.unionWith(pages);
  d.trace({ ...event, what: "report", pages });
  if (d.seams.reportAction(pages) === "keep") return;
  const mem = d.transport.mem;
  for (const r of pages.runs()) {
    d.counters.discardCalls++;
    d.counters.discardedPages += r.length;
    if (r.start + r.length <= mem.pages) mem.discard(r.start, r.length);
  }
}
