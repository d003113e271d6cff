/**
 * Virtqueues of each profile and the rules that give their indices for a
 * negotiated feature set.
 *
 * @module
 */

import { BALLOON_FEATURES, type QueueName } from "./features.ts";
import type { FeatureName, ProfileId } from "./types.ts";

/** One virtqueue. */
export interface QueueDef {
  /** Name. */
  readonly name: QueueName;
  /** Profiles that have it. */
  readonly profiles: readonly ProfileId[];
  /** Index the spec text fixes for it (virtio 1.x §5.5.2; seed init_vqs). */
  readonly fixedIndex: number;
  /** Buffers the driver makes available, by device access. */
  readonly buffers: { readonly readable: string; readonly writable: string };
  /** Structs or payloads carried. */
  readonly carries: readonly string[];
}

/** Every queue, in index order within each profile. */
export const QUEUES: readonly QueueDef[] = [
  {
    name: "inflateq",
    profiles: ["v3", "virtio-1.x"],
    fixedIndex: 0,
    buffers: { readable: "PFN array, or bitmap header + chunks (PAGE_BITMAP)", writable: "none" },
    carries: ["pfn_array", "balloon_bmap_hdr", "bitmap"],
  },
  {
    name: "deflateq",
    profiles: ["v3", "virtio-1.x"],
    fixedIndex: 1,
    buffers: { readable: "PFN array, or bitmap header + chunks (PAGE_BITMAP)", writable: "none" },
    carries: ["pfn_array", "balloon_bmap_hdr", "bitmap"],
  },
  {
    name: "statsq",
    profiles: ["v3", "virtio-1.x"],
    fixedIndex: 2,
    buffers: { readable: "array of virtio_balloon_stat (one buffer at a time)", writable: "none" },
    carries: ["virtio_balloon_stat"],
  },
  {
    name: "miscq",
    profiles: ["v3"],
    fixedIndex: 3,
    buffers: {
      readable: "reply chunks: bitmap header + chunks",
      writable: "one 16-byte balloon_req_hdr request buffer",
    },
    carries: ["balloon_req_hdr", "balloon_bmap_hdr", "bitmap"],
  },
  {
    name: "free_page_vq",
    profiles: ["virtio-1.x"],
    fixedIndex: 3,
    buffers: { readable: "4-byte cmd id buffers", writable: "hinted free pages" },
    carries: ["free_page_hint_cmd"],
  },
  {
    name: "reporting_vq",
    profiles: ["virtio-1.x"],
    fixedIndex: 4,
    buffers: { readable: "none", writable: "reported free pages" },
    carries: [],
  },
];

/** How indices are assigned when a conditional queue is absent. */
export type QueueIndexModel = "compacted" | "fixed";

/** The feature that makes a queue exist, if any (from the feature table). */
export function queueFeature(profile: ProfileId, queue: QueueName): FeatureName | undefined {
  return BALLOON_FEATURES.find((f) => f.profiles.includes(profile) && f.queues.includes(queue))
    ?.name;
}

/** A queue at an index. */
export interface QueueSlot {
  /** Virtqueue index. */
  readonly index: number;
  /** Queue. */
  readonly name: QueueName;
}

/**
 * The queues that exist for a negotiated feature set, with their indices.
 * `compacted` (Linux, QEMU, the seed's init_vqs) drops absent queues and
 * shifts later ones down; `fixed` keeps the spec's numbering.
 *
 * @example
 * ```ts
 * import { queueLayout } from "./queues.ts";
 * import assert from "node:assert/strict";
 * const q = queueLayout("virtio-1.x", new Set(["STATS_VQ", "PAGE_REPORTING"] as const));
 * assert.deepEqual(q.map((s) => `${s.index}:${s.name}`), ["0:inflateq", "1:deflateq", "2:statsq", "3:reporting_vq"]);
 * ```
 */
export function queueLayout(
  profile: ProfileId,
  negotiated: ReadonlySet<FeatureName>,
  model: QueueIndexModel = "compacted",
): QueueSlot[] {
  const out: QueueSlot[] = [];
  for (const q of QUEUES.filter((x) => x.profiles.includes(profile))) {
    const f = queueFeature(profile, q.name);
    if (f !== undefined && !negotiated.has(f)) continue;
    out.push({ index: model === "fixed" ? q.fixedIndex : out.length, name: q.name });
  }
  return out;
}

/**
 * Queue count the seed's `init_vqs` asks for, as posted: computed from the
 * features before it clears MISC_VQ/PAGE_BITMAP for a missing STATS_VQ (D-10).
 */
export function seedAsPostedQueueCount(negotiated: ReadonlySet<FeatureName>): number {
  const all = queueLayout("v3", new Set([...negotiated, "STATS_VQ"]));
  if (negotiated.has("MISC_VQ")) return all.length;
  return queueLayout("v3", negotiated).length;
}

/** Every combination of the queue-adding features of a profile, for tables. */
export function queueFeatureCombinations(profile: ProfileId): FeatureName[][] {
  const feats = QUEUES.filter((q) => q.profiles.includes(profile))
    .map((q) => queueFeature(profile, q.name))
    .filter((f): f is FeatureName => f !== undefined);
  const out: FeatureName[][] = [];
  for (let m = 0; m < 1 << feats.length; m++) {
    out.push(feats.filter((_, i) => (m >> i) & 1));
  }
  return out;
}
