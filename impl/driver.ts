/**
 * The reference balloon driver (profile v3, intended semantics; the standard
 * profile's base bits 0–2 too). With quirks it reproduces the seed's code as
 * posted, one defect at a time (see `quirks.ts`); with deviations it makes
 * the suite's deliberate mistakes (see `deviations.ts`). Both plug into the
 * driver's seams (`driver/seams.ts`) and touch none of its code.
 *
 * Everything blocking is a generator task on the guest's scheduler: a request
 * is added, the device notified, and the task waits on a wait queue that the
 * used-buffer interrupt wakes — as the seed's `tell_host` does with
 * `wait_event`. The request path, in reading order: `driver/probe.ts`
 * (negotiation, queues), `driver/balloon.ts` (inflate and deflate passes),
 * `driver/bitmaps.ts` and `driver/requests.ts` (the chain, `tell_host`),
 * `Transport.notify`, then the device's `device/queues.ts`.
 *
 * @module
 */

import { referenceFeatures } from "./features.ts";
import {
  BALLOON_BMAP_COUNT,
  type FeatureName,
  OOM_VBALLOON_DEFAULT_PAGES,
  type PageSet,
  type ProfileId,
  type QueueName,
  structSize,
} from "../spec/mod.ts";
import { chunkLengths, type PlannedWindow } from "./bitmap_plan.ts";
import { DRIVER_DEVIATION_SEAMS } from "./deviations/mod.ts";
import type { DriverDeviation } from "./deviations.ts";
import { oomNotify } from "./driver/balloon.ts";
import { DriverCore, type DriverCounters } from "./driver/core.ts";
import { freeze, migratePage, remove, restore } from "./driver/lifecycle.ts";
import { probe } from "./driver/probe.ts";
import { type DriverSeamOverride, type GuestAbi, referenceDriverSeams } from "./driver/seams.ts";
import type { GuestEnv } from "./guest.ts";
import type { QuirkId } from "./quirks.ts";
import { QUIRK_SEAMS } from "./quirks/mod.ts";
import type { TaskBody } from "./scheduler.ts";
import { composeSeams, pick } from "./seams.ts";
import type { Transport } from "./transport.ts";

export type { DriverCounters } from "./driver/core.ts";
export type {
  BitmapChain,
  BitmapQueue,
  BitmapWindow,
  DriverContext,
  DriverQueueUse,
  DriverSeamOverride,
  DriverSeams,
  DriverToken,
  FeatureDependency,
  GuestAbi,
  InflatePass,
  MiscOutcome,
  MiscRequest,
  PageBlock,
  PagePass,
  PoisonReason,
  RingInfo,
  StatsBuffer,
  StatsChain,
} from "./driver/seams.ts";
export { honourDependencies, referenceDriverSeams } from "./driver/seams.ts";
export { guestStatistics } from "./driver/stats.ts";

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
  /** More seam overrides, applied after the quirks and deviations (a mutant of your own). */
  readonly seams?: readonly DriverSeamOverride[];
}

/**
 * The balloon driver.
 *
 * @example
 * ```ts
 * import { BalloonDevice, BalloonDriver, GuestEnv, Transport } from "./mod.ts";
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
 *
 * @example A mutant of your own: one seam override, no change to the driver.
 * ```ts
 * import { BalloonDriver, type DriverSeamOverride, Testbed } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const offByTwo: DriverSeamOverride = () => ({ actualValue: (base) => (n) => base(n) + 2 });
 * const tb = new Testbed({ pages: 65_536, driver: { seams: [offByTwo] } });
 * assert.equal(tb.probe(), true);
 * tb.setTarget(100);
 * assert.equal(tb.device.actual, 102);
 * assert.ok(tb.driver instanceof BalloonDriver);
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
  readonly counters: DriverCounters;
  #vb: DriverCore;

  /**
   * Creates a driver bound to a guest and a transport; call {@link probe} to
   * start it. An unknown quirk or deviation name is a `TypeError`.
   */
  constructor(guest: GuestEnv, transport: Transport, options: DriverOptions = {}) {
    this.guest = guest;
    this.transport = transport;
    this.profile = options.profile ?? "v3";
    this.quirks = new Set(options.quirks ?? []);
    this.abi = {
      bitsPerLong: options.abi?.bitsPerLong ?? 64,
      pageShift: options.abi?.pageShift ?? 12,
    };
    this.deviations = new Set(options.deviations ?? []);
    const overrides = [
      ...pick(QUIRK_SEAMS, this.quirks, "quirks"),
      ...pick(DRIVER_DEVIATION_SEAMS, this.deviations, "deviations"),
      ...(options.seams ?? []),
    ];
    this.#vb = new DriverCore(
      {
        guest,
        transport,
        profile: this.profile,
        abi: this.abi,
        oomPages: options.oomPages ?? OOM_VBALLOON_DEFAULT_PAGES,
        accept: options.accept ?? referenceFeatures(this.profile),
        failBitmapAllocation: options.failBitmapAllocation ?? false,
        bitmapLimit: Math.min(BALLOON_BMAP_COUNT, options.bitmapLimit ?? BALLOON_BMAP_COUNT),
      },
      (vb) => composeSeams(referenceDriverSeams(vb), overrides.map((o) => o(vb))),
    );
    this.counters = this.#vb.counters;
  }

  // ---- observable state ----------------------------------------------------

  /** 4 KiB pages in the balloon (`vb->num_pages`). */
  get numPages(): number {
    return this.#vb.numPages;
  }

  /** The 4 KiB PFNs in the balloon (a copy). */
  get balloon(): PageSet {
    return this.#vb.balloon.clone();
  }

  /** Features negotiated with the device (what FEATURES_OK accepted). */
  get negotiated(): bigint {
    return this.#vb.negotiated;
  }

  /** Features the driver actually uses (differs from negotiated only when a seam decides them after FEATURES_OK). */
  get features(): bigint {
    return this.#vb.features;
  }

  /** Bitmaps the driver holds (`nr_page_bmap`). */
  get nrBitmaps(): number {
    return this.#vb.bitmaps.length;
  }

  /** Queue index of each role in use. */
  get queueRoles(): ReadonlyMap<QueueName, number> {
    return this.#vb.roles;
  }

  /** Whether probe finished and DRIVER_OK is set. */
  get ready(): boolean {
    return this.#vb.ready;
  }

  // ---- tasks -----------------------------------------------------------------

  /** Probes the device: negotiate, set up queues, prime statsq/miscq, DRIVER_OK (a task). */
  probe(): TaskBody<boolean> {
    return probe(this.#vb);
  }

  /** The OOM notifier: deflate at most oomPages, only with DEFLATE_ON_OOM (a task). */
  oomNotify(): TaskBody<number> {
    return oomNotify(this.#vb);
  }

  /**
   * Balloon-page migration: a new page replaces `oldPfn` in the balloon;
   * the new page is reported on inflateq, then the old one on deflateq. A task.
   */
  migratePage(oldPfn: number): TaskBody<boolean> {
    return migratePage(this.#vb, oldPfn);
  }

  /** Remove: stop, deflate everything, actual = 0, reset, free buffers. A task. */
  remove(): TaskBody<void> {
    return remove(this.#vb);
  }

  /** Freeze: deflate everything and reset, keeping the driver's buffers. A task. */
  freeze(): TaskBody<void> {
    return freeze(this.#vb);
  }

  /** Restore: renegotiate, set queues up again, DRIVER_OK, resume. A task. */
  restore(): TaskBody<boolean> {
    return restore(this.#vb);
  }

  /** Features of the profile that the driver implements. */
  static implemented(profile: ProfileId): readonly FeatureName[] {
    return referenceFeatures(profile);
  }

  /** Bytes of a descriptor (for callers sizing indirect tables). */
  static readonly DESCRIPTOR_BYTES: number = structSize("virtq_desc");
  /** Size of one statistics entry. */
  static readonly STAT_BYTES: number = structSize("virtio_balloon_stat");
}

/** Re-exported for planners. */
export type { PlannedWindow };
export { chunkLengths };
