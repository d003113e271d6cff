/**
 * Self-tests of the testee protocol:
 * - the device cases through the protocol give the same verdicts as
 *   in-process, for the reference devices and a sample of mutants (each run
 *   in a `reference_testee.ts` process), but for those judged from the
 *   device's own memory writes: unsupported in-process, passed through the
 *   protocol;
 * - bad testees (not JSON, a missing field, a wrong type, another version,
 *   a read outside RAM, a hang, a crash, a wrong seq, two outcomes) each give
 *   a TargetError naming the message and field, with the conversation's last
 *   lines and the stderr tail, and no stack trace;
 * - in a run, a crashing testee gives its scenario's cases `error` verdicts
 *   and the next scenario runs on a fresh process;
 * - `unsupported` replies make cases `unsupported`, never passes;
 * - the generated files are up to date.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CASES } from "../../cases/cases.ts";
import { runSuite } from "../../run/suite.ts";
import { mutant } from "../mutants/mutants.ts";
import { REFERENCE_DEVICE, REFERENCE_DEVICE_V1X } from "../reference/reference.ts";
import { TargetError } from "../bridge/target_error.ts";
import { commandLineOf } from "../bridge/process_bridge.ts";
import type { DeviceTarget } from "../../model/types.ts";
import type { ProfileId } from "../../../spec/mod.ts";
import { checkTesteeLine, protocolSchema, ProtocolViolation } from "./protocol.ts";
import { splitCommand, TesteeSession } from "./session.ts";
import { processDeviceTarget } from "./target.ts";
import { generated } from "../../../scripts/testee_doc.ts";

const HERE = new URL(".", import.meta.url).pathname;
const DENO = Deno.execPath();

function referenceTestee(name: string, profile: ProfileId, onStart?: (pid: number) => void) {
  return processDeviceTarget({
    command: { command: DENO, args: ["run", "--allow-read", `${HERE}reference_testee.ts`, name] },
    profile,
    name: `testee:${name}`,
    transcriptDir: Deno.makeTempDirSync({ prefix: "testee-test-" }),
    ...(onStart === undefined ? {} : { onStart }),
  });
}

function badTestee(mode: string, op = "notify", env: Record<string, string> = {}) {
  return {
    command: DENO,
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      `${HERE}testdata/bad_testee.ts`,
      mode,
      op,
    ],
    env,
  };
}

function verdicts(target: DeviceTarget, profile: ProfileId): Map<string, string> {
  const cases = CASES.filter((k) => k.role === "device" && k.profile === profile);
  const run = runSuite({ cases, targets: [target] });
  return new Map(run.results.map((r) => [r.case, r.verdict]));
}

/** Cases that rest on the device's own memory writes alone (only a port that serves them has them). */
const WRITES_ONLY: ReadonlySet<string> = new Set(
  CASES.filter((k) =>
    (k.observes ?? []).length > 0 && k.observes?.every((o) => o === "device-writes")
  )
    .map((k) => k.id),
);

function sameVerdicts(inProcess: DeviceTarget, name: string, profile: ProfileId): void {
  const pids: number[] = [];
  const t = referenceTestee(name, profile, (p) => pids.push(p));
  try {
    const a = verdicts(inProcess, profile);
    const b = verdicts(t, profile);
    const diffs = [...a].filter(([k, v]) => !WRITES_ONLY.has(k) && b.get(k) !== v).map((
      [k, v],
    ) => `${k}: in-process ${v}, through the protocol ${b.get(k)}`);
    assert.deepEqual(diffs, [], `${name}: verdicts differ`);
    // judged from the device's own writes: unsupported in-process (its ring is the suite's code),
    // passed through the protocol (the deviations of in-process mutants leave the ring alone)
    const writes = [...a].filter(([k]) => WRITES_ONLY.has(k));
    assert.ok(writes.length > 0, "cases judged from the device's writes");
    assert.deepEqual(
      writes.filter(([k, v]) => v !== "unsupported" || b.get(k) !== "pass").map(([k, v]) =>
        `${k}: in-process ${v}, through the protocol ${b.get(k)}`
      ),
      [],
      `${name}: the cases judged from the device's writes`,
    );
    assert.equal(b.size, a.size, "every case has a verdict through the protocol");
  } finally {
    t.close();
  }
  assert.equal(pids.length, 1, "one process served every scenario");
  assert.equal(commandLineOf(pids[0] as number), undefined, "the process was stopped");
}

Deno.test("testee: the reference device through the protocol gives the in-process verdicts (v3)", () => {
  sameVerdicts(REFERENCE_DEVICE, "reference-device", "v3");
});

Deno.test("testee: the reference device through the protocol gives the in-process verdicts (virtio-1.x)", () => {
  sameVerdicts(REFERENCE_DEVICE_V1X, "reference-device-v1x", "virtio-1.x");
});

for (
  const name of [
    "device:ack-before-process",
    "device:pfn-cap-256",
    "device:notify-never",
    "device:no-dirty-log",
    "device:stops-at-ring-wrap",
    "v1x-device:hint-late-discard",
    "v1x-device:report-ignores-poison",
  ]
) {
  const m = mutant(name);
  Deno.test(`testee: mutant ${name} through the protocol gives the in-process verdicts`, () => {
    assert.ok(m !== undefined, `${name} is a mutant`);
    const target = m.target as DeviceTarget;
    const profile = target.profile;
    const a = verdicts(target, profile);
    assert.ok([...a.values()].some((v) => v === "fail" || v === "warn"), "the mutant fails a case");
    sameVerdicts(target, name, profile);
  });
}

/** The TargetError `fn` throws. */
function targetError(fn: () => unknown): TargetError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TargetError, `expected a TargetError, got ${e}`);
    assert.doesNotMatch(e.message, /\n\s+at /, "no stack trace");
    return e;
  }
  assert.fail("expected a TargetError, nothing was thrown");
}

function misbehave(mode: string, timeoutMs = 5_000, op = "notify"): TargetError {
  const s = targetError(() => {
    const s = TesteeSession.start({
      ...badTestee(mode, op),
      role: "device",
      profile: "v3",
      stepTimeoutMs: timeoutMs,
      transcriptDir: Deno.makeTempDirSync({ prefix: "testee-test-" }),
    });
    try {
      s.begin("scenario", 16, "le");
      if (op === "status.write") {
        s.post("status.write", { value: 1 });
        s.request("status.read", {});
      } else s.request("notify", { queue: 0 });
    } finally {
      s.close();
    }
  });
  return s;
}

Deno.test("testee: a line that is not JSON is an error naming the request awaited and the line", () => {
  const e = misbehave("not-json");
  assert.equal(e.kind, "bad-reply");
  assert.match(e.message, /not JSON while the suite awaited the reply to notify \(seq \d+\)/);
  assert.match(e.message, /this is not json \{/);
  assert.match(
    e.message,
    /last lines of the conversation: .*> \{"seq":\d+,"op":"notify".* \| < this is not json \{/,
  );
});

Deno.test("testee: a missing field names the message and the field", () => {
  const e = misbehave("missing-field");
  assert.match(e.message, /mem\.read from the testee has no field 'addr' \(expected a hex string/);
});

Deno.test("testee: a field of the wrong type names the message, the field and the value", () => {
  const e = misbehave("bad-type");
  assert.match(e.message, /mem\.read from the testee: field 'len' is "4", expected an integer/);
});

Deno.test("testee: a read outside guest RAM is an error naming the address", () => {
  const e = misbehave("oob-read");
  assert.match(
    e.message,
    /mem\.read from the testee: field 'addr' 0xffffffffff with length 4 is outside guest RAM/,
  );
});

Deno.test("testee: a hang ends at the step timeout", () => {
  const t0 = performance.now();
  const e = misbehave("hang", 400);
  assert.equal(e.kind, "timeout");
  assert.match(
    e.message,
    /No reply to notify \(seq \d+\) from .* within the step timeout of 400 ms/,
  );
  assert.ok(performance.now() - t0 < 4_000, "bounded by the step timeout");
});

Deno.test("testee: a crash is an error with the exit code and the stderr tail", () => {
  const e = misbehave("crash");
  assert.match(e.message, /exited while the suite awaited the reply to notify/);
  assert.match(e.message, /segmentation fault \(pretend\)/);
});

Deno.test("testee: a reply with another seq, or with two outcomes, is an error naming the field", () => {
  assert.match(misbehave("wrong-seq").message, /the reply's field 'seq' is \d+, expected \d+/);
  assert.match(
    misbehave("two-outcomes").message,
    /has result and errored of result, unsupported, errored; expected exactly one/,
  );
});

Deno.test("testee: an event while a pipelined request is handled is an error naming both", () => {
  const e = misbehave("event", 5_000, "status.write");
  assert.match(
    e.message,
    /event from the testee while it handled status\.write \(seq \d+\), which must not read memory or raise events/,
  );
  // the same event inside a request that is not pipelined is delivered
  const s = TesteeSession.start({ ...badTestee("event", "notify"), role: "device", profile: "v3" });
  try {
    s.begin("scenario", 16, "le");
    s.request("notify", { queue: 0 });
    assert.deepEqual(s.events, [{ event: "config" }]);
  } finally {
    s.close();
  }
});

Deno.test("testee: another protocol version in the hello is an error naming the field", () => {
  const e = targetError(() =>
    TesteeSession.start({ ...badTestee("wrong-version"), role: "device", profile: "v3" })
  );
  assert.match(e.message, /the reply to hello: field 'protocol' is 2, expected 1/);
});

Deno.test("testee: in a run, a crash is an error verdict for its scenario, and the next scenario gets a fresh process", () => {
  const dir = Deno.makeTempDirSync({ prefix: "testee-test-" });
  const pids: number[] = [];
  const t = processDeviceTarget({
    command: badTestee("crash-once", "status.write", { BAD_TESTEE_MARK: `${dir}/mark` }),
    transcriptDir: dir,
    onStart: (p) => pids.push(p),
  });
  const cases = CASES.filter((k) => k.role === "device" && k.profile === "v3");
  const scenarios = [...new Set(cases.map((k) => k.scenario))].slice(0, 2);
  try {
    const run = runSuite({
      cases: cases.filter((k) => scenarios.includes(k.scenario)),
      targets: [t],
    });
    const first = run.results.filter((r) =>
      cases.find((k) => k.id === r.case)?.scenario === scenarios[0]
    );
    const second = run.results.filter((r) =>
      cases.find((k) => k.id === r.case)?.scenario === scenarios[1]
    );
    assert.ok(first.length > 0 && first.every((r) => r.verdict === "error"));
    assert.match(
      first[0]?.message ?? "",
      /exited while the suite awaited the reply to status\.write/,
    );
    assert.match(first[0]?.message ?? "", /crashing once/);
    assert.match(first[0]?.message ?? "", /every line of the scenario: /);
    assert.ok(second.length > 0 && second.every((r) => r.verdict !== "error"));
    assert.equal(pids.length, 2);
    assert.match(first[0]?.rerun ?? "", /^deno task conform --device-cmd '.*' --filter '/);
  } finally {
    t.close();
  }
});

Deno.test("testee: an unsupported reply makes the scenario's cases unsupported, with the testee's reason", () => {
  const t = processDeviceTarget({ command: badTestee("unsupported", "reset") });
  const cases = CASES.filter((k) => k.role === "device" && k.profile === "v3").slice(0, 3);
  try {
    const run = runSuite({ cases, targets: [t] });
    assert.ok(run.results.every((r) => r.verdict === "unsupported"));
    assert.match(run.results[0]?.message ?? "", /unsupported: reset is not implemented here/);
  } finally {
    t.close();
  }
});

Deno.test("testee: an errored reply is an error verdict, and the process goes on", () => {
  const pids: number[] = [];
  const t = processDeviceTarget({
    command: badTestee("errored", "features.read"),
    onStart: (p) => pids.push(p),
  });
  const cases = CASES.filter((k) => k.role === "device" && k.profile === "v3");
  const two = [...new Set(cases.map((k) => k.scenario))].slice(0, 2);
  try {
    const run = runSuite({ cases: cases.filter((k) => two.includes(k.scenario)), targets: [t] });
    assert.ok(run.results.every((r) => r.verdict === "error"));
    assert.match(
      run.results[0]?.message ?? "",
      /answered features\.read with errored: the device fell over/,
    );
    assert.equal(pids.length, 1);
  } finally {
    t.close();
  }
});

Deno.test("testee: line checks and command splitting", () => {
  assert.throws(
    () => checkTesteeLine('{"op":"notify","seq":3}', { op: "notify", seq: 3 }),
    (e) =>
      e instanceof ProtocolViolation &&
      /sent op "notify", expected one of mem\.read, mem\.write, mem\.discard, event \(a device's messages\)/
        .test(e.message),
  );
  // a driver's calls are not a device's, and a device's events not a driver's
  assert.throws(
    () => checkTesteeLine('{"op":"dev.notify","queue":0}', { op: "notify", seq: 3 }),
    /sent op "dev\.notify", expected one of mem\.read, mem\.write, mem\.discard, event/,
  );
  assert.throws(
    () =>
      checkTesteeLine('{"op":"event","event":"config"}', { op: "probe", seq: 3, role: "driver" }),
    /sent op "event", expected one of mem\.read, mem\.write, dev\.status\.read, .* \(a driver's messages\)/,
  );
  assert.throws(
    () => checkTesteeLine('{"op":"guest.alloc","id":2}', { op: "probe", seq: 3, role: "driver" }),
    /guest\.alloc from the testee has no field 'count'/,
  );
  assert.throws(
    () => checkTesteeLine('{"op":"wait"}', { op: "probe", seq: 3, role: "driver" }),
    /wait from the testee has no field 'id'/,
  );
  assert.throws(
    () => checkTesteeLine('{"op":"event","event":"used"}', { op: "notify", seq: 3 }),
    /event from the testee has no field 'queue'/,
  );
  assert.throws(
    () => checkTesteeLine('{"seq":3,"result":{"value":"12"}}', { op: "features.read", seq: 3 }),
    /the reply to features\.read's result: field 'value' is "12", expected a hex string/,
  );
  assert.deepEqual(
    checkTesteeLine('{"seq":3,"result":{"value":"0x12"}}', { op: "features.read", seq: 3 }),
    { kind: "reply", seq: 3, outcome: { result: { value: "0x12" } } },
  );
  assert.deepEqual(splitCommand(`deno run 'a b.ts' c\\ d`), ["deno", "run", "a b.ts", "c d"]);
  assert.throws(() => splitCommand(`./dev 'open`), /unterminated ' quote/);
});

Deno.test("testee: the schema has a definition for every message and reply, and the generated files are current", () => {
  const s = protocolSchema() as { $defs: Record<string, unknown> };
  for (
    const k of ["hello", "hello_reply", "mem_read", "mem_read_answer", "event", "notify_reply"]
  ) {
    assert.ok(k in s.$defs, k);
  }
  const root = new URL("../../../", import.meta.url);
  const doc = Deno.readTextFileSync(new URL("docs/TESTEE-PROTOCOL.md", root));
  for (const [path, text] of Object.entries(generated(doc))) {
    assert.equal(
      Deno.readTextFileSync(new URL(path, root)),
      text,
      `${path} is out of date: run deno task testee-doc`,
    );
  }
});
