import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { defect, type DefectId, rule, RULES, specAnchor } from "../../spec/mod.ts";
import { CASES } from "../cases/cases.ts";
import { MUTANTS } from "../targets/mutants/mutants.ts";
import { runSuite, type SuiteRun } from "../run/suite.ts";
import { REFERENCE_DRIVER, V3_AS_POSTED } from "../targets/reference/reference.ts";
import { CELL_CODES, htmlReport, type HtmlReportData, MAX_FINDINGS } from "./html.ts";
import { htmlPage } from "./html_page.ts";
import { type ReportContext, reportModel } from "./model.ts";

const context: ReportContext = { profile: "v3", startedAt: new Date("2026-01-02T03:04:05Z") };
const EVIL = `</script><img src=x onerror="alert(1)"><!-- & \u2028 \u{1F600} '"`;
const DATA_OPEN = '<script type="application/json" id="report-data">';

/** The JSON embedded in a page, parsed. */
function embedded(html: string): HtmlReportData {
  const start = html.indexOf(DATA_OPEN);
  assert.ok(start >= 0, "the page embeds its data");
  const from = start + DATA_OPEN.length;
  return JSON.parse(html.slice(from, html.indexOf("</script>", from))) as HtmlReportData;
}

/** The inline script and style of a page. */
function inline(html: string, tag: "script" | "style"): string {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html);
  assert.ok(m !== null, `the page has an inline ${tag}`);
  return m[1] as string;
}

const sample = CASES.filter((k) => /^(inflate\.bitmap|inflate\.header|windows)\./.test(k.id));
const mutant = MUTANTS.find((m) => m.name === "driver:release-before-ack");
assert.ok(mutant !== undefined);
const run = runSuite({
  cases: [...sample, ...CASES.filter((k) => k.area === "deflate")],
  targets: [REFERENCE_DRIVER, V3_AS_POSTED, mutant.target],
});

/** The run with `EVIL` in a case title, a target description and every failing message. */
function poisoned(r: SuiteRun): SuiteRun {
  return {
    ...r,
    cases: r.cases.map((k, i) => (i === 0 ? { ...k, title: EVIL } : k)),
    targets: r.targets.map((t) => (t.name === V3_AS_POSTED.name ? { ...t, description: EVIL } : t)),
    results: r.results.map((x) =>
      x.verdict === "pass" ? x : {
        ...x,
        findings: x.findings.map((f) => (f.ok ? f : { ...f, message: EVIL, actual: EVIL })),
      }
    ),
  };
}

Deno.test("htmlReport() leaves markup from the run inert: </script><img onerror> stays text", () => {
  const bad = poisoned(run);
  const html = htmlReport(bad, context);
  assert.equal(html.match(/<\/script/gi)?.length, 2, "only the data and the script close");
  assert.doesNotMatch(html, /<img/i);
  assert.equal(html.match(/<!--/g), null);
  assert.doesNotMatch(html.slice(html.indexOf(DATA_OPEN)), /[\u2028\u2029]/);
  const data = embedded(html);
  assert.equal(data.cases[0]?.title, EVIL);
  assert.equal(data.targets.find((t) => t.name === V3_AS_POSTED.name)?.description, EVIL);
  const failing = Object.values(data.details).filter((d) => d.findings.length > 0);
  assert.ok(failing.length > 10);
  for (const d of failing) {
    assert.ok(d.findings.every((f) => f.message === EVIL && f.actual === EVIL));
  }
});

Deno.test("the page allows only its own style and script (by hash) and fetches nothing", () => {
  const html = htmlReport(run, context);
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
  assert.ok(csp !== undefined);
  const hash = (s: string) => createHash("sha256").update(s, "utf8").digest("base64");
  assert.ok(csp.includes("default-src 'none'"), csp);
  assert.ok(csp.includes(`script-src 'sha256-${hash(inline(html, "script"))}'`), csp);
  assert.ok(csp.includes(`style-src 'sha256-${hash(inline(html, "style"))}'`), csp);
  assert.doesNotMatch(html, /\b(src|href)="(https?:)?\/\//i);
  assert.doesNotMatch(inline(html, "script"), /\b(fetch|XMLHttpRequest|import\()\b/);
});

Deno.test("htmlPage() refuses a script or stylesheet that would close its element", () => {
  assert.throws(
    () => htmlPage({ title: "t", style: "", body: "", script: "x = '</script>'" }),
    /Cannot inline the script: it contains '<\/script' or '<!--'/,
  );
  assert.throws(
    () => htmlPage({ title: "t", style: "</style>", body: "" }),
    /Cannot inline the stylesheet/,
  );
});

Deno.test("the embedded data round-trips: every result, the kill matrix, rules and coverage", () => {
  const m = reportModel(run, context);
  const data = embedded(htmlReport(run, context, { specDoc: "../docs/SPEC.md" }));
  assert.equal(data.format, "virtio-balloon-html-report/1");
  assert.equal(data.specDoc, "../docs/SPEC.md");
  assert.equal(data.ok, m.ok);
  assert.deepEqual(data.problems, m.problems);
  assert.deepEqual(data.cases.map((k) => k.id), run.cases.map((k) => k.id));
  assert.deepEqual(data.targets.map((t) => t.name), run.targets.map((t) => t.name));
  assert.deepEqual(data.targets.map((t) => t.group), ["reference", "as-posted", "mutant"]);
  let cells = 0;
  for (const r of run.results) {
    const t = data.targets.findIndex((x) => x.name === r.target);
    const c = data.cases.findIndex((k) => k.id === r.case);
    assert.equal(data.cells[t]?.[c], CELL_CODES[r.verdict], `${r.target} ${r.case}`);
    cells++;
    const d = data.details[`${t}:${c}`];
    if (r.verdict === "pass") {
      assert.equal(d, undefined);
      continue;
    }
    assert.ok(d !== undefined, `${r.target} ${r.case} has a detail`);
    assert.equal(d.verdict, r.verdict);
    assert.equal(d.rerun, r.rerun);
    assert.equal(d.failing, m.failures.includes(r));
    const bad = r.findings.filter((f) => !f.ok);
    assert.deepEqual(
      d.findings.map((f) => f.message),
      bad.slice(0, MAX_FINDINGS).map((f) => f.message),
    );
    assert.equal(d.more, Math.max(0, bad.length - MAX_FINDINGS));
    for (const [i, f] of d.findings.entries()) {
      assert.equal(f.hexdump !== undefined, bad[i]?.evidence !== undefined);
    }
  }
  const notRun = data.cells.join("").split("").filter((x) => x === CELL_CODES.none).length;
  assert.equal(cells + notRun, data.cases.length * data.targets.length);
  assert.ok(
    Object.values(data.details).some((d) =>
      d.findings.some((f) => /^0000 {2}/m.test(f.hexdump ?? ""))
    ),
    "some failure carries an annotated hexdump",
  );
  const ids = (xs: readonly number[]) => xs.map((i) => data.cases[i]?.id);
  assert.deepEqual(
    data.kills.map((k) => ({
      mutant: data.targets[k.target]?.name,
      declared: ids(k.declared),
      killed: ids(k.killed),
      missing: ids(k.missing),
      also: ids(k.also),
      status: k.status,
    })),
    m.kills.map((k) => ({
      mutant: k.mutant,
      declared: k.declared,
      killed: k.killed,
      missing: k.missing,
      also: k.also,
      status: k.status,
    })),
  );
  for (const [id, r] of Object.entries(data.rules)) {
    assert.equal(r.statement, rule(id).statement);
    assert.equal(r.level, rule(id).level);
  }
  for (const [id, title] of Object.entries(data.defects)) {
    assert.equal(title, defect(id as DefectId).title);
  }
  assert.deepEqual(
    data.coverage.byLevel,
    Object.entries(m.coverage.byLevel).map(([l, [n, t]]) => [l, n, t]),
  );
  assert.ok(data.asPosted.length > 0);
});

Deno.test("sizes are bounded: one letter per result, findings capped, the page without data small", () => {
  const seed = runSuite({
    cases: CASES.filter((k) => k.role === "driver"),
    targets: [V3_AS_POSTED],
  });
  const html = htmlReport(seed, context);
  const data = embedded(html);
  assert.ok(data.cells.every((row) => row.length === data.cases.length));
  const details = Object.values(data.details);
  assert.ok(details.every((d) => d.findings.length <= MAX_FINDINGS));
  assert.ok(details.some((d) => d.more > 0), "a result with more findings than shown exists");
  assert.ok(
    details.every((d) => d.findings.every((f) => (f.hexdump ?? "").split("\n").length <= 60)),
    "hexdumps are elided",
  );
  const start = html.indexOf(DATA_OPEN);
  const end = html.indexOf("</script>", start);
  const shell = html.length - (end - start);
  assert.ok(shell < 100_000, `the page without its data is ${shell} bytes`);
  const perFailure = (end - start) / details.length;
  assert.ok(perFailure < 4_000, `${Math.round(perFailure)} bytes of data per failing result`);
});

Deno.test("every rule has the anchor the report links to in docs/SPEC.md", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/SPEC.md", import.meta.url));
  for (const r of RULES) assert.ok(doc.includes(`<a id="${specAnchor(r.id)}"></a>`), r.id);
});
