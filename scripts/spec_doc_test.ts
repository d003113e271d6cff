import assert from "node:assert/strict";
import { DEFECTS, RULES, STRUCTS } from "../spec/mod.ts";
import { layoutDiagram, renderSpecDoc, ruleAnchor } from "./spec_doc_gen.ts";

const doc = renderSpecDoc();

Deno.test("the spec doc lists every rule, defect and struct", () => {
  for (const r of RULES) assert.ok(doc.includes(`| ${ruleAnchor(r.id)} |`), r.id);
  for (const d of DEFECTS) assert.ok(doc.includes(`| ${ruleAnchor(d.id)} |`), d.id);
  for (const s of Object.keys(STRUCTS)) assert.ok(doc.includes(`### ${s}`), s);
});

Deno.test("the spec doc marks the bit-3/bit-4 collision", () => {
  assert.match(doc, /\| 3 \| PAGE_BITMAP \| FREE_PAGE_HINT \| \*\*yes\*\* \|/);
  assert.match(doc, /\| 4 \| MISC_VQ \| PAGE_POISON \| \*\*yes\*\* \|/);
});

Deno.test("layout diagrams place fields at their offsets", () => {
  const d = layoutDiagram(STRUCTS.balloon_bmap_hdr);
  const lines = d.split("\n");
  assert.ok(
    lines.some((l) => /\|\s*cmd\s*\|\s*page_shift\s*\|\s*flag\s*\|\s*reserved\s*\|/.test(l)),
    d,
  );
  assert.ok(lines.some((l) => /^\|\s+start_pfn\s+\|$/.test(l)), d);
});

Deno.test("the checked-in docs/SPEC.md is up to date (deno task spec-doc)", async () => {
  const text = await Deno.readTextFile(new URL("../docs/SPEC.md", import.meta.url));
  assert.equal(text, doc);
});
