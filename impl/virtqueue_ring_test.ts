import assert from "node:assert/strict";
import { VIRTQ_MAX_SIZE } from "../spec/mod.ts";
import { GuestMemory } from "./memory.ts";
import {
  DeviceQueue,
  DriverQueue,
  isQueueSize,
  needEvent,
  type QueueFeatures,
  RING_ALIGN,
  ringBytes,
  type RingLayout,
  ringLayout,
} from "./virtqueue.ts";
import { AVAIL_HDR, DESC, ENTRY, USED_ELEM, USED_HDR } from "./_virtqueue_rig.ts";

Deno.test("ringLayout() aligns each part (G26) and packs it after the previous one, for every queue size", () => {
  // Cross-check of the derivation against the numbers §2.7 states (16, 2, 4).
  assert.deepEqual(RING_ALIGN, { desc: 16, avail: 2, used: 4 });
  for (let size = 1; size <= VIRTQ_MAX_SIZE; size *= 2) {
    const l = ringLayout(0x4000, size);
    assert.equal(l.desc, 0x4000);
    assert.equal(l.avail, l.desc + DESC * size);
    const availEnd = l.avail + AVAIL_HDR + ENTRY * size + ENTRY;
    assert.ok(l.used >= availEnd && l.used - availEnd < RING_ALIGN.used, `size ${size}`);
    assert.equal(l.used % RING_ALIGN.used, 0);
    assert.equal(ringBytes(size), l.used + USED_HDR + USED_ELEM * size + ENTRY - l.desc);
  }
});

Deno.test("ringLayout() puts the legacy used ring on the next Queue Align boundary (G27)", () => {
  const l = ringLayout(0x10000, 256, { legacy: true });
  assert.deepEqual(l, { size: 256, desc: 0x10000, avail: 0x11000, used: 0x12000 });
  assert.equal(ringBytes(256, { legacy: true }), 0x3000);
  const small = ringLayout(0x1000, 4, { legacy: true, legacyAlign: 64 });
  assert.equal(small.used, 0x1000 + 64 + 64);
  assert.equal(ringBytes(4, { legacy: true, legacyAlign: 64 }), 128 + 64);
});

Deno.test("ringLayout() rejects sizes that are not powers of two up to VIRTQ_MAX_SIZE and misaligned bases", () => {
  for (const size of [0, 3, 6, 1.5, -4, VIRTQ_MAX_SIZE * 2, NaN]) {
    assert.equal(isQueueSize(size), false);
    assert.throws(
      () => ringLayout(0, size),
      /Invalid queue size: .*expected a power of two from 1 to 32768/,
    );
  }
  assert.throws(
    () => ringLayout(8, 4),
    /Invalid ring base: 8, expected a non-negative multiple of 16 \(rule G26\)/,
  );
  assert.throws(() => ringLayout(0x800, 4, { legacy: true }), /Queue Align/);
  assert.throws(
    () => ringLayout(0, 4, { legacy: true, legacyAlign: 48 }),
    /legacy queue align: 48/,
  );
});

Deno.test("both sides reject a layout with a bad size, a misaligned part, a part outside RAM or overlapping parts", () => {
  const mem = new GuestMemory({ pages: 4 });
  const f: QueueFeatures = { order: "v1", eventIdx: false, indirect: false };
  const good = ringLayout(0, 4);
  const bad: RingLayout[] = [
    { ...good, size: 3 },
    { ...good, avail: good.avail + 1 },
    { ...good, used: good.used + 2 },
    { ...good, desc: good.desc + 8 },
    { ...good, used: mem.bytes - 8 },
    { ...good, used: good.avail },
  ];
  for (const l of bad) {
    assert.throws(() => new DriverQueue(mem, l, f), RangeError, JSON.stringify(l));
    assert.throws(() => new DeviceQueue(mem, l, f), RangeError, JSON.stringify(l));
  }
  assert.throws(() => new DeviceQueue(mem, good, f, { maxChainLength: 0 }), /maxChainLength: 0/);
});

Deno.test("needEvent() is vring_need_event on u16 indices", () => {
  // [event, new, old, expected]
  const cases: [number, number, number, boolean][] = [
    [0, 1, 0, true],
    [0, 2, 1, false],
    [5, 6, 5, true],
    [5, 10, 0, true],
    [5, 5, 0, false],
    [10, 10, 5, false],
    [65535, 0, 65535, true],
    [65535, 3, 65530, true],
    [2, 3, 65534, true],
    [4, 3, 65534, false],
    [0, 0, 0, false],
  ];
  for (const [e, n, o, want] of cases) assert.equal(needEvent(e, n, o), want, `${e} ${n} ${o}`);
});
