/**
 * Deliberate deviations from the protocol: each one is a small, named
 * mistake a real implementer could make. The conformance suite builds its
 * mutants from them to prove that its cases can fail. The seed's own
 * defects are quirks (`quirks.ts`), not deviations.
 *
 * @module
 */

/** A deliberate mistake of a driver. */
export type DriverDeviation =
  | "release-before-ack"
  | "managed-count-ignores-doom"
  | "oom-ignores-doom"
  | "oom-double"
  | "pfn-array-512"
  | "start-pfn-off-by-one"
  | "bmap-len-in-bits"
  | "bit-order-msb-first"
  | "misc-no-repost"
  | "misc-no-done"
  | "misc-done-first"
  | "misc-wrong-req-id"
  | "misc-hint-used-page"
  | "misc-skip-window"
  | "actual-before-ack"
  | "actual-off-by-one"
  | "accept-unoffered"
  | "misc-without-stats"
  | "ignore-version-1"
  | "stats-two-buffers"
  | "stats-no-refill"
  | "stats-varying-subset"
  | "stats-empty-first"
  | "skip-features-ok"
  | "notify-before-driver-ok"
  | "config-before-features-ok"
  | "deflate-silently"
  | "touch-inflated-page"
  | "inflate-no-wait"
  | "avail-idx-first"
  | "remove-without-deflate"
  | "header-reserved-nonzero"
  | "page-shift-13"
  | "short-last-chunk"
  | "clear-status-bit"
  | "continue-after-refusal"
  | "actual-bytewise"
  | "inflate-report-extra-page"
  | "stats-odd-length"
  | "missing-queue"
  | "ignore-page-bitmap"
  | "bitmap-unnegotiated"
  | "stats-writable-first"
  | "indirect-unnegotiated"
  | "late-features"
  | "decline-any-layout"
  | "inflate-repeat-page"
  | "deflate-extra-page"
  | "poison-without-init"
  | "reporting-without-poison"
  | "poison-after-driver-ok"
  | "poison-rewrite"
  | "deflate-no-poison"
  | "report-no-poison"
  | "hint-release-uninitialized"
  | "hint-cmd-8-bytes"
  | "hint-cmd-le"
  | "hint-no-start-id"
  | "hint-start-twice"
  | "hint-no-pages"
  | "hint-ignores-stop"
  | "hint-no-stop"
  | "hint-keep-after-done"
  | "hint-used-page"
  | "report-small-pages"
  | "report-no-wait"
  | "report-rezero"
  | "report-balloon-page"
  | "fixed-queue-indices"
  | "poison-guest-endian"
  | "stats-little-endian"
  | "reads-hint-cmd-id-unoffered";

/** What each driver deviation does. */
export const DRIVER_DEVIATIONS: Readonly<Record<DriverDeviation, string>> = {
  "release-before-ack": "frees deflated pages before the deflate request is used",
  "managed-count-ignores-doom":
    "takes ballooned pages out of the managed count even with DEFLATE_ON_OOM",
  "oom-ignores-doom": "deflates on OOM even without DEFLATE_ON_OOM",
  "oom-double": "deflates twice the OOM page count on OOM",
  "pfn-array-512": "sends up to 512 PFNs per request",
  "start-pfn-off-by-one": "writes start_pfn one above the window start",
  "bmap-len-in-bits": "writes bmap_len in bits instead of bytes",
  "bit-order-msb-first": "numbers bits MSB-first within each byte",
  "misc-no-repost": "never re-posts the misc request buffer",
  "misc-no-done": "flags every reply chunk CONT, never DONE",
  "misc-done-first": "flags the first reply chunk DONE and the rest CONT",
  "misc-wrong-req-id": "echoes param + 1 as req_id",
  "misc-hint-used-page": "reports one page in use as unused",
  "misc-skip-window": "skips the second reply window",
  "actual-before-ack": "writes the new actual before the inflate request is used",
  "actual-off-by-one": "writes actual one above the balloon size",
  "accept-unoffered": "accepts RING_PACKED, which the device never offers",
  "misc-without-stats": "accepts MISC_VQ without STATS_VQ",
  "ignore-version-1": "never accepts VERSION_1",
  "stats-two-buffers": "makes two stats buffers available at once",
  "stats-no-refill": "does not give a stats buffer back after the device used it",
  "stats-varying-subset": "reports a different set of statistics each time",
  "stats-empty-first": "makes an empty first stats buffer available",
  "skip-features-ok": "sets DRIVER_OK without FEATURES_OK on a modern device",
  "notify-before-driver-ok": "notifies statsq before DRIVER_OK",
  "config-before-features-ok": "writes actual before FEATURES_OK",
  "deflate-silently": "releases balloon pages without any deflate request",
  "touch-inflated-page": "writes to a page it just put in an inflate request",
  "inflate-no-wait": "does not wait for inflate requests to be used",
  "avail-idx-first": "moves avail.idx on before it writes the ring entry it publishes",
  "remove-without-deflate": "resets on remove without deflating",
  "header-reserved-nonzero": "writes reserved = 1 in bitmap headers",
  "page-shift-13": "writes page_shift 13 in bitmap headers",
  "short-last-chunk": "sends the last bitmap chunk 8 bytes short of bmap_len",
  "clear-status-bit": "clears DRIVER in the status after DRIVER_OK",
  "continue-after-refusal": "goes on to DRIVER_OK when the device refuses FEATURES_OK",
  "actual-bytewise": "writes actual one byte at a time",
  "inflate-report-extra-page": "names one page it did not take in each inflate",
  "stats-odd-length": "adds 4 stray bytes to every stats buffer",
  "missing-queue": "sets up one queue fewer than the negotiated features give",
  "ignore-page-bitmap": "sends PFN arrays although PAGE_BITMAP was negotiated",
  "bitmap-unnegotiated": "sends bitmap requests although PAGE_BITMAP was not negotiated",
  "stats-writable-first":
    "puts a device-writable descriptor before the readable one in its first stats chain",
  "indirect-unnegotiated": "sends inflate requests through indirect tables without INDIRECT_DESC",
  "late-features": "writes its features again, with one more bit, after FEATURES_OK",
  "decline-any-layout": "declines ANY_LAYOUT when a transitional device offers it",
  "inflate-repeat-page": "names again, in each inflate, the lowest page already in the balloon",
  "deflate-extra-page": "names, in each deflate, one page above the ones it gives back",
  "poison-without-init":
    "accepts PAGE_POISON although the guest does not initialise its free pages",
  "reporting-without-poison":
    "accepts PAGE_REPORTING without PAGE_POISON although the guest initialises its free pages",
  "poison-after-driver-ok": "writes poison_val after setting DRIVER_OK",
  "poison-rewrite": "writes poison_val again, with another value, after DRIVER_OK",
  "deflate-no-poison": "gives deflated pages back without filling them with poison_val",
  "report-no-poison": "reports free pages without filling them with poison_val",
  "hint-release-uninitialized":
    "gives hinted pages back before DONE without initialising them (the hint shrinker)",
  "hint-cmd-8-bytes": "sends its free-page-hint command ids in 8-byte out buffers",
  "hint-cmd-le": "writes free-page-hint command ids little-endian on a legacy big-endian guest",
  "hint-no-start-id": "hints pages without first sending the round's command id",
  "hint-start-twice": "sends the round's command id twice",
  "hint-no-pages": "sends the command id and STOP but no pages",
  "hint-ignores-stop": "keeps hinting after the device set STOP",
  "hint-no-stop": "never ends a hint round with STOP",
  "hint-keep-after-done": "keeps the hinted pages after the device set DONE",
  "hint-used-page": "hints a page the guest uses with every hinted block",
  "report-small-pages": "reports free blocks of any order, smallest first",
  "report-no-wait": "puts reported pages back before the device has used the report",
  "report-rezero": "writes zeros into every reported page that is still free before each pass",
  "report-balloon-page": "names the lowest page in the balloon in every report",
  "fixed-queue-indices":
    "numbers its queues as the spec text does (free_page_vq 3, reporting_vq 4) whatever is negotiated",
  "poison-guest-endian": "writes poison_val in the guest's byte order on a legacy big-endian guest",
  "stats-little-endian": "writes stats entries little-endian on a legacy big-endian guest",
  "reads-hint-cmd-id-unoffered":
    "reads free_page_hint_cmd_id whether or not the device offers FREE_PAGE_HINT",
};

/** A deliberate mistake of a device. */
export type DeviceDeviation =
  | "ack-before-process"
  | "never-ack-inflate"
  | "trust-bmap-len"
  | "ignore-page-shift"
  | "no-range-check"
  | "partial-apply"
  | "bit-order-msb-first"
  | "bmap-len-as-bits"
  | "start-pfn-off-by-one"
  | "refuse-valid-subset"
  | "stats-reject-unknown-tag"
  | "stats-require-order"
  | "misc-request-len-8"
  | "misc-request-reserved"
  | "misc-hold-replies"
  | "no-dirty-log"
  | "config-guest-endian"
  | "ignore-driver-ok"
  | "used-len-bytes-read"
  | "pfn-trailing-bytes"
  | "ignore-writable-descriptors"
  | "deflate-keeps-pages"
  | "offer-misc-without-stats"
  | "no-version-1"
  | "no-any-layout"
  | "ignore-actual"
  | "actual-before-msb"
  | "pfn-cap-256"
  | "one-chain-per-notify"
  | "stops-at-ring-wrap"
  | "notify-always"
  | "notify-never"
  | "hint-reuse-cmd-id"
  | "hint-any-cmd-id"
  | "hint-done-as-stop"
  | "hint-late-discard"
  | "hint-never-used"
  | "report-never-used"
  | "report-ignores-poison"
  | "hint-cmd-any-length"
  | "report-readable-parts"
  | "report-round-ranges"
  | "fixed-queue-indices"
  | "stats-strict-tags"
  | "cmd-id-le";

/** What each device deviation does. */
export const DEVICE_DEVIATIONS: Readonly<Record<DeviceDeviation, string>> = {
  "ack-before-process": "uses an inflate/deflate buffer first and applies it later",
  "never-ack-inflate": "never uses inflate buffers",
  "trust-bmap-len": "decodes only the bytes present when bmap_len overruns the chain",
  "ignore-page-shift": "accepts any page_shift",
  "no-range-check": "balloons PFNs beyond guest RAM",
  "partial-apply": "applies the valid part of a malformed request",
  "bit-order-msb-first": "reads bitmap bits MSB-first within each byte",
  "bmap-len-as-bits": "reads bmap_len as a bit count",
  "start-pfn-off-by-one": "places bit 0 at start_pfn + 1",
  "refuse-valid-subset": "refuses FEATURES_OK unless every offered feature is accepted",
  "stats-reject-unknown-tag": "rejects a stats buffer that has an unknown tag",
  "stats-require-order": "rejects stats entries that are not in tag order",
  "misc-request-len-8": "uses the misc request buffer with length 8",
  "misc-request-reserved": "writes non-zero reserved fields in misc requests",
  "misc-hold-replies": "holds misc reply chunks until the next request",
  "no-dirty-log": "issues GET_UNUSED_PAGES without starting dirty logging",
  "config-guest-endian": "stores num_pages in the guest's byte order on legacy big-endian guests",
  "ignore-driver-ok": "processes buffers before DRIVER_OK",
  "used-len-bytes-read": "reports the bytes it read as the used length",
  "pfn-trailing-bytes": "applies the whole PFNs of an array that ends in a partial entry",
  "ignore-writable-descriptors": "reads PFNs from device-writable descriptors too",
  "deflate-keeps-pages": "acks deflate requests without taking the pages out of the balloon",
  "offer-misc-without-stats": "offers MISC_VQ without STATS_VQ, which it requires",
  "no-version-1": "does not offer VERSION_1",
  "no-any-layout": "does not offer ANY_LAYOUT although it supports the legacy interface",
  "ignore-actual": "never takes actual from the config space (the host's view stays 0)",
  "actual-before-msb":
    "takes actual at every byte the driver writes, before its most significant byte (legacy)",
  "pfn-cap-256": "ignores PFN arrays of more than 256 entries, but still uses their buffers",
  "one-chain-per-notify": "handles one available chain per notification and leaves the rest",
  "stops-at-ring-wrap": "stops taking chains once the ring has wrapped (more chains than entries)",
  "notify-always": "sends a used-buffer notification whether or not the driver suppressed it",
  "notify-never": "never sends a used-buffer notification",
  "hint-reuse-cmd-id": "issues the same free-page-hint command id every round",
  "hint-any-cmd-id": "starts a hint round on an out buffer holding any command id",
  "hint-done-as-stop": "sets STOP where DONE is due at the end of a migration",
  "hint-late-discard": "discards the hinted pages at the first notification after DONE",
  "hint-never-used": "never uses free_page_vq buffers",
  "report-never-used": "never uses reporting_vq buffers",
  "report-ignores-poison": "discards reported pages whatever poison_val says",
  "hint-cmd-any-length": "reads a command id from the first 4 bytes of an out buffer of any length",
  "report-readable-parts": "acts on reports that hold device-readable descriptors",
  "report-round-ranges": "acts on report ranges that are not whole pages, rounded out to pages",
  "fixed-queue-indices":
    "numbers its queues as the spec text does (free_page_vq 3, reporting_vq 4) whatever is negotiated",
  "stats-strict-tags":
    "rejects a stats buffer holding a tag the spec does not define (Linux 6.12's tags 10-15)",
  "cmd-id-le": "reads free-page-hint command ids little-endian on a legacy big-endian guest",
};
