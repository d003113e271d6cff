/**
 * Runs targets that live in other processes (QEMU) in parallel: each
 * (target, scenario) pair is one job, and a pool of child Deno processes —
 * as many as the machine has cores, or fewer — takes jobs as they free up.
 * A child rebuilds the target from its {@link TargetRecipe} (a module and an
 * exported factory, called with JSON arguments: a target's functions cannot
 * cross processes) and runs the job's cases with `runSuite`, which stays
 * synchronous. Results come back in the order `runSuite` would give them on
 * one thread: by target, then by scenario in case order.
 *
 * Why processes and not workers: a target's process bridge is itself a
 * worker, and a Deno worker cannot start a nested worker while it blocks in
 * `Atomics.wait` — measured, each nested start then took about a second
 * (against 20 ms from a main thread), which made a worker pool three times
 * slower than one thread. A child process is a main thread.
 *
 * The protocol is one JSON line per job on the child's stdin and one per
 * reply on its stdout (bytes as base64); see `suite_child.ts`.
 *
 * @module
 */

import { LineStream } from "../model/text.ts";
import { caseLevel } from "../cases/cases.ts";
import type { CaseDef, CaseResult, Target } from "../model/types.ts";
import { rerunCommand, type RunOptions, type SuiteRun } from "./suite.ts";
import { type ChildJob, type ChildReply, fromJsonLine, toJsonLine } from "./suite_child.ts";

/** How a child process rebuilds a target: `import(module)[factory](...args)`. */
export interface TargetRecipe {
  /** Module URL (usually `import.meta.url` of the target's module). */
  readonly module: string;
  /** Name of the exported function that returns the target. */
  readonly factory: string;
  /** Its arguments (plain JSON). */
  readonly args: readonly unknown[];
}

/** A target and how a child process rebuilds it. */
export interface WorkerTarget {
  /** The target (its name, kind, profile and description, for the results and reports). */
  readonly target: Target;
  /** How a child process rebuilds it. */
  readonly recipe: TargetRecipe;
}

/** Options of {@link runSuiteInWorkers}. */
export interface ParallelRunOptions {
  /** Cases to run. */
  readonly cases: readonly CaseDef[];
  /** Targets to run them on. */
  readonly targets: readonly WorkerTarget[];
  /** SHOULD failures count as failures. */
  readonly strict?: boolean;
  /** Most jobs at once: child processes (default: the number of cores). */
  readonly concurrency?: number;
  /** Called after each job (one scenario on one target). */
  readonly onProgress?: RunOptions["onProgress"];
}

/** The default concurrency: the machine's cores. */
export function defaultConcurrency(): number {
  return Math.max(1, navigator.hardwareConcurrency ?? 1);
}

/** `--allow-*` flags for a child: the permissions this process has, no more. */
function permissionFlags(): string[] {
  const names = ["read", "write", "env", "run", "net", "sys", "ffi"] as const;
  return names.filter((name) => Deno.permissions.querySync({ name }).state === "granted").map((
    name,
  ) => `--allow-${name}`);
}

/** One child process that runs jobs one at a time. */
class Child {
  #proc: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;

  constructor() {
    const module = new URL("./suite_child.ts", import.meta.url);
    this.#proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--no-prompt", ...permissionFlags(), module.href],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      ...(module.protocol === "file:" ? { cwd: new URL("../../", module).pathname } : {}),
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.#lines = this.#proc.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      new LineStream(),
    )[Symbol.asyncIterator]();
  }

  /** Runs one job; a child that dies or answers nonsense gives an error reply. */
  async run(job: ChildJob): Promise<ChildReply> {
    try {
      await this.#writer.write(new TextEncoder().encode(toJsonLine(job)));
      const next = await this.#lines.next();
      if (next.done === true) {
        const status = await this.#proc.status;
        return {
          job: job.job,
          error: `the child process running the job exited (code ${status.code}${
            status.signal === null ? "" : `, ${status.signal}`
          }) before it answered`,
        };
      }
      return fromJsonLine(next.value) as ChildReply;
    } catch (e) {
      return { job: job.job, error: `the child process failed: ${(e as Error).message}` };
    }
  }

  /** Ends the child (stdin closed: it exits) and waits for it. */
  async close(): Promise<void> {
    try {
      await this.#writer.close();
    } catch {
      // already gone
    }
    await this.#proc.status;
  }

  /** Kills it by its pid (after a failure). */
  async kill(): Promise<void> {
    try {
      this.#proc.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#proc.status;
  }
}

/**
 * Runs `cases` on `targets` in a pool of child processes; the same results
 * as `runSuite` on one thread. A child that cannot rebuild a target, or that
 * dies, makes that job's cases `error` with the reason.
 */
export async function runSuiteInWorkers(options: ParallelRunOptions): Promise<SuiteRun> {
  const t0 = performance.now();
  const strict = options.strict ?? false;
  const concurrency = options.concurrency ?? defaultConcurrency();
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`Invalid concurrency: ${concurrency}, expected a positive integer`);
  }
  const groups = new Map<string, CaseDef[]>();
  for (const k of options.cases) {
    const list = groups.get(k.scenario) ?? [];
    list.push(k);
    groups.set(k.scenario, list);
  }
  const jobs: { target: WorkerTarget; scenario: string; cases: CaseDef[] }[] = [];
  for (const t of options.targets) {
    for (const [scenario, cases] of groups) {
      const mine = cases.filter((k) => k.role === t.target.kind && k.profile === t.target.profile);
      if (mine.length > 0) jobs.push({ target: t, scenario, cases: mine });
    }
  }
  const out: (readonly CaseResult[])[] = jobs.map(() => []);
  let next = 0;
  let done = 0;
  const slot = async (): Promise<void> => {
    let child = new Child();
    try {
      for (;;) {
        const n = next++;
        const job = jobs[n];
        if (job === undefined) return;
        const reply = await child.run({
          job: n,
          recipe: job.target.recipe,
          cases: job.cases.map((k) => k.id),
          strict,
        });
        if ("results" in reply && reply.job === n) out[n] = reply.results;
        else {
          const why = "error" in reply ? reply.error : `the child answered job ${reply.job}`;
          out[n] = job.cases.map((k) => ({
            case: k.id,
            target: job.target.target.name,
            verdict: "error" as const,
            level: caseLevel(k),
            findings: [],
            message: why,
            rerun: rerunCommand(k.id, job.target.target.name),
            ms: 0,
          }));
          // a child that failed may be unusable: the next job gets a fresh one
          await child.kill();
          child = new Child();
        }
        done++;
        options.onProgress?.(done, jobs.length, `${job.target.target.name} ${job.scenario}`);
      }
    } finally {
      await child.close();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, () => slot()));
  return {
    results: out.flat(),
    cases: options.cases,
    targets: options.targets.map((t) => t.target),
    strict,
    ms: performance.now() - t0,
  };
}
