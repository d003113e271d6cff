/**
 * Queries over a trace (the transport's ordered log of status, feature,
 * config, queue, device, host and watch events), shared by the checks.
 *
 * @module
 */

import {
  type ByteOrder,
  byteOrderOf,
  decodeStruct,
  featureBit,
  fieldOf,
  PageSet,
  readScalar,
} from "../../spec/mod.ts";
import type { DeviceTraceEvent, LoggedEvent } from "../../impl/mod.ts";

/** A device request event with its sequence number. */
export type RequestEvent = DeviceTraceEvent & { readonly seq: number; readonly time: number };

/** Request events, optionally of some kinds. */
export function requests(
  trace: readonly LoggedEvent[],
  ...what: DeviceTraceEvent["what"][]
): RequestEvent[] {
  return trace.filter((e): e is RequestEvent =>
    e.kind === "request" && (what.length === 0 || what.includes((e as DeviceTraceEvent).what))
  );
}

/** The used event that answers a request, if any. */
export function usedFor(
  trace: readonly LoggedEvent[],
  r: RequestEvent,
): (LoggedEvent & { kind: "used" }) | undefined {
  return trace.find((e): e is LoggedEvent & { kind: "used" } =>
    e.kind === "used" && e.seq > r.seq && e.index === r.index && e.head === r.head
  );
}

const ACTUAL = fieldOf("virtio_balloon_config", "actual");

/** A write of `actual` (whole or partial). */
export interface ActualWrite {
  /** Sequence number. */
  readonly seq: number;
  /** Value after the write (little-endian, B07). */
  readonly value: number;
  /** Bytes written in this access. */
  readonly size: number;
}

/** Every config write that touches `actual`, with the value it leaves. */
export function actualWrites(trace: readonly LoggedEvent[]): ActualWrite[] {
  const cur = new Uint8Array(4);
  const out: ActualWrite[] = [];
  for (const e of trace) {
    if (e.kind !== "config-write") continue;
    const end = e.offset + e.bytes.length;
    if (end <= ACTUAL.offset || e.offset >= ACTUAL.offset + 4) continue;
    for (let i = 0; i < e.bytes.length; i++) {
      const o = e.offset + i - ACTUAL.offset;
      if (o >= 0 && o < 4) cur[o] = e.bytes[i] as number;
    }
    out.push({
      seq: e.seq,
      value: Number(readScalar(new DataView(cur.buffer), 0, ACTUAL.type, "v1")),
      size: e.bytes.length,
    });
  }
  return out;
}

/** Byte order the conversation used, from the features the driver wrote. */
export function traceOrder(
  trace: readonly LoggedEvent[],
  guestEndian: "le" | "be" = "le",
): ByteOrder {
  const v1 = 1n << BigInt(featureBit("v3", "VERSION_1"));
  const fw = [...trace].reverse().find((e) => e.kind === "features-write");
  const f = fw !== undefined && fw.kind === "features-write" ? fw.value : 0n;
  return byteOrderOf((f & v1) !== 0n, guestEndian);
}

/** The host's balloon replayed from the trace: pages after each event. */
export class BalloonReplay {
  /** Pages the host holds now. */
  readonly pages: PageSet = new PageSet();
  /** Inflate requests not yet used: seq → pages. */
  readonly inflight: Map<string, PageSet> = new Map();

  /** Applies one event. */
  apply(e: LoggedEvent): void {
    if (e.kind === "request") {
      const r = e as DeviceTraceEvent;
      if (r.what === "inflate" && r.pages) {
        this.pages.unionWith(r.pages);
        this.inflight.set(`${r.index}:${r.head}`, r.pages);
      } else if (r.what === "deflate" && r.pages) this.pages.subtract(r.pages);
    } else if (e.kind === "used") {
      this.inflight.delete(`${e.index}:${e.head}`);
    }
  }
}

/** Decodes a request's bitmap header (raw, no checks), if the bytes hold one. */
export function rawHeader(
  bytes: Uint8Array,
  order: ByteOrder,
): Record<string, number | bigint> | undefined {
  if (bytes.length < 32) return undefined;
  return decodeStruct("balloon_bmap_hdr", bytes, { order, raw: true }) as Record<
    string,
    number | bigint
  >;
}

/** Status writes in order. */
export function statusWrites(
  trace: readonly LoggedEvent[],
): { seq: number; value: number; old: number }[] {
  return trace.flatMap((
    e,
  ) => (e.kind === "status-write" ? [{ seq: e.seq, value: e.value, old: e.old }] : []));
}
