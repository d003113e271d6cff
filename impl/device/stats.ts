/**
 * The stats queue on the device side: the device holds the driver's buffer
 * until the host asks for statistics, then uses it (B25, B33).
 *
 * @module
 */

import { decodeStats, enumValues, ProtocolError } from "../../spec/mod.ts";
import type { Chain, DeviceQueue } from "../virtqueue.ts";
import type { DeviceCore } from "./core.ts";
import type { RequestEvent } from "./seams.ts";

/** Reads a stats buffer and holds it; returns whether an older one was used. */
export function handleStats(
  d: DeviceCore,
  dq: DeviceQueue,
  request: { readonly index: number; readonly chain: Chain; readonly event: RequestEvent },
): boolean {
  const { index, chain, event } = request;
  d.counters.statsBuffers++;
  let used = false;
  if (d.statsChain !== undefined) {
    d.observations.push({
      rule: "B25",
      message:
        "a second stats buffer was made available while one was held; the old one is returned",
      queue: "statsq",
    });
    d.push(d.statsChain.index, dq, d.statsChain.chain.head, 0);
    used = true;
  }
  const data = dq.read(chain);
  const withBytes = d.keepBytes ? { ...event, bytes: data } : event;
  try {
    const entries = decodeStats(data, d.order);
    d.seams.checkStats(entries);
    // B33: unknown tags are ignored
    const known = new Set(enumValues("stats_tag", d.profile).map((t) => t.value));
    d.lastStats = entries.filter((e) => known.has(e.tag));
    d.statsUpdates++;
    d.trace({ ...withBytes, what: "stats", stats: entries });
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    d.malformed(withBytes, "statsq", e);
  }
  d.statsChain = { index, chain };
  return used;
}

/** Asks the guest for fresh statistics: uses the held buffer. False if none is held. */
export function requestStats(d: DeviceCore): boolean {
  const held = d.statsChain;
  d.transport.record({ kind: "host", action: "request-stats" });
  if (held === undefined) return false;
  d.statsChain = undefined;
  d.use(held.index, held.chain.head, 0);
  return true;
}
