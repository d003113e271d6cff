/**
 * The child process of {@link runSuiteInWorkers}: reads one job per line
 * on stdin (a target recipe and case ids), rebuilds the target, runs the
 * cases with `runSuite`, and writes one reply per line on stdout. Any
 * failure (a module that does not load, a factory that throws) is that
 * job's error reply. It exits when stdin closes.
 *
 * @module
 */

import { caseById } from "../cases/cases.ts";
import type { CaseDef, CaseResult, Target } from "../model/types.ts";
import type { TargetRecipe } from "./parallel.ts";
import { runSuite } from "./suite.ts";

/** One job: a target to rebuild and the cases of one scenario to run on it. */
export interface ChildJob {
  /** Job number (results are put back in this order). */
  readonly job: number;
  /** How to rebuild the target. */
  readonly recipe: TargetRecipe;
  /** The case ids. */
  readonly cases: readonly string[];
  /** SHOULD failures count as failures. */
  readonly strict: boolean;
}

/** What a child answers for one job. */
export type ChildReply =
  | { readonly job: number; readonly results: readonly CaseResult[] }
  | { readonly job: number; readonly error: string };

const BYTES = "$bytes";

/**
 * One value as a JSON line; byte arrays (evidence) as base64.
 *
 * @example
 * ```ts
 * import { fromJsonLine, toJsonLine } from "./suite_child.ts";
 * import assert from "node:assert/strict";
 * const line = toJsonLine({ bytes: new Uint8Array([1, 2, 255]) });
 * assert.ok(line.endsWith("\n"));
 * assert.deepEqual(fromJsonLine(line), { bytes: new Uint8Array([1, 2, 255]) });
 * ```
 */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (v instanceof Uint8Array) {
      let s = "";
      for (const b of v) s += String.fromCharCode(b);
      return { [BYTES]: btoa(s) };
    }
    return v;
  }) + "\n";
}

/** The value of a line written by {@link toJsonLine}. */
export function fromJsonLine(line: string): unknown {
  return JSON.parse(line, (_k, v) => {
    if (v !== null && typeof v === "object" && typeof v[BYTES] === "string") {
      const s = atob(v[BYTES]);
      return Uint8Array.from(s, (c) => c.charCodeAt(0));
    }
    return v;
  });
}

async function handle(job: ChildJob): Promise<ChildReply> {
  try {
    const mod = await import(job.recipe.module) as Record<string, unknown>;
    const factory = mod[job.recipe.factory];
    if (typeof factory !== "function") {
      return {
        job: job.job,
        error: `${job.recipe.module} exports no function ${job.recipe.factory}`,
      };
    }
    const target = factory(...job.recipe.args) as Target;
    const cases = job.cases.map((id) => {
      const k = caseById(id);
      if (k === undefined) throw new RangeError(`Invalid case id: ${id}, no such case`);
      return k;
    }) as CaseDef[];
    const run = runSuite({ cases, targets: [target], strict: job.strict });
    return { job: job.job, results: run.results };
  } catch (e) {
    return { job: job.job, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

async function main(): Promise<void> {
  const enc = new TextEncoder();
  let rest = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      const reply = await handle(fromJsonLine(line) as ChildJob);
      const out = enc.encode(toJsonLine(reply));
      for (let at = 0; at < out.length;) at += Deno.stdout.writeSync(out.subarray(at));
    }
  }
}

if (import.meta.main) await main();
