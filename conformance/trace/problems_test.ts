/**
 * What an input problem makes unreliable: each scope maps to the rules whose
 * checks read the affected events (or depend on their order), and only those.
 */

import assert from "node:assert/strict";
import { checkTrace, TRACE_RULES } from "./check.ts";
import type { TraceEvent } from "./format.ts";
import { type InputProblem, ProblemList, type ProblemScope } from "./problems.ts";
import { importQemuTrace } from "./qemu_log.ts";
import { readMaybeGzip } from "./stream.ts";

const DATA = new URL("../testdata/", import.meta.url);
const META = JSON.parse(await Deno.readTextFile(new URL("qemu-small.meta.json", DATA))) as {
  guestPages: number;
  features: TraceEvent;
};
const TRACE = importQemuTrace(await readMaybeGzip(new URL("qemu-small.log.gz", DATA).pathname), {
  guestPages: META.guestPages,
  extra: [META.features],
}).trace;

function unreliable(affects: ProblemScope): string[] {
  const p: InputProblem = { line: 7, message: "something is wrong", affects };
  return checkTrace(TRACE, [p]).filter((r) => r.verdict === "error").map((r) => r.rule).sort();
}

Deno.test("a problem's scope makes exactly the rules that read what it affects unreliable", () => {
  const none = checkTrace(TRACE, []);
  assert.ok(!none.some((r) => r.verdict === "error"));
  assert.deepEqual(unreliable("all"), [...TRACE_RULES].sort());
  const single = ["R-07", "G08", "G60a", "G62a", "S-11"];
  assert.deepEqual(unreliable("order"), TRACE_RULES.filter((r) => !single.includes(r)).sort());
  assert.deepEqual(unreliable(["report"]), ["S-08"]);
  assert.deepEqual(unreliable(["config-read", "host"]), ["B42", "R-13"]);
  assert.deepEqual(unreliable(["discard"]), []);
  assert.deepEqual(unreliable(["config-write"]), ["B26", "B27", "G55c", "R-06", "R-13"]);
  const status = unreliable(["status"]);
  for (const id of ["G55a", "G02", "G57", "G05", "S-06", "S-07", "R-06", "B26", "B27"]) {
    assert.ok(status.includes(id), id);
  }
  assert.ok(!status.includes("R-07") && !status.includes("G46a") && !status.includes("G62a"));
});

Deno.test("an unreliable verdict names the problem and what the check would have said", () => {
  const p: InputProblem = {
    line: 25140,
    message: "the log ends in the middle of a line",
    affects: "all",
  };
  const q: InputProblem = { line: 3, message: "not a QEMU trace line", affects: "all" };
  const g57 = checkTrace(TRACE, [p, q]).find((r) => r.rule === "G57");
  assert.equal(g57?.verdict, "error");
  assert.deepEqual(g57?.evidence, []);
  assert.match(
    g57?.detail ?? "",
    /^unreliable: line 25140: the log ends in the middle of a line \(and 1 more input problems\); without it: fail, 1 notification before DRIVER_OK/,
  );
  // rules the format cannot decide stay not observable
  const others = checkTrace(TRACE, [p]).filter((r) => !TRACE_RULES.includes(r.rule));
  assert.ok(others.length > 100 && others.every((r) => r.verdict === "not-observable"));
});

Deno.test("ProblemList keeps the first few of each kind and counts the rest, with their scope", () => {
  const l = new ProblemList(1);
  for (let i = 1; i <= 4; i++) {
    l.add("a", { line: i, message: "a", affects: ["status"] }, (n) => `${n} more a`);
  }
  l.add("b", { line: 9, message: "b", affects: "order" });
  assert.equal(l.size, 5);
  assert.deepEqual(l.list(), [
    { line: 1, message: "a", affects: ["status"] },
    { line: 9, message: "b", affects: "order" },
    { line: 0, message: "3 more a", affects: ["status"] },
  ]);
});
