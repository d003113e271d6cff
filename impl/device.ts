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
 * Deviations (`deviations.ts`) plug into the device's seams
 * (`device/seams.ts`) and touch none of its code. The request path, in
 * reading order: `device/queues.ts` (a notification), then `device/pages.ts`,
 * `device/stats.ts` or `device/misc.ts` by the queue's role.
 *
 * @module
 */

import { referenceFeatures } from "./features.ts";
import {
  concatChain,
  featureMask,
  type FeatureName,
  featureNames,
  fieldOf,
  type PageSet,
  type ProfileId,
  queueLayout,
  type QueueName,
  readScalar,
  type StatEntry,
  structSize,
  writeScalar,
} from "../spec/mod.ts";
import { DEVICE_DEVIATION_SEAMS } from "./deviations/mod.ts";
import type { DeviceDeviation } from "./deviations.ts";
import {
  DeviceCore,
  type DeviceCounters,
  type DeviceObservation,
  type DeviceRejection,
  type UnusedPageRound,
} from "./device/core.ts";
import { finishHinting, type HintRound, startHinting, stopHinting } from "./device/hints.ts";
import { requestUnusedPages } from "./device/misc.ts";
import { auditQueues, notify } from "./device/queues.ts";
import { type DeviceSeamOverride, referenceDeviceSeams } from "./device/seams.ts";
import { requestStats } from "./device/stats.ts";
import { composeSeams, pick } from "./seams.ts";
import type { DeviceModel, Transport } from "./transport.ts";

export type {
  DeviceCounters,
  DeviceObservation,
  DeviceRejection,
  UnusedPageRound,
} from "./device/core.ts";
export type { UnusedPagesRequest } from "./device/misc.ts";
export type { HintRound } from "./device/hints.ts";
export type {
  ActingQueue,
  DeviceBuffer,
  DeviceContext,
  DeviceSeamOverride,
  DeviceSeams,
  HintStatus,
  PageQueue,
  PageRejection,
  RequestEvent,
  RequestJob,
  UnusedRequest,
} from "./device/seams.ts";
export { referenceDeviceSeams } from "./device/seams.ts";

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
  /** More seam overrides, applied after the deviations (a mutant of your own). */
  readonly seams?: readonly DeviceSeamOverride[];
}

const NUM_PAGES = fieldOf("virtio_balloon_config", "num_pages");
const ACTUAL = fieldOf("virtio_balloon_config", "actual");
const POISON_VAL = fieldOf("virtio_balloon_config", "poison_val");

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
  readonly ballooned: PageSet;
  /** What the device did. */
  readonly counters: DeviceCounters;
  /** Behaviour of the driver the device noticed. */
  readonly observations: DeviceObservation[];
  /** Unused-page rounds, oldest first. */
  readonly rounds: UnusedPageRound[];
  /** Requests and chains rejected as malformed, oldest first. */
  readonly rejections: DeviceRejection[];
  #d: DeviceCore;

  /**
   * Creates a device; attach it with `new Transport(mem, sched, device)`. An
   * unknown deviation name is a `TypeError`.
   */
  constructor(options: DeviceOptions) {
    this.profile = options.profile ?? "v3";
    this.guestPages = options.guestPages;
    this.deviations = new Set(options.deviations ?? []);
    const overrides = [
      ...pick(DEVICE_DEVIATION_SEAMS, this.deviations, "deviations"),
      ...(options.seams ?? []),
    ];
    this.#d = new DeviceCore(
      {
        profile: this.profile,
        guestPages: options.guestPages,
        queueSize: options.queueSize ?? 256,
        onMalformed: options.onMalformed ?? "reject",
        keepBytes: options.keepBytes ?? false,
      },
      (d) => composeSeams(referenceDeviceSeams(d), overrides.map((o) => o(d))),
    );
    const offer = this.#d.seams.offeredFeatures(options.offer ?? referenceFeatures(this.profile));
    this.deviceFeatures = featureMask(this.profile, offer);
    this.#d.deviceFeatures = this.deviceFeatures;
    this.configSize = structSize("virtio_balloon_config", this.profile);
    this.ballooned = this.#d.ballooned;
    this.counters = this.#d.counters;
    this.observations = this.#d.observations;
    this.rounds = this.#d.rounds;
    this.rejections = this.#d.rejections;
  }

  /** Whether a feature is negotiated now (under the device's profile). */
  has(name: FeatureName): boolean {
    return this.#d.has(name);
  }

  /** Features the reference device implements for a profile. */
  static implemented(profile: ProfileId): readonly FeatureName[] {
    return referenceFeatures(profile);
  }

  // ---- DeviceModel --------------------------------------------------------------

  /** Binds the device to its transport (called by the transport). */
  attach(transport: Transport): void {
    this.#d.attach(transport);
  }

  /** Queues exist by offered features (as QEMU decides), compacted (S-11). */
  queueMaxSize(index: number): number {
    const offered = new Set(featureNames(this.profile, this.deviceFeatures));
    const layout = queueLayout(this.profile, offered, this.#d.seams.queueIndexModel());
    return layout.some((q) => q.index === index) ? this.#d.queueSize : 0;
  }

  /** Accepts any subset of the offered features that respects dependencies (G15); refuses others. */
  featuresOk(driverFeatures: bigint): boolean {
    if (!this.#d.seams.acceptsFeatures(driverFeatures)) return false;
    this.#d.assignRoles(driverFeatures);
    return true;
  }

  /** DRIVER_OK: the queues are live (legacy drivers: the features written are final). */
  driverOk(): void {
    const t = this.#d.transport;
    if (t.isLegacy) this.#d.assignRoles(t.negotiated);
  }

  /** The driver wrote config space: the host takes `actual` from it when the seam says so (S-12, B24). */
  configWritten(offset: number, size: number): void {
    const d = this.#d;
    if (d.seams.takesActual({ offset, size })) {
      const config = new DataView(d.transport.config.buffer);
      d.hostActual = Number(readScalar(config, ACTUAL.offset, ACTUAL.type, "v1"));
    }
  }

  /** Device reset: forget queue roles and held buffers (the host's balloon view stays); a hint round stops. */
  reset(): void {
    const d = this.#d;
    const round = d.hintRounds[d.hintRounds.length - 1];
    if (round !== undefined && round.status !== "done") round.status = "stop";
    d.roles.clear();
    d.statsChain = undefined;
    d.requestChain = undefined;
    d.seams.reset();
    d.deferredUsed = [];
  }

  /** Available-buffer notification: process every available chain of the queue (`device/queues.ts`). */
  notify(index: number): void {
    notify(this.#d, index);
  }

  /**
   * Looks at the driver's available rings as they are now and records what
   * breaks the rules as `ring-fault` events in the transport's log (each
   * state once): an avail index that went back (G40), avail flags out of
   * range (G41a) and, when the driver is `quiet` (it has nothing left to run),
   * entries it made available without the notification the device asked for
   * (G49a, G50a). A harness calls it between the steps of a scenario.
   */
  auditRings(options: { readonly quiet: boolean }): void {
    auditQueues(this.#d, options);
  }

  // ---- host controls -----------------------------------------------------------------

  /** Target balloon size in 4 KiB pages (`num_pages`). */
  get target(): number {
    const config = new DataView(this.#d.transport.config.buffer);
    return Number(
      readScalar(config, NUM_PAGES.offset, NUM_PAGES.type, this.#d.seams.configByteOrder()),
    );
  }

  /** The `actual` the host took from the driver (S-12). */
  get actual(): number {
    return this.#d.hostActual;
  }

  /** Sets the target and sends a config-change notification. */
  setTarget(pages: number): void {
    const t = this.#d.transport;
    const order = this.#d.seams.configByteOrder();
    const type = order === "v1" ? NUM_PAGES.type : "virtio32";
    writeScalar(new DataView(t.config.buffer), NUM_PAGES.offset, type, order, pages);
    t.record({ kind: "host", action: "set-target", value: pages });
    t.configChanged();
  }

  /** Holds back the use of buffers on some queues (a slow device); {@link releaseUsed} lets them go. */
  holdUsed(queues: readonly QueueName[]): void {
    for (const q of queues) this.#d.holdUsed.add(q);
  }

  /** Uses every held buffer and stops holding. */
  releaseUsed(): void {
    const d = this.#d;
    d.holdUsed.clear();
    const list = d.deferredUsed;
    d.deferredUsed = [];
    const touched = new Set<number>();
    for (const u of list) {
      const dq = d.transport.deviceQueue(u.index);
      if (dq === undefined) continue;
      d.push(u.index, dq, u.head, u.len);
      touched.add(u.index);
    }
    for (const i of touched) {
      const dq = d.transport.deviceQueue(i);
      if (dq !== undefined) d.notifyUsed(i, dq);
    }
  }

  /** The last statistics received (undefined before the first buffer). */
  get lastStats(): readonly StatEntry[] | undefined {
    return this.#d.lastStats;
  }

  /** How many stats buffers were decoded. */
  get statsUpdates(): number {
    return this.#d.statsUpdates;
  }

  /** Asks the guest for fresh statistics: uses the held buffer. False if none is held. */
  requestStats(): boolean {
    return requestStats(this.#d);
  }

  /** Whether a misc request buffer is available to the device. */
  get canRequestUnusedPages(): boolean {
    return this.#d.requestChain !== undefined;
  }

  /**
   * Issues GET_UNUSED_PAGES (MISC_VQ): starts dirty logging first,
   * fills the driver's request buffer and uses it with length 16 (R-17a).
   * Returns the round, or undefined when no request buffer is available.
   */
  requestUnusedPages(
    options: { param?: bigint; cmd?: number; usedLength?: number } = {},
  ): UnusedPageRound | undefined {
    return requestUnusedPages(this.#d, options);
  }

  /** The most recent round of unused-page hints. */
  get lastRound(): UnusedPageRound | undefined {
    return this.rounds[this.rounds.length - 1];
  }

  // ---- the standard profile ------------------------------------------------------------

  /**
   * Starts a free-page-hint round (FREE_PAGE_HINT): a new command id in
   * free_page_hint_cmd_id and a config-change notification (B48). With
   * `stopAfter` the host sets STOP itself once that many pages were hinted.
   */
  startHinting(options: { readonly stopAfter?: number } = {}): HintRound {
    return startHinting(this.#d, options);
  }

  /** Sets free_page_hint_cmd_id to STOP: the host can use no more hints (B47). */
  stopHinting(): void {
    stopHinting(this.#d);
  }

  /** Sets free_page_hint_cmd_id to DONE: the host no longer needs the hinted pages (B52). */
  finishHinting(): void {
    finishHinting(this.#d);
  }

  /** Free-page-hint rounds, oldest first. */
  get hintRounds(): readonly HintRound[] {
    return this.#d.hintRounds;
  }

  /** Every page named by a well-formed report (free page reporting). */
  get reported(): PageSet {
    return this.#d.reported;
  }

  /** The poison_val the driver wrote (meaningful with PAGE_POISON). */
  get poisonValue(): number {
    const config = new DataView(this.#d.transport.config.buffer);
    return this.configSize > POISON_VAL.offset
      ? Number(readScalar(config, POISON_VAL.offset, POISON_VAL.type, "v1"))
      : 0;
  }
}

/** Concatenates chain buffers (re-exported for harnesses). */
export { concatChain };
