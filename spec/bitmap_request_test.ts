import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BMAP_HDR_SIZE,
  concatChain,
  decodeBitmapRequest,
  encodeBitmapRequest,
} from "./bitmap_request.ts";
import { encodeBitmapHeader } from "./codec.ts";
import { BALLOON_BMAP_SIZE, PFNS_PER_BMAP } from "./constants.ts";
import { ProtocolError } from "./errors.ts";
import { PageSet } from "./page_set.ts";
import { BITMAP_LAYOUTS } from "./payloads.ts";
import { BYTE_ORDERS } from "./wire.ts";

function errorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  assert.fail("expected a ProtocolError");
}

Deno.test("encodeBitmapRequest() chunks the bitmap by BALLOON_BMAP_SIZE", () => {
  const pages = new PageSet();
  pages.addRange(0, PFNS_PER_BMAP + 64);
  const chain = encodeBitmapRequest({
    pages,
    startPfn: 0,
    bmapLen: (PFNS_PER_BMAP + 64) / 8,
    order: "v1",
  });
  assert.deepEqual(chain.map((c) => c.length), [BMAP_HDR_SIZE, BALLOON_BMAP_SIZE, 8]);
});

Deno.test("bitmap requests round-trip arbitrary page sets in every byte order and layout (property)", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 3 * PFNS_PER_BMAP }), { maxLength: 100 }),
      fc.constantFrom(...BYTE_ORDERS),
      fc.constantFrom(...BITMAP_LAYOUTS),
      (pfns, order, layout) => {
        const pages = PageSet.of(pfns);
        const start = Math.floor((pages.min() ?? 0) / 64) * 64;
        const end = Math.ceil(((pages.max() ?? 0) + 1) / 64) * 64;
        const bmapLen = (end - start) / 8;
        const chain = encodeBitmapRequest({ pages, startPfn: start, bmapLen, order, layout });
        const back = decodeBitmapRequest(concatChain(chain), { order, context: "inflate", layout });
        assert.ok(back.pages.equals(pages));
        assert.equal(back.header.start_pfn, BigInt(start));
        assert.equal(back.trailingBytes, 0);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("decodeBitmapRequest() rejects a header-only chain that claims a bitmap (D-01)", () => {
  const hdr = encodeBitmapHeader({
    cmd: 0,
    page_shift: 12,
    flag: 0,
    reserved: 0,
    req_id: 0n,
    start_pfn: 4096n,
    bmap_len: 32n,
  }, "v1");
  const e = errorOf(() => decodeBitmapRequest(hdr, { order: "v1", context: "inflate" }));
  assert.equal(e.code, "length-mismatch");
  assert.equal(e.field, "bmap_len");
  assert.equal(e.offset, 24);
  assert.equal(e.rule, "R-16");
  assert.match(e.message, /bmap_len at byte 24 is 32, expected at most 0, the bytes that follow/);
});

Deno.test("decodeBitmapRequest() rejects a chain shorter than the header", () => {
  const e = errorOf(() =>
    decodeBitmapRequest(new Uint8Array(31), { order: "v1", context: "deflate" })
  );
  assert.equal(e.code, "short-buffer");
  assert.equal(e.field, "bmap_len");
});

Deno.test("decodeBitmapRequest() rejects bmap_len that overflows the PFN space", () => {
  const stream = concatChain([
    encodeBitmapHeader({
      cmd: 0,
      page_shift: 12,
      flag: 0,
      reserved: 0,
      req_id: 0n,
      start_pfn: 2n ** 63n,
      bmap_len: 8n,
    }, "v1"),
    new Uint8Array(8),
  ]);
  const e = errorOf(() => decodeBitmapRequest(stream, { order: "v1", context: "inflate" }));
  assert.equal(e.field, "start_pfn");
  assert.equal(e.code, "out-of-range");
});

Deno.test("decodeBitmapRequest() rejects start_pfn and bits beyond guest RAM (S-02)", () => {
  const guestPfns = 8192;
  const beyond = encodeBitmapRequest({
    pages: PageSet.of([8192]),
    startPfn: 8192,
    bmapLen: 8,
    order: "v1",
  });
  const e = errorOf(() =>
    decodeBitmapRequest(concatChain(beyond), { order: "v1", context: "inflate", guestPfns })
  );
  assert.equal(e.field, "start_pfn");
  assert.equal(e.rule, "S-02");
  const straddle = encodeBitmapRequest({
    pages: PageSet.of([8100, 8200]),
    startPfn: 8064,
    bmapLen: 24,
    order: "v1",
  });
  const e2 = errorOf(() =>
    decodeBitmapRequest(concatChain(straddle), { order: "v1", context: "inflate", guestPfns })
  );
  assert.equal(e2.struct, "bitmap");
  assert.equal(e2.field, "bit 136 (PFN 8200)");
  assert.equal(e2.offset, BMAP_HDR_SIZE + 17);
});

Deno.test("decodeBitmapRequest() reports trailing bytes without failing", () => {
  const chain = encodeBitmapRequest({
    pages: PageSet.of([64]),
    startPfn: 64,
    bmapLen: 8,
    order: "v1",
  });
  const r = decodeBitmapRequest(concatChain([...chain, new Uint8Array(5)]), {
    order: "v1",
    context: "inflate",
  });
  assert.equal(r.trailingBytes, 5);
  assert.deepEqual([...r.pages], [64]);
});
