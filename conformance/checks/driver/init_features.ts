/**
 * Driver checks of initialisation and feature negotiation: only offered
 * features accepted, with what they require and VERSION_1 (and ANY_LAYOUT on
 * a legacy negotiation); the queues and the request format the negotiated
 * features give; the status sequence (order, no bit cleared, no notification
 * or config write too early, no late feature); a refused FEATURES_OK.
 *
 * @module
 */

import { featureMask, featureNames, hasFeature, queueLayout } from "../../../spec/mod.ts";
import { STATUS } from "../../../impl/mod.ts";
import type { Finding } from "../../model/types.ts";
import type { DriverRun } from "../../runners/driver.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { type RequestEvent, requests, statusWrites } from "../queries.ts";
import { none, usesVersion1, withEvidence } from "./_shared.ts";

/** R-01 / G08 / G09 / G60a / G64: the features the driver wrote, one aspect at a time. */

function featuresWritten(
  run: DriverRun,
  rule: string,
  aspect: "offered-only" | "dependencies" | "version-1" | "any-layout",
): Finding[] {
  const profile = run.scenario.profile;
  const fw = run.trace.find((e) => e.kind === "features-write");
  if (fw === undefined || fw.kind !== "features-write") return none(run, rule, "feature write");
  const offered = featureMask(profile, [...run.offered]);
  const names = featureNames(profile, fw.value);
  const out: Finding[] = [];
  if (aspect === "offered-only") {
    const extra = fw.value & ~offered;
    if (extra !== 0n) {
      out.push(
        bad(
          rule,
          `accepted features the device did not offer: ${
            featureNames(profile, extra).join(", ") || `0x${extra.toString(16)}`
          }`,
          {
            expected: `a subset of ${run.offered.join(", ")}`,
            actual: names.join(", "),
          },
        ),
      );
    }
  }
  if (aspect === "dependencies") {
    const set = new Set(names);
    if (set.has("MISC_VQ") && !set.has("STATS_VQ")) {
      out.push(
        bad(rule, "accepted MISC_VQ without STATS_VQ, which it requires", {
          actual: names.join(", "),
        }),
      );
    }
  }
  if (
    aspect === "version-1" && run.offered.includes("VERSION_1") &&
    !names.includes("VERSION_1")
  ) {
    out.push(bad(rule, "VERSION_1 was offered but not accepted", { actual: names.join(", ") }));
  }
  if (aspect === "any-layout" && names.includes("VERSION_1")) {
    // G64 is a legacy-interface rule: under VERSION_1 ANY_LAYOUT is implied
    // (Linux declines the bit then), so a modern negotiation proves nothing
    return none(run, rule, "legacy negotiation (VERSION_1 was accepted)");
  }
  if (
    aspect === "any-layout" && run.offered.includes("ANY_LAYOUT") &&
    !names.includes("ANY_LAYOUT")
  ) {
    out.push(
      bad(rule, "ANY_LAYOUT was offered by a transitional device but not accepted", {
        actual: names.join(", "),
      }),
    );
  }
  return out.length > 0 ? out : [ok(rule, `accepted ${names.join(", ") || "nothing"}`)];
}

/** G08 / R-01: the driver accepts only features the device offered. */
export const featuresOfferedOnly: DriverCheckDef = driverCheck(
  "features-offered-only",
  (run, { rule }) => featuresWritten(run, rule, "offered-only"),
);

/** G09: no feature is accepted without the features it requires. */
export const featuresDependencies: DriverCheckDef = driverCheck(
  "features-dependencies",
  (run, { rule }) => featuresWritten(run, rule, "dependencies"),
  { needsOffer: () => ["MISC_VQ"] },
);

/** G60a: VERSION_1 is accepted when offered. */
export const featuresVersion1: DriverCheckDef = driverCheck(
  "features-version-1",
  (run, { rule }) => featuresWritten(run, rule, "version-1"),
  { needsOffer: () => ["VERSION_1"] },
);

/** G64: a transitional driver on the legacy interface accepts ANY_LAYOUT when offered. */
export const featuresAnyLayout: DriverCheckDef = driverCheck(
  "features-any-layout",
  (run, { rule }) => featuresWritten(run, rule, "any-layout"),
  { needsOffer: () => ["ANY_LAYOUT"] },
);

/** R-03: queues set up are the ones the negotiated features give. */
export const queuesMatch: DriverCheckDef = driverCheck("queues-match", (run, { rule }) => {
  const profile = run.scenario.profile;
  const ok2 = run.trace.find((e) => e.kind === "features-ok");
  if (ok2 === undefined || ok2.kind !== "features-ok" || !ok2.accepted) {
    return none(run, rule, "accepted feature negotiation");
  }
  const want = queueLayout(profile, new Set(featureNames(profile, ok2.value))).map((q) => q.index);
  const got = [
    ...new Set(run.trace.flatMap((e) => (e.kind === "queue-setup" ? [e.index] : []))),
  ]
    .sort((a, b) => a - b);
  return JSON.stringify(got) === JSON.stringify(want)
    ? [ok(rule, `queues ${got.join(", ")} set up`)]
    : [
      bad(rule, `queues set up: ${got.join(", ") || "none"}`, {
        expected: want.join(", "),
        actual: got.join(", ") || "none",
      }),
    ];
});

/** R-01 / R-02: requests use the format the negotiated features say. */
export const formatMatches: DriverCheckDef = driverCheck("format-matches", (run, { rule }) => {
  const profile = run.scenario.profile;
  const okE = run.trace.find((e) => e.kind === "features-ok");
  if (okE === undefined || okE.kind !== "features-ok") {
    return none(run, rule, "feature negotiation");
  }
  const bitmap = hasFeature(profile, okE.value, "PAGE_BITMAP");
  const rs = requests(run.trace, "inflate", "rejected").filter((r) => r.queue === "inflateq");
  if (rs.length === 0) return none(run, rule, "inflate request");
  const badOnes = rs.filter((r) => r.what === "rejected");
  if (badOnes.length > 0) {
    const r = badOnes[0] as RequestEvent;
    return [
      bad(
        rule,
        `an inflate request does not parse as ${
          bitmap ? "a bitmap request" : "a PFN array"
        }, the format the negotiated features give: ${r.error}`,
        {
          expected: bitmap
            ? "bitmap header + chunks (PAGE_BITMAP negotiated)"
            : "PFN array (PAGE_BITMAP not negotiated)",
          ...withEvidence(run, r),
        },
      ),
    ];
  }
  return [
    ok(rule, `${rs.length} inflate requests in ${bitmap ? "bitmap" : "PFN-array"} format`),
  ];
});

/** G55a / G01 / G02 / G57 / G55c / G55d: the initialisation sequence, one aspect at a time. */
function initSequence(
  run: DriverRun,
  rule: string,
  aspect: "order" | "no-late-features" | "no-clear" | "no-early-notify" | "no-early-config",
): Finding[] {
  const ws = statusWrites(run.trace);
  if (ws.length === 0) return none(run, rule, "status write");
  const out: Finding[] = [];
  const seqOf = (bit: number) => ws.find((w) => w.value & bit)?.seq;
  const driverOk = seqOf(STATUS.DRIVER_OK);
  const featuresOk = seqOf(STATUS.FEATURES_OK);
  const fw = run.trace.find((e) => e.kind === "features-write");
  const legacy = !usesVersion1(run);
  if (aspect === "order") {
    if (driverOk === undefined) out.push(bad(rule, "DRIVER_OK was never set"));
    if (
      !legacy && (featuresOk === undefined || (driverOk !== undefined && featuresOk > driverOk))
    ) {
      out.push(
        bad(rule, "DRIVER_OK was set without FEATURES_OK before it", {
          expected: "FEATURES_OK, re-read, then DRIVER_OK",
        }),
      );
    }
    if (!legacy && featuresOk !== undefined) {
      const reread = run.trace.find((e) => e.kind === "status-read" && e.seq > featuresOk);
      if (reread === undefined || (driverOk !== undefined && reread.seq > driverOk)) {
        out.push(
          bad(rule, "status was not re-read after FEATURES_OK", {
            expected: "a status read between FEATURES_OK and DRIVER_OK",
          }),
        );
      }
    }
    if (fw !== undefined && featuresOk !== undefined && fw.seq > featuresOk) {
      out.push(bad(rule, "features were written after FEATURES_OK"));
    }
    // device setup (the queues) comes before DRIVER_OK, in every initialisation (a reset starts one)
    let live = false;
    for (const e of run.trace) {
      if (e.kind === "status-write") {
        live = e.value === 0 ? false : (e.value & STATUS.DRIVER_OK) !== 0;
      }
      if (e.kind === "queue-setup" && live) {
        out.push(
          bad(rule, `queue ${e.index} was set up after DRIVER_OK`, {
            expected: "every queue set up before DRIVER_OK",
          }),
        );
        break;
      }
    }
  }
  if (aspect === "no-late-features") {
    const late = run.trace.find((e) =>
      e.kind === "features-write" && featuresOk !== undefined && e.seq > featuresOk
    );
    if (late !== undefined && late.kind === "features-write") {
      out.push(
        bad(rule, `features 0x${late.value.toString(16)} were written after FEATURES_OK`, {
          expected: "no feature write after FEATURES_OK",
        }),
      );
    }
  }
  if (aspect === "no-clear") {
    for (const w of ws) {
      if (w.value !== 0 && (w.old & ~w.value & ~STATUS.DEVICE_NEEDS_RESET) !== 0) {
        out.push(
          bad(
            rule,
            `status write 0x${w.value.toString(16)} clears bits of 0x${w.old.toString(16)}`,
            { expected: "bits only added (or a reset, 0)" },
          ),
        );
      }
    }
  }
  if (aspect === "no-early-notify") {
    const early = run.trace.find((e) =>
      e.kind === "notify" && (driverOk === undefined || e.seq < driverOk)
    );
    if (early !== undefined && early.kind === "notify") {
      out.push(bad(rule, `queue ${early.index} was notified before DRIVER_OK`));
    }
  }
  if (aspect === "no-early-config") {
    const early = run.trace.find((e) =>
      e.kind === "config-write" && (featuresOk === undefined || e.seq < featuresOk)
    );
    if (early !== undefined && !legacy) {
      out.push(bad(rule, "config space was written before FEATURES_OK"));
    }
  }
  return out.length > 0 ? out : [ok(rule, "the initialisation sequence follows the rule")];
}

/** G55a / G01: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, re-read, DRIVER_OK. */
export const initOrder: DriverCheckDef = driverCheck(
  "init-order",
  (run, { rule }) => initSequence(run, rule, "order"),
);

/** G55d: no feature is written after FEATURES_OK. */
export const initNoLateFeatures: DriverCheckDef = driverCheck(
  "init-no-late-features",
  (run, { rule }) => initSequence(run, rule, "no-late-features"),
);

/** G02: the driver never clears a status bit (but by a reset). */
export const initNoStatusClear: DriverCheckDef = driverCheck(
  "init-no-status-clear",
  (run, { rule }) => initSequence(run, rule, "no-clear"),
);

/** G57: no notification before DRIVER_OK. */
export const initNoEarlyNotify: DriverCheckDef = driverCheck(
  "init-no-early-notify",
  (run, { rule }) => initSequence(run, rule, "no-early-notify"),
);

/** G55c: no config write before FEATURES_OK. */
export const initNoEarlyConfig: DriverCheckDef = driverCheck(
  "init-no-early-config",
  (run, { rule }) => initSequence(run, rule, "no-early-config"),
);

/** G56a / G56b: a refused feature set ends in FAILED, not DRIVER_OK. */
function refusalHandled(run: DriverRun, rule: string, aspect: "failed" | "stops"): Finding[] {
  const ws = statusWrites(run.trace);
  const refused = run.trace.find((e) => e.kind === "features-ok" && !e.accepted);
  if (refused === undefined) return none(run, rule, "refused FEATURES_OK");
  const after = ws.filter((w) => w.seq > refused.seq);
  if (aspect === "failed") {
    return after.some((w) => w.value & STATUS.FAILED)
      ? [ok(rule, "FAILED was set after the refusal")]
      : [bad(rule, "the driver did not set FAILED after the device refused FEATURES_OK")];
  }
  return after.some((w) => w.value & STATUS.DRIVER_OK)
    ? [bad(rule, "the driver set DRIVER_OK after the device refused FEATURES_OK")]
    : [ok(rule, "the driver stopped after the refusal")];
}

/** G56a: when the device refuses FEATURES_OK the driver sets FAILED. */
export const refusalSetsFailed: DriverCheckDef = driverCheck(
  "refusal-sets-failed",
  (run, { rule }) => refusalHandled(run, rule, "failed"),
);

/** G56b / G12b: when the device refuses FEATURES_OK the driver does not go on. */
export const refusalStops: DriverCheckDef = driverCheck(
  "refusal-stops",
  (run, { rule }) => refusalHandled(run, rule, "stops"),
);
