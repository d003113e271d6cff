/**
 * Driver checks of ring use: chains the suite's ring rejected, the ring
 * states the suite's device found against the rules between steps, and runs
 * that never settle (a driver that hangs or spins).
 *
 * @module
 */

import type { LoggedEvent } from "../../../impl/mod.ts";
import { structAnnotations } from "../../model/evidence.ts";
import type { Annotation, Evidence, Finding } from "../../model/types.ts";
import type { DriverRun } from "../../runners/driver.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { type RequestEvent, requests } from "../queries.ts";
import { none, order } from "./_shared.ts";

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

/** A ring fault the suite's device recorded: a chain it rejected, or a ring state it audited. */
type Fault =
  | (RequestEvent & { readonly what: "bad-chain" })
  | (LoggedEvent & { readonly kind: "ring-fault" });

/** The ring structs the device read on the way to a fault, as annotated bytes. */
function ringEvidence(run: DriverRun, f: Fault): { evidence?: Evidence } {
  const reads = f.ring ?? [];
  if (reads.length === 0) return {};
  const bytes = new Uint8Array(reads.reduce((n, r) => n + r.bytes.length, 0));
  const annotations: Annotation[] = [];
  let base = 0;
  for (const r of reads) {
    bytes.set(r.bytes, base);
    const fields = structAnnotations(r.struct, bytes, {
      order: order(run),
      base,
      bad: r.bad === undefined ? [] : [r.bad],
    });
    annotations.push(
      ...fields.map((a, i) => i === 0 ? { ...a, label: `${r.where} ${a.label}` } : a),
    );
    base += r.bytes.length;
  }
  return {
    evidence: {
      title: `${f.queue} (queue ${f.index}): ${
        reads.map((r) => r.where).join(", ")
      } as the device read them`,
      bytes,
      annotations,
    },
  };
}

/**
 * G32, G35–G37, G40, G41a, G49a, G50a: the suite's device, reading the
 * driver's rings, found nothing that breaks the case's rule — no chain it
 * rejected for it when it took chains, no ring state (the avail index, the
 * avail flags, entries never notified) when it looked at the rings after
 * each step. A violation shows the ring structs the device read, one finding
 * per queue.
 */
export const ringKept: DriverCheckDef = driverCheck("ring-kept", (run, { rule }) => {
  const chains = requests(run.trace);
  if (chains.length === 0) return none(run, rule, "chain");
  const faults = run.trace.filter((e): e is Fault =>
    (e.kind === "ring-fault" || (e.kind === "request" && e.what === "bad-chain")) &&
    e.rule === rule
  );
  if (faults.length > 0) {
    const byQueue = Map.groupBy(faults, (f) => f.index);
    return [...byQueue.values()].map((list) => {
      const f = list[0] as Fault;
      const more = list.length > 1 ? ` (${list.length - 1} more on this queue)` : "";
      return bad(rule, `${f.queue}: ${f.error}${more}`, ringEvidence(run, f));
    });
  }
  const sizes = run.trace.flatMap((e) => e.kind === "queue-setup" ? [e.size] : []);
  const longest = Math.max(...chains.map((r) => r.readable.length + r.writable.length));
  return [
    ok(
      rule,
      `${chains.length} chains (the longest ${longest} descriptors, queues of ${
        [...new Set(sizes)].join(", ")
      } entries) and the rings after each of ${run.stepSeq.length} steps, none breaking ${rule}`,
    ),
  ];
});
