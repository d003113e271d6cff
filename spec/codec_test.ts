import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeBitmapHeader,
  decodeConfig,
  decodeRequestHeader,
  decodeStats,
  decodeStruct,
  encodeConfig,
  encodeStats,
  encodeStruct,
  type FieldValue,
  validateStruct,
} from "./codec.ts";
import { ProtocolError } from "./errors.ts";
import {
  type FieldDef,
  fieldOf,
  fieldsOf,
  type StructName,
  STRUCTS,
  structSize,
} from "./structs.ts";
import { BYTE_ORDERS, isLittleEndian, wireMax, wireSize } from "./wire.ts";

const STRUCT_NAMES = Object.keys(STRUCTS) as StructName[];

function fieldArb(f: FieldDef): fc.Arbitrary<FieldValue> {
  const elem: fc.Arbitrary<number | bigint> = wireSize(f.type) === 8
    ? fc.bigInt({ min: 0n, max: wireMax(f.type) })
    : fc.integer({ min: 0, max: Number(wireMax(f.type)) });
  return f.count === undefined ? elem : fc.array(elem, { minLength: f.count, maxLength: f.count });
}

function structArb(name: StructName): fc.Arbitrary<Record<string, FieldValue>> {
  const rec: Record<string, fc.Arbitrary<FieldValue>> = {};
  for (const f of fieldsOf(name)) rec[f.name] = fieldArb(f);
  return fc.record(rec);
}

Deno.test("every field of every struct round-trips in every byte order (property)", () => {
  for (const name of STRUCT_NAMES) {
    for (const order of BYTE_ORDERS) {
      fc.assert(
        fc.property(structArb(name), (values) => {
          const bytes = encodeStruct(name, values, { order });
          assert.equal(bytes.length, structSize(name));
          assert.deepEqual(decodeStruct(name, bytes, { order, raw: true }), { ...values });
        }),
        { numRuns: 50 },
      );
    }
  }
});

Deno.test("each field lands at its table offset in its table byte order", () => {
  for (const name of STRUCT_NAMES) {
    for (const order of BYTE_ORDERS) {
      for (const f of fieldsOf(name)) {
        const values: Record<string, FieldValue> = {};
        for (const g of fieldsOf(name)) {
          values[g.name] = g.count === undefined
            ? (wireSize(g.type) === 8 ? 0n : 0)
            : new Array(g.count).fill(0);
        }
        const one = wireSize(f.type) === 8 ? 1n : 1;
        values[f.name] = f.count === undefined ? one : new Array(f.count).fill(one);
        const bytes = encodeStruct(name, values, { order });
        const size = wireSize(f.type);
        const lsb = isLittleEndian(f.type, order) ? f.offset : f.offset + size - 1;
        assert.equal(bytes[lsb], 1, `${name}.${f.name} ${order}`);
        assert.equal(bytes.reduce((a, b) => a + b, 0), f.count ?? 1, `${name}.${f.name} ${order}`);
      }
    }
  }
});

Deno.test("struct layouts are packed: fields are contiguous and do not overlap", () => {
  for (const name of STRUCT_NAMES) {
    let next = 0;
    for (const f of STRUCTS[name].fields) {
      assert.equal(f.offset, next, `${name}.${f.name} offset`);
      next = f.offset + wireSize(f.type) * (f.count ?? 1);
    }
  }
  assert.equal(structSize("balloon_bmap_hdr"), 32);
  assert.equal(structSize("balloon_req_hdr"), 16);
  assert.equal(structSize("virtio_balloon_stat"), 10);
  assert.equal(structSize("virtq_desc"), 16);
});

Deno.test("config space is little-endian in every byte order (B07)", () => {
  for (const order of BYTE_ORDERS) {
    const b = encodeStruct("virtio_balloon_config", { num_pages: 0x01020304, actual: 5 }, {
      order,
      profile: "v3",
    });
    assert.deepEqual([...b], [4, 3, 2, 1, 5, 0, 0, 0]);
  }
  const c = encodeConfig({ num_pages: 7, actual: 3, poison_val: 0xaa }, "virtio-1.x");
  assert.equal(c.length, 16);
  assert.deepEqual(decodeConfig(c, "virtio-1.x"), {
    num_pages: 7,
    actual: 3,
    free_page_hint_cmd_id: 0,
    poison_val: 0xaa,
  });
  assert.deepEqual(decodeConfig(c.subarray(0, 8), "v3"), { num_pages: 7, actual: 3 });
});

Deno.test("encodeStruct() rejects missing fields, wrong counts and values that do not fit", () => {
  assert.throws(
    () => encodeStruct("virtio_balloon_config", { num_pages: 1 }, { order: "v1", profile: "v3" }),
    /field actual is missing/,
  );
  assert.throws(
    () => encodeStruct("balloon_req_hdr", { cmd: 0, reserved: [0], param: 0n }, { order: "v1" }),
    /field reserved has 1 elements, expected 3/,
  );
  assert.throws(
    () => encodeStruct("virtio_balloon_stat", { tag: 70000, val: 0n }, { order: "v1" }),
    /field tag virtio16: 70000 is outside 0..65535/,
  );
});

function errorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  assert.fail("expected a ProtocolError");
}

const GOOD_HDR = {
  cmd: 0,
  page_shift: 12,
  flag: 0,
  reserved: 0,
  req_id: 0n,
  start_pfn: 4096n,
  bmap_len: 32n,
};

Deno.test("decodeBitmapHeader() rejects a short buffer naming the first missing field", () => {
  const bytes = encodeStruct("balloon_bmap_hdr", GOOD_HDR, { order: "v1" }).subarray(0, 20);
  const e = errorOf(() => decodeBitmapHeader(bytes, { order: "v1", context: "inflate" }));
  assert.equal(e.code, "short-buffer");
  assert.equal(e.field, "start_pfn");
  assert.equal(e.offset, 16);
  assert.equal(e.rule, "R-16");
  assert.match(e.message, /cut off after 20 bytes, expected at least 32 bytes/);
});

Deno.test("decodeBitmapHeader() applies the checks of the struct's use", () => {
  const cases: [Partial<typeof GOOD_HDR>, "inflate" | "misc-reply", string, number, string][] = [
    [{ page_shift: 16 }, "inflate", "page_shift", 2, "R-15"],
    [{ page_shift: 0 }, "misc-reply", "page_shift", 2, "R-18"],
    [{ flag: 1 }, "inflate", "flag", 4, "R-15"],
    [{ flag: 2 }, "misc-reply", "flag", 4, "R-18"],
    [{ reserved: 1 }, "inflate", "reserved", 6, "R-15"],
    [{ req_id: 7n }, "inflate", "req_id", 8, "R-15"],
    [{ cmd: 3 }, "inflate", "cmd", 0, "R-15"],
    [{ cmd: 3 }, "misc-reply", "cmd", 0, "R-18"],
    [{ start_pfn: 4100n }, "inflate", "start_pfn", 16, "R-15"],
    [{ bmap_len: 12n }, "inflate", "bmap_len", 24, "R-15"],
    [{ bmap_len: 2n ** 21n }, "inflate", "bmap_len", 24, "R-16"],
  ];
  for (const [patch, context, field, offset, rule] of cases) {
    for (const order of BYTE_ORDERS) {
      const bytes = encodeStruct("balloon_bmap_hdr", { ...GOOD_HDR, ...patch }, { order });
      const e = errorOf(() => decodeBitmapHeader(bytes, { order, context }));
      assert.equal(e.field, field);
      assert.equal(e.offset, offset);
      assert.equal(e.rule, rule);
      assert.equal(e.code, "illegal-value");
    }
  }
  // legal on a misc reply: flag DONE with an echoed req_id
  const misc = encodeStruct("balloon_bmap_hdr", {
    ...GOOD_HDR,
    flag: 1,
    req_id: 7n,
    start_pfn: 262144n,
  }, { order: "v1" });
  assert.equal(decodeBitmapHeader(misc, { order: "v1", context: "misc-reply" }).req_id, 7n);
});

Deno.test("decodeRequestHeader() rejects unknown commands and non-zero reserved fields", () => {
  const ok = encodeStruct("balloon_req_hdr", { cmd: 0, reserved: [0, 0, 0], param: 9n }, {
    order: "legacy-be",
  });
  assert.equal(decodeRequestHeader(ok, { order: "legacy-be" }).param, 9n);
  const bad = encodeStruct("balloon_req_hdr", { cmd: 1, reserved: [0, 0, 0], param: 9n }, {
    order: "v1",
  });
  const e = errorOf(() => decodeRequestHeader(bad, { order: "v1" }));
  assert.equal(e.field, "cmd");
  assert.equal(e.rule, "R-17a");
  const res = encodeStruct("balloon_req_hdr", { cmd: 0, reserved: [0, 5, 0], param: 9n }, {
    order: "v1",
  });
  const e2 = errorOf(() => decodeRequestHeader(res, { order: "v1" }));
  assert.equal(e2.field, "reserved[1]");
  assert.equal(e2.offset, 4);
});

Deno.test("stats buffers round-trip and must hold whole 10-byte entries (B29)", () => {
  const entries = [{ tag: 4, val: 123456789n }, { tag: 65535, val: 1n }];
  for (const order of BYTE_ORDERS) {
    assert.deepEqual(decodeStats(encodeStats(entries, order), order), entries);
  }
  const e = errorOf(() => decodeStats(new Uint8Array(12), "v1"));
  assert.equal(e.code, "length-mismatch");
  assert.equal(e.rule, "B29");
});

Deno.test("validateStruct() lists every broken check", () => {
  const v = validateStruct("balloon_bmap_hdr", { ...GOOD_HDR, flag: 1, reserved: 2 }, "inflate");
  assert.deepEqual(v.map((x) => `${x.field}:${x.rule}`), ["flag:R-15", "reserved:R-15"]);
  assert.equal(fieldOf("balloon_bmap_hdr", "bmap_len").offset, 24);
});
