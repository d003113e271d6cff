/**
 * Device cases of features, queues and stats on the standard profile,
 * written and generated: the offer, the dense queue numbering for every
 * subset of the queue features, every proper subset of the balloon bits
 * accepted, stats tags no spec defines ignored.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { deviceCase } from "../define.ts";
import { acceptsSubset, offersVersion1 } from "../../checks/device/init_features.ts";
import { hintTaken } from "../../checks/device/free_page_hint.ts";
import { reportTaken } from "../../checks/device/page_reporting.ts";
import { statsSpecTagsKept } from "../../checks/device/stats.ts";
import {
  DEV_V1X_HINT,
  DEV_V1X_STATS_TAGS,
  UNKNOWN_STATS_TAGS,
  v1xDeviceNegotiationScenario,
  v1xQueueScenario,
} from "../../scenarios/v1x_device.ts";
import {
  V1X_BALLOON_BITS,
  v1xComboName,
  v1xQueueSubsets,
  v1xSubsets,
} from "../../scenarios/v1x_features.ts";

/** Written device cases of this family (profile virtio-1.x). */
export const V1X_DEVICE_INIT_FEATURES_CASES: readonly CaseDef[] = [
  deviceCase({
    id: "v1x.device.features.version-1",
    title: "The device offers VERSION_1",
    scenario: DEV_V1X_HINT,
    check: offersVersion1,
    rules: ["G62a"],
  }),
];

/** Generated: each queue of hinting and reporting on its dense index, for every subset of the queue features. */
export const V1X_DEVICE_QUEUE_CASES: readonly CaseDef[] = v1xQueueSubsets().flatMap((combo) => {
  const name = v1xComboName(combo);
  const out: CaseDef[] = [];
  if (combo.includes("FREE_PAGE_HINT")) {
    out.push(deviceCase({
      id: `device.queues.${name}.free-page-hint`,
      title: `With ${name} negotiated, hints on free_page_vq's dense index are taken`,
      scenario: v1xQueueScenario(combo),
      check: hintTaken,
      rules: ["S-11"],
      params: { label: "hint" },
      generated: true,
    }));
  }
  if (combo.includes("PAGE_REPORTING")) {
    out.push(deviceCase({
      id: `device.queues.${name}.reporting`,
      title: `With ${name} negotiated, a report on reporting_vq's dense index is taken`,
      scenario: v1xQueueScenario(combo),
      check: reportTaken,
      rules: ["S-11"],
      params: { label: "report" },
      generated: true,
    }));
  }
  return out;
});

/** Generated: every proper subset of the six balloon bits, accepted. */
export const V1X_DEVICE_NEGOTIATION_CASES: readonly CaseDef[] = v1xSubsets()
  .filter((combo) => combo.length < V1X_BALLOON_BITS.length)
  .map((combo) =>
    deviceCase({
      id: `v1x.device.negotiation.${v1xComboName(combo)}`,
      title: `Accepts the valid subset ${v1xComboName(combo)}`,
      scenario: v1xDeviceNegotiationScenario(combo),
      check: acceptsSubset,
      rules: ["G15a"],
      needsOffer: combo,
      generated: true,
    })
  );

/** Generated: a stats buffer with each tag no spec defines is still read (B33). */
export const V1X_DEVICE_STATS_CASES: readonly CaseDef[] = UNKNOWN_STATS_TAGS.map((tag) =>
  deviceCase({
    id: `device.stats.unknown-tag.${tag}`,
    title: `A stats buffer holding tag ${tag}, which no spec defines, is still read`,
    scenario: DEV_V1X_STATS_TAGS,
    check: statsSpecTagsKept,
    rules: ["B33"],
    params: { label: `stats-${tag}` },
    generated: true,
  })
);
