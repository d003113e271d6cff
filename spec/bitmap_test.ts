import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeBitmap, encodeBitmap } from "./bitmap.ts";
import { PageSet } from "./page_set.ts";
import {
  asPostedBitmapLayout,
  BITMAP_LAYOUTS,
  bitPosition,
  INTENDED_BITMAP_LAYOUT,
} from "./payloads.ts";

Deno.test("encodeBitmap() sets bit j at byte j/8, bit j%8 in the intended layout", () => {
  const bytes = encodeBitmap(PageSet.of([64, 65, 72, 127]), 64, 8);
  assert.deepEqual([...bytes], [0b11, 1, 0, 0, 0, 0, 0, 0x80]);
});

Deno.test("a big-endian 64-bit guest puts PFN start+0 in byte 7 (D-13)", () => {
  const be = asPostedBitmapLayout(64, "be");
  const bytes = encodeBitmap(PageSet.of([4096]), 4096, 8, be);
  assert.deepEqual([...bytes], [0, 0, 0, 0, 0, 0, 0, 1]);
  // read with the intended layout, the device sees PFN start+56 instead
  assert.deepEqual([...decodeBitmap(bytes, 4096)], [4096 + 56]);
  assert.deepEqual([...decodeBitmap(bytes, 4096, be)], [4096]);
});

Deno.test("little-endian guests of either word size match the intended layout", () => {
  const pages = PageSet.of([0, 31, 32, 63, 64, 100]);
  const want = encodeBitmap(pages, 0, 16);
  for (const l of [asPostedBitmapLayout(64, "le"), asPostedBitmapLayout(32, "le")]) {
    assert.deepEqual(encodeBitmap(pages, 0, 16, l), want);
  }
});

Deno.test("bitPosition() agrees with encodeBitmap() for every layout", () => {
  for (const layout of BITMAP_LAYOUTS) {
    for (const j of [0, 7, 8, 31, 32, 63, 64, 95]) {
      const bytes = encodeBitmap(PageSet.of([j]), 0, 16, layout);
      const { byte, bit } = bitPosition(j, layout);
      assert.equal(bytes[byte], 1 << bit, `${layout.name} bit ${j}`);
      assert.equal(bytes.reduce((a, b) => a + (b === 0 ? 0 : 1), 0), 1);
    }
  }
});

Deno.test("bitmaps round-trip arbitrary page sets in every layout (property)", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 4095 }), { maxLength: 300 }),
      fc.integer({ min: 0, max: 1 << 20 }).map((x) => x * 64),
      fc.constantFrom(...BITMAP_LAYOUTS),
      (offsets, start, layout) => {
        const pages = PageSet.of(offsets.map((o) => start + o));
        const bytes = encodeBitmap(pages, start, 512, layout);
        assert.equal(bytes.length, 512);
        assert.ok(decodeBitmap(bytes, start, layout).equals(pages));
      },
    ),
  );
});

Deno.test("encodeBitmap() leaves out pages outside the window", () => {
  const bytes = encodeBitmap(PageSet.of([10, 63, 64, 200]), 64, 8);
  assert.deepEqual([...decodeBitmap(bytes, 64)], [64]);
});

Deno.test("decodeBitmap() handles unaligned starts and odd lengths", () => {
  const bytes = new Uint8Array([0xff, 0x01, 0x80]);
  assert.deepEqual([...decodeBitmap(bytes, 3)], [3, 4, 5, 6, 7, 8, 9, 10, 11, 26]);
  // a subarray at an unaligned byte offset
  const buf = new Uint8Array([9, 1, 0, 0, 0, 2]);
  assert.deepEqual([...decodeBitmap(buf.subarray(1), 0)], [0, 33]);
});

Deno.test("decodeBitmap() of a 1 TiB guest's bitmap is word-at-a-time", () => {
  // 268,435,456 PFNs = 32 MiB of bitmap; every 4th word full
  const bytes = new Uint8Array(268_435_456 / 8);
  const words = new Uint32Array(bytes.buffer);
  for (let i = 0; i < words.length; i += 4) words[i] = 0xffffffff;
  const pages = decodeBitmap(bytes, 0, INTENDED_BITMAP_LAYOUT);
  assert.equal(pages.size, 268_435_456 / 4);
  const again = encodeBitmap(pages, 0, bytes.length);
  assert.deepEqual(again.subarray(0, 64), bytes.subarray(0, 64));
  assert.equal(again.length, bytes.length);
});
