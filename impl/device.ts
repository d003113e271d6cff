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
 * @module
 */

import {
  type ByteOrder,
  concatChain,
  decodeBitmapRequest,
  decodePfnArray,
  decodeStats,
  encodeStruct,
  enumValue,
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
  writeScalar,
} from "../spec/mod.ts";
import type { DeviceModel, Transport } from "./transport.ts";
import { type Chain, type DeviceQueue, VirtqueueError } from "./virtqueue.ts";

/** Options of {@link BalloonDevice}. */
export interface DeviceOptions {
  /** Profile (default `v3`). */
  readonly profile?: ProfileId;
  /** Guest RAM in 4 KiB pages (range checks, S-02). */
  readonly guestPages: number;
  /** Features to offer (default: every feature the reference device implements for the profile). */
  readonly offer?: readonly FeatureName[];
  /** Largest queue size offered for every queue (default 256). */
  readonly queueSize?: number;
  /** What to do with a malformed request (default `reject`, S-03). */
  readonly onMalformed?: "reject" | "needs-reset";
  /** Keep each request's bytes in the event log (for evidence; costs memory). */
  readonly keepBytes?: boolean;
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

/** One processed request. */
export interface DeviceEvent {
  /** Sequence number. */
  readonly seq: number;
  /** Virtual time. */
  readonly time: number;
  /** Queue. */
  readonly queue: QueueName | "unknown";
  /** What happened. */
  readonly kind: "inflate" | "deflate" | "stats" | "misc-request" | "misc-reply" | "rejected";
  /** Descriptors in the chain. */
  readonly descriptors: number;
  /** Readable bytes in the chain. */
  readonly bytes: number;
  /** Pages named (inflate, deflate, misc reply). */
  readonly pages?: number;
  /** The chain's readable bytes, when `keepBytes` is on. */
  readonly data?: Uint8Array;
  /** The error, for rejected requests. */
  readonly error?: string;
  /** Rule the error names. */
  readonly rule?: string;
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
  ],
  "virtio-1.x": [
    "MUST_TELL_HOST",
    "STATS_VQ",
    "DEFLATE_ON_OOM",
    "VERSION_1",
    "EVENT_IDX",
    "INDIRECT_DESC",
  ],
};

const NUM_PAGES = fieldOf("virtio_balloon_config", "num_pages");
const ACTUAL = fieldOf("virtio_balloon_config", "actual");
const REQ_SIZE = structSize("balloon_req_hdr");
const FLAG_DONE = enumValue("balloon_flag", "BALLOON_FLAG_DONE");
const GET_UNUSED_PAGES = enumValue("balloon_req_cmd", "BALLOON_GET_UNUSED_PAGES");

/**
 * The balloon device.
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
  /** Every processed request. */
  readonly events: DeviceEvent[] = [];
  /** Unused-page rounds, oldest first. */
  readonly rounds: UnusedPageRound[] = [];
  #transport: Transport | undefined;
  #queueSize: number;
  #onMalformed: "reject" | "needs-reset";
  #keepBytes: boolean;
  #roles = new Map<number, QueueName>();
  #statsChain: { index: number; chain: Chain } | undefined;
  #requestChain: { index: number; chain: Chain } | undefined;
  #lastStats: StatEntry[] | undefined;
  #statsUpdates = 0;
  #seq = 0;
  #paramCounter = 0x100n;

  /** Creates a device; attach it with `new Transport(mem, sched, device)`. */
  constructor(options: DeviceOptions) {
    this.profile = options.profile ?? "v3";
    this.guestPages = options.guestPages;
    this.deviceFeatures = featureMask(this.profile, options.offer ?? IMPLEMENTED[this.profile]);
    this.configSize = structSize("virtio_balloon_config", this.profile);
    this.#queueSize = options.queueSize ?? 256;
    this.#onMalformed = options.onMalformed ?? "reject";
    this.#keepBytes = options.keepBytes ?? false;
  }

  /** Features the reference device implements for a profile. */
  static implemented(profile: ProfileId): readonly FeatureName[] {
    return IMPLEMENTED[profile];
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
  }

  /** Available-buffer notification: process every available chain of the queue. */
  notify(index: number): void {
    this.counters.notifications++;
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
        this.#reject(role, 0, 0, e.message, e.rule);
        if (this.#onMalformed === "needs-reset") {
          this.#t.setNeedsReset(e.message);
          return;
        }
        // still use the buffer so the driver is not left waiting (S-03)
        if (e.head !== undefined) {
          dq.push(e.head, 0);
          pushed = true;
        }
        if (dq.lastAvailIdx === before || dq.pending === 0) break; // stuck: wait for a reset
        continue;
      }
      if (chain === undefined) break;
      if (this.#handle(index, role, dq, chain)) pushed = true;
    }
    if (pushed && dq.needsNotify()) {
      this.counters.interrupts++;
      this.#t.raiseUsed(index);
    }
  }

  // ---- host controls -----------------------------------------------------------------

  /** Target balloon size in 4 KiB pages (`num_pages`). */
  get target(): number {
    return Number(
      readScalar(new DataView(this.#t.config.buffer), NUM_PAGES.offset, NUM_PAGES.type, "v1"),
    );
  }

  /** The driver's last `actual`. */
  get actual(): number {
    return Number(
      readScalar(new DataView(this.#t.config.buffer), ACTUAL.offset, ACTUAL.type, "v1"),
    );
  }

  /** Sets the target and sends a config-change notification. */
  setTarget(pages: number): void {
    writeScalar(new DataView(this.#t.config.buffer), NUM_PAGES.offset, NUM_PAGES.type, "v1", pages);
    this.#t.configChanged();
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
    const param = options.param ?? this.#paramCounter++;
    const mem = this.#t.mem;
    mem.startDirtyLog();
    const bytes = encodeStruct("balloon_req_hdr", {
      cmd: options.cmd ?? GET_UNUSED_PAGES,
      reserved: [0, 0, 0],
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
    this.#event({ queue: "miscq", kind: "misc-request", descriptors: 1, bytes: REQ_SIZE });
    this.#use(held.index, held.chain.head, options.usedLength ?? REQ_SIZE);
    return round;
  }

  /** The most recent round of unused-page hints. */
  get lastRound(): UnusedPageRound | undefined {
    return this.rounds[this.rounds.length - 1];
  }

  // ---- processing -------------------------------------------------------------------

  #event(e: Omit<DeviceEvent, "seq" | "time">): void {
    this.events.push({ ...e, seq: this.#seq++, time: this.#t.sched.now });
  }

  #reject(
    queue: QueueName | "unknown",
    descriptors: number,
    bytes: number,
    error: string,
    rule: string | undefined,
  ): void {
    this.counters.rejected++;
    this.#event({
      queue,
      kind: "rejected",
      descriptors,
      bytes,
      error,
      ...(rule === undefined ? {} : { rule }),
    });
  }

  #use(index: number, head: number, len: number): void {
    const dq = this.#t.deviceQueue(index);
    if (dq === undefined) return;
    dq.push(head, len);
    if (dq.needsNotify()) {
      this.counters.interrupts++;
      this.#t.raiseUsed(index);
    }
  }

  /** Handles one chain; returns whether it was used now. */
  #handle(index: number, role: QueueName | "unknown", dq: DeviceQueue, chain: Chain): boolean {
    if (role === "statsq") return this.#handleStats(index, dq, chain);
    if (role === "miscq" && chain.readable.length === 0) {
      if (this.#requestChain !== undefined) {
        this.observations.push({
          rule: "R-04",
          message: "a second misc request buffer was made available while one was held",
          queue: "miscq",
        });
        dq.push(this.#requestChain.chain.head, 0);
      }
      this.#requestChain = { index, chain };
      return false;
    }
    const data = dq.read(chain);
    if (role === "inflateq" || role === "deflateq") this.#handlePages(role, chain, data);
    else if (role === "miscq") this.#handleReply(chain, data);
    else {this.#reject(
        role,
        chain.descriptors,
        data.length,
        `queue ${index} is not a balloon queue`,
        undefined,
      );}
    dq.push(chain.head, 0);
    return true;
  }

  #malformed(queue: QueueName, chain: Chain, data: Uint8Array, e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    const rule = e instanceof ProtocolError ? e.rule : undefined;
    this.#reject(queue, chain.descriptors, data.length, message, rule);
    if (this.#keepBytes) {
      const last = this.events[this.events.length - 1];
      if (last !== undefined) this.events[this.events.length - 1] = { ...last, data };
    }
    if (this.#onMalformed === "needs-reset") this.#t.setNeedsReset(message);
  }

  #handlePages(queue: "inflateq" | "deflateq", chain: Chain, data: Uint8Array): void {
    if (chain.writable.length > 0) {
      this.#malformed(
        queue,
        chain,
        data,
        new RangeError(
          `Cannot decode ${queue} request: ${chain.writable.length} device-writable descriptors, expected only device-readable ones (rule G31b)`,
        ),
      );
      return;
    }
    let pages: PageSet;
    try {
      if (this.profile === "v3" && this.#has("PAGE_BITMAP")) {
        pages = decodeBitmapRequest(data, {
          order: this.#order,
          context: queue === "inflateq" ? "inflate" : "deflate",
          guestPfns: this.guestPages,
        }).pages;
      } else {
        pages = PageSet.of(
          decodePfnArray(data, { order: this.#order, guestPfns: this.guestPages }),
        );
      }
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.#malformed(queue, chain, data, e);
      return;
    }
    this.counters.descriptors += chain.descriptors;
    this.counters.bytes += data.length;
    const inflate = queue === "inflateq";
    this.#event({
      queue,
      kind: inflate ? "inflate" : "deflate",
      descriptors: chain.descriptors,
      bytes: data.length,
      pages: pages.size,
      ...(this.#keepBytes ? { data } : {}),
    });
    if (inflate) {
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
        this.#t.mem.discard(r.start, r.length);
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
      this.ballooned.subtract(pages);
      this.counters.givenBackPages += known;
    }
  }

  #handleStats(index: number, dq: DeviceQueue, chain: Chain): boolean {
    this.counters.statsBuffers++;
    let used = false;
    if (this.#statsChain !== undefined) {
      this.observations.push({
        rule: "B25",
        message:
          "a second stats buffer was made available while one was held; the old one is returned",
        queue: "statsq",
      });
      dq.push(this.#statsChain.chain.head, 0);
      used = true;
    }
    const data = dq.read(chain);
    try {
      this.#lastStats = decodeStats(data, this.#order);
      this.#statsUpdates++;
      this.#event({
        queue: "statsq",
        kind: "stats",
        descriptors: chain.descriptors,
        bytes: data.length,
      });
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.#malformed("statsq", chain, data, e);
    }
    this.#statsChain = { index, chain };
    return used;
  }

  #handleReply(chain: Chain, data: Uint8Array): void {
    this.counters.replyChunks++;
    const round = this.rounds.find((r) => !r.done);
    try {
      const r = decodeBitmapRequest(data, {
        order: this.#order,
        context: "misc-reply",
        guestPfns: this.guestPages,
      });
      this.#event({
        queue: "miscq",
        kind: "misc-reply",
        descriptors: chain.descriptors,
        bytes: data.length,
        pages: r.pages.size,
        ...(this.#keepBytes ? { data } : {}),
      });
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
      this.#malformed("miscq", chain, data, e);
    }
  }
}

/** Concatenates chain buffers (re-exported for harnesses). */
export { concatChain };
