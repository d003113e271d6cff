/**
 * The device's seams: one hook per protocol decision that a deviation
 * changes, and the reference decision of each, as plain code.
 * `impl/deviations/` overrides some of them; the device's request path
 * (`queues.ts`, `pages.ts`, `stats.ts`, `misc.ts`) calls them where it
 * decides.
 *
 * @module
 */

import {
  type BitmapHeader,
  type ByteOrder,
  decodeBitmapRequest,
  decodePfnArray,
  enumValue,
  type FeatureName,
  featureNames,
  featuresOf,
  fieldOf,
  FREE_PAGE_HINT_CMD_ID_MIN,
  PageSet,
  type ProfileId,
  ProtocolError,
  type QueueIndexModel,
  type QueueName,
  readScalar,
  type StatEntry,
  structSize,
  unknownBits,
  VIRTIO_BALLOON_PFN_SHIFT,
  wireSize,
} from "../../spec/mod.ts";
import type { SeamOverrides } from "../seams.ts";
import { STATUS, type Transport } from "../transport.ts";
import type { Chain, DeviceQueue } from "../virtqueue.ts";

const ACTUAL = fieldOf("virtio_balloon_config", "actual");
const ACTUAL_BYTES = wireSize(ACTUAL.type);

/** The queues that carry pages. */
export type PageQueue = "inflateq" | "deflateq";

/** The queues whose buffers the device acts on and then uses. */
export type ActingQueue = PageQueue | "miscq" | "free_page_vq" | "reporting_vq";

/** Where a free-page-hint round is (QEMU's FREE_PAGE_HINT_S_*). */
export type HintStatus = "requested" | "start" | "stop" | "done";

/** A buffer the device is done with, and the used length it will report. */
export interface DeviceBuffer {
  /** Queue index. */
  readonly index: number;
  /** Queue role. */
  readonly queue: QueueName | "unknown";
  /** Head descriptor of the chain. */
  readonly head: number;
  /** Used length. */
  readonly len: number;
}

/** A request the device has read: how to apply it, and the buffer to use afterwards. */
export interface RequestJob {
  /** The request's buffer. */
  readonly buffer: DeviceBuffer;
  /** Decodes and applies the request (or rejects it), recording it in the trace. */
  readonly apply: () => void;
}

/** A malformed inflate/deflate request. */
export interface PageRejection {
  /** The bytes the device read. */
  readonly data: Uint8Array;
  /** Why it cannot be applied. */
  readonly error: Error;
  /** The trace event of the chain, without its verdict. */
  readonly event: RequestEvent;
}

/** The fields of a chain's trace event that do not depend on the verdict. */
export interface RequestEvent {
  /** Kind. */
  readonly kind: "request";
  /** Queue index. */
  readonly index: number;
  /** Queue role. */
  readonly queue: string;
  /** Head descriptor. */
  readonly head: number;
  /** Lengths of the device-readable descriptors. */
  readonly readable: readonly number[];
  /** Lengths of the device-writable descriptors. */
  readonly writable: readonly number[];
  /** The bytes read, when the device keeps them. */
  readonly bytes?: Uint8Array;
}

/** What the device writes into the misc request buffer, and the used length it reports. */
export interface UnusedRequest {
  /** The `balloon_req_hdr` fields. */
  readonly header: { readonly cmd: number; readonly reserved: number[]; readonly param: bigint };
  /** Used length of the request buffer. */
  readonly usedLength: number;
}

/**
 * The protocol decisions of the device that a deviation can change. Every
 * hook's reference behaviour is in {@link referenceDeviceSeams}.
 */
export interface DeviceSeams {
  // ---- features and status ---------------------------------------------------------
  /** The features the device offers, out of those it is configured to offer. */
  offeredFeatures(offer: readonly FeatureName[]): readonly FeatureName[];
  /** Whether the device accepts the driver's features at FEATURES_OK (G15a, G15b). */
  acceptsFeatures(driverFeatures: bigint): boolean;
  /** Whether the device may process buffers now (G05). */
  isLive(): boolean;
  /** Byte order of the config space fields (B07). */
  configByteOrder(): ByteOrder;
  /**
   * Whether the host takes `actual` from the config space after the driver
   * wrote `[offset, offset + size)` (S-12; over the legacy interface only once
   * its most significant byte is written, B24).
   */
  takesActual(write: { readonly offset: number; readonly size: number }): boolean;
  /** Runs when the driver resets the device. */
  reset(): void;
  // ---- the rings (queues.ts, core.ts) ----------------------------------------------------
  /**
   * Whether the device goes on popping available chains of a queue, having
   * popped `now` in this notification and `total` since the queue was set up
   * (of `size` entries): all of them, across ring wrap.
   */
  keepsPopping(
    popped: { readonly now: number; readonly total: number; readonly size: number },
  ): boolean;
  /** Whether to send the used-buffer notification now (G43, G44: the driver's suppression). */
  notifies(queue: DeviceQueue): boolean;
  // ---- requests (queues.ts, pages.ts) ------------------------------------------------
  /** The bytes the device reads as a request, given the chain and its readable bytes (G31b). */
  requestBytes(chain: Chain, readable: Uint8Array): Uint8Array;
  /** Used length of an inflate, deflate or reply buffer. */
  usedLength(queue: QueueName | "unknown", data: Uint8Array): number;
  /** Applies a request and uses its buffer; returns whether the buffer was used now (S-05, S-09). */
  applyAndUse(queue: ActingQueue, job: RequestJob): boolean;
  /** Why an inflate/deflate chain cannot be a request before its bytes are decoded, if it cannot. */
  chainError(queue: PageQueue, chain: Chain): Error | undefined;
  /** PFNs a request may name: below this bound (S-02), or any when undefined. */
  pfnLimit(): number | undefined;
  /** Decodes a PFN-array request (S-01). */
  decodePfns(data: Uint8Array): PageSet;
  /** Decodes a bitmap request. */
  decodeBitmap(queue: PageQueue, data: Uint8Array): { pages: PageSet; header: BitmapHeader };
  /** What the device does with a malformed inflate/deflate request (S-03). */
  rejectPages(queue: PageQueue, rejection: PageRejection): void;
  /** Takes deflated pages out of the host's balloon. */
  giveBack(pages: PageSet): void;
  // ---- statistics and misc requests (stats.ts, misc.ts) ------------------------------
  /** Checks a decoded stats buffer; throws a `ProtocolError` to reject it (B33, B34). */
  checkStats(entries: readonly StatEntry[]): void;
  /** The misc request the device issues for a cmd and param (R-17a). */
  unusedRequest(request: { cmd: number; param: bigint }): UnusedRequest;
  /** Issues a misc request (`issue` fills and records it; its buffer is used afterwards). */
  sendUnusedRequest(issue: () => void): void;
  /** Starts dirty logging for an unused-page round. */
  startDirtyLog(): void;
  // ---- the standard profile (hints.ts, reporting.ts) ---------------------------------
  /** How queue indices are assigned (S-11). */
  queueIndexModel(): QueueIndexModel;
  /** The command id of the next hint round, after `previous` (B48). */
  nextCmdId(previous: number): number;
  /** The value the device sets free_page_hint_cmd_id to once it no longer needs the hints (B52). */
  doneCmdId(): number;
  /** Reads the command id of a free_page_vq out buffer; throws a `ProtocolError` for a malformed one (S-10, B53). */
  readCmdId(data: Uint8Array): number;
  /** Where a round goes when an out buffer holding `cmdId` arrives (B49). */
  hintTransition(status: HintStatus, cmdId: number, current: number): HintStatus;
  /** Runs when the device sets DONE, with the pages hinted in the round (B51). */
  hintsDone(pages: PageSet): void;
  /** Runs at each available-buffer notification, before the device looks at the queue. */
  beforeNotify(index: number): void;
  /** The pages a report names; throws a `ProtocolError` for a malformed chain (S-10, S-02). */
  decodeReport(chain: Chain): PageSet;
  /** What the device does with reported pages: discard them or leave them alone (B64, B65). */
  reportAction(pages: PageSet): "discard" | "keep";
}

/**
 * How a deviation or a mutant of your own changes the device: overrides of
 * some seams, built once per device from its context.
 */
export type DeviceSeamOverride = (d: DeviceContext) => SeamOverrides<DeviceSeams>;

/** What a seam may read and use of the device. */
export interface DeviceContext {
  /** Profile. */
  readonly profile: ProfileId;
  /** Guest RAM in 4 KiB pages. */
  readonly guestPages: number;
  /** The transport (throws before the device is attached). */
  readonly transport: Transport;
  /** The seams in effect (every override applied). */
  readonly seams: DeviceSeams;
  /** Feature bits offered. */
  readonly deviceFeatures: bigint;
  /** Host view: the 4 KiB pages in the balloon (live). */
  readonly ballooned: PageSet;
  /** Byte order of `virtio*` fields. */
  readonly order: ByteOrder;
  /** Whether a feature is negotiated. */
  has(name: FeatureName): boolean;
  /** Uses a buffer now, whatever the host holds back. */
  pushUsed(buffer: DeviceBuffer): void;
  /** Uses a buffer now unless the host holds its queue's buffers back; true when used now. */
  useBuffer(buffer: DeviceBuffer): boolean;
  /** Applies well-formed pages to the host's balloon (inflate: discard; deflate: give back). */
  applyPages(queue: PageQueue, pages: PageSet): void;
  /** Runs `fn` later, in a device task of its own named `name`. */
  later(name: string, fn: () => void): void;
  /** Sends a queue's used-buffer notification, unless the driver suppressed it (G43, G44). */
  notifyQueue(index: number): void;
  /** Records a malformed request: trace, observation, and DEVICE_NEEDS_RESET if so configured. */
  malformed(event: RequestEvent, queue: QueueName, error: unknown): void;
}

const REQ_SIZE = structSize("balloon_req_hdr");
const CMD_BYTES = structSize("free_page_hint_cmd");
const CMD_FIELD = fieldOf("free_page_hint_cmd", "cmd_id");
const POISON_VAL = fieldOf("virtio_balloon_config", "poison_val");
const CMD_ID_DONE = enumValue("free_page_hint_cmd_id", "VIRTIO_BALLOON_CMD_ID_DONE");
const PAGE = 1 << VIRTIO_BALLOON_PFN_SHIFT;
const U32 = 2 ** 32;

/** The pages a chain's device-writable descriptors cover, each a whole number of pages of guest RAM. */
export function writablePages(
  chain: Chain,
  options: { readonly context: string; readonly rule: string; readonly guestPfns?: number },
): PageSet {
  const out = new PageSet();
  for (const [i, s] of chain.writable.entries()) {
    if (s.addr % PAGE !== 0 || s.len % PAGE !== 0 || s.len === 0) {
      throw new ProtocolError({
        code: "illegal-value",
        struct: options.context,
        field: `descriptor ${i}`,
        offset: 0,
        value: `[0x${s.addr.toString(16)}, +${s.len})`,
        expected: `whole ${PAGE}-byte pages`,
        rule: options.rule,
      });
    }
    const first = s.addr / PAGE;
    const n = s.len / PAGE;
    if (options.guestPfns !== undefined && first + n > options.guestPfns) {
      throw new ProtocolError({
        code: "out-of-range",
        struct: options.context,
        field: `descriptor ${i}`,
        offset: 0,
        value: `PFNs ${first}…${first + n - 1}`,
        expected: `pages of guest RAM (PFNs below ${options.guestPfns})`,
        rule: "S-02",
      });
    }
    out.addRange(first, n);
  }
  return out;
}

/** The reference decisions of the device. */
export function referenceDeviceSeams(d: DeviceContext): DeviceSeams {
  const guestPfns = () => {
    const limit = d.seams.pfnLimit();
    return limit === undefined ? {} : { guestPfns: limit };
  };
  return {
    offeredFeatures: (offer) => offer,
    // any offered subset whose dependencies hold (G15a); anything else is refused (G15b)
    acceptsFeatures: (driverFeatures) => {
      if ((driverFeatures & ~d.deviceFeatures) !== 0n) return false;
      if (unknownBits(d.profile, driverFeatures).length > 0) return false;
      const names = new Set(featureNames(d.profile, driverFeatures));
      return !featuresOf(d.profile).some((f) =>
        names.has(f.name) && f.requires.some((r) => !names.has(r))
      );
    },
    isLive: () => (d.transport.status & STATUS.DRIVER_OK) !== 0,
    // always little-endian, legacy interface too (B07)
    configByteOrder: () => "v1",
    // the host follows the driver's actual (S-12); over the legacy interface once its most
    // significant byte is in (B24), since a legacy driver may write it a byte at a time
    takesActual: (write) =>
      write.offset < ACTUAL.offset + ACTUAL_BYTES && write.offset + write.size > ACTUAL.offset &&
      (!d.transport.isLegacy || write.offset + write.size >= ACTUAL.offset + ACTUAL_BYTES),
    reset: () => {},

    // every available chain, however often the ring has wrapped
    keepsPopping: () => true,
    // as the driver asks: avail.flags, or used_event with EVENT_IDX (G43a, G44a)
    notifies: (queue) => queue.needsNotify(),

    // only the device-readable descriptors (G31b)
    requestBytes: (_chain, readable) => readable,
    // the device writes nothing into these buffers
    usedLength: () => 0,
    // apply, then use (S-05)
    applyAndUse: (_queue, job) => {
      job.apply();
      return d.useBuffer(job.buffer);
    },
    chainError: (queue, chain) =>
      chain.writable.length > 0
        ? new RangeError(
          `Cannot decode ${queue} request: ${chain.writable.length} device-writable descriptors, expected only device-readable ones (rule G31b)`,
        )
        : undefined,
    pfnLimit: () => d.guestPages,
    decodePfns: (data) => PageSet.of(decodePfnArray(data, { order: d.order, ...guestPfns() })),
    decodeBitmap: (queue, data) => {
      const r = decodeBitmapRequest(data, {
        order: d.order,
        context: queue === "inflateq" ? "inflate" : "deflate",
        ...guestPfns(),
      });
      return { pages: r.pages, header: r.header };
    },
    // rejected as a whole: no host state changes (S-03)
    rejectPages: (queue, r) => d.malformed(r.event, queue, r.error),
    giveBack: (pages) => {
      d.ballooned.subtract(pages);
    },

    // unknown tags are ignored and any order is fine (B33, B34)
    checkStats: () => {},
    // the whole 16-byte buffer, reserved 0, used length 16 (R-17a)
    unusedRequest: (request) => ({
      header: { cmd: request.cmd, reserved: [0, 0, 0], param: request.param },
      usedLength: REQ_SIZE,
    }),
    // dirty logging first, so a page written after the request is still migrated
    sendUnusedRequest: (issue) => {
      d.seams.startDirtyLog();
      issue();
    },
    startDirtyLog: () => d.transport.mem.startDirtyLog(),

    // dense, by the negotiated features (S-11)
    queueIndexModel: () => "compacted",
    // counting up from QEMU's first id, wrapping back to it: an id comes back only after
    // 2^31 rounds, each of which the driver has stopped long before (B48)
    nextCmdId: (previous) =>
      previous < FREE_PAGE_HINT_CMD_ID_MIN || previous + 1 >= U32
        ? FREE_PAGE_HINT_CMD_ID_MIN
        : previous + 1,
    doneCmdId: () => CMD_ID_DONE, // B52
    // exactly 4 bytes (S-10), in virtio byte order (B53)
    readCmdId: (data) => {
      if (data.length !== CMD_BYTES) {
        throw new ProtocolError({
          code: "length-mismatch",
          struct: "free_page_hint_cmd",
          field: CMD_FIELD.name,
          offset: 0,
          value: `${data.length} bytes`,
          expected: `exactly ${CMD_BYTES} bytes`,
          rule: "B37",
        });
      }
      return Number(
        readScalar(new DataView(data.buffer, data.byteOffset), 0, CMD_FIELD.type, d.order),
      );
    },
    // a round starts on its own id, and any out buffer in a started round stops it (B49)
    hintTransition: (status, cmdId, current) =>
      status === "requested" && cmdId === current ? "start" : status === "start" ? "stop" : status,
    hintsDone: () => {}, // hinted pages are never changed (B51)
    beforeNotify: () => {},
    // only device-writable descriptors, whole pages of guest RAM (S-10, S-02)
    decodeReport: (chain) => {
      if (chain.readable.length > 0) {
        throw new ProtocolError({
          code: "illegal-value",
          struct: "reporting_vq chain",
          field: "descriptor 0",
          offset: 0,
          value: `${chain.readable.length} device-readable descriptors`,
          expected: "only device-writable descriptors",
          rule: "S-10",
        });
      }
      return writablePages(chain, { context: "reporting_vq chain", rule: "S-10", ...guestPfns() });
    },
    // with PAGE_POISON and a non-zero poison_val a discard (zeros) would break B65: keep them
    reportAction: () => {
      if (!d.has("PAGE_POISON")) return "discard";
      const config = new DataView(d.transport.config.buffer);
      const poison = Number(readScalar(config, POISON_VAL.offset, POISON_VAL.type, "v1"));
      return poison === 0 ? "discard" : "keep";
    },
  };
}
