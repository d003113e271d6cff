/**
 * A plain-text summary of the spec tables.
 *
 * @module
 */

import {
  BALLOON_FEATURES,
  CONSTANTS,
  DEFECTS,
  featureCollisions,
  type Level,
  type ProfileId,
  RULES,
  rulesOf,
  STRUCTS,
  TRANSPORT_FEATURES,
} from "../../spec/mod.ts";

const LEVELS: Level[] = ["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY"];

/**
 * Counts of what the spec tables hold, one line per item.
 *
 * @example
 * ```ts
 * import { specSummary } from "./spec_summary.ts";
 * import assert from "node:assert/strict";
 * assert.match(specSummary(), /rules: \d+/);
 * ```
 */
export function specSummary(): string {
  const fields = Object.values(STRUCTS).reduce((n, s) => n + s.fields.length, 0);
  const lines = [
    `feature bits: ${BALLOON_FEATURES.length} balloon rows (${
      featureCollisions().map((c) => `bit ${c.bit} = ${c.v3} in v3, ${c.standard} in virtio-1.x`)
        .join("; ")
    }), ${TRANSPORT_FEATURES.length} transport bits`,
    `structs: ${Object.keys(STRUCTS).length} with ${fields} fields; constants: ${CONSTANTS.length}`,
    `rules: ${RULES.length} (${
      LEVELS.map((l) => `${RULES.filter((r) => r.level === l).length} ${l}`).join(", ")
    })`,
    ...(["v3", "virtio-1.x"] as ProfileId[]).map((p) => {
      const rs = rulesOf(p);
      return `  profile ${p}: ${rs.length} rules, ${
        rs.filter((r) => r.role === "driver").length
      } driver, ${rs.filter((r) => r.role === "device").length} device, ${
        rs.filter((r) => r.role === "both").length
      } both`;
    }),
    `seed defects: ${DEFECTS.length} (${
      DEFECTS.filter((d) => d.observable === "device").length
    } visible to a device)`,
  ];
  return lines.join("\n");
}
