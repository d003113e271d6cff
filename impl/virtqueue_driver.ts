/**
 * The driver side of a split virtqueue: places descriptor chains, publishes
 * them in the available ring, decides whether to notify the device, and
 * collects used buffers. It talks to the device only through guest memory.
 *
 * @module
 */

import type { PhysicalMemory } from "./memory.ts";
import {
  CHAIN_BYTES_MAX,
  DESC_LEN_MAX,
  DESC_SIZE,
  F_INDIRECT,
  F_NEXT,
  F_WRITE,
  NO_INTERRUPT,
  NO_NOTIFY,
  type RawDesc,
  RingAccess,
} from "./_ring_access.ts";
import { VirtqueueError, type VirtqueueErrorInit } from "./virtqueue_error.ts";
import {
  needEvent,
  type QueueFeatures,
  type RingLayout,
  type Segment,
  wrapIdx,
} from "./virtqueue_ring.ts";

/** Options of {@link DriverQueue}. */
export interface DriverQueueOptions {
  /** Initial avail and used index (default 0); the device must start at the same value. */
  readonly startIdx?: number;
  /** Queue index, quoted in errors. */
  readonly queue?: number;
  /**
   * What the queue writes to `avail.idx` for its free-running index `idx`
   * (default: `idx`). Only a deliberately broken driver (a mutant) changes it.
   */
  readonly availIdxValue?: (idx: number) => number;
  /** What the queue writes to `avail.flags` when it means `flags` (default: `flags`); likewise. */
  readonly availFlagsValue?: (flags: number) => number;
  /**
   * The most descriptors {@link DriverQueue.add} puts in one chain, indirect
   * tables included (default and at most sensible: the queue size, rule G36);
   * likewise only a deliberately broken driver raises it.
   */
  readonly maxChainLength?: number;
}

/** Options of {@link DriverQueue.add}. */
export interface AddOptions {
  /** Guest address of room for an indirect table of all the chain's segments. */
  readonly indirectTable?: number;
}

/** A raw descriptor for {@link DriverQueue.addRaw}. */
export interface RawDescriptor {
  /** Slot in the ring's descriptor table. */
  readonly index: number;
  /** Buffer address. */
  readonly addr: number;
  /** Buffer length. */
  readonly len: number;
  /** Flags, written as given. */
  readonly flags: number;
  /** Next index, written as given. */
  readonly next: number;
}

/** A buffer the device has used. */
export interface UsedBuffer<T> {
  /** The token given to {@link DriverQueue.add}. */
  readonly token: T;
  /** Bytes the device says it wrote. */
  readonly len: number;
  /** Head descriptor index of the chain. */
  readonly head: number;
}

interface InFlight<T> {
  readonly token: T;
  readonly descs: readonly number[];
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Driver side of a split virtqueue in guest memory. Ring writes are tagged
 * `"driver"`. Construct it before the {@link DeviceQueue}: it sets up the
 * rings as a driver does when it allocates them (flags 0, rule G48).
 *
 * @example
 * ```ts
 * import { GuestMemory } from "./memory.ts";
 * import { DeviceQueue, DriverQueue, ringLayout } from "./virtqueue.ts";
 * import assert from "node:assert/strict";
 * const mem = new GuestMemory({ pages: 16 });
 * const layout = ringLayout(0, 8);
 * const features = { order: "v1", eventIdx: false, indirect: false } as const;
 * const driver = new DriverQueue<string>(mem, layout, features);
 * const device = new DeviceQueue(mem, layout, features);
 * mem.write(0x8000, new TextEncoder().encode("ping"), "driver");
 * driver.add([{ addr: 0x8000, len: 4 }], [{ addr: 0x9000, len: 16 }], "req-1");
 * assert.equal(driver.kickPrepare(), true);
 * const chain = device.pop();
 * assert.ok(chain !== undefined);
 * assert.equal(new TextDecoder().decode(device.read(chain)), "ping");
 * device.push(chain.head, device.write(chain, new TextEncoder().encode("pong")));
 * assert.deepEqual(driver.getUsed(), { token: "req-1", len: 4, head: chain.head });
 * assert.equal(driver.numFree, 8);
 * ```
 */
export class DriverQueue<T> {
  #ring: RingAccess;
  #features: QueueFeatures;
  #queue: number | undefined;
  #free: number[] = [];
  #inflight: (InFlight<T> | undefined)[];
  #availIdx: number;
  #kickedIdx: number;
  #lastUsed: number;
  #callbacks = true;
  #idxValue: (idx: number) => number;
  #flagsValue: (flags: number) => number;
  #maxChain: number;

  /**
   * Takes over the rings at `layout`: writes avail flags and idx, used flags
   * and idx (to `startIdx`), and with EVENT_IDX `used_event`. Throws a
   * RangeError for an illegal size, misaligned parts (G26) or parts outside RAM.
   */
  constructor(
    mem: PhysicalMemory,
    layout: RingLayout,
    features: QueueFeatures,
    options?: DriverQueueOptions,
  ) {
    this.#ring = new RingAccess(mem, layout, features.order);
    this.#features = {
      order: features.order,
      eventIdx: features.eventIdx,
      indirect: features.indirect,
    };
    this.#queue = options?.queue;
    this.#idxValue = options?.availIdxValue ?? ((idx) => idx);
    this.#flagsValue = options?.availFlagsValue ?? ((flags) => flags);
    this.#maxChain = options?.maxChainLength ?? layout.size;
    const start = wrapIdx(options?.startIdx ?? 0);
    for (let i = layout.size - 1; i >= 0; i--) this.#free.push(i);
    this.#inflight = new Array<InFlight<T> | undefined>(layout.size).fill(undefined);
    this.#availIdx = this.#kickedIdx = this.#lastUsed = start;
    const ring = this.#ring;
    ring.availFlags = this.#flagsValue(0);
    ring.availIdx = this.#idxValue(start);
    ring.setUsedFlags(0, "driver");
    ring.setUsedIdx(start, "driver");
    if (features.eventIdx) ring.usedEvent = start;
  }

  /** Queue size. */
  get size(): number {
    return this.#ring.size;
  }

  /** The next `n` free descriptor indices (not taken; for {@link addRaw} callers). */
  peekFree(n: number): number[] {
    return this.#free.slice(-n).reverse();
  }

  /** Number of free descriptors. */
  get numFree(): number {
    return this.#free.length;
  }

  /** The driver's avail index (already published in `avail.idx`). */
  get availIdx(): number {
    return this.#availIdx;
  }

  /** Used entries the device has published and {@link getUsed} has not yet taken. */
  get usedPending(): number {
    return wrapIdx(this.#ring.usedIdx - this.#lastUsed);
  }

  #error(init: Omit<VirtqueueErrorInit, "queue">): VirtqueueError {
    return new VirtqueueError(this.#queue === undefined ? init : { ...init, queue: this.#queue });
  }

  #checkSegments(out: readonly Segment[], inn: readonly Segment[]): void {
    const action = "add a chain";
    if (out.length + inn.length === 0) {
      throw this.#error({
        code: "empty-chain",
        action,
        field: "segments",
        value: "0",
        expected: "at least one segment",
      });
    }
    let total = 0;
    for (const [side, list] of [["out", out], ["inn", inn]] as const) {
      for (const [i, s] of list.entries()) {
        const field = `${side}[${i}]`;
        if (
          !Number.isSafeInteger(s.addr) || s.addr < 0 || !Number.isSafeInteger(s.len) ||
          s.len < 0 || s.len > DESC_LEN_MAX
        ) {
          throw this.#error({
            code: "bad-segment",
            action,
            field,
            value: `{ addr: ${s.addr}, len: ${s.len} }`,
            expected: `a non-negative integer address and a length of at most ${DESC_LEN_MAX}`,
          });
        }
        if (!this.#ring.mem.contains(s.addr, s.len)) {
          throw this.#error({
            code: "outside-ram",
            action,
            field,
            value: `[${hex(s.addr)}, +${s.len})`,
            expected: `a buffer inside guest RAM (${this.#ring.mem.bytes} bytes)`,
          });
        }
        total += s.len;
      }
    }
    if (total > CHAIN_BYTES_MAX) {
      throw this.#error({
        code: "chain-too-large",
        action,
        field: "total length",
        value: String(total),
        expected: `at most ${CHAIN_BYTES_MAX} bytes`,
        rule: "G32",
      });
    }
  }

  #checkLength(n: number): void {
    const size = this.#ring.size;
    if (n > this.#maxChain) {
      throw this.#error({
        code: "chain-too-long",
        action: "add a chain",
        field: "descriptor count",
        value: String(n),
        expected: this.#maxChain === size
          ? `at most ${size} (the queue size)`
          : `at most ${this.#maxChain} (the queue's chain limit)`,
        rule: "G36",
      });
    }
  }

  #allocate(n: number): number[] {
    if (n > this.#free.length) {
      throw this.#error({
        code: "queue-full",
        action: "add a chain",
        field: "descriptor count",
        value: String(n),
        expected: `at most ${this.#free.length} (the free descriptors)`,
        rule: "G36",
      });
    }
    return this.#free.splice(this.#free.length - n, n).reverse();
  }

  /**
   * Places a chain: `out` segments are device-readable, `inn` device-writable
   * (so rule G29 holds by construction). With `indirectTable` (and
   * INDIRECT_DESC negotiated, else rule G34) the segments go into one indirect
   * table there and the chain takes one ring descriptor. Publishes the head in
   * the avail ring and `avail.idx`, and returns the head index.
   *
   * Throws a {@link VirtqueueError}: rule G36 for a chain longer than the
   * queue, or when too few descriptors are free (`code: "queue-full"`); rule
   * G32 for more than 2^32 bytes; no rule for an empty chain or a segment
   * outside guest RAM. Nothing is written when it throws.
   */
  add(out: readonly Segment[], inn: readonly Segment[], token: T, options?: AddOptions): number {
    this.#checkSegments(out, inn);
    const segs = [...out.map((s) => ({ s, w: false })), ...inn.map((s) => ({ s, w: true }))];
    const n = segs.length;
    const table = options?.indirectTable;
    let descs: number[];
    if (table !== undefined) {
      if (!this.#features.indirect) {
        throw this.#error({
          code: "indirect-not-negotiated",
          action: "add a chain",
          field: "indirectTable",
          value: hex(table),
          expected: "no indirect table, as VIRTIO_F_INDIRECT_DESC is not negotiated",
          rule: "G34",
        });
      }
      if (!Number.isSafeInteger(table) || !this.#ring.mem.contains(table, n * DESC_SIZE)) {
        throw this.#error({
          code: "outside-ram",
          action: "add a chain",
          field: "indirectTable",
          value: `[${hex(table)}, +${n * DESC_SIZE})`,
          expected: `a table inside guest RAM (${this.#ring.mem.bytes} bytes)`,
        });
      }
      this.#checkLength(n);
      descs = this.#allocate(1);
      const entries: RawDesc[] = segs.map(({ s, w }, i) => ({
        addr: s.addr,
        len: s.len,
        flags: (w ? F_WRITE : 0) | (i < n - 1 ? F_NEXT : 0),
        next: i < n - 1 ? i + 1 : 0,
      }));
      this.#ring.mem.write(table, this.#ring.encodeDescs(entries), "driver");
      this.#ring.writeDesc(descs[0] ?? 0, {
        addr: table,
        len: n * DESC_SIZE,
        flags: F_INDIRECT,
        next: 0,
      });
    } else {
      this.#checkLength(n);
      descs = this.#allocate(n);
      for (const [i, { s, w }] of segs.entries()) {
        const next = descs[i + 1];
        this.#ring.writeDesc(descs[i] ?? 0, {
          addr: s.addr,
          len: s.len,
          flags: (w ? F_WRITE : 0) | (next !== undefined ? F_NEXT : 0),
          next: next ?? 0,
        });
      }
    }
    const head = descs[0] ?? 0;
    this.#inflight[head] = { token, descs };
    this.#publish(head);
    return head;
  }

  #publish(head: number): void {
    this.#ring.setAvailEntry(this.#availIdx % this.#ring.size, head);
    this.#availIdx = wrapIdx(this.#availIdx + 1);
    this.#ring.availIdx = this.#idxValue(this.#availIdx);
  }

  /**
   * Whether the device must be notified about the chains added since the last
   * call: without EVENT_IDX, unless `used.flags` has NO_NOTIFY (rule G49);
   * with EVENT_IDX, when the new entries passed `avail_event` (rule G50).
   * False when nothing was added.
   */
  kickPrepare(): boolean {
    const old = this.#kickedIdx;
    const now = this.#availIdx;
    this.#kickedIdx = now;
    if (old === now) return false;
    if (this.#features.eventIdx) return needEvent(this.#ring.availEvent, now, old);
    return (this.#ring.usedFlags & NO_NOTIFY) === 0;
  }

  /**
   * The next used buffer, or `undefined` when there is none; frees its
   * descriptors. With EVENT_IDX and callbacks enabled it moves `used_event`
   * to the next entry. Throws a {@link VirtqueueError} when the device moved
   * `used.idx` more than the queue size ahead (the queue is then stuck), or
   * returned an id that is not the head of a chain in flight (that entry is
   * skipped).
   */
  getUsed(): UsedBuffer<T> | undefined {
    const ring = this.#ring;
    const usedIdx = ring.usedIdx;
    if (usedIdx === this.#lastUsed) return undefined;
    if (wrapIdx(usedIdx - this.#lastUsed) > ring.size) {
      throw this.#error({
        code: "bad-used-idx",
        action: "get a used buffer",
        field: "used.idx",
        value: String(usedIdx),
        expected: `at most ${ring.size} (the queue size) ahead of ${this.#lastUsed}`,
      });
    }
    const { id, len } = ring.usedElem(this.#lastUsed % ring.size);
    this.#lastUsed = wrapIdx(this.#lastUsed + 1);
    if (this.#features.eventIdx && this.#callbacks) ring.usedEvent = this.#lastUsed;
    const f = id < ring.size ? this.#inflight[id] : undefined;
    if (f === undefined) {
      throw this.#error({
        code: "bad-used-id",
        action: "get a used buffer",
        field: "id",
        value: String(id),
        expected: "the head of a chain in flight",
      });
    }
    this.#inflight[id] = undefined;
    for (const d of f.descs) this.#free.push(d);
    return { token: f.token, len, head: id };
  }

  /**
   * Asks for used-buffer notifications: clears NO_INTERRUPT, or with
   * EVENT_IDX sets `used_event` to the next used index. Check {@link getUsed}
   * again afterwards: entries used before this call raise no notification.
   */
  enableCallbacks(): void {
    this.#callbacks = true;
    if (this.#features.eventIdx) this.#ring.usedEvent = this.#lastUsed;
    else this.#ring.availFlags = this.#flagsValue(0);
  }

  /**
   * Asks for no used-buffer notifications: sets NO_INTERRUPT (rule G41), or
   * with EVENT_IDX (where `avail.flags` must stay 0) sets `used_event` to the
   * index just consumed, which the device will not reach for 2^16 entries.
   */
  disableCallbacks(): void {
    this.#callbacks = false;
    if (this.#features.eventIdx) this.#ring.usedEvent = wrapIdx(this.#lastUsed - 1);
    else this.#ring.availFlags = this.#flagsValue(NO_INTERRUPT);
  }

  /**
   * For tests and deliberately broken drivers: writes descriptors exactly as
   * given and publishes `head` in the avail ring, bypassing every check.
   * Only `index` must lie in the table. With `options.token` the chain is
   * tracked like one from {@link add} (its free descriptors are taken), so
   * {@link getUsed} can return it; otherwise the driver does not know about it.
   */
  addRaw(
    descs: readonly RawDescriptor[],
    head: number,
    options?: { readonly token: T },
  ): void {
    for (const d of descs) {
      if (!Number.isInteger(d.index) || d.index < 0 || d.index >= this.#ring.size) {
        throw new RangeError(
          `Cannot write raw descriptor: index ${d.index} is outside the table, expected 0 to ${
            this.#ring.size - 1
          }`,
        );
      }
    }
    for (const d of descs) this.#ring.writeDesc(d.index, d);
    if (options !== undefined && head >= 0 && head < this.#ring.size) {
      const taken = new Set(descs.map((d) => d.index));
      const mine = this.#free.filter((i) => taken.has(i));
      this.#free = this.#free.filter((i) => !taken.has(i));
      this.#inflight[head] = { token: options.token, descs: mine };
    }
    this.#publish(head);
  }
}
