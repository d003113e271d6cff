/**
 * The reference balloon device (host side). It decodes every request
 * defensively (never trusting the guest), keeps the host's view of which
 * 4 KiB pages are ballooned and how many discard calls it made, serves
 * statistics and unused-page requests, and always uses every buffer.
 *
 * Malformed requests: by default the request is rejected as a whole (no host
 * state changes), its buffer is used with length 0 and the device stays
 * usable (rule S-03); with `onMalformed: "needs-reset"` the device sets
 * DEVICE_NEEDS_RESET instead (G06).
 *
 * Every chain it handles, every buffer it uses and every host action goes
 * into the transport's log, which is the trace the conformance suite checks.
 *
 * @module
 */

import {
  type BitmapHeader,
  type ByteOrder,
  concatChain,
  decodeBitmapRequest,
  decodePfnArray,
  decodeStats,
  encodeStruct,
  enumValue,
  enumValues,
  featureMask,
  type FeatureName,
  featureNames,
  fieldOf,
  hasFeature,
  PageSet,
  type ProfileId,
  ProtocolError,
  queueLayout,
  type QueueName,
  readScalar,
  type StatEntry,
  structSize,
  unknownBits,
  VIRTIO_BALLOON_PFN_SHIFT,
  writeScalar,
} from "../spec/mod.ts";
import type { DeviceDeviation } from "./deviations.ts";
import { type DeviceModel, type DeviceTraceEvent, STATUS, type Transport } from "./transport.ts";
import { type Chain, type DeviceQueue, VirtqueueError } from "./virtqueue.ts";

/** Options of {@link BalloonDevice}. */
export interface DeviceOptions {
  /** Profile (default `v3`). */
  readonly profile?: ProfileId;
  /** Guest RAM in 4 KiB pages (range checks, S-02). */
  readonly guestPages: number;
  /** Features to offer (default: every feature the reference device implements for the profile). */
  readonly offer?: readonly FeatureName[];
  /** Largest size offered for every queue (default 256). */
  readonly queueSize?: number;
  /** What to do with a malformed request (default `reject`, S-03). */
  readonly onMalformed?: "reject" | "needs-reset";
  /** Keep each request's bytes in the trace (evidence; costs memory). */
  readonly keepBytes?: boolean;
  /** Deliberate mistakes (the conformance suite's mutants). */
  readonly deviations?: Iterable<DeviceDeviation>;
}

/** Something the device noticed about the driver's behaviour (not an error on its side). */
export interface DeviceObservation {
  /** Rule the driver seems to break. */
  readonly rule: string;
  /** What happened. */
  readonly message: string;
  /** Queue. */
  readonly queue: QueueName | "unknown";
}

/** Progress of one unused-page request. */
export interface UnusedPageRound {
  /** The param sent (echoed as req_id). */
  readonly param: bigint;
  /** Whether the DONE chunk arrived. */
  done: boolean;
  /** Chunks received. */
  chunks: number;
  /** Flags in arrival order. */
  readonly flags: number[];
  /** start_pfn of each chunk in arrival order. */
  readonly starts: number[];
  /** Pages hinted unused so far. */
  readonly hints: PageSet;
  /** Virtual time the request was issued. */
  readonly issuedAt: number;
}

/** Counters of the device's work. */
export interface DeviceCounters {
  /** Inflate requests processed. */
  inflateRequests: number;
  /** Deflate requests processed. */
  deflateRequests: number;
  /** Stats buffers received. */
  statsBuffers: number;
  /** Misc reply chunks received. */
  replyChunks: number;
  /** Descriptors received on inflate/deflate. */
  descriptors: number;
  /** Readable bytes received on inflate/deflate. */
  bytes: number;
  /** Available-buffer notifications received. */
  notifications: number;
  /** Used-buffer interrupts raised. */
  interrupts: number;
  /** Discard calls (contiguous ranges, as one bulk madvise each). */
  discardCalls: number;
  /** Pages discarded. */
  discardedPages: number;
  /** Pages given back by deflate. */
  givenBackPages: number;
  /** Requests rejected as malformed. */
  rejected: number;
}

const IMPLEMENTED: Readonly<Record<ProfileId, readonly FeatureName[]>> = {
  "v3": [
    "MUST_TELL_HOST",
    "STATS_VQ",
    "DEFLATE_ON_OOM",
    "PAGE_BITMAP",
    "MISC_VQ",
    "VERSION_1",
    "EVENT_IDX",
    "INDIRECT_DESC",
    "ANY_LAYOUT",
  ],
  "virtio-1.x": [
    "MUST_TELL_HOST",
    "STATS_VQ",
    "DEFLATE_ON_OOM",
    "VERSION_1",
    "EVENT_IDX",
    "INDIRECT_DESC",
    "ANY_LAYOUT",
  ],
};

const NUM_PAGES = fieldOf("virtio_balloon_config", "num_pages");
const ACTUAL = fieldOf("virtio_balloon_config", "actual");
const REQ_SIZE = structSize("balloon_req_hdr");
const FLAG_DONE = enumValue("balloon_flag", "BALLOON_FLAG_DONE");
const GET_UNUSED_PAGES = enumValue("balloon_req_cmd", "BALLOON_GET_UNUSED_PAGES");

function reverseBits(b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 1 << (7 - i);
  return r;
}

/**
 * The balloon device.
 *
 * @example
 * ```ts
 * import { BalloonDevice } from "./device.ts";
 * import assert from "node:assert/strict";
 * const d = new BalloonDevice({ guestPages: 262_144 });
 * assert.equal(d.queueMaxSize(3), 256); // miscq exists: MISC_VQ is offered
 * assert.equal(d.queueMaxSize(4), 0);
 * ```
 */
export class BalloonDevice implements DeviceModel {
  /** Profile. */
  readonly profile: ProfileId;
  /** Guest RAM in 4 KiB pages. */
  readonly guestPages: number;
  /** Feature bits offered. */
  readonly deviceFeatures: bigint;
  /** Config space size for the profile. */
  readonly configSize: number;
  /** Deliberate mistakes in effect. */
  readonly deviations: ReadonlySet<DeviceDeviation>;
  /** Host view: the 4 KiB pages currently in the balloon. */
  readonly ballooned: PageSet = new PageSet();
  /** What the device did. */
  readonly counters: DeviceCounters = {
    inflateRequests: 0,
    deflateRequests: 0,
    statsBuffers: 0,
    replyChunks: 0,
    descriptors: 0,
    bytes: 0,
    notifications: 0,
    interrupts: 0,
    discardCalls: 0,
    discardedPages: 0,
    givenBackPages: 0,
    rejected: 0,
  };
  /** Behaviour of the driver the device noticed. */
  readonly observations: DeviceObservation[] = [];
  /** Unused-page rounds, oldest first. */
  readonly rounds: UnusedPageRound[] = [];
  /** Requests and chains rejected as malformed, oldest first. */
  readonly rejections: { queue: string; error: string; rule?: string; bytes: number }[] = [];
  #transport: Transport | undefined;
  #queueSize: number;
  #onMalformed: "reject" | "needs-reset";
  #keepBytes: boolean;
  #roles = new Map<number, QueueName>();
  #statsChain: { index: number; chain: Chain } | undefined;
  #requestChain: { index: number; chain: Chain } | undefined;
  #heldReplies: { index: number; head: number }[] = [];
  #lastStats: StatEntry[] | undefined;
  #statsUpdates = 0;
  #paramCounter = 0x100n;
  #holdUsed = new Set<QueueName>();
  #deferredUsed: { index: number; head: number; len: number }[] = [];

  /** Creates a device; attach it with `new Transport(mem, sched, device)`. */
  constructor(options: DeviceOptions) {
    this.profile = options.profile ?? "v3";
    this.guestPages = options.guestPages;
    const deviations = new Set(options.deviations ?? []);
    let offer = [...(options.offer ?? IMPLEMENTED[this.profile])];
    if (deviations.has("offer-misc-without-stats")) offer = offer.filter((f) => f !== "STATS_VQ");
    if (deviations.has("no-version-1")) offer = offer.filter((f) => f !== "VERSION_1");
    if (deviations.has("no-any-layout")) offer = offer.filter((f) => f !== "ANY_LAYOUT");
    this.deviceFeatures = featureMask(this.profile, offer);
    this.configSize = structSize("virtio_balloon_config", this.profile);
    this.#queueSize = options.queueSize ?? 256;
    this.#onMalformed = options.onMalformed ?? "reject";
    this.#keepBytes = options.keepBytes ?? false;
    this.deviations = deviations;
  }

  /** Features the reference device implements for a profile. */
  static implemented(profile: ProfileId): readonly FeatureName[] {
    return IMPLEMENTED[profile];
  }

  #dev(d: DeviceDeviation): boolean {
    return this.deviations.has(d);
  }

  get #t(): Transport {
    if (this.#transport === undefined) throw new TypeError("Device is not attached to a transport");
    return this.#transport;
  }

  get #order(): ByteOrder {
    return this.#t.byteOrder;
  }

  #has(name: FeatureName): boolean {
    return hasFeature(this.profile, this.#t.negotiated, name);
  }

  // ---- DeviceModel --------------------------------------------------------------

  /** Binds the device to its transport (called by the transport). */
  attach(transport: Transport): void {
    this.#transport = transport;
  }

  /** Queues exist by offered features (as QEMU decides), compacted. */
  queueMaxSize(index: number): number {
    const offered = new Set(featureNames(this.profile, this.deviceFeatures));
    return index < queueLayout(this.profile, offered).length ? this.#queueSize : 0;
  }

  /** Accepts any subset of the offered features that respects dependencies (G15); refuses others. */
  featuresOk(driverFeatures: bigint): boolean {
    if ((driverFeatures & ~this.deviceFeatures) !== 0n) return false;
    if (unknownBits(this.profile, driverFeatures).length > 0) return false;
    if (this.#dev("refuse-valid-subset") && driverFeatures !== this.deviceFeatures) return false;
    const names = new Set(featureNames(this.profile, driverFeatures));
    if (this.profile === "v3" && names.has("MISC_VQ") && !names.has("STATS_VQ")) return false;
    this.#assignRoles(driverFeatures);
    return true;
  }

  #assignRoles(features: bigint): void {
    this.#roles.clear();
    for (const q of queueLayout(this.profile, new Set(featureNames(this.profile, features)))) {
      this.#roles.set(q.index, q.name);
    }
  }

  /** DRIVER_OK: the queues are live (legacy drivers: the features written are final). */
  driverOk(): void {
    if (this.#t.isLegacy) this.#assignRoles(this.#t.negotiated);
  }

  /** The driver wrote config space; `actual` is read on demand, so nothing to do. */
  configWritten(offset: number, size: number): void {
    void offset;
    void size;
  }

  /** Device reset: forget queue roles and held buffers (the host's balloon view stays). */
  reset(): void {
    this.#roles.clear();
    this.#statsChain = undefined;
    this.#requestChain = undefined;
    this.#heldReplies = [];
    this.#deferredUsed = [];
  }

  /** Available-buffer notification: process every available chain of the queue. */
  notify(index: number): void {
    this.counters.notifications++;
    const live = (this.#t.status & STATUS.DRIVER_OK) !== 0;
    if (!live && !this.#dev("ignore-driver-ok")) return; // G05
    if (this.#roles.size === 0 && this.#t.isLegacy) this.#assignRoles(this.#t.negotiated);
    // without a feature negotiation the device cannot tell its queues apart: it waits
    if (this.#roles.size === 0) return;
    const dq = this.#t.deviceQueue(index);
    if (dq === undefined) return;
    const role = this.#roles.get(index) ?? "unknown";
    let pushed = false;
    for (;;) {
      let chain: Chain | undefined;
      const before = dq.lastAvailIdx;
      try {
        chain = dq.pop();
      } catch (e) {
        if (!(e instanceof VirtqueueError)) throw e;
        this.counters.rejected++;
        this.#trace({
          kind: "request",
          index,
          queue: role,
          head: e.head ?? -1,
          what: "bad-chain",
          readable: [],
          writable: [],
          error: e.message,
          ...(e.rule === undefined ? {} : { rule: e.rule }),
        });
        if (this.#onMalformed === "needs-reset") {
          this.#t.setNeedsReset(e.message);
          return;
        }
        // still use the buffer so the driver is not left waiting (S-03)
        if (e.head !== undefined) {
          this.#push(index, dq, e.head, 0);
          pushed = true;
        }
        if (dq.lastAvailIdx === before || dq.pending === 0) break; // stuck until a reset
        continue;
      }
      if (chain === undefined) break;
      if (this.#handle(index, role, dq, chain)) pushed = true;
    }
    if (pushed) this.#notifyUsed(index, dq);
  }

  #notifyUsed(index: number, dq: DeviceQueue): void {
    if (dq.needsNotify()) {
      this.counters.interrupts++;
      this.#t.raiseUsed(index);
    }
  }

  #push(index: number, dq: DeviceQueue, head: number, len: number): void {
    dq.push(head, len);
    this.#t.record({ kind: "used", index, head, len });
  }

  #trace(e: DeviceTraceEvent): void {
    if (e.what === "rejected" || e.what === "bad-chain") {
      this.rejections.push({
        queue: e.queue,
        error: e.error ?? "",
        ...(e.rule === undefined ? {} : { rule: e.rule }),
        bytes: e.readable.reduce((a, b) => a + b, 0),
      });
    }
    this.#t.record(e);
  }

  // ---- host controls -----------------------------------------------------------------

  /** Target balloon size in 4 KiB pages (`num_pages`). */
  get target(): number {
    return Number(
      readScalar(
        new DataView(this.#t.config.buffer),
        NUM_PAGES.offset,
        NUM_PAGES.type,
        this.#configOrder(),
      ),
    );
  }

  /** The driver's last `actual`. */
  get actual(): number {
    return Number(
      readScalar(new DataView(this.#t.config.buffer), ACTUAL.offset, ACTUAL.type, "v1"),
    );
  }

  #configOrder(): ByteOrder {
    // B07: always little-endian; the deviation stores it guest-native on legacy big-endian guests
    return this.#dev("config-guest-endian") && this.#t.isLegacy && this.#t.guestEndian === "be"
      ? "legacy-be"
      : "v1";
  }

  /** Sets the target and sends a config-change notification. */
  setTarget(pages: number): void {
    const order = this.#configOrder();
    const type = order === "v1" ? NUM_PAGES.type : "virtio32";
    writeScalar(new DataView(this.#t.config.buffer), NUM_PAGES.offset, type, order, pages);
    this.#t.record({ kind: "host", action: "set-target", value: pages });
    this.#t.configChanged();
  }

  /** Holds back the use of buffers on some queues (a slow device); {@link releaseUsed} lets them go. */
  holdUsed(queues: readonly QueueName[]): void {
    for (const q of queues) this.#holdUsed.add(q);
  }

  /** Uses every held buffer and stops holding. */
  releaseUsed(): void {
    this.#holdUsed.clear();
    const list = this.#deferredUsed;
    this.#deferredUsed = [];
    const touched = new Set<number>();
    for (const u of list) {
      const dq = this.#t.deviceQueue(u.index);
      if (dq === undefined) continue;
      this.#push(u.index, dq, u.head, u.len);
      touched.add(u.index);
    }
    for (const i of touched) {
      const dq = this.#t.deviceQueue(i);
      if (dq !== undefined) this.#notifyUsed(i, dq);
    }
  }

  /** The last statistics received (undefined before the first buffer). */
  get lastStats(): readonly StatEntry[] | undefined {
    return this.#lastStats;
  }

  /** How many stats buffers were decoded. */
  get statsUpdates(): number {
    return this.#statsUpdates;
  }

  /** Asks the guest for fresh statistics: uses the held buffer. False if none is held. */
  requestStats(): boolean {
    const held = this.#statsChain;
    this.#t.record({ kind: "host", action: "request-stats" });
    if (held === undefined) return false;
    this.#statsChain = undefined;
    this.#use(held.index, held.chain.head, 0);
    return true;
  }

  /** Whether a misc request buffer is available to the device. */
  get canRequestUnusedPages(): boolean {
    return this.#requestChain !== undefined;
  }

  /**
   * Issues GET_UNUSED_PAGES (MISC_VQ): starts dirty logging first,
   * fills the driver's request buffer and uses it with length 16 (R-17a).
   * Returns the round, or undefined when no request buffer is available.
   */
  requestUnusedPages(
    options: { param?: bigint; cmd?: number; usedLength?: number } = {},
  ): UnusedPageRound | undefined {
    const held = this.#requestChain;
    if (held === undefined) return undefined;
    this.#requestChain = undefined;
    for (const r of this.#heldReplies) {
      const q = this.#t.deviceQueue(r.index);
      if (q !== undefined) this.#push(r.index, q, r.head, 0);
    }
    this.#heldReplies = [];
    const param = options.param ?? this.#paramCounter++;
    const cmd = options.cmd ?? GET_UNUSED_PAGES;
    const len = options.usedLength ?? (this.#dev("misc-request-len-8") ? 8 : REQ_SIZE);
    if (!this.#dev("no-dirty-log")) this.#t.mem.startDirtyLog();
    const bytes = encodeStruct("balloon_req_hdr", {
      cmd,
      reserved: this.#dev("misc-request-reserved") ? [1, 0, 0] : [0, 0, 0],
      param,
    }, { order: this.#order });
    const dq = this.#t.deviceQueue(held.index) as DeviceQueue;
    dq.write(held.chain, bytes);
    const round: UnusedPageRound = {
      param,
      done: false,
      chunks: 0,
      flags: [],
      starts: [],
      hints: new PageSet(),
      issuedAt: this.#t.sched.now,
    };
    this.rounds.push(round);
    this.#t.record({ kind: "host", action: "request-unused", param, cmd, len });
    if (this.#dev("no-dirty-log")) this.#t.mem.startDirtyLog();
    this.#use(held.index, held.chain.head, len);
    return round;
  }

  /** The most recent round of unused-page hints. */
  get lastRound(): UnusedPageRound | undefined {
    return this.rounds[this.rounds.length - 1];
  }

  // ---- processing -------------------------------------------------------------------

  #use(index: number, head: number, len: number): void {
    const dq = this.#t.deviceQueue(index);
    if (dq === undefined) return;
    this.#push(index, dq, head, len);
    this.#notifyUsed(index, dq);
  }

  /** Handles one chain; returns whether it was used now. */
  #handle(index: number, role: QueueName | "unknown", dq: DeviceQueue, chain: Chain): boolean {
    const base = {
      kind: "request" as const,
      index,
      queue: role,
      head: chain.head,
      readable: chain.readable.map((s) => s.len),
      writable: chain.writable.map((s) => s.len),
    };
    if (role === "statsq") return this.#handleStats(index, dq, chain, base);
    if (role === "miscq" && chain.readable.length === 0) {
      this.#trace({ ...base, what: "misc-request-buffer" });
      if (this.#requestChain !== undefined) {
        this.observations.push({
          rule: "R-04",
          message: "a second misc request buffer was made available while one was held",
          queue: "miscq",
        });
        this.#push(index, dq, this.#requestChain.chain.head, 0);
      }
      this.#requestChain = { index, chain };
      return false;
    }
    let data = dq.read(chain);
    if (this.#dev("ignore-writable-descriptors") && chain.writable.length > 0) {
      data = concatChain([data, ...chain.writable.map((s) => this.#t.mem.read(s.addr, s.len))]);
    }
    const withBytes = this.#keepBytes ? { ...base, bytes: data } : base;
    let usedLen = this.#dev("used-len-bytes-read") ? data.length : 0;
    if (role === "inflateq" || role === "deflateq") {
      if (this.#dev("never-ack-inflate") && role === "inflateq") {
        this.#handlePages(role, chain, data, withBytes);
        return false;
      }
      if (this.#dev("ack-before-process")) {
        this.#push(index, dq, chain.head, usedLen);
        this.#t.sched.defer(
          "device:late-apply",
          () => this.#handlePages(role, chain, data, withBytes),
        );
        return true;
      }
      this.#handlePages(role, chain, data, withBytes);
    } else if (role === "miscq") {
      this.#handleReply(chain, data, withBytes);
      if (this.#dev("misc-hold-replies")) {
        this.#heldReplies.push({ index, head: chain.head });
        return false;
      }
    } else {
      this.counters.rejected++;
      this.#trace({
        ...withBytes,
        what: "rejected",
        error: `queue ${index} is not a balloon queue`,
      });
      usedLen = 0;
    }
    if (this.#holdUsed.has(role as QueueName)) {
      this.#deferredUsed.push({ index, head: chain.head, len: usedLen });
      return false;
    }
    this.#push(index, dq, chain.head, usedLen);
    return true;
  }

  #malformed(base: Omit<DeviceTraceEvent, "what">, queue: QueueName, e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    const rule = e instanceof ProtocolError ? e.rule : undefined;
    this.counters.rejected++;
    this.#trace({
      ...base,
      what: "rejected",
      error: message,
      ...(rule === undefined ? {} : { rule }),
    });
    this.observations.push({ rule: rule ?? "S-03", message, queue });
    if (this.#onMalformed === "needs-reset") this.#t.setNeedsReset(message);
  }

  /** Decodes the pages of an inflate/deflate request, honouring the deviations. */
  #decodePages(
    queue: "inflateq" | "deflateq",
    data: Uint8Array,
  ): { pages: PageSet; header?: BitmapHeader; partial?: PageSet } {
    const bitmap = this.profile === "v3" && this.#has("PAGE_BITMAP");
    const guestPfns = this.#dev("no-range-check") ? undefined : this.guestPages;
    if (!bitmap) {
      let bytes = data;
      if (this.#dev("pfn-trailing-bytes")) {
        bytes = data.subarray(0, data.length - (data.length % 4));
      }
      return {
        pages: PageSet.of(
          decodePfnArray(bytes, {
            order: this.#order,
            ...(guestPfns === undefined ? {} : { guestPfns }),
          }),
        ),
      };
    }
    let stream = data;
    if (this.#dev("bit-order-msb-first")) {
      stream = data.slice();
      for (let i = 32; i < stream.length; i++) stream[i] = reverseBits(stream[i] as number);
    }
    const lenField = fieldOf("balloon_bmap_hdr", "bmap_len");
    const startField = fieldOf("balloon_bmap_hdr", "start_pfn");
    const view = new DataView(stream.buffer, stream.byteOffset, stream.length);
    if (
      stream.length >= 32 &&
      (this.#dev("bmap-len-as-bits") || this.#dev("trust-bmap-len") ||
        this.#dev("start-pfn-off-by-one"))
    ) {
      stream = stream.slice();
      const v = new DataView(stream.buffer);
      const le = this.#order !== "legacy-be";
      let len = view.getBigUint64(lenField.offset, le);
      if (this.#dev("bmap-len-as-bits")) len = (len + 7n) / 8n;
      if (this.#dev("trust-bmap-len")) {
        const have = BigInt(stream.length - 32);
        if (len > have) len = have - (have % 8n);
      }
      v.setBigUint64(lenField.offset, len, le);
      if (this.#dev("start-pfn-off-by-one")) {
        v.setBigUint64(startField.offset, view.getBigUint64(startField.offset, le) + 64n, le);
      }
    }
    if (this.#dev("ignore-page-shift") && stream.length >= 32) {
      // read page_shift as if it were always the balloon PFN shift
      stream = stream.slice();
      const ps = fieldOf("balloon_bmap_hdr", "page_shift");
      new DataView(stream.buffer).setUint16(
        ps.offset,
        VIRTIO_BALLOON_PFN_SHIFT,
        this.#order !== "legacy-be",
      );
    }
    const r = decodeBitmapRequest(stream, {
      order: this.#order,
      context: queue === "inflateq" ? "inflate" : "deflate",
      ...(guestPfns === undefined ? {} : { guestPfns }),
    });
    let pages = r.pages;
    if (this.#dev("start-pfn-off-by-one")) {
      // the deviation reads bit 0 as start_pfn + 1 (undo the +64 used to pass the alignment check)
      const shifted = new PageSet();
      for (const p of pages) shifted.add(p - 63);
      pages = shifted;
    }
    return { pages, header: r.header };
  }

  #handlePages(
    queue: "inflateq" | "deflateq",
    chain: Chain,
    data: Uint8Array,
    base: Omit<DeviceTraceEvent, "what">,
  ): void {
    if (chain.writable.length > 0 && !this.#dev("ignore-writable-descriptors")) {
      this.#malformed(
        base,
        queue,
        new RangeError(
          `Cannot decode ${queue} request: ${chain.writable.length} device-writable descriptors, expected only device-readable ones (rule G31b)`,
        ),
      );
      return;
    }
    let decoded: { pages: PageSet; header?: BitmapHeader };
    try {
      decoded = this.#decodePages(queue, data);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      if (this.#dev("partial-apply")) {
        // apply whatever whole PFNs or bits came before the error
        const partial = this.#partialPages(data);
        if (partial.size > 0) this.#apply(queue, partial);
      }
      this.#malformed(base, queue, e);
      return;
    }
    const { pages } = decoded;
    this.counters.descriptors += chain.readable.length;
    this.counters.bytes += data.length;
    const inflate = queue === "inflateq";
    this.#trace({
      ...base,
      what: inflate ? "inflate" : "deflate",
      pages,
      ...(decoded.header === undefined ? {} : { header: decoded.header }),
    });
    this.#apply(queue, pages);
  }

  #partialPages(data: Uint8Array): PageSet {
    const out = new PageSet();
    const whole = data.length - (data.length % 4);
    if (!(this.profile === "v3" && this.#has("PAGE_BITMAP"))) {
      const view = new DataView(data.buffer, data.byteOffset, whole);
      const le = this.#order !== "legacy-be";
      for (let o = 0; o < whole; o += 4) {
        const p = view.getUint32(o, le);
        out.add(p);
      }
    }
    return out;
  }

  #apply(queue: "inflateq" | "deflateq", pages: PageSet): void {
    if (queue === "inflateq") {
      this.counters.inflateRequests++;
      const again = pages.intersectionSize(this.ballooned);
      if (again > 0) {
        this.observations.push({
          rule: "R-08",
          message: `inflate names ${again} pages already in the balloon`,
          queue,
        });
      }
      this.ballooned.unionWith(pages);
      for (const r of pages.runs()) {
        this.counters.discardCalls++;
        this.counters.discardedPages += r.length;
        if (r.start + r.length <= this.#t.mem.pages) this.#t.mem.discard(r.start, r.length);
      }
    } else {
      this.counters.deflateRequests++;
      const known = pages.intersectionSize(this.ballooned);
      if (known < pages.size) {
        this.observations.push({
          rule: "B13",
          message: `deflate names ${pages.size - known} pages that are not in the balloon`,
          queue,
        });
      }
      if (!this.#dev("deflate-keeps-pages")) this.ballooned.subtract(pages);
      this.counters.givenBackPages += known;
    }
  }

  #handleStats(
    index: number,
    dq: DeviceQueue,
    chain: Chain,
    base: Omit<DeviceTraceEvent, "what">,
  ): boolean {
    this.counters.statsBuffers++;
    let used = false;
    if (this.#statsChain !== undefined) {
      this.observations.push({
        rule: "B25",
        message:
          "a second stats buffer was made available while one was held; the old one is returned",
        queue: "statsq",
      });
      this.#push(this.#statsChain.index, dq, this.#statsChain.chain.head, 0);
      used = true;
    }
    const data = dq.read(chain);
    const withBytes = this.#keepBytes ? { ...base, bytes: data } : base;
    try {
      const entries = decodeStats(data, this.#order);
      const known = new Set(enumValues("stats_tag", this.profile).map((t) => t.value));
      if (this.#dev("stats-reject-unknown-tag") && entries.some((e) => !known.has(e.tag))) {
        throw new ProtocolError({
          code: "illegal-value",
          struct: "virtio_balloon_stat",
          field: "tag",
          offset: 0,
          value: "unknown",
          expected: "a known tag",
        });
      }
      if (
        this.#dev("stats-require-order") &&
        entries.some((e, i) => i > 0 && e.tag < (entries[i - 1]?.tag ?? 0))
      ) {
        throw new ProtocolError({
          code: "illegal-value",
          struct: "virtio_balloon_stat",
          field: "tag",
          offset: 0,
          value: "out of order",
          expected: "ascending tags",
        });
      }
      // B33: unknown tags are ignored
      this.#lastStats = entries.filter((e) => known.has(e.tag));
      this.#statsUpdates++;
      this.#trace({ ...withBytes, what: "stats", stats: entries });
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.#malformed(withBytes, "statsq", e);
    }
    this.#statsChain = { index, chain };
    return used;
  }

  #handleReply(chain: Chain, data: Uint8Array, base: Omit<DeviceTraceEvent, "what">): void {
    this.counters.replyChunks++;
    const round = this.rounds.find((r) => !r.done);
    try {
      const r = decodeBitmapRequest(data, {
        order: this.#order,
        context: "misc-reply",
        guestPfns: this.guestPages,
      });
      this.#trace({ ...base, what: "misc-reply", pages: r.pages, header: r.header });
      if (round === undefined) {
        this.observations.push({
          rule: "R-18",
          message: "a misc reply arrived with no request outstanding",
          queue: "miscq",
        });
        return;
      }
      if (r.header.req_id !== round.param) {
        this.observations.push({
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
      this.#malformed(base, "miscq", e);
    }
    void chain;
  }
}

/** Concatenates chain buffers (re-exported for harnesses). */
export { concatChain };
