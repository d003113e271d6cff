/**
 * Device cases of PAGE_BITMAP requests: applied exactly (bit order, two
 * chunks, indirect tables), used after they are applied, and every malformed
 * request rejected (generated from the bad bitmap requests).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { deviceCase } from "../define.ts";
import {
  applied,
  appliedBeforeUse,
  rejected,
  usedLenZero,
} from "../../checks/device/inflate_deflate.ts";
import { DEV_BITMAP, DEV_BITMAP_MALFORMED } from "../../scenarios/device.ts";

import { BAD_BITMAP_REQUESTS } from "../../scenarios/device.ts";

/** Written device cases of this family. */
export const DEVICE_BITMAP_CASES: readonly CaseDef[] = [
  deviceCase({
    id: "device.bitmap.inflate-run",
    title: "A bitmap inflate balloons exactly its pages",
    scenario: DEV_BITMAP,
    check: applied,
    rules: ["S-05", "R-16"],
    params: { label: "inflate-run" },
  }),
  deviceCase({
    id: "device.bitmap.deflate",
    title: "A bitmap deflate returns exactly its pages",
    scenario: DEV_BITMAP,
    check: applied,
    rules: ["S-05", "R-16"],
    params: { label: "deflate-part" },
  }),
  deviceCase({
    id: "device.bitmap.bit-order",
    title: "Bit j of a bitmap is PFN start_pfn + j, LSB-first",
    scenario: DEV_BITMAP,
    check: applied,
    rules: ["S-05"],
    params: { label: "inflate-scattered" },
  }),
  deviceCase({
    id: "device.bitmap.two-chunks",
    title: "A bitmap in two chunks is read as one byte stream",
    scenario: DEV_BITMAP,
    check: applied,
    rules: ["S-05", "R-16"],
    params: { label: "inflate-two-chunks" },
  }),
  deviceCase({
    id: "device.bitmap.indirect",
    title: "A bitmap request in an indirect table is applied",
    scenario: DEV_BITMAP,
    check: applied,
    rules: ["S-05", "G39"],
    params: { label: "inflate-indirect" },
  }),
  deviceCase({
    id: "device.bitmap.used-after-apply",
    title: "A bitmap buffer is used after it was applied",
    scenario: DEV_BITMAP,
    check: appliedBeforeUse,
    rules: ["R-16"],
    params: { label: "inflate-run" },
  }),
  deviceCase({
    id: "device.bitmap.used-len",
    title: "Bitmap buffers are used with length 0",
    scenario: DEV_BITMAP,
    check: usedLenZero,
    rules: ["G46a"],
  }),
  deviceCase({
    id: "robustness.bitmap.usable-after",
    title: "After malformed bitmaps the device still works",
    scenario: DEV_BITMAP_MALFORMED,
    check: applied,
    rules: ["S-03", "S-05"],
    params: { label: "after" },
  }),
];

/** Generated: every malformed bitmap request, rejected. */
export const DEVICE_BAD_BITMAP_CASES: readonly CaseDef[] = BAD_BITMAP_REQUESTS.map((b) =>
  deviceCase({
    id: `robustness.bitmap.${b.label}`,
    title: `Rejects ${b.title}`,
    scenario: DEV_BITMAP_MALFORMED,
    check: rejected,
    rules: [...b.rules],
    params: { label: b.label, ...(b.field === undefined ? {} : { field: b.field }) },
    generated: true,
  })
);
