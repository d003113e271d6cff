/**
 * The C example device (`examples/c/device.c`), built with the system `cc`:
 * it passes every device case it claims (no fail, warn or error; the rest
 * unsupported because it does not offer their features), and each
 * `-DBREAK_…` switch (`c_switches.ts`) makes its cases fail (or warn, for a
 * SHOULD rule).
 * Also: `--device-cmd` on the command line, its usage errors, and the
 * rerun command of a failure.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CASES } from "../../cases/cases.ts";
import { runSuite } from "../../run/suite.ts";
import { C_SWITCHES } from "./c_switches.ts";
import { processDeviceTarget } from "./target.ts";
import { parseTranscript } from "./replay.ts";
import { buildExample, conform, replayOn } from "./testdata/c_examples.ts";

const DIR = Deno.makeTempDirSync({ prefix: "c-example-" });
const build = (defines: readonly string[] = []) => buildExample("device", DIR, defines);

const DEVICE_CASES = CASES.filter((k) => k.role === "device" && k.profile === "v3");

function run(binary: string, filter?: (id: string) => boolean) {
  const t = processDeviceTarget({ command: binary });
  try {
    return runSuite({
      cases: filter === undefined ? DEVICE_CASES : DEVICE_CASES.filter((k) => filter(k.id)),
      targets: [t],
    });
  } finally {
    t.close();
  }
}

Deno.test("examples/c: the device passes every case it claims", () => {
  const r = run(build());
  const bad = r.results.filter((x) => x.verdict !== "pass" && x.verdict !== "unsupported");
  assert.deepEqual(bad.map((x) => `${x.case}: ${x.verdict} ${x.message ?? ""}`), []);
  const passed = r.results.filter((x) => x.verdict === "pass").length;
  assert.ok(passed >= 25, `${passed} cases passed`);
  // what is unsupported is so because the device does not offer a feature or host control
  for (const x of r.results.filter((x) => x.verdict === "unsupported")) {
    assert.match(x.message ?? "", /does not offer|cannot observe|cannot issue/, x.case);
  }
});

for (const { define, kills, verdict } of C_SWITCHES) {
  Deno.test(`examples/c: -D${define} makes ${kills.join(", ")} ${verdict}`, () => {
    const r = run(build([define]), (k) => kills.includes(k));
    assert.deepEqual(
      kills.map((id) => [id, r.results.find((x) => x.case === id)?.verdict]),
      kills.map((id) => [id, verdict]),
    );
  });
}

Deno.test("examples/c: --device-cmd on the command line shows verdicts, evidence and the rerun command", () => {
  const bin = build(["BREAK_USED_LEN"]);
  const r = conform("--device-cmd", bin, "--filter", "device.pfn.*", "--report", "none");
  assert.equal(r.code, 1, r.err);
  assert.match(r.out, /FAIL device\.pfn\.used-len on device-cmd:/);
  assert.match(
    r.out,
    /rerun: deno task conform --device-cmd .*device-BREAK_USED_LEN --filter 'device\.pfn\.used-len'/,
  );
  // the evidence: the device's own writes, as recorded, the used element with its wrong length decoded
  assert.match(r.out, /the device's memory writes in this scenario, as recorded/);
  assert.match(r.out, /mem\.write 0x[0-9a-f]+ \+8: queue 0 used\[0\] id=0 len=1024/);
  const ok = conform("--device-cmd", build(), "--filter", "device.pfn.*", "--report", "none");
  assert.equal(ok.code, 0, ok.out + ok.err);
});

Deno.test("examples/c: bad --device-cmd and --step-timeout values are usage errors naming flag and value", () => {
  const missing = conform("--device-cmd", "./no/such/device");
  assert.equal(missing.code, 2);
  assert.match(
    missing.err,
    /^error: --device-cmd '\.\/no\/such\/device': \.\/no\/such\/device is not an executable file/,
  );
  const quote = conform("--device-cmd", "./dev 'open");
  assert.equal(quote.code, 2);
  assert.match(
    quote.err,
    /--device-cmd '\.\/dev 'open' is not a command line: unterminated ' quote/,
  );
  const empty = conform("--device-cmd", "  ");
  assert.match(empty.err, /--device-cmd ' {2}' is not a command line: the command is empty/);
  const timeout = conform("--device-cmd", build(), "--step-timeout", "soon");
  assert.equal(timeout.code, 2);
  assert.match(
    timeout.err,
    /--step-timeout 'soon' is not a duration: expected a whole number of milliseconds/,
  );
  const both = conform("--device-cmd", build(), "--profile", "all");
  assert.match(both.err, /--device-cmd runs one profile at a time/);
  const driver = conform("--driver-cmd", "./my-driver");
  assert.equal(driver.code, 2);
  assert.match(
    driver.err,
    /--driver-cmd '\.\/my-driver': \.\/my-driver is not an executable file \(build it first/,
  );
  for (const r of [missing, quote, empty, timeout, both, driver]) {
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
  }
});

Deno.test("examples/c: a scenario's transcript replays exactly, and a broken build differs at the used length", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "c-example-transcripts-" });
  const bin = build();
  const t = processDeviceTarget({ command: bin, transcriptDir: dir, transcripts: "all" });
  try {
    runSuite({ cases: DEVICE_CASES.filter((k) => k.id === "device.pfn.used-len"), targets: [t] });
  } finally {
    t.close();
  }
  const files = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`);
  assert.equal(files.length, 1);
  const lines = parseTranscript(Deno.readTextFileSync(files[0] as string));
  assert.equal(lines[0]?.dir, ">");
  assert.match(lines[0]?.text ?? "", /"op":"hello"/);

  assert.equal(await replayOn(lines, bin), undefined);
  const diff = await replayOn(lines, build(["BREAK_USED_LEN"]));
  assert.ok(diff !== undefined);
  assert.match(diff.expected, /"op":"mem\.write"/);
  assert.notEqual(diff.got, diff.expected);
  assert.throws(
    () => parseTranscript("> {}\nnot a line\n"),
    /line 2 of the transcript starts with "no"/,
  );
});
