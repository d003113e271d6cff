/**
 * The driver initialisation sequence of virtio 1.2 §3.1.1 over a
 * {@link VirtioPciTransport}, for tests, figures and self-tests of the qtest
 * target: reset, ACKNOWLEDGE, DRIVER, features (FEATURES_OK and its re-read
 * on the modern interface), queues in the suite's RAM with a
 * {@link DriverQueue} each, DRIVER_OK. It is not the suite's device runner:
 * that drives the same transport step by step.
 *
 * @module
 */

import {
  enumValue,
  featureBit,
  type FeatureName,
  hasFeature,
  type ProfileId,
} from "../../../spec/mod.ts";
import {
  DriverQueue,
  type QueueFeatures,
  ringBytes,
  type RingLayout,
  ringLayout,
} from "../../../impl/mod.ts";
import { TargetError } from "../bridge/target_error.ts";
import { LEGACY_QUEUE_UNIT } from "./legacy.ts";
import type { VirtioPciTransport } from "./transport.ts";

/** Options of {@link bringUp}. */
export interface BringUpOptions {
  /** Features the driver accepts if offered (default: VERSION_1, EVENT_IDX, INDIRECT_DESC, STATS_VQ). */
  readonly want?: readonly FeatureName[];
  /** Queue indices to set up (default 0, 1, and 2 when STATS_VQ is negotiated). */
  readonly queues?: readonly number[];
  /** Size of each modern queue (default: the device's maximum; legacy always uses it). */
  readonly queueSize?: number;
  /** Stop before DRIVER_OK (default false). */
  readonly withoutDriverOk?: boolean;
}

/** A queue set up by {@link bringUp}. */
export interface QueueSetup<T> {
  /** Index. */
  readonly index: number;
  /** Where its rings are. */
  readonly layout: RingLayout;
  /** The suite's driver side of it, on QEMU's RAM. */
  readonly driver: DriverQueue<T>;
}

/** What {@link bringUp} did. */
export interface BroughtUp<T> {
  /** Features the device offered. */
  readonly offered: bigint;
  /** Features negotiated. */
  readonly features: bigint;
  /** How the rings are read and written. */
  readonly queueFeatures: QueueFeatures;
  /** The queues. */
  readonly queues: readonly QueueSetup<T>[];
}

const PROFILE: ProfileId = "virtio-1.x";
const DEFAULT_WANT: readonly FeatureName[] = [
  "VERSION_1",
  "EVENT_IDX",
  "INDIRECT_DESC",
  "STATS_VQ",
];

function status(name: string): number {
  return enumValue("device_status", name);
}

/** Negotiated facts that change how a queue is read and written. */
export function queueFeaturesOf(
  features: bigint,
  legacyOrder: "legacy-le" | "legacy-be",
): QueueFeatures {
  return {
    order: hasFeature(PROFILE, features, "VERSION_1") ? "v1" : legacyOrder,
    eventIdx: hasFeature(PROFILE, features, "EVENT_IDX"),
    indirect: hasFeature(PROFILE, features, "INDIRECT_DESC"),
  };
}

/** Runs the initialisation sequence; a device that refuses FEATURES_OK is a {@link TargetError}. */
export function bringUp<T>(t: VirtioPciTransport, options: BringUpOptions = {}): BroughtUp<T> {
  t.reset();
  let s = status("ACKNOWLEDGE");
  t.writeStatus(s);
  s |= status("DRIVER");
  t.writeStatus(s);
  const offered = t.readDeviceFeatures();
  let want = 0n;
  for (const name of options.want ?? DEFAULT_WANT) want |= 1n << BigInt(featureBit(PROFILE, name));
  const features = offered & want;
  t.writeDriverFeatures(features);
  if (!t.legacy) {
    s |= status("FEATURES_OK");
    t.writeStatus(s);
    const back = t.readStatus();
    if ((back & status("FEATURES_OK")) === 0) {
      throw new TargetError({
        kind: "refused",
        target: "virtio PCI device",
        message: `The device cleared FEATURES_OK (status 0x${back.toString(16)}) for features 0x${
          features.toString(16)
        }`,
      });
    }
  }
  const queueFeatures = queueFeaturesOf(
    features,
    t.order === "legacy-be" ? "legacy-be" : "legacy-le",
  );
  const indices = options.queues ??
    (hasFeature(PROFILE, features, "STATS_VQ") ? [0, 1, 2] : [0, 1]);
  const queues: QueueSetup<T>[] = [];
  for (const index of indices) {
    const max = t.queueMaxSize(index);
    if (max === 0) {
      throw new RangeError(`Invalid queue index: ${index}, the device has no such queue`);
    }
    const size = t.legacy ? max : Math.min(options.queueSize ?? max, max);
    const geometry = t.legacy ? { legacy: true, legacyAlign: LEGACY_QUEUE_UNIT } : {};
    const base = t.memory.alloc(ringBytes(size, geometry), LEGACY_QUEUE_UNIT);
    const layout = ringLayout(base, size, geometry);
    const driver = new DriverQueue<T>(t.memory, layout, queueFeatures, { queue: index });
    t.setupQueue(index, layout);
    queues.push({ index, layout, driver });
  }
  if (options.withoutDriverOk !== true) t.writeStatus(s | status("DRIVER_OK"));
  return { offered, features, queueFeatures, queues };
}
