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
  NO_INTERRUPT,
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

// ---------------------------------------------------------------- evidence and audits

Deno.test("a chain error keeps the descriptors read on the way as evidence, the one at fault last", () => {
  const r = rig({ size: SIZE });
  r.driver.addRaw([raw(B, NEXT, B + 1), raw(B + 1, NEXT, B + 2), raw(B + 2, NEXT, B)], B);
  const e = errorOf(() => r.device.pop());
  assert.equal(e.rule, "G32");
  assert.deepEqual(e.seen?.map((s) => [s.struct, s.where, s.bad]), [
    ["virtq_desc", `desc[${B}]`, undefined],
    ["virtq_desc", `desc[${B + 1}]`, undefined],
    ["virtq_desc", `desc[${B + 2}]`, "next"],
  ]);
  const last = e.seen?.[2];
  assert.deepEqual(last?.bytes, r.mem.read(r.layout.desc + (B + 2) * DESC, DESC));
});

Deno.test("a chain error in an indirect table names the table's entries, and a long chain keeps its last 16", () => {
  const r = rig({ size: SIZE, indirect: true });
  r.mem.write(
    TABLES,
    encodeTable("v1", [
      { addr: DATA, len: 8, flags: NEXT, next: 1 },
      { addr: TABLES + DESC, len: DESC, flags: INDIRECT, next: 0 },
    ]),
    "driver",
  );
  r.driver.addRaw([raw(B, INDIRECT, 0, 2 * DESC, TABLES)], B);
  const nested = errorOf(() => r.device.pop());
  assert.equal(nested.rule, "G35");
  assert.deepEqual(nested.seen?.map((s) => [s.where, s.bad]), [
    [`desc[${B}]`, undefined],
    [`desc[${B}] table[0]`, undefined],
    [`desc[${B}] table[1]`, "flags"],
  ]);
  const long = rig({ size: 32, indirect: true });
  const entries = Array.from({ length: 33 }, (_, i) => ({
    addr: DATA,
    len: 8,
    flags: i < 32 ? NEXT : 0,
    next: i + 1,
  }));
  long.mem.write(TABLES, encodeTable("v1", entries), "driver");
  long.driver.addRaw([raw(0, INDIRECT, 0, 33 * DESC, TABLES)], 0);
  const tooLong = errorOf(() => long.device.pop());
  assert.equal(tooLong.rule, "G36");
  assert.equal(tooLong.seen?.length, 16);
  assert.equal(tooLong.seen?.[15]?.where, "desc[0] table[32]");
});

Deno.test("audit() finds an avail index that went back (G40), once per state, with the avail ring as read", () => {
  const r = rig({ size: SIZE });
  for (let i = 0; i < 3; i++) r.driver.add([{ addr: DATA, len: 8 }], [], i);
  for (let i = 0; i < 3; i++) popOk(r.device);
  assert.deepEqual(r.device.audit({ quiet: true }), []);
  const idx = fieldOf("virtq_avail_hdr", "idx");
  r.mem.writeUint(r.layout.avail + idx.offset, 2, 1, true, "driver");
  const [e, ...rest] = r.device.audit({ quiet: true });
  assert.deepEqual(rest, []);
  assert.equal(e?.rule, "G40");
  assert.equal(
    e?.message,
    "Cannot audit the available ring on queue 0: avail.idx is 1, expected 3 to 11 (from the index the device has read to the queue size ahead of it) (rule G40)",
  );
  assert.deepEqual(e?.seen?.map((s) => [s.struct, s.bad]), [["virtq_avail_hdr", "idx"]]);
  assert.deepEqual(r.device.audit({ quiet: true }), [], "the same state is reported once");
  // the pop that finds the same state reports it, and the audit after it does not again
  r.mem.writeUint(r.layout.avail + idx.offset, 2, 2, true, "driver");
  assert.equal(errorOf(() => r.device.pop()).rule, "G40");
  assert.deepEqual(r.device.audit({ quiet: true }), []);
});

Deno.test("audit() holds avail.flags to the table's flags without EVENT_IDX and to 0 with it (G41a)", () => {
  const flags = fieldOf("virtq_avail_hdr", "flags");
  const set = (r: ReturnType<typeof rig>, v: number) =>
    r.mem.writeUint(r.layout.avail + flags.offset, 2, v, true, "driver");
  const plain = rig({ size: SIZE });
  set(plain, NO_INTERRUPT);
  assert.deepEqual(plain.device.audit({ quiet: true }), [], "NO_INTERRUPT is allowed");
  set(plain, 0x8001);
  const [bad] = plain.device.audit({ quiet: true });
  assert.equal(
    bad?.message,
    "Cannot audit the available ring on queue 0: avail.flags is 0x8001, expected a combination of VIRTQ_AVAIL_F_NO_INTERRUPT (rule G41a)",
  );
  const event = rig({ size: SIZE, eventIdx: true });
  set(event, NO_INTERRUPT);
  const [withEvent] = event.device.audit({ quiet: true });
  assert.equal(withEvent?.rule, "G41a");
  assert.match(withEvent?.message ?? "", /avail\.flags is 0x1, expected 0, as VIRTIO_F_EVENT_IDX/);
});

Deno.test("audit() finds entries made available after the last notification while used.flags is 0 (G49a), only when quiet", () => {
  const r = rig({ size: SIZE });
  r.driver.add([{ addr: DATA, len: 8 }], [], 1);
  r.device.notified();
  popOk(r.device);
  r.driver.add([{ addr: DATA, len: 8 }], [], 2);
  assert.deepEqual(r.device.audit({ quiet: false }), [], "a driver still running may notify yet");
  const [e] = r.device.audit({ quiet: true });
  assert.equal(e?.rule, "G49a");
  assert.equal(
    e?.message,
    "Cannot audit the available ring on queue 0: avail.idx is 2, 1 entry made available since the last notification (avail.idx 1 then), expected a notification, as used.flags is 0x0 (no VIRTQ_USED_F_NO_NOTIFY) (rule G49a)",
  );
  assert.deepEqual(e?.seen?.map((s) => s.struct), ["virtq_avail_hdr", "virtq_used_hdr"]);
  // a notification the device could not act on (before DRIVER_OK, say) still counts
  r.device.notified();
  assert.deepEqual(r.device.audit({ quiet: true }), []);
  // with NO_NOTIFY the driver need not notify
  r.device.setNoNotify(true);
  r.driver.add([{ addr: DATA, len: 8 }], [], 3);
  assert.deepEqual(r.device.audit({ quiet: true }), []);
});

Deno.test("with EVENT_IDX audit() finds an entry placed at avail_event and never notified (G50a), not one past a suppressed avail_event", () => {
  const r = rig({ size: SIZE, eventIdx: true });
  r.driver.add([{ addr: DATA, len: 8 }], [], 1);
  assert.equal(r.driver.kickPrepare(), true);
  r.device.notified();
  popOk(r.device);
  r.driver.add([{ addr: DATA, len: 8 }], [], 2);
  const [e] = r.device.audit({ quiet: true });
  assert.equal(e?.rule, "G50a");
  assert.match(
    e?.message ?? "",
    /1 entry made available since the last notification \(avail\.idx 1 then\), expected a notification, as one of them is at avail_event 1 \(rule G50a\)$/,
  );
  const quiet = rig({ size: SIZE, eventIdx: true });
  quiet.device.setNoNotify(true);
  quiet.driver.add([{ addr: DATA, len: 8 }], [], 1);
  assert.equal(quiet.driver.kickPrepare(), false);
  assert.deepEqual(quiet.device.audit({ quiet: true }), []);
});
