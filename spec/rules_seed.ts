/**
 * The seed's rules R-01 … R-24 (SEED-RULES §4), stated with their intended
 * semantics, plus the robustness rules S-nn that this suite adds where the
 * sources are silent.
 *
 * @module
 */

import type { Rule } from "./rule_types.ts";
import type { ProfileId } from "./types.ts";

const V3: readonly ProfileId[] = ["v3"];
const BOTH: readonly ProfileId[] = ["v3", "virtio-1.x"];

/** Rules R-01 … R-24 of the seed, split where a rule carries two levels. */
export const SEED_RULES: readonly Rule[] = [
  {
    id: "R-01",
    source: { kind: "seed", patch: 7, where: "features[] table" },
    role: "driver",
    level: "MUST",
    condition: { always: true },
    profiles: V3,
    statement:
      "Accept only offered bits of {MUST_TELL_HOST, STATS_VQ, DEFLATE_ON_OOM, PAGE_BITMAP, MISC_VQ} (plus transport bits it supports), and the accepted set is what it then uses",
    defects: ["D-10"],
  },
  {
    id: "R-02",
    source: { kind: "seed", patch: 4, where: "virtballoon_probe" },
    role: "driver",
    level: "MUST",
    condition: { any: [{ offered: "PAGE_BITMAP" }, { offered: "MISC_VQ" }] },
    profiles: V3,
    statement:
      "Decide fallbacks (no bitmap buffers: no PAGE_BITMAP, no MISC_VQ) before FEATURES_OK, so the device sees the feature set the driver really uses",
    defects: ["D-10", "D-21"],
    asPosted: "Clears the bits with __virtio_clear_bit after FEATURES_OK, invisibly to the device",
  },
  {
    id: "R-03",
    source: { kind: "seed", patch: 7, where: "init_vqs" },
    role: "driver",
    level: "MUST",
    condition: { always: true },
    profiles: V3,
    statement:
      "Set up exactly the queues the v3 queue table gives for the negotiated features: inflateq 0, deflateq 1, statsq 2 with STATS_VQ, miscq 3 with MISC_VQ (which requires STATS_VQ)",
    defects: ["D-10", "D-11"],
    asPosted:
      "Counts queues before clearing features: MISC_VQ without STATS_VQ creates 4 queues, 2 of them never used",
  },
  {
    id: "R-04",
    source: { kind: "seed", patch: 7, where: "init_vqs / misc_handle_rq" },
    role: "driver",
    level: "MUST",
    condition: { feature: "MISC_VQ" },
    profiles: V3,
    statement:
      "Keep exactly one 16-byte device-writable request buffer available on miscq: before DRIVER_OK and again after every request has been handled",
    defects: ["D-06"],
  },
  {
    id: "R-05",
    source: { kind: "seed", patch: 4, where: "towards_target / update_balloon_size_func" },
    role: "driver",
    level: "MUST",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "Move the balloon towards num_pages (inflate when above, deflate when below) and write actual after every pass, once all of that pass's requests have been used",
    defects: ["D-20"],
  },
  {
    id: "R-06",
    source: { kind: "seed", patch: 4, where: "update_balloon_size" },
    role: "driver",
    level: "MUST",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "actual equals the number of 4 KiB pages the device has been told are in the balloon: after each pass, after an OOM deflate, and 0 after remove",
    defects: ["D-01", "D-02", "D-20"],
  },
  {
    id: "R-07",
    source: { kind: "seed", patch: 4, where: "fill_balloon / leak_balloon (PFN mode)" },
    role: "driver",
    level: "MUST",
    condition: { not: { feature: "PAGE_BITMAP" } },
    profiles: BOTH,
    statement:
      "In PFN mode each inflate/deflate request holds at most VIRTIO_BALLOON_ARRAY_PFNS_MAX PFNs, one request is in flight per queue, and a guest page contributes PAGE_SIZE / 4096 consecutive PFNs",
    defects: [],
  },
  {
    id: "R-08",
    source: {
      kind: "seed",
      patch: 4,
      where: "fill_balloon / set_page_bitmap / tell_host (bitmap mode)",
    },
    role: "driver",
    level: "MUST",
    condition: { feature: "PAGE_BITMAP" },
    profiles: V3,
    statement:
      "In bitmap mode the bits set in a pass's inflate requests are exactly the pages newly allocated in that pass, each in one request, each request carrying ceil(span / PFNS_PER_BMAP) chunks of exactly bmap_len bytes in total",
    defects: ["D-01", "D-02", "D-03", "D-22"],
  },
  {
    id: "R-09",
    source: { kind: "seed", patch: 4, where: "fill_balloon" },
    role: "driver",
    level: "MUST",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "Inflate order: a page leaves guest use, is reported on inflateq, the request is used, then actual is written; the guest does not touch the page in between",
    defects: ["D-01", "D-02"],
  },
  {
    id: "R-10",
    source: { kind: "seed", patch: 4, where: "fill_balloon / release_pages_balloon" },
    role: "driver",
    level: "MUST",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "Without DEFLATE_ON_OOM each inflated page is removed from the managed-page count (and added back on release); with DEFLATE_ON_OOM ballooned pages stay managed",
    defects: [],
  },
  {
    id: "R-11",
    source: { kind: "seed", patch: 4, where: "leak_balloon" },
    role: "driver",
    level: "MUST",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "Deflate never more pages than the balloon holds (at most 256 PFNs per request in PFN mode), reports exactly the dequeued pages on deflateq, waits for each request to be used, then releases the pages, then writes actual",
    defects: ["D-01", "D-02", "D-19", "D-20"],
  },
  {
    id: "R-12a",
    source: { kind: "seed", patch: 1, where: "leak_balloon comment" },
    role: "driver",
    level: "MUST NOT",
    condition: { feature: "MUST_TELL_HOST" },
    profiles: BOTH,
    statement:
      "With MUST_TELL_HOST, free or reuse a deflated page before the device has used every deflateq request that names it",
    defects: ["D-01", "D-02"],
  },
  {
    id: "R-12b",
    source: { kind: "seed", patch: 1, where: "leak_balloon comment" },
    role: "driver",
    level: "SHOULD",
    condition: { not: { feature: "MUST_TELL_HOST" } },
    profiles: BOTH,
    statement:
      "Without MUST_TELL_HOST, still tell the host before reusing deflated pages (the driver keeps the order unconditionally)",
    defects: ["D-01", "D-02"],
  },
  {
    id: "R-13",
    source: { kind: "seed", patch: 4, where: "virtballoon_oom_notify" },
    role: "driver",
    level: "MUST",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "On OOM, deflate only when DEFLATE_ON_OOM is negotiated, at most OOM_VBALLOON_DEFAULT_PAGES pages, telling the host before releasing, then write actual",
    defects: ["D-20"],
  },
  {
    id: "R-14",
    source: { kind: "seed", patch: 4, where: "tell_host" },
    role: "driver",
    level: "MUST NOT",
    condition: { feature: "PAGE_BITMAP" },
    profiles: V3,
    statement:
      "Wait for ring space that cannot appear or for a request it failed to add: a request that needs more descriptors than the ring has is split or sent indirect",
    defects: ["D-15"],
    asPosted: "while (vq->num_free < nr_buf) msleep(2); and wait_event even when the add failed",
  },
  {
    id: "R-15",
    source: { kind: "seed", patch: 4, where: "tell_host (bitmap header)" },
    role: "driver",
    level: "MUST",
    condition: { feature: "PAGE_BITMAP" },
    profiles: V3,
    statement:
      "Inflate/deflate bitmap headers carry cmd 0, flag 0, reserved 0, req_id 0, page_shift VIRTIO_BALLOON_PFN_SHIFT, a start_pfn that is a multiple of 64 and a bmap_len that is a multiple of 8",
    defects: ["D-09", "D-13", "D-14", "D-23"],
  },
  {
    id: "R-16",
    source: { kind: "seed", patch: 4, where: "tell_host (device side, implied)" },
    role: "device",
    level: "MUST",
    condition: { any: [{ feature: "PAGE_BITMAP" }, { feature: "MISC_VQ" }] },
    profiles: V3,
    statement:
      "Treat a bitmap chain as one byte stream, check that it holds at least 32 + bmap_len bytes (bmap_len at most 1 MiB) and that page_shift is supported, reject it otherwise, and use every buffer after processing",
    defects: ["D-01"],
  },
  {
    id: "R-17a",
    source: { kind: "seed", patch: 7, where: "misc_handle_rq (device side)" },
    role: "device",
    level: "MUST",
    condition: { feature: "MISC_VQ" },
    profiles: V3,
    statement:
      "Issue a host request by filling the whole 16-byte request buffer with a known cmd and reserved 0, and use it with used length 16",
    defects: ["D-23"],
  },
  {
    id: "R-17b",
    source: { kind: "seed", patch: 7, where: "misc_handle_rq" },
    role: "driver",
    level: "MUST",
    condition: { feature: "MISC_VQ" },
    profiles: V3,
    statement:
      "Ignore a request whose used length is not 16 or whose cmd is unknown, converting cmd and param from virtio byte order, and re-post the request buffer in every case",
    defects: ["D-06", "D-07"],
  },
  {
    id: "R-18",
    source: { kind: "seed", patch: 7, where: "send_unused_pages_info" },
    role: "driver",
    level: "MUST",
    condition: { feature: "MISC_VQ" },
    profiles: V3,
    statement:
      "Answer GET_UNUSED_PAGES with reply chunks flagged CONT … CONT DONE (exactly one DONE, last), each echoing param as req_id, start_pfn stepping by the same window from 0, bmap_len a multiple of 8, together covering every PFN below max_pfn; each chunk is used before the next is sent, and the request buffer is re-posted after DONE",
    defects: ["D-05", "D-07", "D-08", "D-16", "D-17", "D-18", "D-20"],
  },
  {
    id: "R-19",
    source: { kind: "seed", patch: 5, where: "get_unused_pages / mark_unused_pages_bitmap" },
    role: "driver",
    level: "MUST",
    condition: { feature: "MISC_VQ" },
    profiles: V3,
    statement:
      "A bit set in a reply means the page lay in a buddy free-list block when scanned: an in-use page is never reported unused, and every free-list page in the window is reported",
    defects: ["D-04", "D-22"],
  },
  {
    id: "R-20",
    source: { kind: "seed", patch: 7, where: "commit message (device side)" },
    role: "device",
    level: "MUST",
    condition: { feature: "MISC_VQ" },
    profiles: V3,
    statement:
      "Start dirty logging before issuing GET_UNUSED_PAGES and still migrate a hinted page that was dirtied after the request",
    defects: [],
  },
  {
    id: "R-21",
    source: { kind: "seed", patch: 7, where: "send_unused_pages_info busy-wait (device side)" },
    role: "device",
    level: "MUST",
    condition: { feature: "MISC_VQ" },
    profiles: V3,
    statement:
      "Use miscq reply buffers as they arrive, without waiting for anything else from the driver (the driver waits for each chunk)",
    defects: ["D-05"],
  },
  {
    id: "R-22",
    source: { kind: "seed", patch: 4, where: "remove_common / virtballoon_remove" },
    role: "driver",
    level: "MUST",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "On remove, report every ballooned page on deflateq and release it, write actual = 0, then reset the device",
    defects: ["D-01", "D-02", "D-21"],
  },
  {
    id: "R-23",
    source: { kind: "seed", patch: 4, where: "virtballoon_freeze / virtballoon_restore" },
    role: "driver",
    level: "MUST",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "Freeze deflates everything and resets; restore re-primes statsq and miscq, sets DRIVER_OK, writes actual and resumes moving towards the target",
    defects: [],
  },
  {
    id: "R-24",
    source: { kind: "seed", patch: 4, where: "virtballoon_migratepage" },
    role: "driver",
    level: "MUST",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "Balloon-page migration reports the new page on inflateq, then the old page on deflateq, one page each",
    defects: ["D-12"],
  },
];

/** Robustness rules this suite adds where the seed and the spec are silent. */
export const SUITE_RULES: readonly Rule[] = [
  {
    id: "S-01",
    source: {
      kind: "suite",
      rationale:
        "The spec sets no rule for a PFN array that ends in a partial entry; QEMU ignores the trailing bytes, cloud-hypervisor skips the descriptor",
    },
    role: "device",
    level: "SHOULD",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "Treat an inflate/deflate PFN array whose length is not a multiple of 4 bytes as malformed",
    defects: [],
  },
  {
    id: "S-02",
    source: {
      kind: "suite",
      rationale:
        "A device that trusts guest PFNs can discard host memory that is not guest RAM; QEMU skips such PFNs (virtio_balloon_bad_addr)",
    },
    role: "device",
    level: "MUST NOT",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "Change host state (discard, ballooned set) for a PFN or bitmap bit that lies outside guest RAM",
    defects: [],
  },
  {
    id: "S-03",
    source: {
      kind: "suite",
      rationale:
        "A malformed request must neither corrupt the host's view nor hang the driver; G06 allows DEVICE_NEEDS_RESET instead",
    },
    role: "device",
    level: "SHOULD",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "Reject a malformed inflate/deflate/misc request as a whole (no host state changes), still use its buffer, and stay usable",
    defects: [],
  },
  {
    id: "S-04",
    source: {
      kind: "suite",
      rationale:
        "The seed leaves the bitmap byte layout to the guest ABI (D-13); SEED-RULES §8 asks for little-endian, LSB-first, independent of BITS_PER_LONG",
    },
    role: "driver",
    level: "MUST",
    condition: { any: [{ feature: "PAGE_BITMAP" }, { feature: "MISC_VQ" }] },
    profiles: V3,
    statement:
      "Lay out bitmaps so that bit j (PFN start_pfn + j) is bit j % 8 of byte j / 8, whatever the guest's word size and endianness",
    defects: ["D-13"],
  },
  {
    id: "S-06",
    source: {
      kind: "suite",
      rationale:
        "Inflating a page that is already in the balloon means the driver lost track of it (the seed's D-03 does it); the spec's prose assumes each inflated page is a page the guest gives up",
    },
    role: "driver",
    level: "MUST NOT",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "Name on inflateq a page that is already in the balloon (inflated and not deflated since)",
    defects: ["D-03"],
  },
  {
    id: "S-07",
    source: {
      kind: "suite",
      rationale:
        "A deflate of a page that was never inflated tells the host to give back memory it never took: the driver's and the host's views disagree",
    },
    role: "driver",
    level: "MUST NOT",
    condition: { always: true },
    profiles: BOTH,
    statement: "Name on deflateq a page that is not in the balloon",
    defects: ["D-12"],
  },
  {
    id: "S-08",
    source: {
      kind: "suite",
      rationale:
        "Free page reporting hands free pages to the host; a page in the balloon is not free guest memory, and reporting it makes the host account it twice",
    },
    role: "driver",
    level: "MUST NOT",
    condition: { feature: "PAGE_REPORTING" },
    profiles: ["virtio-1.x"],
    statement: "Report on reporting_vq a page that is in the balloon",
    defects: [],
  },
  {
    id: "S-12",
    source: {
      kind: "suite",
      rationale:
        "actual is the driver's report of the balloon's size (§5.5.4); the spec states no device rule for reading it, yet a host that drops or ignores the writes (libkrun) cannot tell what it got back",
    },
    role: "device",
    level: "MUST",
    condition: { always: true },
    profiles: ["v3", "virtio-1.x"],
    statement:
      "Take actual from the config space as the driver writes it: the host's view of the balloon size follows each write",
    defects: [],
  },
  {
    id: "S-09",
    source: {
      kind: "suite",
      rationale:
        "The spec says only that the device uses hint and report buffers (§5.5.6.5, §5.5.6.7); a device that logs them but never returns them wedges the guest (libkrun, REAL-BUGS #10)",
    },
    role: "device",
    level: "MUST",
    condition: { any: [{ feature: "FREE_PAGE_HINT" }, { feature: "PAGE_REPORTING" }] },
    profiles: ["virtio-1.x"],
    statement:
      "Use every free_page_vq and reporting_vq buffer, with used length 0 (the device writes nothing into them), once it has acted on it",
    defects: [],
  },
  {
    id: "S-10",
    source: {
      kind: "suite",
      rationale:
        "The spec sets no rule for a malformed hint or report chain; QEMU sets DEVICE_NEEDS_RESET on a cmd id buffer that is not 4 bytes and skips report ranges that are not page-aligned",
    },
    role: "device",
    level: "SHOULD",
    condition: { any: [{ feature: "FREE_PAGE_HINT" }, { feature: "PAGE_REPORTING" }] },
    profiles: ["virtio-1.x"],
    statement:
      "Treat a malformed hint or report chain (a cmd id buffer that is not 4 bytes, a report with device-readable parts or ranges that are not whole pages of guest RAM) as a whole: change no page and no host state, still use it (or set DEVICE_NEEDS_RESET), and stay usable",
    defects: [],
  },
  {
    id: "S-11",
    source: {
      kind: "suite",
      rationale:
        "§5.5.2 numbers the queues 0-4 and says the conditional ones exist only with their feature; Linux, QEMU, Firecracker, cloud-hypervisor and crosvm all drop an absent queue and shift the later ones down, and a fixed numbering lost Linux's reports on crosvm (REAL-BUGS #4)",
    },
    role: "both",
    level: "MUST",
    condition: { always: true },
    profiles: ["virtio-1.x"],
    statement:
      "Number the virtqueues densely by the negotiated features: inflateq 0, deflateq 1, then statsq, free_page_vq and reporting_vq, each only when its feature is negotiated",
    defects: [],
  },
  {
    id: "S-05",
    source: {
      kind: "suite",
      rationale:
        "The spec states the device's handling of inflate/deflate only in prose (§5.5.6); a device that misreads a request balloons the wrong pages",
    },
    role: "device",
    level: "MUST",
    condition: { always: true },
    profiles: BOTH,
    statement:
      "Apply a well-formed inflate/deflate request exactly as the tables define it (each PFN, or bit j as PFN start_pfn + j), then use its buffer",
    defects: [],
  },
];
