/**
 * Driver deviations of the standard profile: page poison (B02, B03, B54,
 * B55, B56, B59), free page hinting (B37 – B46, B53), free page reporting
 * (B60, B62, B63, S-08) and the queue numbering (S-11).
 *
 * @module
 */

import { encodeStats, featureMask, fieldOf, writeScalar } from "../../spec/mod.ts";
import type { DriverDeviation } from "../deviations.ts";
import type { DriverSeamOverride } from "../driver/seams.ts";
import { fillPages, writePoisonVal } from "../driver/poison.ts";

/** Overrides of the standard profile's driver deviations. */
export const STANDARD_DRIVER_DEVIATIONS: Readonly<
  Partial<Record<DriverDeviation, DriverSeamOverride>>
> = {
  "poison-without-init": (vb) => ({
    validateFeatures: (base) => (features) =>
      base(features) | (features & featureMask(vb.profile, ["PAGE_POISON"])),
  }),
  "reporting-without-poison": (vb) => ({
    validateFeatures: (base) => (features) =>
      base(features) | (features & featureMask(vb.profile, ["PAGE_REPORTING"])),
  }),
  "poison-after-driver-ok": (vb) => ({
    writesPoisonAtProbe: () => () => false,
    afterDriverOk: (base) => () => {
      base();
      if (vb.has("PAGE_POISON")) writePoisonVal(vb, vb.seams.poisonValue());
    },
  }),
  "poison-rewrite": (vb) => ({
    afterDriverOk: (base) => () => {
      base();
      if (vb.has("PAGE_POISON")) writePoisonVal(vb, (vb.seams.poisonValue() ^ 1) >>> 0);
    },
  }),
  "deflate-no-poison": () => ({
    poisonFill: (base) => (pages, why) => why === "deflate" ? undefined : base(pages, why),
  }),
  "report-no-poison": () => ({
    poisonFill: (base) => (pages, why) => why === "report" ? undefined : base(pages, why),
  }),
  "hint-release-uninitialized": () => ({
    poisonFill: (base) => (pages, why) => why === "hint" ? undefined : base(pages, why),
  }),
  "hint-cmd-8-bytes": () => ({
    hintCmdBytes: (base) => (cmdId) => new Uint8Array([...base(cmdId), 0, 0, 0, 0]),
  }),
  "hint-cmd-le": () => ({
    hintCmdBytes: () => (cmdId) => {
      const b = new Uint8Array(4);
      writeScalar(new DataView(b.buffer), 0, "le32", "v1", cmdId);
      return b;
    },
  }),
  "hint-no-start-id": () => ({ startIdsPerRound: () => () => 0 }),
  "hint-start-twice": () => ({ startIdsPerRound: (base) => () => base() + 1 }),
  "hint-no-pages": () => ({ hintsPages: () => () => false }),
  "hint-ignores-stop": () => ({ stopsOnNewId: () => () => false }),
  "hint-no-stop": () => ({ sendsStop: () => () => false }),
  "hint-keep-after-done": () => ({ releasesOnDone: () => () => false }),
  "hint-used-page": (vb) => ({
    hintPages: (base) => (block) => {
      const pages = base(block);
      const used = vb.guest.workload.min();
      if (used !== undefined) pages.add(used);
      return pages;
    },
  }),
  "report-small-pages": () => ({ reportOrder: () => () => 0 }),
  "report-no-wait": () => ({ waitsForReport: () => () => false }),
  "report-rezero": (vb) => ({
    beforeReportPass: (base) => (reportedFree) => {
      base(reportedFree);
      fillPages(vb, reportedFree, 0);
    },
  }),
  "report-balloon-page": (vb) => ({
    reportBlocks: (base) => (blocks) => {
      const lowest = vb.balloon.min();
      return lowest === undefined ? base(blocks) : [...base(blocks), { pfn: lowest, order: 0 }];
    },
  }),
  "fixed-queue-indices": () => ({ queueIndexModel: () => () => "fixed" }),
  "poison-guest-endian": (vb) => ({
    poisonValue: (base) => () => {
      const v = base();
      if (!(vb.transport.isLegacy && vb.transport.guestEndian === "be")) return v;
      return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
    },
  }),
  "stats-little-endian": () => ({
    statsPayload: () => (entries) => encodeStats(entries, "v1"),
  }),
  "reads-hint-cmd-id-unoffered": (vb) => ({
    afterNegotiation: (base) => (features) => {
      base(features);
      vb.transport.readConfig(CMD_ID.offset, 4);
    },
  }),
};

const CMD_ID = fieldOf("virtio_balloon_config", "free_page_hint_cmd_id");
