/**
 * A target that declines optional features is judged fairly: the suite's
 * side does not offer (or accept) what the target declares unsupported, and
 * every case then follows what the run negotiated — a case about a declined
 * feature is `unsupported`, never a failure, and a deviation under a declined
 * feature set is still caught.
 *
 * "Optional" here: the balloon bits and the transport bits a driver or device
 * may leave out (EVENT_IDX, INDIRECT_DESC, ANY_LAYOUT). VERSION_1 is not: a
 * driver must accept it when offered (G60a) and a device must offer it (G62a).
 */

import assert from "node:assert/strict";
import type { FeatureName } from "../../spec/mod.ts";
import { CASES } from "../cases/cases.ts";
import { balloonSubsets, comboName } from "../scenarios/features.ts";
import { referenceDeviceTarget, referenceDriverTarget } from "../targets/reference/reference.ts";
import type { CaseResult } from "../model/types.ts";
import { runSuite } from "./suite.ts";

const TRANSPORT_OPTIONAL: readonly FeatureName[] = ["EVENT_IDX", "INDIRECT_DESC", "ANY_LAYOUT"];

function declining(unsupported: readonly FeatureName[]): readonly CaseResult[] {
  const name = unsupported.length === 0 ? "none" : unsupported.join("+");
  return runSuite({
    cases: CASES,
    targets: [
      referenceDriverTarget(`driver-declining-${name}`, "the reference driver", { unsupported }),
      referenceDeviceTarget(`device-declining-${name}`, "the reference device", [], {
        unsupported,
      }),
    ],
  }).results;
}

function unfair(results: readonly CaseResult[]): string[] {
  return results.filter((r) => r.verdict !== "pass" && r.verdict !== "unsupported").map((r) =>
    `${r.target} ${r.case}: ${r.verdict} ${r.message ?? r.findings.find((f) => !f.ok)?.message}`
  );
}

Deno.test("the reference declining any subset of the balloon bits gets only pass and unsupported", () => {
  for (const combo of balloonSubsets()) {
    const results = declining(combo);
    assert.deepEqual(unfair(results), [], `declining ${comboName(combo)}`);
    if (combo.length > 0) {
      assert.ok(
        results.some((r) => r.verdict === "unsupported"),
        `declining ${comboName(combo)} leaves some case unsupported`,
      );
    }
  }
});

Deno.test("the reference declining an optional transport feature gets only pass and unsupported", () => {
  for (const f of TRANSPORT_OPTIONAL) {
    assert.deepEqual(unfair(declining([f])), [], `declining ${f}`);
  }
  assert.deepEqual(unfair(declining(TRANSPORT_OPTIONAL)), [], "declining all three");
});

Deno.test("an unsupported verdict names the feature and who declined it", () => {
  const r = declining(["PAGE_BITMAP"]).find((x) =>
    x.case === "inflate.bitmap.chain-length" && x.target.startsWith("driver")
  );
  assert.equal(r?.verdict, "unsupported");
  assert.match(r?.message ?? "", /declares PAGE_BITMAP unsupported/);
});

Deno.test("a deviation under a declined feature set is still caught", () => {
  const pfnOnly: FeatureName[] = ["PAGE_BITMAP", "MISC_VQ"];
  const run = runSuite({
    cases: CASES,
    targets: [
      referenceDriverTarget("pfn-only:pfn-array-512", "PFN-only, 512 PFNs per request", {
        deviations: ["pfn-array-512"],
        unsupported: pfnOnly,
      }),
      referenceDriverTarget("pfn-only:extra-page", "PFN-only, one page too many", {
        deviations: ["inflate-report-extra-page"],
        unsupported: pfnOnly,
      }),
      referenceDeviceTarget("pfn-only:no-range-check", "PFN-only device", ["no-range-check"], {
        unsupported: pfnOnly,
      }),
    ],
  });
  const verdict = (target: string, id: string) =>
    run.results.find((r) => r.target === target && r.case === id)?.verdict;
  assert.equal(verdict("pfn-only:pfn-array-512", "inflate.pfn.max-256"), "fail");
  assert.equal(verdict("pfn-only:extra-page", "inflate.pfn.allocated-pages"), "fail");
  assert.equal(verdict("pfn-only:no-range-check", "robustness.pfn.beyond-ram"), "fail");
});

Deno.test("a device case about accepting an offer the target declares unsupported is unsupported, not a pass", () => {
  // the reference device offers MISC_VQ; a target that declines it never has the suite accept it,
  // so "accepts the subset stats+misc" cannot be judged (it would pass on stats alone)
  const results = declining(["MISC_VQ"]).filter((r) =>
    r.target.startsWith("device") && r.case === "device.negotiation.stats+misc"
  );
  assert.equal(results.length, 1);
  assert.equal(results[0]?.verdict, "unsupported");
  assert.match(results[0]?.message ?? "", /declares MISC_VQ unsupported, so the suite's driver/);
});
