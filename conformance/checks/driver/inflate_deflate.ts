/**
 * Driver checks of inflate and deflate: PFN arrays of at most 256 entries,
 * one request in flight, only allocated pages inflated, every page taken back
 * reported, MUST_TELL_HOST (no use of a page before its deflate is used),
 * no deflate before its inflate was used, the balloon set (S-06, S-07).
 *
 * @module
 */

import { PageSet, VIRTIO_BALLOON_ARRAY_PFNS_MAX } from "../../../spec/mod.ts";
import type { Finding } from "../../model/types.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { actualWrites, BalloonReplay, type RequestEvent, requests } from "../queries.ts";
import { balloonSetScan, none, withEvidence } from "./_shared.ts";

/** at most 256 PFNs per request. */
export const pfnMaxEntries: DriverCheckDef = driverCheck("pfn-max-entries", (run, { rule }) => {
  const rs = requests(run.trace, "inflate", "deflate");
  if (rs.length === 0) return none(run, rule, "inflate or deflate request");
  return rs.map((r) => {
    const n = r.readable.reduce((a, b) => a + b, 0) / 4;
    return n <= VIRTIO_BALLOON_ARRAY_PFNS_MAX
      ? ok(rule, `${r.queue} request of ${n} PFNs`)
      : bad(rule, `${r.queue} request holds ${n} PFNs`, {
        expected: `at most ${VIRTIO_BALLOON_ARRAY_PFNS_MAX} (VIRTIO_BALLOON_ARRAY_PFNS_MAX)`,
        actual: `${n}`,
        ...withEvidence(run, r),
      });
  });
});

/** one request in flight per queue. */
export const oneInFlight: DriverCheckDef = driverCheck("one-in-flight", (run, { rule }) => {
  const out: Finding[] = [];
  const open = new Map<number, number>();
  let seen = 0;
  for (const e of run.trace) {
    if (e.kind === "request") {
      const r = e as RequestEvent;
      if (r.what !== "inflate" && r.what !== "deflate" && r.what !== "rejected") continue;
      if (r.queue !== "inflateq" && r.queue !== "deflateq") continue;
      seen++;
      const n = (open.get(r.index) ?? 0) + 1;
      open.set(r.index, n);
      if (n > 1) {
        out.push(
          bad(
            rule,
            `a second ${r.queue} request (head ${r.head}) was added before the first was used`,
            { expected: "1 request in flight", actual: `${n}` },
          ),
        );
      }
    } else if (e.kind === "used") {
      const n = open.get(e.index);
      if (n !== undefined) open.set(e.index, n - 1);
    }
  }
  if (seen === 0) return none(run, rule, "inflate or deflate request");
  return out.length > 0
    ? out
    : [ok(rule, `${seen} requests, never more than one in flight per queue`)];
});

/** R-09 / B16 / S-04: inflate names only pages the guest allocated for the balloon. */
export const inflateAllocated: DriverCheckDef = driverCheck(
  "inflate-allocated",
  (run, { rule }) => {
    const n = requests(run.trace, "inflate").length;
    if (n === 0) return none(run, rule, "inflate request");
    if (run.notAllocated.length === 0) {
      return [ok(rule, `${n} inflate requests named only allocated pages`)];
    }
    const first = run.notAllocated[0] as (typeof run.notAllocated)[number];
    const r = requests(run.trace, "inflate").find((x) => x.seq === first.seq);
    return [
      bad(
        rule,
        `${run.notAllocated.length} inflate requests name pages the guest had not taken (e.g. PFN ${
          first.pfns[0]
        })`,
        {
          expected: "only pages allocated for the balloon",
          actual: `free PFNs ${first.pfns.join(", ")}`,
          ...(r ? withEvidence(run, r) : {}),
        },
      ),
    ];
  },
);

/** B13 / R-11: deflate names only pages in the balloon, and the balloon ends empty when actual is 0. */
export const deflateReported: DriverCheckDef = driverCheck("deflate-reported", (run, { rule }) => {
  const { n: deflates, out, replay } = balloonSetScan(run, "deflate", rule);
  const writes = actualWrites(run.trace);
  const last = writes[writes.length - 1];
  if (last !== undefined && last.value === 0 && replay.pages.size > 0) {
    out.push(
      bad(rule, `actual is 0 but ${replay.pages.size} pages were never reported on deflateq`, {
        expected: "every page taken back reported on deflateq",
        actual: `${replay.pages.size} pages still ballooned at the host`,
      }),
    );
  }
  if (deflates === 0 && out.length === 0) return none(run, rule, "deflate request");
  return out.length > 0
    ? out
    : [ok(rule, `${deflates} deflate requests, all naming balloon pages`)];
});

/** R-12a / B14 / R-12b / B16 / R-09: no guest or driver write to a page the host holds. */
export const noWriteToHeld: DriverCheckDef = driverCheck("no-write-to-held", (run, { rule }) => {
  if (run.watch.length === 0) {
    const deflates = requests(run.trace, "deflate").length +
      requests(run.trace, "inflate").length;
    if (deflates === 0) return none(run, rule, "inflate or deflate request");
    return [ok(rule, "no page was written while the host held it")];
  }
  const pfns = [...new Set(run.watch.map((w) => w.pfn))];
  return [
    bad(
      rule,
      `${run.watch.length} writes to ${pfns.length} pages the host still held (first: PFN ${
        pfns[0]
      }, by the ${run.watch[0]?.writer})`,
      {
        expected: "no use of a page from its inflate until its deflate request is used",
        actual: `writes to PFNs ${pfns.slice(0, 8).join(", ")}${pfns.length > 8 ? ", …" : ""}`,
      },
    ),
  ];
});

/** B17: no deflate of pages whose inflate is not yet used. */
export const noDeflateBeforeInflateAck: DriverCheckDef = driverCheck(
  "no-deflate-before-inflate-ack",
  (run, { rule }) => {
    const replay = new BalloonReplay();
    const out: Finding[] = [];
    let deflates = 0;
    for (const e of run.trace) {
      if (e.kind === "request" && (e as RequestEvent).what === "deflate") {
        deflates++;
        const pages = (e as RequestEvent).pages as PageSet;
        for (const inflight of replay.inflight.values()) {
          const both = pages.intersectionSize(inflight);
          if (both > 0) {
            out.push(
              bad(rule, `a deflate names ${both} pages whose inflate request was not used yet`),
            );
          }
        }
      }
      replay.apply(e);
    }
    if (deflates === 0) return none(run, rule, "deflate request");
    return out.length > 0 ? out : [ok(rule, "no deflate overtook its inflate")];
  },
);

/** S-06 / S-07: inflates name pages not yet in the balloon, deflates pages in it. */
export const balloonSet: DriverCheckDef<{ readonly what: "inflate" | "deflate" }> = driverCheck<
  { readonly what: "inflate" | "deflate" }
>("balloon-set", (run, { params: p }) => {
  const what = p.what;
  const rule = what === "inflate" ? "S-06" : "S-07";
  const { n, out } = balloonSetScan(run, what, rule);
  if (n === 0) return none(run, rule, `${what} request`);
  return out.length > 0 ? out : [ok(rule, `${n} ${what} requests checked against the balloon`)];
});
