/**
 * The driver's seams: one hook per protocol decision that a deviation or a
 * seed quirk changes, and the reference decision of each, as plain code.
 * `impl/deviations/` and `impl/quirks/` override some of them; the driver's
 * request path (`probe.ts`, `balloon.ts`, `bitmaps.ts`, `requests.ts`,
 * `stats.ts`, `misc.ts`) calls them where it decides.
 *
 * @module
 */

import {
  BALLOON_BMAP_ALIGN_BITS,
  type BitmapHeader,
  type ByteOrder,
  decodeStruct,
  encodeBitmap,
  encodeStats,
  enumValue,
  featureMask,
  type FeatureName,
  featuresOf,
  findFeature,
  hasFeature,
  INTENDED_BITMAP_LAYOUT,
  PAGE_REPORTING_ORDER,
  PageSet,
  type ProfileId,
  type QueueIndexModel,
  type QueueName,
  type StatEntry,
  structSize,
  VIRTIO_BALLOON_ARRAY_PFNS_MAX,
  writeScalar,
} from "../../spec/mod.ts";
import { type PlannedReplyChunk, type PlanOptions, planReply } from "../bitmap_plan.ts";
import type { GuestEnv } from "../guest.ts";
import type { TaskBody, WaitQueue } from "../scheduler.ts";
import type { Transport } from "../transport.ts";
import type { DriverQueue, QueueFeatures, RingLayout, Segment } from "../virtqueue.ts";
import type { PhysicalMemory } from "../memory.ts";
import { scanUnusedPages } from "../unused_scan.ts";
import type { SeamOverrides } from "../seams.ts";
import { SCRATCH } from "./layout.ts";
import { fillPages } from "./poison.ts";

/** The guest's ABI, which matters only where the seed's code depends on it. */
export interface GuestAbi {
  /** BITS_PER_LONG. */
  readonly bitsPerLong: 32 | 64;
  /** log2 of the guest page size: 12 (4 KiB) or 16 (64 KiB). */
  readonly pageShift: 12 | 16;
}

/** What the driver's queues carry: the token of each buffer it makes available. */
export type DriverToken =
  | "request"
  | "misc-request"
  | "stats"
  | "reply"
  | "hint-cmd"
  | "hint"
  | "report";

/** Why the driver fills pages with its poison value (or initialises them). */
export type PoisonReason = "deflate" | "report" | "hint";

/** A free block the driver reports or hints: its first PFN and order. */
export interface PageBlock {
  /** First 4 KiB PFN. */
  readonly pfn: number;
  /** Order: the block holds 2^order pages. */
  readonly order: number;
}

/** One queue the driver set up. */
export interface DriverQueueUse {
  /** Its role (`unused` for a queue the negotiated features give no role). */
  readonly name: QueueName | "unused";
  /** The driver side of the ring. */
  readonly vq: DriverQueue<DriverToken>;
  /** Woken by the queue's used-buffer interrupt. */
  readonly acked: WaitQueue;
}

/** The queues a bitmap request can go to. */
export type BitmapQueue = "inflateq" | "deflateq" | "miscq";

/** A feature the driver accepts only together with another one. */
export interface FeatureDependency {
  /** The dependent feature (dropped when `requires` is not accepted). */
  readonly feature: FeatureName;
  /** The feature it needs. */
  readonly requires: FeatureName;
}

/** One inflate pass, as {@link DriverSeams.inflateReport} sees it. */
export interface InflatePass {
  /** The pages allocated in this pass (already in the balloon). */
  readonly taken: PageSet;
  /** The lowest page in the balloon before this pass, if any. */
  readonly lowestBefore: number | undefined;
  /** How the request names pages. */
  readonly encoding: "bitmap" | "pfn";
}

/** The pages of one inflate or deflate pass, as the host is told about them. */
export interface PagePass {
  /** The pages whose lowest and highest PFN bound the pass's bitmap windows. */
  readonly range: PageSet;
  /** The pages the requests name. */
  readonly report: PageSet;
}

/** Which stats buffer is being made available. */
export interface StatsBuffer {
  /** At probe (before DRIVER_OK) or as a refill after the device used one. */
  readonly when: "probe" | "refill";
  /** Buffer slot in the driver's memory (0 unless several are available at once). */
  readonly slot: number;
}

/** A stats buffer ready to be made available. */
export interface StatsChain extends StatsBuffer {
  /** Where the encoded statistics are. */
  readonly segment: Segment;
}

/** The descriptors of one bitmap request, before the chain is built. */
export interface BitmapChain {
  /** The queue it goes to. */
  readonly queue: BitmapQueue;
  /** The header's buffer. */
  readonly header: Segment;
  /** The bitmap chunks' buffers, with their planned lengths (0 for nothing to send). */
  readonly chunks: readonly Segment[];
}

/** The bits of one bitmap request or reply chunk. */
export interface BitmapWindow {
  /** PFN of bit 0. */
  readonly startPfn: number;
  /** Bitmap length in bytes. */
  readonly bmapLen: number;
  /** Pages whose bits are set. */
  readonly pages: PageSet;
}

/** A misc request, as the driver read it. */
export interface MiscRequest {
  /** Command. */
  readonly cmd: number;
  /** Parameter (echoed as req_id). */
  readonly param: bigint;
}

/** What a misc request turned out to be. */
export type MiscOutcome = "bad-length" | "bad-command" | "answered";

/**
 * The protocol decisions of the driver that a deviation or quirk can change.
 * Every hook's reference behaviour is in {@link referenceDriverSeams}.
 */
export interface DriverSeams {
  // ---- negotiation and initialisation (probe.ts) -------------------------------------
  /** Which feature dependencies the driver honours by dropping the dependent feature (G09). */
  featureDependencies(): readonly FeatureDependency[];
  /** The features the driver writes, out of those offered that it is willing to accept. */
  driverFeatures(wanted: bigint): bigint;
  /** The features the driver goes on to use, out of those negotiated. */
  featuresInUse(negotiated: bigint): bigint;
  /** Runs right after the driver wrote its features. */
  afterFeaturesWritten(features: bigint): void;
  /** Whether the driver sets FEATURES_OK (G55a). */
  setsFeaturesOk(): boolean;
  /** Whether the driver gives up when the device leaves FEATURES_OK clear (G55a). */
  failsWhenRefused(): boolean;
  /** Runs after feature negotiation, before the queues are set up. */
  afterNegotiation(features: bigint): void;
  /** How many queues the driver sets up, out of those the features give. */
  queueCount(layoutLength: number): number;
  /** How the queues the features give are numbered (S-11). */
  queueIndexModel(): QueueIndexModel;
  /** The ring features the driver's side of a queue assumes, out of those negotiated. */
  queueFeatures(negotiated: QueueFeatures): QueueFeatures;
  /** The memory the driver's side of a queue at `layout` writes its rings through. */
  queueMemory(mem: PhysicalMemory, layout: RingLayout): PhysicalMemory;
  /** Runs right after the driver set DRIVER_OK. */
  afterDriverOk(): void;
  // ---- statistics (stats.ts) ---------------------------------------------------------
  /** How many stats buffers the driver makes available at probe. */
  statsBuffersAtProbe(): number;
  /** The bytes of a stats buffer. */
  statsPayload(entries: StatEntry[], buffer: StatsBuffer): Uint8Array;
  /** Makes a stats buffer available on the stats queue. */
  postStats(vq: DriverQueue<DriverToken>, chain: StatsChain): void;
  /** Runs after the stats queue is primed, before DRIVER_OK. */
  afterStatsPrimed(index: number): void;
  /** Whether the driver gives a stats buffer back after the device used it (B28). */
  refillsStats(): boolean;
  // ---- inflate, deflate, OOM, actual (balloon.ts) ------------------------------------
  /** Whether inflate and deflate requests are bitmaps (else PFN arrays). */
  usesBitmaps(): boolean;
  /** The most PFNs one PFN-array request names. */
  pfnsPerRequest(): number;
  /** Whether ballooned pages leave the managed page count. */
  adjustsManagedCount(): boolean;
  /** The pages an inflate pass reports to the host. */
  inflateReport(pass: InflatePass): PageSet;
  /** Runs after an inflate pass took its pages, before it tells the host. */
  beforeInflateRequest(): void;
  /** The pages a deflate pass reports, or undefined to tell the host nothing. */
  deflateReport(pages: PageSet): PageSet | undefined;
  /** When deflated pages go back to the guest, relative to telling the host (R-11, R-12a). */
  releaseOrder(): "tell-then-release" | "release-then-tell";
  /** Whether the OOM notifier deflates at all. */
  deflatesOnOom(): boolean;
  /** The deflate passes of one OOM notification, in 4 KiB pages each. */
  oomPasses(oomPages: number): readonly number[];
  /** Whether remove deflates the balloon before the reset. */
  deflatesOnRemove(): boolean;
  /** The value written to `actual` for a balloon of `numPages` pages. */
  actualValue(numPages: number): number;
  /** How the bytes of `actual` are split into config writes. */
  actualAccesses(bytes: Uint8Array): readonly Uint8Array[];
  // ---- bitmap requests (bitmaps.ts) --------------------------------------------------
  /** The bitmap bits that stand for a set of 4 KiB PFNs. */
  bitmapBits(pages: PageSet): PageSet;
  /** How many bitmap bits cover the PFNs below `maxPfn` (sizes the bitmaps). */
  bitmapSpan(maxPfn: number): number;
  /** How a pass is cut into windows and chunks. */
  windowPlan(queue: "inflateq" | "deflateq"): PlanOptions;
  /** The header of a bitmap request or reply chunk. */
  bitmapHeader(header: BitmapHeader, queue: BitmapQueue): BitmapHeader;
  /** Where the header of a bitmap request on a queue is written. */
  headerBuffer(queue: BitmapQueue): number;
  /** The bitmap's bytes. */
  bitmapBytes(window: BitmapWindow): Uint8Array;
  /** The chain of a bitmap request: header first, then the chunks. */
  bitmapChain(chain: BitmapChain): Segment[];
  /** Tells the host about a balloon-page migration's page on a queue. */
  sendMigration(queue: "inflateq" | "deflateq", pages: PageSet): TaskBody<void>;
  // ---- sending (requests.ts) ---------------------------------------------------------
  /** Waits, if need be, until the ring has room for a chain of `descriptors`. */
  waitForRoom(vq: DriverQueue<DriverToken>, descriptors: number): TaskBody<void>;
  /** Whether a chain goes through an indirect table. */
  useIndirect(queue: BitmapQueue, chain: { descriptors: number; numFree: number }): boolean;
  /** Whether the driver waits for a request to be used before it goes on (tell_host). */
  waitsForUse(queue: BitmapQueue): boolean;
  /** What the driver does between notifying a request and its use. */
  whileInFlight(queue: BitmapQueue, firstPage: number | undefined): TaskBody<void>;
  // ---- misc queue (misc.ts) ----------------------------------------------------------
  /** Where misc requests are handled: in a work (process context) or in the interrupt. */
  miscContext(): "work" | "interrupt";
  /** Reads the request the device wrote into the misc request buffer. */
  readRequest(raw: Uint8Array): MiscRequest;
  /** Whether the request buffer is made available again after a request (R-04, R-17b). */
  repostsRequest(outcome: MiscOutcome): boolean;
  /** The chunks of a reply to GET_UNUSED_PAGES. */
  replyChunks(maxPfn: number, nrBitmaps: number): readonly PlannedReplyChunk[];
  /** The pages one reply chunk hints unused. */
  unusedPages(chunk: PlannedReplyChunk): PageSet;
  /** The cmd, flag and req_id of a reply chunk. */
  replyFields(chunk: PlannedReplyChunk, request: MiscRequest): Partial<BitmapHeader>;
  // ---- the standard profile: page poison (poison.ts) --------------------------------
  /** Linux's validate(): what the driver clears for the guest's page initialisation (B02, B03). */
  validateFeatures(features: bigint): bigint;
  /** The poison_val the driver announces: what the guest's free pages are initialised to. */
  poisonValue(): number;
  /** Whether the driver writes poison_val during probe, before DRIVER_OK (B55). */
  writesPoisonAtProbe(): boolean;
  /** Fills pages with poison_val, or initialises them, before they go where `why` says (B45, B54, B59). */
  poisonFill(pages: PageSet, why: PoisonReason): void;
  // ---- the standard profile: free page hinting (hints.ts) ----------------------------
  /** The bytes of a free_page_vq out buffer holding a command id (B37, B53). */
  hintCmdBytes(cmdId: number): Uint8Array;
  /** How many out buffers with the round's id start a round (B38, B39). */
  startIdsPerRound(): number;
  /** Whether the driver supplies pages while the round's id is current (B40). */
  hintsPages(): boolean;
  /** The pages one hinted block names (B44: only pages the guest does not use). */
  hintPages(block: PageBlock): PageSet;
  /** Whether the round ends when the received id is no longer the round's (B41). */
  stopsOnNewId(): boolean;
  /** Whether the driver ends a round with an out buffer holding STOP (B42). */
  sendsStop(): boolean;
  /** Whether the driver gives every hinted page back once the id is DONE (B46). */
  releasesOnDone(): boolean;
  // ---- the standard profile: free page reporting (reporting.ts) ----------------------
  /** Smallest order of the free blocks the driver reports (B62). */
  reportOrder(): number;
  /** The blocks one report names, out of the unreported free blocks taken for it (S-08). */
  reportBlocks(blocks: readonly PageBlock[]): readonly PageBlock[];
  /** Whether the driver keeps a report's pages until the device used it (B60). */
  waitsForReport(): boolean;
  /** Runs before each reporting pass with the pages reported earlier that are still free (B63). */
  beforeReportPass(reportedFree: PageSet): void;
}

/**
 * How a deviation, a quirk or a mutant of your own changes the driver:
 * overrides of some seams, built once per driver from its context (so an
 * override may keep state of its own).
 */
export type DriverSeamOverride = (vb: DriverContext) => SeamOverrides<DriverSeams>;

/** What a seam may read and use of the driver. */
export interface DriverContext {
  /** The guest. */
  readonly guest: GuestEnv;
  /** The transport to the device. */
  readonly transport: Transport;
  /** Profile. */
  readonly profile: ProfileId;
  /** Guest ABI. */
  readonly abi: GuestAbi;
  /** The seams in effect (every override applied). */
  readonly seams: DriverSeams;
  /** Fault injection: the probe-time bitmap allocation fails. */
  readonly failBitmapAllocation: boolean;
  /** Features FEATURES_OK accepted (what the driver wrote). */
  readonly negotiated: bigint;
  /** Features the driver uses. */
  readonly features: bigint;
  /** The 4 KiB PFNs in the balloon (the live set: a seam must not change it). */
  readonly balloon: PageSet;
  /** Address of the driver's scratch buffers. */
  readonly scratch: number;
  /** Addresses of the bitmaps the driver holds. */
  readonly bitmaps: readonly number[];
  /** 4 KiB pages per guest page. */
  readonly pagesPerPage: number;
  /** Byte order of `virtio*` fields. */
  readonly order: ByteOrder;
  /** Whether a feature is in use. */
  has(name: FeatureName): boolean;
  /** The queue set up for a role. */
  queueOf(name: QueueName): DriverQueueUse | undefined;
  /** Writes `actual` (through the seams). */
  updateActual(): void;
  /** Adds a chain to a queue, notifies and waits for its use (tell_host). */
  tellHost(queue: BitmapQueue, chain: Segment[]): TaskBody<void>;
  /** Tells the host about the pages of a pass: bitmap requests or a PFN array. */
  sendPages(queue: "inflateq" | "deflateq", pass: PagePass): TaskBody<void>;
}

const FLAG_CONT = enumValue("balloon_flag", "BALLOON_FLAG_CONT");
const FLAG_DONE = enumValue("balloon_flag", "BALLOON_FLAG_DONE");

/**
 * Drops every feature whose dependency is not accepted, and PAGE_BITMAP and
 * MISC_VQ when the probe-time bitmap allocation failed (R-02, R-03, G09).
 */
export function honourDependencies(vb: DriverContext, features: bigint): bigint {
  if (vb.profile !== "v3") return features;
  let x = features;
  if (vb.failBitmapAllocation) x &= ~featureMask(vb.profile, ["PAGE_BITMAP", "MISC_VQ"]);
  for (const d of vb.seams.featureDependencies()) {
    if (hasFeature(vb.profile, x, d.feature) && !hasFeature(vb.profile, x, d.requires)) {
      x &= ~featureMask(vb.profile, [d.feature]);
    }
  }
  return x;
}

function* nothing(): TaskBody<void> {}

/** The reference decisions: the intended v3 semantics (and the standard profile's base bits). */
export function referenceDriverSeams(vb: DriverContext): DriverSeams {
  return {
    // the spec's feature table says which features need which (G09)
    featureDependencies: () =>
      featuresOf(vb.profile).flatMap((f) =>
        f.requires.map((r) => ({ feature: f.name, requires: r }))
      ),
    // decided before FEATURES_OK
    driverFeatures: (wanted) => vb.seams.validateFeatures(honourDependencies(vb, wanted)),
    featuresInUse: (negotiated) => negotiated,
    afterFeaturesWritten: () => {},
    // a legacy device has no FEATURES_OK step; a refusal ends the probe (G55a)
    setsFeaturesOk: () => !vb.transport.isLegacy,
    failsWhenRefused: () => true,
    afterNegotiation: () => {},
    // one queue per role the features give, compacted, with the ring features negotiated
    queueCount: (layoutLength) => layoutLength,
    queueIndexModel: () => "compacted",
    queueFeatures: (negotiated) => negotiated,
    queueMemory: (mem) => mem,
    afterDriverOk: () => {},

    // one buffer at a time, every statistic, the same tags each time (B25, B26, B28, B32)
    statsBuffersAtProbe: () => 1,
    statsPayload: (entries) => encodeStats(entries, vb.order),
    // one device-readable descriptor (G29)
    postStats: (vq, chain) => {
      vq.add([chain.segment], [], "stats");
    },
    afterStatsPrimed: () => {},
    // a fresh buffer each time the device used one (B27)
    refillsStats: () => true,

    // bitmaps exactly when PAGE_BITMAP is in use; at most 256 PFNs per array
    usesBitmaps: () => vb.profile === "v3" && vb.has("PAGE_BITMAP"),
    pfnsPerRequest: () => VIRTIO_BALLOON_ARRAY_PFNS_MAX,
    // without DEFLATE_ON_OOM the ballooned pages leave the managed count
    adjustsManagedCount: () => !vb.has("DEFLATE_ON_OOM"),
    // only the pages taken in this pass
    inflateReport: (pass) => pass.taken,
    beforeInflateRequest: () => {},
    deflateReport: (pages) => pages,
    // tell the host first, then release (R-11, R-12a)
    releaseOrder: () => "tell-then-release",
    // only with DEFLATE_ON_OOM, at most oomPages
    deflatesOnOom: () => vb.has("DEFLATE_ON_OOM"),
    oomPasses: (oomPages) => [oomPages],
    deflatesOnRemove: () => true,
    // the pages the host has been told are in the balloon
    actualValue: (numPages) => numPages,
    // one 32-bit access (B23)
    actualAccesses: (bytes) => [bytes],

    // one bit per 4 KiB PFN, page_shift VIRTIO_BALLOON_PFN_SHIFT
    bitmapBits: (pages) => pages,
    bitmapSpan: (maxPfn) => maxPfn,
    windowPlan: (queue) => {
      const q = vb.queueOf(queue);
      const indirect = hasFeature(vb.profile, vb.negotiated, "INDIRECT_DESC");
      return {
        nrBitmaps: vb.bitmaps.length,
        granularity: BALLOON_BMAP_ALIGN_BITS,
        // without indirect descriptors a request must fit the ring
        ...(q === undefined || indirect ? {} : { maxChunks: Math.max(1, q.vq.size - 1) }),
      };
    },
    bitmapHeader: (header) => header,
    // one header buffer per queue: a reply's flag and req_id never reach a request
    headerBuffer: (queue) => vb.scratch + SCRATCH.header[queue],
    // little-endian, LSB-first, independent of the guest's word size (S-04)
    bitmapBytes: (w) => encodeBitmap(w.pages, w.startPfn, w.bmapLen, INTENDED_BITMAP_LAYOUT),
    bitmapChain: (chain) => [chain.header, ...chain.chunks.filter((c) => c.len > 0)],
    // the new page on inflateq, the old one on deflateq, each a request of its own
    sendMigration: (queue, pages) => vb.sendPages(queue, { range: pages, report: pages }),

    // requests are cut to fit the ring (windowPlan), so there is never room to wait for
    waitForRoom: nothing,
    // an indirect table only for a chain the ring cannot hold, and only with INDIRECT_DESC (G34)
    useIndirect: (_queue, chain) =>
      chain.descriptors > chain.numFree &&
      hasFeature(vb.profile, vb.negotiated, "INDIRECT_DESC"),
    // wait for each request to be used, leaving its pages alone meanwhile (R-09, B16)
    waitsForUse: () => true,
    whileInFlight: nothing,

    // handled in a work, never in the interrupt callback, which must not block
    miscContext: () => "work",
    // cmd and param converted from virtio byte order (R-17b)
    readRequest: (raw) => {
      const req = decodeStruct("balloon_req_hdr", raw, { order: vb.order, raw: true });
      return { cmd: req["cmd"] as number, param: req["param"] as bigint };
    },
    // the request buffer goes back in every case (R-04, R-17b)
    repostsRequest: () => true,
    // windows of PFNS_PER_BMAP bits per bitmap from PFN 0, the last one DONE
    replyChunks: (maxPfn, nrBitmaps) => planReply(maxPfn, nrBitmaps),
    // every page in a buddy free block at scan time, and no other
    unusedPages: (c) => scanUnusedPages(vb.guest.alloc, c.startPfn, c.scanEnd),
    // CONT … CONT DONE, each echoing param as req_id
    replyFields: (c, request) => ({
      cmd: request.cmd,
      flag: c.done ? FLAG_DONE : FLAG_CONT,
      req_id: request.param,
    }),

    // without page initialisation no PAGE_POISON (B02); with it, no reporting without PAGE_POISON (B03)
    validateFeatures: (features) => {
      if (findFeature(vb.profile, "PAGE_POISON") === undefined) return features;
      if (vb.guest.pagePoison === undefined) {
        return features & ~featureMask(vb.profile, ["PAGE_POISON"]);
      }
      if (!hasFeature(vb.profile, features, "PAGE_POISON")) {
        return features & ~featureMask(vb.profile, ["PAGE_REPORTING"]);
      }
      return features;
    },
    // the value the guest's free pages hold (Linux: 0 under init_on_free, 0xaaaaaaaa under page_poison)
    poisonValue: () => vb.guest.pagePoison ?? 0,
    // before DRIVER_OK (B55), once (B56)
    writesPoisonAtProbe: () => true,
    // deflated and reported pages get poison_val with PAGE_POISON (B54, B59); a hinted page
    // released before DONE is always initialised, written (B45): a poison_val of 0 is already
    // there in a page that reads as zeros, except for a hinted page, which must be written
    poisonFill: (pages, why) => {
      if (why !== "hint" && !vb.has("PAGE_POISON")) return;
      const value = vb.seams.poisonValue();
      if (value !== 0 || why === "hint") return fillPages(vb, pages, value);
      const stored = new PageSet();
      for (const pfn of vb.guest.mem.storedPfns()) if (pages.has(pfn)) stored.add(pfn);
      fillPages(vb, stored, 0);
    },

    // exactly 4 bytes, in virtio byte order (B37, B53)
    hintCmdBytes: (cmdId) => {
      const b = new Uint8Array(HINT_CMD_BYTES);
      writeScalar(new DataView(b.buffer), 0, "virtio32", vb.order, cmdId);
      return b;
    },
    // one out buffer with the round's id, first (B38, B39)
    startIdsPerRound: () => 1,
    hintsPages: () => true, // B40
    // a block the driver took from the allocator: free guest memory (B44)
    hintPages: (block) => {
      const p = new PageSet();
      p.addRange(block.pfn, 2 ** block.order);
      return p;
    },
    stopsOnNewId: () => true, // B41
    sendsStop: () => true, // B42
    releasesOnDone: () => true, // B46

    // blocks of pageblock order or larger (B62)
    reportOrder: () => PAGE_REPORTING_ORDER,
    // free blocks only: never a page in the balloon (S-08)
    reportBlocks: (blocks) => blocks,
    waitsForReport: () => true, // B60
    beforeReportPass: () => {}, // reported pages are left alone (B63)
  };
}

const HINT_CMD_BYTES = structSize("free_page_hint_cmd");
