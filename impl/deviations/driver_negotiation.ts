/**
 * Driver deviations in feature negotiation, the status sequence and queue
 * setup (G08, G09, G18, G34, G53, G55a, G55c, G55d, R-03).
 *
 * @module
 */

import { featureMask, fieldOf, structSize, wireSize } from "../../spec/mod.ts";
import type { PhysicalMemory, Writer } from "../memory.ts";
import type { RingLayout } from "../virtqueue.ts";
import type { DriverDeviation } from "../deviations.ts";
import type { DriverSeamOverride } from "../driver/seams.ts";
import { STATUS } from "../transport.ts";

/** Overrides of the negotiation deviations. */
export const NEGOTIATION_DEVIATIONS: Readonly<
  Partial<Record<DriverDeviation, DriverSeamOverride>>
> = {
  "accept-unoffered": (vb) => ({
    driverFeatures: (base) => (wanted) => base(wanted) | featureMask(vb.profile, ["RING_PACKED"]),
  }),
  "misc-without-stats": () => ({
    featureDependencies: (base) => () =>
      base().filter((d) => !(d.feature === "MISC_VQ" && d.requires === "STATS_VQ")),
  }),
  "ignore-version-1": (vb) => ({
    driverFeatures: (base) => (wanted) => base(wanted) & ~featureMask(vb.profile, ["VERSION_1"]),
  }),
  "decline-any-layout": (vb) => ({
    driverFeatures: (base) => (wanted) => base(wanted) & ~featureMask(vb.profile, ["ANY_LAYOUT"]),
  }),
  "config-before-features-ok": (vb) => ({
    afterFeaturesWritten: (base) => (features) => {
      base(features);
      vb.updateActual();
    },
  }),
  "skip-features-ok": () => ({ setsFeaturesOk: () => () => false }),
  "continue-after-refusal": () => ({ failsWhenRefused: () => () => false }),
  "late-features": (vb) => ({
    afterNegotiation: (base) => (features) => {
      base(features);
      vb.transport.writeDriverFeatures(features | featureMask(vb.profile, ["RING_PACKED"]));
    },
  }),
  "missing-queue": () => ({ queueCount: (base) => (layoutLength) => base(layoutLength - 1) }),
  "indirect-unnegotiated": () => ({
    queueFeatures: (base) => (negotiated) => ({ ...base(negotiated), indirect: true }),
    useIndirect: (base) => (queue, chain) => base(queue, chain) || queue === "inflateq",
  }),
  "avail-idx-first": () => ({
    queueMemory: () => (mem, layout) => new IdxFirstMemory(mem, layout),
  }),
  "clear-status-bit": (vb) => ({
    afterDriverOk: (base) => () => {
      base();
      vb.transport.writeStatus(vb.transport.status & ~STATUS.DRIVER);
    },
  }),
};

const AVAIL_IDX = fieldOf("virtq_avail_hdr", "idx");
const AVAIL_HDR = structSize("virtq_avail_hdr");
const AVAIL_ENTRY = wireSize(AVAIL_IDX.type);

/**
 * Memory that holds back the driver's writes to avail ring entries until
 * its next write of `avail.idx`, then lets them through after it: the index
 * reaches memory before the entry it publishes (the missing barrier, G53).
 */
class IdxFirstMemory implements PhysicalMemory {
  readonly #mem: PhysicalMemory;
  readonly #entries: readonly [number, number];
  readonly #idx: number;
  #held: { addr: number; data: Uint8Array; writer: Writer }[] = [];

  constructor(mem: PhysicalMemory, layout: RingLayout) {
    this.#mem = mem;
    const first = layout.avail + AVAIL_HDR;
    this.#entries = [first, first + layout.size * AVAIL_ENTRY];
    this.#idx = layout.avail + AVAIL_IDX.offset;
  }

  get bytes(): number {
    return this.#mem.bytes;
  }

  contains(addr: number, len: number): boolean {
    return this.#mem.contains(addr, len);
  }

  read(addr: number, len: number): Uint8Array {
    return this.#mem.read(addr, len);
  }

  write(addr: number, data: Uint8Array, writer: Writer): void {
    const [from, to] = this.#entries;
    if (addr >= from && addr + data.length <= to) {
      this.#held.push({ addr, data: data.slice(), writer });
      return;
    }
    this.#mem.write(addr, data, writer);
    if (addr <= this.#idx && addr + data.length >= this.#idx + AVAIL_ENTRY) {
      for (const h of this.#held.splice(0)) this.#mem.write(h.addr, h.data, h.writer);
    }
  }
}
