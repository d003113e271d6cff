/**
 * The seed's defects D-01 … D-23 (SEED-RULES §5): what each one does and who
 * can see it. Rules link to them by id.
 *
 * @module
 */

import type { DefectId } from "./types.ts";

/** Who can observe a defect. */
export type Observability = "device" | "guest-model" | "not-observable";

/** One defect of the patches as posted. */
export interface Defect {
  /** Stable id, `D-01` … `D-23`. */
  readonly id: DefectId;
  /** Short title. */
  readonly title: string;
  /** H (wrong data, hang, crash), M (edge case, race), L (cosmetic), as SEED-RULES rates it. */
  readonly severity: "H" | "M" | "L" | "L-M" | "design";
  /** Patch (n/7) where it lives. */
  readonly patches: string;
  /** Who can see it: the device on the wire, a guest-memory model, or nobody. */
  readonly observable: Observability;
  /** What goes wrong. */
  readonly summary: string;
  /** How a test exposes it. */
  readonly exposure: string;
}

/** Every defect, in id order. */
export const DEFECTS: readonly Defect[] = [
  {
    id: "D-01",
    title: "tell_host drops or over-reads the last bitmap chunk",
    severity: "H",
    patches: "4/7",
    observable: "device",
    summary:
      "nr_used_bmap = nr_pfn / PFNS_PER_BMAP rounds down: a window under 1 GiB goes out as a header with bmap_len > 0 and no bitmap bytes; larger ones over-read the last chunk",
    exposure:
      "Inflate 256 pages at PFNs 4096…4351: expected header + 32 bytes of 0xff, as posted one 32-byte descriptor",
  },
  {
    id: "D-02",
    title: "off-by-one in set_page_bitmap's loop bound",
    severity: "H",
    patches: "4/7",
    observable: "device",
    summary:
      "The highest page is skipped when it is 64-aligned and ends a window; a single page at a multiple of 64 is never reported",
    exposure: "Inflate 1 page at PFN 4096: actual grows by 1 but no inflateq buffer arrives",
  },
  {
    id: "D-03",
    title: "inflate re-reports pages already in the balloon",
    severity: "H",
    patches: "4/7",
    observable: "device",
    summary:
      "fill_balloon passes the whole balloon list to set_page_bitmap, so earlier balloon pages in a visited window are inflated again",
    exposure:
      "Inflate PFN 5000, then 4096…4351 and 6000: the second pass sets 258 bits for 257 new pages",
  },
  {
    id: "D-04",
    title: "mark_unused_pages_bitmap else-branch",
    severity: "H",
    patches: "5/7",
    observable: "guest-model",
    summary:
      "Free blocks ending on a 1 GiB boundary are not reported and a stale bit in bitmap 0 is set instead: false negatives and a false positive (an in-use page reported unused)",
    exposure:
      "A free order-10 block at PFN 261120 after a free block in bitmap 1: bits 261120…262143 missing, one spurious bit in chunk 0",
  },
  {
    id: "D-05",
    title: "misc handler sleeps in interrupt context",
    severity: "H",
    patches: "7/7",
    observable: "guest-model",
    summary:
      "misc_request runs from the virtqueue callback yet takes a mutex, sleeps and busy-waits for the device",
    exposure:
      "Raise a misc request while an inflate is outstanding: the driver blocks inside the callback",
  },
  {
    id: "D-06",
    title: "miscq in-buffer lost",
    severity: "H",
    patches: "7/7",
    observable: "device",
    summary:
      "A request with used len != 16 or cmd != 0 returns without re-posting the request buffer",
    exposure: "Complete the in-buffer with len 8 or cmd 1: queue 3 has no buffer ever after",
  },
  {
    id: "D-07",
    title: "missing endian conversion in misc_handle_rq",
    severity: "H",
    patches: "7/7",
    observable: "device",
    summary:
      "cmd and param are read raw; on a big-endian guest with VERSION_1 the echoed req_id is byte-swapped",
    exposure: "BE driver, VERSION_1, param 0x0102030405060708: req_id reads 0x0807060504030201",
  },
  {
    id: "D-08",
    title: "req_id truncated on 32-bit guests",
    severity: "M",
    patches: "7/7",
    observable: "device",
    summary: "send_unused_pages_info takes req_id as unsigned long",
    exposure: "param 0x1_0000_0001 comes back as 1",
  },
  {
    id: "D-09",
    title: "stale header fields on inflate/deflate",
    severity: "H",
    patches: "4/7, 7/7",
    observable: "device",
    summary:
      "bmap_hdr is shared by three queues; after a misc reply flag = DONE and req_id = param stay in it",
    exposure: "GET_UNUSED_PAGES(param 7), then inflate: the header shows flag 1, req_id 7",
  },
  {
    id: "D-10",
    title: "features cleared after FEATURES_OK",
    severity: "H",
    patches: "4/7, 7/7",
    observable: "device",
    summary:
      "probe and init_vqs clear PAGE_BITMAP/MISC_VQ after negotiation; the device believes bit 3 is in use but receives PFN arrays, and 4 queues exist with 2 idle",
    exposure:
      "Offer {3,4} without STATS_VQ: {3,4} accepted at FEATURES_OK, then PFN arrays on queue 0",
  },
  {
    id: "D-11",
    title: "PAGE_BITMAP needlessly requires STATS_VQ",
    severity: "design",
    patches: "7/7",
    observable: "device",
    summary:
      "init_vqs drops PAGE_BITMAP without STATS_VQ although bitmap inflate needs no extra queue",
    exposure: "Offer {3} without STATS_VQ: the driver sends PFN arrays",
  },
  {
    id: "D-12",
    title: "compaction path not converted",
    severity: "H",
    patches: "4/7",
    observable: "device",
    summary:
      "virtballoon_migratepage calls tell_host, which takes the bitmap branch with stale start/end PFNs and bitmaps",
    exposure:
      "Migrate a balloon page after a misc reply: inflate and deflate requests repeat old bitmap data",
  },
  {
    id: "D-13",
    title: "bitmap wire layout depends on the guest ABI",
    severity: "H",
    patches: "4/7, 5/7, 7/7",
    observable: "device",
    summary:
      "Chunks are raw unsigned long[]: big-endian guests put bit j in byte 8*(j/64) + 7 - (j%64)/8, and 32-bit guests round to 32 bits",
    exposure: "A big-endian driver reporting PFN start+0 sets byte 7 bit 0 instead of byte 0 bit 0",
  },
  {
    id: "D-14",
    title: "wrong units in inflate/deflate headers",
    severity: "H",
    patches: "4/7",
    observable: "device",
    summary:
      "Bits are 4 KiB balloon PFNs but page_shift = PAGE_SHIFT (16 on 64 KiB guests); page_to_balloon_pfn truncates to 32 bits",
    exposure: "A 64 KiB-page driver: the header says shift 16 while the set bits are 16 apart",
  },
  {
    id: "D-15",
    title: "busy-wait on vq->num_free",
    severity: "H",
    patches: "4/7, 7/7",
    observable: "device",
    summary:
      "tell_host spins until num_free >= nr_buf, which only the driver updates: a ring smaller than the request hangs forever",
    exposure: "Queue size 8, a request needing 10 descriptors: no buffer ever arrives",
  },
  {
    id: "D-16",
    title: "last misc chunk truncated",
    severity: "M",
    patches: "7/7",
    observable: "device",
    summary:
      "DONE bmap_len = nr_pfn / 8 is neither rounded to 8 bytes nor up: the top max_pfn % 8 PFNs are lost",
    exposure: "max_pfn 262244, 1 bitmap: DONE chunk has bmap_len 12; PFNs 262240…262243 unreported",
  },
  {
    id: "D-17",
    title: "max_pfn handling in the misc path",
    severity: "M",
    patches: "3/7, 7/7",
    observable: "guest-model",
    summary:
      "A snapshot of max_pfn bounds the reply while the live value picks CONT/DONE; hotplug during a reply underflows; inclusive and exclusive bounds share names",
    exposure: "Raise max_pfn during a reply",
  },
  {
    id: "D-18",
    title: "no DONE on error",
    severity: "M",
    patches: "7/7",
    observable: "device",
    summary:
      "If get_unused_pages fails the reply ends without DONE and the buffer is re-posted anyway",
    exposure:
      "Fail get_unused_pages: the device sees CONT chunks, then a new request buffer, no DONE",
  },
  {
    id: "D-19",
    title: "release_pages_balloon called twice",
    severity: "L",
    patches: "4/7",
    observable: "not-observable",
    summary: "The second call iterates an already emptied list (a mis-merged hunk)",
    exposure: "None on the wire",
  },
  {
    id: "D-20",
    title: "races on min/max PFN and bitmap extension",
    severity: "M",
    patches: "4/7, 7/7",
    observable: "guest-model",
    summary:
      "init_pfn_range runs outside the lock; extend_page_bitmap runs from two contexts unlocked; pfn_limit is read before the lock",
    exposure: "OOM deflate during an inflate: actual exceeds the pages reported",
  },
  {
    id: "D-21",
    title: "uninitialised data and leaks",
    severity: "M",
    patches: "4/7",
    observable: "not-observable",
    summary:
      "nr_page_bmap unset after an allocation failure (garbage frees at remove); probe error path leaks",
    exposure: "Fail the probe-time bitmap allocation, then remove",
  },
  {
    id: "D-22",
    title: "performance of window walks and free-list scans",
    severity: "M",
    patches: "4/7, 5/7",
    observable: "guest-model",
    summary:
      "set_page_bitmap walks the whole balloon list per window; each misc chunk rescans all free lists with IRQs off",
    exposure: "Count list walks per pass against balloon size",
  },
  {
    id: "D-23",
    title: "specification ambiguities",
    severity: "L-M",
    patches: "2/7, 6/7",
    observable: "device",
    summary:
      "cmd has no legal values on inflate/deflate; flag 0 equals CONT; CONT/DONE are values not bits; page_shift has no unit; misc chunk size depends on allocation luck",
    exposure: "A device testing flag & (1 << CONT) misreads DONE",
  },
];

/** A defect by id. */
export function defect(id: DefectId): Defect {
  const d = DEFECTS.find((x) => x.id === id);
  if (d === undefined) throw new RangeError(`No defect ${id}`);
  return d;
}
