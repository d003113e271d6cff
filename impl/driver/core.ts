/**
 * The driver's state — the seed's `struct virtio_balloon` — and the
 * primitives every part of the driver uses: writes to guest memory,
 * notifications, balloon_lock, feature tests and the config write of
 * `actual`. The parts of the driver are functions of this state
 * (`probe.ts`, `balloon.ts`, …), as the seed's are functions of `vb`.
 *
 * @module
 */

import {
  type ByteOrder,
  type FeatureName,
  fieldOf,
  hasFeature,
  PageSet,
  type ProfileId,
  type QueueName,
  VIRTIO_BALLOON_PFN_SHIFT,
  writeScalar,
} from "../../spec/mod.ts";
import type { GuestEnv } from "../guest.ts";
import { type TaskBody, WaitQueue } from "../scheduler.ts";
import type { Transport } from "../transport.ts";
import type { Segment } from "../virtqueue.ts";
import { sendPages, tellHost } from "./requests.ts";
import type {
  BitmapQueue,
  DriverContext,
  DriverQueueUse,
  DriverSeams,
  GuestAbi,
  PageBlock,
  PagePass,
} from "./seams.ts";

const CONFIG_ACTUAL = fieldOf("virtio_balloon_config", "actual");

/** What the driver has done, for tests and reports. */
export interface DriverCounters {
  /** Inflate requests sent. */
  inflateRequests: number;
  /** Deflate requests sent. */
  deflateRequests: number;
  /** Misc reply chunks sent. */
  replyChunks: number;
  /** Stats buffers sent. */
  statsBuffers: number;
  /** Misc requests ignored (bad length or command). */
  ignoredRequests: number;
  /** Allocation failures during inflate ("Out of puff!"). */
  outOfPuff: number;
}

/** The driver's works (kernel work items): one task each at a time, re-run if queued while running. */
export type WorkKind = "update" | "stats" | "misc" | "hint" | "report";

/** The fixed settings of a driver. */
export interface DriverSettings {
  /** The guest. */
  readonly guest: GuestEnv;
  /** The transport to the device. */
  readonly transport: Transport;
  /** Profile. */
  readonly profile: ProfileId;
  /** Guest ABI. */
  readonly abi: GuestAbi;
  /** 4 KiB pages to deflate per OOM notification. */
  readonly oomPages: number;
  /** Features the driver is willing to accept. */
  readonly accept: readonly FeatureName[];
  /** Fault injection: the probe-time bitmap allocation fails. */
  readonly failBitmapAllocation: boolean;
  /** Most bitmaps extend_page_bitmap gets. */
  readonly bitmapLimit: number;
}

/** The driver's state and primitives (internal to the driver's modules). */
export class DriverCore implements DriverContext {
  /** The guest. */
  readonly guest: GuestEnv;
  /** The transport to the device. */
  readonly transport: Transport;
  /** Profile. */
  readonly profile: ProfileId;
  /** Guest ABI. */
  readonly abi: GuestAbi;
  /** 4 KiB pages to deflate per OOM notification. */
  readonly oomPages: number;
  /** Features the driver is willing to accept. */
  readonly accept: readonly FeatureName[];
  /** Fault injection: the probe-time bitmap allocation fails. */
  readonly failBitmapAllocation: boolean;
  /** Most bitmaps extend_page_bitmap gets. */
  readonly bitmapLimit: number;
  /** The decisions in effect. */
  readonly seams: DriverSeams;
  /** What the driver has done. */
  readonly counters: DriverCounters = {
    inflateRequests: 0,
    deflateRequests: 0,
    replyChunks: 0,
    statsBuffers: 0,
    ignoredRequests: 0,
    outOfPuff: 0,
  };
  /** Features FEATURES_OK accepted. */
  negotiated = 0n;
  /** Features the driver uses. */
  features = 0n;
  /** 4 KiB pages in the balloon (`vb->num_pages`). */
  numPages = 0;
  /** The 4 KiB PFNs in the balloon. */
  readonly balloon: PageSet = new PageSet();
  /** Queues by index. */
  readonly queues: Map<number, DriverQueueUse> = new Map();
  /** Queue index of each role. */
  readonly roles: Map<QueueName, number> = new Map();
  /** Addresses of the bitmaps (`page_bitmap[]`). */
  readonly bitmaps: number[] = [];
  /** Address of the scratch pages. */
  scratch = 0;
  /** The blocks the rings live in. */
  ringBlocks: { pfn: number; order: number }[] = [];
  /** Set by remove and freeze: no more balloon updates. */
  stopUpdate = false;
  /** Unregisters the OOM notifier. */
  unregisterOom: (() => void) | undefined;
  /** Unregisters the standard profile's hooks (the hint shrinker, the free-memory listener of reporting). */
  unregisterStandard: (() => void)[] = [];
  /** Whether probe finished and DRIVER_OK is set. */
  ready = false;
  /** State of each work. */
  readonly works: Map<WorkKind, "queued" | "running" | "rerun"> = new Map();
  /** Free page hinting: the command id the device last announced (read on a config change). */
  cmdIdReceived = 0;
  /** Free page hinting: the id of the round started last (STOP, 0, before the first). */
  hintActive = 0;
  /** Free page hinting: the blocks hinted and not given back yet. */
  readonly hintBlocks: PageBlock[] = [];
  /** Free page reporting: the pages reported that were still free at the last pass. */
  reported: PageSet = new PageSet();
  #lockHeld = false;
  #nextTicket = 0;
  #serving = 0;
  #lockQ = new WaitQueue("balloon_lock");

  /** Creates the state; `seams` builds the decisions from it (they may read it later). */
  constructor(settings: DriverSettings, seams: (vb: DriverCore) => DriverSeams) {
    this.guest = settings.guest;
    this.transport = settings.transport;
    this.profile = settings.profile;
    this.abi = settings.abi;
    this.oomPages = settings.oomPages;
    this.accept = settings.accept;
    this.failBitmapAllocation = settings.failBitmapAllocation;
    this.bitmapLimit = settings.bitmapLimit;
    this.seams = seams(this);
  }

  /** Whether a feature is in use. */
  has(name: FeatureName): boolean {
    return hasFeature(this.profile, this.features, name);
  }

  /** 4 KiB pages per guest page. */
  get pagesPerPage(): number {
    return 1 << (this.abi.pageShift - VIRTIO_BALLOON_PFN_SHIFT);
  }

  /** Byte order of `virtio*` fields. */
  get order(): ByteOrder {
    return this.transport.byteOrder;
  }

  /** The queue set up for a role. */
  queueOf(name: QueueName): DriverQueueUse | undefined {
    return this.queues.get(this.roles.get(name) ?? -1);
  }

  /** Writes driver buffers into guest memory. */
  write(addr: number, bytes: Uint8Array): void {
    this.guest.mem.write(addr, bytes, "driver");
  }

  /** virtqueue_kick: notifies the device unless it suppressed notifications. */
  kick(index: number): void {
    const q = this.queues.get(index);
    if (q !== undefined && this.seams.notifies(q, q.vq.kickPrepare())) this.transport.notify(index);
  }

  /** balloon_lock, a fair (ticket) mutex: waiters get it in arrival order. */
  *lock(): TaskBody<void> {
    const ticket = this.#nextTicket++;
    while (this.#lockHeld || this.#serving !== ticket) yield { on: this.#lockQ };
    this.#lockHeld = true;
  }

  /** Releases balloon_lock. */
  unlock(): void {
    this.#lockHeld = false;
    this.#serving++;
    this.#lockQ.wakeAll();
  }

  /** update_balloon_size: writes `actual` (one access unless a seam splits it). */
  updateActual(value: number = this.numPages): void {
    const b = new Uint8Array(4);
    writeScalar(new DataView(b.buffer), 0, CONFIG_ACTUAL.type, "v1", this.seams.actualValue(value));
    let offset = CONFIG_ACTUAL.offset;
    for (const part of this.seams.actualAccesses(b)) {
      this.transport.writeConfig(offset, part);
      offset += part.length;
    }
  }

  /** Adds a chain to a queue, notifies and waits for its use (tell_host). */
  tellHost(queue: BitmapQueue, chain: Segment[]): TaskBody<void> {
    return tellHost(this, queue, { chain });
  }

  /** Tells the host about the pages of a pass: bitmap requests or a PFN array. */
  sendPages(queue: "inflateq" | "deflateq", pass: PagePass): TaskBody<void> {
    return sendPages(this, queue, pass);
  }
}
