/**
 * Self-tests of the testee protocol's driver role:
 * - the whole driver suite (profiles v3 and virtio-1.x) through the
 *   protocol gives the same verdicts as in-process, for the reference
 *   drivers, the seed as posted and a sample of driver mutants (each run in
 *   a `reference_driver_testee.ts` process); the differences that remain
 *   are listed with their reason, and must still be there;
 * - bad driver testees (not JSON, a missing field, another version, a write
 *   outside RAM, a free of pages never taken, a hang, a crash) each give
 *   `error` verdicts naming the message and the field, without a stack
 *   trace, and the next scenario runs on a fresh process.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CASES } from "../../cases/cases.ts";
import { runSuite } from "../../run/suite.ts";
import { mutant } from "../mutants/mutants.ts";
import { REFERENCE_DRIVER, REFERENCE_DRIVER_V1X, V3_AS_POSTED } from "../reference/reference.ts";
import { commandLineOf } from "../bridge/process_bridge.ts";
import type { CaseResult, DriverTarget } from "../../model/types.ts";
import type { ProfileId } from "../../../spec/mod.ts";
import { processDriverTarget } from "./driver_target.ts";
import { testeeDrivers } from "./reference_driver_testee.ts";

const HERE = new URL(".", import.meta.url).pathname;
const DENO = Deno.execPath();

/** D-05: the misc work runs in interrupt context and waits for the device there. */
const D05 =
  "in-process fail, through the protocol pass: the driver blocks in interrupt context (D-05), which only the scheduler running its tasks can see, and that scheduler is the testee's own: no line of the protocol says a driver blocked in its interrupt handler";

/**
 * Verdicts that differ through the protocol, by target and case, with the
 * reason: what the protocol cannot show the suite. These are all the
 * differences of every driver target the testee can be (both references,
 * the seed as posted and 135 driver mutants: 48,456 verdicts; run them all
 * with DRIVER_TESTEE_ALL=1, about 4 minutes; driver:stats-two-buffers and
 * its virtio-1.x twin are left out: each of their steps runs to the step
 * budget in-process, minutes a run); each target here runs below, so that
 * a difference that goes away fails.
 */
const KNOWN: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "v3-as-posted": { "misc.deferred": D05 },
  "quirk:D-05": { "misc.deferred": D05 },
  "driver:misc-hint-used-page": {
    "misc.hints-free-only":
      "in-process fail, through the protocol pass: the mutant hints the lowest page of the guest's workload (the guest model's own record, which a real driver cannot see and no line of the protocol tells it): behind the protocol that set is empty, and the page it falls back to, its scratch page at the top of RAM, lies outside the first window, so it hints nothing wrong",
  },
  "v1x-driver:hint-used-page": {
    "hint.free-pages-only":
      "in-process fail, through the protocol pass: the mutant adds the lowest page of the guest's workload to a hint (the guest model's own record, which no line of the protocol tells a driver): behind the protocol that set is empty and it adds none",
    "hint.release-on-done":
      "in-process warn, through the protocol pass: the workload page the mutant hinted stays held after DONE; behind the protocol it hinted none (as above)",
  },
};

function driverTestee(name: string, profile: ProfileId, onStart?: (pid: number) => void) {
  return processDriverTarget({
    command: {
      command: DENO,
      args: ["run", "--allow-read", `${HERE}reference_driver_testee.ts`, name],
    },
    profile,
    name: `testee:${name}`,
    // a poison fill is thousands of page writes between two waits: slow on a loaded machine
    stepTimeoutMs: 60_000,
    transcriptDir: Deno.makeTempDirSync({ prefix: "driver-testee-test-" }),
    ...(onStart === undefined ? {} : { onStart }),
  });
}

function results(target: DriverTarget, profile: ProfileId): Map<string, CaseResult> {
  const cases = CASES.filter((k) => k.role === "driver" && k.profile === profile);
  const run = runSuite({ cases, targets: [target] });
  return new Map(run.results.map((r) => [r.case, r]));
}

function sameVerdicts(
  inProcess: DriverTarget,
  name: string,
  options: { mutant?: boolean } = {},
): void {
  const profile = inProcess.profile;
  const pids: number[] = [];
  const t = driverTestee(name, profile, (p) => pids.push(p));
  const known = KNOWN[name] ?? {};
  try {
    const a = results(inProcess, profile);
    if (options.mutant === true) {
      assert.ok(
        [...a.values()].some((r) => r.verdict === "fail" || r.verdict === "warn"),
        "the mutant fails a case",
      );
    }
    const b = results(t, profile);
    assert.equal(b.size, a.size, "every case has a verdict through the protocol");
    const diffs = [...a].filter(([k, r]) => b.get(k)?.verdict !== r.verdict);
    const unexplained = diffs.filter(([k]) => known[k] === undefined).map(([k, r]) =>
      `${k}: in-process ${r.verdict}, through the protocol ${b.get(k)?.verdict} (${
        b.get(k)?.message ?? b.get(k)?.findings.find((f) => !f.ok)?.message ?? ""
      })`
    );
    assert.deepEqual(unexplained, [], `${name}: verdicts differ`);
    const gone = Object.keys(known).filter((k) => !diffs.some(([d]) => d === k));
    assert.deepEqual(gone, [], `${name}: known differences that are gone (update KNOWN)`);
    const errors = [...b.values()].filter((r) => r.verdict === "error");
    assert.deepEqual(
      errors.map((r) => `${r.case}: ${r.message}`),
      [],
      "no error through the protocol",
    );
  } finally {
    t.close();
  }
  // a scenario that leaves the driver inside a request (it waits for what never comes, as a
  // mutant may) has its process stopped, and the next scenario gets a fresh one
  if (options.mutant !== true) assert.equal(pids.length, 1, "one process served every scenario");
  for (const pid of pids) assert.equal(commandLineOf(pid), undefined, "the process was stopped");
}

Deno.test("driver testee: the reference driver through the protocol gives the in-process verdicts (v3)", () => {
  sameVerdicts(REFERENCE_DRIVER, "reference-driver");
});

Deno.test("driver testee: the reference driver through the protocol gives the in-process verdicts (virtio-1.x)", () => {
  sameVerdicts(REFERENCE_DRIVER_V1X, "reference-driver-v1x");
});

Deno.test("driver testee: the seed as posted through the protocol gives the in-process verdicts, but one it cannot show", () => {
  sameVerdicts(V3_AS_POSTED, "v3-as-posted", { mutant: true });
});

for (
  const name of [
    // MUST_TELL_HOST: pages given back before the deflate is used
    "driver:release-before-ack",
    // OOM: the managed page count (guest.managed, guest.free's managed) and the notifier (oom)
    "driver:managed-count-ignores-doom",
    // stats buffers (guest.stats)
    "driver:stats-varying-subset",
    // page bitmaps
    "driver:bit-order-msb-first",
    // the misc queue (guest.free-pages at each reply chunk)
    "driver:misc-no-done",
    // lifecycle: remove
    "driver:remove-without-deflate",
    // a big-endian guest (hello's endian): misc cmd and param read raw
    "quirk:D-07",
    // virtio-1.x: free page reporting (guest.free-blocks, guest.isolate, freed) and hinting
    "v1x-driver:report-no-wait",
    "v1x-driver:hint-no-stop",
    // the differences that remain (KNOWN)
    "quirk:D-05",
    "driver:misc-hint-used-page",
    "v1x-driver:hint-used-page",
  ]
) {
  const m = mutant(name);
  Deno.test(
    `driver testee: mutant ${name} through the protocol gives the in-process verdicts${
      KNOWN[name] === undefined ? "" : ", but those it cannot show"
    }`,
    () => {
      assert.ok(m !== undefined, `${name} is a mutant`);
      sameVerdicts(m.target as DriverTarget, name, { mutant: true });
    },
  );
}

Deno.test("driver testee: one command line serves device and driver targets", () => {
  const run = (file: string, ...args: string[]) => {
    const o = new Deno.Command(DENO, {
      args: ["run", "--allow-read", `${HERE}${file}`, ...args],
      stdin: "null",
    }).outputSync();
    return {
      code: o.code,
      out: new TextDecoder().decode(o.stdout),
      err: new TextDecoder().decode(o.stderr),
    };
  };
  for (const file of ["reference_testee.ts", "reference_driver_testee.ts"]) {
    const list = run(file, "--list");
    assert.equal(list.code, 0);
    assert.match(list.out, /Device targets:\n {2}reference-device\n/);
    assert.match(
      list.out,
      /Driver targets \(the protocol's driver role\):\n {2}reference-driver\n {2}reference-driver-v1x\n {2}v3-as-posted\n/,
    );
    assert.match(list.out, /\n {2}driver:release-before-ack\n[^]*\n {2}v1x-driver:hint-no-stop\n/);
  }
  const bad = run("reference_testee.ts", "driver:no-such");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /'driver:no-such' is not a testee target: expected .*reference-driver/);
});

/** Targets too slow in-process to compare (every step runs to the step budget). */
const SLOW = ["driver:stats-two-buffers", "v1x-driver:stats-two-buffers"];

Deno.test({
  name:
    "driver testee: every driver target through the protocol gives the in-process verdicts, but those in KNOWN (DRIVER_TESTEE_ALL=1)",
  ignore: Deno.env.get("DRIVER_TESTEE_ALL") === undefined,
  fn: async (t) => {
    for (const target of testeeDrivers().filter((d) => !SLOW.includes(d.name))) {
      await t.step(target.name, () =>
        sameVerdicts(target, target.name, {
          mutant: target.name !== "reference-driver" && target.name !== "reference-driver-v1x",
        }));
    }
  },
});

// ---- bad driver testees ------------------------------------------------------------------------

function badDriver(mode: string, env: Record<string, string> = {}) {
  return {
    command: DENO,
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      `${HERE}testdata/bad_driver_testee.ts`,
      mode,
    ],
    env,
  };
}

/** The driver cases of the first two v3 scenarios that probe, on a bad driver testee: each scenario's results. */
function twoScenarios(
  mode: string,
  options: { readonly stepTimeoutMs?: number; readonly env?: Record<string, string> } = {},
): { first: CaseResult[]; second: CaseResult[]; pids: number[]; starts: number } {
  const pids: number[] = [];
  const log = Deno.makeTempFileSync({ prefix: "driver-testee-starts-" });
  const t = processDriverTarget({
    command: badDriver(mode, { ...options.env, BAD_TESTEE_STARTS: log }),
    transcriptDir: Deno.makeTempDirSync({ prefix: "driver-testee-test-" }),
    ...(options.stepTimeoutMs === undefined ? {} : { stepTimeoutMs: options.stepTimeoutMs }),
    onStart: (p) => pids.push(p),
  });
  const cases = CASES.filter((k) => k.role === "driver" && k.profile === "v3");
  const [s1, s2] = [...new Set(cases.map((k) => k.scenario))];
  try {
    const run = runSuite({
      cases: cases.filter((k) => k.scenario === s1 || k.scenario === s2),
      targets: [t],
    });
    const of = (s: string | undefined) =>
      run.results.filter((r) => cases.find((k) => k.id === r.case)?.scenario === s);
    const starts = Deno.readTextFileSync(log).split("\n").filter((l) => l !== "").length;
    return { first: of(s1), second: of(s2), pids, starts };
  } finally {
    t.close();
  }
}

function errorsNaming(rs: readonly CaseResult[], re: RegExp): void {
  assert.ok(rs.length > 0);
  for (const r of rs) {
    assert.equal(r.verdict, "error", `${r.case}: ${r.verdict}`);
    assert.match(r.message ?? "", re);
    assert.doesNotMatch(r.message ?? "", /\n\s+at /, "no stack trace");
  }
}

for (
  const [mode, re] of [
    [
      "not-json",
      /wrote a line that is not JSON while the suite awaited the reply to probe .*"this is not json \{"/,
    ],
    ["missing-field", /guest\.alloc from the testee has no field 'count'/],
    ["wrong-version", /the reply to hello: field 'protocol' is 2, expected 1/],
    [
      "oob-write",
      /mem\.write from the testee: field 'addr' 0xffffffffff with length 4 is outside guest RAM/,
    ],
    [
      "stray-free",
      /guest\.free from the testee: field 'pages' names 2 page\(s\) the driver did not take with guest\.alloc \(first 300\)/,
    ],
    [
      "crash",
      /exited while the suite awaited the reply to probe \(seq \d+\) \(exit code 3\).*segmentation fault \(pretend\)/s,
    ],
  ] as const
) {
  Deno.test(`driver testee: a driver that ${mode === "crash" ? "crashes mid-request" : `does ${mode}`} gives error verdicts naming the message and the field, and the next scenario a fresh process`, () => {
    const { first, second, pids, starts } = twoScenarios(mode);
    errorsNaming(first, re);
    errorsNaming(second, re);
    if (mode === "wrong-version") {
      // no session starts: the suite tries when it plans the run, then once for each scenario
      assert.equal(pids.length, 0);
      assert.equal(starts, 3);
    } else {
      assert.equal(pids.length, 2, "a process for each scenario");
      assert.equal(starts, 2);
    }
  });
}

Deno.test("driver testee: a driver that hangs in probe ends at the step timeout, and the next scenario gets a fresh process", () => {
  const t0 = performance.now();
  const { first, pids } = twoScenarios("hang", { stepTimeoutMs: 300 });
  errorsNaming(first, /No reply to probe \(seq \d+\) from .* within the step timeout of 300 ms/);
  assert.equal(pids.length, 2);
  assert.ok(performance.now() - t0 < 10_000, "bounded by the step timeouts");
});

Deno.test("driver testee: a crash is an error for its scenario only: the next one runs on a fresh process", () => {
  const dir = Deno.makeTempDirSync({ prefix: "driver-testee-test-" });
  const { first, second, pids } = twoScenarios("crash-once", {
    env: { BAD_TESTEE_MARK: `${dir}/mark` },
  });
  errorsNaming(first, /exited while the suite awaited the reply to probe/);
  assert.ok(second.length > 0 && second.every((r) => r.verdict !== "error"), "judged");
  assert.equal(pids.length, 2);
});
