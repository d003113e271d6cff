/**
 * The live-migration model on the device side: dirty logging started before
 * the unused-page request or the free-page-hint command id (profile
 * virtio-1.x, FREE_PAGE_HINT), a bulk round that skips ballooned pages and
 * pages hinted unused (unless dirtied since the request), iterative rounds of
 * dirtied pages, a final stop-and-copy, DONE for a free-page-hint round
 * (B52), and a check that every page the guest still uses arrived intact.
 *
 * @module
 */

import { BALLOON_PAGE_SIZE, PageSet } from "../spec/mod.ts";
import type { BalloonDevice } from "./device.ts";
import type { GuestEnv } from "./guest.ts";
import type { TaskBody } from "./scheduler.ts";

/** Options of {@link migrate}. */
export interface MigrationOptions {
  /** Ask the guest for unused pages first (MISC_VQ; FREE_PAGE_HINT on profile virtio-1.x). */
  readonly useHints: boolean;
  /** Guest activity between rounds (round 0 runs right after the hint round). */
  readonly guestActivity?: (round: number) => void;
  /** Iterative rounds before stop-and-copy (default 3). */
  readonly maxRounds?: number;
  /** Wire bytes per normal page besides its contents (default 8, a page header). */
  readonly pageHeaderBytes?: number;
  /** Wire bytes for a zero page (default 9: header and a fill byte). */
  readonly zeroPageBytes?: number;
  /** Link speed for the time estimate, in Gbit/s (default 10). */
  readonly linkGbps?: number;
  /** Virtual ms to wait for the hint round before going on without it (default 60000). */
  readonly hintTimeout?: number;
}

/** What a migration sent and whether anything was lost. */
export interface MigrationResult {
  /** Pages sent with contents. */
  pagesSent: number;
  /** Pages sent as zero pages. */
  zeroPages: number;
  /** Bytes on the wire. */
  bytesSent: number;
  /** Pages skipped because the guest hinted them unused and did not dirty them. */
  skippedHinted: number;
  /** Pages skipped because they are in the balloon. */
  skippedBallooned: number;
  /** Rounds run, including the bulk round and stop-and-copy. */
  rounds: number;
  /** Whether the hint round completed (MISC_VQ: DONE received; FREE_PAGE_HINT: the driver's STOP). */
  hinted: boolean;
  /** Seconds the bytes take at the link speed. */
  seconds: number;
  /** Pages in use whose contents differ at the destination. */
  lost: number[];
  /** Pages in use that were compared. */
  verified: number;
}

/** Page contents are equal (a missing page or missing tail reads as zeros). */
function same(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  const n = Math.max(a?.length ?? 0, b?.length ?? 0);
  for (let i = 0; i < n; i++) if ((a?.[i] ?? 0) !== (b?.[i] ?? 0)) return false;
  return true;
}

/**
 * Migrates the guest (a task on the guest's scheduler, so the driver answers
 * the hint request while it runs).
 */
export function* migrate(
  guest: GuestEnv,
  device: BalloonDevice,
  options: MigrationOptions,
): TaskBody<MigrationResult> {
  const mem = guest.mem;
  const result: MigrationResult = {
    pagesSent: 0,
    zeroPages: 0,
    bytesSent: 0,
    skippedHinted: 0,
    skippedBallooned: 0,
    rounds: 0,
    hinted: false,
    seconds: 0,
    lost: [],
    verified: 0,
  };
  const header = options.pageHeaderBytes ?? 8;
  const zeroBytes = options.zeroPageBytes ?? 9;
  const dest = new Map<number, Uint8Array>();
  let hints = new PageSet();
  mem.startDirtyLog(); // before the request
  const deadline = guest.sched.now + (options.hintTimeout ?? 60_000);
  const freePageHint = options.useHints && device.has("FREE_PAGE_HINT");
  if (freePageHint) {
    // the id is issued with dirty logging on: a page written after it is migrated (B50)
    const round = device.startHinting();
    while (!round.stopped && guest.sched.now < deadline) yield { sleep: 1 };
    result.hinted = round.stopped;
    hints = round.hints;
  } else if (options.useHints) {
    const round = device.requestUnusedPages(); // restarts the log, still before the request
    if (round !== undefined) {
      while (!round.done && guest.sched.now < deadline) yield { sleep: 1 };
      if (round.done) {
        result.hinted = true;
        hints = round.hints;
      }
    }
  }
  options.guestActivity?.(0);
  // bulk round
  const dirtySinceRequest = mem.syncDirtyLog();
  const skipHint = hints.clone();
  skipHint.subtract(dirtySinceRequest);
  skipHint.subtract(device.ballooned);
  const skip = device.ballooned.clone();
  skip.unionWith(skipHint);
  result.skippedBallooned = device.ballooned.size;
  result.skippedHinted = skipHint.size;
  const candidates = mem.pages - skip.size;
  let nonzero = 0;
  for (const pfn of mem.storedPfns()) {
    if (skip.has(pfn)) continue;
    const c = mem.pageContents(pfn) as Uint8Array;
    dest.set(pfn, c.slice());
    nonzero++;
  }
  result.pagesSent += nonzero;
  result.zeroPages += candidates - nonzero;
  result.bytesSent += nonzero * (BALLOON_PAGE_SIZE + header) + (candidates - nonzero) * zeroBytes;
  result.rounds = 1;
  // iterative rounds, then stop-and-copy
  const maxRounds = options.maxRounds ?? 3;
  const writtenSince = new PageSet();
  for (let r = 1; r <= maxRounds + 1; r++) {
    if (r <= maxRounds) options.guestActivity?.(r);
    yield { yield: true };
    const dirty = mem.syncDirtyLog();
    writtenSince.unionWith(dirty);
    dirty.subtract(device.ballooned);
    if (dirty.size === 0 && r > 1) break;
    result.rounds++;
    for (const pfn of dirty) {
      const c = mem.pageContents(pfn);
      if (c === undefined) {
        dest.delete(pfn);
        result.zeroPages++;
        result.bytesSent += zeroBytes;
      } else {
        dest.set(pfn, c.slice());
        result.pagesSent++;
        result.bytesSent += BALLOON_PAGE_SIZE + header;
      }
    }
  }
  mem.stopDirtyLog();
  // DONE: the driver gives the hinted pages back (B46); a hinted page the guest has not
  // written since holds nothing it may rely on (B44), so it is not compared
  const unwritten = skipHint.clone();
  if (freePageHint) {
    device.finishHinting();
    yield { sleep: 1 };
    unwritten.subtract(writtenSince);
  } else unwritten.clear();
  // verification: every page the guest uses must match
  const inUse = (pfn: number) =>
    !guest.alloc.isFree(pfn) && !device.ballooned.has(pfn) && !unwritten.has(pfn);
  const checked = new Set<number>();
  for (const pfn of [...mem.storedPfns(), ...dest.keys()]) {
    if (checked.has(pfn) || !inUse(pfn)) continue;
    checked.add(pfn);
    if (!same(mem.pageContents(pfn), dest.get(pfn))) result.lost.push(pfn);
  }
  result.verified = checked.size;
  result.seconds = (result.bytesSent * 8) / ((options.linkGbps ?? 10) * 1e9);
  return result;
}
