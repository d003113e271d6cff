/**
 * The C example driver (`examples/c/driver.c`), built with the system `cc`:
 * through the testee protocol's driver role it passes every driver case it
 * claims on both profiles (no fail, warn or error; the rest unsupported
 * because it declares their features unsupported or cannot take the fault
 * the scenario injects), and each `-DBREAK_…` switch makes its cases fail
 * (or warn, for a SHOULD rule). Also: `--driver-cmd` on the command line
 * with the rerun command of a failure, and a scenario's transcript replayed.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProfileId } from "../../../spec/mod.ts";
import { CASES } from "../../cases/cases.ts";
import { runSuite } from "../../run/suite.ts";
import { processDriverTarget } from "./driver_target.ts";
import { parseTranscript } from "./replay.ts";
import { buildExample, conform, replayOn } from "./testdata/c_examples.ts";

const DIR = Deno.makeTempDirSync({ prefix: "c-driver-" });
const build = (defines: readonly string[] = []) => buildExample("driver", DIR, defines);

const driverCases = (profile: ProfileId) =>
  CASES.filter((k) => k.role === "driver" && k.profile === profile);

function run(
  binary: string,
  options: {
    readonly profile?: ProfileId;
    readonly only?: readonly string[];
    readonly transcriptDir?: string;
  } = {},
) {
  const profile = options.profile ?? "v3";
  const t = processDriverTarget({
    command: binary,
    profile,
    ...(options.transcriptDir === undefined
      ? {}
      : { transcriptDir: options.transcriptDir, transcripts: "all" as const }),
  });
  const cases = driverCases(profile);
  try {
    return runSuite({
      cases: options.only === undefined ? cases : cases.filter((k) => options.only?.includes(k.id)),
      targets: [t],
    });
  } finally {
    t.close();
  }
}

/** Why a case may be unsupported on the C driver: what it declares, and the bitmap fault it cannot take. */
const UNSUPPORTED_WHY =
  /the target declares (PAGE_BITMAP|MISC_VQ|INDIRECT_DESC|FREE_PAGE_HINT|PAGE_POISON|PAGE_REPORTING) unsupported|the testee answered probe with unsupported: this driver has no page bitmaps/;

for (const [profile, minimum] of [["v3", 195], ["virtio-1.x", 355]] as const) {
  Deno.test(`examples/c: the driver passes every ${profile} case it claims`, () => {
    const r = run(build(), { profile });
    const bad = r.results.filter((x) => x.verdict !== "pass" && x.verdict !== "unsupported");
    assert.deepEqual(bad.map((x) => `${x.case}: ${x.verdict} ${x.message ?? ""}`), []);
    const passed = r.results.filter((x) => x.verdict === "pass").length;
    assert.ok(passed >= minimum, `${passed} cases passed`);
    for (const x of r.results.filter((x) => x.verdict === "unsupported")) {
      assert.match(x.message ?? "", UNSUPPORTED_WHY, x.case);
    }
  });
}

/** Each switch, and cases it makes fail (or warn: SHOULD rules). */
const BREAKS: readonly (readonly [string, readonly (readonly [string, "fail" | "warn"])[]])[] = [
  ["BREAK_TELL_LATE", [
    ["deflate.pfn.mth.no-reuse-before-ack", "fail"],
    ["lifecycle.remove.no-reuse", "fail"],
    ["deflate.pfn.no-mth.tell-first", "warn"],
  ]],
  ["BREAK_WRITABLE", [
    ["inflate.pfn.allocated-pages", "fail"],
    ["negotiation.offer.mth+stats+doom.format", "fail"],
  ]],
  ["BREAK_NO_PUBLISH", [["inflate.pfn.max-256", "fail"], ["actual.pfn.after-ack", "fail"]]],
  ["BREAK_AVAIL_ORDER", [["ring.avail.entry-before-idx", "fail"]]],
  ["BREAK_EARLY_OK", [
    ["negotiation.init.sequence", "fail"],
    ["negotiation.refused.stops", "fail"],
    ["negotiation.offer.mth+stats+doom.init", "fail"],
  ]],
  ["BREAK_LATE_QUEUES", [["negotiation.init.sequence", "fail"]]],
  ["BREAK_NO_ACTUAL", [
    ["actual.pfn.after-ack", "fail"],
    ["actual.pfn.equals-balloon", "fail"],
    ["lifecycle.remove", "fail"],
  ]],
  ["BREAK_STATS", [["stats.whole-entries", "fail"], ["stats.first-filled", "fail"]]],
  ["BREAK_STATS_NONE", [["stats.after-init", "fail"], ["stats.refilled", "fail"]]],
  ["BREAK_FOREIGN_PFN", [
    ["inflate.pfn.allocated-pages", "fail"],
    ["legacy.be.pfn-allocated", "fail"],
  ]],
];

for (const [define, expected] of BREAKS) {
  Deno.test(`examples/c: the driver built with -D${define} fails ${expected.map(([id]) => id).join(", ")}`, () => {
    const r = run(build([define]), { only: expected.map(([id]) => id) });
    assert.deepEqual(
      expected.map(([id]) => [id, r.results.find((x) => x.case === id)?.verdict]),
      expected,
    );
  });
}

Deno.test("examples/c: the driver's unpacked stats entries fail on virtio-1.x too (a tag twice in one buffer)", () => {
  const id = "v1x.stats.first-filled";
  const r = run(build(["BREAK_STATS"]), { profile: "virtio-1.x", only: [id] });
  const x = r.results.find((x) => x.case === id);
  assert.equal(x?.verdict, "fail");
  assert.match(x?.findings[0]?.message ?? "", /holds tag \d+ more than once/);
});

Deno.test("examples/c: --driver-cmd on the command line shows verdicts and the rerun command", () => {
  const out = Deno.makeTempDirSync({ prefix: "c-driver-cli-" });
  const bin = build(["BREAK_TELL_LATE"]);
  const r = conform(
    "--driver-cmd",
    bin,
    "--filter",
    "deflate.pfn.*",
    "--report",
    "none",
    "--out",
    out,
  );
  assert.equal(r.code, 1, r.err);
  assert.match(r.out, /FAIL deflate\.pfn\.mth\.no-reuse-before-ack on driver-cmd:/);
  assert.match(
    r.out,
    /rerun: deno task conform --driver-cmd .*driver-BREAK_TELL_LATE --filter 'deflate\.pfn\.mth\.no-reuse-before-ack'/,
  );
  const ok = conform(
    "--driver-cmd",
    build(),
    "--filter",
    "deflate.pfn.*",
    "--report",
    "none",
    "--out",
    out,
  );
  assert.equal(ok.code, 0, ok.out + ok.err);
});

Deno.test("examples/c: a driver scenario's transcript replays exactly, and a broken build differs where it frees early", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "c-driver-transcripts-" });
  const bin = build();
  run(bin, { only: ["deflate.pfn.mth.no-reuse-before-ack"], transcriptDir: dir });
  const files = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`);
  assert.equal(files.length, 1);
  const lines = parseTranscript(Deno.readTextFileSync(files[0] as string));
  assert.match(lines[0]?.text ?? "", /"op":"hello","protocol":1,"role":"driver"/);

  assert.equal(await replayOn(lines, bin), undefined);
  // the first deflate: the correct driver looks for it in the used ring (and waits), the
  // broken one gives its pages back at once
  const diff = await replayOn(lines, build(["BREAK_TELL_LATE"]));
  assert.ok(diff !== undefined);
  assert.match(diff.expected, /"op":"mem\.read"/);
  assert.match(diff.got, /"op":"guest\.free"/);
});
