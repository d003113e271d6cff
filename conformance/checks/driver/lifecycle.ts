/**
 * Driver checks of remove, freeze/restore and balloon-page migration.
 *
 * @module
 */

import { STATUS } from "../../../impl/mod.ts";
import type { Finding } from "../../model/types.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { actualWrites, BalloonReplay, requests, statusWrites } from "../queries.ts";
import { none } from "./_shared.ts";

/** remove deflates everything, writes actual 0, then resets. */
export const removeClean: DriverCheckDef = driverCheck("remove-clean", (run, { rule }) => {
  const reset = [...run.trace].reverse().find((e) => e.kind === "reset");
  if (reset === undefined) return none(run, rule, "device reset");
  const replay = new BalloonReplay();
  for (const e of run.trace) {
    if (e.seq >= reset.seq) break;
    replay.apply(e);
  }
  const out: Finding[] = [];
  if (replay.pages.size > 0) {
    out.push(
      bad(
        rule,
        `${replay.pages.size} pages were still ballooned at the host when the driver reset the device`,
        { expected: "0", actual: `${replay.pages.size}` },
      ),
    );
  }
  const lastActual = actualWrites(run.trace).filter((w) => w.seq < reset.seq).pop();
  if (lastActual === undefined || lastActual.value !== 0) {
    out.push(
      bad(rule, `actual was ${lastActual?.value ?? "never written"} before the reset`, {
        expected: "0",
      }),
    );
  }
  return out.length > 0 ? out : [ok(rule, "everything deflated and actual 0 before the reset")];
});

/** restore brings the balloon back to the target. */
export const restoreResumes: DriverCheckDef<{ readonly target: number }> = driverCheck<
  { readonly target: number }
>("restore-resumes", (run, { rule, params: p }) => {
  const target = p.target;
  const resets = run.trace.filter((e) => e.kind === "reset");
  if (resets.length < 2) return none(run, rule, "freeze (reset) followed by restore");
  const lastReset = resets[resets.length - 1] as (typeof resets)[number];
  const driverOk = statusWrites(run.trace).filter((w) =>
    w.seq > lastReset.seq && w.value & STATUS.DRIVER_OK
  );
  const replay = new BalloonReplay();
  for (const e of run.trace) replay.apply(e);
  const last = actualWrites(run.trace).pop();
  const out: Finding[] = [];
  if (driverOk.length === 0) out.push(bad(rule, "DRIVER_OK was not set again after restore"));
  if (replay.pages.size !== target || last?.value !== target) {
    out.push(
      bad(
        rule,
        `after restore the host holds ${replay.pages.size} pages and actual is ${last?.value}`,
        { expected: `${target}` },
      ),
    );
  }
  return out.length > 0 ? out : [ok(rule, "restore renegotiated and went back to the target")];
});

/** balloon-page migration reports one new page on inflateq, then one old page on deflateq. */
export const migratePage: DriverCheckDef = driverCheck("migrate-page", (run, { rule }) => {
  const step = run.scenario.steps.findIndex((s) => s.do === "migrate-page");
  if (step < 0) return none(run, rule, "balloon-page migration");
  const start = run.stepSeq[step] as number;
  const rs = requests(run.trace, "inflate", "deflate", "rejected").filter((r) => r.seq >= start);
  const shape = rs.map((r) => `${r.what}:${r.pages?.size ?? "?"}`).join(" ");
  const ppp = 1;
  if (
    rs.length !== 2 || rs[0]?.what !== "inflate" || rs[1]?.what !== "deflate" ||
    rs[0]?.pages?.size !== ppp || rs[1]?.pages?.size !== ppp
  ) {
    return [
      bad(rule, `migration sent [${shape}]`, {
        expected: "inflate:1 deflate:1",
        actual: shape,
      }),
    ];
  }
  const replay = new BalloonReplay();
  for (const e of run.trace) replay.apply(e);
  const last = actualWrites(run.trace).pop();
  if (last !== undefined && replay.pages.size !== last.value) {
    return [
      bad(
        rule,
        `after migration the host holds ${replay.pages.size} pages, actual ${last.value}`,
      ),
    ];
  }
  return [ok(rule, "one page inflated, then one deflated")];
});
