/**
 * Driver cases of MISC_VQ: the request buffer, the reply chunks, the hints.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import { bitmapChainLength } from "../../checks/driver/bitmap.ts";
import {
  miscBadRequestIgnored,
  miscBufferReposted,
  miscHintsFree,
  miscReplyShape,
  noIrqBlocking,
} from "../../checks/driver/misc.ts";
import { DRV_MISC, DRV_MISC_BAD_REQUESTS } from "../../scenarios/driver.ts";

/** Written driver cases of this family. */
export const MISC_CASES: readonly CaseDef[] = [
  driverCase({
    id: "misc.request-buffer",
    title: "One 16-byte request buffer is available before each request",
    scenario: DRV_MISC,
    check: miscBufferReposted,
    rules: ["R-04"],
  }),
  driverCase({
    id: "misc.req-id",
    title: "Every reply chunk echoes the request's param as req_id",
    scenario: DRV_MISC,
    check: miscReplyShape,
    rules: ["R-18"],
    params: { aspect: "req-id" },
  }),
  driverCase({
    id: "misc.flags",
    title: "Reply chunks are CONT \u2026 CONT, then exactly one DONE, last",
    scenario: DRV_MISC,
    check: miscReplyShape,
    rules: ["R-18"],
    params: { aspect: "flags" },
  }),
  driverCase({
    id: "misc.coverage",
    title: "Reply windows are contiguous from PFN 0 and cover all guest memory",
    scenario: DRV_MISC,
    check: miscReplyShape,
    rules: ["R-18"],
    params: { aspect: "coverage" },
  }),
  driverCase({
    id: "misc.hints-free-only",
    title: "Pages hinted unused were free at scan time",
    scenario: DRV_MISC,
    check: miscHintsFree,
    rules: ["R-19"],
    params: { aspect: "sound" },
  }),
  driverCase({
    id: "misc.hints-complete",
    title: "Every page on the buddy free lists is hinted",
    scenario: DRV_MISC,
    check: miscHintsFree,
    rules: ["R-19"],
    params: { aspect: "complete" },
  }),
  driverCase({
    id: "misc.reply-chain-length",
    title: "Reply chains hold header + bmap_len bytes",
    scenario: DRV_MISC,
    check: bitmapChainLength,
    rules: ["R-18"],
    params: { what: "misc-reply" },
  }),
  driverCase({
    id: "misc.deferred",
    title: "Requests are handled in deferred context, not in the interrupt",
    scenario: DRV_MISC,
    check: noIrqBlocking,
    rules: ["R-18"],
  }),
  driverCase({
    id: "misc.bad-request.reposted",
    title: "After a bad request the buffer is posted again",
    scenario: DRV_MISC_BAD_REQUESTS,
    check: miscBufferReposted,
    rules: ["R-17b", "R-04"],
  }),
  driverCase({
    id: "misc.bad-request.ignored",
    title: "A request with a bad length or command gets no reply",
    scenario: DRV_MISC_BAD_REQUESTS,
    check: miscBadRequestIgnored,
    rules: ["R-17b"],
  }),
];
