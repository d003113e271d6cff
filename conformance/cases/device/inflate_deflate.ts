/**
 * Device cases of inflate and deflate with PFN arrays: applied exactly,
 * used after they are applied, used length 0, and malformed arrays rejected
 * as a whole (S-01, S-02, S-03, S-05, G31b, G46a).
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
  writableNotRead,
} from "../../checks/device/inflate_deflate.ts";
import { DEV_LEGACY_BE, DEV_PFN, DEV_PFN_MALFORMED } from "../../scenarios/device.ts";
import { DEV_PFN_SIZES } from "../../scenarios/device_rings.ts";

/** Written device cases of this family. */
export const DEVICE_INFLATE_DEFLATE_CASES: readonly CaseDef[] = [
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
    check: writableNotRead,
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
    id: "device.legacy.pfn",
    title: "Guest-native PFN arrays of a big-endian legacy guest are applied",
    scenario: DEV_LEGACY_BE,
    check: applied,
    rules: ["S-05"],
    params: { label: "inflate" },
  }),
  ...[1, 256, 257, 1024].map((n) =>
    deviceCase({
      id: `device.pfn.entries-${n}`,
      title: `A PFN array of ${n} ${n === 1 ? "entry" : "entries"} is applied whole${
        n === 1024 ? " (the size Windows drivers send)" : n === 257 ? " (one past 256)" : ""
      }`,
      scenario: DEV_PFN_SIZES,
      check: applied,
      rules: ["S-05"],
      params: { label: `pfns-${n}` },
    })
  ),
];
