/**
 * Driver checks of the config space and `actual`: written after each pass
 * once its requests were used, equal to the host's balloon, one 4-byte
 * access, little-endian whatever the guest.
 *
 * @module
 */

import { PageSet } from "../../../spec/mod.ts";
import type { Finding } from "../../model/types.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { actualWrites, BalloonReplay, type RequestEvent, requests, usedFor } from "../queries.ts";
import { noActual } from "./_shared.ts";

/** R-05 / R-09 / B18: actual written after every pass, and only for pages the device acknowledged. */
export const actualAfterAck: DriverCheckDef = driverCheck("actual-after-ack", (run, { rule }) => {
  const writes = actualWrites(run.trace);
  if (writes.length === 0) return noActual(run, rule);
  const out: Finding[] = [];
  const acked = new PageSet();
  const pending = new Map<string, RequestEvent>();
  let wi = 0;
  for (const e of run.trace) {
    if (e.kind === "request") {
      const r = e as RequestEvent;
      if ((r.what === "inflate" || r.what === "deflate") && r.pages !== undefined) {
        pending.set(`${r.index}:${r.head}`, r);
      }
    } else if (e.kind === "used") {
      const r = pending.get(`${e.index}:${e.head}`);
      if (r !== undefined) {
        if (r.what === "inflate") acked.unionWith(r.pages as PageSet);
        else acked.subtract(r.pages as PageSet);
        pending.delete(`${e.index}:${e.head}`);
      }
    }
    const w = writes[wi];
    if (w !== undefined && e.seq === w.seq) {
      wi++;
      if (w.size === 4 && w.value !== acked.size) {
        out.push(
          bad(
            rule,
            `actual = ${w.value} was written when the device had acknowledged ${acked.size} ballooned pages`,
            {
              expected: `${acked.size}: actual follows the acknowledgements`,
              actual: `${w.value}`,
            },
          ),
        );
      }
    }
  }
  for (const r of requests(run.trace, "inflate")) {
    const u = usedFor(run.trace, r);
    if (u === undefined) continue;
    if (writes.find((w) => w.seq > u.seq) === undefined) {
      out.push(
        bad(rule, `no actual was written after the inflate request (head ${r.head}) was used`, {
          expected: "a write of actual after each pass",
          actual: "none",
        }),
      );
    }
  }
  return out.length > 0
    ? out.slice(0, 3)
    : [ok(rule, `${writes.length} writes of actual, each after its pass was acknowledged`)];
});

/** actual equals the pages the host was told are in the balloon. */
export const actualEqualsBalloon: DriverCheckDef = driverCheck(
  "actual-equals-balloon",
  (run, { rule }) => {
    const writes = actualWrites(run.trace);
    if (writes.length === 0) return noActual(run, rule);
    const replay = new BalloonReplay();
    const out: Finding[] = [];
    let wi = 0;
    for (const e of run.trace) {
      replay.apply(e);
      const w = writes[wi];
      if (w !== undefined && e.seq === w.seq) {
        wi++;
        if (w.size === 4 && w.value !== replay.pages.size) {
          out.push(
            bad(
              rule,
              `actual = ${w.value} while the host was told of ${replay.pages.size} ballooned pages`,
              {
                expected: `${replay.pages.size}`,
                actual: `${w.value}`,
              },
            ),
          );
        }
      }
    }
    const last = writes[writes.length - 1] as (typeof writes)[number];
    if (last.value !== replay.pages.size) {
      out.push(
        bad(
          rule,
          `the last actual (${last.value}) differs from the host's balloon (${replay.pages.size} pages)`,
          {
            expected: `${replay.pages.size}`,
            actual: `${last.value}`,
          },
        ),
      );
    }
    return out.length > 0 ? out : [ok(rule, `every actual matched the host's balloon`)];
  },
);

/** B23 / B07: actual written as one little-endian 4-byte access. */
export const actualAtomic: DriverCheckDef = driverCheck("actual-atomic", (run, { rule }) => {
  const writes = actualWrites(run.trace);
  if (writes.length === 0) return noActual(run, rule);
  const partial = writes.filter((w) => w.size !== 4);
  return partial.length > 0
    ? [
      bad(rule, `${partial.length} writes of actual were ${partial[0]?.size}-byte accesses`, {
        expected: "one 4-byte write",
        actual: `${partial[0]?.size} bytes`,
      }),
    ]
    : [ok(rule, `${writes.length} 4-byte writes of actual`)];
});

/** B07: actual is little-endian whatever the guest's byte order. */
export const actualLe: DriverCheckDef = driverCheck("actual-le", (run, { rule }) => {
  const writes = actualWrites(run.trace).filter((w) => w.size === 4);
  if (writes.length === 0) return noActual(run, rule);
  const max = run.scenario.guestPages;
  const swap = (x: number) =>
    (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
  const wrong = writes.filter((w) => w.value > max && swap(w.value) <= max);
  if (wrong.length > 0) {
    const w = wrong[0] as (typeof wrong)[number];
    return [
      bad(
        rule,
        `actual reads ${w.value} little-endian, more pages than the guest has; byte-swapped it is ${
          swap(w.value)
        }`,
        {
          expected: "little-endian, whatever the guest's byte order",
          actual: "the guest's own (big-endian) byte order",
        },
      ),
    ];
  }
  return [ok(rule, `${writes.length} writes of actual, all little-endian`)];
});
