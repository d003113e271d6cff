/**
 * The JUnit XML report of a passive run, for CI, like the active run's
 * (`junit.ts`): one `<testsuite>` per checked trace (a file, or one guest of
 * the qemu-linux target), one `<testcase>` per rule and per scenario check.
 * A test case fails exactly when it makes the run fail: a failing rule
 * listed in `--expect-fail` passes with a `system-out` saying so; a rule the
 * input cannot decide is `skipped` (never a pass); a verdict made unreliable
 * by an input problem is an `error`. A section that could not be judged or
 * stopped on an error is one `error` test case.
 *
 * @module
 */

import { rule } from "../../spec/mod.ts";
import { attrs, xmlEscape } from "./junit.ts";
import { passiveOutcome, type PassiveRun } from "./passive.ts";

interface Case {
  readonly kind: "pass" | "failure" | "error" | "skipped";
  readonly xml: string;
}

function testcase(
  classname: string,
  name: string,
  kind: Case["kind"],
  message: string,
  note?: string,
): Case {
  const head = `    <testcase${attrs({ classname, name })}`;
  const body = kind === "pass"
    ? note === undefined ? "" : `      <system-out>${xmlEscape(note)}</system-out>\n`
    : kind === "skipped"
    ? `      <skipped${attrs({ message })}/>\n`
    : `      <${kind}${attrs({ message })}>${xmlEscape(note ?? message)}</${kind}>\n`;
  return { kind, xml: body === "" ? `${head}/>` : `${head}>\n${body}    </testcase>` };
}

/**
 * Renders a passive run as JUnit XML.
 *
 * @example
 * ```ts
 * import { passiveJunit } from "./passive_junit.ts";
 * import assert from "node:assert/strict";
 * const results = [
 *   { rule: "G57", verdict: "fail" as const, detail: "bad", evidence: [] },
 *   { rule: "G55a", verdict: "not-observable" as const, detail: "no status", evidence: [] },
 * ];
 * const section = { name: "t.jsonl", results };
 * const run = { subject: "trace t.jsonl", profile: "virtio-1.x", versions: {}, sections: [section], results, seconds: 1 };
 * const xml = passiveJunit(run);
 * assert.match(xml, /<testsuite name="t.jsonl" tests="2" failures="1" errors="0" skipped="1"/);
 * ```
 */
export function passiveJunit(run: PassiveRun): string {
  const outcome = passiveOutcome(run);
  const expected = new Set(outcome.expected);
  const suites: string[] = [];
  const total = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const s of run.sections) {
    const cases: Case[] = [];
    const stop = s.error ?? (s.empty === undefined ? undefined : `not judged: ${s.empty}`);
    if (stop !== undefined) cases.push(testcase(s.name, "section", "error", stop));
    for (const r of s.results) {
      const title = levelled(r.rule);
      if (r.verdict === "pass") cases.push(testcase(s.name, title, "pass", r.detail));
      else if (r.verdict === "not-observable") {
        cases.push(testcase(s.name, title, "skipped", `not observable: ${r.detail}`));
      } else if (r.verdict === "error") {
        cases.push(testcase(s.name, title, "error", `unreliable: ${r.detail}`));
      } else if (expected.has(r.rule)) {
        cases.push(
          testcase(
            s.name,
            title,
            "pass",
            r.detail,
            `expected failure (--expect-fail): ${r.detail}`,
          ),
        );
      } else cases.push(testcase(s.name, title, "failure", r.detail));
    }
    for (const c of s.checks ?? []) {
      const kind = c.verdict === "pass" || expected.has(c.id) ? "pass" : "failure";
      const note = c.verdict === "fail" && kind === "pass"
        ? `expected failure (--expect-fail): ${c.detail}`
        : undefined;
      cases.push(testcase(s.name, c.id, kind, c.detail, note));
    }
    const n = {
      tests: cases.length,
      failures: cases.filter((c) => c.kind === "failure").length,
      errors: cases.filter((c) => c.kind === "error").length,
      skipped: cases.filter((c) => c.kind === "skipped").length,
    };
    total.tests += n.tests;
    total.failures += n.failures;
    total.errors += n.errors;
    total.skipped += n.skipped;
    suites.push(
      `  <testsuite${attrs({ name: s.name, ...n })}>\n    <properties>\n      <property${
        attrs({ name: "profile", value: run.profile })
      }/>\n    </properties>\n${cases.map((c) => c.xml).join("\n")}\n  </testsuite>`,
    );
  }
  if (outcome.listProblems.length > 0) {
    const cases = outcome.listProblems.map((p, i) =>
      testcase("expect-fail", `problem ${i + 1}`, "failure", p).xml
    );
    total.tests += cases.length;
    total.failures += cases.length;
    suites.push(
      `  <testsuite${
        attrs({ name: "expect-fail", tests: cases.length, failures: cases.length })
      }>\n${cases.join("\n")}\n  </testsuite>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${
    attrs({ name: `passive ${run.subject}`, ...total, time: run.seconds.toFixed(3) })
  }>\n${suites.join("\n")}\n</testsuites>\n`;
}

/** `G57 (MUST)`: a rule id with its level, as the other reports name rules. */
function levelled(id: string): string {
  try {
    return `${id} (${rule(id).level})`;
  } catch {
    return id;
  }
}
