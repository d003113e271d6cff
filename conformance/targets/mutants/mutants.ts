/**
 * Mutants: deliberately broken drivers and devices that prove the suite can
 * fail. Each is the reference implementation with one named deviation (or
 * one seed quirk), and declares the cases that must fail on it.
 *
 * @module
 */

import {
  DEVICE_DEVIATIONS,
  type DeviceDeviation,
  DRIVER_DEVIATIONS,
  type DriverDeviation,
  type GuestAbi,
  type QuirkId,
  QUIRKS,
} from "../../../impl/mod.ts";
import type { ProfileId } from "../../../spec/mod.ts";
import { referenceDeviceTarget, referenceDriverTarget } from "../reference/reference.ts";
import type { Target } from "../../model/types.ts";
import { V1X_DEVICE_KILLS, V1X_DRIVER_KILLS } from "./standard.ts";

/** A mutant and the cases it must fail. */
export interface Mutant {
  /**
   * Target name: `driver:<deviation>`, `device:<deviation>` or `quirk:<D-nn>`
   * (profile v3), `v1x-driver:<deviation>` or `v1x-device:<deviation>`
   * (profile virtio-1.x).
   */
  readonly name: string;
  /** What is wrong with it. */
  readonly description: string;
  /** Case ids (or prefixes ending in `*`) that must fail (or warn, for SHOULD rules) on it. */
  readonly kills: readonly string[];
  /** The target. */
  readonly target: Target;
}

/** Cases each driver deviation must fail. */
const DRIVER_KILLS: Readonly<Partial<Record<DriverDeviation, readonly string[]>>> = {
  "release-before-ack": [
    "deflate.pfn.mth.no-reuse-before-ack",
    "deflate.bitmap.mth.no-reuse-before-ack",
    "deflate.pfn.no-mth.tell-first",
  ],
  "managed-count-ignores-doom": ["oom.doom.managed"],
  "oom-ignores-doom": ["oom.no-doom.none"],
  "oom-double": ["oom.doom.deflate"],
  "pfn-array-512": ["inflate.pfn.max-256"],
  "start-pfn-off-by-one": [
    "inflate.header.start_pfn",
    "deflate.header.start_pfn",
    "misc.header.start_pfn",
  ],
  "bmap-len-in-bits": [
    "inflate.bitmap.chain-length",
    "deflate.bitmap.chain-length",
    "misc.reply-chain-length",
  ],
  "bit-order-msb-first": ["bitmap.layout.lsb-first", "inflate.bitmap.allocated-pages"],
  "misc-no-repost": ["misc.request-buffer"],
  "misc-no-done": ["misc.flags"],
  "misc-done-first": ["misc.flags"],
  "misc-wrong-req-id": ["misc.req-id"],
  "misc-hint-used-page": ["misc.hints-free-only"],
  "misc-skip-window": ["misc.coverage", "misc.hints-complete"],
  "actual-before-ack": [
    "actual.pfn.after-ack",
    "actual.bitmap.after-ack",
    "actual.pfn.held-inflate",
  ],
  "actual-off-by-one": ["actual.pfn.equals-balloon", "actual.bitmap.equals-balloon"],
  "accept-unoffered": ["negotiation.offer.*.offered-only"],
  "misc-without-stats": ["negotiation.offer.*misc.dependencies"],
  "ignore-version-1": ["negotiation.offer.*.version-1"],
  "stats-two-buffers": ["stats.one-at-a-time"],
  "stats-no-refill": ["stats.refilled"],
  "stats-varying-subset": ["stats.same-subset"],
  "stats-empty-first": ["stats.first-filled"],
  "skip-features-ok": ["negotiation.init.sequence", "negotiation.offer.*.init"],
  "notify-before-driver-ok": ["negotiation.init.no-early-notify"],
  "config-before-features-ok": ["negotiation.init.no-early-config"],
  "deflate-silently": ["deflate.pfn.reported", "deflate.bitmap.reported"],
  "touch-inflated-page": ["inflate.bitmap.no-use-before-ack"],
  "inflate-no-wait": ["deflate.pfn.after-inflate-ack", "actual.pfn.held-inflate"],
  "avail-idx-first": ["ring.avail.entry-before-idx"],
  "remove-without-deflate": ["lifecycle.remove"],
  "header-reserved-nonzero": [
    "inflate.header.reserved",
    "deflate.header.reserved",
    "misc.header.reserved",
  ],
  "page-shift-13": [
    "inflate.header.page_shift",
    "deflate.header.page_shift",
    "misc.header.page_shift",
  ],
  "short-last-chunk": [
    "inflate.bitmap.chain-length",
    "windows.beyond-1gib.chain-length",
    "windows.beyond-32gib.chain-length",
  ],
  "clear-status-bit": ["negotiation.init.no-clear"],
  "continue-after-refusal": ["negotiation.refused.failed", "negotiation.refused.stops"],
  "actual-bytewise": ["legacy.actual-atomic"],
  "inflate-report-extra-page": ["inflate.pfn.allocated-pages", "actual.pfn.equals-balloon"],
  "stats-odd-length": ["stats.whole-entries"],
  "missing-queue": ["negotiation.offer.*.queues"],
  "ignore-page-bitmap": ["negotiation.offer.*bitmap*.format"],
  "bitmap-unnegotiated": ["negotiation.offer.none.format", "negotiation.offer.mth.format"],
  "stats-writable-first": ["ring.chains.writable-after-readable"],
  "indirect-unnegotiated": ["ring.chains.no-indirect-unnegotiated"],
  "late-features": ["negotiation.init.no-late-features"],
  "decline-any-layout": ["negotiation.any-layout"],
  "inflate-repeat-page": ["balloon.inflate.not-in-balloon.pfn"],
  "deflate-extra-page": [
    "balloon.deflate.in-balloon.pfn",
    "balloon.deflate.in-balloon.bitmap",
  ],
};

/** Cases each device deviation must fail. */
const DEVICE_KILLS: Readonly<Partial<Record<DeviceDeviation, readonly string[]>>> = {
  "ack-before-process": ["device.pfn.used-after-apply", "device.bitmap.used-after-apply"],
  "never-ack-inflate": ["device.pfn.inflate", "device.bitmap.inflate-run"],
  // header-only: trusting a 0-byte bitmap applies nothing, which is indistinguishable from rejecting it
  "trust-bmap-len": ["robustness.bitmap.bmap-len-past-chain"],
  "ignore-page-shift": [
    "robustness.bitmap.page-shift-0",
    "robustness.bitmap.page-shift-63",
    "robustness.bitmap.page-shift-16",
  ],
  "no-range-check": [
    "robustness.pfn.beyond-ram",
    "robustness.bitmap.start-beyond-ram",
    "robustness.bitmap.bits-beyond-ram",
  ],
  "partial-apply": ["robustness.pfn.beyond-ram"],
  "bit-order-msb-first": ["device.bitmap.bit-order"],
  "bmap-len-as-bits": ["device.bitmap.inflate-run"],
  "start-pfn-off-by-one": ["device.bitmap.inflate-run", "device.bitmap.bit-order"],
  "refuse-valid-subset": ["device.negotiation.*"],
  "stats-reject-unknown-tag": ["device.stats.unknown-tag"],
  "stats-require-order": ["device.stats.any-order"],
  "misc-request-len-8": ["device.misc.request"],
  "misc-request-reserved": ["device.misc.request"],
  "misc-hold-replies": ["device.misc.replies-used"],
  "no-dirty-log": ["device.misc.dirty-log"],
  "config-guest-endian": ["device.legacy.config-le"],
  "ignore-driver-ok": ["device.init.not-before-driver-ok"],
  "used-len-bytes-read": ["device.pfn.used-len", "device.bitmap.used-len"],
  "pfn-trailing-bytes": ["robustness.pfn.odd-length"],
  "ignore-writable-descriptors": ["robustness.pfn.writable"],
  "deflate-keeps-pages": ["device.pfn.deflate", "device.bitmap.deflate"],
  "offer-misc-without-stats": ["device.features.dependencies"],
  "no-version-1": ["device.features.version-1"],
  "no-any-layout": ["device.features.any-layout"],
  "ignore-actual": ["device.actual.taken"],
  "actual-before-msb": ["device.legacy.actual-msb"],
  "pfn-cap-256": ["device.pfn.entries-257", "device.pfn.entries-1024"],
  "one-chain-per-notify": ["device.ring.several-in-flight"],
  "stops-at-ring-wrap": ["device.ring.wrap"],
  "notify-always": ["device.notify.flags.suppressed", "device.notify.event-idx.suppressed"],
  "notify-never": ["device.notify.flags.sent", "device.notify.event-idx.sent"],
};

/** Seed quirks used as mutants, with the guest they show on and the cases they must fail. */
const QUIRK_MUTANTS: readonly {
  readonly quirk: QuirkId;
  readonly abi?: Partial<GuestAbi>;
  readonly guestEndian?: "le" | "be";
  readonly kills: readonly string[];
}[] = [
  { quirk: "D-01", kills: ["inflate.bitmap.chain-length", "actual.bitmap.equals-balloon"] },
  { quirk: "D-02", kills: ["inflate.bitmap.single-pages"] },
  {
    quirk: "D-03",
    kills: ["inflate.bitmap.new-pages-only", "balloon.inflate.not-in-balloon.bitmap"],
  },
  { quirk: "D-04", kills: ["misc.hints-complete"] },
  { quirk: "D-05", kills: ["misc.deferred"] },
  { quirk: "D-06", kills: ["misc.bad-request.reposted"] },
  { quirk: "D-07", guestEndian: "be", kills: ["misc.req-id"] },
  { quirk: "D-08", abi: { bitsPerLong: 32 }, kills: ["misc.req-id"] },
  { quirk: "D-09", kills: ["inflate.header.flag", "inflate.header.req_id"] },
  {
    quirk: "D-10",
    kills: ["negotiation.fallback-before-features-ok", "negotiation.offer.*misc.dependencies"],
  },
  { quirk: "D-12", kills: ["lifecycle.migrate-page.bitmap"] },
  { quirk: "D-13", kills: ["legacy.be.layout"] },
  {
    quirk: "D-14",
    abi: { pageShift: 16 },
    kills: ["inflate.header.page_shift", "deflate.header.page_shift"],
  },
  { quirk: "D-15", kills: ["ring.small.settles"] },
  { quirk: "D-16", kills: ["misc.header.bmap_len", "misc.coverage"] },
];

/**
 * Quirks that are not mutants: D-11 drops PAGE_BITMAP without STATS_VQ, a
 * legal (if needless) choice that breaks no rule, so no case can fail it.
 */
export const QUIRKS_NOT_MUTANTS: Readonly<Record<string, string>> = {
  "D-11": "dropping PAGE_BITMAP without STATS_VQ is a needless restriction, not a rule violation",
};

/** The mutants of one kills table: one per deviation with a non-empty list, in the table's order. */
function deviationMutants<D extends string>(
  kind: "driver" | "device",
  kills: Readonly<Partial<Record<D, readonly string[]>>>,
  options: {
    readonly descriptions: Readonly<Record<D, string>>;
    readonly prefix: string;
    readonly profile: ProfileId;
  },
): Mutant[] {
  return (Object.keys(kills) as D[]).flatMap((d) => {
    const list = kills[d] ?? [];
    if (list.length === 0) return [];
    const name = `${options.prefix}:${d}`;
    const description = `${kind === "driver" ? "Driver" : "Device"} that ${
      options.descriptions[d]
    }${options.profile === "v3" ? "" : " (virtio-1.x)"}`;
    const target = kind === "driver"
      ? referenceDriverTarget(name, description, {
        deviations: [d as unknown as DriverDeviation],
        profile: options.profile,
      })
      : referenceDeviceTarget(name, description, [d as unknown as DeviceDeviation], {
        profile: options.profile,
      });
    return [{ name, description, kills: list, target }];
  });
}

/** Every mutant of profile v3. */
const V3_MUTANTS: readonly Mutant[] = [
  ...deviationMutants("driver", DRIVER_KILLS, {
    descriptions: DRIVER_DEVIATIONS,
    prefix: "driver",
    profile: "v3",
  }),
  ...deviationMutants("device", DEVICE_KILLS, {
    descriptions: DEVICE_DEVIATIONS,
    prefix: "device",
    profile: "v3",
  }),
  ...QUIRK_MUTANTS.map((q) => {
    const where = [
      q.abi?.bitsPerLong === 32 ? "32-bit" : "",
      q.abi?.pageShift === 16 ? "64 KiB-page" : "",
      q.guestEndian === "be" ? "big-endian" : "",
    ]
      .filter((x) => x).join(" ");
    const description = `The seed as posted, ${q.quirk} only${where ? ` (${where} guest)` : ""}: ${
      QUIRKS[q.quirk]
    }`;
    return {
      name: `quirk:${q.quirk}`,
      description,
      kills: q.kills,
      target: referenceDriverTarget(`quirk:${q.quirk}`, description, {
        quirks: [q.quirk],
        ...(q.abi ? { abi: q.abi } : {}),
        ...(q.guestEndian ? { guestEndian: q.guestEndian } : {}),
      }),
    };
  }),
];

/** Every mutant of the standard profile (`v1x-driver:<deviation>`, `v1x-device:<deviation>`). */
export const V1X_MUTANTS: readonly Mutant[] = [
  ...deviationMutants("driver", V1X_DRIVER_KILLS, {
    descriptions: DRIVER_DEVIATIONS,
    prefix: "v1x-driver",
    profile: "virtio-1.x",
  }),
  ...deviationMutants("device", V1X_DEVICE_KILLS, {
    descriptions: DEVICE_DEVIATIONS,
    prefix: "v1x-device",
    profile: "virtio-1.x",
  }),
];

/** Every mutant of both profiles (a mutant's target says its profile). */
export const MUTANTS: readonly Mutant[] = [...V3_MUTANTS, ...V1X_MUTANTS];

/** The mutants of one profile. */
export function mutantsOf(profile: ProfileId): readonly Mutant[] {
  return MUTANTS.filter((m) => m.target.profile === profile);
}

/** Whether a case id matches a kill pattern (`*` matches any run of characters). */
export function matchesPattern(caseId: string, pattern: string): boolean {
  if (!pattern.includes("*")) return caseId === pattern;
  const re = new RegExp(
    "^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$",
  );
  return re.test(caseId);
}

/** A mutant by target name. */
export function mutant(name: string): Mutant | undefined {
  return MUTANTS.find((m) => m.name === name);
}
