/**
 * Quirks: switches that make the reference driver behave like the seed's
 * code as posted, one per defect that a device or the guest model can see.
 *
 * @module
 */

import { defect, type DefectId } from "../spec/mod.ts";

/** A quirk is named by the defect it reproduces. */
export type QuirkId =
  | "D-01"
  | "D-02"
  | "D-03"
  | "D-04"
  | "D-05"
  | "D-06"
  | "D-07"
  | "D-08"
  | "D-09"
  | "D-10"
  | "D-11"
  | "D-12"
  | "D-13"
  | "D-14"
  | "D-15"
  | "D-16";

/** What each quirk changes in the reference driver. */
export const QUIRKS: Readonly<Record<QuirkId, string>> = {
  "D-01":
    "tell_host sends floor(span / PFNS_PER_BMAP) chunks: header only under 1 GiB, the last chunk over-read above",
  "D-02":
    "set_page_bitmap loops while w < roundup(max, 64): a 64-aligned highest page at a window start is never sent",
  "D-03": "inflate windows report every balloon page in the window, not only the new ones",
  "D-04":
    "the unused-page scan mishandles free blocks ending on a 1 GiB boundary: not reported, a stale bit set in chunk 0",
  "D-05": "misc requests are handled inside the interrupt callback, which blocks",
  "D-06":
    "a misc request with used len != 16 or an unknown cmd is dropped without re-posting the request buffer",
  "D-07": "misc cmd and param are read without virtio-to-CPU conversion",
  "D-08": "req_id passes through an unsigned long (truncated to 32 bits on 32-bit guests)",
  "D-09":
    "one bitmap header is shared by all queues: flag and req_id of the last misc reply leak into inflate/deflate",
  "D-10":
    "PAGE_BITMAP / MISC_VQ are cleared after FEATURES_OK, and the queue count is taken before the clear",
  "D-11": "PAGE_BITMAP is dropped when STATS_VQ is not negotiated",
  "D-12":
    "balloon-page migration goes through tell_host with the stale bitmap state of the last bitmap request",
  "D-13": "bitmap words are raw unsigned long in guest byte order, rounded to BITS_PER_LONG",
  "D-14":
    "page_shift carries the guest PAGE_SHIFT and one bit is set per guest page (16 apart on 64 KiB pages)",
  "D-15":
    "tell_host spins while the ring has fewer free descriptors than the request needs (hangs on small rings)",
  "D-16":
    "the misc DONE chunk's bmap_len is floor(nr_pfn / 8): the top max_pfn % 8 pages are never reported",
};

/** Every quirk: the seed's driver as posted. */
export const AS_POSTED_V3: ReadonlySet<QuirkId> = new Set(Object.keys(QUIRKS) as QuirkId[]);

/** The defect behind a quirk (from the spec's defect table). */
export function quirkDefect(q: QuirkId): { id: DefectId; title: string } {
  const d = defect(q);
  return { id: d.id, title: d.title };
}
