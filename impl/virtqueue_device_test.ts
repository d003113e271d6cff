import assert from "node:assert/strict";
import fc from "fast-check";
import { BYTE_ORDERS, fieldOf, VIRTQ_IDX_MODULUS } from "../spec/mod.ts";

import { type RawDescriptor, VirtqueueError } from "./virtqueue.ts";
import {
  DATA,
  DESC,
  encodeTable,
  errorOf,
  INDIRECT,
  NEXT,
  PAGE,
  popOk,
  type Rig,
  rig,
  type RigOptions,
  TABLES,
  WRITE,
} from "./_virtqueue_rig.ts";

// ---------------------------------------------------------------- illegal chains

interface BadChain {
  readonly name: string;
  readonly code: VirtqueueError["code"];
  readonly rule: string | undefined;
  readonly options?: RigOptions;
  /** Writes the bad chain (as a deliberately broken driver) and returns the expected error head. */
  readonly build: (r: Rig) => number | undefined;
}

const SIZE = 8;
/** Raw chains use descriptors from B up, which the good chains around them (from 0 up) never take. */
const B = 4;
function raw(index: number, flags: number, next: number, len = 8, addr = DATA): RawDescriptor {
  return { index, addr, len, flags, next };
}

const BAD_CHAINS: readonly BadChain[] = [
  {
    name: "a chain longer than the queue size (an indirect table of size + 1 entries)",
    code: "chain-too-long",
    rule: "G36",
    build: (r) => {
      const entries = Array.from({ length: SIZE + 1 }, (_, i) => ({
        addr: DATA,
        len: 8,
        flags: i < SIZE ? NEXT : 0,
        next: i + 1,
      }));
      r.mem.write(TABLES, encodeTable("v1", entries), "driver");
      r.driver.addRaw([raw(B, INDIRECT, 0, (SIZE + 1) * DESC, TABLES)], B);
      return B;
    },
  },
  {
    name: "a chain longer than the device's maxChainLength",
    code: "chain-too-long",
    rule: "G28b",
    options: { maxChainLength: 2 },
    build: (r) => {
      r.driver.addRaw([raw(B, NEXT, B + 1), raw(B + 1, NEXT, B + 2), raw(B + 2, 0, 0)], B);
      return B;
    },
  },
  {
    name: "a descriptor loop",
    code: "loop",
    rule: "G32",
    build: (r) => {
      r.driver.addRaw([raw(B, NEXT, B + 1), raw(B + 1, NEXT, B + 2), raw(B + 2, NEXT, B)], B);
      return B;
    },
  },
  {
    name: "a loop inside an indirect table",
    code: "loop",
    rule: "G32",
    build: (r) => {
      const entries = [{ addr: DATA, len: 8, flags: NEXT, next: 1 }, {
        addr: DATA,
        len: 8,
        flags: NEXT,
        next: 0,
      }];
      r.mem.write(TABLES, encodeTable("v1", entries), "driver");
      r.driver.addRaw([raw(B + 3, INDIRECT, 0, 2 * DESC, TABLES)], B + 3);
      return B + 3;
    },
  },
  {
    name: "INDIRECT together with NEXT",
    code: "indirect-with-next",
    rule: "G37",
    build: (r) => {
      r.mem.write(TABLES, encodeTable("v1", [{ addr: DATA, len: 8, flags: 0, next: 0 }]), "driver");
      r.driver.addRaw([raw(B, INDIRECT | NEXT, B + 1, DESC, TABLES), raw(B + 1, 0, 0)], B);
      return B;
    },
  },
  {
    name: "a device-readable descriptor after a device-writable one",
    code: "write-before-read",
    rule: "G29",
    build: (r) => {
      r.driver.addRaw([raw(B, NEXT | WRITE, B + 1), raw(B + 1, 0, 0)], B);
      return B;
    },
  },
  {
    name: "a writable direct descriptor followed by a readable indirect entry",
    code: "write-before-read",
    rule: "G29",
    build: (r) => {
      r.mem.write(TABLES, encodeTable("v1", [{ addr: DATA, len: 8, flags: 0, next: 0 }]), "driver");
      r.driver.addRaw([raw(B, NEXT | WRITE, B + 1), raw(B + 1, INDIRECT, 0, DESC, TABLES)], B);
      return B;
    },
  },
  {
    name: "INDIRECT inside an indirect table",
    code: "nested-indirect",
    rule: "G35",
    build: (r) => {
      const entries = [{ addr: DATA, len: 8, flags: NEXT, next: 1 }, {
        addr: TABLES,
        len: DESC,
        flags: INDIRECT,
        next: 0,
      }];
      r.mem.write(TABLES, encodeTable("v1", entries), "driver");
      r.driver.addRaw([raw(B, INDIRECT, 0, 2 * DESC, TABLES)], B);
      return B;
    },
  },
  {
    name: "INDIRECT without VIRTIO_F_INDIRECT_DESC",
    code: "indirect-not-negotiated",
    rule: "G34",
    options: { indirect: false },
    build: (r) => {
      r.mem.write(TABLES, encodeTable("v1", [{ addr: DATA, len: 8, flags: 0, next: 0 }]), "driver");
      r.driver.addRaw([raw(B, INDIRECT, 0, DESC, TABLES)], B);
      return B;
    },
  },
  {
    name: "an indirect table whose length is not a multiple of the descriptor size",
    code: "bad-indirect-length",
    rule: undefined,
    build: (r) => {
      r.driver.addRaw([raw(B, INDIRECT, 0, DESC + 1, TABLES)], B);
      return B;
    },
  },
  {
    name: "an empty indirect table",
    code: "bad-indirect-length",
    rule: undefined,
    build: (r) => {
      r.driver.addRaw([raw(B, INDIRECT, 0, 0, TABLES)], B);
      return B;
    },
  },
  {
    name: "a next index outside the descriptor table",
    code: "index-out-of-range",
    rule: undefined,
    build: (r) => {
      r.driver.addRaw([raw(B, NEXT, SIZE)], B);
      return B;
    },
  },
  {
    name: "a head index outside the descriptor table",
    code: "index-out-of-range",
    rule: undefined,
    build: (r) => {
      r.driver.addRaw([], 0xffff);
      return undefined;
    },
  },
  {
    name: "a next index past the end of an indirect table",
    code: "index-out-of-range",
    rule: undefined,
    build: (r) => {
      r.mem.write(
        TABLES,
        encodeTable("v1", [{ addr: DATA, len: 8, flags: NEXT, next: 1 }]),
        "driver",
      );
      r.driver.addRaw([raw(B, INDIRECT, 0, DESC, TABLES)], B);
      return B;
    },
  },
  {
    name: "a buffer outside guest RAM",
    code: "outside-ram",
    rule: undefined,
    build: (r) => {
      r.driver.addRaw([raw(B, NEXT, B + 1), raw(B + 1, WRITE, 0, 16, r.mem.bytes - 8)], B);
      return B;
    },
  },
  {
    name: "an indirect table outside guest RAM",
    code: "outside-ram",
    rule: undefined,
    build: (r) => {
      r.driver.addRaw([raw(B, INDIRECT, 0, DESC, 2 ** 52)], B);
      return B;
    },
  },
];

for (const bad of BAD_CHAINS) {
  Deno.test(`pop() rejects ${bad.name} (${bad.rule ?? "no rule"}) and the next chain pops fine`, () => {
    const r = rig({ size: SIZE, indirect: true, ...bad.options });
    r.driver.add([{ addr: DATA, len: 8 }], [], 100); // a good chain before the bad one
    const head = bad.build(r);
    r.driver.add([{ addr: DATA, len: 8 }], [{ addr: DATA + PAGE, len: 8 }], 200);
    const before = popOk(r.device);
    assert.equal(r.device.pending, 2);
    const e = errorOf(() => r.device.pop());
    assert.equal(e.code, bad.code, e.message);
    assert.equal(e.rule, bad.rule, e.message);
    assert.equal(e.queue, 0);
    assert.equal(e.head, head);
    assert.match(e.message, /^Cannot pop a chain on queue 0: .* is .*, expected [^.]*$/);
    assert.equal(r.device.pending, 1, "the bad chain was consumed");
    const after = popOk(r.device);
    assert.equal(after.writable.length, 1);
    assert.equal(r.device.pop(), undefined);
    r.device.push(before.head, 0);
    r.device.push(after.head, 0);
    assert.equal(r.driver.getUsed()?.token, 100);
    assert.equal(r.driver.getUsed()?.token, 200);
  });
}

Deno.test("a VirtqueueError names the descriptor, field, value, expectation and rule", () => {
  const r = rig({ size: SIZE });
  r.driver.addRaw([raw(2, INDIRECT | NEXT, 3, DESC, TABLES)], 2);
  const e = errorOf(() => r.device.pop());
  assert.equal(
    e.message,
    "Cannot pop a chain on queue 0: chain at head 2, descriptor 2: flags is 0x5 (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT), expected VIRTQ_DESC_F_INDIRECT without VIRTQ_DESC_F_NEXT (rule G37)",
  );
  assert.ok(e instanceof RangeError);
  assert.deepEqual(e.toJSON(), {
    code: "indirect-with-next",
    action: "pop a chain",
    queue: 0,
    head: 2,
    descriptor: 2,
    field: "flags",
    value: "0x5 (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT)",
    expected: "VIRTQ_DESC_F_INDIRECT without VIRTQ_DESC_F_NEXT",
    rule: "G37",
  });
});

Deno.test("pop() refuses an avail index more than the queue size ahead, citing G40 when it went backwards", () => {
  const r = rig({ size: SIZE });
  const idx = fieldOf("virtq_avail_hdr", "idx");
  r.mem.writeUint(r.layout.avail + idx.offset, 2, SIZE + 1, true, "driver");
  const ahead = errorOf(() => r.device.pop());
  assert.equal(ahead.code, "bad-avail-idx");
  assert.equal(ahead.rule, undefined);
  r.mem.writeUint(r.layout.avail + idx.offset, 2, VIRTQ_IDX_MODULUS - 1, true, "driver");
  assert.equal(errorOf(() => r.device.pop()).rule, "G40");
});

// ---------------------------------------------------------------- properties

Deno.test("pop() terminates with a chain or a VirtqueueError on arbitrary descriptor tables (property)", () => {
  const desc = (size: number) =>
    fc.record({
      addr: fc.constantFrom(DATA, TABLES, 0, 2 ** 40),
      len: fc.constantFrom(0, 8, DESC, 2 * DESC, 3 * DESC, 17, 2 ** 32 - 1),
      flags: fc.integer({ min: 0, max: NEXT | WRITE | INDIRECT }),
      next: fc.integer({ min: 0, max: size + 1 }),
    });
  const scenario = fc.constantFrom(1, 2, 4, 8).chain((size) =>
    fc.record({
      size: fc.constant(size),
      indirect: fc.boolean(),
      order: fc.constantFrom(...BYTE_ORDERS),
      table: fc.array(desc(size), { minLength: size, maxLength: size }),
      inner: fc.array(desc(4), { minLength: 4, maxLength: 4 }),
      heads: fc.array(fc.integer({ min: 0, max: size }), { minLength: 1, maxLength: 6 }),
    })
  );
  fc.assert(
    fc.property(scenario, ({ size, indirect, order, table, inner, heads }) => {
      const r = rig({ size, indirect, order, pages: 2048 });
      r.mem.write(TABLES, encodeTable(order, inner), "driver");
      r.driver.addRaw(table.map((d, index) => ({ ...d, index })), heads[0] ?? 0);
      for (const [i, h] of heads.entries()) {
        if (i > 0) r.driver.addRaw([], h);
        assert.equal(r.device.pending, 1);
        try {
          const c = r.device.pop();
          assert.ok(c !== undefined);
          assert.ok(c.readable.length + c.writable.length <= size);
        } catch (e) {
          if (!(e instanceof VirtqueueError)) throw e;
        }
        assert.equal(r.device.pending, 0);
      }
    }),
    { numRuns: 300 },
  );
});
