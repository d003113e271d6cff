/**
 * Registers the conformance suite in someone else's `deno test`: one
 * `Deno.test` per area, one step per case, against their driver or device.
 *
 * @module
 */

import { hexdump } from "../model/evidence.ts";
import { CASES } from "../cases/cases.ts";
import { matchesPattern } from "../targets/mutants/mutants.ts";
import { runSuite, type SuiteRun } from "./suite.ts";
import type { CaseDef, CaseResult, Target } from "../model/types.ts";

/** Options of {@link registerConformance}. */
export interface RegisterOptions {
  /** Case ids or `*` globs to run (default: every case of the target's role and profile). */
  readonly filter?: readonly string[];
  /** Case ids expected to fail: they must fail (a listed case that passes fails the step). */
  readonly expectFail?: readonly string[];
  /** SHOULD failures fail the step. */
  readonly strict?: boolean;
}

function explain(r: CaseResult): string {
  const f = r.findings.find((x) => !x.ok);
  const lines = [`${r.case}: ${r.verdict}${r.message ? ` (${r.message})` : ""}`];
  if (f !== undefined) {
    lines.push(`${f.rule}: ${f.message}`);
    if (f.expected !== undefined) lines.push(`expected: ${f.expected}`);
    if (f.actual !== undefined) lines.push(`actual:   ${f.actual}`);
    if (f.evidence !== undefined) lines.push(hexdump(f.evidence));
  }
  lines.push(`rerun: ${r.rerun}`);
  return lines.join("\n");
}

/**
 * Adds one `Deno.test` per area of the suite, with one step per case, that
 * runs the cases against `target` and fails a step when its case fails.
 *
 * @example
 * ```ts ignore
 * import { registerConformance, type DriverTarget } from "../mod.ts";
 * import { MyDriver } from "../my_driver.ts";
 * const mine: DriverTarget = {
 *   kind: "driver", name: "my-driver", description: "My balloon driver", profile: "v3",
 *   create: ({ guest, transport }) => new MyDriver(guest, transport),
 * };
 * registerConformance(mine, { expectFail: ["misc.hints-complete"] });
 * ```
 */
export function registerConformance(target: Target, options: RegisterOptions = {}): void {
  const cases = CASES.filter((k) =>
    k.role === target.kind && k.profile === target.profile &&
    (options.filter === undefined || options.filter.some((p) => matchesPattern(k.id, p)))
  );
  const areas = new Map<string, CaseDef[]>();
  for (const k of cases) {
    const list = areas.get(k.area) ?? [];
    list.push(k);
    areas.set(k.area, list);
  }
  let run: SuiteRun | undefined;
  const results = (): Map<string, CaseResult> => {
    run ??= runSuite({ cases, targets: [target], strict: options.strict ?? false });
    return new Map(run.results.map((r) => [r.case, r]));
  };
  const expected = new Set(options.expectFail ?? []);
  for (const [area, list] of areas) {
    Deno.test(`conformance ${target.name}: ${area}`, async (t) => {
      const byCase = results();
      for (const k of list) {
        await t.step(`${k.id} (${k.rules.join(", ")})`, () => {
          const r = byCase.get(k.id);
          if (r === undefined) throw new Error(`${k.id}: no result`);
          const failed = r.verdict === "fail" || r.verdict === "error";
          if (expected.has(k.id)) {
            if (!failed && r.verdict !== "warn") {
              throw new Error(`${k.id} is listed as expected to fail, but it passes`);
            }
            return;
          }
          if (failed) throw new Error(explain(r));
        });
      }
    });
  }
}
