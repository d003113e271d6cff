/**
 * Shared vocabulary of the spec tables: profiles, roles, levels, feature
 * names and machine-readable conditions.
 *
 * @module
 */

/** A protocol profile: the seed's v3 proposal, or the standard virtio 1.x balloon. */
export type ProfileId = "v3" | "virtio-1.x";

/** Who a rule binds, or who writes a field. */
export type Role = "driver" | "device" | "both";

/** RFC 2119 requirement level of a rule. */
export type Level = "MUST" | "MUST NOT" | "SHOULD" | "SHOULD NOT" | "MAY";

/** Balloon-specific feature names (bits 0–23, meaning depends on the profile). */
export type BalloonFeatureName =
  | "MUST_TELL_HOST"
  | "STATS_VQ"
  | "DEFLATE_ON_OOM"
  | "PAGE_BITMAP"
  | "MISC_VQ"
  | "FREE_PAGE_HINT"
  | "PAGE_POISON"
  | "PAGE_REPORTING";

/** Transport (reserved, device-independent) feature names. */
export type TransportFeatureName =
  | "NOTIFY_ON_EMPTY"
  | "ANY_LAYOUT"
  | "INDIRECT_DESC"
  | "EVENT_IDX"
  | "UNUSED_30"
  | "VERSION_1"
  | "ACCESS_PLATFORM"
  | "RING_PACKED"
  | "IN_ORDER"
  | "ORDER_PLATFORM"
  | "SR_IOV"
  | "NOTIFICATION_DATA"
  | "NOTIF_CONFIG_DATA"
  | "RING_RESET"
  | "ADMIN_VQ"
  | "SUSPEND";

/** Any feature name known to the tables. */
export type FeatureName = BalloonFeatureName | TransportFeatureName;

/**
 * Run-time situations that a rule's condition can name, beyond negotiated
 * features. The harness decides them per scenario; see {@link SITUATIONS}.
 */
export type SituationId =
  | "target-at-or-below-actual"
  | "target-below-actual"
  | "driver-expects-initialized-pages"
  | "after-failed"
  | "device-needs-reset"
  | "target-above-actual"
  | "target-at-or-above-actual"
  | "driver-will-not-poison-deflated-pages"
  | "understood-feature-not-offered"
  | "unacceptable-feature-subset"
  | "renegotiation-after-reset"
  | "irrecoverable-init-error";

/**
 * A machine-readable feature condition. `feature` means "negotiated" (accepted
 * by the driver and FEATURES_OK set); `offered` means "offered by the device";
 * `legacy` means VERSION_1 was not negotiated.
 */
export type Condition =
  | { readonly always: true }
  | { readonly feature: FeatureName }
  | { readonly offered: FeatureName }
  | { readonly legacy: true }
  | { readonly situation: SituationId }
  | { readonly not: Condition }
  | { readonly all: readonly Condition[] }
  | { readonly any: readonly Condition[] };

/** Identifier of a seed defect, `D-01` … `D-23`. */
export type DefectId = `D-${string}`;
