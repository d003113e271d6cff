import assert from "node:assert/strict";
import { checkTrace, TRACE_RULES } from "../trace/check.ts";
import { readMaybeGzip } from "../trace/stream.ts";
import { importQemuTrace } from "../trace/qemu_log.ts";
import type { PassiveRun } from "./passive.ts";
import { passiveHtml } from "./passive_html.ts";

const LOG = new URL("../testdata/qemu-small.log.gz", import.meta.url).pathname;

async function qemuRun(): Promise<PassiveRun> {
  const { trace } = importQemuTrace(await readMaybeGzip(LOG), { profile: "virtio-1.x" });
  const results = checkTrace(trace);
  return {
    subject: "qemu-trace qemu-small.log.gz",
    profile: "virtio-1.x",
    versions: { qemu: "7.2" },
    sections: [{ name: "qemu-small.log.gz", facts: ["from a real QEMU"], trace, results }],
    results,
    seconds: 0.5,
  };
}

function row(html: string, id: string): string {
  const m = new RegExp(`<tr class="[^"]+" data-rule="${id}"[^>]*>.*?</tr>`).exec(html);
  assert.ok(m !== null, `a row for ${id}`);
  return m[0];
}

Deno.test("passiveHtml() has a row per rule: QEMU's G57 and G05 fail with their log lines", async () => {
  const run = await qemuRun();
  const html = passiveHtml(run);
  assert.match(row(html, "G57"), /data-verdict="fail".*FAIL.*log line 23, trace line \d+/);
  assert.match(row(html, "G05"), /data-verdict="fail".*log line 24/);
  assert.match(row(html, "S-07"), /data-verdict="pass"/);
  assert.match(row(html, "B17"), /data-verdict="not-observable"/);
  assert.equal(html.match(/<tr class=/g)?.length, run.results.length);
  const checked = html.slice(0, html.indexOf("more rules of profile"));
  assert.equal(checked.match(/<tr class=/g)?.length, TRACE_RULES.length);
  assert.match(html, /<strong>FAILED<\/strong> rules: \d+ pass, 2 fail/);
  assert.doesNotMatch(html, /<script/);
});

Deno.test("passiveHtml() marks listed failures expected and escapes what the trace says", async () => {
  const run = await qemuRun();
  const evil = `<img src=x onerror="alert(1)">`;
  const html = passiveHtml({
    ...run,
    subject: evil,
    versions: { [evil]: evil },
    sections: run.sections.map((s) => ({ ...s, facts: [evil], problems: [evil], error: evil })),
    expect: { file: "x.txt", entries: [{ line: 1, case: "G57" }, { line: 2, case: "G05" }] },
  });
  assert.doesNotMatch(html, /<img/);
  assert.match(html, /&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt;/);
  assert.match(row(html, "G57"), /fail \(expected\)/);
  assert.match(html, /<strong>FAILED<\/strong>/, "a section error still fails the run");
});

Deno.test("passiveHtml() shows an unreliable verdict as an error and an unjudged input as NOT JUDGED", () => {
  const run: PassiveRun = {
    subject: "trace t.jsonl",
    profile: "virtio-1.x",
    versions: {},
    sections: [],
    results: [{ rule: "G57", verdict: "error", detail: "unreliable: line 3: cut", evidence: [] }],
    seconds: 0,
  };
  const html = passiveHtml(run);
  assert.match(row(html, "G57"), /data-verdict="error".*error \(unreliable input\)/);
  assert.match(html, /<strong>NOT JUDGED<\/strong>/);
});
