import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BYTE_ORDERS,
  fieldOf,
  isLittleEndian,
  VIRTQ_IDX_MODULUS,
  VIRTQ_MAX_SIZE,
  wireSize,
} from "../spec/mod.ts";

import { GuestMemory } from "./memory.ts";
import { type Chain, DeviceQueue, DriverQueue, ringLayout, VirtqueueError } from "./virtqueue.ts";
import {
  availEvent,
  concat,
  DATA,
  DESC,
  encodeTable,
  errorOf,
  fill,
  INDIRECT,
  NEXT,
  NO_INTERRUPT,
  NO_NOTIFY,
  PAGE,
  popOk,
  rig,
  ringField,
  TABLES,
  USED_ELEM,
  USED_HDR,
  usedEvent,
  WRITE,
} from "./_virtqueue_rig.ts";

// ---------------------------------------------------------------- round trips

Deno.test("a chain with readable and writable segments round-trips through add, pop, push and getUsed", () => {
  for (const order of BYTE_ORDERS) {
    const r = rig({ order });
    const out = [{ addr: DATA, len: 100 }, { addr: DATA + PAGE, len: 28 }];
    const inn = [{ addr: DATA + 2 * PAGE, len: 16 }, { addr: DATA + 3 * PAGE + 5, len: 64 }];
    const sent = concat(out.map((s, i) => fill(r.mem, s, i)));
    const head = r.driver.add(out, inn, 42);
    assert.equal(r.driver.numFree, 4);
    assert.equal(r.driver.availIdx, 1);
    assert.equal(ringField(r, "avail", "idx"), 1);
    assert.equal(r.device.pending, 1);
    const chain = popOk(r.device);
    assert.deepEqual(chain, {
      head,
      readable: out,
      writable: inn,
      descriptors: 4,
      indirect: false,
    });
    assert.deepEqual(r.device.read(chain), sent);
    const reply = new Uint8Array(40).fill(0xab);
    assert.equal(r.device.write(chain, reply), 40);
    assert.deepEqual(r.mem.read(inn[0]?.addr ?? 0, 16), reply.subarray(0, 16));
    assert.deepEqual(r.mem.read(inn[1]?.addr ?? 0, 24), reply.subarray(16));
    assert.equal(r.driver.getUsed(), undefined);
    r.device.push(chain.head, 40);
    assert.equal(r.driver.usedPending, 1);
    assert.deepEqual(r.driver.getUsed(), { token: 42, len: 40, head });
    assert.equal(r.driver.getUsed(), undefined);
    assert.equal(r.driver.numFree, 8);
  }
});

Deno.test("add() links a chain with NEXT and marks only device-writable descriptors WRITE", () => {
  const r = rig({ size: 8 });
  r.driver.add([{ addr: DATA, len: 8 }], [], 1); // occupies descriptor 0
  const head = r.driver.add(
    [{ addr: DATA, len: 1 }, { addr: DATA, len: 2 }],
    [{ addr: DATA, len: 3 }],
    2,
  );
  const le = isLittleEndian(fieldOf("virtq_desc", "flags").type, "v1");
  const at = (i: number, field: "len" | "flags" | "next"): number => {
    const f = fieldOf("virtq_desc", field);
    return Number(
      r.mem.readUint(r.layout.desc + i * DESC + f.offset, wireSize(f.type) as 2 | 4, le),
    );
  };
  const seen: [number, number][] = [];
  let i = head;
  for (let n = 0; n < 3; n++) {
    seen.push([at(i, "len"), at(i, "flags")]);
    if ((at(i, "flags") & NEXT) === 0) break;
    i = at(i, "next");
  }
  assert.deepEqual(seen, [[1, NEXT], [2, NEXT], [3, WRITE]]);
  assert.equal(r.driver.numFree, 4);
});

Deno.test("an indirect chain takes one ring descriptor and its table holds every segment", () => {
  const r = rig({ size: 8, indirect: true });
  const out = [{ addr: DATA, len: 32 }];
  const inn = Array.from({ length: 5 }, (_, i) => ({ addr: DATA + (i + 1) * PAGE, len: 512 }));
  const head = r.driver.add(out, inn, 9, { indirectTable: TABLES });
  assert.equal(r.driver.numFree, 7);
  const chain = popOk(r.device);
  assert.deepEqual(chain, { head, readable: out, writable: inn, descriptors: 7, indirect: true });
  r.device.push(chain.head, 0);
  assert.equal(r.driver.getUsed()?.token, 9);
  assert.equal(r.driver.numFree, 8);
});

Deno.test("add() refuses an indirect table when INDIRECT_DESC is not negotiated (G34)", () => {
  const r = rig({ indirect: false });
  const e = errorOf(() => r.driver.add([{ addr: DATA, len: 8 }], [], 1, { indirectTable: TABLES }));
  assert.equal(e.rule, "G34");
  assert.equal(e.code, "indirect-not-negotiated");
  assert.equal(r.driver.availIdx, 0);
  assert.equal(r.driver.numFree, 8);
});

Deno.test("add() throws G36 for a chain longer than the queue and when too few descriptors are free", () => {
  const r = rig({ size: 4 });
  const seg = { addr: DATA, len: 8 };
  const long = errorOf(() => r.driver.add([seg, seg, seg, seg, seg], [], 1));
  assert.equal(long.rule, "G36");
  assert.equal(long.code, "chain-too-long");
  const longIndirect = errorOf(() =>
    r.driver.add([seg, seg, seg, seg, seg], [], 1, { indirectTable: TABLES })
  );
  assert.equal(longIndirect.rule, "G36");
  r.driver.add([seg, seg, seg], [], 1);
  const full = errorOf(() => r.driver.add([seg, seg], [], 2));
  assert.equal(full.rule, "G36");
  assert.equal(full.code, "queue-full");
  assert.equal(
    full.message,
    "Cannot add a chain on queue 0: descriptor count is 2, expected at most 1 (the free descriptors) (rule G36)",
  );
  assert.equal(r.driver.availIdx, 1);
  assert.equal(r.driver.numFree, 1);
});

Deno.test("availIdxValue, availFlagsValue and maxChainLength change only what a deliberately broken driver writes", () => {
  const mem = new GuestMemory({ pages: 1024 });
  const layout = ringLayout(0, 4);
  const features = { order: "v1", eventIdx: false, indirect: true } as const;
  const driver = new DriverQueue<number>(mem, layout, features, {
    availIdxValue: (idx) => idx % 4,
    availFlagsValue: (flags) => flags | 0x8000,
    maxChainLength: 8,
  });
  const device = new DeviceQueue(mem, layout, features);
  const r = { mem, layout, features, driver, device };
  assert.equal(ringField(r, "avail", "flags"), 0x8000);
  driver.disableCallbacks();
  assert.equal(ringField(r, "avail", "flags"), 0x8000 | NO_INTERRUPT);
  const seg = { addr: DATA, len: 8 };
  for (let i = 0; i < 3; i++) driver.add([seg], [], i);
  assert.equal(ringField(r, "avail", "idx"), 3);
  for (let i = 0; i < 3; i++) popOk(device);
  driver.add([seg], [], 3);
  assert.equal(driver.availIdx, 4, "the queue's own index runs on");
  assert.equal(ringField(r, "avail", "idx"), 0, "what it publishes wraps at the size");
  assert.equal(errorOf(() => device.pop()).rule, "G40");
  // a table of 6 entries on a 4-entry queue: the queue takes it, the device refuses it (G36)
  const other = rig({ size: 4 });
  const wide = new DriverQueue<number>(other.mem, other.layout, other.features, {
    maxChainLength: 8,
  });
  wide.add([seg, seg, seg, seg, seg, seg], [], 9, { indirectTable: TABLES });
  assert.equal(errorOf(() => other.device.pop()).rule, "G36");
});

Deno.test("add() refuses empty chains, malformed segments and buffers outside guest RAM", () => {
  const r = rig({ pages: 1024 });
  assert.equal(errorOf(() => r.driver.add([], [], 1)).code, "empty-chain");
  assert.equal(errorOf(() => r.driver.add([{ addr: -1, len: 8 }], [], 1)).code, "bad-segment");
  assert.equal(errorOf(() => r.driver.add([{ addr: 0, len: 2 ** 32 }], [], 1)).code, "bad-segment");
  const out = errorOf(() => r.driver.add([], [{ addr: r.mem.bytes - 4, len: 8 }], 1));
  assert.equal(out.code, "outside-ram");
  assert.equal(out.field, "inn[0]");
  assert.equal(r.driver.numFree, 8);
});

Deno.test("read() returns only readable bytes and write() refuses data beyond the writable capacity", () => {
  const r = rig();
  fill(r.mem, { addr: DATA, len: 4 }, 1);
  r.mem.write(DATA + PAGE, new Uint8Array([9, 9, 9, 9]), "guest");
  r.driver.add([{ addr: DATA, len: 4 }], [{ addr: DATA + PAGE, len: 4 }], 1);
  const c = popOk(r.device);
  assert.equal(r.device.read(c).length, 4);
  assert.throws(() => r.device.write(c, new Uint8Array(5)), /data is 5 bytes, expected at most 4/);
  assert.equal(r.device.write(c, new Uint8Array(2)), 2);
  assert.deepEqual([...r.mem.read(DATA + PAGE, 4)], [0, 0, 9, 9]);
});

Deno.test("push() writes the used element before used.idx (G45)", () => {
  const r = rig({ size: 4 });
  const checked: number[] = [];
  r.mem.onWrite((_pfn, writer) => {
    if (writer !== "device") return;
    const idx = ringField(r, "used", "idx");
    if (idx === 0 || checked.includes(idx)) return;
    const slot = (idx - 1) % r.layout.size;
    const lenField = fieldOf("virtq_used_elem", "len");
    const len = r.mem.readUint(
      r.layout.used + USED_HDR + slot * USED_ELEM + lenField.offset,
      wireSize(lenField.type) as 4,
      isLittleEndian(lenField.type, r.features.order),
    );
    assert.equal(len, 100 + idx, "len must be in place when idx moves");
    checked.push(idx);
  });
  for (let i = 1; i <= 6; i++) {
    r.driver.add([{ addr: DATA, len: 8 }], [], i);
    r.device.push(popOk(r.device).head, 100 + i);
    r.driver.getUsed();
  }
  assert.deepEqual(checked, [1, 2, 3, 4, 5, 6]);
});

Deno.test("G38 and G39: a device ignores WRITE on an indirect pointer and accepts direct descriptors followed by one indirect", () => {
  const r = rig({ size: 4, indirect: true });
  r.mem.write(
    TABLES,
    encodeTable("v1", [{ addr: DATA + PAGE, len: 64, flags: WRITE, next: 0 }]),
    "driver",
  );
  r.driver.addRaw(
    [
      { index: 2, addr: DATA, len: 16, flags: NEXT, next: 3 },
      { index: 3, addr: TABLES, len: DESC, flags: INDIRECT | WRITE, next: 0 },
    ],
    2,
    { token: 5 },
  );
  assert.equal(r.driver.numFree, 2);
  const c = popOk(r.device);
  assert.deepEqual(c.readable, [{ addr: DATA, len: 16 }]);
  assert.deepEqual(c.writable, [{ addr: DATA + PAGE, len: 64 }]);
  assert.equal(c.indirect, true);
  assert.equal(c.descriptors, 3);
  r.device.push(c.head, 64);
  assert.deepEqual(r.driver.getUsed(), { token: 5, len: 64, head: 2 });
  assert.equal(r.driver.numFree, 4);
});

// ---------------------------------------------------------------- sizes, wrap, byte orders

Deno.test("queues of every size from 1 to 32768 fill completely and return buffers in completion order", () => {
  for (let size = 1; size <= VIRTQ_MAX_SIZE; size *= 2) {
    const r = rig({ size, pages: 1024 });
    const seg = { addr: DATA, len: 8 };
    for (let t = 0; t < size; t++) r.driver.add([seg], [], t);
    assert.equal(r.driver.numFree, 0);
    assert.equal(errorOf(() => r.driver.add([seg], [], -1)).code, "queue-full");
    assert.equal(r.device.pending, size);
    const heads: number[] = [];
    for (let c = r.device.pop(); c !== undefined; c = r.device.pop()) heads.push(c.head);
    assert.equal(heads.length, size);
    for (const h of heads.toReversed()) r.device.push(h, 0);
    const tokens: number[] = [];
    for (let u = r.driver.getUsed(); u !== undefined; u = r.driver.getUsed()) tokens.push(u.token);
    assert.deepEqual(tokens, Array.from({ length: size }, (_, i) => size - 1 - i), `size ${size}`);
    assert.equal(r.driver.numFree, size);
  }
});

Deno.test("the queue size bounds a chain's indirect entries too (G36): a queue of 1 carries one segment", () => {
  const r = rig({ size: 1, indirect: true });
  const two = errorOf(() =>
    r.driver.add([{ addr: DATA, len: 4 }], [{ addr: DATA + PAGE, len: 4 }], 0, {
      indirectTable: TABLES,
    })
  );
  assert.equal(two.rule, "G36");
  for (let t = 0; t < 5; t++) {
    r.driver.add([], [{ addr: DATA + PAGE, len: 4 }], t, { indirectTable: TABLES });
    const c = popOk(r.device);
    assert.deepEqual([c.head, c.indirect, c.descriptors], [0, true, 2]);
    r.device.push(c.head, 0);
    assert.equal(r.driver.getUsed()?.token, t);
  }
});

Deno.test("indices wrap around 2^16 when both sides start at 65530", () => {
  const r = rig({ size: 4, startIdx: 65530, eventIdx: true });
  assert.equal(ringField(r, "avail", "idx"), 65530);
  const tokens: number[] = [];
  for (let t = 0; t < 20; t++) {
    r.driver.add([{ addr: DATA, len: 8 }], [], t);
    if (t % 2 === 1) {
      for (let c = r.device.pop(); c !== undefined; c = r.device.pop()) r.device.push(c.head, t);
      for (let u = r.driver.getUsed(); u !== undefined; u = r.driver.getUsed()) {
        tokens.push(u.token);
      }
    }
  }
  assert.deepEqual(tokens, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(r.driver.availIdx, (65530 + 20) % VIRTQ_IDX_MODULUS);
  assert.equal(ringField(r, "avail", "idx"), 14);
  assert.equal(ringField(r, "used", "idx"), 14);
  assert.equal(r.driver.numFree, 4);
});

Deno.test("more than 65536 buffers flow through a queue of 2", () => {
  const r = rig({ size: 2 });
  const n = VIRTQ_IDX_MODULUS + 100;
  for (let t = 0; t < n; t++) {
    r.driver.add([{ addr: DATA, len: 8 }], [], t);
    r.device.push(popOk(r.device).head, 0);
    assert.equal(r.driver.getUsed()?.token, t);
  }
  assert.equal(ringField(r, "avail", "idx"), 100);
  assert.equal(r.driver.numFree, 2);
});

Deno.test("the legacy layout with big-endian ring fields round-trips and stores the fields big-endian (G27)", () => {
  const r = rig({ order: "legacy-be", legacy: true, size: 16, eventIdx: true });
  assert.equal(r.layout.used % PAGE, 0);
  const head = r.driver.add([{ addr: 0x12_3456, len: 0x789 }], [], 1);
  const idx = fieldOf("virtq_avail_hdr", "idx").offset;
  assert.deepEqual([...r.mem.read(r.layout.avail + idx, 2)], [0, 1]);
  const addr = fieldOf("virtq_desc", "addr").offset;
  assert.deepEqual(
    [...r.mem.read(r.layout.desc + head * DESC + addr, 8)],
    [0, 0, 0, 0, 0, 0x12, 0x34, 0x56],
  );
  const c = popOk(r.device);
  assert.deepEqual(c.readable, [{ addr: 0x12_3456, len: 0x789 }]);
  r.device.push(c.head, 0x0102);
  const used = fieldOf("virtq_used_elem", "len").offset;
  assert.deepEqual([...r.mem.read(r.layout.used + USED_HDR + used, 4)], [0, 0, 1, 2]);
  assert.deepEqual(r.driver.getUsed(), { token: 1, len: 0x0102, head });
});

// ---------------------------------------------------------------- notifications

Deno.test("with EVENT_IDX and used_event = 0 the device notifies after the 1st buffer, then after the 65537th (G44)", () => {
  const r = rig({ size: 4, eventIdx: true });
  assert.equal(usedEvent(r), 0);
  r.driver.addRaw([{ index: 0, addr: DATA, len: 8, flags: 0, next: 0 }], 0);
  const notified: number[] = [];
  const n = VIRTQ_IDX_MODULUS + 2;
  for (let i = 1; i <= n; i++) {
    if (i > 1) r.driver.addRaw([], 0); // the driver never consumes used entries: used_event stays 0
    r.device.push(popOk(r.device).head, 0);
    if (r.device.needsNotify()) notified.push(i);
  }
  assert.deepEqual(notified, [1, VIRTQ_IDX_MODULUS + 1]);
  assert.equal(usedEvent(r), 0);
});

Deno.test("with EVENT_IDX the driver keeps used_event at the next entry, and disableCallbacks() suppresses notifications (G41, G44)", () => {
  const r = rig({ size: 8, eventIdx: true });
  const cycle = (t: number): boolean => {
    r.driver.add([{ addr: DATA, len: 8 }], [], t);
    r.device.push(popOk(r.device).head, 0);
    return r.device.needsNotify();
  };
  assert.equal(cycle(0), true);
  assert.equal(cycle(1), false, "used_event is still 0 until the driver takes the entry");
  r.driver.getUsed();
  r.driver.getUsed();
  assert.equal(usedEvent(r), 2);
  assert.equal(cycle(2), true);
  r.driver.getUsed();
  r.driver.disableCallbacks();
  assert.equal(ringField(r, "avail", "flags"), 0, "avail.flags stays 0 with EVENT_IDX");
  for (let t = 3; t < 40; t++) {
    assert.equal(cycle(t), false);
    r.driver.getUsed();
  }
  r.driver.enableCallbacks();
  assert.equal(cycle(40), true);
  assert.equal(ringField(r, "avail", "flags"), 0);
});

Deno.test("with EVENT_IDX the driver kicks only when the new entries pass avail_event, and used.flags stays 0 (G50, G51)", () => {
  const r = rig({ size: 8, eventIdx: true });
  const add = (t: number): void => void r.driver.add([{ addr: DATA, len: 8 }], [], t);
  add(0);
  add(1);
  assert.equal(r.driver.kickPrepare(), true, "avail_event 0 was passed");
  add(2);
  assert.equal(r.driver.kickPrepare(), false, "the device has not caught up");
  assert.equal(r.driver.kickPrepare(), false, "nothing new");
  while (r.device.pop() !== undefined) { /* drain */ }
  assert.equal(availEvent(r), 3);
  add(3);
  assert.equal(r.driver.kickPrepare(), true);
  popOk(r.device);
  r.device.setNoNotify(true);
  for (let t = 4; t < 30; t++) {
    add(t);
    assert.equal(r.driver.kickPrepare(), false);
    const c = popOk(r.device);
    r.device.push(c.head, 0);
    r.driver.getUsed();
  }
  assert.equal(ringField(r, "used", "flags"), 0);
  r.device.setNoNotify(false);
  add(30);
  assert.equal(r.driver.kickPrepare(), true);
});

Deno.test("without EVENT_IDX NO_INTERRUPT suppresses used-buffer notifications and NO_NOTIFY suppresses kicks (G43, G49)", () => {
  const r = rig({ size: 8, eventIdx: false });
  const add = (t: number): void => void r.driver.add([{ addr: DATA, len: 8 }], [], t);
  add(0);
  assert.equal(r.driver.kickPrepare(), true);
  assert.equal(r.driver.kickPrepare(), false, "nothing new");
  r.device.setNoNotify(true);
  assert.equal(ringField(r, "used", "flags"), NO_NOTIFY);
  add(1);
  assert.equal(r.driver.kickPrepare(), false);
  r.device.setNoNotify(false);
  add(2);
  assert.equal(r.driver.kickPrepare(), true);
  r.device.push(popOk(r.device).head, 0);
  assert.equal(r.device.needsNotify(), true);
  assert.equal(r.device.needsNotify(), false, "nothing new");
  r.driver.disableCallbacks();
  assert.equal(ringField(r, "avail", "flags"), NO_INTERRUPT);
  r.device.push(popOk(r.device).head, 0);
  assert.equal(r.device.needsNotify(), false);
  r.driver.enableCallbacks();
  assert.equal(ringField(r, "avail", "flags"), 0);
  r.device.push(popOk(r.device).head, 0);
  assert.equal(r.device.needsNotify(), true);
});

Deno.test("getUsed() rejects a used id that is not in flight, skips it, and goes on", () => {
  const r = rig({ size: 4 });
  r.driver.add([{ addr: DATA, len: 8 }], [], 1);
  const c = popOk(r.device);
  r.device.push(3, 0);
  r.device.push(c.head, 0);
  const e = errorOf(() => r.driver.getUsed());
  assert.equal(e.code, "bad-used-id");
  assert.equal(r.driver.getUsed()?.token, 1);
  assert.equal(r.driver.numFree, 4);
});

type Op =
  | { readonly kind: "add"; readonly out: number; readonly inn: number; readonly indirect: boolean }
  | { readonly kind: "pop" }
  | { readonly kind: "push"; readonly pick: number; readonly len: number }
  | { readonly kind: "get" }
  | { readonly kind: "kick" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      out: fc.integer({ min: 0, max: 3 }),
      inn: fc.integer({ min: 0, max: 3 }),
      indirect: fc.boolean(),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant("pop" as const) }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant("push" as const),
      pick: fc.nat(),
      len: fc.integer({ min: 0, max: 200 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant("get" as const) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("kick" as const) }), weight: 1 },
);

Deno.test("random interleavings keep completion order, bound numFree and leak no descriptors (property)", () => {
  const SEG = 64;
  fc.assert(
    fc.property(
      fc.constantFrom(1, 2, 4, 8, 16),
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom(...BYTE_ORDERS),
      fc.array(opArb, { maxLength: 300, size: "max" }),
      (size, eventIdx, indirect, order, ops) => {
        const r = rig({ size, eventIdx, indirect, order, pages: 2048 });
        let next = 0;
        const uses = new Map<number, number>(); // token -> ring descriptors it holds
        const sent = new Map<number, { data: Uint8Array; out: number; inn: number }>();
        const availQueue: number[] = []; // tokens added, not yet popped
        const tokenOfHead = new Map<number, number>();
        const popped: { token: number; chain: Chain }[] = [];
        const pushed: { token: number; len: number }[] = [];
        let got = 0;
        const inFlight = (): number => [...uses.values()].reduce((a, b) => a + b, 0);
        const pushOne = (pick: number, len: number): void => {
          const [p] = popped.splice(pick % popped.length, 1);
          if (p === undefined) return;
          const cap = p.chain.writable.reduce((n, s) => n + s.len, 0);
          const n = r.device.write(p.chain, new Uint8Array(Math.min(len, cap)).fill(p.token));
          r.device.push(p.chain.head, n);
          pushed.push({ token: p.token, len: n });
        };
        const getOne = (): boolean => {
          const u = r.driver.getUsed();
          if (u === undefined) {
            assert.equal(got, pushed.length);
            return false;
          }
          const want = pushed[got++];
          assert.deepEqual({ token: u.token, len: u.len }, want);
          uses.delete(u.token);
          return true;
        };
        for (const op of ops) {
          if (op.kind === "add") {
            const n = op.out + op.inn;
            if (n === 0) continue;
            const t = next++;
            const base = DATA + t * 8 * SEG;
            const out = Array.from(
              { length: op.out },
              (_, i) => ({ addr: base + i * SEG, len: SEG }),
            );
            const inn = Array.from(
              { length: op.inn },
              (_, i) => ({ addr: base + (4 + i) * SEG, len: SEG }),
            );
            const data = concat(out.map((s, i) => fill(r.mem, s, t + i)));
            const useTable = op.indirect && indirect;
            const need = useTable ? 1 : n;
            const free = r.driver.numFree;
            try {
              const head = r.driver.add(
                out,
                inn,
                t,
                useTable ? { indirectTable: TABLES + t * 8 * DESC } : {},
              );
              tokenOfHead.set(head, t);
              uses.set(t, need);
              sent.set(t, { data, out: op.out, inn: op.inn });
              availQueue.push(t);
            } catch (e) {
              if (!(e instanceof VirtqueueError)) throw e;
              assert.equal(e.rule, "G36");
              assert.ok(n > size || need > free, e.message);
              assert.equal(r.driver.numFree, free);
            }
          } else if (op.kind === "pop") {
            const c = r.device.pop();
            const t = availQueue.shift();
            if (t === undefined) {
              assert.equal(c, undefined);
              continue;
            }
            assert.ok(c !== undefined);
            assert.equal(tokenOfHead.get(c.head), t);
            const s = sent.get(t);
            assert.ok(s !== undefined);
            assert.equal(c.readable.length, s.out);
            assert.equal(c.writable.length, s.inn);
            assert.deepEqual(r.device.read(c), s.data);
            popped.push({ token: t, chain: c });
          } else if (op.kind === "push") {
            pushOne(op.pick, op.len);
          } else if (op.kind === "get") {
            getOne();
          } else {
            r.driver.kickPrepare();
          }
          assert.ok(r.driver.numFree >= 0 && r.driver.numFree <= size);
          assert.equal(r.driver.numFree + inFlight(), size, "descriptor accounting");
        }
        while (r.device.pop() !== undefined) { /* drain: checked above */ }
        for (const t of availQueue) {
          const head = [...tokenOfHead].find(([, v]) => v === t)?.[0];
          assert.ok(head !== undefined);
          r.device.push(head, 0);
          pushed.push({ token: t, len: 0 });
        }
        while (popped.length > 0) pushOne(0, 0);
        while (getOne()) { /* drain */ }
        assert.equal(got, pushed.length);
        assert.equal(r.driver.numFree, size, "no descriptor leaks");
      },
    ),
    { numRuns: 150 },
  );
});
