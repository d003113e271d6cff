/**
 * Device cases of free page reporting (B65, G31a, G39, S-09, S-10), profile
 * virtio-1.x.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { deviceCase } from "../define.ts";
import { buffersUsed } from "../../checks/device/free_page_hint.ts";
import { readableNotWritten } from "../../checks/device/ring_writes.ts";
import {
  reportKeepsPoison,
  reportMalformedIgnored,
  reportTaken,
} from "../../checks/device/page_reporting.ts";
import { DEV_V1X_REPORT, DEV_V1X_REPORT_POISON } from "../../scenarios/v1x_device.ts";

/** Written device cases of this family. */
export const DEVICE_PAGE_REPORTING_CASES: readonly CaseDef[] = [
  deviceCase({
    id: "device.report.used",
    title: "Every report is used, with length 0",
    scenario: DEV_V1X_REPORT,
    check: buffersUsed,
    rules: ["S-09"],
    params: { labels: ["report", "report-after"] },
  }),
  deviceCase({
    id: "device.report.keeps-poison",
    title: "With PAGE_POISON and poison_val 0xaaaaaaaa the reported pages keep it",
    scenario: DEV_V1X_REPORT_POISON,
    check: reportKeepsPoison,
    rules: ["B65"],
    params: { label: "poisoned" },
  }),
  deviceCase({
    id: "device.report.readable-part",
    title: "A report with a device-readable descriptor changes nothing; the next report works",
    scenario: DEV_V1X_REPORT,
    check: reportMalformedIgnored,
    rules: ["S-10"],
    params: { bad: "report-readable", after: "report-after" },
  }),
  deviceCase({
    id: "device.report.indirect",
    title: "A report whose descriptors sit in an indirect table is taken",
    scenario: DEV_V1X_REPORT,
    check: reportTaken,
    rules: ["G39"],
    params: { label: "report-indirect" },
  }),
  deviceCase({
    id: "device.report.unaligned",
    title: "A report range that is not whole pages changes nothing; the next report works",
    scenario: DEV_V1X_REPORT,
    check: reportMalformedIgnored,
    rules: ["S-10"],
    params: { bad: "report-unaligned", after: "report-after" },
  }),
  deviceCase({
    id: "device.report.readable-not-written",
    title:
      "The device writes nothing into the readable part of a report, an indirect table or a descriptor table",
    scenario: DEV_V1X_REPORT,
    check: readableNotWritten,
    rules: ["G31a"],
  }),
];
