/**
 * The stats queue (VIRTIO_BALLOON_F_STATS_VQ): one buffer with the guest's
 * statistics before DRIVER_OK, and a fresh one each time the device uses it
 * (B25–B28, B32).
 *
 * @module
 */

import { enumValues, type ProfileId, type StatEntry } from "../../spec/mod.ts";
import type { GuestEnv } from "../guest.ts";
import type { TaskBody } from "../scheduler.ts";
import type { DriverCore } from "./core.ts";
import { PAGE, SCRATCH } from "./layout.ts";
import type { StatsBuffer } from "./seams.ts";

/** The statistics this driver reports, the guest's (same tags every time, B32). */
export function guestStats(vb: DriverCore): StatEntry[] {
  return vb.guest.statistics(vb.profile);
}

/**
 * The statistics a guest keeps, by the stats table's tags of `profile`
 * (what the reference driver puts in a stats buffer; the suite's answer to
 * a driver testee's `guest.stats`).
 */
export function guestStatistics(guest: GuestEnv, profile: ProfileId): StatEntry[] {
  const a = guest.alloc;
  const c = guest.counters;
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
  return enumValues("stats_tag", profile)
    .filter((t) => !t.nonStandard && values[t.name] !== undefined)
    .map((t) => ({ tag: t.value, val: values[t.name] as bigint }));
}

/** Fills a stats buffer and makes it available (not notified: the caller kicks). */
export function addStatsBuffer(vb: DriverCore, index: number, buffer: StatsBuffer): void {
  const bytes = vb.seams.statsPayload(guestStats(vb), buffer);
  const addr = vb.scratch + SCRATCH.stats + buffer.slot * SCRATCH.statsSlot;
  vb.write(addr, bytes);
  const vq = vb.queues.get(index)?.vq;
  if (vq !== undefined) vb.seams.postStats(vq, { ...buffer, segment: { addr, len: bytes.length } });
  vb.counters.statsBuffers++;
}

/** Primes the stats queue at probe, before DRIVER_OK (B26); notified after it (G57). */
export function primeStats(vb: DriverCore, index: number): void {
  const buffers = vb.seams.statsBuffersAtProbe();
  for (let slot = 0; slot < buffers; slot++) addStatsBuffer(vb, index, { when: "probe", slot });
  vb.seams.afterStatsPrimed(index);
}

/** The stats work: a fresh buffer for every one the device used (B27). */
export function* statsWork(vb: DriverCore, index: number): TaskBody<void> {
  const q = vb.queues.get(index);
  if (q === undefined) return;
  while (q.vq.getUsed() !== undefined) {
    if (!vb.seams.refillsStats()) continue;
    addStatsBuffer(vb, index, { when: "refill", slot: 0 });
    vb.kick(index);
  }
  yield { yield: true };
}
