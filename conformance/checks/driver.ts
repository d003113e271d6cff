/**
 * Checks on driver scenario runs. Each reads the trace (and what only the
 * guest model can see) and returns findings citing rule ids. A check that
 * finds nothing to look at fails: a rule is never passed on no evidence.
 *
 * @module
 */

import {
  BALLOON_BMAP_SIZE,
  checksFor,
  describeLegal,
  featureMask,
  type FeatureName,
  featureNames,
  fieldOf,
  hasFeature,
  isLegal,
  OOM_VBALLOON_DEFAULT_PAGES,
  PageSet,
  queueLayout,
  rule as ruleOf,
  type StructContext,
  structSize,
  VIRTIO_BALLOON_ARRAY_PFNS_MAX,
} from "../../spec/mod.ts";
import { STATUS } from "../../impl/mod.ts";
import { type DriverRun, FLAG_DONE } from "../runners/driver.ts";
import { structAnnotations } from "../model/evidence.ts";
import {
  actualWrites,
  BalloonReplay,
  rawHeader,
  type RequestEvent,
  requests,
  statusWrites,
  traceOrder,
  usedFor,
} from "./queries.ts";
import type { Evidence, Finding } from "../model/types.ts";

/** A driver check. */
export type DriverCheck = (run: DriverRun, params: Readonly<Record<string, unknown>>) => Finding[];

const HDR = structSize("balloon_bmap_hdr");

function ok(rule: string, message: string): Finding {
  return { rule, ok: true, message };
}

function bad(
  rule: string,
  message: string,
  extra: Partial<Omit<Finding, "rule" | "ok" | "message">> = {},
): Finding {
  return { rule, ok: false, message, ...extra };
}

function chainEvidence(
  run: DriverRun,
  r: RequestEvent,
  badFields: string[] = [],
): Evidence | undefined {
  if (r.bytes === undefined) return undefined;
  const order = traceOrder(run.trace, run.transport.guestEndian);
  const isBitmap = r.header !== undefined || (r.bytes.length >= HDR && badFields.length > 0);
  return {
    title: `${r.queue} chain, head ${r.head}, descriptors [${r.readable.join(", ")}]`,
    bytes: r.bytes,
    annotations: isBitmap
      ? structAnnotations("balloon_bmap_hdr", r.bytes, { order, bad: badFields })
      : [],
  };
}

/**
 * Replays the host's balloon over a run and flags each inflate naming pages
 * already in it, or each deflate naming pages not in it; returns the count of
 * such requests seen, the findings (under `rule`) and the replay at the end.
 */
function balloonSetScan(
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
        const evidence = chainEvidence(run, r);
        out.push(
          bad(
            rule,
            `a ${what} request names ${wrong} pages ${
              what === "inflate" ? "already in" : "not in"
            } the balloon (first: PFN ${first})`,
            evidence ? { evidence } : {},
          ),
        );
      }
    }
    replay.apply(e);
  }
  return { n, out, replay };
}

let currentRun: DriverRun | undefined;

function none(rule: string, what: string): Finding[] {
  const rejected = currentRun === undefined
    ? []
    : requests(currentRun.trace, "rejected", "bad-chain");
  if (rejected.length > 0) {
    return [
      bad(
        rule,
        `no well-formed ${what} to check: the suite's device rejected ${rejected.length} malformed requests (first, on ${
          rejected[0]?.queue
        }: ${rejected[0]?.error})`,
      ),
    ];
  }
  return [bad(rule, `the scenario produced no ${what} to check`)];
}

/** Wraps a check so that `none()` can explain what the run did instead. */
function withRun(check: DriverCheck): DriverCheck {
  return (run, params) => {
    currentRun = run;
    try {
      return check(run, params);
    } finally {
      currentRun = undefined;
    }
  };
}

function order(run: DriverRun) {
  return traceOrder(run.trace, run.transport.guestEndian);
}

function usesBitmap(run: DriverRun): boolean {
  const fw = [...run.trace].reverse().find((e) => e.kind === "features-write");
  return fw?.kind === "features-write" && hasFeature(run.scenario.profile, fw.value, "PAGE_BITMAP");
}

/** Every check, by id (each wrapped so that a check with no evidence says why). */
export const DRIVER_CHECKS: Readonly<Record<string, DriverCheck>> = Object.fromEntries(
  Object.entries(allChecks()).map(([k, v]) => [k, withRun(v)]),
);

function allChecks(): Record<string, DriverCheck> {
  return {
    /** R-07: at most 256 PFNs per request. */
    "pfn-max-entries": (run, p) => {
      const rule = String(p["rule"] ?? "R-07");
      const rs = requests(run.trace, "inflate", "deflate");
      if (rs.length === 0) return none(rule, "inflate or deflate request");
      return rs.map((r) => {
        const n = r.readable.reduce((a, b) => a + b, 0) / 4;
        return n <= VIRTIO_BALLOON_ARRAY_PFNS_MAX
          ? ok(rule, `${r.queue} request of ${n} PFNs`)
          : bad(rule, `${r.queue} request holds ${n} PFNs`, {
            expected: `at most ${VIRTIO_BALLOON_ARRAY_PFNS_MAX} (VIRTIO_BALLOON_ARRAY_PFNS_MAX)`,
            actual: `${n}`,
            ...(chainEvidence(run, r) ? { evidence: chainEvidence(run, r) as Evidence } : {}),
          });
      });
    },

    /** R-07: one request in flight per queue. */
    "one-in-flight": (run, p) => {
      const rule = String(p["rule"] ?? "R-07");
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
      if (seen === 0) return none(rule, "inflate or deflate request");
      return out.length > 0
        ? out
        : [ok(rule, `${seen} requests, never more than one in flight per queue`)];
    },

    /** R-05 / R-09 / B18: actual written after every pass, and only for pages the device acknowledged. */
    "actual-after-ack": (run, p) => {
      const rule = String(p["rule"] ?? "R-05");
      const writes = actualWrites(run.trace);
      if (writes.length === 0) return none(rule, "write of actual");
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
    },

    /** R-06: actual equals the pages the host was told are in the balloon. */
    "actual-equals-balloon": (run, p) => {
      const rule = String(p["rule"] ?? "R-06");
      const writes = actualWrites(run.trace);
      if (writes.length === 0) return none(rule, "write of actual");
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

    /** B13 / R-11: deflate names only pages in the balloon, and the balloon ends empty when actual is 0. */
    "deflate-reported": (run, p) => {
      const rule = String(p["rule"] ?? "B13");
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
      if (deflates === 0 && out.length === 0) return none(rule, "deflate request");
      return out.length > 0
        ? out
        : [ok(rule, `${deflates} deflate requests, all naming balloon pages`)];
    },

    /** R-12a / B14 / R-12b / B16 / R-09: no guest or driver write to a page the host holds. */
    "no-write-to-held": (run, p) => {
      const rule = String(p["rule"] ?? "R-12a");
      if (run.watch.length === 0) {
        const deflates = requests(run.trace, "deflate").length +
          requests(run.trace, "inflate").length;
        if (deflates === 0) return none(rule, "inflate or deflate request");
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
    },

    /** R-09 / B16 / S-04: inflate names only pages the guest allocated for the balloon. */
    "inflate-allocated": (run, p) => {
      const rule = String(p["rule"] ?? "R-09");
      const n = requests(run.trace, "inflate").length;
      if (n === 0) return none(rule, "inflate request");
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
            ...(r && chainEvidence(run, r) ? { evidence: chainEvidence(run, r) as Evidence } : {}),
          },
        ),
      ];
    },

    /** B17: no deflate of pages whose inflate is not yet used. */
    "no-deflate-before-inflate-ack": (run, p) => {
      const rule = String(p["rule"] ?? "B17");
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
      if (deflates === 0) return none(rule, "deflate request");
      return out.length > 0 ? out : [ok(rule, "no deflate overtook its inflate")];
    },

    /** R-10: managed pages after inflating, with or without DEFLATE_ON_OOM. */
    "managed-count": (run, p) => {
      const rule = String(p["rule"] ?? "R-10");
      const step = Number(p["afterStep"]);
      const doom = Boolean(p["doom"]);
      const before = run.managed[0] as number;
      const after = run.managed[step] as number;
      // the driver's own count of ballooned pages: its last actual by the end of that step
      const end = run.stepSeq[step] ?? Infinity;
      const held = actualWrites(run.trace).filter((w) => w.seq < end).pop()?.value ?? 0;
      if (held === 0) return none(rule, "inflated page");
      const want = doom ? before : before - held;
      return after === want
        ? [
          ok(
            rule,
            `managed pages ${after} with ${held} pages ballooned (${
              doom ? "stay managed" : "removed"
            })`,
          ),
        ]
        : [
          bad(rule, `managed pages ${after} after ballooning ${held} pages`, {
            expected: `${want}`,
            actual: `${after}`,
          }),
        ];
    },

    /** R-13 / B11: OOM deflate only with DEFLATE_ON_OOM, at most the OOM count, then actual. */
    "oom-deflate": (run, p) => {
      const rule = String(p["rule"] ?? "R-13");
      const doom = Boolean(p["doom"]);
      if (run.oomFreed.length === 0) return none(rule, "OOM event");
      const out: Finding[] = [];
      for (const [i, freed] of run.oomFreed.entries()) {
        if (!doom && freed > 0) {
          out.push(
            bad(rule, `OOM event ${i + 1} deflated ${freed} pages without DEFLATE_ON_OOM`, {
              expected: "0",
              actual: `${freed}`,
            }),
          );
        }
        if (doom && (freed > OOM_VBALLOON_DEFAULT_PAGES || freed === 0)) {
          out.push(bad(rule, `OOM event ${i + 1} deflated ${freed} pages`, {
            expected: `1…${OOM_VBALLOON_DEFAULT_PAGES} (OOM_VBALLOON_DEFAULT_PAGES)`,
            actual: `${freed}`,
          }));
        }
      }
      if (!doom) {
        const deflates = requests(run.trace, "deflate").length;
        if (deflates > 0) {
          out.push(bad(rule, `${deflates} deflate requests without DEFLATE_ON_OOM`));
        }
      }
      return out.length > 0 ? out : [ok(rule, `OOM events freed ${run.oomFreed.join(", ")} pages`)];
    },

    /** Bitmap header field checks from the struct table, for one field and use. */
    "bitmap-header-field": (run, p) => {
      const field = String(p["field"]);
      const context = String(p["context"]) as StructContext;
      const what = context === "misc-reply"
        ? "misc-reply"
        : context === "inflate"
        ? "inflate"
        : "deflate";
      const f = fieldOf("balloon_bmap_hdr", field);
      const checks = checksFor(f, context);
      const rs = requests(run.trace, what, "rejected").filter((r) =>
        r.bytes !== undefined && r.bytes.length >= HDR &&
        (what === "misc-reply"
          ? r.queue === "miscq"
          : r.queue === (what === "inflate" ? "inflateq" : "deflateq"))
      );
      const rule = checks[0]?.rule ?? "R-15";
      if (rs.length === 0) return none(rule, `${context} bitmap header`);
      const out: Finding[] = [];
      for (const r of rs) {
        const h = rawHeader(r.bytes as Uint8Array, order(run));
        if (h === undefined) continue;
        for (const c of checks) {
          const v = h[field] as number | bigint;
          if (!isLegal(c.legal, v)) {
            out.push(bad(c.rule, `${context} header ${field} is ${v}`, {
              expected: describeLegal(c.legal),
              actual: String(v),
              ...(chainEvidence(run, r, [field])
                ? { evidence: chainEvidence(run, r, [field]) as Evidence }
                : {}),
            }));
          }
        }
      }
      return out.length > 0
        ? out.slice(0, 3)
        : [ok(rule, `${rs.length} ${context} headers with a legal ${field}`)];
    },

    /** R-08 / R-16: the chain holds header + exactly bmap_len bytes, in ceil(bmap_len / 32 KiB) chunks. */
    "bitmap-chain-length": (run, p) => {
      const rule = String(p["rule"] ?? "R-08");
      const what = String(p["what"] ?? "inflate") as "inflate" | "deflate" | "misc-reply";
      const rs = requests(run.trace, what, "rejected").filter((r) =>
        r.queue === (what === "inflate" ? "inflateq" : what === "deflate" ? "deflateq" : "miscq") &&
        r.bytes !== undefined
      );
      if (rs.length === 0) return none(rule, `${what} bitmap request`);
      const out: Finding[] = [];
      for (const r of rs) {
        const h = rawHeader(r.bytes as Uint8Array, order(run));
        const total = (r.bytes as Uint8Array).length;
        if (h === undefined) {
          out.push(bad(rule, `a ${total}-byte chain is shorter than the ${HDR}-byte header`));
          continue;
        }
        const len = Number(h["bmap_len"]);
        if (total !== HDR + len) {
          out.push(bad(rule, `chain has ${total - HDR} bitmap bytes but bmap_len says ${len}`, {
            expected: `${HDR + len} bytes (header + bmap_len)`,
            actual: `${total}`,
            ...(chainEvidence(run, r, ["bmap_len"])
              ? { evidence: chainEvidence(run, r, ["bmap_len"]) as Evidence }
              : {}),
          }));
          continue;
        }
        const chunks = r.readable.length - 1;
        const want = Math.ceil(len / BALLOON_BMAP_SIZE);
        if (r.readable[0] === HDR && chunks !== want) {
          out.push(
            bad(rule, `${chunks} chunk descriptors for bmap_len ${len}`, {
              expected: `${want}`,
              actual: `${chunks}`,
            }),
          );
        }
      }
      return out.length > 0
        ? out.slice(0, 3)
        : [ok(rule, `${rs.length} chains of header + bmap_len bytes`)];
    },

    /** R-08: only newly allocated pages, each once; bits per pass equal the growth of actual. */
    "bitmap-new-pages-only": (run, p) => {
      const rule = String(p["rule"] ?? "R-08");
      const { n, out, replay } = balloonSetScan(run, "inflate", rule);
      if (n === 0) return none(rule, "inflate request");
      const writes = actualWrites(run.trace);
      const last = writes[writes.length - 1];
      if (last !== undefined && last.value !== replay.pages.size) {
        out.push(
          bad(
            rule,
            `the bits sent add up to ${replay.pages.size} pages but actual says ${last.value}`,
            {
              expected: `${last.value}`,
              actual: `${replay.pages.size}`,
            },
          ),
        );
      }
      return out.length > 0 ? out : [ok(rule, `${n} inflate requests, each page once`)];
    },

    /** S-06 / S-07: inflates name pages not yet in the balloon, deflates pages in it. */
    "balloon-set": (run, p) => {
      const what = String(p["what"]) === "inflate" ? "inflate" : "deflate";
      const rule = what === "inflate" ? "S-06" : "S-07";
      const { n, out } = balloonSetScan(run, what, rule);
      if (n === 0) return none(rule, `${what} request`);
      return out.length > 0 ? out : [ok(rule, `${n} ${what} requests checked against the balloon`)];
    },

    /** R-01 / G08 / G09 / G60a: the features written. */
    "features-written": (run, p) => {
      const rule = String(p["rule"] ?? "G08");
      const profile = run.scenario.profile;
      const fw = run.trace.find((e) => e.kind === "features-write");
      if (fw === undefined || fw.kind !== "features-write") return none(rule, "feature write");
      const offered = featureMask(profile, run.scenario.offer as FeatureName[]);
      const names = featureNames(profile, fw.value);
      const out: Finding[] = [];
      if (rule === "G08" || rule === "R-01") {
        const extra = fw.value & ~offered;
        if (extra !== 0n) {
          out.push(
            bad(
              rule,
              `accepted features the device did not offer: ${
                featureNames(profile, extra).join(", ") || `0x${extra.toString(16)}`
              }`,
              {
                expected: `a subset of ${run.scenario.offer.join(", ")}`,
                actual: names.join(", "),
              },
            ),
          );
        }
      }
      if (rule === "G09") {
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
        rule === "G60a" && run.scenario.offer.includes("VERSION_1") && !names.includes("VERSION_1")
      ) {
        out.push(bad(rule, "VERSION_1 was offered but not accepted", { actual: names.join(", ") }));
      }
      if (rule === "G64" && names.includes("VERSION_1")) {
        // G64 is a legacy-interface rule: under VERSION_1 ANY_LAYOUT is implied
        // (Linux declines the bit then), so a modern negotiation proves nothing
        return none(rule, "legacy negotiation (VERSION_1 was accepted)");
      }
      if (
        rule === "G64" && run.scenario.offer.includes("ANY_LAYOUT") && !names.includes("ANY_LAYOUT")
      ) {
        out.push(
          bad(rule, "ANY_LAYOUT was offered by a transitional device but not accepted", {
            actual: names.join(", "),
          }),
        );
      }
      return out.length > 0 ? out : [ok(rule, `accepted ${names.join(", ") || "nothing"}`)];
    },

    /** R-03: queues set up are the ones the negotiated features give. */
    "queues-match": (run, p) => {
      const rule = String(p["rule"] ?? "R-03");
      const profile = run.scenario.profile;
      const ok2 = run.trace.find((e) => e.kind === "features-ok");
      if (ok2 === undefined || ok2.kind !== "features-ok" || !ok2.accepted) {
        return none(rule, "accepted feature negotiation");
      }
      const want = queueLayout(profile, new Set(featureNames(profile, ok2.value))).map((q) =>
        q.index
      );
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
    },

    /** R-01 / R-02: requests use the format the negotiated features say. */
    "format-matches": (run, p) => {
      const rule = String(p["rule"] ?? "R-02");
      const profile = run.scenario.profile;
      const okE = run.trace.find((e) => e.kind === "features-ok");
      if (okE === undefined || okE.kind !== "features-ok") return none(rule, "feature negotiation");
      const bitmap = hasFeature(profile, okE.value, "PAGE_BITMAP");
      const rs = requests(run.trace, "inflate", "rejected").filter((r) => r.queue === "inflateq");
      if (rs.length === 0) return none(rule, "inflate request");
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
              ...(chainEvidence(run, r) ? { evidence: chainEvidence(run, r) as Evidence } : {}),
            },
          ),
        ];
      }
      return [
        ok(rule, `${rs.length} inflate requests in ${bitmap ? "bitmap" : "PFN-array"} format`),
      ];
    },

    /** G55a / G01 / G02 / G57 / G55c: the initialisation sequence. */
    "init-sequence": (run, p) => {
      const rule = String(p["rule"] ?? "G55a");
      const ws = statusWrites(run.trace);
      if (ws.length === 0) return none(rule, "status write");
      const out: Finding[] = [];
      const seqOf = (bit: number) => ws.find((w) => w.value & bit)?.seq;
      const driverOk = seqOf(STATUS.DRIVER_OK);
      const featuresOk = seqOf(STATUS.FEATURES_OK);
      const fw = run.trace.find((e) => e.kind === "features-write");
      const legacy = !usesVersion1(run);
      if (rule === "G55a") {
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
      }
      if (rule === "G55d") {
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
      if (rule === "G02") {
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
      if (rule === "G57") {
        const early = run.trace.find((e) =>
          e.kind === "notify" && (driverOk === undefined || e.seq < driverOk)
        );
        if (early !== undefined && early.kind === "notify") {
          out.push(bad(rule, `queue ${early.index} was notified before DRIVER_OK`));
        }
      }
      if (rule === "G55c") {
        const early = run.trace.find((e) =>
          e.kind === "config-write" && (featuresOk === undefined || e.seq < featuresOk)
        );
        if (early !== undefined && !legacy) {
          out.push(bad(rule, "config space was written before FEATURES_OK"));
        }
      }
      return out.length > 0 ? out : [ok(rule, "the initialisation sequence follows the rule")];
    },

    /** G56a / G56b: a refused feature set ends in FAILED, not DRIVER_OK. */
    "refusal-handled": (run, p) => {
      const rule = String(p["rule"] ?? "G56b");
      const ws = statusWrites(run.trace);
      const refused = run.trace.find((e) => e.kind === "features-ok" && !e.accepted);
      if (refused === undefined) return none(rule, "refused FEATURES_OK");
      const after = ws.filter((w) => w.seq > refused.seq);
      if (rule === "G56a") {
        return after.some((w) => w.value & STATUS.FAILED)
          ? [ok(rule, "FAILED was set after the refusal")]
          : [bad(rule, "the driver did not set FAILED after the device refused FEATURES_OK")];
      }
      return after.some((w) => w.value & STATUS.DRIVER_OK)
        ? [bad(rule, "the driver set DRIVER_OK after the device refused FEATURES_OK")]
        : [ok(rule, "the driver stopped after the refusal")];
    },

    /** B23 / B07: actual written as one little-endian 4-byte access. */
    "actual-atomic": (run, p) => {
      const rule = String(p["rule"] ?? "B23");
      const writes = actualWrites(run.trace);
      if (writes.length === 0) return none(rule, "write of actual");
      const partial = writes.filter((w) => w.size !== 4);
      return partial.length > 0
        ? [
          bad(rule, `${partial.length} writes of actual were ${partial[0]?.size}-byte accesses`, {
            expected: "one 4-byte write",
            actual: `${partial[0]?.size} bytes`,
          }),
        ]
        : [ok(rule, `${writes.length} 4-byte writes of actual`)];
    },

    /** B25 / B26 / B27 / B28 / B29 / B32: the stats queue. */
    "stats": (run, p) => {
      const rule = String(p["rule"]);
      const stats = requests(run.trace, "stats", "rejected").filter((r) => r.queue === "statsq");
      if (stats.length === 0) return none(rule, "stats buffer");
      const out: Finding[] = [];
      const driverOk = statusWrites(run.trace).find((w) => w.value & STATUS.DRIVER_OK)?.seq ??
        Infinity;
      const tagsOf = (r: RequestEvent) => (r.stats ?? []).map((s) => s.tag).join(",");
      switch (rule) {
        case "B26":
          if (!stats.some((s) => s.seq > driverOk)) {
            out.push(bad(rule, "no stats buffer was available after initialisation"));
          }
          break;
        case "B28": {
          const first = stats[0] as RequestEvent;
          const later = stats[stats.length - 1] as RequestEvent;
          if ((first.stats ?? []).length === 0 || tagsOf(first) !== tagsOf(later)) {
            out.push(
              bad(rule, `the first stats buffer holds [${tagsOf(first)}]`, {
                expected: `one entry per supported statistic [${tagsOf(later)}]`,
                actual: `[${tagsOf(first)}]`,
              }),
            );
          }
          break;
        }
        case "B25": {
          const seen = run.device.observations.find((o) => o.rule === "B25");
          if (seen !== undefined) out.push(bad(rule, seen.message));
          let heldCount = 0;
          for (const e of run.trace) {
            if (e.kind === "request" && (e as RequestEvent).queue === "statsq") {
              heldCount++;
              if (heldCount > 1) {
                out.push(
                  bad(rule, "a second stats buffer was made available while the device held one"),
                );
                break;
              }
            } else if (e.kind === "used" && stats.some((s) => s.index === e.index)) {
              heldCount = Math.max(0, heldCount - 1);
            }
          }
          break;
        }
        case "B27": {
          const requestsMade =
            run.trace.filter((e) => e.kind === "host" && e.action === "request-stats").length;
          if (stats.length < requestsMade + 1) {
            out.push(
              bad(rule, `${requestsMade} stats requests but only ${stats.length} buffers`, {
                expected: `${requestsMade + 1}`,
                actual: `${stats.length}`,
              }),
            );
          }
          break;
        }
        case "B29":
          for (const s of stats) {
            const n = s.readable.reduce((a, b) => a + b, 0);
            if (n % structSize("virtio_balloon_stat") !== 0) {
              out.push(
                bad(rule, `a ${n}-byte stats buffer`, {
                  expected: `a multiple of ${structSize("virtio_balloon_stat")} bytes`,
                  actual: `${n}`,
                }),
              );
              break;
            }
          }
          break;
        case "B32": {
          const sets = new Set(stats.filter((s) => s.what === "stats").map(tagsOf));
          if (sets.size > 1) {
            out.push(bad(
              rule,
              `stats buffers held different subsets: ${[...sets].map((x) => `[${x}]`).join(" ")}`,
            ));
          }
          break;
        }
      }
      return out.length > 0 ? out : [ok(rule, `${stats.length} stats buffers`)];
    },

    /** R-04 / R-17b: the misc request buffer is always posted again. */
    "misc-buffer-reposted": (run, p) => {
      const rule = String(p["rule"] ?? "R-04");
      const reqs = run.trace.filter((e) => e.kind === "host" && e.action === "request-unused");
      const buffers = requests(run.trace, "misc-request-buffer");
      if (reqs.length === 0) return none(rule, "misc request");
      const driverOk = statusWrites(run.trace).find((w) => w.value & STATUS.DRIVER_OK)?.seq ??
        Infinity;
      const out: Finding[] = [];
      if (!buffers.some((b) => b.seq < (reqs[0]?.seq ?? 0))) {
        out.push(bad(rule, "no request buffer was available before the first request"));
      }
      void driverOk;
      for (const [i, r] of reqs.entries()) {
        const next = reqs[i + 1]?.seq ?? Infinity;
        if (!buffers.some((b) => b.seq > r.seq && b.seq < next)) {
          out.push(
            bad(rule, `after request ${i + 1} no new request buffer was made available`, {
              expected: "one 16-byte device-writable buffer re-posted after each request",
            }),
          );
        }
      }
      for (const b of buffers) {
        if (b.writable.length !== 1 || b.writable[0] !== structSize("balloon_req_hdr")) {
          out.push(
            bad(rule, `a request buffer of [${b.writable.join(", ")}] writable bytes`, {
              expected: `one ${structSize("balloon_req_hdr")}-byte buffer`,
            }),
          );
          break;
        }
      }
      return out.length > 0
        ? out
        : [ok(rule, `${reqs.length} requests, the buffer re-posted after each`)];
    },

    /** R-17b: a bad request gets no reply. */
    "misc-bad-request-ignored": (run, p) => {
      const rule = String(p["rule"] ?? "R-17b");
      const reqs = run.trace.filter((
        e,
      ): e is typeof e & { kind: "host"; action: "request-unused"; len: number; cmd: number } =>
        e.kind === "host" && e.action === "request-unused"
      );
      const badReqs = reqs.filter((r) => r.len !== structSize("balloon_req_hdr") || r.cmd !== 0);
      if (badReqs.length === 0) return none(rule, "malformed request");
      const out: Finding[] = [];
      for (const r of badReqs) {
        const next = reqs.find((x) => x.seq > r.seq)?.seq ?? Infinity;
        const replies = requests(run.trace, "misc-reply", "rejected").filter((x) =>
          x.queue === "miscq" && x.seq > r.seq && x.seq < next
        );
        if (replies.length > 0) {
          out.push(
            bad(
              rule,
              `a request with used length ${r.len} and cmd ${r.cmd} got ${replies.length} reply chunks`,
            ),
          );
        }
      }
      return out.length > 0 ? out : [ok(rule, `${badReqs.length} malformed requests ignored`)];
    },

    /** R-18: reply chunks CONT…DONE, req_id echoed, windows contiguous from 0 and covering RAM. */
    "misc-reply-shape": (run, p) => {
      const rule = String(p["rule"] ?? "R-18");
      const aspect = String(p["aspect"]);
      const reqs = run.trace.filter((
        e,
      ): e is typeof e & {
        kind: "host";
        action: "request-unused";
        param: bigint;
        len: number;
        cmd: number;
      } => e.kind === "host" && e.action === "request-unused" && e.len === 16 && e.cmd === 0);
      if (reqs.length === 0) return none(rule, "misc request");
      const out: Finding[] = [];
      for (const [i, req] of reqs.entries()) {
        const next = reqs[i + 1]?.seq ?? Infinity;
        const chunks = requests(run.trace, "misc-reply", "rejected").filter((x) =>
          x.queue === "miscq" && x.seq > req.seq && x.seq < next
        );
        if (chunks.length === 0) {
          out.push(bad(rule, `request ${i + 1} got no reply`));
          continue;
        }
        const hs = chunks.map((c) => rawHeader(c.bytes ?? new Uint8Array(), order(run)));
        if (aspect === "req-id") {
          for (const [k, h] of hs.entries()) {
            if (h !== undefined && h["req_id"] !== req.param) {
              out.push(bad(rule, `chunk ${k + 1} has req_id ${h["req_id"]}`, {
                expected: `${req.param} (the request's param)`,
                actual: `${h["req_id"]}`,
                ...(chainEvidence(run, chunks[k] as RequestEvent, ["req_id"])
                  ? {
                    evidence: chainEvidence(run, chunks[k] as RequestEvent, ["req_id"]) as Evidence,
                  }
                  : {}),
              }));
              break;
            }
          }
        } else if (aspect === "flags") {
          const flags = hs.map((h) => Number(h?.["flag"] ?? -1));
          const dones = flags.filter((f) => f === FLAG_DONE).length;
          if (dones !== 1 || flags[flags.length - 1] !== FLAG_DONE) {
            out.push(
              bad(rule, `reply flags ${flags.join(", ")}`, {
                expected: "CONT (0) … CONT, then exactly one DONE (1), last",
                actual: flags.join(", "),
              }),
            );
          }
        } else if (aspect === "coverage") {
          let expectStart = 0;
          for (const [k, h] of hs.entries()) {
            if (h === undefined) continue;
            const start = Number(h["start_pfn"]);
            const len = Number(h["bmap_len"]);
            if (start !== expectStart) {
              out.push(
                bad(rule, `chunk ${k + 1} starts at PFN ${start}`, {
                  expected: `${expectStart} (contiguous from 0)`,
                  actual: `${start}`,
                }),
              );
              break;
            }
            expectStart = start + len * 8;
          }
          const guestPfns = run.scenario.guestPages;
          if (out.length === 0 && expectStart < guestPfns) {
            out.push(
              bad(rule, `the reply covers PFNs below ${expectStart} only`, {
                expected: `all ${guestPfns} PFNs`,
                actual: `${expectStart}`,
              }),
            );
          }
        }
      }
      return out.length > 0
        ? out.slice(0, 3)
        : [ok(rule, `${reqs.length} replies with the right ${aspect}`)];
    },

    /** R-19: hints name only pages free at scan time, and every buddy-free page. */
    "misc-hints-free": (run, p) => {
      const rule = String(p["rule"] ?? "R-19");
      const aspect = String(p["aspect"] ?? "sound");
      const rounds = run.device.rounds.filter((r) => r.done);
      if (rounds.length === 0) return none(rule, "completed unused-page round");
      const out: Finding[] = [];
      const valid = run.device.rounds.filter((r) => r.chunks > 0 || r.done);
      for (const [i, round] of valid.entries()) {
        const free = run.freeAtRequest[run.freeAtRequest.length - valid.length + i];
        if (free === undefined || !round.done) continue;
        if (aspect === "sound") {
          const wrong = round.hints.clone();
          wrong.subtract(free);
          if (wrong.size > 0) {
            out.push(
              bad(
                rule,
                `${wrong.size} pages hinted unused were in use at scan time (e.g. PFN ${wrong.min()})`,
                {
                  expected: "only pages on the buddy free lists",
                  actual: `in-use PFNs ${[...wrong].slice(0, 8).join(", ")}`,
                },
              ),
            );
          }
        } else {
          const missing = free.clone();
          missing.subtract(round.hints);
          if (missing.size > 0) {
            out.push(
              bad(
                rule,
                `${missing.size} free pages were not reported (e.g. PFN ${missing.min()})`,
                {
                  expected: "every page on the buddy free lists",
                  actual: `missing PFNs ${[...missing].slice(0, 8).join(", ")}`,
                },
              ),
            );
          }
        }
      }
      return out.length > 0 ? out : [
        ok(
          rule,
          `${rounds.length} rounds, hints ${aspect === "sound" ? "only free pages" : "complete"}`,
        ),
      ];
    },

    /** R-22: remove deflates everything, writes actual 0, then resets. */
    "remove-clean": (run, p) => {
      const rule = String(p["rule"] ?? "R-22");
      const reset = [...run.trace].reverse().find((e) => e.kind === "reset");
      if (reset === undefined) return none(rule, "device reset");
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
    },

    /** R-23: restore brings the balloon back to the target. */
    "restore-resumes": (run, p) => {
      const rule = String(p["rule"] ?? "R-23");
      const target = Number(p["target"]);
      const resets = run.trace.filter((e) => e.kind === "reset");
      if (resets.length < 2) return none(rule, "freeze (reset) followed by restore");
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
    },

    /** R-24: balloon-page migration reports one new page on inflateq, then one old page on deflateq. */
    "migrate-page": (run, p) => {
      const rule = String(p["rule"] ?? "R-24");
      const step = run.scenario.steps.findIndex((s) => s.do === "migrate-page");
      if (step < 0) return none(rule, "balloon-page migration");
      const start = run.stepSeq[step] as number;
      const rs = requests(run.trace, "inflate", "deflate", "rejected").filter((r) =>
        r.seq >= start
      );
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
    },

    /** G29 / G34 / …: the suite's ring rejected none of the driver's chains for this rule. */
    "ring-legal": (run, p) => {
      const rule = String(p["rule"]);
      const all = requests(run.trace);
      if (all.length === 0) return none(rule, "chain");
      const badChains = all.filter((r) => r.what === "bad-chain" && r.rule === rule);
      return badChains.length > 0
        ? [bad(rule, `the ring rejected ${badChains.length} chains: ${badChains[0]?.error}`)]
        : [ok(rule, `${all.length} chains, none breaking ${rule}`)];
    },

    /** R-21-like driver side / D-05: no blocking wait in interrupt context. */
    "no-irq-blocking": (run, p) => {
      const rule = String(p["rule"] ?? "R-18");
      return run.irqBlocking.length > 0
        ? [
          bad(rule, `the driver blocked in interrupt context: ${run.irqBlocking[0]}`, {
            expected: "requests handled in deferred context",
          }),
        ]
        : [ok(rule, "no blocking wait in interrupt context")];
    },

    /** The scenario ran to completion (no hang, no exception). */
    "settles": (run, p) => {
      const rule = String(p["rule"] ?? "R-14");
      const out: Finding[] = [];
      for (const h of run.hangs) {
        out.push(bad(rule, `${h} never settled: the driver kept waiting or spinning`));
      }
      for (const e of run.errors) out.push(bad(rule, `${e}`));
      return out.length > 0 ? out : [ok(rule, "every step settled")];
    },

    /** B07: actual is little-endian whatever the guest's byte order. */
    "actual-le": (run, p) => {
      const rule = String(p["rule"] ?? "B07");
      const writes = actualWrites(run.trace).filter((w) => w.size === 4);
      if (writes.length === 0) return none(rule, "write of actual");
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
    },
  };
}

function usesVersion1(run: DriverRun): boolean {
  return traceOrder(run.trace) === "v1";
}

void usesBitmap;
void ruleOf;
