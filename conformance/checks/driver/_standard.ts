/**
 * What the standard profile's driver checks share: the free-page-hint
 * rounds of a run (from the host's command ids and the free_page_vq
 * chains), the driver's reads of the command id, writes of poison_val.
 *
 * @module
 */

import { enumValue, fieldOf, readScalar } from "../../../spec/mod.ts";
import type { LoggedEvent } from "../../../impl/mod.ts";
import type { DriverRun } from "../../runners/driver.ts";
import type { RequestEvent } from "../queries.ts";

/** VIRTIO_BALLOON_CMD_ID_STOP. */
export const STOP: number = enumValue("free_page_hint_cmd_id", "VIRTIO_BALLOON_CMD_ID_STOP");
/** VIRTIO_BALLOON_CMD_ID_DONE. */
export const DONE: number = enumValue("free_page_hint_cmd_id", "VIRTIO_BALLOON_CMD_ID_DONE");
const CMD_ID = fieldOf("virtio_balloon_config", "free_page_hint_cmd_id");
const POISON_VAL = fieldOf("virtio_balloon_config", "poison_val");

/** One hint round as the trace shows it. */
export interface RoundView {
  /** The command id the host issued. */
  readonly id: number;
  /** Trace sequence number of the host's announcement. */
  readonly seq: number;
  /** Sequence number of the next round's announcement (or the end of the trace). */
  readonly end: number;
  /** The free_page_vq chains the device took in the round, in order. */
  readonly chains: readonly RequestEvent[];
  /** The first driver read of the command id, in the round, that no longer showed the round's id. */
  readonly idGoneAt: number | undefined;
}

/** Sequence numbers of the host's command-id announcements, with their values. */
export function announcements(run: DriverRun): { seq: number; value: number }[] {
  return run.trace.flatMap((e) =>
    e.kind === "host" && e.action === "hint-cmd-id" ? [{ seq: e.seq, value: e.value }] : []
  );
}

/** The value of a config read of the command id field, if the event is one. */
function cmdIdRead(e: LoggedEvent): number | undefined {
  if (e.kind !== "config-read" || e.offset !== CMD_ID.offset || e.bytes.length < 4) {
    return undefined;
  }
  return Number(readScalar(new DataView(e.bytes.buffer, e.bytes.byteOffset), 0, CMD_ID.type, "v1"));
}

/** The hint rounds of a run: one per command id ≥ 2 the host issued. */
export function hintRounds(run: DriverRun): RoundView[] {
  const starts = announcements(run).filter((a) => a.value !== STOP && a.value !== DONE);
  return starts.map((a, i) => {
    const end = starts[i + 1]?.seq ?? Infinity;
    const inRound = run.trace.filter((e) => e.seq > a.seq && e.seq < end);
    const chains = inRound.filter((e): e is RequestEvent =>
      e.kind === "request" && (e as RequestEvent).queue === "free_page_vq"
    );
    const gone = inRound.find((e) => {
      const v = cmdIdRead(e);
      return v !== undefined && v !== a.value;
    });
    return { id: a.value, seq: a.seq, end, chains, idGoneAt: gone?.seq };
  });
}

/** Whether a free_page_vq chain carries pages (device-writable descriptors). */
export function carriesPages(r: RequestEvent): boolean {
  return r.writable.length > 0;
}

/** Whether a free_page_vq chain is an out buffer (a command id). */
export function isCmdBuffer(r: RequestEvent): boolean {
  return r.readable.length > 0;
}

/** The sequence number of the last notification of queue `index` before `seq`. */
export function notifiedAt(run: DriverRun, index: number, seq: number): number {
  let at = -1;
  for (const e of run.trace) {
    if (e.seq >= seq) break;
    if (e.kind === "notify" && e.index === index) at = e.seq;
  }
  return at;
}

/** The driver's writes of poison_val: sequence number and value (little-endian). */
export function poisonWrites(run: DriverRun): { seq: number; value: number; bytes: Uint8Array }[] {
  return run.trace.flatMap((e) => {
    if (e.kind !== "config-write" || e.offset !== POISON_VAL.offset) return [];
    const b = e.bytes;
    const value = b.length >= 4
      ? Number(readScalar(new DataView(b.buffer, b.byteOffset), 0, POISON_VAL.type, "v1"))
      : -1;
    return [{ seq: e.seq, value, bytes: b }];
  });
}
