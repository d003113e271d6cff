/**
 * Device cases of inflate and deflate requests: PFN arrays and bitmaps
 * applied exactly, used after they are applied, used lengths, and malformed
 * requests rejected (generated from the bad bitmap requests).
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { deviceCase } from "../define.ts";
import { applied, appliedBeforeUse, rejected, usedLenZero } from "../../checks/device/requests.ts";
import {
  DEV_BITMAP,
  DEV_BITMAP_MALFORMED,
  DEV_LEGACY_BE,
  DEV_PFN,
  DEV_PFN_MALFORMED,
} from "../../scenarios/device.ts";

import { BAD_BITMAP_REQUESTS } from "../../scenarios/device.ts";

/** Written device cases of this family. */
export const DEVICE_REQUEST_CASES: readonly CaseDef[] = [
  deviceCase({
    id: "device.pfn.inflate",
    title: "A PFN-array inflate balloons exactly its pages",
    scenario: DEV_PFN,
    check: applied,
    rules: ["S-05"],
    params: { label: "inflate" },
  }),
  deviceCase({
    id: "device.pfn.deflate",
    title: "A PFN-array deflate returns exactly its pages",
    scenario: DEV_PFN,
    check: applied,
    rules: ["S-05"],
    params: { label: "deflate" },
  }),
  deviceCase({
    id: "device.pfn.scattered",
    title: "PFNs across zones are ballooned",
    scenario: DEV_PFN,
    check: applied,
    rules: ["S-05"],
    params: { label: "inflate-scattered" },
  }),
  deviceCase({
    id: "device.pfn.used-after-apply",
    title: "A PFN-array buffer is used after it was applied",
    scenario: DEV_PFN,
    check: appliedBeforeUse,
    rules: ["S-05"],
    params: { label: "inflate" },
  }),
  deviceCase({
    id: "device.pfn.used-len",
    title: "Inflate/deflate buffers are used with length 0",
    scenario: DEV_PFN,
    check: usedLenZero,
    rules: ["G46a"],
  }),
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
    id: "robustness.pfn.odd-length",
    title: "A PFN array ending in a partial entry is rejected",
    scenario: DEV_PFN_MALFORMED,
    check: rejected,
    rules: ["S-01", "S-03"],
    params: { label: "odd-length" },
  }),
  deviceCase({
    id: "robustness.pfn.beyond-ram",
    title: "A PFN array naming a page past RAM changes nothing",
    scenario: DEV_PFN_MALFORMED,
    check: rejected,
    rules: ["S-02", "S-03"],
    params: { label: "beyond-ram" },
  }),
  deviceCase({
    id: "robustness.pfn.writable",
    title: "Device-writable descriptors on inflateq are not read as PFNs",
    scenario: DEV_PFN_MALFORMED,
    check: rejected,
    rules: ["G31b", "S-03"],
    params: { label: "writable" },
  }),
  deviceCase({
    id: "robustness.pfn.usable-after",
    title: "After malformed PFN arrays the device still works",
    scenario: DEV_PFN_MALFORMED,
    check: applied,
    rules: ["S-03", "S-05"],
    params: { label: "after" },
  }),
  deviceCase({
    id: "robustness.bitmap.usable-after",
    title: "After malformed bitmaps the device still works",
    scenario: DEV_BITMAP_MALFORMED,
    check: applied,
    rules: ["S-03", "S-05"],
    params: { label: "after" },
  }),
  deviceCase({
    id: "device.legacy.pfn",
    title: "Guest-native PFN arrays of a big-endian legacy guest are applied",
    scenario: DEV_LEGACY_BE,
    check: applied,
    rules: ["S-05"],
    params: { label: "inflate" },
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
