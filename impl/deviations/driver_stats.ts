/**
 * Driver deviations on the stats queue (B25 – B29, B32, G29, G57).
 *
 * @module
 */

import { enumValue } from "../../spec/mod.ts";
import type { DriverDeviation } from "../deviations.ts";
import type { DriverSeamOverride, StatsBuffer } from "../driver/seams.ts";

const F_NEXT = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_NEXT");
const F_WRITE = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_WRITE");

/** The first buffer of a probe. */
function first(b: StatsBuffer): boolean {
  return b.when === "probe" && b.slot === 0;
}

/** Overrides of the stats deviations. */
export const STATS_DEVIATIONS: Readonly<Partial<Record<DriverDeviation, DriverSeamOverride>>> = {
  "stats-two-buffers": () => ({ statsBuffersAtProbe: (base) => () => base() + 1 }),
  "stats-no-refill": () => ({ refillsStats: () => () => false }),
  "stats-varying-subset": () => {
    let round = 0;
    return {
      statsPayload: (base) => (entries, buffer) =>
        base(round++ % 2 === 1 ? entries.slice(1) : entries, buffer),
    };
  },
  "stats-empty-first": () => ({
    statsPayload: (base) => (entries, buffer) => base(first(buffer) ? [] : entries, buffer),
  }),
  "stats-odd-length": () => ({
    statsPayload: (base) => (entries, buffer) =>
      new Uint8Array([...base(entries, buffer), 0, 0, 0, 0]),
  }),
  "stats-writable-first": (vb) => ({
    postStats: (base) => (vq, chain) => {
      if (!first(chain)) return base(vq, chain);
      // a device-writable descriptor (8 spare bytes of the scratch page) before the stats
      const [a, b] = vq.peekFree(2) as [number, number];
      vq.addRaw(
        [
          { index: a, addr: vb.scratch + 768, len: 8, flags: F_NEXT | F_WRITE, next: b },
          { index: b, addr: chain.segment.addr, len: chain.segment.len, flags: 0, next: 0 },
        ],
        a,
        { token: "stats" },
      );
    },
  }),
  "notify-before-driver-ok": (vb) => ({
    afterStatsPrimed: (base) => (index) => {
      base(index);
      vb.transport.notify(index);
    },
  }),
};
