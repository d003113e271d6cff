/**
 * The judgement's survival rules on real runs of the reference device with
 * what the port showed after them set by the test: DEVICE_NEEDS_RESET fails
 * G06 on well-formed chains and is allowed after a malformed one (nothing
 * after it is judged); a device error or a stopped device fails S-03; the
 * suite's own bookkeeping errors are not the device's.
 *
 * @module
 */

import assert from "node:assert/strict";
import { STATUS } from "../../impl/mod.ts";
import { REFERENCE_DEVICE } from "../targets/reference/reference.ts";
import { runDeviceScenario } from "../runners/device.ts";
import type { DeviceStep } from "../model/types.ts";
import { judgeSequence } from "./judge.ts";
import { ADVERSARIAL_GUEST_PAGES, sequenceScenario } from "./sequences.ts";

const PFN_FEATURES = ["VERSION_1" as const];

function runOf(steps: DeviceStep[]) {
  const scenario = sequenceScenario("v3", {
    accept: PFN_FEATURES,
    guestPages: ADVERSARIAL_GUEST_PAGES,
    steps,
  });
  return runDeviceScenario(scenario, REFERENCE_DEVICE);
}

const OK_STATUS = STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK | STATUS.DRIVER_OK;
const good: DeviceStep = { do: "send", label: "", queue: "inflateq", chain: { pfns: [4096] } };
const cut: DeviceStep = {
  do: "send",
  label: "",
  queue: "inflateq",
  chain: { pfns: [4100, 4101], cut: 2 },
};

Deno.test("judge: a sound run of the reference has no finding", () => {
  const run = runOf([{ do: "negotiate" }, good]);
  assert.deepEqual(judgeSequence(run, { status: OK_STATUS, deviceErrors: [] }), []);
});

Deno.test("judge: DEVICE_NEEDS_RESET on well-formed chains fails G06", () => {
  const run = runOf([{ do: "negotiate" }, good]);
  const fs = judgeSequence(run, {
    status: OK_STATUS | STATUS.DEVICE_NEEDS_RESET,
    deviceErrors: [],
  });
  assert.deepEqual(fs.map((f) => [f.rule, f.check]), [["G06", "survival"]]);
});

Deno.test("judge: DEVICE_NEEDS_RESET after a malformed chain is allowed; later steps are not judged", () => {
  const run = runOf([{ do: "negotiate" }, cut, good]);
  // as a device in DEVICE_NEEDS_RESET would: the good chain after the malformed one not applied
  const later = run.sends.get("s3");
  assert.ok(later !== undefined);
  later.after = later.before.clone();
  const reset = judgeSequence(run, {
    status: OK_STATUS | STATUS.DEVICE_NEEDS_RESET,
    deviceErrors: [],
  });
  assert.deepEqual(reset, []);
  // without DEVICE_NEEDS_RESET the same run fails S-05 on it
  const judged = judgeSequence(run, { status: OK_STATUS, deviceErrors: [] });
  assert.deepEqual(judged.map((f) => [f.rule, f.check, f.step]), [["S-05", "applied", 3]]);
});

Deno.test("judge: a device error or a stopped device fails S-03; the suite's own errors do not", () => {
  const run = runOf([{ do: "negotiate" }, good]);
  const raised = judgeSequence(run, { status: OK_STATUS, deviceErrors: ["device exploded"] });
  assert.deepEqual(raised.map((f) => [f.rule, f.check]), [["S-03", "survival"]]);
  const stopped = judgeSequence(run, {
    status: undefined,
    deviceErrors: [],
    failure: "QEMU exited",
  });
  assert.deepEqual(stopped.map((f) => f.rule), ["S-03"]);
  const suite = judgeSequence(run, {
    status: OK_STATUS,
    deviceErrors: ["s7: Cannot add a chain: descriptor count is 1"],
  });
  assert.deepEqual(suite, []);
});

Deno.test("judge: a malformed chain the device applied fails its rule", () => {
  // the beyond-RAM PFN: the reference rejects it; judged as if the host had taken the first page
  const run = runOf([{ do: "negotiate" }, {
    do: "send",
    label: "",
    queue: "inflateq",
    chain: { pfns: [4096, ADVERSARIAL_GUEST_PAGES] },
  }]);
  const s = run.sends.get("s2");
  assert.ok(s !== undefined);
  assert.deepEqual(judgeSequence(run, { status: OK_STATUS, deviceErrors: [] }), []);
  s.after = s.before.clone();
  s.after.add(4096);
  const fs = judgeSequence(run, { status: OK_STATUS, deviceErrors: [] });
  assert.deepEqual(fs.map((f) => [f.rule, f.check, f.step]), [["S-02", "rejected", 2]]);
});

Deno.test("judge: nothing is judged from a chain in the format the driver did not negotiate on", () => {
  // PAGE_BITMAP not accepted, a bitmap sent: read as PFNs it names pages the driver never meant
  const run = runOf([{ do: "negotiate" }, good, {
    do: "send",
    label: "",
    queue: "inflateq",
    chain: { bitmap: { runs: [[4522, 6]] } },
  }, good]);
  const later = run.sends.get("s4");
  assert.ok(later !== undefined);
  later.after = later.before.clone();
  const fs = judgeSequence(run, {
    status: OK_STATUS | STATUS.DEVICE_NEEDS_RESET,
    deviceErrors: ["The device set DEVICE_NEEDS_RESET (status 0x4b)"],
  });
  assert.deepEqual(fs, []);
  // the good chain before it is still judged
  const first = run.sends.get("s2");
  assert.ok(first !== undefined);
  first.after = first.before.clone();
  const judged = judgeSequence(run, { status: OK_STATUS, deviceErrors: [] });
  assert.deepEqual(judged.map((f) => [f.rule, f.check, f.step]), [["S-05", "applied", 2]]);
});
