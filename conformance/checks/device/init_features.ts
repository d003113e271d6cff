/**
 * Device checks of initialisation and features: what the device offers
 * (features with what they require, VERSION_1, ANY_LAYOUT when transitional),
 * FEATURES_OK kept for a valid subset, no buffer consumed before DRIVER_OK.
 *
 * @module
 */

import { featureNames, featuresOf } from "../../../spec/mod.ts";
import type { Finding } from "../../model/types.ts";
import type { DeviceRun } from "../../runners/device.ts";
import { bad, deviceCheck, type DeviceCheckDef, ok } from "../define.ts";
import { missing, sendOf } from "./_shared.ts";

/** G14 / G62a / G64: what the device offers, one aspect at a time. */

function offeredFeatures(
  run: DeviceRun,
  rule: string,
  aspect: "dependencies" | "version-1" | "any-layout",
): Finding[] {
  const profile = run.scenario.profile;
  const names = featureNames(profile, run.offered);
  if (names.length === 0) return [bad(rule, "the device offered no feature at all")];
  if (aspect === "dependencies") {
    const missing = featuresOf(profile).filter((f) => names.includes(f.name)).flatMap((f) =>
      f.requires.filter((r) => !names.includes(r)).map((r) => `${f.name} without ${r}`)
    );
    return missing.length > 0
      ? [
        bad(rule, `the device offers ${missing.join(", ")}`, {
          expected: "every feature offered with the features it requires",
        }),
      ]
      : [ok(rule, "every offered feature comes with what it requires")];
  }
  const want = aspect === "version-1" ? "VERSION_1" : "ANY_LAYOUT";
  return names.includes(want) ? [ok(rule, `${want} is offered`)] : [
    bad(rule, `${want} is not offered`, {
      expected: `${want} offered`,
      actual: names.join(", "),
    }),
  ];
}

/** G14: the device offers no feature without the features it requires. */
export const offersDependencies: DeviceCheckDef = deviceCheck(
  "offers-dependencies",
  (run, { rule }) => offeredFeatures(run, rule, "dependencies"),
  { readsChains: false },
);

/** G62a: the device offers VERSION_1. */
export const offersVersion1: DeviceCheckDef = deviceCheck(
  "offers-version-1",
  (run, { rule }) => offeredFeatures(run, rule, "version-1"),
  { readsChains: false, needsModern: true },
);

/** G64: a transitional device offers ANY_LAYOUT. */
export const offersAnyLayout: DeviceCheckDef = deviceCheck(
  "offers-any-layout",
  (run, { rule }) => offeredFeatures(run, rule, "any-layout"),
  { readsChains: false },
);

/** G15a: the device accepts a valid subset of its features. */
export const acceptsSubset: DeviceCheckDef = deviceCheck("accepts-subset", (run, { rule }) => {
  return run.featuresOk ? [ok(rule, "FEATURES_OK kept")] : [
    bad(rule, "the device refused FEATURES_OK for a valid subset of its features", {
      expected: "FEATURES_OK kept",
    }),
  ];
}, { readsChains: false });

/** G05: no buffer is consumed before DRIVER_OK. */
export const notBeforeDriverOk: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("not-before-driver-ok", (run, { rule, params: p }) => {
  const label = p.label;
  const s = sendOf(run, label);
  if (s === undefined) return missing(rule, label);
  if (s.sentAfterDriverOk) return [bad(rule, `"${label}" was sent after DRIVER_OK`)];
  if (s.usedBeforeDriverOk) {
    return [
      bad(rule, `"${label}" was used before DRIVER_OK`, {
        expected: "no buffer consumed before DRIVER_OK",
        observation: "ring",
      }),
    ];
  }
  if (s.changedAtSend) {
    return [bad(rule, "the device processed a chain before DRIVER_OK", {
      expected: "no change at the host before DRIVER_OK",
      observation: run.port.observations.has("host-view") ? "host-view" : "guest-memory",
    })];
  }
  return s.used
    ? [ok(rule, `"${label}" waited for DRIVER_OK`)]
    : [bad(rule, `"${label}" was never used, even after DRIVER_OK`, { observation: "ring" })];
});
