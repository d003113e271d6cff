/**
 * Problems found in a passive check's input (damaged lines, a cut file, time
 * going backwards, a device that may not be the balloon), each with the line
 * it is on and what it affects: every verdict that depends on an affected
 * event is reported `error` (unreliable), never pass or fail.
 *
 * What a problem affects:
 * - `"all"`: every checked rule (a line that is no trace line could have been
 *   any event; a device that may not be the balloon);
 * - `"order"`: every rule that depends on the order of events (time going
 *   backwards: logs joined, or a clock step);
 * - a list of event types: every rule that reads one of them (a line of a
 *   known event whose arguments do not parse, an element cut off).
 *
 * @module
 */

import type { TraceEvent } from "./format.ts";

/** What a problem makes unreliable. */
export type ProblemScope = "all" | "order" | readonly TraceEvent["type"][];

/** A problem in the input. */
export interface InputProblem {
  /** 1-based line of the input, or 0 for the input as a whole. */
  readonly line: number;
  /** What is wrong, in a sentence without the line number. */
  readonly message: string;
  /** What it makes unreliable. */
  readonly affects: ProblemScope;
}

/** The problem as one line of text: `line N: message`. */
export function problemText(p: InputProblem): string {
  return p.line > 0 ? `line ${p.line}: ${p.message}` : p.message;
}

/** Problems of one kind past the first few: how many, and what they affect together. */
interface Overflow {
  n: number;
  readonly more: (n: number) => string;
  affects: ProblemScope;
}

/**
 * A bounded list of problems: the first few of each kind in full, the rest
 * counted (a binary file has a problem on every line).
 *
 * @example
 * ```ts
 * import { ProblemList } from "./problems.ts";
 * import assert from "node:assert/strict";
 * const p = new ProblemList(2);
 * for (let i = 1; i <= 5; i++) {
 *   p.add("noise", { line: i, message: "not a trace line", affects: "all" }, (n) => `${n} more lines are not trace lines`);
 * }
 * assert.deepEqual(p.list().map((x) => x.message), ["not a trace line", "not a trace line", "3 more lines are not trace lines"]);
 * ```
 */
export class ProblemList {
  readonly #perKind: number;
  readonly #shown: InputProblem[] = [];
  readonly #counts = new Map<string, number>();
  readonly #overflow = new Map<string, Overflow>();

  /** Keeps `perKind` problems of each kind in full. */
  constructor(perKind = 5) {
    this.#perKind = perKind;
  }

  /** Adds a problem of a kind; `more` words the count of those past the first few. */
  add(kind: string, p: InputProblem, more?: (n: number) => string): void {
    const n = (this.#counts.get(kind) ?? 0) + 1;
    this.#counts.set(kind, n);
    if (n <= this.#perKind) {
      this.#shown.push(p);
      return;
    }
    const o = this.#overflow.get(kind);
    if (o === undefined) {
      this.#overflow.set(kind, {
        n: 1,
        more: more ?? ((k) => `${k} more problems like line ${p.line}'s`),
        affects: p.affects,
      });
    } else o.n++;
  }

  /** Whether any problem was added. */
  get size(): number {
    return [...this.#counts.values()].reduce((a, b) => a + b, 0);
  }

  /** The problems: the first few of each kind, then one line per kind for the rest. */
  list(): InputProblem[] {
    return [
      ...this.#shown,
      ...[...this.#overflow.values()].map((o) => ({
        line: 0,
        message: o.more(o.n),
        affects: o.affects,
      })),
    ];
  }
}

/**
 * Whether a problem makes a rule unreliable, given the event types the rule
 * reads and whether it depends on their order.
 */
export function affectsRule(
  scope: ProblemScope,
  check: { readonly uses: readonly TraceEvent["type"][]; readonly ordered: boolean },
): boolean {
  if (scope === "all") return true;
  if (scope === "order") return check.ordered;
  return scope.some((t) => check.uses.includes(t));
}
