/**
 * The reference balloon driver (profile v3, intended semantics; the standard
 * profile's base bits 0–2 too). With quirks it reproduces the seed's code as
 * posted, one defect at a time (see `quirks.ts`).
 *
 * Everything blocking is a generator task on the guest's scheduler: a request
 * is added, the device notified, and the task waits on a wait queue that the
 * used-buffer interrupt wakes — as the seed's `tell_host` does with
 * `wait_event`.
 *
 * @module
 */

import {
  asPostedBitmapLayout,
  BALLOON_BMAP_ALIGN_BITS,
  BALLOON_BMAP_COUNT,
  BALLOON_BMAP_SIZE,
  type BitmapHeader,
  type BitmapLayout,
  type ByteOrder,
  decodeStruct,
  encodeBitmap,
  encodeBitmapHeader,
  encodePfnArray,
  encodeStats,
  enumValue,
  enumValues,
  featureMask,
  type FeatureName,
  featureNames,
  featuresOf,
  fieldOf,
  hasFeature,
  INTENDED_BITMAP_LAYOUT,
  OOM_VBALLOON_DEFAULT_PAGES,
  PageSet,
  type ProfileId,
  queueLayout,
  type QueueName,
  readScalar,
  seedAsPostedQueueCount,
  type StatEntry,
  structSize,
  VIRTBALLOON_OOM_NOTIFY_PRIORITY,
  VIRTIO_BALLOON_ARRAY_PFNS_MAX,
  VIRTIO_BALLOON_PFN_SHIFT,
  writeScalar,
} from "../spec/mod.ts";
import { chunkLengths, type PlannedWindow, planReply, planWindows } from "./bitmap_plan.ts";
import type { GuestEnv } from "./guest.ts";
import { GuestMemory } from "./memory.ts";
import type { DriverDeviation } from "./deviations.ts";
import type { QuirkId } from "./quirks.ts";
import { type TaskBody, WaitQueue } from "./scheduler.ts";
import { STATUS, type Transport } from "./transport.ts";
import { DriverQueue, ringBytes, ringLayout, type Segment } from "./virtqueue.ts";
import { scanUnusedPages } from "./unused_scan.ts";

/** The guest's ABI, which matters only where the seed's code depends on it. */
export interface GuestAbi {
  /** BITS_PER_LONG. */
  readonly bitsPerLong: 32 | 64;
  /** log2 of the guest page size: 12 (4 KiB) or 16 (64 KiB). */
  readonly pageShift: 12 | 16;
}

/** Options of {@link BalloonDriver}. */
export interface DriverOptions {
  /** Profile (default `v3`). */
  readonly profile?: ProfileId;
  /** Seed defects to reproduce. */
  readonly quirks?: Iterable<QuirkId>;
  /** Guest ABI (default 64-bit, 4 KiB pages). The byte order comes from the transport. */
  readonly abi?: Partial<GuestAbi>;
  /** 4 KiB pages to deflate per OOM notification (default OOM_VBALLOON_DEFAULT_PAGES). */
  readonly oomPages?: number;
  /** Features the driver is willing to accept (default: every feature it implements). */
  readonly accept?: readonly FeatureName[];
  /** Fault injection: the probe-time bitmap allocation fails. */
  readonly failBitmapAllocation?: boolean;
  /** Fault injection: extend_page_bitmap gets at most this many bitmaps (1…32). */
  readonly bitmapLimit?: number;
  /** Deliberate mistakes (the conformance suite's mutants). */
  readonly deviations?: Iterable<DriverDeviation>;
}

type Token = "request" | "misc-request" | "stats" | "reply";

interface QueueUse {
  readonly name: QueueName | "unused";
  readonly vq: DriverQueue<Token>;
  readonly acked: WaitQueue;
}

/** Balloon features each profile's reference driver implements. */
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
  ],
};

const CONFIG_NUM_PAGES = fieldOf("virtio_balloon_config", "num_pages");
const CONFIG_ACTUAL = fieldOf("virtio_balloon_config", "actual");
const HDR_SIZE = structSize("balloon_bmap_hdr");
const REQ_SIZE = structSize("balloon_req_hdr");
const STAT_SIZE = structSize("virtio_balloon_stat");
const DESC_SIZE = structSize("virtq_desc");
const FLAG_CONT = enumValue("balloon_flag", "BALLOON_FLAG_CONT");
const FLAG_DONE = enumValue("balloon_flag", "BALLOON_FLAG_DONE");
const GET_UNUSED_PAGES = enumValue("balloon_req_cmd", "BALLOON_GET_UNUSED_PAGES");
const PAGE = 1 << VIRTIO_BALLOON_PFN_SHIFT;

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

/**
 * The balloon driver.
 *
 * @example
 * ```ts
 * import { BalloonDevice, BalloonDriver, GuestEnv, Transport } from "./mod.ts";
 * import { Scheduler } from "./scheduler.ts";
 * import assert from "node:assert/strict";
 * const guest = new GuestEnv({ pages: 262_144 });
 * const device = new BalloonDevice({ profile: "v3", guestPages: 262_144 });
 * const transport = new Transport(guest.mem, guest.sched, device);
 * const driver = new BalloonDriver(guest, transport);
 * guest.sched.spawn("probe", driver.probe());
 * guest.sched.run();
 * device.setTarget(1000);
 * guest.sched.run();
 * assert.equal(device.ballooned.size, 1000);
 * assert.equal(device.actual, 1000);
 * ```
 */
export class BalloonDriver {
  /** The guest. */
  readonly guest: GuestEnv;
  /** The transport to the device. */
  readonly transport: Transport;
  /** Profile. */
  readonly profile: ProfileId;
  /** Quirks in effect. */
  readonly quirks: ReadonlySet<QuirkId>;
  /** Guest ABI. */
  readonly abi: GuestAbi;
  /** Deliberate mistakes in effect. */
  readonly deviations: ReadonlySet<DriverDeviation>;
  /** What the driver has done. */
  readonly counters: DriverCounters = {
    inflateRequests: 0,
    deflateRequests: 0,
    replyChunks: 0,
    statsBuffers: 0,
    ignoredRequests: 0,
    outOfPuff: 0,
  };
  #oomPages: number;
  #accept: readonly FeatureName[];
  #failBitmapAllocation: boolean;
  #bitmapLimit: number;
  #statsRound = 0;
  #negotiated = 0n;
  #features = 0n;
  #numPages = 0;
  #balloon = new PageSet();
  #queues = new Map<number, QueueUse>();
  #roles = new Map<QueueName, number>();
  #bitmaps: number[] = [];
  #scratch = 0;
  #ringBlocks: { pfn: number; order: number }[] = [];
  #stopUpdate = false;
  #unregisterOom: (() => void) | undefined;
  #lockHeld = false;
  #nextTicket = 0;
  #serving = 0;
  #lockQ = new WaitQueue("balloon_lock");
  #works = new Map<string, "queued" | "running" | "rerun">();
  #sharedHeader: BitmapHeader | undefined;
  #lastBitmap: { segments: Segment[] } | undefined;
  #ready = false;

  /** Creates a driver bound to a guest and a transport; call {@link probe} to start it. */
  constructor(guest: GuestEnv, transport: Transport, options: DriverOptions = {}) {
    this.guest = guest;
    this.transport = transport;
    this.profile = options.profile ?? "v3";
    this.quirks = new Set(options.quirks ?? []);
    this.abi = {
      bitsPerLong: options.abi?.bitsPerLong ?? 64,
      pageShift: options.abi?.pageShift ?? 12,
    };
    this.#oomPages = options.oomPages ?? OOM_VBALLOON_DEFAULT_PAGES;
    this.#accept = options.accept ?? IMPLEMENTED[this.profile];
    this.#failBitmapAllocation = options.failBitmapAllocation ?? false;
    this.#bitmapLimit = Math.min(BALLOON_BMAP_COUNT, options.bitmapLimit ?? BALLOON_BMAP_COUNT);
    this.deviations = new Set(options.deviations ?? []);
  }

  #dev(d: DriverDeviation): boolean {
    return this.deviations.has(d);
  }

  // ---- observable state ----------------------------------------------------

  /** 4 KiB pages in the balloon (`vb->num_pages`). */
  get numPages(): number {
    return this.#numPages;
  }

  /** The 4 KiB PFNs in the balloon (a copy). */
  get balloon(): PageSet {
    return this.#balloon.clone();
  }

  /** Features negotiated with the device (what FEATURES_OK accepted). */
  get negotiated(): bigint {
    return this.#negotiated;
  }

  /** Features the driver actually uses (differs from negotiated only with quirk D-10). */
  get features(): bigint {
    return this.#features;
  }

  /** Bitmaps the driver holds (`nr_page_bmap`). */
  get nrBitmaps(): number {
    return this.#bitmaps.length;
  }

  /** Queue index of each role in use. */
  get queueRoles(): ReadonlyMap<QueueName, number> {
    return this.#roles;
  }

  /** Whether probe finished and DRIVER_OK is set. */
  get ready(): boolean {
    return this.#ready;
  }

  #has(name: FeatureName): boolean {
    return hasFeature(this.profile, this.#features, name);
  }

  get #pagesPerPage(): number {
    return 1 << (this.abi.pageShift - VIRTIO_BALLOON_PFN_SHIFT);
  }

  get #order(): ByteOrder {
    return this.transport.byteOrder;
  }

  get #useBitmap(): boolean {
    if (this.profile !== "v3") return false;
    if (this.#dev("bitmap-unnegotiated")) return true;
    return this.#has("PAGE_BITMAP") && !this.#dev("ignore-page-bitmap");
  }

  // ---- probe -----------------------------------------------------------------

  /** Probes the device: negotiate, set up queues, prime statsq/miscq, DRIVER_OK (a task). */
  *probe(): TaskBody<boolean> {
    const t = this.transport;
    t.writeStatus(0);
    yield { yield: true }; // let a reset settle before the status sequence
    t.writeStatus(STATUS.ACKNOWLEDGE);
    t.writeStatus(STATUS.ACKNOWLEDGE | STATUS.DRIVER);
    const offered = t.readDeviceFeatures();
    const acceptMask = featureMask(this.profile, this.#accept);
    let want = offered & acceptMask;
    const has = (m: bigint, n: FeatureName) => hasFeature(this.profile, m, n);
    const clear = (m: bigint, n: FeatureName) => m & ~featureMask(this.profile, [n]);
    // Decisions the intended driver makes before FEATURES_OK (R-02, R-03, G09):
    const decide = (m: bigint): bigint => {
      if (this.profile !== "v3") return m;
      let x = m;
      if (this.#failBitmapAllocation) x = clear(clear(x, "PAGE_BITMAP"), "MISC_VQ");
      if (has(x, "MISC_VQ") && !has(x, "STATS_VQ") && !this.#dev("misc-without-stats")) {
        x = clear(x, "MISC_VQ");
      }
      if (this.quirks.has("D-11") && !has(x, "STATS_VQ")) x = clear(x, "PAGE_BITMAP");
      return x;
    };
    const asPostedLate = this.quirks.has("D-10");
    if (!asPostedLate) want = decide(want);
    if (this.#dev("accept-unoffered")) want |= featureMask(this.profile, ["RING_PACKED"]);
    if (this.#dev("ignore-version-1")) want = clear(want, "VERSION_1");
    if (this.#dev("decline-any-layout")) want = clear(want, "ANY_LAYOUT");
    t.writeDriverFeatures(want);
    if (this.#dev("config-before-features-ok")) this.#updateActual();
    if (!t.isLegacy && !this.#dev("skip-features-ok")) {
      t.writeStatus(STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK);
      if (!(t.readStatus() & STATUS.FEATURES_OK) && !this.#dev("continue-after-refusal")) {
        t.writeStatus(STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FAILED);
        return false;
      }
    }
    if (this.#dev("late-features")) {
      t.writeDriverFeatures(want | featureMask(this.profile, ["RING_PACKED"]));
    }
    this.#negotiated = want;
    this.#features = asPostedLate ? decide(want) : want;
    // page_bitmap[0] at probe, for bitmap inflates and for misc replies (as the seed's probe does)
    if (this.#useBitmap || this.#has("MISC_VQ")) this.#extendBitmaps(1);
    // queues
    const usedSet = new Set(featureNames(this.profile, this.#features));
    const layout = queueLayout(this.profile, usedSet);
    let count = layout.length - (this.#dev("missing-queue") ? 1 : 0);
    if (asPostedLate && this.profile === "v3") {
      count = seedAsPostedQueueCount(new Set(featureNames(this.profile, this.#negotiated)));
    }
    const eventIdx = has(this.#negotiated, "EVENT_IDX");
    const indirect = has(this.#negotiated, "INDIRECT_DESC");
    for (let i = 0; i < count; i++) {
      const size = this.transport.device.queueMaxSize(i);
      if (size === 0) {
        t.writeStatus(t.status | STATUS.FAILED);
        return false;
      }
      const bytes = ringBytes(size);
      const order = Math.ceil(Math.log2(Math.ceil(bytes / PAGE)));
      const pfn = this.guest.alloc.allocBlock(order, "UNMOVABLE");
      if (pfn === undefined) throw new RangeError("Cannot allocate a ring: out of guest memory");
      this.#ringBlocks.push({ pfn, order });
      const rl = ringLayout(GuestMemory.addressOf(pfn), size);
      const features = { order: this.#order, eventIdx, indirect };
      t.setupQueue(i, rl, features);
      const mine = this.#dev("indirect-unnegotiated") ? { ...features, indirect: true } : features;
      const role = layout[i]?.name ?? "unused";
      this.#queues.set(i, {
        name: role,
        vq: new DriverQueue<Token>(this.guest.mem, rl, mine),
        acked: new WaitQueue(`acked:${i}`),
      });
      if (role !== "unused") this.#roles.set(role, i);
    }
    // scratch page for headers, PFN arrays, stats, requests and indirect tables
    const scratch = this.guest.alloc.allocBlock(1, "UNMOVABLE");
    if (scratch === undefined) {
      throw new RangeError("Cannot allocate driver buffers: out of guest memory");
    }
    this.#scratch = GuestMemory.addressOf(scratch);
    t.setInterruptHandlers({
      used: (i) => this.#onUsed(i),
      config: () => this.#onConfig(),
    });
    // prime statsq and miscq before DRIVER_OK (R-04, B26), notify after it (G57)
    const statsIdx = this.#roles.get("statsq");
    if (statsIdx !== undefined) {
      this.#addStatsBuffer(
        statsIdx,
        this.#dev("stats-empty-first") ? "empty" : "full",
        this.#dev("stats-writable-first"),
      );
      if (this.#dev("stats-two-buffers")) this.#addStatsBuffer(statsIdx, "second");
      if (this.#dev("notify-before-driver-ok")) this.transport.notify(statsIdx);
    }
    const miscIdx = this.#roles.get("miscq");
    if (miscIdx !== undefined) this.#postRequestBuffer(miscIdx, false);
    this.#unregisterOom = this.guest.registerOomNotifier(
      "virtio_balloon",
      VIRTBALLOON_OOM_NOTIFY_PRIORITY,
      () => this.oomNotify(),
    );
    t.writeStatus(t.status | STATUS.DRIVER_OK);
    this.#ready = true;
    if (this.#dev("clear-status-bit")) t.writeStatus(t.status & ~STATUS.DRIVER);
    for (const i of [statsIdx, miscIdx]) if (i !== undefined) this.#kick(i);
    if (this.#towardsTarget() !== 0) this.#queueWork("update", () => this.#updateBalloonSize());
    return true;
  }

  // ---- buffers ---------------------------------------------------------------

  #bitmapAddr(i: number): number {
    return this.#bitmaps[i] as number;
  }

  #extendBitmaps(count: number): void {
    const order = Math.log2(BALLOON_BMAP_SIZE / PAGE);
    while (this.#bitmaps.length < Math.min(count, this.#bitmapLimit)) {
      const pfn = this.guest.alloc.allocBlock(order, "UNMOVABLE");
      if (pfn === undefined) break; // stop at the first failure, as extend_page_bitmap does
      this.#bitmaps.push(GuestMemory.addressOf(pfn));
    }
  }

  /** extend_page_bitmap: as many bitmaps as the guest's highest PFN needs, at most 32. */
  #wantedBitmaps(): number {
    const maxPfn = this.quirks.has("D-14")
      ? Math.floor(this.guest.alloc.maxPfn / this.#pagesPerPage)
      : this.guest.alloc.maxPfn;
    const bytes = Math.ceil(maxPfn / BALLOON_BMAP_ALIGN_BITS) * BALLOON_BMAP_ALIGN_BITS / 8;
    return Math.min(BALLOON_BMAP_COUNT, Math.ceil(bytes / BALLOON_BMAP_SIZE));
  }

  #write(addr: number, bytes: Uint8Array): void {
    this.guest.mem.write(addr, bytes, "driver");
  }

  #kick(index: number): void {
    const q = this.#queues.get(index);
    if (q !== undefined && q.vq.kickPrepare()) this.transport.notify(index);
  }

  // Scratch page layout: [0,32) shared/inflate header, [32,64) deflate header,
  // [64,96) misc reply header, [128,144) misc request, [256,...) stats,
  // [1024, 3072) PFN array; second page: indirect table.
  #headerAddr(queue: QueueName): number {
    if (this.quirks.has("D-09")) return this.#scratch;
    return this.#scratch +
      (queue === "inflateq" ? 0 : queue === "deflateq" ? HDR_SIZE : 2 * HDR_SIZE);
  }

  #addStatsBuffer(
    index: number,
    kind: "full" | "empty" | "second" = "full",
    writableFirst = false,
  ): void {
    let entries = kind === "empty" ? [] : this.#stats();
    if (this.#dev("stats-varying-subset") && this.#statsRound++ % 2 === 1) {
      entries = entries.slice(1);
    }
    let bytes = encodeStats(entries, this.#order);
    if (this.#dev("stats-odd-length")) bytes = new Uint8Array([...bytes, 0, 0, 0, 0]);
    const addr = this.#scratch + (kind === "second" ? 512 : 256);
    this.#write(addr, bytes);
    const vq = this.#queues.get(index)?.vq;
    if (writableFirst && vq !== undefined) {
      // a device-writable descriptor first, then the readable stats: breaks G29
      const [a, b] = vq.peekFree(2) as [number, number];
      const next = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_NEXT");
      const write = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_WRITE");
      vq.addRaw(
        [
          { index: a, addr: this.#scratch + 768, len: 8, flags: next | write, next: b },
          { index: b, addr, len: bytes.length, flags: 0, next: 0 },
        ],
        a,
        { token: "stats" },
      );
    } else {
      vq?.add([{ addr, len: bytes.length }], [], "stats");
    }
    this.counters.statsBuffers++;
  }

  #postRequestBuffer(index: number, kick: boolean): void {
    const addr = this.#scratch + 128;
    this.#queues.get(index)?.vq.add([], [{ addr, len: REQ_SIZE }], "misc-request");
    if (kick) this.#kick(index);
  }

  /** The statistics this driver reports, computed from the guest model (same tags every time, B32). */
  #stats(): StatEntry[] {
    const a = this.guest.alloc;
    const c = this.guest.counters;
    const free = BigInt(a.freePageCount) * BigInt(PAGE);
    const values: Record<string, bigint> = {
      VIRTIO_BALLOON_S_SWAP_IN: c.swapIn,
      VIRTIO_BALLOON_S_SWAP_OUT: c.swapOut,
      VIRTIO_BALLOON_S_MAJFLT: c.majorFaults,
      VIRTIO_BALLOON_S_MINFLT: c.minorFaults,
      VIRTIO_BALLOON_S_MEMFREE: free,
      VIRTIO_BALLOON_S_MEMTOT: BigInt(a.managedPages) * BigInt(PAGE),
      VIRTIO_BALLOON_S_AVAIL: free,
      VIRTIO_BALLOON_S_CACHES: c.caches,
      VIRTIO_BALLOON_S_HTLB_PGALLOC: 0n,
      VIRTIO_BALLOON_S_HTLB_PGFAIL: 0n,
    };
    return enumValues("stats_tag", this.profile)
      .filter((t) => !t.nonStandard && values[t.name] !== undefined)
      .map((t) => ({ tag: t.value, val: values[t.name] as bigint }));
  }

  // ---- interrupts and works --------------------------------------------------

  #onConfig(): void {
    if (this.#stopUpdate) return;
    this.#queueWork("update", () => this.#updateBalloonSize());
  }

  #onUsed(index: number): void {
    const q = this.#queues.get(index);
    if (q === undefined) return;
    if (q.name === "statsq") {
      this.#queueWork("stats", () => this.#statsWork(index));
    } else if (q.name === "miscq") {
      q.acked.wakeAll();
      if (this.quirks.has("D-05")) {
        this.#queueWork("misc", () => this.#miscWork(index), { irq: true });
      } else {
        this.#queueWork("misc", () => this.#miscWork(index));
      }
    } else {
      q.acked.wakeAll();
    }
  }

  #queueWork(name: string, body: () => TaskBody<void>, options: { irq?: boolean } = {}): void {
    const state = this.#works.get(name);
    if (state === "queued" || state === "rerun") return;
    if (state === "running") {
      this.#works.set(name, "rerun");
      return;
    }
    this.#works.set(name, "queued");
    const works = this.#works;
    const run = function* (): TaskBody<void> {
      do {
        works.set(name, "running");
        yield* body();
      } while (works.get(name) === "rerun");
      works.delete(name);
    };
    if (options.irq) this.guest.sched.irqTask(`driver:${name}`, run());
    else this.guest.sched.spawn(`driver:${name}`, run());
  }

  /** balloon_lock, a fair (ticket) mutex: waiters get it in arrival order. */
  *#lock(): TaskBody<void> {
    const ticket = this.#nextTicket++;
    while (this.#lockHeld || this.#serving !== ticket) yield { on: this.#lockQ };
    this.#lockHeld = true;
  }

  #unlock(): void {
    this.#lockHeld = false;
    this.#serving++;
    this.#lockQ.wakeAll();
  }

  /** towards_target: target (rounded up to whole guest pages) minus balloon size. */
  #towardsTarget(): number {
    const view = new DataView(this.transport.readConfig(CONFIG_NUM_PAGES.offset, 4).buffer);
    const target = Number(readScalar(view, 0, CONFIG_NUM_PAGES.type, "v1"));
    const ppp = this.#pagesPerPage;
    return Math.ceil(target / ppp) * ppp - this.#numPages;
  }

  *#updateBalloonSize(): TaskBody<void> {
    if (this.#stopUpdate) return;
    let diff = this.#towardsTarget();
    if (this.#useBitmap && diff !== 0 && this.#bitmaps.length === 1) {
      this.#extendBitmaps(this.#wantedBitmaps());
    }
    if (diff > 0) diff -= yield* this.#fill(diff);
    else if (diff < 0) diff += yield* this.#leak(-diff);
    this.#updateActual();
    if (diff !== 0 && !this.#stopUpdate) this.#queueWork("update", () => this.#updateBalloonSize());
  }

  #updateActual(value: number = this.#numPages): void {
    const b = new Uint8Array(4);
    const v = this.#dev("actual-off-by-one") ? value + 1 : value;
    writeScalar(new DataView(b.buffer), 0, CONFIG_ACTUAL.type, "v1", v);
    if (this.#dev("actual-bytewise")) {
      for (let i = 0; i < b.length; i++) {
        this.transport.writeConfig(CONFIG_ACTUAL.offset + i, b.subarray(i, i + 1));
      }
      return;
    }
    this.transport.writeConfig(CONFIG_ACTUAL.offset, b);
  }

  // ---- inflate / deflate ---------------------------------------------------------

  #allocGuestPages(count: number): PageSet {
    const ppp = this.#pagesPerPage;
    if (ppp === 1) return this.guest.alloc.allocPages(count, "MOVABLE");
    const out = new PageSet();
    const order = Math.log2(ppp);
    for (let i = 0; i < count; i++) {
      const pfn = this.guest.alloc.allocBlock(order, "MOVABLE");
      if (pfn === undefined) break;
      out.addRange(pfn, ppp);
    }
    return out;
  }

  *#fill(num: number): TaskBody<number> {
    const ppp = this.#pagesPerPage;
    if (!this.#useBitmap) num = Math.min(num, this.#pfnCap);
    const want = Math.ceil(num / ppp);
    yield* this.#lock();
    try {
      const got = this.#allocGuestPages(want);
      const gotPages = got.size / ppp;
      if (gotPages < want) {
        this.counters.outOfPuff++;
        yield { sleep: 200 };
      }
      if (got.size === 0) return 0;
      this.#numPages += got.size;
      if (!this.#has("DEFLATE_ON_OOM") || this.#dev("managed-count-ignores-doom")) {
        this.guest.alloc.adjustManagedPageCount(-got.size);
      }
      const before = this.#balloon.min();
      this.#balloon.unionWith(got);
      if (this.#dev("actual-before-ack")) this.#updateActual();
      if (this.#useBitmap) {
        const report = this.quirks.has("D-03") ? this.#balloon : got;
        yield* this.#sendBitmaps("inflateq", got, report);
      } else {
        let report = got;
        if (this.#dev("inflate-report-extra-page")) {
          report = got.clone();
          report.add(((got.max() as number) + 1) % this.guest.mem.pages);
        }
        if (this.#dev("inflate-repeat-page") && before !== undefined) {
          report = got.clone();
          report.add(before);
        }
        yield* this.#sendPfns("inflateq", report);
      }
      return got.size;
    } finally {
      this.#unlock();
    }
  }

  #dequeue(num: number): PageSet {
    const out = this.#balloon.lowest(num);
    this.#balloon.subtract(out);
    return out;
  }

  *#leak(num: number): TaskBody<number> {
    const ppp = this.#pagesPerPage;
    yield* this.#lock();
    try {
      num = Math.min(num, this.#numPages);
      if (!this.#useBitmap) num = Math.min(num, this.#pfnCap);
      const pages = this.#dequeue(Math.floor(num / ppp) * ppp);
      if (pages.size === 0) return 0;
      this.#numPages -= pages.size;
      // tell the host first, then release (R-11, R-12a)
      const early = this.#dev("release-before-ack");
      if (early) this.#release(pages);
      let report = pages;
      if (this.#dev("deflate-extra-page")) {
        report = pages.clone();
        report.add(((pages.max() as number) + 1) % this.guest.mem.pages);
      }
      if (this.#dev("deflate-silently")) {
        // says nothing to the host
      } else if (this.#useBitmap) yield* this.#sendBitmaps("deflateq", pages, report);
      else yield* this.#sendPfns("deflateq", report);
      if (!early) this.#release(pages);
      return pages.size;
    } finally {
      this.#unlock();
    }
  }

  get #pfnCap(): number {
    return this.#dev("pfn-array-512")
      ? 2 * VIRTIO_BALLOON_ARRAY_PFNS_MAX
      : VIRTIO_BALLOON_ARRAY_PFNS_MAX;
  }

  #release(pages: PageSet): void {
    this.guest.alloc.freePages(pages);
    if (!this.#has("DEFLATE_ON_OOM") || this.#dev("managed-count-ignores-doom")) {
      this.guest.alloc.adjustManagedPageCount(pages.size);
    }
    this.guest.pagesReturned(pages);
  }

  *#sendPfns(queue: "inflateq" | "deflateq", pages: PageSet): TaskBody<void> {
    const bytes = encodePfnArray(pages.toArray(), this.#order);
    const addr = this.#scratch + 1024;
    this.#write(addr, bytes);
    yield* this.#tellHost(queue, [{ addr, len: bytes.length }], pages.min());
  }

  #layout(): BitmapLayout {
    return this.quirks.has("D-13")
      ? asPostedBitmapLayout(this.abi.bitsPerLong, this.transport.guestEndian)
      : INTENDED_BITMAP_LAYOUT;
  }

  #granularity(): number {
    return this.quirks.has("D-13") ? this.abi.bitsPerLong : BALLOON_BMAP_ALIGN_BITS;
  }

  /** Bits to report for a set of 4 KiB PFNs: all of them, or (D-14) one per guest page. */
  #bitsFor(pages: PageSet): PageSet {
    const ppp = this.#pagesPerPage;
    if (ppp === 1 || !this.quirks.has("D-14")) return pages;
    const out = new PageSet();
    for (const r of pages.runs()) {
      for (let p = r.start; p < r.start + r.length; p += ppp) out.add(p);
    }
    return out;
  }

  #maxChunks(queue: QueueName): number | undefined {
    const q = this.#queues.get(this.#roles.get(queue) ?? -1);
    if (q === undefined || this.quirks.has("D-15")) return undefined;
    const indirect = hasFeature(this.profile, this.#negotiated, "INDIRECT_DESC");
    return indirect ? undefined : Math.max(1, q.vq.size - 1);
  }

  *#sendBitmaps(queue: "inflateq" | "deflateq", range: PageSet, report: PageSet): TaskBody<void> {
    const windows = planWindows(this.#bitsFor(range), this.#bitsFor(report), {
      nrBitmaps: this.#bitmaps.length,
      granularity: this.#granularity(),
      quirks: this.quirks,
      ...(this.#maxChunks(queue) === undefined
        ? {}
        : { maxChunks: this.#maxChunks(queue) as number }),
    });
    for (const w of windows) {
      const segments = this.#writeBitmapRequest(queue, w, {});
      yield* this.#tellHost(queue, segments);
    }
  }

  /** Writes header and chunks into the driver's buffers; returns the chain's segments. */
  #writeBitmapRequest(
    queue: QueueName,
    w: { startPfn: number; bmapLen: number; pages: PageSet; chunkLens: readonly number[] },
    fields: Partial<BitmapHeader>,
  ): Segment[] {
    const stale = this.quirks.has("D-09") && this.#sharedHeader !== undefined
      ? this.#sharedHeader
      : undefined;
    const shift = this.quirks.has("D-14") ? this.abi.pageShift : VIRTIO_BALLOON_PFN_SHIFT;
    const header: BitmapHeader = {
      cmd: stale?.cmd ?? 0,
      page_shift: this.#dev("page-shift-13") ? shift + 1 : shift,
      flag: stale?.flag ?? 0,
      reserved: this.#dev("header-reserved-nonzero") ? 1 : 0,
      req_id: stale?.req_id ?? 0n,
      ...fields,
      start_pfn: BigInt(w.startPfn + (this.#dev("start-pfn-off-by-one") ? 1 : 0)),
      bmap_len: BigInt(this.#dev("bmap-len-in-bits") ? w.bmapLen * 8 : w.bmapLen),
    };
    if (this.quirks.has("D-09")) this.#sharedHeader = header;
    const hdrAddr = this.#headerAddr(queue);
    this.#write(hdrAddr, encodeBitmapHeader(header, this.#order));
    const bitmap = encodeBitmap(w.pages, w.startPfn, w.bmapLen, this.#layout());
    if (this.#dev("bit-order-msb-first")) {
      for (let i = 0; i < bitmap.length; i++) bitmap[i] = reverseBits(bitmap[i] as number);
    }
    const segments: Segment[] = [{ addr: hdrAddr, len: HDR_SIZE }];
    for (let i = 0; i < w.chunkLens.length; i++) {
      const addr = this.#bitmapAddr(i);
      const off = i * BALLOON_BMAP_SIZE;
      const part = bitmap.subarray(off, Math.min(bitmap.length, off + BALLOON_BMAP_SIZE));
      this.#write(addr, part);
      // As posted (D-01) the last chunk can be longer than the buffer: an over-read of guest memory.
      let len = w.chunkLens[i] as number;
      if (this.#dev("short-last-chunk") && i + 1 === w.chunkLens.length) len = Math.max(0, len - 8);
      if (len > 0) segments.push({ addr, len });
    }
    if (queue !== "miscq") this.#lastBitmap = { segments };
    return segments;
  }

  *#tellHost(queue: QueueName, out: Segment[], firstPage?: number): TaskBody<void> {
    const index = this.#roles.get(queue);
    const q = index === undefined ? undefined : this.#queues.get(index);
    if (index === undefined || q === undefined) {
      throw new RangeError(`Queue ${queue} is not set up`);
    }
    if (queue === "inflateq") this.counters.inflateRequests++;
    else if (queue === "deflateq") this.counters.deflateRequests++;
    if (this.quirks.has("D-15")) {
      // while (vq->num_free < nr_buf) msleep(2);
      while (q.vq.numFree < out.length) yield { sleep: 2 };
    }
    const indirect = (out.length > q.vq.numFree &&
      hasFeature(this.profile, this.#negotiated, "INDIRECT_DESC")) ||
      (queue === "inflateq" && this.#dev("indirect-unnegotiated"));
    q.vq.add(
      out,
      [],
      queue === "miscq" ? "reply" : "request",
      indirect ? { indirectTable: this.#scratch + PAGE } : {},
    );
    this.#kick(index);
    if (queue === "inflateq" && this.#dev("inflate-no-wait")) return;
    if (queue === "inflateq" && this.#dev("touch-inflated-page")) {
      yield { yield: true };
      const pfn = firstPage ?? this.#balloon.max();
      if (pfn !== undefined) this.guest.mem.touch(pfn, "driver");
    }
    for (;;) {
      const used = q.vq.getUsed();
      if (used !== undefined) {
        if (used.token === "misc-request") {
          // a request arrived while a reply was in flight: handle it later
          this.#queueWork("misc", () => this.#miscWork(index));
          continue;
        }
        return;
      }
      yield { on: q.acked };
    }
  }

  // ---- OOM -------------------------------------------------------------------------

  /** The OOM notifier: deflate at most oomPages, only with DEFLATE_ON_OOM (a task). */
  *oomNotify(): TaskBody<number> {
    if (!this.#has("DEFLATE_ON_OOM") && !this.#dev("oom-ignores-doom")) return 0;
    let freed = yield* this.#leak(this.#oomPages);
    if (this.#dev("oom-double")) freed += yield* this.#leak(this.#oomPages);
    this.#updateActual();
    return freed;
  }

  // ---- stats -----------------------------------------------------------------------

  *#statsWork(index: number): TaskBody<void> {
    const q = this.#queues.get(index);
    if (q === undefined) return;
    while (q.vq.getUsed() !== undefined) {
      if (this.#dev("stats-no-refill")) continue;
      this.#addStatsBuffer(index);
      this.#kick(index);
    }
    yield { yield: true };
  }

  // ---- misc queue --------------------------------------------------------------------

  *#miscWork(index: number): TaskBody<void> {
    const q = this.#queues.get(index);
    if (q === undefined) return;
    for (;;) {
      const used = q.vq.getUsed();
      if (used === undefined) return;
      if (used.token !== "misc-request") continue;
      yield* this.#handleRequest(index, used.len);
    }
  }

  *#handleRequest(index: number, len: number): TaskBody<void> {
    const asPosted = this.quirks.has("D-06");
    if (len !== REQ_SIZE) {
      this.counters.ignoredRequests++;
      if (!asPosted) this.#postRequestBuffer(index, true);
      return;
    }
    const raw = this.guest.mem.read(this.#scratch + 128, REQ_SIZE);
    const native: ByteOrder = this.transport.guestEndian === "le" ? "legacy-le" : "legacy-be";
    const order = this.quirks.has("D-07") ? native : this.#order;
    const req = decodeStruct("balloon_req_hdr", raw, { order, raw: true });
    const cmd = req["cmd"] as number;
    let param = req["param"] as bigint;
    if (this.quirks.has("D-08") && this.abi.bitsPerLong === 32) param &= 0xffffffffn;
    if (cmd !== GET_UNUSED_PAGES) {
      this.counters.ignoredRequests++;
      if (!asPosted) this.#postRequestBuffer(index, true);
      return;
    }
    yield* this.#sendUnusedPages(index, cmd, param);
    if (!this.#dev("misc-no-repost")) this.#postRequestBuffer(index, true);
  }

  *#sendUnusedPages(index: number, cmd: number, param: bigint): TaskBody<void> {
    if (this.#useBitmap || this.#bitmaps.length === 0) {
      if (this.#bitmaps.length <= 1) this.#extendBitmaps(this.#wantedBitmaps());
    }
    if (this.#bitmaps.length === 0) this.#extendBitmaps(1);
    if (this.#bitmaps.length === 0) return; // no memory for even one bitmap: no reply (the buffer is re-posted)
    yield* this.#lock();
    try {
      const maxPfn = this.guest.alloc.maxPfn;
      const chunks = planReply(maxPfn, this.#bitmaps.length, this.quirks);
      for (let k = 0; k < chunks.length; k++) {
        const c = chunks[k] as (typeof chunks)[number];
        if (k === 1 && this.#dev("misc-skip-window")) continue;
        const pages = scanUnusedPages(this.guest.alloc, c.startPfn, c.scanEnd, {
          asPosted: this.quirks.has("D-04"),
        });
        if (k === 0 && this.#dev("misc-hint-used-page")) {
          const used = this.guest.workload.min() ?? GuestMemory.pfnOf(this.#scratch);
          if (used < c.scanEnd) pages.add(used);
        }
        let done = c.done;
        if (this.#dev("misc-no-done")) done = false;
        if (this.#dev("misc-done-first")) done = k === 0;
        const reqId = this.#dev("misc-wrong-req-id") ? param + 1n : param;
        const segments = this.#writeBitmapRequest("miscq", {
          startPfn: c.startPfn,
          bmapLen: c.bmapLen,
          pages,
          chunkLens: c.chunkLens,
        }, { cmd, flag: done ? FLAG_DONE : FLAG_CONT, req_id: reqId });
        this.counters.replyChunks++;
        yield* this.#tellHost("miscq", segments);
      }
    } finally {
      this.#unlock();
    }
    void index;
  }

  // ---- compaction, remove, freeze/restore -------------------------------------------

  /**
   * Balloon-page migration: a new page replaces `oldPfn` in the balloon;
   * the new page is reported on inflateq, then the old one on deflateq. A task.
   */
  *migratePage(oldPfn: number): TaskBody<boolean> {
    const ppp = this.#pagesPerPage;
    yield* this.#lock();
    try {
      // checked under the lock: a deflate may have taken the page while we waited for it
      if (!this.#balloon.has(oldPfn)) return false;
      const fresh = this.#allocGuestPages(1);
      if (fresh.size === 0) return false;
      const old = new PageSet();
      old.addRange(oldPfn, ppp);
      this.#balloon.unionWith(fresh);
      if (this.#useBitmap && this.quirks.has("D-12") && this.#lastBitmap !== undefined) {
        yield* this.#tellHost("inflateq", this.#lastBitmap.segments);
      } else if (this.#useBitmap) yield* this.#sendBitmaps("inflateq", fresh, fresh);
      else yield* this.#sendPfns("inflateq", fresh);
      this.#balloon.subtract(old);
      if (this.#useBitmap && this.quirks.has("D-12") && this.#lastBitmap !== undefined) {
        yield* this.#tellHost("deflateq", this.#lastBitmap.segments);
      } else if (this.#useBitmap) yield* this.#sendBitmaps("deflateq", old, old);
      else yield* this.#sendPfns("deflateq", old);
      this.guest.alloc.freePages(old);
      this.guest.pagesReturned(old);
      return true;
    } finally {
      this.#unlock();
    }
  }

  *#deflateAll(): TaskBody<void> {
    while (this.#numPages > 0) {
      const n = yield* this.#leak(this.#numPages);
      if (n === 0) break;
    }
    this.#updateActual();
  }

  /** Remove: stop, deflate everything, actual = 0, reset, free buffers. A task. */
  *remove(): TaskBody<void> {
    this.#stopUpdate = true;
    this.#unregisterOom?.();
    this.#unregisterOom = undefined;
    if (!this.#dev("remove-without-deflate")) yield* this.#deflateAll();
    this.transport.writeStatus(0);
    this.#ready = false;
    this.#queues.clear();
    this.#roles.clear();
    for (const b of this.#ringBlocks) this.guest.alloc.freeBlock(b.pfn, b.order);
    this.#ringBlocks = [];
  }

  /** Freeze: deflate everything and reset, keeping the driver's buffers. A task. */
  *freeze(): TaskBody<void> {
    this.#stopUpdate = true;
    yield* this.#deflateAll();
    this.transport.writeStatus(0);
    this.#ready = false;
  }

  /** Restore: renegotiate, set queues up again, DRIVER_OK, resume. A task. */
  *restore(): TaskBody<boolean> {
    for (const b of this.#ringBlocks) this.guest.alloc.freeBlock(b.pfn, b.order);
    this.#ringBlocks = [];
    this.#queues.clear();
    this.#roles.clear();
    this.#unregisterOom?.();
    // a probe that stopped before its buffers (FEATURES_OK refused) left no scratch page
    if (this.#scratch !== 0) this.guest.alloc.freeBlock(GuestMemory.pfnOf(this.#scratch), 1);
    this.#scratch = 0;
    this.#stopUpdate = false;
    const ok = yield* this.probe();
    if (ok) this.#updateActual();
    return ok;
  }

  /** Features of the profile that the driver implements. */
  static implemented(profile: ProfileId): readonly FeatureName[] {
    return IMPLEMENTED[profile].filter((n) => featuresOf(profile).some((f) => f.name === n));
  }

  /** Bytes of a descriptor (for callers sizing indirect tables). */
  static readonly DESCRIPTOR_BYTES: number = DESC_SIZE;
  /** Size of one statistics entry. */
  static readonly STAT_BYTES: number = STAT_SIZE;
}

/** Mirrors the bits of a byte (bit 0 ↔ bit 7), for the MSB-first deviation. */
function reverseBits(b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 1 << (7 - i);
  return r;
}

/** Re-exported for planners. */
export type { PlannedWindow };
export { chunkLengths };
