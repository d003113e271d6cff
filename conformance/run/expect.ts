/**
 * Expected-failure lists (`--expect-fail FILE`): parsing, and matching them
 * against a run. Lists are strict, as in the protobuf conformance runner: a
 * listed case that passes, or that does not exist, fails the run.
 *
 * @module
 */

import { printable } from "../model/text.ts";
import { caseById } from "../cases/cases.ts";
import type { CaseResult } from "../model/types.ts";

/** One line of an expected-failure list. */
export interface ExpectEntry {
  /** Line number in the file (1-based). */
  readonly line: number;
  /** Target the entry is limited to; without one it applies to every target the case runs on. */
  readonly target?: string;
  /** Case id. */
  readonly case: string;
}

/** An expected-failure list and where it came from. */
export interface ExpectList {
  /** File name, for messages. */
  readonly file: string;
  /** Its entries. */
  readonly entries: readonly ExpectEntry[];
}

/** A malformed line of an expected-failure list. */
export class ExpectListError extends Error {
  /** Line number (1-based). */
  readonly line: number;

  /** Builds the error for line `line`. */
  constructor(message: string, line: number) {
    super(message);
    this.name = "ExpectListError";
    this.line = line;
  }
}

/**
 * Parses an expected-failure list: one `case-id` or `target case-id` per
 * line; `#` starts a comment; blank lines are ignored.
 *
 * @example
 * ```ts
 * import { parseExpectList } from "./expect.ts";
 * import assert from "node:assert/strict";
 * const list = parseExpectList("# known\nv3-as-posted inflate.header.flag\nmisc.coverage  # D-16\n", "x.txt");
 * assert.deepEqual(list.entries, [
 *   { line: 2, target: "v3-as-posted", case: "inflate.header.flag" },
 *   { line: 3, case: "misc.coverage" },
 * ]);
 * ```
 */
export function parseExpectList(text: string, file: string): ExpectList {
  const entries: ExpectEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const words = (lines[i] ?? "").replace(/#.*$/, "").trim().split(/\s+/).filter((w) => w);
    if (words.length === 0) continue;
    const [a, b] = words;
    if (words.length > 2 || a === undefined) {
      throw new ExpectListError(
        `${file}:${i + 1}: '${
          printable(words.join(" "))
        }' has ${words.length} words, expected 'case-id' or 'target case-id'`,
        i + 1,
      );
    }
    entries.push(b === undefined ? { line: i + 1, case: a } : { line: i + 1, target: a, case: b });
  }
  return { file, entries };
}

/** How an expected-failure list matched a run. */
export interface ExpectOutcome {
  /** File name. */
  readonly file: string;
  /** Number of entries. */
  readonly entries: number;
  /** Results that failed or warned as listed (they do not fail the run). */
  readonly expected: readonly CaseResult[];
  /** Problems that fail the run: listed cases that passed, or that do not exist. */
  readonly problems: readonly { readonly entry: ExpectEntry; readonly message: string }[];
  /** Entries with no result in this run (case or target not selected): neither kept nor broken. */
  readonly notRun: readonly ExpectEntry[];
}

function where(list: ExpectList, e: ExpectEntry): string {
  return `${list.file}:${e.line}`;
}

/**
 * Matches a list against results. `knownTargets` are every target name the
 * suite has (an entry naming another target is stale).
 *
 * @example
 * ```ts
 * import { expectOutcome, parseExpectList } from "./expect.ts";
 * import assert from "node:assert/strict";
 * const list = parseExpectList("inflate.pfn.max-256\nno.such.case\n", "x");
 * const results = [{ case: "inflate.pfn.max-256", target: "t", verdict: "pass" as const, level: "MUST" as const, findings: [], rerun: "", ms: 0 }];
 * const out = expectOutcome(list, results, ["t"]);
 * assert.equal(out.problems.length, 2);
 * assert.match(out.problems[0]?.message ?? "", /passed/);
 * assert.match(out.problems[1]?.message ?? "", /does not exist/);
 * ```
 */
export function expectOutcome(
  list: ExpectList,
  results: readonly CaseResult[],
  knownTargets: readonly string[],
): ExpectOutcome {
  const expected: CaseResult[] = [];
  const problems: { entry: ExpectEntry; message: string }[] = [];
  const notRun: ExpectEntry[] = [];
  for (const e of list.entries) {
    if (caseById(e.case) === undefined) {
      problems.push({
        entry: e,
        message: `${where(list, e)}: lists case '${
          printable(e.case)
        }', which does not exist: remove the line`,
      });
      continue;
    }
    if (e.target !== undefined && !knownTargets.includes(e.target)) {
      problems.push({
        entry: e,
        message: `${where(list, e)}: names target '${
          printable(e.target ?? "")
        }', which does not exist: remove the line`,
      });
      continue;
    }
    const mine = results.filter((r) =>
      r.case === e.case && (e.target === undefined || r.target === e.target)
    );
    if (mine.length === 0) {
      notRun.push(e);
      continue;
    }
    for (const r of mine) {
      if (r.verdict === "fail" || r.verdict === "warn") {
        expected.push(r);
      } else if (r.verdict === "pass") {
        const scope = e.target === undefined ? " (limit the entry with 'target case-id')" : "";
        problems.push({
          entry: e,
          message: `${
            where(list, e)
          }: lists ${e.case}, which passed on ${r.target}: remove the line${scope}`,
        });
      }
    }
  }
  return { file: list.file, entries: list.entries.length, expected, problems, notRun };
}
