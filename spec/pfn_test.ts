import assert from "node:assert/strict";
import fc from "fast-check";
import { VIRTIO_BALLOON_ARRAY_PFNS_MAX } from "./constants.ts";
import { ProtocolError } from "./errors.ts";
import { decodePfnArray, encodePfnArray } from "./pfn.ts";
import { BYTE_ORDERS } from "./wire.ts";

Deno.test("PFN arrays round-trip arbitrary PFNs in every byte order (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 300 }),
      fc.constantFrom(...BYTE_ORDERS),
      (pfns, order) => {
        assert.deepEqual(decodePfnArray(encodePfnArray(pfns, order), { order }), pfns);
      },
    ),
  );
});

Deno.test("decodePfnArray() rejects a length that is not whole entries (S-01)", () => {
  try {
    decodePfnArray(new Uint8Array(10), { order: "v1" });
    assert.fail("no error");
  } catch (e) {
    assert.ok(e instanceof ProtocolError);
    assert.equal(e.code, "length-mismatch");
    assert.equal(e.rule, "S-01");
    assert.equal(e.offset, 8);
    assert.match(e.message, /buffer length at byte 8 is 10 bytes, expected a multiple of 4 bytes/);
  }
});

Deno.test("decodePfnArray() rejects PFNs beyond guest RAM (S-02) and long arrays when asked (R-07)", () => {
  const bytes = encodePfnArray([1, 2, 5000], "v1");
  assert.throws(
    () => decodePfnArray(bytes, { order: "v1", guestPfns: 4096 }),
    (e: unknown) => e instanceof ProtocolError && e.field === "pfns[2]" && e.rule === "S-02",
  );
  const long = encodePfnArray(new Array(VIRTIO_BALLOON_ARRAY_PFNS_MAX + 1).fill(1), "v1");
  assert.equal(decodePfnArray(long, { order: "v1" }).length, VIRTIO_BALLOON_ARRAY_PFNS_MAX + 1);
  assert.throws(
    () => decodePfnArray(long, { order: "v1", enforceMaxEntries: true }),
    (e: unknown) => e instanceof ProtocolError && e.rule === "R-07",
  );
});

Deno.test("encodePfnArray() refuses PFNs that do not fit 32 bits", () => {
  assert.throws(() => encodePfnArray([2 ** 32], "v1"), /pfns\[0\] is 4294967296/);
});
