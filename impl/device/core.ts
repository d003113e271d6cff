/**
 * The device's state — queue roles, held buffers, the host's view of the
 * balloon, counters and observations — and the primitives every part of the
 * device uses: using buffers, interrupts, the trace and malformed requests.
 *
 * @module
 */

import {
  type ByteOrder,
  type FeatureName,
  featureNames,
  hasFeature,
  PageSet,
  type ProfileId,
  ProtocolError,
  queueLayout,
  type QueueName,
  type StatEntry,
} from "../../spec/mod.ts";
import type { DeviceTraceEvent, Transport } from "../transport.ts";
import type { Chain, DeviceQueue } from "../virtqueue.ts";
import type { HintRound } from "./hints.ts";
import { applyPages } from "./pages.ts";
import type { DeviceBuffer, DeviceContext, DeviceSeams, PageQueue, RequestEvent } from "./seams.ts";

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
  /** free_page_vq buffers received. */
  hintBuffers: number;
  /** Pages hinted (accepted hints). */
  hintedPages: number;
  /** Reports received. */
  reports: number;
  /** Pages reported (in well-formed reports). */
  reportedPages: number;
}

/** A request or chain the device rejected. */
export interface DeviceRejection {
  /** Queue role. */
  readonly queue: string;
  /** Why. */
  readonly error: string;
  /** Rule the rejection names. */
  readonly rule?: string;
  /** Readable bytes of the chain. */
  readonly bytes: number;
}

/** The fixed settings of a device. */
export interface DeviceSettings {
  /** Profile. */
  readonly profile: ProfileId;
  /** Guest RAM in 4 KiB pages. */
  readonly guestPages: number;
  /** Largest size offered for every queue. */
  readonly queueSize: number;
  /** What to do with a malformed request. */
  readonly onMalformed: "reject" | "needs-reset";
  /** Keep each request's bytes in the trace. */
  readonly keepBytes: boolean;
}

/** The device's state and primitives (internal to the device's modules). */
export class DeviceCore implements DeviceContext {
  /** Profile. */
  readonly profile: ProfileId;
  /** Guest RAM in 4 KiB pages. */
  readonly guestPages: number;
  /** Largest size offered for every queue. */
  readonly queueSize: number;
  /** What to do with a malformed request. */
  readonly onMalformed: "reject" | "needs-reset";
  /** Keep each request's bytes in the trace. */
  readonly keepBytes: boolean;
  /** The decisions in effect. */
  readonly seams: DeviceSeams;
  /** Feature bits offered (set once, right after the seams). */
  deviceFeatures = 0n;
  /** Host view: the 4 KiB pages currently in the balloon. */
  readonly ballooned: PageSet = new PageSet();
  /** Host view: the `actual` the host took from the config space (S-12, B24). */
  hostActual = 0;
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
    hintBuffers: 0,
    hintedPages: 0,
    reports: 0,
    reportedPages: 0,
  };
  /** Behaviour of the driver the device noticed. */
  readonly observations: DeviceObservation[] = [];
  /** Unused-page rounds, oldest first. */
  readonly rounds: UnusedPageRound[] = [];
  /** Requests and chains rejected as malformed, oldest first. */
  readonly rejections: DeviceRejection[] = [];
  /** Queue roles by index, as the negotiated features give them. */
  readonly roles: Map<number, QueueName> = new Map();
  /** The stats buffer the device holds until the host asks for statistics. */
  statsChain: { index: number; chain: Chain } | undefined;
  /** The misc request buffer the device holds until the host issues a request. */
  requestChain: { index: number; chain: Chain } | undefined;
  /** The last statistics received. */
  lastStats: StatEntry[] | undefined;
  /** Stats buffers decoded. */
  statsUpdates = 0;
  /** The next param of an unused-page request. */
  paramCounter = 0x100n;
  /** Queues whose buffers the host holds back. */
  readonly holdUsed: Set<QueueName> = new Set();
  /** Buffers held back. */
  deferredUsed: { index: number; head: number; len: number }[] = [];
  /** Free page hinting: the last command id issued (0 before the first round). */
  lastCmdId = 0;
  /** Free page hinting: every round, oldest first. */
  readonly hintRounds: HintRound[] = [];
  /** Free page reporting: every page named by a well-formed report. */
  readonly reported: PageSet = new PageSet();
  #transport: Transport | undefined;

  /** Creates the state; `seams` builds the decisions from it (they may read it later). */
  constructor(settings: DeviceSettings, seams: (d: DeviceCore) => DeviceSeams) {
    this.profile = settings.profile;
    this.guestPages = settings.guestPages;
    this.queueSize = settings.queueSize;
    this.onMalformed = settings.onMalformed;
    this.keepBytes = settings.keepBytes;
    this.seams = seams(this);
  }

  /** The transport (throws before the device is attached). */
  get transport(): Transport {
    if (this.#transport === undefined) {
      throw new TypeError("Device is not attached to a transport");
    }
    return this.#transport;
  }

  /** Binds the device to its transport. */
  attach(transport: Transport): void {
    this.#transport = transport;
  }

  /** Byte order of `virtio*` fields. */
  get order(): ByteOrder {
    return this.transport.byteOrder;
  }

  /** Whether a feature is negotiated. */
  has(name: FeatureName): boolean {
    return hasFeature(this.profile, this.transport.negotiated, name);
  }

  /** Gives each queue index its role for the features. */
  assignRoles(features: bigint): void {
    this.roles.clear();
    const names = new Set(featureNames(this.profile, features));
    for (const q of queueLayout(this.profile, names, this.seams.queueIndexModel())) {
      this.roles.set(q.index, q.name);
    }
  }

  /** Puts a buffer in the used ring and records it (no interrupt). */
  push(index: number, dq: DeviceQueue, head: number, len: number): void {
    dq.push(head, len);
    this.transport.record({ kind: "used", index, head, len });
  }

  /** Raises the used-buffer interrupt unless the driver suppressed it. */
  notifyUsed(index: number, dq: DeviceQueue): void {
    if (this.seams.notifies(dq)) {
      this.counters.interrupts++;
      this.transport.raiseUsed(index);
    }
  }

  /** Uses a buffer and raises the interrupt. */
  use(index: number, head: number, len: number): void {
    const dq = this.transport.deviceQueue(index);
    if (dq === undefined) return;
    this.push(index, dq, head, len);
    this.notifyUsed(index, dq);
  }

  /** Uses a buffer now (no interrupt), whatever the host holds back. */
  pushUsed(buffer: DeviceBuffer): void {
    const dq = this.transport.deviceQueue(buffer.index);
    if (dq !== undefined) this.push(buffer.index, dq, buffer.head, buffer.len);
  }

  /** Uses a buffer now (no interrupt) unless the host holds its queue back; true when used now. */
  useBuffer(buffer: DeviceBuffer): boolean {
    if (this.holdUsed.has(buffer.queue as QueueName)) {
      this.deferredUsed.push({ index: buffer.index, head: buffer.head, len: buffer.len });
      return false;
    }
    this.pushUsed(buffer);
    return true;
  }

  /** Applies well-formed pages to the host's balloon. */
  applyPages(queue: PageQueue, pages: PageSet): void {
    applyPages(this, queue, pages);
  }

  /** Runs `fn` later, in a device task of its own. */
  later(name: string, fn: () => void): void {
    this.transport.sched.defer(name, fn);
  }

  /** Sends a queue's used-buffer notification, unless the driver suppressed it. */
  notifyQueue(index: number): void {
    const dq = this.transport.deviceQueue(index);
    if (dq !== undefined) this.notifyUsed(index, dq);
  }

  /** Records a chain event (and a rejection, for rejected requests and bad chains). */
  trace(e: DeviceTraceEvent): void {
    if (e.what === "rejected" || e.what === "bad-chain") {
      this.rejections.push({
        queue: e.queue,
        error: e.error ?? "",
        ...(e.rule === undefined ? {} : { rule: e.rule }),
        bytes: e.readable.reduce((a, b) => a + b, 0),
      });
    }
    this.transport.record(e);
  }

  /** Records a malformed request: trace, observation, and DEVICE_NEEDS_RESET if so configured. */
  malformed(event: RequestEvent, queue: QueueName, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const rule = error instanceof ProtocolError ? error.rule : undefined;
    this.counters.rejected++;
    this.trace({
      ...event,
      what: "rejected",
      error: message,
      ...(rule === undefined ? {} : { rule }),
    });
    this.observations.push({ rule: rule ?? "S-03", message, queue });
    if (this.onMalformed === "needs-reset") this.transport.setNeedsReset(message);
  }
}
