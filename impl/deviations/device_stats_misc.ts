/**
 * Device deviations on the stats and misc queues (B33, B34, R-17a, R-20,
 *
 *
 * @module
 */

import { enumValues, ProtocolError } from "../../spec/mod.ts";
import type { DeviceDeviation } from "../deviations.ts";
import type { DeviceBuffer, DeviceSeamOverride } from "../device/seams.ts";

/** Overrides of the stats and misc deviations. */
export const DEVICE_STATS_MISC_DEVIATIONS: Readonly<
  Partial<Record<DeviceDeviation, DeviceSeamOverride>>
> = {
  "stats-reject-unknown-tag": (d) => ({
    checkStats: (base) => (entries) => {
      base(entries);
      const known = new Set(enumValues("stats_tag", d.profile).map((t) => t.value));
      if (entries.some((e) => !known.has(e.tag))) {
        throw new ProtocolError({
          code: "illegal-value",
          struct: "virtio_balloon_stat",
          field: "tag",
          offset: 0,
          value: "unknown",
          expected: "a known tag",
        });
      }
    },
  }),
  "stats-require-order": () => ({
    checkStats: (base) => (entries) => {
      base(entries);
      if (entries.some((e, i) => i > 0 && e.tag < (entries[i - 1]?.tag ?? 0))) {
        throw new ProtocolError({
          code: "illegal-value",
          struct: "virtio_balloon_stat",
          field: "tag",
          offset: 0,
          value: "out of order",
          expected: "ascending tags",
        });
      }
    },
  }),
  "misc-request-len-8": () => ({
    unusedRequest: (base) => (request) => ({ ...base(request), usedLength: 8 }),
  }),
  "misc-request-reserved": () => ({
    unusedRequest: (base) => (request) => {
      const r = base(request);
      return { ...r, header: { ...r.header, reserved: [1, 0, 0] } };
    },
  }),
  "misc-hold-replies": (d) => {
    // reply buffers are used only when the host issues its next request
    let held: DeviceBuffer[] = [];
    return {
      applyAndUse: (base) => (queue, job) => {
        if (queue !== "miscq") return base(queue, job);
        job.apply();
        held.push(job.buffer);
        return false;
      },
      sendUnusedRequest: (base) => (issue) => {
        for (const b of held) d.pushUsed({ ...b, len: 0 });
        held = [];
        base(issue);
      },
      reset: (base) => () => {
        held = [];
        base();
      },
    };
  },
  "no-dirty-log": (d) => ({
    // dirty logging starts only after the request is out
    startDirtyLog: () => () => {},
    sendUnusedRequest: (base) => (issue) => {
      base(issue);
      d.transport.mem.startDirtyLog();
    },
  }),
};
