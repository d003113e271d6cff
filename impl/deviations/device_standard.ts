/**
 * Device deviations of the standard profile: free page hinting (B48, B49,
 * B51, B52, B53), free page reporting (B65), buffers never used (S-09),
 * malformed chains acted on (S-10), the queue numbering (S-11) and the stats
 * tags Linux 6.12 added (B33).
 *
 * @module
 */

import {
  enumValue,
  enumValues,
  FREE_PAGE_HINT_CMD_ID_MIN,
  PageSet,
  ProtocolError,
  readScalar,
  VIRTIO_BALLOON_PFN_SHIFT,
} from "../../spec/mod.ts";
import type { DeviceDeviation } from "../deviations.ts";
import type { DeviceSeamOverride } from "../device/seams.ts";

const STOP = enumValue("free_page_hint_cmd_id", "VIRTIO_BALLOON_CMD_ID_STOP");
const PAGE = 1 << VIRTIO_BALLOON_PFN_SHIFT;

/** Overrides of the standard profile's device deviations. */
export const STANDARD_DEVICE_DEVIATIONS: Readonly<
  Partial<Record<DeviceDeviation, DeviceSeamOverride>>
> = {
  "hint-reuse-cmd-id": () => ({ nextCmdId: () => () => FREE_PAGE_HINT_CMD_ID_MIN }),
  "hint-any-cmd-id": () => ({
    hintTransition: (base) => (status, cmdId, current) =>
      status === "requested" ? "start" : base(status, cmdId, current),
  }),
  "hint-done-as-stop": () => ({ doneCmdId: () => () => STOP }),
  "hint-late-discard": (d) => {
    let pending: PageSet | undefined;
    return {
      hintsDone: (base) => (pages) => {
        base(pages);
        pending = pages.clone();
      },
      beforeNotify: (base) => (index) => {
        base(index);
        if (pending === undefined) return;
        for (const r of pending.runs()) d.transport.mem.discard(r.start, r.length);
        pending = undefined;
      },
    };
  },
  "hint-never-used": () => ({
    applyAndUse: (base) => (queue, job) => {
      if (queue !== "free_page_vq") return base(queue, job);
      job.apply();
      return false;
    },
  }),
  "report-never-used": () => ({
    applyAndUse: (base) => (queue, job) => {
      if (queue !== "reporting_vq") return base(queue, job);
      job.apply();
      return false;
    },
  }),
  "report-ignores-poison": () => ({ reportAction: () => () => "discard" }),
  "hint-cmd-any-length": (d) => ({
    readCmdId: (base) => (data) =>
      data.length < 4
        ? base(data)
        : Number(readScalar(new DataView(data.buffer, data.byteOffset), 0, "virtio32", d.order)),
  }),
  "report-readable-parts": () => ({
    decodeReport: (base) => (chain) => base({ ...chain, readable: [] }),
  }),
  "report-round-ranges": () => ({
    decodeReport: (base) => (chain) =>
      base({
        ...chain,
        writable: chain.writable.map((s) => {
          const addr = Math.floor(s.addr / PAGE) * PAGE;
          return { addr, len: Math.ceil((s.addr + s.len) / PAGE) * PAGE - addr };
        }),
      }),
  }),
  "fixed-queue-indices": () => ({ queueIndexModel: () => () => "fixed" }),
  "stats-strict-tags": (d) => ({
    checkStats: (base) => (entries) => {
      base(entries);
      const spec = new Set(
        enumValues("stats_tag", d.profile).filter((t) => !t.nonStandard).map((t) => t.value),
      );
      const bad = entries.find((e) => !spec.has(e.tag));
      if (bad !== undefined) {
        throw new ProtocolError({
          code: "illegal-value",
          struct: "virtio_balloon_stat",
          field: "tag",
          offset: 0,
          value: String(bad.tag),
          expected: "a tag the spec defines",
        });
      }
    },
  }),
  "cmd-id-le": () => ({
    readCmdId: (base) => (data) =>
      data.length === 4
        ? new DataView(data.buffer, data.byteOffset).getUint32(0, true)
        : base(data),
  }),
};
