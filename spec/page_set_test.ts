import assert from "node:assert/strict";
import fc from "fast-check";
import { PageSet, popcount32 } from "./page_set.ts";

Deno.test("popcount32() counts bits of edge words", () => {
  assert.equal(popcount32(0), 0);
  assert.equal(popcount32(0xffffffff), 32);
  assert.equal(popcount32(0x80000001), 2);
});

Deno.test("PageSet add/delete/has track size", () => {
  const s = new PageSet();
  assert.equal(s.add(5), true);
  assert.equal(s.add(5), false);
  assert.equal(s.has(5), true);
  assert.equal(s.size, 1);
  assert.equal(s.delete(5), true);
  assert.equal(s.delete(5), false);
  assert.equal(s.size, 0);
  assert.equal(s.min(), undefined);
  assert.equal(s.max(), undefined);
});

Deno.test("PageSet rejects negative and fractional PFNs", () => {
  const s = new PageSet();
  assert.throws(() => s.add(-1), RangeError);
  assert.throws(() => s.add(1.5), /Invalid PFN 1.5/);
  assert.equal(s.has(-1), false);
});

Deno.test("PageSet handles PFNs far apart (sparse, 1 TiB and beyond)", () => {
  const s = new PageSet();
  s.add(0);
  s.add(268_435_455); // last page of a 1 TiB guest
  s.add(2 ** 40);
  assert.equal(s.size, 3);
  assert.equal(s.min(), 0);
  assert.equal(s.max(), 2 ** 40);
  assert.deepEqual([...s], [0, 268_435_455, 2 ** 40]);
  assert.ok(s.storageBytes <= 3 * 8192);
});

Deno.test("PageSet.orWord() handles unaligned PFNs and counts new bits", () => {
  const s = new PageSet();
  assert.equal(s.orWord(30, 0b111), 3);
  assert.deepEqual([...s], [30, 31, 32]);
  assert.equal(s.orWord(30, 0b1111), 1);
  assert.equal(s.wordAt(30), 0b1111);
  assert.equal(s.wordAt(0), (0b11 << 30) >>> 0);
});

const pfnArb = fc.oneof(
  fc.integer({ min: 0, max: 4096 }),
  fc.integer({ min: 0, max: 2 ** 28 }),
);
const opsArb = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant("add" as const), pfn: pfnArb }),
    fc.record({ op: fc.constant("delete" as const), pfn: pfnArb }),
    fc.record({
      op: fc.constant("addRange" as const),
      pfn: pfnArb,
      len: fc.integer({ min: 0, max: 200 }),
    }),
    fc.record({
      op: fc.constant("deleteRange" as const),
      pfn: pfnArb,
      len: fc.integer({ min: 0, max: 200 }),
    }),
  ),
  { maxLength: 60 },
);

Deno.test("PageSet behaves like a Set<number> under random operations (property)", () => {
  fc.assert(
    fc.property(opsArb, (ops) => {
      const s = new PageSet();
      const model = new Set<number>();
      for (const o of ops) {
        if (o.op === "add") assert.equal(s.add(o.pfn), !model.has(o.pfn) && !!model.add(o.pfn));
        else if (o.op === "delete") assert.equal(s.delete(o.pfn), model.delete(o.pfn));
        else if (o.op === "addRange") {
          let n = 0;
          for (let p = o.pfn; p < o.pfn + o.len; p++) if (!model.has(p)) (model.add(p), n++);
          assert.equal(s.addRange(o.pfn, o.len), n);
        } else {
          let n = 0;
          for (let p = o.pfn; p < o.pfn + o.len; p++) if (model.delete(p)) n++;
          assert.equal(s.deleteRange(o.pfn, o.len), n);
        }
      }
      const sorted = [...model].sort((a, b) => a - b);
      assert.equal(s.size, model.size);
      assert.deepEqual([...s], sorted);
      assert.equal(s.min(), sorted[0]);
      assert.equal(s.max(), sorted[sorted.length - 1]);
      // runs cover exactly the members, maximal and ascending
      const fromRuns: number[] = [];
      let prevEnd = -2;
      for (const r of s.runs()) {
        assert.ok(r.length > 0);
        assert.ok(r.start > prevEnd, "runs are maximal and ascending");
        for (let p = r.start; p < r.start + r.length; p++) fromRuns.push(p);
        prevEnd = r.start + r.length;
      }
      assert.deepEqual(fromRuns, sorted);
    }),
  );
});

Deno.test("PageSet set algebra matches a model (property)", () => {
  const setArb = fc.uniqueArray(fc.integer({ min: 0, max: 70_000 }), { maxLength: 80 });
  fc.assert(
    fc.property(setArb, setArb, (a, b) => {
      const sa = PageSet.of(a);
      const sb = PageSet.of(b);
      const inter = a.filter((x) => b.includes(x)).sort((x, y) => x - y);
      assert.deepEqual([...sa.intersection(sb)], inter);
      assert.equal(sa.intersectionSize(sb), inter.length);
      const u = sa.clone();
      u.unionWith(sb);
      assert.deepEqual([...u], [...new Set([...a, ...b])].sort((x, y) => x - y));
      const d = sa.clone();
      d.subtract(sb);
      assert.deepEqual([...d], a.filter((x) => !b.includes(x)).sort((x, y) => x - y));
      assert.equal(sa.isSubsetOf(u), true);
      assert.equal(sa.equals(PageSet.of([...a].reverse())), true);
      assert.equal(sa.countRange(100, 50_000), a.filter((x) => x >= 100 && x < 50_000).length);
    }),
  );
});

Deno.test("PageSet.lowest() returns the n smallest members (property)", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 200_000 }), { maxLength: 300 }),
      fc.integer({ min: 0, max: 320 }),
      (pfns, n) => {
        const s = PageSet.of(pfns);
        const want = [...pfns].sort((a, b) => a - b).slice(0, n);
        assert.deepEqual([...s.lowest(n)], want);
      },
    ),
  );
});

Deno.test("PageSet.toArray() equals iteration, and orWords() equals orWord() (property)", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 300_000 }), { maxLength: 200 }),
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 40 }),
      fc.integer({ min: 0, max: 10_000 }).map((x) => x * 32),
      (pfns, words, at) => {
        const s = PageSet.of(pfns);
        assert.deepEqual(s.toArray(), [...s]);
        const a = s.clone();
        const b = s.clone();
        const addedA = a.orWords(at, new Uint32Array(words));
        let addedB = 0;
        words.forEach((w, i) => (addedB += b.orWord(at + 32 * i, w)));
        assert.equal(addedA, addedB);
        assert.ok(a.equals(b));
        assert.equal(a.size, b.size);
      },
    ),
  );
});
