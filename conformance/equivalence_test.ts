import assert from "node:assert/strict";
import { gunzipFile, RECORD_DIR, takeRecord } from "../scripts/equivalence.ts";

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

Deno.test("the suite's listing and full report equal the equivalence record (minus timings)", async () => {
  const now = await takeRecord();
  const list = await Deno.readTextFile(new URL("list.txt", RECORD_DIR));
  const report = await gunzipFile(new URL("report.jsonl.gz", RECORD_DIR));
  assert.deepEqual(firstDifferences(list, now.list), [], "--list --target all changed");
  assert.deepEqual(
    firstDifferences(report, now.report),
    [],
    "the --target all report changed; if on purpose, run deno task equivalence --write",
  );
});
