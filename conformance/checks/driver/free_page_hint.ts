/**
 * Driver checks of free page hinting (B37 – B46, B53): 4-byte command id
 * buffers, a round started with its id once, pages supplied while the id is
 * current and no more once it is not, the round ended with STOP, only free
 * pages hinted, hinted pages initialised before they go back before DONE and
 * all of them back after DONE, the id in the guest's byte order on legacy.
 *
 * @module
 */

import { PageSet, structSize } from "../../../spec/mod.ts";
import type { Finding } from "../../model/types.ts";
import type { DriverRun } from "../../runners/driver.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { type RequestEvent, requests } from "../queries.ts";
import { none, withEvidence } from "./_shared.ts";
import {
  announcements,
  carriesPages,
  DONE,
  hintRounds,
  isCmdBuffer,
  notifiedAt,
  type RoundView,
  STOP,
} from "./_standard.ts";

const CMD_BYTES = structSize("free_page_hint_cmd");
const NEEDS = { needs: () => ["FREE_PAGE_HINT" as const] };

/** The rounds the driver took part in (sent anything on free_page_vq). */
function activeRounds(run: DriverRun): RoundView[] {
  return hintRounds(run).filter((r) => r.chains.length > 0);
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** B37: every free_page_vq out buffer is exactly 4 bytes. */
export const hintCmdLength: DriverCheckDef = driverCheck("hint-cmd-length", (run, { rule }) => {
  const outs = requests(run.trace).filter((r) => r.queue === "free_page_vq" && isCmdBuffer(r));
  if (outs.length === 0) return none(run, rule, "free_page_vq out buffer");
  const wrong = outs.filter((r) => r.readable.reduce((a, b) => a + b, 0) !== CMD_BYTES);
  if (wrong.length === 0) return [ok(rule, `${outs.length} out buffers of ${CMD_BYTES} bytes`)];
  const r = wrong[0] as RequestEvent;
  return [bad(rule, `${wrong.length} of ${outs.length} out buffers are not ${CMD_BYTES} bytes`, {
    expected: `${CMD_BYTES} bytes`,
    actual: `${r.readable.reduce((a, b) => a + b, 0)} bytes (descriptors [${
      r.readable.join(", ")
    }])`,
    ...withEvidence(run, r),
  })];
}, NEEDS);

/** B38: a round starts with an out buffer holding its command id. */
export const hintStartsWithId: DriverCheckDef = driverCheck(
  "hint-starts-with-id",
  (run, { rule }) => {
    const rounds = activeRounds(run);
    if (rounds.length === 0) return none(run, rule, "hint round");
    const out: Finding[] = [];
    for (const r of rounds) {
      const first = r.chains[0] as RequestEvent;
      if (!isCmdBuffer(first) || first.cmdId !== r.id) {
        out.push(bad(
          rule,
          `round ${hex(r.id)} starts with ${
            isCmdBuffer(first) ? `an out buffer holding ${hex(first.cmdId ?? -1)}` : "hinted pages"
          }`,
          {
            expected: `an out buffer holding ${hex(r.id)} first`,
            actual: `${first.what} (head ${first.head})`,
          },
        ));
      }
    }
    return out.length > 0
      ? out
      : [ok(rule, `${rounds.length} rounds started with their command id`)];
  },
  NEEDS,
);

/** B39: no more than one out buffer holding a round's command id. */
export const hintOneStart: DriverCheckDef = driverCheck("hint-one-start", (run, { rule }) => {
  const rounds = activeRounds(run);
  if (rounds.length === 0) return none(run, rule, "hint round");
  const out: Finding[] = [];
  for (const r of rounds) {
    const n = r.chains.filter((c) => isCmdBuffer(c) && c.cmdId === r.id).length;
    if (n > 1) {
      out.push(bad(rule, `round ${hex(r.id)}: ${n} out buffers hold its command id`, {
        expected: "1",
        actual: `${n}`,
      }));
    }
  }
  return out.length > 0 ? out : [ok(rule, `${rounds.length} rounds, one start id each`)];
}, NEEDS);

/** B40: pages are supplied while the command id is current. */
export const hintSuppliesPages: DriverCheckDef = driverCheck(
  "hint-supplies-pages",
  (run, { rule }) => {
    const rounds = activeRounds(run);
    if (rounds.length === 0) return none(run, rule, "hint round");
    const empty = rounds.filter((r) => !r.chains.some(carriesPages));
    return empty.length === 0
      ? [ok(rule, `${rounds.length} rounds with hinted pages`)]
      : [bad(rule, `${empty.length} of ${rounds.length} rounds hinted no page`, {
        expected: "free pages hinted while the id is current",
        actual: `round ${hex((empty[0] as RoundView).id)}: ${
          (empty[0] as RoundView).chains.length
        } out buffers, no pages`,
      })];
  },
  NEEDS,
);

/**
 * B41: no pages are made available after the driver has read an id that is
 * no longer the round's (a STOP): a chain of pages that the device took after
 * a notification that followed that read.
 */
export const hintStopsOnStop: DriverCheckDef = driverCheck(
  "hint-stops-on-stop",
  (run, { rule }) => {
    const rounds = hintRounds(run).filter((r) => r.idGoneAt !== undefined && r.chains.length > 0);
    if (rounds.length === 0) return none(run, rule, "hint round the host stopped while it ran");
    const out: Finding[] = [];
    for (const r of rounds) {
      const gone = r.idGoneAt as number;
      const late = r.chains.filter((c) =>
        carriesPages(c) && notifiedAt(run, c.index, c.seq) > gone
      );
      if (late.length > 0) {
        out.push(
          bad(
            rule,
            `round ${
              hex(r.id)
            }: ${late.length} chains of pages made available after the driver read that the id had changed`,
            {
              expected: "no more pages once the id is STOP or DONE",
              actual: `${late.reduce((n, c) => n + (c.pages?.size ?? 0), 0)} pages hinted late`,
            },
          ),
        );
      }
    }
    return out.length > 0
      ? out
      : [ok(rule, `${rounds.length} stopped rounds, no page hinted after the stop`)];
  },
  NEEDS,
);

/** B42: a round that hinted pages ends with an out buffer holding STOP. */
export const hintEndsWithStop: DriverCheckDef = driverCheck(
  "hint-ends-with-stop",
  (run, { rule }) => {
    const rounds = activeRounds(run).filter((r) => r.chains.some(carriesPages));
    if (rounds.length === 0) return none(run, rule, "hint round with pages");
    const out: Finding[] = [];
    for (const r of rounds) {
      const last = r.chains.findLastIndex(carriesPages);
      const stop = r.chains.slice(last + 1).some((c) => isCmdBuffer(c) && c.cmdId === STOP);
      if (!stop) {
        out.push(bad(rule, `round ${hex(r.id)} ended without an out buffer holding STOP`, {
          expected: `an out buffer holding ${STOP} after the last hinted pages`,
          actual: `${r.chains.length - last - 1} chains after the last pages, none holding STOP`,
        }));
      }
    }
    return out.length > 0 ? out : [ok(rule, `${rounds.length} rounds ended with STOP`)];
  },
  NEEDS,
);

/** B44: only pages the guest does not use are hinted (their contents are not relied on). */
export const hintFreePagesOnly: DriverCheckDef = driverCheck(
  "hint-free-pages-only",
  (run, { rule }) => {
    const hinted = run.standard.hints;
    if (hinted.length === 0) return none(run, rule, "hinted page");
    const used = run.standard.hintedInUse;
    return used.size === 0 ? [ok(rule, `${hinted.length} hints, none of a page the guest uses`)] : [
      bad(rule, `${used.size} hinted pages were in use by the guest (first: PFN ${used.min()})`, {
        expected: "only free pages, whose contents nothing relies on",
        actual: `PFNs ${used.toArray().slice(0, 8).join(", ")}`,
      }),
    ];
  },
  NEEDS,
);

/** B45 / B44: a hinted page given back before DONE is initialised (written) first. */
export const hintInitBeforeRelease: DriverCheckDef = driverCheck(
  "hint-init-before-release",
  (run, { rule }) => {
    const done = announcements(run).find((a) => a.value === DONE)?.seq ?? Infinity;
    const early = run.standard.returns.filter((r) => r.reason === "hint" && r.afterSeq < done);
    if (early.length === 0) return none(run, rule, "hinted page given back before DONE");
    const bare = new PageSet();
    for (const r of early) bare.unionWith(r.uninitialized);
    const n = early.reduce((a, r) => a + r.pages.size, 0);
    return bare.size === 0
      ? [ok(rule, `${n} hinted pages given back before DONE, each written first`)]
      : [
        bad(
          rule,
          `${bare.size} of ${n} hinted pages went back before DONE unwritten (first: PFN ${bare.min()})`,
          {
            expected: "each initialised before it goes back to the guest",
            actual: `PFNs ${bare.toArray().slice(0, 8).join(", ")}`,
          },
        ),
      ];
  },
  NEEDS,
);

/** B46: once the command id is DONE, every hinted page goes back to the guest. */
export const hintReleaseOnDone: DriverCheckDef = driverCheck(
  "hint-release-on-done",
  (run, { rule }) => {
    const done = announcements(run).find((a) => a.value === DONE)?.seq;
    if (done === undefined) return none(run, rule, "DONE");
    const hinted = new PageSet();
    for (const h of requests(run.trace, "hint")) {
      if (h.seq < done && h.pages) hinted.unionWith(h.pages);
    }
    if (hinted.size === 0) return none(run, rule, "page hinted before DONE");
    const back = new PageSet();
    for (const r of run.standard.returns) if (r.reason === "hint") back.unionWith(r.pages);
    const kept = hinted.clone();
    kept.subtract(back);
    return kept.size === 0
      ? [ok(rule, `all ${hinted.size} hinted pages went back once the id was DONE`)]
      : [bad(rule, `${kept.size} of ${hinted.size} hinted pages are still held after DONE`, {
        expected: "every hinted page given back",
        actual: `${kept.size} held (first: PFN ${kept.min()})`,
      })];
  },
  NEEDS,
);

/** B53: over the legacy interface the command id is in the guest's byte order. */
export const hintIdGuestOrder: DriverCheckDef = driverCheck(
  "hint-id-guest-order",
  (run, { rule }) => {
    const rounds = activeRounds(run).filter((r) => r.chains.some(isCmdBuffer));
    if (rounds.length === 0) return none(run, rule, "hint round with a command id");
    const out: Finding[] = [];
    for (const r of rounds) {
      const first = r.chains.find(isCmdBuffer) as RequestEvent;
      if (first.cmdId !== r.id) {
        out.push(
          bad(
            rule,
            `round ${hex(r.id)}: its out buffer reads ${
              hex(first.cmdId ?? -1)
            } in the guest's byte order`,
            {
              expected: `${hex(r.id)} in the ${
                run.transport.guestEndian === "be" ? "big" : "little"
              }-endian guest's own order`,
              actual: hex(first.cmdId ?? -1),
              ...withEvidence(run, first),
            },
          ),
        );
      }
    }
    return out.length > 0
      ? out
      : [ok(rule, `${rounds.length} command ids in the guest's byte order`)];
  },
  NEEDS,
);
