/**
 * Where the reference driver keeps its buffers: two scratch pages for
 * headers, PFN arrays, stats, the misc request and indirect tables.
 *
 * @module
 */

import { structSize, VIRTIO_BALLOON_PFN_SHIFT } from "../../spec/mod.ts";

/** Bytes in a 4 KiB balloon page. */
export const PAGE: number = 1 << VIRTIO_BALLOON_PFN_SHIFT;

const HDR_SIZE = structSize("balloon_bmap_hdr");

/**
 * Offsets into the driver's scratch pages: `[0, 96)` one bitmap header per
 * queue, `[128, 144)` the misc request, `[256, …)` stats buffers (one slot
 * per 256 bytes), `[1024, 3072)` the PFN array; the second page holds the
 * indirect table.
 */
export const SCRATCH: {
  readonly header: Readonly<Record<"inflateq" | "deflateq" | "miscq", number>>;
  readonly miscRequest: number;
  readonly stats: number;
  readonly statsSlot: number;
  readonly pfnArray: number;
  readonly indirectTable: number;
} = {
  header: { inflateq: 0, deflateq: HDR_SIZE, miscq: 2 * HDR_SIZE },
  miscRequest: 128,
  stats: 256,
  statsSlot: 256,
  pfnArray: 1024,
  indirectTable: PAGE,
};
