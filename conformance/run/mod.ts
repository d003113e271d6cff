/**
 * Running the suite: each scenario once per target, every case of it judged on
 * the run, verdicts with evidence (`suite.ts`); strict expected-failure lists
 * (`expect.ts`); `registerConformance()`, the suite inside a user's own
 * `deno test` (`register.ts`); and `runSuiteInWorkers()`, targets in other
 * processes (QEMU) run in parallel child processes (`parallel.ts`, with its
 * child `suite_child.ts`).
 *
 * May import: the rooms above it (`model/` … `cases/`); spec/ and impl/.
 *
 * @module
 */

export * from "./suite.ts";
export * from "./expect.ts";
export * from "./register.ts";
export {
  defaultConcurrency,
  type ParallelRunOptions,
  runSuiteInWorkers,
  type TargetRecipe,
  type WorkerTarget,
} from "./parallel.ts";
