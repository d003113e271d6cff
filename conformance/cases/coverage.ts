/**
 * Rule coverage: every rule → the cases that check it, and the MUST/MUST NOT
 * rules of a profile that no case checks, each with the reason why.
 *
 * @module
 */

import { type Level, type ProfileId, type Rule, rulesOf } from "../../spec/mod.ts";
import type { CaseDef } from "../model/types.ts";

/**
 * MUST / MUST NOT rules of profile v3 that the suite does not check, with the
 * reason. A new uncovered rule that is not listed here fails the self-tests.
 * (Profile virtio-1.x: {@link NOT_CHECKED_V1X}.)
 */
export const NOT_CHECKED: Readonly<Record<string, string>> = {
  B05:
    "legacy devices must tolerate drivers without MUST_TELL_HOST: every legacy device scenario already runs without it, but no case isolates the rule",
  G03:
    "re-initialisation after FAILED needs a driver that retries; the suite's driver scenarios end at FAILED",
  G07:
    "the config-change notification after DEVICE_NEEDS_RESET is sent by the suite's transport for in-process devices; a device in another process sends its own, but no case waits for that notification after a device sets DEVICE_NEEDS_RESET",
  G10:
    "'validate the offered feature bits' is an intention; its observable effects are G08, G09 and R-01, which are checked",
  G11:
    "the suite's devices offer no undescribed or reserved bits, so a driver's handling of them is not exercised",
  G13: "the suite's devices offer no feature unknown to the driver",
  G18: "legacy detection is exercised by every legacy scenario but has no case of its own",
  G19:
    "the status register is the suite's transport for in-process devices; a device in another process implements its own, but the suite's driver does not read the status back after a reset",
  G20:
    "quiet after reset: the suite's transport drops queue state on reset for in-process devices; a device in another process keeps its own, and its memory writes are recorded, but no scenario gives a device work left over (a held buffer) at a reset and watches the old rings",
  G22a:
    "atomicity of wide config reads is not observable in a sequentially consistent in-process model",
  G23: "profile v3 has no optional config fields (the config space is num_pages and actual only)",
  G24a:
    "the config space of profile v3 is fixed at 8 bytes; no driver-visible structure size to limit",
  G25:
    "config reads before FEATURES_OK are served by the suite's transport for in-process devices; a device in another process serves its own, but the suite's driver reads no config field before FEATURES_OK",
  G26:
    "ring alignment is checked by the split-virtqueue unit tests (impl/virtqueue_*_test.ts), not per target",
  G27: "the legacy ring layout is checked by the split-virtqueue unit tests, not per target",
  G28a:
    "descriptor arrangement independence is exercised (two-chunk and indirect chains) but not isolated as a case",
  G32:
    "loops are rejected by the suite's ring and tested in impl/virtqueue_*_test.ts; no driver mutant builds them yet",
  G33: "IN_ORDER is not offered by the suite's devices",
  G35:
    "nested indirect tables are rejected by the suite's ring and unit-tested; no driver mutant yet",
  G36:
    "over-long chains are rejected by the suite's ring and unit-tested; the seed's hang (R-14, D-15) is checked instead",
  G37: "INDIRECT|NEXT is rejected by the suite's ring and unit-tested; no driver mutant yet",
  G40: "avail idx decrements are detected by the suite's ring and unit-tested",
  G41a: "avail.flags values are set by the driver's ring code; unit-tested, not per target",
  G42: "spurious notifications are not injected by the suite yet",
  G47a:
    "balloon drivers read no device-writable data except the 16-byte misc request, whose length is checked (R-17b)",
  G48: "used.flags initialisation is done by the ring code; unit-tested",
  G49a: "available-buffer notification rules are implemented by the ring code; unit-tested",
  G50a: "available-buffer notification with EVENT_IDX is implemented by the ring code; unit-tested",
  G52: "spurious available-buffer notifications are not injected by the suite yet",
  G54: "memory barriers are not observable in a sequentially consistent in-process model",
  G58:
    "config writes before the feature step are accepted by the suite's transport for in-process devices; a device in another process takes its own, but no legacy scenario writes the config space before the feature step or uses a queue before DRIVER_OK",
  G59:
    "reclaiming exposed buffers is not observable through the ring without a mutant that does it",
  G61b: "the model has no IOMMU: every address is physical",
  G63: "IN_ORDER is not offered by the suite's devices",
  G15b: "the suite's driver never writes an invalid subset to a device",
  G16:
    "offering a feature the device does not support shows up as failed cases of that feature (e.g. S-05), not as its own case",
};

/** Reasons of the v3 list that hold for the standard profile too, as they stand. */
const SHARED_REASONS: readonly string[] = Object.keys(NOT_CHECKED).filter((id) =>
  !["G23", "G24a"].includes(id)
);

/**
 * MUST / MUST NOT rules of profile virtio-1.x that the suite does not check,
 * with the reason: the v3 reasons that are not about v3's config space, and
 * the standard profile's own.
 */
export const NOT_CHECKED_V1X: Readonly<Record<string, string>> = {
  ...Object.fromEntries(SHARED_REASONS.map((id) => [id, NOT_CHECKED[id] as string])),
  G09:
    "no feature of profile virtio-1.x requires another (the feature table lists none), so there is no prerequisite to leave out",
  G14:
    "no feature of profile virtio-1.x requires another (the feature table lists none), so there is no prerequisite to leave out",
  G24a:
    "the suite's devices expose exactly the profile's 16-byte config space; a driver's handling of a larger one is not exercised",
  B58:
    "treating reported pages as uninitialized has no effect on the wire; what a driver that relies on them risks is what B03 forbids (reporting without PAGE_POISON), which is checked",
};

/** The reasons why MUST / MUST NOT rules of a profile have no case. */
export function notCheckedOf(profile: ProfileId): Readonly<Record<string, string>> {
  return profile === "v3" ? NOT_CHECKED : NOT_CHECKED_V1X;
}

/** Cases per rule. */
export function casesByRule(cases: readonly CaseDef[]): Map<string, CaseDef[]> {
  const out = new Map<string, CaseDef[]>();
  for (const k of cases) {
    for (const r of k.rules) {
      const list = out.get(r) ?? [];
      list.push(k);
      out.set(r, list);
    }
  }
  return out;
}

/** Coverage of one profile's rules. */
export interface Coverage {
  /** Profile. */
  readonly profile: ProfileId;
  /** Rules with at least one case, and their cases. */
  readonly covered: readonly { readonly rule: Rule; readonly cases: readonly string[] }[];
  /** MUST / MUST NOT rules without a case but with a stated reason. */
  readonly explained: readonly { readonly rule: Rule; readonly reason: string }[];
  /** MUST / MUST NOT rules without a case and without a reason (a self-test failure). */
  readonly unexplained: readonly Rule[];
  /** SHOULD / SHOULD NOT / MAY rules without a case. */
  readonly uncoveredOptional: readonly Rule[];
  /** Counts by level: [covered, total]. */
  readonly byLevel: Readonly<Record<Level, readonly [number, number]>>;
  /** Counts by role: [covered, total]. */
  readonly byRole: Readonly<Record<"driver" | "device" | "both", readonly [number, number]>>;
}

const HARD: readonly Level[] = ["MUST", "MUST NOT"];

/** Computes rule coverage for a profile. */
export function coverage(cases: readonly CaseDef[], profile: ProfileId): Coverage {
  const map = casesByRule(cases.filter((k) => k.profile === profile));
  const rules = rulesOf(profile);
  const covered: { rule: Rule; cases: string[] }[] = [];
  const explained: { rule: Rule; reason: string }[] = [];
  const unexplained: Rule[] = [];
  const uncoveredOptional: Rule[] = [];
  const byLevel: Record<Level, [number, number]> = {
    "MUST": [0, 0],
    "MUST NOT": [0, 0],
    "SHOULD": [0, 0],
    "SHOULD NOT": [0, 0],
    "MAY": [0, 0],
  };
  const byRole: Record<"driver" | "device" | "both", [number, number]> = {
    driver: [0, 0],
    device: [0, 0],
    both: [0, 0],
  };
  for (const r of rules) {
    const ks = map.get(r.id) ?? [];
    byLevel[r.level][1]++;
    byRole[r.role][1]++;
    if (ks.length > 0) {
      covered.push({ rule: r, cases: ks.map((k) => k.id) });
      byLevel[r.level][0]++;
      byRole[r.role][0]++;
    } else if (HARD.includes(r.level)) {
      const reason = notCheckedOf(profile)[r.id];
      if (reason !== undefined) explained.push({ rule: r, reason });
      else unexplained.push(r);
    } else {
      uncoveredOptional.push(r);
    }
  }
  return { profile, covered, explained, unexplained, uncoveredOptional, byLevel, byRole };
}
