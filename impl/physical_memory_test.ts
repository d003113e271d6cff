import assert from "node:assert/strict";
import { GuestMemory, type PhysicalMemory, type Writer } from "./memory.ts";
import { DeviceQueue, DriverQueue, type QueueFeatures, ringLayout } from "./virtqueue.ts";

/** A PhysicalMemory that is not a GuestMemory: every access is counted and forwarded. */
class CountingMemory implements PhysicalMemory {
  readonly inner: GuestMemory;
  reads = 0;
  writes = 0;
  constructor(pages: number) {
    this.inner = new GuestMemory({ pages });
  }
  get bytes(): number {
    return this.inner.bytes;
  }
  contains(addr: number, len: number): boolean {
    return this.inner.contains(addr, len);
  }
  read(addr: number, len: number): Uint8Array {
    this.reads++;
    return this.inner.read(addr, len);
  }
  write(addr: number, data: Uint8Array, writer: Writer): void {
    this.writes++;
    this.inner.write(addr, data, writer);
  }
}

function exchange(mem: PhysicalMemory, features: QueueFeatures): unknown[] {
  const layout = ringLayout(0, 8);
  const driver = new DriverQueue<number>(mem, layout, features);
  const device = new DeviceQueue(mem, layout, features);
  const seen: unknown[] = [];
  for (let i = 0; i < 20; i++) {
    mem.write(0x8000 + i * 16, new Uint8Array([i, i + 1, i + 2, i + 3]), "driver");
    driver.add(
      [{ addr: 0x8000 + i * 16, len: 4 }],
      [{ addr: 0x9000, len: 8 }],
      i,
      features.indirect ? { indirectTable: 0xa000 } : undefined,
    );
    seen.push(driver.kickPrepare());
    const chain = device.pop();
    assert.ok(chain !== undefined);
    seen.push([...device.read(chain)]);
    device.push(chain.head, device.write(chain, new Uint8Array([9, i])));
    seen.push(device.needsNotify(), driver.getUsed());
  }
  return seen;
}

for (
  const features of [
    { order: "v1", eventIdx: false, indirect: false },
    { order: "v1", eventIdx: true, indirect: true },
    { order: "legacy-be", eventIdx: true, indirect: false },
  ] as const
) {
  Deno.test(`the split ring over any PhysicalMemory behaves as over GuestMemory (${JSON.stringify(features)})`, () => {
    const plain = new GuestMemory({ pages: 16 });
    const counting = new CountingMemory(16);
    assert.deepEqual(exchange(counting, features), exchange(plain, features));
    // the same bytes end up in memory, and every ring access went through read/write
    assert.deepEqual(counting.inner.read(0, 16 * 4096), plain.read(0, 16 * 4096));
    assert.ok(counting.reads > 100, `only ${counting.reads} reads`);
    assert.ok(counting.writes > 100, `only ${counting.writes} writes`);
  });
}
