/**
 * Self-test of adversarial mode: on the reference device a fixed number of
 * generated sequences find nothing; on every device mutant of profile v3 a
 * finding comes within a stated bound of sequences, shrinks to a small
 * reproducer, is the mutant's own (the same sequence finds nothing on the
 * reference) and replays to the same finding. Deterministic seeds; nothing
 * depends on timing.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { REFERENCE_DEVICE, REFERENCE_DEVICE_V1X } from "../targets/reference/reference.ts";
import { mutantsOf } from "../targets/mutants/mutants.ts";
import type { DeviceScenario, DeviceTarget } from "../model/types.ts";
import { adversarial, runSequence, sequenceOptionsOf } from "./run.ts";
import { sequenceArbitrary } from "./sequences.ts";
import {
  findingKey,
  parseReproducer,
  replay,
  REPRODUCER_FORMAT,
  ReproducerError,
  reproducerFindings,
} from "./reproducer.ts";

/** Sequences the reference device must pass here (about 10 s on this machine). */
const REFERENCE_RUNS = 400;
/** The bound: each device mutant is found within this many sequences (seed {@link SEED}). */
const MUTANT_BOUND = 300;
/** A shrunk reproducer has at most this many steps. */
const SHRUNK_MAX_STEPS = 10;
const SEED = 1;

Deno.test(`adversarial: the reference device passes ${REFERENCE_RUNS} sequences`, () => {
  const r = adversarial({ target: REFERENCE_DEVICE, runs: REFERENCE_RUNS, seed: 20_261_203 });
  assert.equal(r.counterexample, undefined, JSON.stringify(r.findings, null, 1));
  assert.equal(r.runsToFailure, REFERENCE_RUNS);
  assert.equal(r.executed, REFERENCE_RUNS);
});

const DEVICE_MUTANTS = mutantsOf("v3").filter((m) => m.target.kind === "device");

Deno.test("adversarial: the v3 profile has device mutants to find", () => {
  assert.ok(DEVICE_MUTANTS.length >= 30, `${DEVICE_MUTANTS.length} device mutants`);
});

for (const m of DEVICE_MUTANTS) {
  Deno.test(`adversarial: ${m.name} is found within ${MUTANT_BOUND} sequences`, () => {
    const target = m.target as DeviceTarget;
    const r = adversarial({ target, runs: MUTANT_BOUND, seed: SEED });
    assert.ok(r.counterexample !== undefined, `${m.name}: nothing found in ${MUTANT_BOUND}`);
    const shrunk = r.counterexample as DeviceScenario;
    console.log(
      `${m.name}: found after ${r.runsToFailure}, shrunk ${r.originalSteps} -> ${shrunk.steps.length} steps: ${
        [...new Set(r.findings.map((f) => `${f.rule} ${f.check}`))].join(", ")
      }`,
    );
    assert.ok(r.runsToFailure <= MUTANT_BOUND);
    assert.ok(
      shrunk.steps.length <= SHRUNK_MAX_STEPS,
      `${m.name}: shrunk to ${shrunk.steps.length} steps`,
    );
    assert.ok(r.findings.length > 0 && r.findings.every((f) => !f.ok && f.rule !== ""));
    // the finding is the deviation's: the reference device passes the same sequence
    assert.deepEqual(runSequence(shrunk, REFERENCE_DEVICE).findings, []);
    // and the reproducer replays to the same finding
    const file = parseReproducer(
      JSON.stringify({
        format: REPRODUCER_FORMAT,
        target: m.name,
        seed: r.seed,
        path: r.path,
        runsToFailure: r.runsToFailure,
        scenario: shrunk,
        findings: reproducerFindings(r.findings),
      }),
      "test.json",
    );
    const again = replay(file, target);
    assert.ok(again.same, `${m.name}: replay gave ${again.findings.map(findingKey).join("; ")}`);
  });
}

Deno.test("adversarial: a seed gives the same shrunk reproducer each time", () => {
  const target = DEVICE_MUTANTS.find((m) => m.name === "device:notify-never")
    ?.target as DeviceTarget;
  const a = adversarial({ target, runs: 50, seed: 9 });
  const b = adversarial({ target, runs: 50, seed: 9 });
  assert.deepEqual(a.counterexample, b.counterexample);
  assert.equal(a.path, b.path);
  // fast-check's seed and path alone give back the counterexample (no search, no shrinking)
  const direct = fc.check(
    fc.property(
      sequenceArbitrary(sequenceOptionsOf(target)),
      (seq) => runSequence(seq, target).findings.length === 0,
    ),
    { seed: 9, path: a.path ?? "", numRuns: 50, endOnFailure: true },
  );
  assert.ok(direct.failed);
  assert.deepEqual(direct.counterexample?.[0], a.counterexample);
});

Deno.test("adversarial: the generator draws malformed chains, resets and host steps", () => {
  const seqs = fc.sample(sequenceArbitrary({ profile: "v3", bigEndian: true }), {
    seed: 3,
    numRuns: 300,
  });
  const steps = seqs.flatMap((s) => s.steps);
  const kinds = new Set(steps.map((s) => s.do));
  for (
    const k of [
      "negotiate",
      "driver-ok",
      "send",
      "kick",
      "suppress",
      "write-actual",
      "target",
      "stats",
      "unused",
      "reply",
      "write-config",
    ] as const
  ) assert.ok(kinds.has(k), `no ${k} step in 300 sequences`);
  const sends = steps.flatMap((s) => s.do === "send" ? [s] : []);
  assert.ok(sends.some((s) => "pfns" in s.chain && (s.chain.cut ?? 0) > 0));
  assert.ok(sends.some((s) => "bitmap" in s.chain && s.chain.bitmap.header !== undefined));
  assert.ok(sends.some((s) => (s.writable ?? []).length > 0));
  assert.ok(seqs.some((s) => s.guestEndian === "be"));
  assert.ok(seqs.some((s) => s.queueSize === 4));
  // every sequence starts with a negotiation
  assert.ok(seqs.every((s) => s.steps[0]?.do === "negotiate"));
});

Deno.test("adversarial: a reproducer that is not one is a clear error", () => {
  assert.throws(() => parseReproducer("{", "r.json"), ReproducerError);
  assert.throws(() => parseReproducer("{}", "r.json"), /is not a reproducer: expected "format"/);
  assert.throws(
    () =>
      parseReproducer(
        JSON.stringify({
          format: REPRODUCER_FORMAT,
          target: "reference-device",
          findings: [],
          scenario: {
            role: "device",
            profile: "v3",
            guestPages: 1,
            accept: [],
            steps: [{ do: "jump" }],
          },
        }),
        "r.json",
      ),
    /step 1 is not a device step: "do" is "jump"/,
  );
});

Deno.test("adversarial: the virtio-1.x reference device passes 150 sequences", () => {
  const r = adversarial({ target: REFERENCE_DEVICE_V1X, runs: 150, seed: 20_261_203 });
  assert.equal(r.counterexample, undefined, JSON.stringify(r.findings, null, 1));
});

/**
 * The virtio-1.x device mutants the sequences do not find: deviations in
 * free page hinting and reporting beyond "the pages are taken and the
 * buffer used" (B53, S-11) — a new command id per round, a stale or
 * malformed id buffer ignored, DONE versus STOP, discarding after DONE,
 * poison kept, malformed reports ignored. The judgement runs the hint and
 * report chains for survival only; the scripted cases judge these. Listed
 * so that a judgement added for them shows here (this test then fails).
 */
const V1X_NOT_FOUND = [
  "v1x-device:hint-reuse-cmd-id",
  "v1x-device:hint-any-cmd-id",
  "v1x-device:hint-done-as-stop",
  "v1x-device:hint-late-discard",
  "v1x-device:report-ignores-poison",
  "v1x-device:hint-cmd-any-length",
  "v1x-device:report-readable-parts",
  "v1x-device:report-round-ranges",
];

Deno.test("adversarial: the virtio-1.x hint and report mutants it does not judge are not found", () => {
  const all = mutantsOf("virtio-1.x").map((m) => m.name);
  for (const name of V1X_NOT_FOUND) {
    assert.ok(all.includes(name), `${name} is not a mutant`);
    const target = mutantsOf("virtio-1.x").find((m) => m.name === name)?.target as DeviceTarget;
    const r = adversarial({ target, runs: 60, seed: SEED });
    assert.equal(r.counterexample, undefined, `${name} is found now: move it out of the list`);
  }
});
