/**
 * Feature bits of both profiles, and the transport bits they share.
 *
 * @module
 */

import type { BalloonFeatureName, FeatureName, ProfileId, TransportFeatureName } from "./types.ts";

/** Names of the virtqueues a balloon device can have. */
export type QueueName =
  | "inflateq"
  | "deflateq"
  | "statsq"
  | "miscq"
  | "free_page_vq"
  | "reporting_vq";

/** One feature bit as defined by one or more profiles. */
export interface FeatureBit {
  /** Bit number in the 64-bit feature word. */
  readonly bit: number;
  /** Short name, without the `VIRTIO_BALLOON_F_` / `VIRTIO_F_` prefix. */
  readonly name: FeatureName;
  /** The C macro that names it. */
  readonly macro: string;
  /** Profiles in which the bit has this meaning. */
  readonly profiles: readonly ProfileId[];
  /** One-line meaning. */
  readonly meaning: string;
  /** Queues that exist only when this feature is negotiated. */
  readonly queues: readonly QueueName[];
  /** Features that must be negotiated with it (G09: the driver must not accept it alone). */
  readonly requires: readonly FeatureName[];
  /** Config-space fields that are valid only with it. */
  readonly configFields: readonly string[];
  /** Where it is defined. */
  readonly source: string;
  /** Whether it is a device-type bit (balloon) or a transport bit. */
  readonly kind: "balloon" | "transport";
  /** For transport bits: legacy-only bits that a modern driver must not negotiate. */
  readonly legacyOnly?: boolean;
}

const BOTH: readonly ProfileId[] = ["v3", "virtio-1.x"];

/** Balloon feature bits of both profiles. Bits 3 and 4 collide between them. */
export const BALLOON_FEATURES: readonly FeatureBit[] = [
  {
    bit: 0,
    name: "MUST_TELL_HOST",
    macro: "VIRTIO_BALLOON_F_MUST_TELL_HOST",
    profiles: BOTH,
    meaning:
      "The host must be told (deflate request used) before the guest reuses a ballooned page",
    queues: [],
    requires: [],
    configFields: [],
    source: "uapi virtio_balloon.h; virtio 1.x §5.5.3",
    kind: "balloon",
  },
  {
    bit: 1,
    name: "STATS_VQ",
    macro: "VIRTIO_BALLOON_F_STATS_VQ",
    profiles: BOTH,
    meaning: "A statistics virtqueue exists; the guest reports memory statistics on it",
    queues: ["statsq"],
    requires: [],
    configFields: [],
    source: "uapi virtio_balloon.h; virtio 1.x §5.5.3",
    kind: "balloon",
  },
  {
    bit: 2,
    name: "DEFLATE_ON_OOM",
    macro: "VIRTIO_BALLOON_F_DEFLATE_ON_OOM",
    profiles: BOTH,
    meaning:
      "The guest may deflate on its own when it runs out of memory; ballooned pages stay managed",
    queues: [],
    requires: [],
    configFields: [],
    source: "uapi virtio_balloon.h; virtio 1.x §5.5.3",
    kind: "balloon",
  },
  {
    bit: 3,
    name: "PAGE_BITMAP",
    macro: "VIRTIO_BALLOON_F_PAGE_BITMAP",
    profiles: ["v3"],
    meaning:
      "Inflate and deflate requests carry a 32-byte bitmap header and bitmap chunks instead of PFN arrays",
    queues: [],
    requires: [],
    configFields: [],
    source: "seed patch 2/7 (uapi)",
    kind: "balloon",
  },
  {
    bit: 4,
    name: "MISC_VQ",
    macro: "VIRTIO_BALLOON_F_MISC_VQ",
    profiles: ["v3"],
    meaning:
      "A host-request queue (index 3) on which the host asks for, and the guest reports, unused pages",
    queues: ["miscq"],
    requires: ["STATS_VQ"],
    configFields: [],
    source: "seed patch 6/7 (uapi), 7/7 init_vqs",
    kind: "balloon",
  },
  {
    bit: 3,
    name: "FREE_PAGE_HINT",
    macro: "VIRTIO_BALLOON_F_FREE_PAGE_HINT",
    profiles: ["virtio-1.x"],
    meaning: "free_page_vq exists; config free_page_hint_cmd_id is valid",
    queues: ["free_page_vq"],
    requires: [],
    configFields: ["free_page_hint_cmd_id"],
    source: "virtio 1.2 §5.5.3",
    kind: "balloon",
  },
  {
    bit: 4,
    name: "PAGE_POISON",
    macro: "VIRTIO_BALLOON_F_PAGE_POISON",
    profiles: ["virtio-1.x"],
    meaning:
      "The guest writes poison_val into pages after deflating them; config poison_val is valid",
    queues: [],
    requires: [],
    configFields: ["poison_val"],
    source: "virtio 1.2 §5.5.3",
    kind: "balloon",
  },
  {
    bit: 5,
    name: "PAGE_REPORTING",
    macro: "VIRTIO_BALLOON_F_PAGE_REPORTING",
    profiles: ["virtio-1.x"],
    meaning: "reporting_vq exists; the guest reports free pages it will not use until acked",
    queues: ["reporting_vq"],
    requires: [],
    configFields: [],
    source: "virtio 1.2 §5.5.3 (Linux and QEMU: VIRTIO_BALLOON_F_REPORTING)",
    kind: "balloon",
  },
];

function transport(
  bit: number,
  name: TransportFeatureName,
  meaning: string,
  source: string,
  legacyOnly = false,
): FeatureBit {
  const macro = name === "UNUSED_30" ? "(bit 30, unnamed)" : `VIRTIO_F_${name}`;
  return {
    bit,
    name,
    macro,
    profiles: BOTH,
    meaning,
    queues: [],
    requires: [],
    configFields: [],
    source,
    kind: "transport",
    ...(legacyOnly ? { legacyOnly } : {}),
  };
}

/** Reserved (transport) feature bits, shared by both profiles (virtio 1.x §6). */
export const TRANSPORT_FEATURES: readonly FeatureBit[] = [
  transport(
    24,
    "NOTIFY_ON_EMPTY",
    "Legacy: device notifies when the avail ring runs empty",
    "virtio 1.x §6.3",
    true,
  ),
  transport(
    27,
    "ANY_LAYOUT",
    "Legacy: device accepts any descriptor layout",
    "virtio 1.x §6.3",
    true,
  ),
  transport(28, "INDIRECT_DESC", "Driver may use indirect descriptors", "virtio 1.x §6"),
  transport(29, "EVENT_IDX", "used_event / avail_event notification suppression", "virtio 1.x §6"),
  transport(
    30,
    "UNUSED_30",
    "Legacy: bit 30 must not be negotiated (formerly BAD_FEATURE)",
    "virtio 1.x §6.3",
    true,
  ),
  transport(
    32,
    "VERSION_1",
    "Compliance with virtio 1.x; all fields little-endian",
    "virtio 1.x §6",
  ),
  transport(
    33,
    "ACCESS_PLATFORM",
    "Device accesses memory through the platform IOMMU",
    "virtio 1.x §6",
  ),
  transport(34, "RING_PACKED", "Packed virtqueue layout", "virtio 1.x §6"),
  transport(
    35,
    "IN_ORDER",
    "Buffers are used in the order they were made available",
    "virtio 1.x §6",
  ),
  transport(36, "ORDER_PLATFORM", "Platform memory ordering for ring accesses", "virtio 1.x §6"),
  transport(37, "SR_IOV", "Single-root I/O virtualisation", "virtio 1.x §6"),
  transport(
    38,
    "NOTIFICATION_DATA",
    "Extra data in available-buffer notifications",
    "virtio 1.x §6",
  ),
  transport(39, "NOTIF_CONFIG_DATA", "Notification data from config space", "virtio 1.x §6"),
  transport(40, "RING_RESET", "Individual virtqueue reset", "virtio 1.x §6"),
  transport(41, "ADMIN_VQ", "Administration virtqueue", "virtio 1.x §6"),
  transport(43, "SUSPEND", "Device suspend (status bit SUSPEND)", "virtio 1.4 §6"),
];

/** Every feature bit of one profile: its balloon bits followed by the transport bits. */
export function featuresOf(profile: ProfileId): readonly FeatureBit[] {
  let list = BY_PROFILE.get(profile);
  if (list === undefined) {
    list = [...BALLOON_FEATURES, ...TRANSPORT_FEATURES].filter((f) => f.profiles.includes(profile));
    BY_PROFILE.set(profile, list);
  }
  return list;
}

const BY_PROFILE = new Map<ProfileId, readonly FeatureBit[]>();

/** Looks a feature up by name in one profile; `undefined` if the profile does not define it. */
export function findFeature(profile: ProfileId, name: FeatureName): FeatureBit | undefined {
  return featuresOf(profile).find((f) => f.name === name);
}

/**
 * The feature with the given name in the given profile.
 *
 * @example
 * ```ts
 * import { featureBit } from "./features.ts";
 * import assert from "node:assert/strict";
 * assert.equal(featureBit("v3", "PAGE_BITMAP"), 3);
 * assert.equal(featureBit("virtio-1.x", "FREE_PAGE_HINT"), 3);
 * ```
 */
export function featureBit(profile: ProfileId, name: FeatureName): number {
  const f = findFeature(profile, name);
  if (f === undefined) {
    throw new RangeError(`Feature ${name} does not exist in profile ${profile}`);
  }
  return f.bit;
}

/** A set of feature bits as a 64-bit mask. */
export type FeatureMask = bigint;

/** Builds a mask from feature names of one profile. */
export function featureMask(profile: ProfileId, names: readonly FeatureName[]): FeatureMask {
  let m = 0n;
  for (const n of names) m |= 1n << BigInt(featureBit(profile, n));
  return m;
}

/** The names, in bit order, of the features of one profile that are set in a mask. */
export function featureNames(profile: ProfileId, mask: FeatureMask): FeatureName[] {
  return featuresOf(profile)
    .filter((f) => (mask >> BigInt(f.bit)) & 1n)
    .sort((a, b) => a.bit - b.bit)
    .map((f) => f.name);
}

/** Bits set in a mask that the profile does not define at all. */
export function unknownBits(profile: ProfileId, mask: FeatureMask): number[] {
  const known = new Set(featuresOf(profile).map((f) => f.bit));
  const out: number[] = [];
  for (let b = 0; b < 64; b++) {
    if ((mask >> BigInt(b)) & 1n && !known.has(b)) out.push(b);
  }
  return out;
}

/** Whether the named feature is set in a mask, under one profile's numbering. */
export function hasFeature(profile: ProfileId, mask: FeatureMask, name: FeatureName): boolean {
  const f = findFeature(profile, name);
  return f !== undefined && ((mask >> BigInt(f.bit)) & 1n) === 1n;
}

/** A bit whose meaning differs between the two profiles. */
export interface FeatureCollision {
  /** The bit number. */
  readonly bit: number;
  /** Its name in profile v3, if any. */
  readonly v3?: FeatureName;
  /** Its name in profile virtio-1.x, if any. */
  readonly standard?: FeatureName;
  /** What goes wrong when a driver of one profile meets a device of the other. */
  readonly consequence: string;
}

/** Consequences of each collision, keyed by bit (the names come from the tables above). */
const COLLISION_CONSEQUENCES: Readonly<Record<number, string>> = {
  3: "A seed driver that sees FREE_PAGE_HINT offered switches to bitmap inflate; a standard device reads the header and bitmap words as 4-byte PFNs and discards arbitrary guest pages",
  4: "A seed driver accepts PAGE_POISON as MISC_VQ and asks for a 4th queue that a standard device only has with hinting or reporting; a standard driver would write poison_val into an 8-byte config space",
};

/**
 * Bits that have different names in the two profiles, computed from the tables.
 *
 * @example
 * ```ts
 * import { featureCollisions } from "./features.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(featureCollisions().map((c) => c.bit), [3, 4]);
 * ```
 */
export function featureCollisions(): FeatureCollision[] {
  const out: FeatureCollision[] = [];
  for (let bit = 0; bit < 24; bit++) {
    const a = BALLOON_FEATURES.find((f) => f.bit === bit && f.profiles.includes("v3"));
    const b = BALLOON_FEATURES.find((f) => f.bit === bit && f.profiles.includes("virtio-1.x"));
    if (a !== undefined && b !== undefined && a.name !== b.name) {
      out.push({
        bit,
        v3: a.name,
        standard: b.name,
        consequence: COLLISION_CONSEQUENCES[bit] ?? "Meaning differs between profiles",
      });
    }
  }
  return out;
}

/** Type guard for balloon feature names. */
export function isBalloonFeature(name: FeatureName): name is BalloonFeatureName {
  return BALLOON_FEATURES.some((f) => f.name === name);
}
