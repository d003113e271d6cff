/**
 * Helpers the driver checks share: evidence for a chain, the balloon replay
 * scan, and the finding for a run that left nothing to check.
 *
 * @module
 */

import { type ByteOrder, type PageSet, structSize } from "../../../spec/mod.ts";
import { structAnnotations } from "../../model/evidence.ts";
import type { Evidence, Finding } from "../../model/types.ts";
import type { DriverRun } from "../../runners/driver.ts";
import { bad } from "../define.ts";
import { BalloonReplay, type RequestEvent, requests, traceOrder } from "../queries.ts";

/** Size of a bitmap header. */
export const HDR: number = structSize("balloon_bmap_hdr");

/** The byte order of a run's conversation. */
export function order(run: DriverRun): ByteOrder {
  return traceOrder(run.trace, run.transport.guestEndian);
}

/** Whether the run negotiated VERSION_1. */
export function usesVersion1(run: DriverRun): boolean {
  return traceOrder(run.trace) === "v1";
}

/** The bytes of a chain as evidence, its bitmap header annotated field by field. */
export function chainEvidence(
  run: DriverRun,
  r: RequestEvent,
  badFields: string[] = [],
): Evidence | undefined {
  if (r.bytes === undefined) return undefined;
  const isBitmap = r.header !== undefined || (r.bytes.length >= HDR && badFields.length > 0);
  return {
    title: `${r.queue} chain, head ${r.head}, descriptors [${r.readable.join(", ")}]`,
    bytes: r.bytes,
    annotations: isBitmap
      ? structAnnotations("balloon_bmap_hdr", r.bytes, { order: order(run), bad: badFields })
      : [],
  };
}

/** `{ evidence }` for a chain, or nothing when it has no bytes. */
export function withEvidence(
  run: DriverRun,
  r: RequestEvent,
  badFields: string[] = [],
): { evidence?: Evidence } {
  const evidence = chainEvidence(run, r, badFields);
  return evidence === undefined ? {} : { evidence };
}

/**
 * Replays the host's balloon over a run and flags each inflate naming pages
 * already in it, or each deflate naming pages not in it; returns the count of
 * such requests seen, the findings (under `rule`) and the replay at the end.
 */
export function balloonSetScan(
  run: DriverRun,
  what: "inflate" | "deflate",
  rule: string,
): { n: number; out: Finding[]; replay: BalloonReplay } {
  const replay = new BalloonReplay();
  const out: Finding[] = [];
  let n = 0;
  for (const e of run.trace) {
    if (e.kind === "request" && (e as RequestEvent).what === what) {
      const r = e as RequestEvent;
      const pages = r.pages as PageSet;
      n++;
      const inBalloon = pages.intersectionSize(replay.pages);
      const wrong = what === "inflate" ? inBalloon : pages.size - inBalloon;
      if (wrong > 0) {
        const first = pages.toArray().find((q) => replay.pages.has(q) === (what === "inflate"));
        out.push(
          bad(
            rule,
            `a ${what} request names ${wrong} pages ${
              what === "inflate" ? "already in" : "not in"
            } the balloon (first: PFN ${first})`,
            withEvidence(run, r),
          ),
        );
      }
    }
    replay.apply(e);
  }
  return { n, out, replay };
}

/**
 * The finding for a run that produced nothing to check: a check never
 * passes on no evidence. When the suite's device rejected malformed
 * requests, that is the likelier reason, and the finding says so.
 */
export function none(run: DriverRun, rule: string, what: string): Finding[] {
  const rejected = requests(run.trace, "rejected", "bad-chain");
  if (rejected.length > 0) {
    return [
      bad(
        rule,
        `no well-formed ${what} to check: the suite's device rejected ${rejected.length} malformed requests (first, on ${
          rejected[0]?.queue
        }: ${rejected[0]?.error})`,
        { root: `the suite's device rejected the driver's requests as malformed` },
      ),
    ];
  }
  return [bad(rule, `the scenario produced no ${what} to check`, { root: `no ${what}` })];
}

/** The rule that makes writing `actual` mandatory (after every pass). */
const WRITES_ACTUAL = "R-05";

/**
 * The finding for a run in which the driver never wrote `actual`: it cites
 * the rule that requires the write, whatever the case is about, so the one
 * defect reads as one cause across every case that needs an `actual`.
 */
export function noActual(run: DriverRun, rule: string): Finding[] {
  const rejected = requests(run.trace, "rejected", "bad-chain");
  if (rejected.length > 0) return none(run, rule, "write of actual");
  return [bad(WRITES_ACTUAL, "the driver never wrote actual", {
    expected: "a write of actual after every pass",
    actual: "no config write of actual",
    root: "the driver never wrote actual",
  })];
}
