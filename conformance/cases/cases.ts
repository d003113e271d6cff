/**
 * The case table: rows generated from the spec tables (header fields ×
 * legal values, feature subsets) and rows written for the ordering rules.
 * Each row names its scenario, its check and the rules it cites.
 *
 * @module
 */

import { checksFor, type Level, rule, type StructContext, STRUCTS } from "../../spec/mod.ts";
import {
  BAD_BITMAP_REQUESTS,
  balloonSubsets,
  comboName,
  V3_BALLOON_BITS,
} from "../scenarios/scenarios.ts";
import type { CaseDef, RoleUnderTest } from "../model/types.ts";

function c(
  id: string,
  title: string,
  role: RoleUnderTest,
  scenario: string,
  check: string,
  rules: string[],
  params: Record<string, unknown> = {},
  generated = false,
): CaseDef {
  return {
    id,
    title,
    area: id.split(".")[0] as string,
    rules,
    profile: "v3",
    role,
    scenario,
    check,
    params: { rule: rules[0], ...params },
    generated,
  };
}

const d = (
  id: string,
  title: string,
  scenario: string,
  check: string,
  rules: string[],
  params: Record<string, unknown> = {},
) => c(id, title, "driver", scenario, check, rules, params);
const v = (
  id: string,
  title: string,
  scenario: string,
  check: string,
  rules: string[],
  params: Record<string, unknown> = {},
) => c(id, title, "device", scenario, check, rules, params);

/** Cases written by hand for the ordering and protocol rules (driver under test). */
const WRITTEN_DRIVER: CaseDef[] = [
  // inflate / deflate with PFN arrays
  d(
    "inflate.pfn.max-256",
    "PFN-array requests hold at most 256 PFNs",
    "drv.pfn.cycle",
    "pfn-max-entries",
    ["R-07"],
  ),
  d(
    "inflate.pfn.one-in-flight",
    "One PFN-array request in flight per queue",
    "drv.pfn.cycle",
    "one-in-flight",
    ["R-07"],
  ),
  d(
    "inflate.pfn.allocated-pages",
    "Inflate names only pages the guest took for the balloon",
    "drv.pfn.cycle",
    "inflate-allocated",
    ["R-09", "B16"],
  ),
  d(
    "deflate.pfn.reported",
    "Every page taken back is reported on deflateq, and only balloon pages",
    "drv.pfn.cycle",
    "deflate-reported",
    ["B13", "R-11"],
  ),
  d(
    "actual.pfn.after-ack",
    "actual is written after each pass, once its requests were used",
    "drv.pfn.cycle",
    "actual-after-ack",
    ["R-05", "B18"],
  ),
  d(
    "actual.pfn.equals-balloon",
    "actual equals the pages the host was told about",
    "drv.pfn.cycle",
    "actual-equals-balloon",
    ["R-06"],
  ),
  d(
    "deflate.pfn.after-inflate-ack",
    "No deflate of pages whose inflate was not used yet",
    "drv.pfn.inflate-held",
    "no-deflate-before-inflate-ack",
    ["B17"],
  ),
  d(
    "actual.pfn.held-inflate",
    "With the inflate ack held back, actual waits for it",
    "drv.pfn.inflate-held",
    "actual-after-ack",
    ["R-09", "B18"],
  ),
  d(
    "deflate.pfn.mth.no-reuse-before-ack",
    "With MUST_TELL_HOST no deflated page is used before the deflate is used",
    "drv.pfn.mth-slow-ack",
    "no-write-to-held",
    ["R-12a", "B14"],
  ),
  d(
    "deflate.pfn.no-mth.tell-first",
    "Without MUST_TELL_HOST the same slow ack: telling the host first is still recommended",
    "drv.pfn.no-mth-slow-ack",
    "no-write-to-held",
    ["R-12b"],
  ),
  // bitmaps
  d(
    "inflate.bitmap.one-in-flight",
    "One bitmap request in flight per queue",
    "drv.bitmap.cycle",
    "one-in-flight",
    ["R-07"],
  ),
  d(
    "inflate.bitmap.allocated-pages",
    "Inflate bitmaps name only pages the guest took for the balloon",
    "drv.bitmap.cycle",
    "inflate-allocated",
    ["R-09", "B16"],
  ),
  d(
    "inflate.bitmap.new-pages-only",
    "Each pass reports exactly its new pages, each once",
    "drv.bitmap.cycle",
    "bitmap-new-pages-only",
    ["R-08"],
  ),
  d(
    "balloon.inflate.not-in-balloon.pfn",
    "No inflate names a page already in the balloon (PFN arrays)",
    "drv.pfn.cycle",
    "balloon-set",
    ["S-06"],
    { what: "inflate" },
  ),
  d(
    "balloon.inflate.not-in-balloon.bitmap",
    "No inflate names a page already in the balloon (bitmaps)",
    "drv.bitmap.cycle",
    "balloon-set",
    ["S-06"],
    { what: "inflate" },
  ),
  d(
    "balloon.deflate.in-balloon.pfn",
    "Every deflated page is in the balloon (PFN arrays)",
    "drv.pfn.cycle",
    "balloon-set",
    ["S-07"],
    { what: "deflate" },
  ),
  d(
    "balloon.deflate.in-balloon.bitmap",
    "Every deflated page is in the balloon (bitmaps)",
    "drv.bitmap.cycle",
    "balloon-set",
    ["S-07"],
    { what: "deflate" },
  ),
  d(
    "inflate.bitmap.chain-length",
    "Inflate chains hold header + bmap_len bytes in ceil(bmap_len / 32 KiB) chunks",
    "drv.bitmap.cycle",
    "bitmap-chain-length",
    ["R-08"],
    { what: "inflate" },
  ),
  d(
    "deflate.bitmap.chain-length",
    "Deflate chains hold header + bmap_len bytes",
    "drv.bitmap.cycle",
    "bitmap-chain-length",
    ["R-11", "R-08"],
    { what: "deflate" },
  ),
  d(
    "bitmap.layout.lsb-first",
    "Bitmap bits are LSB-first: the pages they name are the pages inflated",
    "drv.bitmap.cycle",
    "inflate-allocated",
    ["S-04"],
  ),
  d(
    "inflate.bitmap.single-pages",
    "Single-page passes each send their page",
    "drv.bitmap.one-by-one",
    "actual-equals-balloon",
    ["R-08", "R-06"],
  ),
  d(
    "deflate.bitmap.reported",
    "Every page taken back is reported on deflateq",
    "drv.bitmap.cycle",
    "deflate-reported",
    ["B13", "R-11"],
  ),
  d(
    "actual.bitmap.after-ack",
    "actual is written after each bitmap pass, once its requests were used",
    "drv.bitmap.cycle",
    "actual-after-ack",
    ["R-05", "B18"],
  ),
  d(
    "actual.bitmap.equals-balloon",
    "actual equals the pages the host was told about (bitmaps)",
    "drv.bitmap.cycle",
    "actual-equals-balloon",
    ["R-06"],
  ),
  d(
    "inflate.bitmap.no-use-before-ack",
    "No page is written between its inflate and its deflate ack",
    "drv.bitmap.cycle",
    "no-write-to-held",
    ["B16"],
  ),
  d(
    "deflate.bitmap.mth.no-reuse-before-ack",
    "With MUST_TELL_HOST no deflated page is used before the ack (bitmaps)",
    "drv.bitmap.mth-slow-ack",
    "no-write-to-held",
    ["R-12a", "B14"],
  ),
  d(
    "windows.beyond-1gib.chain-length",
    "A window wider than 1 GiB: several chunks, header + bmap_len bytes",
    "drv.bitmap.beyond-1gib",
    "bitmap-chain-length",
    ["R-08"],
    { what: "inflate" },
  ),
  d(
    "windows.beyond-1gib.new-pages-only",
    "A window wider than 1 GiB reports exactly the new pages",
    "drv.bitmap.beyond-1gib",
    "bitmap-new-pages-only",
    ["R-08"],
  ),
  d(
    "windows.beyond-32gib.new-pages-only",
    "A 33 GiB guest: several 32 GiB windows report exactly the new pages",
    "drv.bitmap.beyond-32gib",
    "bitmap-new-pages-only",
    ["R-08"],
  ),
  d(
    "windows.beyond-32gib.chain-length",
    "Windows past 32 GiB: at most 32 chunks, header + bmap_len bytes",
    "drv.bitmap.beyond-32gib",
    "bitmap-chain-length",
    ["R-08"],
    { what: "inflate" },
  ),
  d(
    "windows.beyond-32gib.actual",
    "actual matches the host after windows past 32 GiB",
    "drv.bitmap.beyond-32gib",
    "actual-equals-balloon",
    ["R-06"],
  ),
  d(
    "ring.small.settles",
    "A request larger than the ring neither hangs nor spins",
    "drv.bitmap.small-ring",
    "settles",
    ["R-14"],
  ),
  d(
    "ring.small.actual",
    "Through a small ring the balloon still reaches the target",
    "drv.bitmap.small-ring",
    "actual-equals-balloon",
    ["R-06"],
  ),
  // OOM and accounting
  d(
    "oom.doom.deflate",
    "With DEFLATE_ON_OOM, an OOM event deflates at most OOM_VBALLOON_DEFAULT_PAGES",
    "drv.doom.oom",
    "oom-deflate",
    ["R-13", "B12"],
    { doom: true },
  ),
  d(
    "oom.doom.actual",
    "After an OOM deflate, actual equals the host's balloon",
    "drv.doom.oom",
    "actual-equals-balloon",
    ["R-06", "R-13"],
  ),
  d(
    "oom.no-doom.none",
    "Without DEFLATE_ON_OOM, an OOM event deflates nothing",
    "drv.no-doom.oom",
    "oom-deflate",
    ["R-13", "B11"],
    { doom: false },
  ),
  d(
    "oom.doom.managed",
    "With DEFLATE_ON_OOM ballooned pages stay in the managed count",
    "drv.doom.oom",
    "managed-count",
    ["R-10"],
    { doom: true, afterStep: 2 },
  ),
  d(
    "oom.no-doom.managed",
    "Without DEFLATE_ON_OOM ballooned pages leave the managed count",
    "drv.no-doom.oom",
    "managed-count",
    ["R-10"],
    { doom: false, afterStep: 2 },
  ),
  // stats
  d("stats.after-init", "A stats buffer is available after initialisation", "drv.stats", "stats", [
    "B26",
  ]),
  d(
    "stats.first-filled",
    "The first stats buffer is filled, one entry per statistic",
    "drv.stats",
    "stats",
    ["B28"],
  ),
  d(
    "stats.one-at-a-time",
    "At most one stats buffer is available at a time",
    "drv.stats",
    "stats",
    ["B25"],
  ),
  d("stats.refilled", "A new stats buffer follows every request", "drv.stats", "stats", ["B27"]),
  d("stats.whole-entries", "Stats buffers hold whole 10-byte entries", "drv.stats", "stats", [
    "B29",
  ]),
  d("stats.same-subset", "Every stats buffer holds the same statistics", "drv.stats", "stats", [
    "B32",
  ]),
  // misc queue
  d(
    "misc.request-buffer",
    "One 16-byte request buffer is available before each request",
    "drv.misc",
    "misc-buffer-reposted",
    ["R-04"],
  ),
  d(
    "misc.req-id",
    "Every reply chunk echoes the request's param as req_id",
    "drv.misc",
    "misc-reply-shape",
    ["R-18"],
    { aspect: "req-id" },
  ),
  d(
    "misc.flags",
    "Reply chunks are CONT … CONT, then exactly one DONE, last",
    "drv.misc",
    "misc-reply-shape",
    ["R-18"],
    { aspect: "flags" },
  ),
  d(
    "misc.coverage",
    "Reply windows are contiguous from PFN 0 and cover all guest memory",
    "drv.misc",
    "misc-reply-shape",
    ["R-18"],
    { aspect: "coverage" },
  ),
  d(
    "misc.hints-free-only",
    "Pages hinted unused were free at scan time",
    "drv.misc",
    "misc-hints-free",
    ["R-19"],
    { aspect: "sound" },
  ),
  d(
    "misc.hints-complete",
    "Every page on the buddy free lists is hinted",
    "drv.misc",
    "misc-hints-free",
    ["R-19"],
    { aspect: "complete" },
  ),
  d(
    "misc.reply-chain-length",
    "Reply chains hold header + bmap_len bytes",
    "drv.misc",
    "bitmap-chain-length",
    ["R-18"],
    { what: "misc-reply" },
  ),
  d(
    "misc.deferred",
    "Requests are handled in deferred context, not in the interrupt",
    "drv.misc",
    "no-irq-blocking",
    ["R-18"],
  ),
  d(
    "misc.bad-request.reposted",
    "After a bad request the buffer is posted again",
    "drv.misc.bad-requests",
    "misc-buffer-reposted",
    ["R-17b", "R-04"],
  ),
  d(
    "misc.bad-request.ignored",
    "A request with a bad length or command gets no reply",
    "drv.misc.bad-requests",
    "misc-bad-request-ignored",
    ["R-17b"],
  ),
  // lifecycle
  d(
    "lifecycle.remove",
    "Remove deflates everything and writes actual 0 before the reset",
    "drv.remove",
    "remove-clean",
    ["R-22"],
  ),
  d(
    "lifecycle.remove.no-reuse",
    "Remove uses no page before its deflate was used",
    "drv.remove",
    "no-write-to-held",
    ["R-22", "B14"],
  ),
  d(
    "lifecycle.freeze-restore",
    "Restore renegotiates and goes back to the target",
    "drv.freeze-restore",
    "restore-resumes",
    ["R-23"],
    { target: 2000 },
  ),
  d(
    "lifecycle.migrate-page.bitmap",
    "Balloon-page migration: one page inflated, then one deflated (bitmaps)",
    "drv.bitmap.migrate-page",
    "migrate-page",
    ["R-24"],
  ),
  d(
    "lifecycle.migrate-page.pfn",
    "Balloon-page migration: one page inflated, then one deflated (PFN arrays)",
    "drv.pfn.migrate-page",
    "migrate-page",
    ["R-24"],
  ),
  // negotiation and initialisation
  d(
    "negotiation.init.sequence",
    "Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, re-read, DRIVER_OK",
    "drv.bitmap.cycle",
    "init-sequence",
    ["G55a", "G01"],
  ),
  d(
    "negotiation.init.no-clear",
    "The driver never clears a status bit",
    "drv.bitmap.cycle",
    "init-sequence",
    ["G02"],
  ),
  d(
    "negotiation.init.no-early-notify",
    "No notification before DRIVER_OK",
    "drv.bitmap.cycle",
    "init-sequence",
    ["G57"],
  ),
  d(
    "negotiation.init.no-late-features",
    "No feature is added after FEATURES_OK",
    "drv.bitmap.cycle",
    "init-sequence",
    ["G55d"],
  ),
  d(
    "negotiation.any-layout",
    "A transitional driver on the legacy interface accepts ANY_LAYOUT when offered",
    "drv.bitmap.legacy-be",
    "features-written",
    ["G64"],
  ),
  d(
    "ring.chains.writable-after-readable",
    "Device-writable descriptors come after device-readable ones",
    "drv.stats",
    "ring-legal",
    ["G29"],
  ),
  d(
    "ring.chains.no-indirect-unnegotiated",
    "No indirect descriptor without INDIRECT_DESC",
    "drv.bitmap.small-ring",
    "ring-legal",
    ["G34"],
  ),
  d(
    "negotiation.init.no-early-config",
    "No config write before FEATURES_OK",
    "drv.bitmap.cycle",
    "init-sequence",
    ["G55c"],
  ),
  d(
    "negotiation.refused.failed",
    "When the device refuses FEATURES_OK the driver sets FAILED",
    "drv.refused",
    "refusal-handled",
    ["G56a"],
  ),
  d(
    "negotiation.refused.stops",
    "When the device refuses FEATURES_OK the driver does not go on",
    "drv.refused",
    "refusal-handled",
    ["G56b", "G12b"],
  ),
  d(
    "negotiation.fallback-before-features-ok",
    "A failed bitmap allocation changes the features before FEATURES_OK",
    "drv.bitmap-alloc-fails",
    "format-matches",
    ["R-02"],
  ),
  // legacy
  d(
    "legacy.be.actual-le",
    "A big-endian legacy guest writes actual little-endian",
    "drv.bitmap.legacy-be",
    "actual-le",
    ["B07"],
  ),
  d(
    "legacy.be.layout",
    "A big-endian legacy guest's bitmaps name the pages it inflated",
    "drv.bitmap.legacy-be",
    "inflate-allocated",
    ["S-04", "B35"],
  ),
  d(
    "legacy.be.pfn-allocated",
    "A big-endian legacy guest's PFN arrays name the pages it inflated",
    "drv.pfn.legacy-be",
    "inflate-allocated",
    ["R-09"],
  ),
  d(
    "legacy.actual-atomic",
    "actual is written in one 4-byte access",
    "drv.pfn.legacy-be",
    "actual-atomic",
    ["B23"],
  ),
];

/** Generated: one case per bitmap-header field check, per use (inflate, deflate, misc reply). */
function headerCases(): CaseDef[] {
  const out: CaseDef[] = [];
  const uses: [StructContext, string, string][] = [
    ["inflate", "drv.bitmap.cycle", "inflate"],
    ["deflate", "drv.bitmap.cycle", "deflate"],
    ["misc-reply", "drv.misc", "misc"],
  ];
  for (const [context, scenario, area] of uses) {
    for (const f of STRUCTS.balloon_bmap_hdr.fields) {
      const checks = checksFor(f, context);
      if (checks.length === 0) continue;
      const rules = [...new Set(checks.map((x) => x.rule))];
      out.push(c(
        `${area}.header.${f.name}`,
        `${context} headers: ${f.name} is legal (${checks.map((x) => x.rule).join(", ")})`,
        "driver",
        scenario,
        "bitmap-header-field",
        rules,
        { field: f.name, context },
        true,
      ));
    }
  }
  return out;
}

/** Generated: for every subset of the balloon bits the device offers. */
function negotiationCases(): CaseDef[] {
  const out: CaseDef[] = [];
  for (const combo of balloonSubsets()) {
    const name = comboName(combo);
    const s = `drv.neg.${name}`;
    const g = (
      id: string,
      title: string,
      check: string,
      rules: string[],
      params: Record<string, unknown> = {},
    ) =>
      out.push(
        c(`negotiation.offer.${name}.${id}`, title, "driver", s, check, rules, params, true),
      );
    g("offered-only", `Offered ${name}: accepts only offered features`, "features-written", [
      "G08",
      "R-01",
    ]);
    if (combo.includes("MISC_VQ") && !combo.includes("STATS_VQ")) {
      g(
        "dependencies",
        `Offered ${name}: does not accept MISC_VQ without STATS_VQ`,
        "features-written",
        ["G09"],
      );
    }
    g("version-1", `Offered ${name}: accepts VERSION_1`, "features-written", ["G60a"]);
    g(
      "queues",
      `Offered ${name}: sets up exactly the queues the negotiated features give`,
      "queues-match",
      ["R-03"],
    );
    g(
      "format",
      `Offered ${name}: inflates in the format the negotiated features give`,
      "format-matches",
      ["R-01"],
    );
    g("init", `Offered ${name}: the initialisation sequence`, "init-sequence", ["G55a"]);
  }
  return out;
}

/** Written device cases. */
const WRITTEN_DEVICE: CaseDef[] = [
  v("device.pfn.inflate", "A PFN-array inflate balloons exactly its pages", "dev.pfn", "applied", [
    "S-05",
  ], { label: "inflate" }),
  v("device.pfn.deflate", "A PFN-array deflate returns exactly its pages", "dev.pfn", "applied", [
    "S-05",
  ], { label: "deflate" }),
  v("device.pfn.scattered", "PFNs across zones are ballooned", "dev.pfn", "applied", ["S-05"], {
    label: "inflate-scattered",
  }),
  v(
    "device.pfn.used-after-apply",
    "A PFN-array buffer is used after it was applied",
    "dev.pfn",
    "applied-before-use",
    ["S-05"],
    { label: "inflate" },
  ),
  v(
    "device.pfn.used-len",
    "Inflate/deflate buffers are used with length 0",
    "dev.pfn",
    "used-len-zero",
    ["G46a"],
  ),
  v(
    "device.bitmap.inflate-run",
    "A bitmap inflate balloons exactly its pages",
    "dev.bitmap",
    "applied",
    ["S-05", "R-16"],
    { label: "inflate-run" },
  ),
  v(
    "device.bitmap.deflate",
    "A bitmap deflate returns exactly its pages",
    "dev.bitmap",
    "applied",
    ["S-05", "R-16"],
    { label: "deflate-part" },
  ),
  v(
    "device.bitmap.bit-order",
    "Bit j of a bitmap is PFN start_pfn + j, LSB-first",
    "dev.bitmap",
    "applied",
    ["S-05"],
    { label: "inflate-scattered" },
  ),
  v(
    "device.bitmap.two-chunks",
    "A bitmap in two chunks is read as one byte stream",
    "dev.bitmap",
    "applied",
    ["S-05", "R-16"],
    { label: "inflate-two-chunks" },
  ),
  v(
    "device.bitmap.indirect",
    "A bitmap request in an indirect table is applied",
    "dev.bitmap",
    "applied",
    ["S-05", "G39"],
    { label: "inflate-indirect" },
  ),
  v(
    "device.bitmap.used-after-apply",
    "A bitmap buffer is used after it was applied",
    "dev.bitmap",
    "applied-before-use",
    ["R-16"],
    { label: "inflate-run" },
  ),
  v(
    "device.bitmap.used-len",
    "Bitmap buffers are used with length 0",
    "dev.bitmap",
    "used-len-zero",
    ["G46a"],
  ),
  v(
    "robustness.pfn.odd-length",
    "A PFN array ending in a partial entry is rejected",
    "dev.pfn.malformed",
    "rejected",
    ["S-01", "S-03"],
    { label: "odd-length" },
  ),
  v(
    "robustness.pfn.beyond-ram",
    "A PFN array naming a page past RAM changes nothing",
    "dev.pfn.malformed",
    "rejected",
    ["S-02", "S-03"],
    { label: "beyond-ram" },
  ),
  v(
    "robustness.pfn.writable",
    "Device-writable descriptors on inflateq are not read as PFNs",
    "dev.pfn.malformed",
    "rejected",
    ["G31b", "S-03"],
    { label: "writable" },
  ),
  v(
    "robustness.pfn.usable-after",
    "After malformed PFN arrays the device still works",
    "dev.pfn.malformed",
    "applied",
    ["S-03", "S-05"],
    { label: "after" },
  ),
  v(
    "robustness.bitmap.usable-after",
    "After malformed bitmaps the device still works",
    "dev.bitmap.malformed",
    "applied",
    ["S-03", "S-05"],
    { label: "after" },
  ),
  v(
    "device.stats.unknown-tag",
    "A stats buffer with an unknown tag is accepted; the tag is ignored",
    "dev.stats",
    "stats-accepted",
    ["B33"],
    { label: "stats-unknown" },
  ),
  v(
    "device.stats.any-order",
    "Stats entries are accepted in any order",
    "dev.stats",
    "stats-accepted",
    ["B34"],
    { label: "stats-reversed" },
  ),
  v(
    "device.misc.request",
    "A host request fills the 16-byte buffer and is used with length 16",
    "dev.misc",
    "misc-request",
    ["R-17a"],
  ),
  v(
    "device.misc.dirty-log",
    "Dirty logging starts before the request is issued",
    "dev.misc",
    "dirty-log-first",
    ["R-20"],
  ),
  v(
    "device.misc.replies-used",
    "Reply chunks are used as they arrive",
    "dev.misc",
    "replies-used",
    ["R-21", "R-16"],
  ),
  v(
    "device.features.dependencies",
    "The device offers no feature without the features it requires",
    "dev.bitmap",
    "offered-features",
    ["G14"],
  ),
  v("device.features.version-1", "The device offers VERSION_1", "dev.bitmap", "offered-features", [
    "G62a",
  ]),
  v(
    "device.features.any-layout",
    "A transitional device offers ANY_LAYOUT",
    "dev.bitmap",
    "offered-features",
    ["G64"],
  ),
  v(
    "device.init.not-before-driver-ok",
    "No buffer is consumed before DRIVER_OK",
    "dev.before-driver-ok",
    "not-before-driver-ok",
    ["G05"],
    { label: "early" },
  ),
  v(
    "device.legacy.config-le",
    "Config space is little-endian for a big-endian legacy guest",
    "dev.legacy-be",
    "config-le",
    ["B07"],
    { target: 0x01020304 },
  ),
  v(
    "device.legacy.pfn",
    "Guest-native PFN arrays of a big-endian legacy guest are applied",
    "dev.legacy-be",
    "applied",
    ["S-05"],
    { label: "inflate" },
  ),
];

/** Generated device cases: the malformed bitmap requests, and the feature subsets. */
function deviceGeneratedCases(): CaseDef[] {
  const out: CaseDef[] = [];
  for (const b of BAD_BITMAP_REQUESTS) {
    out.push(
      c(
        `robustness.bitmap.${b.label}`,
        `Rejects ${b.title}`,
        "device",
        "dev.bitmap.malformed",
        "rejected",
        [...b.rules],
        {
          label: b.label,
          ...(b.field === undefined ? {} : { field: b.field }),
        },
        true,
      ),
    );
  }
  for (const combo of balloonSubsets()) {
    if (combo.includes("MISC_VQ") && !combo.includes("STATS_VQ")) continue;
    if (combo.length === V3_BALLOON_BITS.length) continue;
    const name = comboName(combo);
    out.push(
      c(
        `device.negotiation.${name}`,
        `Accepts the valid subset ${name}`,
        "device",
        `dev.neg.${name}`,
        "accepts-subset",
        ["G15a"],
        {},
        true,
      ),
    );
  }
  return out;
}

/** Every case of profile v3. */
export const CASES: readonly CaseDef[] = [
  ...WRITTEN_DRIVER,
  ...headerCases(),
  ...negotiationCases(),
  ...WRITTEN_DEVICE,
  ...deviceGeneratedCases(),
];

const LEVEL_ORDER: Level[] = ["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY"];

/** The strictest level among a case's rules (MUST and MUST NOT are equally strict). */
export function caseLevel(k: CaseDef): Level {
  const levels = k.rules.map((r) => rule(r).level);
  return levels.sort((a, b) => LEVEL_ORDER.indexOf(a) - LEVEL_ORDER.indexOf(b))[0] ?? "MUST";
}

/** A case by id. */
export function caseById(id: string): CaseDef | undefined {
  return CASES.find((k) => k.id === id);
}
