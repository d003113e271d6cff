/**
 * One line of QEMU's trace log (the "log" backend): with `-msg timestamp=on`
 * it reads `TID@SECONDS.MICROS:event args`, where TID is the id of the thread
 * that logged it (the main thread's is QEMU's pid; each vCPU has its own).
 * Without that option QEMU writes only `event args`: no time and no thread,
 * which the importer names rather than guesses from.
 *
 * @module
 */

import type { TraceEvent } from "./format.ts";

/** A QEMU trace line, split. */
export interface QemuLine {
  /** "line". */
  readonly kind: "line";
  /** Thread id. */
  readonly tid: number;
  /** Seconds (wall clock). */
  readonly t: number;
  /** Event name. */
  readonly name: string;
  /** Its arguments, parsed by the event's pattern. */
  readonly a: RegExpExecArray;
  /** Whether only a guest's access causes it (a vCPU thread logs it). */
  readonly guest: boolean;
  /** Whether only a host request causes it (QEMU's main loop logs it). */
  readonly host: boolean;
  /** Whether it is a virtio_balloon_* event (a balloon is in the log). */
  readonly balloon: boolean;
}

/** The same line written without `-msg timestamp=on`: event and arguments only. */
export const BARE = /^([a-z0-9_]+) (.*)$/;

/** Argument patterns of the events the importer reads. */
export const PATTERNS: Readonly<Record<string, RegExp>> = {
  virtio_set_status: /^vdev (0x[0-9a-f]+) val (\d+)$/,
  virtio_queue_notify: /^vdev (0x[0-9a-f]+) n (\d+) vq (0x[0-9a-f]+)$/,
  virtqueue_pop: /^vq (0x[0-9a-f]+) elem (0x[0-9a-f]+) in_num (\d+) out_num (\d+)$/,
  virtqueue_fill: /^vq (0x[0-9a-f]+) elem (0x[0-9a-f]+) len (\d+) idx (\d+)$/,
  virtqueue_flush: /^vq (0x[0-9a-f]+) count (\d+)$/,
  virtio_notify: /^vdev (0x[0-9a-f]+) vq (0x[0-9a-f]+)$/,
  virtio_balloon_handle_output: /^section name: (\S+) gpa: 0x([0-9a-f]+)$/,
  virtio_balloon_bad_addr: /^(?:gpa: )?0x([0-9a-f]+)$/,
  virtio_balloon_get_config: /^num_pages: (\d+) actual: (\d+)$/,
  virtio_balloon_set_config: /^actual: (\d+) oldactual: (\d+)$/,
  virtio_balloon_to_target: /^balloon target: 0x([0-9a-f]+) num_pages: (\d+)$/,
  ram_block_discard_range:
    /^(\S+)@(0x[0-9a-f]+) \+ (0x[0-9a-f]+): madvise: (\d+) fallocate: (\d+) ret: (-?\d+)$/,
  balloon_event: /^opaque (0x[0-9a-f]+) addr (\d+)$/,
};

/**
 * The trace events each QEMU event feeds: a line of it that cannot be read
 * makes the rules that read those unreliable.
 */
export const FEEDS: Readonly<Record<string, readonly TraceEvent["type"][]>> = {
  virtio_set_status: ["status"],
  virtio_queue_notify: ["notify", "chain", "used"],
  virtqueue_pop: ["chain", "used", "report"],
  virtqueue_fill: ["chain", "used", "report"],
  virtqueue_flush: [],
  virtio_notify: [],
  virtio_balloon_handle_output: ["chain"],
  virtio_balloon_bad_addr: ["host"],
  virtio_balloon_get_config: ["config-read"],
  virtio_balloon_set_config: ["config-write"],
  virtio_balloon_to_target: ["host"],
  ram_block_discard_range: ["discard", "report"],
  balloon_event: ["host"],
};

/**
 * Events only a guest's access causes (a vCPU thread logs them): a kick, a
 * read or write of the balloon's configuration.
 */
export const GUEST_ACCESS: ReadonlySet<string> = new Set([
  "virtio_queue_notify",
  "virtio_balloon_get_config",
  "virtio_balloon_set_config",
]);

/** Events only a host request causes (QEMU's main loop logs them): a QMP balloon command. */
export const HOST_REQUEST: ReadonlySet<string> = new Set([
  "balloon_event",
  "virtio_balloon_to_target",
]);

/** Events that show a balloon is in the log (whatever its vdev). */
export const BALLOON_EVENTS: ReadonlySet<string> = new Set(
  Object.keys(PATTERNS).filter((n) => n.startsWith("virtio_balloon_")),
);

/**
 * A hex number (without `0x`) as a JavaScript number, exact up to 2^52 (guest
 * physical addresses, host user-space addresses and lengths all fit);
 * undefined when it has more than 13 digits.
 */
export function hexNumber(digits: string): number | undefined {
  return digits.length > 13 ? undefined : parseInt(digits, 16);
}

/** How a raw line splits: a trace line, a known event with bad arguments, or neither. */
export type Split =
  | QemuLine
  | { readonly kind: "bad-args"; readonly name: string; readonly args: string }
  | { readonly kind: "other-event"; readonly name: string }
  | { readonly kind: "not-trace" };

/**
 * Splits a raw line (without its newline).
 *
 * @example
 * ```ts
 * import { splitQemuLine } from "./qemu_lines.ts";
 * import assert from "node:assert/strict";
 * const s = splitQemuLine("28056@1795827492.792097:virtio_set_status vdev 0x5a val 1");
 * assert.equal(s.kind === "line" && s.tid, 28056);
 * assert.equal(splitQemuLine("28056@1.5:virtio_set_status vdev x").kind, "bad-args");
 * assert.equal(splitQemuLine("virtio_set_status vdev 0x5a val 1").kind, "not-trace");
 * ```
 */
export function splitQemuLine(raw: string): Split {
  // this runs on every line of the log, twice: the prefix is read by hand (numbers as
  // they go, no substrings but the event's name), the event's pattern looked up by a
  // map whose keys are the names the cases compare
  const n = raw.charCodeAt(raw.length - 1) === 13 ? raw.length - 1 : raw.length;
  let i = 0;
  let c = 0;
  let tid = 0;
  while (i < n && (c = raw.charCodeAt(i)) >= 48 && c <= 57) tid = tid * 10 + c - 48, i++;
  if (i === 0 || c !== AT) return { kind: "not-trace" };
  const s0 = ++i;
  let sec = 0;
  while (i < n && (c = raw.charCodeAt(i)) >= 48 && c <= 57) sec = sec * 10 + c - 48, i++;
  if (i === s0 || c !== POINT) return { kind: "not-trace" };
  const f0 = ++i;
  let frac = 0;
  while (i < n && (c = raw.charCodeAt(i)) >= 48 && c <= 57) frac = frac * 10 + c - 48, i++;
  if (i === f0 || c !== COLON || i - f0 >= POW10.length) return { kind: "not-trace" };
  const digits = i - f0;
  const space = raw.indexOf(" ", ++i);
  const end = space < 0 || space > n ? n : space;
  const name = raw.slice(i, end);
  const def = EVENTS.get(name);
  if (def === undefined) {
    return NAME.test(name) ? { kind: "other-event", name } : { kind: "not-trace" };
  }
  const args = end === n ? "" : raw.slice(end + 1, n);
  const a = def.pattern.exec(args);
  if (a === null) return { kind: "bad-args", name: def.name, args };
  return {
    kind: "line",
    tid,
    // seconds and fraction apart, as integers: the order of times is kept
    t: sec + frac / (POW10[digits] as number),
    name: def.name,
    a,
    guest: def.guest,
    host: def.host,
    balloon: def.balloon,
  };
}

const AT = "@".charCodeAt(0);
const POINT = ".".charCodeAt(0);
const COLON = ":".charCodeAt(0);
const NAME = /^[A-Za-z0-9_]+$/;
/** Powers of ten a fraction of up to 15 digits is divided by. */
const POW10: readonly number[] = Array.from({ length: 16 }, (_, k) => 10 ** k);

/** Each event the importer reads: its name (the map's own key), its pattern, what it shows. */
const EVENTS: ReadonlyMap<string, EventDef> = new Map(
  Object.entries(PATTERNS).map(([name, pattern]) => [name, {
    name,
    pattern,
    guest: GUEST_ACCESS.has(name),
    host: HOST_REQUEST.has(name),
    balloon: BALLOON_EVENTS.has(name),
  }]),
);

interface EventDef {
  readonly name: string;
  readonly pattern: RegExp;
  readonly guest: boolean;
  readonly host: boolean;
  readonly balloon: boolean;
}

/** The event of a line written without `-msg timestamp=on`, if it is one the importer reads. */
export function bareEvent(raw: string): string | undefined {
  const m = BARE.exec(raw);
  if (m === null) return undefined;
  const pattern = PATTERNS[m[1] as string];
  return pattern !== undefined && pattern.test(m[2] as string) ? m[1] : undefined;
}
