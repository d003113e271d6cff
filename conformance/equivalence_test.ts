import assert from "node:assert/strict";
import { gunzipFile, RECORD_DIR, RECORDED, takeRecord } from "../scripts/equivalence.ts";

/**
 * The record compared as sets where order is only presentation: case order
 * follows the case files (which a refactoring may regroup), so listing lines,
 * result lines and arrays of strings are sorted before comparing, and so are
 * arrays of objects that name a case. Every verdict, finding and count still
 * has to match.
 */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(canonical);
    const byText = (a: unknown, b: unknown) => {
      const x = JSON.stringify(a);
      const y = JSON.stringify(b);
      return x < y ? -1 : x > y ? 1 : 0;
    };
    const named = items.every((x) => x !== null && typeof x === "object" && "case" in x);
    return items.every((x) => typeof x !== "object") || named ? items.sort(byText) : items;
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

function canonicalReport(text: string): string {
  const [head = "", ...results] = text.trimEnd().split("\n");
  const lines = results.map((r) => JSON.stringify(canonical(JSON.parse(r)))).sort();
  return [JSON.stringify(canonical(JSON.parse(head))), ...lines].join("\n");
}

function canonicalList(text: string): string {
  // the targets block keeps its order; the case lines are sorted
  const lines = text.trimEnd().split("\n");
  const cut = lines.findIndex((l) => l.startsWith("Cases ("));
  return [...lines.slice(0, cut + 1), ...lines.slice(cut + 1).sort()].join("\n");
}

function firstDifferences(want: string, got: string, max = 5): string[] {
  const a = want.split("\n");
  const b = got.split("\n");
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < max; i++) {
    if (a[i] !== b[i]) {
      out.push(
        `line ${i + 1}\n  recorded: ${a[i]?.slice(0, 400)}\n  now:      ${b[i]?.slice(0, 400)}`,
      );
    }
  }
  return out;
}

for (const { profile, suffix } of RECORDED) {
  Deno.test(`the suite's listing and full report of profile ${profile} equal the equivalence record (minus timings)`, async () => {
    const now = await takeRecord(profile);
    const list = await Deno.readTextFile(new URL(`list${suffix}.txt`, RECORD_DIR));
    const report = await gunzipFile(new URL(`report${suffix}.jsonl.gz`, RECORD_DIR));
    assert.deepEqual(
      firstDifferences(canonicalList(list), canonicalList(now.list)),
      [],
      `--profile ${profile} --list --target all changed`,
    );
    assert.deepEqual(
      firstDifferences(canonicalReport(report), canonicalReport(now.report)),
      [],
      `the --profile ${profile} --target all report changed; if on purpose, run deno task equivalence --write`,
    );
  });
}
