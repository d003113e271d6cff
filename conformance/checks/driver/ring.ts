/**
 * Driver checks of ring use: chains the suite's ring rejected, and runs that
 * never settle (a driver that hangs or spins).
 *
 * @module
 */

import type { Finding } from "../../model/types.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { requests } from "../queries.ts";
import { none } from "./_shared.ts";

/** G29 / G34 / …: the suite's ring rejected none of the driver's chains for this rule. */
export const ringLegal: DriverCheckDef = driverCheck("ring-legal", (run, { rule }) => {
  const all = requests(run.trace);
  if (all.length === 0) return none(run, rule, "chain");
  const badChains = all.filter((r) => r.what === "bad-chain" && r.rule === rule);
  return badChains.length > 0
    ? [bad(rule, `the ring rejected ${badChains.length} chains: ${badChains[0]?.error}`)]
    : [ok(rule, `${all.length} chains, none breaking ${rule}`)];
});

/** The scenario ran to completion (no hang, no exception). */
export const settles: DriverCheckDef = driverCheck("settles", (run, { rule }) => {
  const out: Finding[] = [];
  for (const h of run.hangs) {
    out.push(bad(rule, `${h} never settled: the driver kept waiting or spinning`));
  }
  for (const e of run.errors) out.push(bad(rule, `${e}`));
  return out.length > 0 ? out : [ok(rule, "every step settled")];
});
