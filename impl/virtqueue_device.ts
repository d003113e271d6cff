/**
 * The device side of a split virtqueue: takes chains from the available
 * ring, walks and validates them (never trusting the driver), reads and
 * writes their buffers, and returns them in the used ring. It talks to the
 * driver only through guest memory.
 *
 * @module
 */

import {
  checksFor,
  describeLegal,
  fieldOf,
  isLegal,
  structSize,
  VIRTQ_IDX_MODULUS,
} from "../spec/mod.ts";
import type { PhysicalMemory } from "./memory.ts";
import {
  CHAIN_BYTES_MAX,
  DESC_LEN_MAX,
  DESC_SIZE,
  describeFlags,
  F_INDIRECT,
  F_NEXT,
  F_WRITE,
  NO_INTERRUPT,
  NO_NOTIFY,
  type RawDesc,
  RingAccess,
} from "./_ring_access.ts";
import { type RingRead, VirtqueueError, type VirtqueueErrorInit } from "./virtqueue_error.ts";
import {
  needEvent,
  type QueueFeatures,
  type RingLayout,
  type Segment,
  wrapIdx,
} from "./virtqueue_ring.ts";

/** A validated descriptor chain, as the device sees it. */
export interface Chain {
  /** Head descriptor index (what {@link DeviceQueue.push} returns to the driver). */
  readonly head: number;
  /** Device-readable buffers, in chain order. */
  readonly readable: readonly Segment[];
  /** Device-writable buffers, in chain order. */
  readonly writable: readonly Segment[];
  /** Descriptors walked: ring descriptors (including one pointing to an indirect table) plus table entries. */
  readonly descriptors: number;
  /** Whether the chain ends in an indirect table. */
  readonly indirect: boolean;
}

/** Options of {@link DeviceQueue}. */
export interface DeviceQueueOptions {
  /** The device's own cap on buffer descriptors per chain (rule G28b); the queue size always applies. */
  readonly maxChainLength?: number;
  /** Initial avail and used index (default 0); the driver must start at the same value. */
  readonly startIdx?: number;
  /** Queue index, quoted in errors. */
  readonly queue?: number;
}

/** Options of {@link DeviceQueue.audit}. */
export interface AuditOptions {
  /**
   * Whether the driver is quiet: it has nothing left to run, so what it made
   * available it has either notified or chosen not to (only then are missing
   * notifications judged, rules G49a and G50a).
   */
  readonly quiet: boolean;
}

/** Where a walked descriptor is: its index, and the ring descriptor whose indirect table holds it. */
interface Step {
  readonly index: number;
  readonly indirectOf: number | undefined;
  readonly addr: number;
}

interface Walk {
  readonly head: number;
  readonly readable: Segment[];
  readonly writable: Segment[];
  buffers: number;
  bytes: number;
  descriptors: number;
  /** The descriptors read so far, in order (only the last {@link SEEN_MAX} are kept as evidence). */
  readonly path: Step[];
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** What identifies a ring state an error reports (the same state is reported once). */
function faultKey(e: VirtqueueError): string {
  return `${e.code}:${e.field}:${e.value}`;
}

/** The most descriptors a chain error keeps as evidence: the last ones read. */
const SEEN_MAX = 16;
const AVAIL_HDR = structSize("virtq_avail_hdr");
const USED_HDR = structSize("virtq_used_hdr");
/** The table's checks of `avail.flags` (rule G41a without EVENT_IDX). */
const AVAIL_FLAGS_CHECKS = checksFor(fieldOf("virtq_avail_hdr", "flags"), "ring");

/**
 * Device side of a split virtqueue in guest memory. Ring writes are tagged
 * `"device"`; it never writes a descriptor or a device-readable buffer (rule G31).
 *
 * A bad chain: {@link pop} has already consumed its avail entry when it
 * throws the {@link VirtqueueError}, so the next `pop()` returns the next
 * chain and the queue never sticks. No used entry is written for it; the
 * caller either sets DEVICE_NEEDS_RESET (rule G06) or returns the buffer with
 * `push(error.head, 0)` when `error.head` is set (a head inside the table).
 * Only an avail index more than the queue size ahead stops the queue: that
 * driver needs a reset.
 *
 * @example
 * ```ts
 * import { GuestMemory } from "./memory.ts";
 * import { DeviceQueue, DriverQueue, ringLayout, VirtqueueError } from "./virtqueue.ts";
 * import assert from "node:assert/strict";
 * const mem = new GuestMemory({ pages: 16 });
 * const layout = ringLayout(0, 4);
 * const features = { order: "v1", eventIdx: false, indirect: false } as const;
 * const driver = new DriverQueue<number>(mem, layout, features);
 * const device = new DeviceQueue(mem, layout, features);
 * // A driver that links descriptor 0 to itself: rejected, never a hang.
 * driver.addRaw([{ index: 0, addr: 0x8000, len: 8, flags: 1, next: 0 }], 0);
 * assert.throws(() => device.pop(), (e) => e instanceof VirtqueueError && e.rule === "G32");
 * driver.add([{ addr: 0x8000, len: 8 }], [], 7);
 * assert.equal(device.pop()?.readable.length, 1);
 * assert.equal(device.pending, 0);
 * ```
 */
export class DeviceQueue {
  #ring: RingAccess;
  #features: QueueFeatures;
  #queue: number | undefined;
  #max: number;
  #lastAvail: number;
  #usedIdx: number;
  #signalled: number;
  #noNotify = false;
  #visited: Uint32Array;
  #generation = 0;
  /** avail.idx as the device read it at the last available-buffer notification. */
  #notifiedIdx: number | undefined;
  /** What the last audit (or a pop since) found wrong with the ring state, so a state is reported once. */
  #lastFaults = new Set<string>();

  /**
   * Attaches to the rings at `layout`. With EVENT_IDX it sets `avail_event`
   * to `startIdx` (notifications on). Throws a RangeError for an illegal
   * size, misaligned parts, parts outside RAM or a `maxChainLength` below 1.
   */
  constructor(
    mem: PhysicalMemory,
    layout: RingLayout,
    features: QueueFeatures,
    options?: DeviceQueueOptions,
  ) {
    this.#ring = new RingAccess(mem, layout, features.order);
    this.#features = {
      order: features.order,
      eventIdx: features.eventIdx,
      indirect: features.indirect,
    };
    this.#queue = options?.queue;
    const max = options?.maxChainLength ?? layout.size;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`Invalid maxChainLength: ${max}, expected a positive integer`);
    }
    this.#max = max;
    const start = wrapIdx(options?.startIdx ?? 0);
    this.#lastAvail = this.#usedIdx = this.#signalled = start;
    this.#visited = new Uint32Array(layout.size);
    if (features.eventIdx) this.#ring.availEvent = start;
  }

  /** Queue size. */
  get size(): number {
    return this.#ring.size;
  }

  /** Chains the driver has made available and {@link pop} has not taken: `avail.idx` minus the last seen index, mod 2^16. */
  get pending(): number {
    return wrapIdx(this.#ring.availIdx - this.#lastAvail);
  }

  /** The next avail index the device will read. */
  get lastAvailIdx(): number {
    return this.#lastAvail;
  }

  /** The device's used index (already published in `used.idx`). */
  get usedIdx(): number {
    return this.#usedIdx;
  }

  #error(
    init: Omit<VirtqueueErrorInit, "queue" | "action">,
    action = "pop a chain",
  ): VirtqueueError {
    const full = { ...init, action };
    return new VirtqueueError(this.#queue === undefined ? full : { ...full, queue: this.#queue });
  }

  /** A chain error with the descriptors walked so far as evidence, the last one's `field` at fault. */
  #chainError(w: Walk, init: Omit<VirtqueueErrorInit, "queue" | "action">): VirtqueueError {
    const mem = this.#ring.mem;
    const steps = w.path.slice(-SEEN_MAX);
    const seen: RingRead[] = steps.map((p, i) => ({
      struct: "virtq_desc",
      where: p.indirectOf === undefined
        ? `desc[${p.index}]`
        : `desc[${p.indirectOf}] table[${p.index}]`,
      addr: p.addr,
      bytes: mem.read(p.addr, DESC_SIZE),
      ...(i === steps.length - 1 ? { bad: init.field } : {}),
    }));
    return this.#error({ ...init, seen });
  }

  /** The available ring's head (flags, idx) as read now, `field` at fault. */
  #availRead(field: string): RingRead {
    const at = this.#ring.layout.avail;
    return {
      struct: "virtq_avail_hdr",
      where: "avail",
      addr: at,
      bytes: this.#ring.mem.read(at, AVAIL_HDR),
      bad: field,
    };
  }

  /** The used ring's head (flags, idx) as read now. */
  #usedRead(): RingRead {
    const at = this.#ring.layout.used;
    return {
      struct: "virtq_used_hdr",
      where: "used",
      addr: at,
      bytes: this.#ring.mem.read(at, USED_HDR),
    };
  }

  /**
   * Records that the driver sent an available-buffer notification for this
   * queue: the entries it had made available by now were notified (for
   * {@link audit}). Call it when the notification arrives, whether or not
   * the device then takes the chains.
   */
  notified(): void {
    this.#notifiedIdx = this.#ring.availIdx;
  }

  /**
   * Looks at the available ring as the driver left it and returns what breaks
   * the rules, each state once (a later audit of the same state returns
   * nothing): `avail.idx` behind the index the device has read, so
   * decremented (G40); `avail.flags` other than the table allows, or not 0
   * with EVENT_IDX (G41a); and, when `options.quiet`, entries made available
   * since the last notification although the device wanted one — `used.flags`
   * without NO_NOTIFY (G49a), or with EVENT_IDX an entry placed at
   * `avail_event` (G50a). Reads only; consumes nothing.
   */
  audit(options: AuditOptions): VirtqueueError[] {
    const ring = this.#ring;
    const action = "audit the available ring";
    const out: VirtqueueError[] = [];
    const availIdx = ring.availIdx;
    const ahead = wrapIdx(availIdx - this.#lastAvail);
    if (ahead > ring.size && ahead >= VIRTQ_IDX_MODULUS / 2) {
      out.push(this.#error({
        code: "bad-avail-idx",
        field: "avail.idx",
        value: String(availIdx),
        expected: `${this.#lastAvail} to ${
          wrapIdx(this.#lastAvail + ring.size)
        } (from the index the device has read to the queue size ahead of it)`,
        rule: "G40",
        seen: [this.#availRead("idx")],
      }, action));
    }
    const flags = ring.availFlags;
    if (this.#features.eventIdx) {
      if (flags !== 0) {
        out.push(this.#error({
          code: "bad-avail-flags",
          field: "avail.flags",
          value: hex(flags),
          expected: "0, as VIRTIO_F_EVENT_IDX is negotiated",
          rule: "G41a",
          seen: [this.#availRead("flags")],
        }, action));
      }
    } else {
      for (const c of AVAIL_FLAGS_CHECKS) {
        if (isLegal(c.legal, flags)) continue;
        out.push(this.#error({
          code: "bad-avail-flags",
          field: "avail.flags",
          value: hex(flags),
          expected: describeLegal(c.legal),
          rule: c.rule,
          seen: [this.#availRead("flags")],
        }, action));
      }
    }
    const since = this.#notifiedIdx ?? this.#lastAvail;
    const unnotified = wrapIdx(availIdx - since);
    if (
      options.quiet && unnotified > 0 && unnotified <= ring.size &&
      wrapIdx(since - this.#lastAvail) <= ring.size
    ) {
      const entries = `${unnotified} ${
        unnotified === 1 ? "entry" : "entries"
      } made available since the last notification (avail.idx ${since} then)`;
      if (this.#features.eventIdx) {
        const event = ring.availEvent;
        if (needEvent(event, availIdx, since)) {
          out.push(this.#error({
            code: "not-notified",
            field: "avail.idx",
            value: `${availIdx}, ${entries}`,
            expected: `a notification, as one of them is at avail_event ${event}`,
            rule: "G50a",
            seen: [this.#availRead("idx")],
          }, action));
        }
      } else {
        const usedFlags = ring.usedFlags;
        if ((usedFlags & NO_NOTIFY) === 0) {
          out.push(this.#error({
            code: "not-notified",
            field: "avail.idx",
            value: `${availIdx}, ${entries}`,
            expected: `a notification, as used.flags is ${
              hex(usedFlags)
            } (no VIRTQ_USED_F_NO_NOTIFY)`,
            rule: "G49a",
            seen: [this.#availRead("idx"), this.#usedRead()],
          }, action));
        }
      }
    }
    const news = out.filter((e) => !this.#lastFaults.has(faultKey(e)));
    this.#lastFaults = new Set(out.map(faultKey));
    return news;
  }

  /**
   * The next available chain, walked and validated, or `undefined` when none
   * is pending. Throws a {@link VirtqueueError} for a bad chain after
   * consuming it (see the class doc):
   * a head or `next` outside the table (no rule), a loop (G32), more buffer
   * descriptors than the queue size (G36) or than `maxChainLength` (G28b),
   * more than 2^32 bytes (G32), INDIRECT without INDIRECT_DESC (G34),
   * INDIRECT with NEXT (G37), INDIRECT inside a table (G35), a table length
   * that is not a non-zero multiple of the descriptor size (no rule), a
   * device-readable buffer after a device-writable one (G29), a buffer or
   * table outside guest RAM (no rule). A WRITE flag on a descriptor that
   * points to a table is ignored (G38).
   */
  pop(): Chain | undefined {
    const ring = this.#ring;
    const availIdx = ring.availIdx;
    const pending = wrapIdx(availIdx - this.#lastAvail);
    if (pending === 0) return undefined;
    if (pending > ring.size) {
      const e = this.#error({
        code: "bad-avail-idx",
        field: "avail.idx",
        value: String(availIdx),
        expected: `at most ${ring.size} (the queue size) ahead of ${this.#lastAvail}`,
        ...(pending >= VIRTQ_IDX_MODULUS / 2 ? { rule: "G40" } : {}),
        seen: [this.#availRead("idx")],
      });
      this.#lastFaults.add(faultKey(e));
      throw e;
    }
    const slot = this.#lastAvail % ring.size;
    const head = ring.availEntry(slot);
    this.#lastAvail = wrapIdx(this.#lastAvail + 1);
    if (this.#features.eventIdx && !this.#noNotify) ring.availEvent = this.#lastAvail;
    if (head >= ring.size) {
      throw this.#error({
        code: "index-out-of-range",
        field: `avail.ring[${slot}]`,
        value: String(head),
        expected: `a descriptor index below ${ring.size} (the queue size)`,
      });
    }
    return this.#walk(head);
  }

  #walk(head: number): Chain {
    const ring = this.#ring;
    const w: Walk = {
      head,
      readable: [],
      writable: [],
      buffers: 0,
      bytes: 0,
      descriptors: 0,
      path: [],
    };
    this.#generation = this.#generation === 0xffff_ffff ? 1 : this.#generation + 1;
    if (this.#generation === 1) this.#visited.fill(0);
    let idx = head;
    let prev: number | undefined;
    let indirect = false;
    for (;;) {
      if (idx >= ring.size) {
        throw this.#chainError(w, {
          code: "index-out-of-range",
          head,
          ...(prev === undefined ? {} : { descriptor: prev }),
          field: "next",
          value: String(idx),
          expected: `a descriptor index below ${ring.size} (the queue size)`,
        });
      }
      if (this.#visited[idx] === this.#generation) {
        throw this.#chainError(w, {
          code: "loop",
          head,
          ...(prev === undefined ? {} : { descriptor: prev }),
          field: "next",
          value: String(idx),
          expected: "a descriptor not already in the chain",
          rule: "G32",
        });
      }
      this.#visited[idx] = this.#generation;
      w.descriptors++;
      w.path.push({ index: idx, indirectOf: undefined, addr: ring.layout.desc + idx * DESC_SIZE });
      const d = ring.readDesc(ring.layout.desc, idx);
      if ((d.flags & F_INDIRECT) !== 0) {
        this.#walkIndirect(w, idx, d);
        indirect = true;
        break;
      }
      this.#buffer(w, d, idx, undefined);
      if ((d.flags & F_NEXT) === 0) break;
      prev = idx;
      idx = d.next;
    }
    return {
      head,
      readable: w.readable,
      writable: w.writable,
      descriptors: w.descriptors,
      indirect,
    };
  }

  #walkIndirect(w: Walk, at: number, d: RawDesc): void {
    const where = { head: w.head, descriptor: at };
    if (!this.#features.indirect) {
      throw this.#chainError(w, {
        ...where,
        code: "indirect-not-negotiated",
        field: "flags",
        value: describeFlags(d.flags),
        expected: "no VIRTQ_DESC_F_INDIRECT, as VIRTIO_F_INDIRECT_DESC is not negotiated",
        rule: "G34",
      });
    }
    if ((d.flags & F_NEXT) !== 0) {
      throw this.#chainError(w, {
        ...where,
        code: "indirect-with-next",
        field: "flags",
        value: describeFlags(d.flags),
        expected: "VIRTQ_DESC_F_INDIRECT without VIRTQ_DESC_F_NEXT",
        rule: "G37",
      });
    }
    if (d.len === 0 || d.len % DESC_SIZE !== 0) {
      throw this.#chainError(w, {
        ...where,
        code: "bad-indirect-length",
        field: "len",
        value: String(d.len),
        expected: `a non-zero multiple of ${DESC_SIZE} (the descriptor size)`,
      });
    }
    if (!this.#ring.mem.contains(d.addr, d.len)) {
      throw this.#chainError(w, {
        ...where,
        code: "outside-ram",
        field: "addr",
        value: `[${hex(d.addr)}, +${d.len})`,
        expected: `an indirect table inside guest RAM (${this.#ring.mem.bytes} bytes)`,
      });
    }
    const entries = d.len / DESC_SIZE;
    const seen = new Set<number>();
    let j = 0;
    let prev: number | undefined;
    for (;;) {
      const inTable = { head: w.head, indirectOf: at };
      if (j >= entries) {
        throw this.#chainError(w, {
          ...inTable,
          ...(prev === undefined ? {} : { descriptor: prev }),
          code: "index-out-of-range",
          field: "next",
          value: String(j),
          expected: `an entry index below ${entries} (the table's entries)`,
        });
      }
      if (seen.has(j)) {
        throw this.#chainError(w, {
          ...inTable,
          ...(prev === undefined ? {} : { descriptor: prev }),
          code: "loop",
          field: "next",
          value: String(j),
          expected: "an entry not already in the chain",
          rule: "G32",
        });
      }
      seen.add(j);
      w.descriptors++;
      w.path.push({ index: j, indirectOf: at, addr: d.addr + j * DESC_SIZE });
      const e = this.#ring.readDesc(d.addr, j);
      if ((e.flags & F_INDIRECT) !== 0) {
        throw this.#chainError(w, {
          ...inTable,
          descriptor: j,
          code: "nested-indirect",
          field: "flags",
          value: describeFlags(e.flags),
          expected: "no VIRTQ_DESC_F_INDIRECT inside an indirect table",
          rule: "G35",
        });
      }
      this.#buffer(w, e, j, at);
      if ((e.flags & F_NEXT) === 0) return;
      prev = j;
      j = e.next;
    }
  }

  #buffer(w: Walk, d: RawDesc, index: number, indirectOf: number | undefined): void {
    const where = {
      head: w.head,
      descriptor: index,
      ...(indirectOf === undefined ? {} : { indirectOf }),
    };
    w.buffers++;
    if (w.buffers > this.#ring.size) {
      throw this.#chainError(w, {
        ...where,
        code: "chain-too-long",
        field: "chain length",
        value: `more than ${this.#ring.size} descriptors`,
        expected: `at most ${this.#ring.size} (the queue size)`,
        rule: "G36",
      });
    }
    if (w.buffers > this.#max) {
      throw this.#chainError(w, {
        ...where,
        code: "chain-too-long",
        field: "chain length",
        value: `more than ${this.#max} descriptors`,
        expected: `at most ${this.#max} (the device's limit)`,
        rule: "G28b",
      });
    }
    const writable = (d.flags & F_WRITE) !== 0;
    if (!writable && w.writable.length > 0) {
      throw this.#chainError(w, {
        ...where,
        code: "write-before-read",
        field: "flags",
        value: describeFlags(d.flags),
        expected: "VIRTQ_DESC_F_WRITE, as a device-writable descriptor came before",
        rule: "G29",
      });
    }
    if (!this.#ring.mem.contains(d.addr, d.len)) {
      throw this.#chainError(w, {
        ...where,
        code: "outside-ram",
        field: "addr",
        value: `[${hex(d.addr)}, +${d.len})`,
        expected: `a buffer inside guest RAM (${this.#ring.mem.bytes} bytes)`,
      });
    }
    w.bytes += d.len;
    if (w.bytes > CHAIN_BYTES_MAX) {
      throw this.#chainError(w, {
        ...where,
        code: "chain-too-large",
        field: "total length",
        value: String(w.bytes),
        expected: `at most ${CHAIN_BYTES_MAX} bytes`,
        rule: "G32",
      });
    }
    (writable ? w.writable : w.readable).push({ addr: d.addr, len: d.len });
  }

  /** The chain's device-readable bytes, concatenated (writable buffers are never read, G31b). */
  read(chain: Chain): Uint8Array {
    const [only, ...more] = chain.readable;
    if (only !== undefined && more.length === 0) return this.#ring.mem.read(only.addr, only.len);
    const out = new Uint8Array(chain.readable.reduce((n, s) => n + s.len, 0));
    let at = 0;
    for (const s of chain.readable) {
      out.set(this.#ring.mem.read(s.addr, s.len), at);
      at += s.len;
    }
    return out;
  }

  /**
   * Writes `data` into the chain's device-writable buffers in order and
   * returns the bytes written (the `len` to {@link push}). Throws a
   * RangeError if `data` exceeds their capacity.
   */
  write(chain: Chain, data: Uint8Array): number {
    const capacity = chain.writable.reduce((n, s) => n + s.len, 0);
    if (data.length > capacity) {
      throw new RangeError(
        `Cannot write to chain at head ${chain.head}: data is ${data.length} bytes, expected at most ${capacity} (its device-writable capacity)`,
      );
    }
    let at = 0;
    for (const s of chain.writable) {
      if (at >= data.length) break;
      const n = Math.min(s.len, data.length - at);
      this.#ring.mem.write(s.addr, data.subarray(at, at + n), "device");
      at += n;
    }
    return at;
  }

  /**
   * Returns a chain to the driver: writes the used element (`id`, `len`) and
   * only then `used.idx` (rule G45). Throws a RangeError for a head outside
   * the table or a `len` that does not fit the field.
   */
  push(head: number, len: number): void {
    const ring = this.#ring;
    if (!Number.isInteger(head) || head < 0 || head >= ring.size) {
      throw new RangeError(
        `Cannot push used buffer: head ${head} is outside the table, expected 0 to ${
          ring.size - 1
        }`,
      );
    }
    if (!Number.isInteger(len) || len < 0 || len > DESC_LEN_MAX) {
      throw new RangeError(
        `Cannot push used buffer: len ${len} is not valid, expected an integer from 0 to ${DESC_LEN_MAX}`,
      );
    }
    ring.setUsedElem(this.#usedIdx % ring.size, head, len);
    this.#usedIdx = wrapIdx(this.#usedIdx + 1);
    ring.setUsedIdx(this.#usedIdx, "device");
  }

  /**
   * Whether the driver must get a used-buffer notification for the entries
   * pushed since the last call: without EVENT_IDX, unless `avail.flags` has
   * NO_INTERRUPT (rule G43); with EVENT_IDX, when they passed `used_event`
   * (rule G44). False when nothing was pushed.
   */
  needsNotify(): boolean {
    const old = this.#signalled;
    const now = this.#usedIdx;
    this.#signalled = now;
    if (old === now) return false;
    if (this.#features.eventIdx) return needEvent(this.#ring.usedEvent, now, old);
    return (this.#ring.availFlags & NO_INTERRUPT) === 0;
  }

  /**
   * Asks the driver for no available-buffer notifications (`on`) or for them
   * again: `used.flags` NO_NOTIFY without EVENT_IDX (rule G51); with EVENT_IDX
   * (`used.flags` stays 0) `avail_event` is set to the index just consumed,
   * which the driver will not reach for 2^16 entries, or back to `avail.idx`
   * so the next chain notifies. After turning them on, check {@link pending}.
   */
  setNoNotify(on: boolean): void {
    this.#noNotify = on;
    const ring = this.#ring;
    if (this.#features.eventIdx) {
      ring.availEvent = on ? wrapIdx(this.#lastAvail - 1) : ring.availIdx;
    } else ring.setUsedFlags(on ? NO_NOTIFY : 0, "device");
  }
}
