/**
 * The HTML report of a passive run (`passive.html`): the versions checked,
 * each trace's facts, scenario checks and import problems, and the per-rule
 * table (pass, fail with the offending events and their log lines, not
 * observable), each rule with its statement and source. One static,
 * self-contained page: no script, no network.
 *
 * @module
 */

import { describeSource, rule } from "../../spec/mod.ts";
import { TRACE_RULES, type TraceRuleResult } from "../trace/check.ts";
import { escapeHtml as esc, htmlPage } from "./html_page.ts";
import { BASE_STYLE, PRINT_STYLE } from "./html_style.ts";
import { evidenceLines, type PassiveOutcome, passiveOutcome, type PassiveRun } from "./passive.ts";

const PASSIVE_STYLE = `
table.rules { width: 100%; }
table.rules td.statement { width: 38%; }
table.rules td:nth-child(-n + 4) { white-space: nowrap; }
table.rules ul { margin: 0; padding-left: 1rem; }
tr.fail td { background: #fff8f7; }
tr.not-observable td { color: var(--muted); }
`;

function badge(code: string, text: string): string {
  return `<span class="badge v-${code}">${esc(text)}</span>`;
}

function verdictBadge(r: TraceRuleResult, o: PassiveOutcome): string {
  if (r.verdict === "pass") return badge("p", "pass");
  if (r.verdict === "fail") {
    return o.expected.includes(r.rule) ? badge("x", "fail (expected)") : badge("f", "FAIL");
  }
  if (r.verdict === "error") return badge("e", "error (unreliable input)");
  return badge("u", "not observable");
}

function ruleRow(run: PassiveRun, r: TraceRuleResult, o: PassiveOutcome): string {
  const def = rule(r.rule);
  const evidence = evidenceLines(run, r);
  return `<tr class="${r.verdict}" data-rule="${esc(r.rule)}" data-verdict="${r.verdict}">` +
    `<td><strong>${esc(r.rule)}</strong></td><td>${esc(def.level)}</td><td>${esc(def.role)}</td>` +
    `<td>${verdictBadge(r, o)}</td><td>${esc(r.detail)}${
      evidence.length === 0
        ? ""
        : `<ul class="mono">${evidence.map((l) => `<li>${esc(l)}</li>`).join("")}</ul>`
    }</td>` +
    `<td class="statement">${esc(def.statement)}<div class="muted">${
      esc(describeSource(def))
    }</div></td></tr>`;
}

function ruleTable(run: PassiveRun, rows: readonly TraceRuleResult[], o: PassiveOutcome): string {
  return `<table class="rules"><thead><tr><th>rule</th><th>level</th><th>role</th><th>verdict</th>` +
    `<th>what the trace shows</th><th>statement and source</th></tr></thead><tbody>${
      rows.map((r) => ruleRow(run, r, o)).join("")
    }</tbody></table>`;
}

function sections(run: PassiveRun, o: PassiveOutcome): string[] {
  return run.sections.map((s) => {
    const parts = [`<h2>${esc(s.name)}${s.title === undefined ? "" : `: ${esc(s.title)}`}</h2>`];
    const facts = s.facts ?? [];
    if (facts.length > 0) parts.push(`<ul>${facts.map((f) => `<li>${esc(f)}</li>`).join("")}</ul>`);
    const checks = s.checks ?? [];
    if (checks.length > 0) {
      parts.push(
        `<h3>Scenario checks</h3><ul class="checks">${
          checks.map((c) =>
            `<li data-check="${esc(c.id)}">${
              c.verdict === "pass"
                ? badge("p", "pass")
                : o.expected.includes(c.id)
                ? badge("x", "fail (expected)")
                : badge("f", "FAIL")
            } <code>${esc(c.id)}</code>: ${esc(c.detail)}</li>`
          ).join("")
        }</ul>`,
      );
    }
    if (s.tracePath !== undefined) parts.push(`<p>Trace: <code>${esc(s.tracePath)}</code></p>`);
    const problems = s.problems ?? [];
    if (problems.length > 0) {
      parts.push(
        `<details><summary>${problems.length} import problem${
          problems.length === 1 ? "" : "s"
        }</summary><ul>${problems.map((p) => `<li>${esc(p)}</li>`).join("")}</ul></details>`,
      );
    }
    if (s.error !== undefined) {
      parts.push(`<div class="warning">Error:<pre>${esc(s.error)}</pre></div>`);
    }
    return `<section class="trace">${parts.join("\n")}</section>`;
  });
}

/**
 * Renders the HTML report of a passive run.
 *
 * @example
 * ```ts
 * import { passiveHtml } from "./passive_html.ts";
 * import assert from "node:assert/strict";
 * const results = [{ rule: "G57", verdict: "fail" as const, detail: "1 notification before DRIVER_OK", evidence: [] }];
 * const html = passiveHtml({ subject: "trace t.jsonl", profile: "virtio-1.x", versions: {}, sections: [], results, seconds: 0.1 });
 * assert.match(html, /<tr class="fail" data-rule="G57"/);
 * assert.doesNotMatch(html, /<script/);
 * ```
 */
export function passiveHtml(run: PassiveRun): string {
  const o = passiveOutcome(run);
  const checked = run.results.filter((r) => TRACE_RULES.includes(r.rule));
  const others = run.results.filter((r) => !TRACE_RULES.includes(r.rule));
  const versions = Object.entries(run.versions);
  const summary = `rules: ${o.counts.pass} pass, ${o.counts.fail} fail, ${
    o.counts["not-observable"]
  } not observable${o.counts.error > 0 ? `, ${o.counts.error} unreliable (error)` : ""}${
    o.checks.pass + o.checks.fail === 0
      ? ""
      : ` · scenario checks: ${o.checks.pass} pass, ${o.checks.fail} fail`
  }${o.expected.length > 0 ? ` · ${o.expected.length} failures expected` : ""}`;
  const body = [
    `<header><h1>Passive check of ${esc(run.subject)}</h1>`,
    `<div class="banner ${o.ok ? "pass" : "fail"}"><strong>${
      o.ok ? "OK" : o.reason !== undefined ? "NOT JUDGED" : "FAILED"
    }</strong> ${esc(o.reason !== undefined ? `${o.reason} · ${summary}` : summary)}${
      o.unexpected.length === 0
        ? ""
        : `<ul><li>unexpected failures: ${esc(o.unexpected.join(", "))}</li></ul>`
    }</div>`,
    `<dl class="facts"><dt>Profile</dt><dd>${esc(run.profile)}</dd><dt>Took</dt><dd>${
      run.seconds.toFixed(1)
    } s</dd>${versions.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}${
      run.expect === undefined
        ? ""
        : `<dt>Expected failures</dt><dd><code>${esc(run.expect.file)}</code></dd>`
    }</dl></header>`,
    "<main>",
    run.error === undefined ? "" : `<div class="warning">Error: ${esc(run.error)}</div>`,
    o.listProblems.length === 0
      ? ""
      : `<div class="warning">The expected-failure list is stale:<ul>${
        o.listProblems.map((p) => `<li>${esc(p)}</li>`).join("")
      }</ul></div>`,
    ...sections(run, o),
    `<section id="rules"><h2>Rules the trace can decide (${checked.length})</h2>`,
    "<p>A rule is passed only on what the trace shows; one whose check cannot fail on this trace is not observable.</p>",
    ruleTable(run, checked, o),
    others.length === 0
      ? ""
      : `<details><summary>${others.length} more rules of profile ${
        esc(run.profile)
      } that this trace format cannot decide</summary>${ruleTable(run, others, o)}</details>`,
    "</section></main>",
  ].join("\n");
  return htmlPage({
    title: `Passive check of ${run.subject}: ${o.ok ? "OK" : "FAILED"}`,
    style: BASE_STYLE + PASSIVE_STYLE + PRINT_STYLE,
    body,
  });
}
