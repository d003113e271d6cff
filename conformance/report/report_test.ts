import assert from "node:assert/strict";
import { CASES } from "../cases/cases.ts";
import { MUTANTS } from "../targets/mutants/mutants.ts";
import { parseExpectList } from "../run/expect.ts";
import { jsonReport } from "./json.ts";
import { junitReport } from "./junit.ts";
import { markdownReport } from "./markdown.ts";
import { type ReportContext, reportModel, SUITE_VERSION } from "./model.ts";
import { terminalReport } from "./terminal.ts";
import { runSuite, type SuiteRun } from "../run/suite.ts";
import {
  REFERENCE_DEVICE,
  REFERENCE_DRIVER,
  referenceDeviceTarget,
  referenceDriverTarget,
  V3_AS_POSTED,
} from "../targets/reference/reference.ts";
import type { CaseResult, Target } from "../model/types.ts";

const cases = CASES.filter((k) => k.id.startsWith("inflate.header."));
const run = runSuite({ cases, targets: [REFERENCE_DRIVER, V3_AS_POSTED] });
const context: ReportContext = {
  profile: "v3",
  startedAt: new Date("2026-01-02T03:04:05Z"),
  filters: ["inflate.header.*"],
};

/** A minimal XML well-formedness check: balanced tags, quoted attributes, escaped text. */
function assertWellFormedXml(xml: string): void {
  assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n'));
  const body = xml.slice(xml.indexOf("?>") + 2);
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (const m of body.matchAll(tag)) {
    const text = body.slice(last, m.index);
    assert.doesNotMatch(text, /[<>]/, `stray markup in text: ${text.slice(0, 80)}`);
    assert.doesNotMatch(text, /&(?!(amp|lt|gt|quot|apos);)/, `unescaped & in ${text.slice(0, 80)}`);
    last = (m.index ?? 0) + m[0].length;
    const [, close, name, , self] = m;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name ?? "");
    } else if (stack.length === 0) roots++;
  }
  assert.equal(body.slice(last).trim(), "");
  assert.deepEqual(stack, [], "unclosed elements");
  assert.equal(roots, 1, "one root element");
}

Deno.test("SUITE_VERSION matches deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(SUITE_VERSION, config.version);
});

Deno.test("the JSON report holds the run facts, every result and the as-posted table", () => {
  const doc = JSON.parse(jsonReport(run, context));
  assert.deepEqual(doc.tool, { name: "virtio-balloon conformance suite", version: SUITE_VERSION });
  assert.equal(doc.profile, "v3");
  assert.equal(doc.strict, false);
  assert.equal(doc.startedAt, "2026-01-02T03:04:05.000Z");
  assert.equal(doc.ok, false);
  assert.deepEqual(doc.targets.map((t: { name: string }) => t.name), [
    "reference-driver",
    "v3-as-posted",
  ]);
  assert.equal(doc.results.length, run.results.length);
  const flag = doc.results.find((r: { case: string; target: string }) =>
    r.case === "inflate.header.flag" && r.target === "v3-as-posted"
  );
  assert.equal(flag.verdict, "fail");
  assert.match(flag.findings[0].evidence.hex, /^[0-9a-f]+$/);
  assert.ok(Array.isArray(flag.findings[0].evidence.annotations));
  assert.ok(doc.asPosted.some((r: { case: string }) => r.case === "inflate.header.flag"));
  assert.ok(doc.coverage.byLevel.MUST.total > 0);
  assert.ok(doc.coverage.explained.every((e: { reason: string }) => e.reason.length > 0));
  assert.equal(doc.expectFail, null);
});

Deno.test("the JUnit report has one testsuite per target and one testcase per result", () => {
  const xml = junitReport(run, context);
  assertWellFormedXml(xml);
  assert.equal(xml.match(/<testsuite /g)?.length, 2);
  assert.equal(xml.match(/<testcase /g)?.length, run.results.length);
  const failed = run.results.filter((r) => r.verdict === "fail").length;
  assert.equal(xml.match(/<failure /g)?.length, failed);
  assert.match(
    xml,
    /<testcase classname="bitmap" name="inflate\.header\.flag" time="[\d.]+">\n {6}<failure message="R-15 MUST: [^"]+" type="MUST">/,
  );
  assert.match(xml, /flag=1 &lt;--/, "the hexdump is in the failure text, escaped");
});

function synthetic(results: CaseResult[], targets: Target[] = [REFERENCE_DRIVER]): SuiteRun {
  return { results, cases: CASES, targets, strict: false, ms: 1 };
}

function result(over: Partial<CaseResult> & Pick<CaseResult, "case" | "target">): CaseResult {
  return { verdict: "pass", level: "MUST", findings: [], rerun: "rerun", ms: 0, ...over };
}

Deno.test("the JUnit report escapes text, passes warnings with a note and skips unsupported cases", () => {
  const xml = junitReport(
    synthetic([
      result({
        case: "deflate.pfn.no-mth.tell-first",
        target: "reference-driver",
        verdict: "warn",
        level: "SHOULD",
        findings: [{ rule: "R-12b", ok: false, message: `a <b> & "c" 'd'` }],
      }),
      result({
        case: "inflate.pfn.max-256",
        target: "reference-driver",
        verdict: "unsupported",
        message: "the target declares PAGE_BITMAP unsupported",
      }),
      result({ case: "inflate.pfn.one-in-flight", target: "reference-driver", verdict: "error" }),
    ]),
    context,
  );
  assertWellFormedXml(xml);
  assert.match(xml, /<system-out>warn \(SHOULD; fails under --strict\)/);
  assert.match(xml, /a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;/);
  assert.match(xml, /<skipped message="unsupported: the target declares PAGE_BITMAP unsupported">/);
  assert.match(xml, /<error message="error">/);
  assert.match(xml, /tests="3" failures="0" errors="1" skipped="1"/);
});

Deno.test("a target none of whose cases could be judged (all unsupported) is not a pass", () => {
  const none = synthetic([
    result({ case: "inflate.pfn.max-256", target: "reference-driver", verdict: "unsupported" }),
    result({
      case: "inflate.pfn.one-in-flight",
      target: "reference-driver",
      verdict: "unsupported",
    }),
  ]);
  const model = reportModel(none, context);
  assert.equal(model.ok, false);
  assert.match(
    model.problems.join("\n"),
    /reference-driver: none of its 2 cases could be judged \(2 unsupported, 0 errors\)/,
  );
  assert.match(
    terminalReport(none, context),
    /^ {2}reference-driver .* 2 unsupported +NOT JUDGED$/m,
  );
  // one judged case is enough: unsupported cases are then reported, not a failure
  const one = synthetic([
    result({ case: "inflate.pfn.max-256", target: "reference-driver", verdict: "unsupported" }),
    result({ case: "inflate.pfn.one-in-flight", target: "reference-driver" }),
  ]);
  assert.equal(reportModel(one, context).ok, true);
});

Deno.test("a mutant that passes a declared case fails the run, in every report", () => {
  const m = MUTANTS.find((x) => x.name === "driver:pfn-array-512");
  assert.ok(m !== undefined);
  const sur = synthetic([result({ case: "inflate.pfn.max-256", target: m.name })], [m.target]);
  const model = reportModel(sur, context);
  assert.equal(model.ok, false);
  assert.equal(model.kills[0]?.status, "survived");
  assert.match(model.problems[0] ?? "", /mutant driver:pfn-array-512 survived/);
  assert.match(
    terminalReport(sur, context),
    /SURVIVED driver:pfn-array-512: passed inflate\.pfn\.max-256/,
  );
  assert.match(junitReport(sur, context), /<failure message="mutant driver:pfn-array-512 survived/);
  assert.match(markdownReport(sur, context), /\*\*survived\*\*: passed `inflate\.pfn\.max-256`/);
  const killed = synthetic(
    [result({ case: "inflate.pfn.max-256", target: m.name, verdict: "fail" })],
    [m.target],
  );
  assert.equal(reportModel(killed, context).ok, true);
});

Deno.test("defects come from single-quirk runs when given, else from the rule table", () => {
  const fail = result({
    case: "inflate.header.flag",
    target: "v3-as-posted",
    verdict: "fail",
    defects: ["D-09", "D-13"],
    findings: [{ rule: "R-15", ok: false, message: "flag is 1" }],
  });
  const sr = synthetic([fail], [V3_AS_POSTED]);
  assert.deepEqual(reportModel(sr, context).defects[0]?.defects, ["D-09", "D-13"]);
  const attribution = [
    result({ case: "inflate.header.flag", target: "quirk:D-09", verdict: "fail" }),
    result({ case: "inflate.header.flag", target: "quirk:D-13" }),
  ];
  const row = reportModel(sr, { ...context, attribution }).defects[0];
  assert.deepEqual(row?.defects, ["D-09"]);
  assert.equal(row?.by, "quirks");
});

Deno.test("expected failures do not fail the run; stale entries do", () => {
  const expectFail = parseExpectList(
    "v3-as-posted inflate.header.flag\nv3-as-posted inflate.header.req_id\n",
    "xfail.txt",
  );
  const small = runSuite({
    cases: CASES.filter((k) => k.id === "inflate.header.flag" || k.id === "inflate.header.req_id"),
    targets: [V3_AS_POSTED],
  });
  const model = reportModel(small, { ...context, expectFail });
  assert.equal(model.ok, true, model.problems.join("; "));
  assert.equal(model.expect?.expected.length, 2);
  assert.match(
    junitReport(small, { ...context, expectFail }),
    /<skipped message="expected failure/,
  );
  const stale = parseExpectList("reference-driver inflate.header.flag\n", "xfail.txt");
  const ref = runSuite({
    cases: CASES.filter((k) => k.id === "inflate.header.flag"),
    targets: [REFERENCE_DRIVER],
  });
  const m2 = reportModel(ref, { ...context, expectFail: stale });
  assert.equal(m2.ok, false);
  assert.match(m2.problems[0] ?? "", /xfail\.txt:1: lists inflate\.header\.flag, which passed/);
});

Deno.test("the Markdown report has the run facts, matrix, coverage and failures with bytes", () => {
  const md = markdownReport(run, context);
  for (
    const heading of [
      "# virtio-balloon conformance suite: report",
      "## Summary",
      "## Cases × targets",
      "## Seed as posted: defects behind each failure",
      "## Rule coverage",
    ]
  ) assert.ok(md.includes(`\n${heading}\n`) || md.startsWith(heading), heading);
  assert.match(md, /^\*\*Result: FAIL\.\*\* v3-as-posted: \d+ results? failed\.$/m);
  assert.match(
    md,
    /\| `inflate\.header\.flag` \| R-15 \| pass \| \[\*\*FAIL\*\*\]\(#inflate-header-flag-v3-as-posted\) \|/,
  );
  assert.match(md, /<a id="inflate-header-flag-v3-as-posted"><\/a>/);
  assert.match(md, /```text\ninflateq chain[^\n]*\n0000 [^\n]*flag=1 <--/);
  assert.match(
    md,
    /```sh\ndeno task conform --target v3-as-posted --filter 'inflate\.header\.flag'\n```/,
  );
  assert.match(md, /### MUST and MUST NOT rules without a case, and why \(\d+ of \d+\)/);
  assert.doesNotMatch(md, /SPEC\.md#/, "no link from a report outside the checkout");
  const inRepo = markdownReport(run, {
    ...context,
    outDir: new URL("../../conformance", import.meta.url).pathname,
  });
  assert.match(
    inRepo,
    /\[R-15\]\(\.\.\/docs\/SPEC\.md#rule-r-15\)/,
    "rule ids link into docs/SPEC.md from a report inside the checkout",
  );
  assert.match(md, /^Rule ids: \*\*R-nn\*\* /m, "a legend of rule-id prefixes");
});

Deno.test("the Markdown matrix moves mutants to the kill matrix when there are many targets", () => {
  const targets = [
    REFERENCE_DRIVER,
    ...MUTANTS.filter((m) => m.target.kind === "driver").slice(0, 6)
      .map((m) => m.target),
  ];
  const r = runSuite({ cases: CASES.filter((k) => k.id === "inflate.pfn.max-256"), targets });
  const md = markdownReport(r, context);
  assert.match(md, /\| case \| rules \| `reference-driver` \|\n/);
  assert.match(md, /## Mutant kill matrix/);
});

Deno.test("the terminal summary shows targets, areas, failures with bytes and rerun, and caps the list", () => {
  const text = terminalReport(run, { ...context, written: ["out/report.md"] }, { maxFailures: 1 });
  assert.match(
    text,
    /^virtio-balloon conformance suite 0\.1\.0 · profile v3 · 2 targets · 7 cases/,
  );
  assert.match(text, /^ {2}reference-driver +7 pass +0 fail +0 warn +ok$/m);
  assert.match(text, /^ {2}v3-as-posted +\d+ pass +\d+ fail +0 warn +FAILED$/m);
  assert.match(text, /^ {2}bitmap +7 \+ 0 +cases +\d+ rules? /m);
  assert.match(text, /^ {2}rule ids: R-nn /m, "a legend of rule-id prefixes");
  assert.match(text, /^FAIL inflate\.header\.\S+ on v3-as-posted \(MUST\)$/m);
  assert.match(text, /^ {4}R-15 MUST: /m);
  assert.ok(
    text.split("\n").filter((l) => !/^ {4}[0-9a-f]{4} /.test(l)).every((l) => l.length <= 104),
    "lines but hexdumps are wrapped",
  );
  assert.match(text, /^ {4}0000 {2}00 00 0c 00/m);
  assert.match(
    text,
    /^ {4}rerun: deno task conform --target v3-as-posted --filter 'inflate\.header\./m,
  );
  assert.match(text, /^… 1 more, see out\/report\.md$/m);
  assert.match(text, /^FAIL: v3-as-posted: 2 results failed$/m);
  assert.ok(!text.includes("\x1b["));
  assert.ok(terminalReport(run, context, { color: true }).includes("\x1b[31m"));
});

Deno.test("strict mode turns a SHOULD failure into a failure of the run", () => {
  const t = referenceDriverTarget("driver:release-before-ack", "mutant as a plain target", {
    deviations: ["release-before-ack"],
  });
  const k = CASES.filter((x) => x.id === "deflate.pfn.no-mth.tell-first");
  const loose = runSuite({ cases: k, targets: [t] });
  const renamed = { ...t, name: "plain" };
  const plain = runSuite({ cases: k, targets: [renamed] });
  assert.equal(loose.results[0]?.verdict, "warn");
  assert.equal(reportModel(plain, context).ok, true);
  const strict = runSuite({ cases: k, targets: [renamed], strict: true });
  assert.equal(reportModel(strict, context).ok, false);
  assert.match(
    terminalReport(plain, context),
    /^Warnings \(1, SHOULD rules; --strict fails them\)$/m,
  );
});

Deno.test("a driver that never writes actual fails on one cause, named once with its rule, in every report", () => {
  const never = referenceDriverTarget("driver-without-actual", "never writes actual", {
    seams: [() => ({ actualAccesses: () => () => [] })],
  });
  const run = runSuite({ cases: CASES.filter((k) => k.role === "driver"), targets: [never] });
  const m = reportModel(run, context);
  const g = m.groups.find((x) => x.root === "the driver never wrote actual");
  assert.ok(g !== undefined, JSON.stringify(m.groups.map((x) => [x.root, x.cases.length])));
  assert.ok(g.cases.length >= 5, `${g.cases.length} cases`);
  assert.deepEqual(g.rules, ["R-05"]);
  const managed = run.results.find((r) => r.case === "oom.doom.managed");
  assert.doesNotMatch(managed?.findings.map((f) => f.message).join(" ") ?? "", /no inflated page/);
  assert.match(terminalReport(run, context), /^Shared causes/m);
  assert.match(markdownReport(run, context), /^## Shared causes$/m);
  assert.equal(JSON.parse(jsonReport(run, context)).groups.length, m.groups.length);
  assert.match(junitReport(run, context), /cause: {4}the driver never wrote actual/);
});

Deno.test("the Markdown report says what each target's passes rest on, and what a failure was seen through", () => {
  const device = CASES.filter((k) =>
    k.id === "device.pfn.inflate" || k.id === "device.pfn.deflate"
  );
  const mine = referenceDeviceTarget("my-device", "never acks an inflate", ["never-ack-inflate"]);
  const r = runSuite({ cases: device, targets: [REFERENCE_DEVICE, mine] });
  const md = markdownReport(r, { ...context, startedAt: new Date(0) });
  const basis = md.slice(md.indexOf("## What the passes rest on"));
  assert.match(basis, /`reference-device` \| 2 \| [^\n]*host-view \(self-reported\) \d/);
  assert.match(md, /- Seen through: (ring|host-view|guest-memory)/);
});
