/**
 * Driver checks of MISC_VQ: the request buffer re-posted, bad requests
 * ignored, replies CONT…DONE echoing req_id over all of RAM, hints naming
 * only (and all) free pages, handled in deferred context.
 *
 * @module
 */

import { structSize } from "../../../spec/mod.ts";
import { STATUS } from "../../../impl/mod.ts";
import type { Finding } from "../../model/types.ts";
import { FLAG_DONE } from "../../runners/driver.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { rawHeader, type RequestEvent, requests, statusWrites } from "../queries.ts";
import { none, order, withEvidence } from "./_shared.ts";

/** R-04 / R-17b: the misc request buffer is always posted again. */
export const miscBufferReposted: DriverCheckDef = driverCheck(
  "misc-buffer-reposted",
  (run, { rule }) => {
    const reqs = run.trace.filter((e) => e.kind === "host" && e.action === "request-unused");
    const buffers = requests(run.trace, "misc-request-buffer");
    if (reqs.length === 0) return none(run, rule, "misc request");
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
  { needs: () => ["MISC_VQ"] },
);

/** R-17b: a bad request gets no reply. */
export const miscBadRequestIgnored: DriverCheckDef = driverCheck(
  "misc-bad-request-ignored",
  (run, { rule }) => {
    const reqs = run.trace.filter((
      e,
    ): e is typeof e & { kind: "host"; action: "request-unused"; len: number; cmd: number } =>
      e.kind === "host" && e.action === "request-unused"
    );
    const badReqs = reqs.filter((r) => r.len !== structSize("balloon_req_hdr") || r.cmd !== 0);
    if (badReqs.length === 0) return none(run, rule, "malformed request");
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
  { needs: () => ["MISC_VQ"] },
);

/** reply chunks CONT…DONE, req_id echoed, windows contiguous from 0 and covering RAM. */
export const miscReplyShape: DriverCheckDef<{ readonly aspect: "req-id" | "flags" | "coverage" }> =
  driverCheck<{ readonly aspect: "req-id" | "flags" | "coverage" }>(
    "misc-reply-shape",
    (run, { rule, params: p }) => {
      const aspect = p.aspect;
      const reqs = run.trace.filter((
        e,
      ): e is typeof e & {
        kind: "host";
        action: "request-unused";
        param: bigint;
        len: number;
        cmd: number;
      } => e.kind === "host" && e.action === "request-unused" && e.len === 16 && e.cmd === 0);
      if (reqs.length === 0) return none(run, rule, "misc request");
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
                ...withEvidence(run, chunks[k] as RequestEvent, ["req_id"]),
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
    { needs: () => ["MISC_VQ"] },
  );

/** hints name only pages free at scan time, and every buddy-free page. */
export const miscHintsFree: DriverCheckDef<{ readonly aspect: "sound" | "complete" }> = driverCheck<
  { readonly aspect: "sound" | "complete" }
>("misc-hints-free", (run, { rule, params: p }) => {
  const aspect = p.aspect;
  const rounds = run.device.rounds.filter((r) => r.done);
  if (rounds.length === 0) return none(run, rule, "completed unused-page round");
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
}, { needs: () => ["MISC_VQ"] });

/** R-21-like driver side / D-05: no blocking wait in interrupt context. */
export const noIrqBlocking: DriverCheckDef = driverCheck("no-irq-blocking", (run, { rule }) => {
  return run.irqBlocking.length > 0
    ? [
      bad(rule, `the driver blocked in interrupt context: ${run.irqBlocking[0]}`, {
        expected: "requests handled in deferred context",
      }),
    ]
    : [ok(rule, "no blocking wait in interrupt context")];
}, { needs: () => ["MISC_VQ"] });
