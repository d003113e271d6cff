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
 * queue, `[112, 116)` and `[120, 124)` the free-page-hint start and stop
 * ids, `[128, 144)` the misc request, `[256, …)` stats buffers (one slot
 * per 256 bytes), `[1024, 3072)` the PFN array; the second page holds the
 * indirect table of requests and, from byte 2048 on, that of reports.
 */
export const SCRATCH: {
  readonly header: Readonly<Record<"inflateq" | "deflateq" | "miscq", number>>;
  readonly hintStart: number;
  readonly hintStop: number;
  readonly reportIndirect: number;
  readonly miscRequest: number;
  readonly stats: number;
  readonly statsSlot: number;
  readonly pfnArray: number;
  readonly indirectTable: number;
} = {
  header: { inflateq: 0, deflateq: HDR_SIZE, miscq: 2 * HDR_SIZE },
  hintStart: 112,
  hintStop: 120,
  reportIndirect: PAGE + 2048,
  miscRequest: 128,
  stats: 256,
  statsSlot: 256,
  pfnArray: 1024,
  indirectTable: PAGE,
};
