/**
 * Driver deviations in the driver's own ring code: chains the device must
 * reject (G32, G35, G36, G37), an avail index or avail flags out of range
 * (G40, G41a), a notification left out (G49a, G50a).
 *
 * @module
 */

import { encodeStruct, enumValue, structSize } from "../../spec/mod.ts";
import type { DriverDeviation } from "../deviations.ts";
import { SCRATCH } from "../driver/layout.ts";
import type { DriverContext, DriverSeamOverride, StatsChain } from "../driver/seams.ts";
import type { RawDescriptor } from "../virtqueue.ts";

const F_NEXT = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_NEXT");
const F_INDIRECT = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_INDIRECT");
const NO_INTERRUPT = enumValue("virtq_avail_flags", "VIRTQ_AVAIL_F_NO_INTERRUPT");
const DESC = structSize("virtq_desc");
/** A bit of avail.flags that no flag of the table defines (the deviation's private marker). */
const UNDEFINED_FLAG = 0x8000;
/** Free room in the first scratch page, after the PFN array's 2048 bytes: two one-entry tables. */
const TABLES = SCRATCH.pfnArray + 2048;
/** 8 spare bytes after the two tables, for a descriptor chained after an indirect one. */
const SPARE = TABLES + 2 * DESC;

/** The first stats buffer of a probe. */
function first(chain: StatsChain): boolean {
  return chain.when === "probe" && chain.slot === 0;
}

/** Writes a one-entry indirect table at `addr`, in the ring's byte order. */
function writeTable(vb: DriverContext, addr: number, desc: Omit<RawDescriptor, "index">): void {
  const bytes = encodeStruct("virtq_desc", { ...desc }, { order: vb.order });
  vb.guest.mem.write(addr, bytes, "driver");
}

/** Overrides of the ring deviations. */
export const RING_DEVIATIONS: Readonly<Partial<Record<DriverDeviation, DriverSeamOverride>>> = {
  "chain-loop": () => ({
    postStats: (base) => (vq, chain) => {
      if (!first(chain)) return base(vq, chain);
      const [a] = vq.peekFree(1) as [number];
      const { addr, len } = chain.segment;
      vq.addRaw([{ index: a, addr, len, flags: F_NEXT, next: a }], a, { token: "stats" });
    },
  }),
  "indirect-nested": (vb) => ({
    postStats: (base) => (vq, chain) => {
      if (!first(chain)) return base(vq, chain);
      const [a] = vq.peekFree(1) as [number];
      const outer = vb.scratch + TABLES;
      const inner = outer + DESC;
      writeTable(vb, outer, { addr: inner, len: DESC, flags: F_INDIRECT, next: 0 });
      writeTable(vb, inner, { ...chain.segment, flags: 0, next: 0 });
      vq.addRaw([{ index: a, addr: outer, len: DESC, flags: F_INDIRECT, next: 0 }], a, {
        token: "stats",
      });
    },
  }),
  "indirect-with-next": (vb) => ({
    postStats: (base) => (vq, chain) => {
      if (!first(chain)) return base(vq, chain);
      const [a, b] = vq.peekFree(2) as [number, number];
      const table = vb.scratch + TABLES;
      writeTable(vb, table, { ...chain.segment, flags: 0, next: 0 });
      vq.addRaw(
        [
          { index: a, addr: table, len: DESC, flags: F_INDIRECT | F_NEXT, next: b },
          { index: b, addr: vb.scratch + SPARE, len: 8, flags: 0, next: 0 },
        ],
        a,
        { token: "stats" },
      );
    },
  }),
  "indirect-past-queue-size": () => ({
    chainLimit: (base) => (ring) => ring.indirect ? Infinity : base(ring),
  }),
  "avail-idx-wraps-at-size": () => ({
    availIdx: (base) => (idx, ring) => base(idx, ring) % ring.size,
  }),
  "avail-flags-undefined-bit": () => ({
    availFlags: (base) => (flags, ring) => base(flags, ring) | UNDEFINED_FLAG,
  }),
  "avail-flags-with-event-idx": () => ({
    availFlags: (base) => (flags, ring) =>
      ring.eventIdx ? base(flags, ring) | NO_INTERRUPT : base(flags, ring),
  }),
  "stats-refill-no-kick": () => {
    let kicked = false;
    return {
      // the kick after DRIVER_OK goes out, those after each refill do not
      notifies: (base) => (queue, wants) => {
        if (queue.name !== "statsq") return base(queue, wants);
        if (kicked) return false;
        kicked = true;
        return base(queue, wants);
      },
    };
  },
};
