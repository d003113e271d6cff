/**
 * Driver checks of page poison (B02, B03, B07, B54, B55, B56): PAGE_POISON
 * only for a guest that initialises its free pages, no reporting without it
 * for one that does, poison_val written once, before DRIVER_OK, in
 * little-endian, and deflated pages filled with it.
 *
 * @module
 */

import { featureMask, featureNames, PageSet } from "../../../spec/mod.ts";
import { STATUS } from "../../../impl/mod.ts";
import type { Finding } from "../../model/types.ts";
import type { DriverRun } from "../../runners/driver.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { statusWrites } from "../queries.ts";
import { none } from "./_shared.ts";
import { poisonWrites } from "./_standard.ts";

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** What the driver accepted, or the finding for a run without a feature write. */
function accepted(run: DriverRun, rule: string): bigint | Finding[] {
  const fw = run.trace.find((e) => e.kind === "features-write");
  return fw === undefined || fw.kind !== "features-write"
    ? none(run, rule, "feature write")
    : fw.value;
}

/** B02: a guest that does not initialise its free pages does not accept PAGE_POISON. */
export const poisonDeclined: DriverCheckDef = driverCheck("poison-declined", (run, { rule }) => {
  const f = accepted(run, rule);
  if (typeof f !== "bigint") return f;
  if (run.guest.pagePoison !== undefined) {
    return [bad(rule, "the scenario's guest initialises its free pages: nothing to judge")];
  }
  const pp = featureMask("virtio-1.x", ["PAGE_POISON"]);
  return (f & pp) === 0n
    ? [ok(rule, "PAGE_POISON declined: the guest does not initialise freed pages")]
    : [bad(rule, "PAGE_POISON accepted by a guest that leaves freed pages as they are", {
      expected: "PAGE_POISON cleared",
      actual: featureNames("virtio-1.x", f).join(", "),
    })];
}, { needsOffer: () => ["PAGE_POISON"] });

/** B03: a guest that initialises its free pages accepts PAGE_REPORTING only with PAGE_POISON. */
export const reportingNeedsPoison: DriverCheckDef = driverCheck(
  "reporting-needs-poison",
  (run, { rule }) => {
    const f = accepted(run, rule);
    if (typeof f !== "bigint") return f;
    if (run.guest.pagePoison === undefined) {
      return [
        bad(rule, "the scenario's guest does not initialise its free pages: nothing to judge"),
      ];
    }
    const names = featureNames("virtio-1.x", f);
    return names.includes("PAGE_REPORTING") && !names.includes("PAGE_POISON")
      ? [
        bad(
          rule,
          "PAGE_REPORTING accepted without PAGE_POISON by a guest whose free pages hold a value",
          {
            expected: "PAGE_REPORTING cleared when PAGE_POISON is not negotiated",
            actual: names.join(", "),
          },
        ),
      ]
      : [ok(rule, `accepted ${names.join(", ")}`)];
  },
  { needsOffer: () => ["PAGE_REPORTING"] },
);

/** B55: poison_val is written before DRIVER_OK. */
export const poisonBeforeDriverOk: DriverCheckDef = driverCheck(
  "poison-before-driver-ok",
  (run, { rule }) => {
    const ok1 = statusWrites(run.trace).find((w) => w.value & STATUS.DRIVER_OK)?.seq;
    if (ok1 === undefined) return none(run, rule, "DRIVER_OK");
    const before = poisonWrites(run).filter((w) => w.seq < ok1);
    return before.length > 0
      ? [
        ok(
          rule,
          `poison_val ${hex((before[0] as { value: number }).value)} written before DRIVER_OK`,
        ),
      ]
      : [bad(rule, "poison_val was not written before DRIVER_OK", {
        expected: "a write of poison_val between FEATURES_OK and DRIVER_OK",
        actual: `${poisonWrites(run).length} writes of poison_val, none before DRIVER_OK`,
      })];
  },
  { needs: () => ["PAGE_POISON"] },
);

/** B56: poison_val does not change while DRIVER_OK is set. */
export const poisonUnchanged: DriverCheckDef = driverCheck("poison-unchanged", (run, { rule }) => {
  const ws = statusWrites(run.trace);
  const live = (seq: number) => {
    const last = ws.filter((w) => w.seq < seq).pop();
    return last !== undefined && (last.value & STATUS.DRIVER_OK) !== 0;
  };
  const writes = poisonWrites(run);
  if (writes.length === 0) return none(run, rule, "write of poison_val");
  const late = writes.filter((w) => live(w.seq));
  return late.length === 0
    ? [ok(rule, `${writes.length} writes of poison_val, none while DRIVER_OK was set`)]
    : [bad(rule, `poison_val written ${late.length} times while DRIVER_OK was set`, {
      expected: "no write of poison_val while DRIVER_OK is set",
      actual: late.map((w) => hex(w.value)).join(", "),
    })];
}, { needs: () => ["PAGE_POISON"] });

/** B07: over the legacy interface poison_val is little-endian, not in the guest's order. */
export const poisonLittleEndian: DriverCheckDef = driverCheck(
  "poison-little-endian",
  (run, { rule }) => {
    const want = run.guest.pagePoison;
    const writes = poisonWrites(run);
    if (writes.length === 0 || want === undefined) return none(run, rule, "write of poison_val");
    const wrong = writes.filter((w) => w.value !== want);
    return wrong.length === 0
      ? [ok(rule, `poison_val ${hex(want)} written little-endian`)]
      : [bad(rule, `poison_val reads ${hex((wrong[0] as { value: number }).value)} little-endian`, {
        expected: `${hex(want)} (little-endian, whatever the guest's byte order)`,
        actual: hex((wrong[0] as { value: number }).value),
        evidence: {
          title: "config write of poison_val",
          bytes: (wrong[0] as { bytes: Uint8Array }).bytes,
          annotations: [{ offset: 0, length: 4, label: "poison_val", bad: true }],
        },
      })];
  },
  { needs: () => ["PAGE_POISON"] },
);

/** B54: deflated pages hold poison_val when they go back to the guest. */
export const deflatedPoisoned: DriverCheckDef = driverCheck(
  "deflated-poisoned",
  (run, { rule }) => {
    const back = run.standard.returns.filter((r) => r.reason === "deflate");
    if (back.length === 0) return none(run, rule, "deflated page given back");
    const bare = new PageSet();
    for (const r of back) bare.unionWith(r.notPoisoned);
    const n = back.reduce((a, r) => a + r.pages.size, 0);
    return bare.size === 0
      ? [ok(rule, `${n} deflated pages held poison_val when they went back`)]
      : [
        bad(
          rule,
          `${bare.size} of ${n} deflated pages did not hold poison_val (first: PFN ${bare.min()})`,
          {
            expected: `poison_val ${hex(run.device.poisonValue)} in every word`,
            actual: `PFNs ${bare.toArray().slice(0, 8).join(", ")}`,
          },
        ),
      ];
  },
  { needs: () => ["PAGE_POISON"] },
);
