/**
 * Split-virtqueue throughput: the PFN-mode inflate of 7 GiB in the seed's
 * requests (7168 round trips of one 1 KiB PFN array), and one bitmap-mode
 * request of a header plus BALLOON_BMAP_COUNT bitmaps (33 descriptors).
 *
 * Run: `deno bench bench/virtqueue_bench.ts`
 *
 * @module
 */

import {
  BALLOON_BMAP_COUNT,
  BALLOON_BMAP_SIZE,
  BALLOON_PAGE_SIZE,
  BMAP_HDR_SIZE,
  encodePfnArray,
  PFN_ARRAY,
  VIRTIO_BALLOON_ARRAY_PFNS_MAX,
  wireSize,
} from "../spec/mod.ts";
import { GuestMemory } from "../impl/memory.ts";
import {
  DeviceQueue,
  DriverQueue,
  type QueueFeatures,
  ringLayout,
  type Segment,
} from "../impl/virtqueue.ts";

const GIB = 1024 ** 3;
/** Requests of a 7 GiB PFN-mode inflate: 1,835,008 pages / 256 PFNs = 7168. */
const REQUESTS = (7 * GIB / BALLOON_PAGE_SIZE) / VIRTIO_BALLOON_ARRAY_PFNS_MAX;
/** Bytes of one full PFN array: 256 virtio32 PFNs = 1 KiB. */
const PFN_BYTES = VIRTIO_BALLOON_ARRAY_PFNS_MAX * wireSize(PFN_ARRAY.element);
/** Queue size of QEMU's inflateq. */
const QUEUE_SIZE = 128;
const FEATURES: QueueFeatures = { order: "v1", eventIdx: true, indirect: true };
const ARRAY_AT = 0x10_0000;
const BMAP_AT = 0x20_0000;

function queues(): { mem: GuestMemory; driver: DriverQueue<number>; device: DeviceQueue } {
  const mem = new GuestMemory({ pages: 2 * GIB / BALLOON_PAGE_SIZE });
  const layout = ringLayout(0, QUEUE_SIZE);
  const driver = new DriverQueue<number>(mem, layout, FEATURES);
  const device = new DeviceQueue(mem, layout, FEATURES);
  return { mem, driver, device };
}

const pfn = queues();
const pfns = Array.from({ length: VIRTIO_BALLOON_ARRAY_PFNS_MAX }, (_, i) => 0x4_0000 + i);
pfn.mem.write(ARRAY_AT, encodePfnArray(pfns, "v1"), "driver");
const pfnArray: Segment[] = [{ addr: ARRAY_AT, len: PFN_BYTES }];

Deno.bench({
  name: `PFN-mode inflate of 7 GiB: ${REQUESTS} add→pop→read(1 KiB)→push→getUsed round trips`,
  group: "inflate",
  baseline: true,
  fn() {
    const { driver, device } = pfn;
    let bytes = 0;
    for (let t = 0; t < REQUESTS; t++) {
      driver.add(pfnArray, [], t);
      driver.kickPrepare();
      const chain = device.pop();
      if (chain === undefined) throw new Error("Bench queue lost a chain");
      bytes += device.read(chain).length;
      device.push(chain.head, 0);
      device.needsNotify();
      driver.getUsed();
    }
    if (bytes !== REQUESTS * PFN_BYTES) throw new Error(`Read ${bytes} bytes`);
  },
});

const bmap = queues();
const bitmapChain: Segment[] = [
  { addr: BMAP_AT, len: BMAP_HDR_SIZE },
  ...Array.from({ length: BALLOON_BMAP_COUNT }, (_, i) => ({
    addr: BMAP_AT + BALLOON_PAGE_SIZE + i * BALLOON_BMAP_SIZE,
    len: BALLOON_BMAP_SIZE,
  })),
];
for (const s of bitmapChain) bmap.mem.write(s.addr, new Uint8Array(s.len).fill(0xa5), "driver");
const chainBytes = bitmapChain.reduce((n, s) => n + s.len, 0);

for (const indirect of [false, true]) {
  Deno.bench({
    name:
      `bitmap request: one ${bitmapChain.length}-descriptor chain of ${BMAP_HDR_SIZE} B + ${BALLOON_BMAP_COUNT} × ${
        BALLOON_BMAP_SIZE / 1024
      } KiB${indirect ? " (indirect)" : ""}`,
    group: "bitmap",
    baseline: !indirect,
    fn() {
      const { driver, device } = bmap;
      driver.add(bitmapChain, [], 0, indirect ? { indirectTable: BMAP_AT - 0x1000 } : {});
      const chain = device.pop();
      if (chain === undefined) throw new Error("Bench queue lost a chain");
      if (device.read(chain).length !== chainBytes) throw new Error("Short read");
      device.push(chain.head, 0);
      driver.getUsed();
    },
  });
}
