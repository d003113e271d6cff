/**
 * How a passive run ends, and how an unreliable verdict shows in every report
 * format: OK (0), FAILED (1), NOT JUDGED (3).
 */

import assert from "node:assert/strict";
import type { TraceRuleResult } from "../trace/check.ts";
import { parseExpectList } from "../run/expect.ts";
import {
  PASSIVE_EXIT,
  passiveJson,
  passiveMarkdown,
  passiveOutcome,
  type PassiveRun,
  passiveTerminal,
} from "./passive.ts";

const r = (rule: string, verdict: TraceRuleResult["verdict"], detail = "d"): TraceRuleResult => ({
  rule,
  verdict,
  detail,
  evidence: [],
});

function run(results: TraceRuleResult[], extra: Partial<PassiveRun> = {}): PassiveRun {
  return {
    subject: "qemu-trace x.log",
    profile: "virtio-1.x",
    versions: {},
    sections: [{
      name: "x.log",
      problems: ["line 9: not a QEMU trace line"],
      results,
    }],
    results,
    seconds: 0,
    ...extra,
  };
}

Deno.test("an unreliable verdict makes the run NOT JUDGED (exit 3) in every report format", () => {
  const x = run([
    r("G02", "pass"),
    r("G57", "error", "unreliable: line 9: not a QEMU trace line; without it: fail, …"),
  ]);
  const o = passiveOutcome(x);
  assert.equal(o.ok, false);
  assert.equal(o.exitCode, PASSIVE_EXIT.notJudged);
  assert.match(o.reason ?? "", /^1 verdicts unreliable because of input problems \(line 9: /);
  const term = passiveTerminal(x);
  assert.match(term, /^G57 +MUST NOT +driver +error +unreliable: line 9/m);
  assert.match(term, /^rules: 1 pass, 0 fail, 1 error, 0 not observable · NOT JUDGED: 1 verdicts/m);
  assert.match(term, /^ {2}import: line 9: not a QEMU trace line$/m);
  const md = passiveMarkdown(x);
  assert.match(md, /^\| G57 \| MUST NOT \| driver \| error \| unreliable: line 9/m);
  assert.match(md, /^Rules: 1 pass, 0 fail, 1 error, 0 not observable: NOT JUDGED \(1 verdicts/m);
  const json = JSON.parse(passiveJson(x));
  assert.equal(json.outcome, "not-judged");
  assert.equal(json.exitCode, 3);
  assert.equal(json.counts.error, 1);
  assert.equal(json.rules.find((y: { rule: string }) => y.rule === "G57").verdict, "error");
});

Deno.test("a real failure wins over unreliable verdicts: FAILED, exit 1", () => {
  const o = passiveOutcome(run([r("G02", "fail"), r("G57", "error")]));
  assert.equal(o.exitCode, PASSIVE_EXIT.failed);
  assert.equal(o.reason, undefined);
});

Deno.test("nothing decided, or a section with nothing to judge: NOT JUDGED, never OK", () => {
  const none = passiveOutcome(run([r("G02", "not-observable"), r("G57", "not-observable")]));
  assert.equal(none.exitCode, PASSIVE_EXIT.notJudged);
  assert.equal(none.reason, "no rule could be decided from the input");
  const empty = run([r("G02", "pass")]);
  const e = passiveOutcome({
    ...empty,
    sections: [{ name: "x", empty: "no balloon event in the log: it is empty", results: [] }],
  });
  assert.equal(e.exitCode, PASSIVE_EXIT.notJudged);
  assert.equal(e.reason, "no balloon event in the log: it is empty");
  assert.equal(passiveOutcome(run([r("G02", "pass")])).exitCode, PASSIVE_EXIT.ok);
});

Deno.test("a listed rule whose verdict is unreliable is no stale line: the run is not judged", () => {
  const expect = parseExpectList("G57\n", "list.txt");
  const o = passiveOutcome(run([r("G02", "pass"), r("G57", "error")], { expect }));
  assert.deepEqual(o.listProblems, []);
  assert.equal(o.exitCode, PASSIVE_EXIT.notJudged);
});
