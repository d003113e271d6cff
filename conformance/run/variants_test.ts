/**
 * Verdicts do not assume the reference's shape: legal variants of the
 * reference driver and device — small batches, no optional methods, buffers
 * used late or out of order, the readable part of a chain applied when it
 * also has a device-writable buffer — get no failure and no warning, only
 * pass and unsupported.
 */

import assert from "node:assert/strict";
import type { DeviceBuffer, DeviceSeamOverride, DriverSeamOverride } from "../../impl/mod.ts";
import { CASES } from "../cases/cases.ts";
import type { CaseResult, DriverTarget } from "../model/types.ts";
import {
  REFERENCE_DRIVER,
  referenceDeviceTarget,
  referenceDriverTarget,
} from "../targets/reference/reference.ts";
import { runSuite } from "./suite.ts";

function unfair(results: readonly CaseResult[]): string[] {
  return results.filter((r) => r.verdict !== "pass" && r.verdict !== "unsupported").map((r) =>
    `${r.target} ${r.case}: ${r.verdict} ${r.message ?? r.findings.find((f) => !f.ok)?.message}`
  );
}

/** A driver sending at most `n` PFNs per request. */
function batches(n: number): DriverSeamOverride {
  return () => ({ pfnsPerRequest: () => () => n });
}

Deno.test("drivers sending 1, 8 or 100 PFNs per request get only pass and unsupported", () => {
  const targets = [1, 8, 100].map((n) =>
    referenceDriverTarget(`driver-batches-of-${n}`, `${n} PFNs per request`, {
      seams: [batches(n)],
    })
  );
  const run = runSuite({ cases: CASES, targets });
  assert.deepEqual(unfair(run.results), []);
  const inflates = run.results.filter((r) => r.case === "inflate.pfn.max-256");
  assert.ok(inflates.every((r) => r.verdict === "pass"), "small batches are legal");
});

Deno.test("a driver without the optional remove, freeze, restore and migratePage gets unsupported for them", () => {
  const bare: DriverTarget = {
    ...REFERENCE_DRIVER,
    name: "driver-probe-only",
    create(ctx) {
      const d = REFERENCE_DRIVER.create(ctx);
      return { probe: () => d.probe() };
    },
  };
  const run = runSuite({ cases: CASES, targets: [bare] });
  assert.deepEqual(unfair(run.results), []);
  const lifecycle = run.results.filter((r) => r.case.startsWith("lifecycle."));
  assert.ok(lifecycle.length > 0);
  for (const r of lifecycle) {
    assert.equal(r.verdict, "unsupported", r.case);
    assert.match(r.message ?? "", /the driver has no (remove|freeze|migratePage)\(\)/);
  }
});

/** A device that applies each request at once but uses its buffer in a later task, with a notification. */
const lateUse: DeviceSeamOverride = (d) => ({
  applyAndUse: () => (_queue, job) => {
    job.apply();
    d.later("device:late-use", () => {
      d.pushUsed(job.buffer);
      d.notifyQueue(job.buffer.index);
    });
    return false;
  },
});

/** A device that uses the buffers of one notification in the reverse order of their arrival. */
const reversed: DeviceSeamOverride = (d) => {
  let batch: DeviceBuffer[] = [];
  return {
    applyAndUse: () => (_queue, job) => {
      job.apply();
      if (batch.length === 0) {
        d.later("device:reversed-use", () => {
          const mine = batch.reverse();
          batch = [];
          for (const b of mine) d.pushUsed(b);
          for (const index of new Set(mine.map((b) => b.index))) d.notifyQueue(index);
        });
      }
      batch.push(job.buffer);
      return false;
    },
  };
};

/** A device that applies the readable part of a chain that also has device-writable buffers. */
const readablePart: DeviceSeamOverride = () => ({ chainError: () => () => undefined });

Deno.test("devices that use buffers late, out of order, or apply the readable part get only pass and unsupported", () => {
  const targets = [
    referenceDeviceTarget("device-late-use", "uses buffers in a later task", [], {
      seams: [lateUse],
    }),
    referenceDeviceTarget("device-reversed-use", "uses a notification's buffers in reverse", [], {
      seams: [reversed],
    }),
    referenceDeviceTarget("device-readable-part", "applies the readable part", [], {
      seams: [readablePart],
    }),
  ];
  const run = runSuite({ cases: CASES, targets });
  assert.deepEqual(unfair(run.results), []);
  const inFlight = run.results.filter((r) => r.case === "device.ring.several-in-flight");
  assert.ok(inFlight.every((r) => r.verdict === "pass"), "out-of-order use is legal");
});
