/**
 * The standard profile's mutants (virtio-1.x): the cases each deviation must
 * fail when the reference driver or device of profile virtio-1.x makes it.
 * A deviation of the base balloon kills the standard counterparts (`v1x.`)
 * of its v3 cases; the standard profile's own deviations kill the cases of
 * hinting, poison, reporting and the queue numbering.
 *
 * @module
 */

import type { FeatureName } from "../../../spec/mod.ts";
import type { DeviceDeviation, DriverDeviation } from "../../../impl/mod.ts";
import {
  numberingDiffers,
  v1xComboName,
  v1xQueueSubsets,
  v1xSubsets,
} from "../../scenarios/v1x_features.ts";

/**
 * What the reference driver negotiates out of an offer in the generated
 * negotiation scenarios: its guest initialises freed pages, so it declines
 * reporting without PAGE_POISON (B03).
 */
function negotiatedOf(offer: readonly FeatureName[]): FeatureName[] {
  return offer.includes("PAGE_POISON") ? [...offer] : offer.filter((f) => f !== "PAGE_REPORTING");
}

/** The generated negotiation cases whose dense queue numbering differs from the spec text's fixed one. */
const FIXED_NUMBERING_DIFFERS: readonly string[] = v1xSubsets()
  .filter((c) => numberingDiffers(negotiatedOf(c)))
  .map((c) => `v1x.negotiation.offer.${v1xComboName(c)}.queues`);

/** The generated device queue cases where a fixed numbering puts the queue elsewhere. */
const FIXED_DEVICE_NUMBERING_DIFFERS: readonly string[] = v1xQueueSubsets().flatMap((c) => {
  const name = v1xComboName(c);
  const hint = c.includes("FREE_PAGE_HINT") && !c.includes("STATS_VQ");
  const report = c.includes("PAGE_REPORTING") &&
    !(c.includes("STATS_VQ") && c.includes("FREE_PAGE_HINT"));
  return [
    ...(hint ? [`device.queues.${name}.free-page-hint`] : []),
    ...(report ? [`device.queues.${name}.reporting`] : []),
  ];
});

/** Cases each driver deviation must fail on the standard profile. */
export const V1X_DRIVER_KILLS: Readonly<Partial<Record<DriverDeviation, readonly string[]>>> = {
  // the base balloon
  "release-before-ack": [
    "v1x.deflate.pfn.mth.no-reuse-before-ack",
    "v1x.deflate.pfn.no-mth.tell-first",
  ],
  "managed-count-ignores-doom": ["v1x.oom.doom.managed"],
  "oom-ignores-doom": ["v1x.oom.no-doom.none"],
  "oom-double": ["v1x.oom.doom.deflate"],
  "pfn-array-512": ["v1x.inflate.pfn.max-256"],
  "avail-idx-first": ["v1x.ring.avail.entry-before-idx"],
  "actual-before-ack": ["v1x.actual.pfn.after-ack", "v1x.actual.pfn.held-inflate"],
  "actual-off-by-one": ["v1x.actual.pfn.equals-balloon"],
  "accept-unoffered": ["v1x.negotiation.offer.*.offered-only"],
  "ignore-version-1": ["v1x.negotiation.offer.*.version-1"],
  "stats-two-buffers": ["v1x.stats.one-at-a-time"],
  "stats-no-refill": ["v1x.stats.refilled"],
  "stats-varying-subset": ["v1x.stats.same-subset"],
  "stats-empty-first": ["v1x.stats.first-filled"],
  "skip-features-ok": ["v1x.negotiation.init.sequence", "v1x.negotiation.offer.*.init"],
  "notify-before-driver-ok": ["v1x.negotiation.init.no-early-notify"],
  "config-before-features-ok": ["v1x.negotiation.init.no-early-config"],
  "deflate-silently": ["v1x.deflate.pfn.reported"],
  "inflate-no-wait": ["v1x.deflate.pfn.after-inflate-ack", "v1x.actual.pfn.held-inflate"],
  "remove-without-deflate": ["v1x.lifecycle.remove"],
  "clear-status-bit": ["v1x.negotiation.init.no-clear"],
  "continue-after-refusal": ["v1x.negotiation.refused.failed", "v1x.negotiation.refused.stops"],
  "actual-bytewise": ["v1x.legacy.actual-atomic"],
  "inflate-report-extra-page": ["v1x.inflate.pfn.allocated-pages", "v1x.actual.pfn.equals-balloon"],
  "stats-odd-length": ["v1x.stats.whole-entries"],
  "missing-queue": ["v1x.negotiation.offer.*.queues"],
  "stats-writable-first": ["v1x.ring.chains.writable-after-readable"],
  "indirect-unnegotiated": ["v1x.ring.chains.no-indirect-unnegotiated"],
  "late-features": ["v1x.negotiation.init.no-late-features"],
  "decline-any-layout": ["v1x.negotiation.any-layout"],
  "inflate-repeat-page": ["v1x.balloon.inflate.not-in-balloon.pfn"],
  "deflate-extra-page": ["v1x.balloon.deflate.in-balloon.pfn"],
  // the standard profile's own
  "poison-without-init": ["poison.declined-without-init"],
  "reporting-without-poison": [
    "poison.reporting-needs-poison",
    "v1x.negotiation.offer.*.reporting-needs-poison",
  ],
  "poison-after-driver-ok": [
    "poison.before-driver-ok",
    "v1x.negotiation.offer.*.poison-before-driver-ok",
  ],
  "poison-rewrite": ["poison.unchanged"],
  "deflate-no-poison": ["poison.deflated-pages"],
  "report-no-poison": ["report.poisoned"],
  "hint-release-uninitialized": ["hint.init-before-release"],
  "hint-cmd-8-bytes": ["hint.cmd-id-4-bytes"],
  "hint-cmd-le": ["hint.legacy-be.cmd-id"],
  "hint-no-start-id": ["hint.starts-with-cmd-id"],
  "hint-start-twice": ["hint.one-start-per-id"],
  "hint-no-pages": ["hint.supplies-pages"],
  "hint-ignores-stop": ["hint.stops-on-stop"],
  "hint-no-stop": ["hint.ends-with-stop"],
  "hint-keep-after-done": ["hint.release-on-done"],
  "hint-used-page": ["hint.free-pages-only"],
  "report-small-pages": ["report.large-blocks"],
  "report-no-wait": ["report.kept-until-used"],
  "report-rezero": ["report.left-alone"],
  "report-balloon-page": ["report.not-in-balloon"],
  "fixed-queue-indices": FIXED_NUMBERING_DIFFERS,
  "poison-guest-endian": ["poison.legacy-le"],
  "stats-little-endian": ["v1x.legacy.be.stats-guest-order"],
  "reads-hint-cmd-id-unoffered": v1xSubsets()
    .filter((c) => !c.includes("FREE_PAGE_HINT"))
    .map((c) => `v1x.negotiation.offer.${v1xComboName(c)}.config-fields`),
};

/** Cases each device deviation must fail on the standard profile. */
export const V1X_DEVICE_KILLS: Readonly<Partial<Record<DeviceDeviation, readonly string[]>>> = {
  // the base balloon
  "ack-before-process": ["v1x.device.pfn.used-after-apply"],
  "never-ack-inflate": ["v1x.device.pfn.inflate"],
  "no-range-check": ["v1x.robustness.pfn.beyond-ram"],
  "partial-apply": ["v1x.robustness.pfn.beyond-ram"],
  "refuse-valid-subset": ["v1x.device.negotiation.*"],
  "stats-reject-unknown-tag": ["v1x.device.stats.unknown-tag", "device.stats.unknown-tag.6553*"],
  "stats-require-order": ["v1x.device.stats.any-order"],
  "config-guest-endian": ["v1x.device.legacy.config-le", "device.hint.legacy-be.cmd-id"],
  "ignore-driver-ok": ["v1x.device.init.not-before-driver-ok"],
  "used-len-bytes-read": ["v1x.device.pfn.used-len"],
  "pfn-trailing-bytes": ["v1x.robustness.pfn.odd-length"],
  "ignore-writable-descriptors": ["v1x.robustness.pfn.writable"],
  "deflate-keeps-pages": ["v1x.device.pfn.deflate"],
  "no-version-1": ["v1x.device.features.version-1"],
  "no-any-layout": ["v1x.device.features.any-layout"],
  "ignore-actual": ["v1x.device.actual.taken"],
  "actual-before-msb": ["v1x.device.legacy.actual-msb"],
  "pfn-cap-256": ["v1x.device.pfn.entries-257", "v1x.device.pfn.entries-1024"],
  "one-chain-per-notify": ["v1x.device.ring.several-in-flight"],
  "stops-at-ring-wrap": ["v1x.device.ring.wrap"],
  "notify-always": ["v1x.device.notify.flags.suppressed", "v1x.device.notify.event-idx.suppressed"],
  "notify-never": ["v1x.device.notify.flags.sent", "v1x.device.notify.event-idx.sent"],
  // the standard profile's own
  "hint-reuse-cmd-id": ["device.hint.new-id-per-round"],
  "hint-any-cmd-id": ["device.hint.stale-id-ignored"],
  "hint-done-as-stop": ["device.hint.done"],
  "hint-late-discard": ["device.hint.unchanged-after-done"],
  "hint-never-used": ["device.hint.used", "device.queues.*.free-page-hint"],
  "report-never-used": [
    "device.report.used",
    "device.report.indirect",
    "device.queues.*.reporting",
  ],
  "report-ignores-poison": ["device.report.keeps-poison"],
  "hint-cmd-any-length": ["device.hint.bad-cmd-length"],
  "report-readable-parts": ["device.report.readable-part"],
  "report-round-ranges": ["device.report.unaligned"],
  "fixed-queue-indices": FIXED_DEVICE_NUMBERING_DIFFERS,
  "stats-strict-tags": ["device.stats.unknown-tag.*"],
  "cmd-id-le": ["device.hint.legacy-be.cmd-id"],
};
