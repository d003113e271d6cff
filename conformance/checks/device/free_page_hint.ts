/**
 * Device checks of free page hinting (B48, B49, B51, B52, B53, S-09, S-10):
 * a new command id each round, DONE when the hints are no longer needed,
 * hinted pages left alone after DONE, pages sent under another id ignored,
 * a malformed id buffer changing nothing, the legacy byte order, every
 * buffer used.
 *
 * @module
 */

import { enumValue } from "../../../spec/mod.ts";
import { STATUS } from "../../../impl/mod.ts";
import type { Finding } from "../../model/types.ts";
import type { SendResult } from "../../runners/device.ts";
import { bad, deviceCheck, type DeviceCheckDef, ok } from "../define.ts";
import { evidence, missing, sendOf } from "./_shared.ts";

const STOP = enumValue("free_page_hint_cmd_id", "VIRTIO_BALLOON_CMD_ID_STOP");
const DONE = enumValue("free_page_hint_cmd_id", "VIRTIO_BALLOON_CMD_ID_DONE");
const NEEDS = () => ["FREE_PAGE_HINT" as const];

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** Whether a send's pages are (all) in the host's hints after it. */
function hinted(s: SendResult): boolean | undefined {
  if (s.hostAfter === undefined || s.pages === undefined) return undefined;
  return s.pages.isSubsetOf(s.hostAfter.hinted);
}

/** The count of a send's pages in the host's hints after it. */
function hintedCount(s: SendResult): number {
  return s.pages === undefined || s.hostAfter === undefined
    ? 0
    : s.pages.intersectionSize(s.hostAfter.hinted);
}

/** B48: a new hint round gets a new command id when the driver has not stopped the last one. */
export const hintNewIdPerRound: DeviceCheckDef = deviceCheck(
  "hint-new-id-per-round",
  (run, { rule }) => {
    const starts = run.cmdIds.filter((c) => c.step === "hint-start").map((c) => c.value);
    if (starts.length < 2) return [bad(rule, "the scenario did not start two hint rounds")];
    const [a, b] = starts as [number, number];
    const out: Finding[] = [];
    if (a === STOP || a === DONE || b === STOP || b === DONE) {
      out.push(
        bad(rule, `a hint round started with the reserved id ${a <= DONE ? hex(a) : hex(b)}`, {
          expected: "an id of 2 or more",
          observation: "config",
        }),
      );
    }
    if (a === b) {
      out.push(
        bad(
          rule,
          `the second round reuses the command id ${
            hex(a)
          } of the first, which the driver never stopped`,
          {
            expected: "a new id",
            actual: hex(b),
            observation: "config",
          },
        ),
      );
    }
    return out.length > 0
      ? out
      : [{ ...ok(rule, `rounds got ids ${hex(a)} and ${hex(b)}`), observation: "config" }];
  },
  { needs: NEEDS, readsChains: false, observes: () => ["config"] },
);

/** B52: once the host no longer needs the hinted pages, free_page_hint_cmd_id reads DONE. */
export const hintDone: DeviceCheckDef = deviceCheck("hint-done", (run, { rule }) => {
  const done = run.cmdIds.find((c) => c.step === "hint-done");
  if (done === undefined) return [bad(rule, "the scenario never finished hinting")];
  return done.value === DONE
    ? [{ ...ok(rule, `free_page_hint_cmd_id reads DONE (${DONE})`), observation: "config" }]
    : [
      bad(
        rule,
        `free_page_hint_cmd_id reads ${hex(done.value)} once the host no longer needs the hints`,
        {
          expected: `DONE (${DONE})`,
          actual: hex(done.value),
          observation: "config",
        },
      ),
    ];
}, { needs: NEEDS, readsChains: false, observes: () => ["config"] });

/** S-09: every buffer the driver sent on a queue was used, with used length 0. */
export const buffersUsed: DeviceCheckDef<{ readonly labels: readonly string[] }> = deviceCheck<
  { readonly labels: readonly string[] }
>("buffers-used", (run, { rule, params: p }) => {
  const out: Finding[] = [];
  for (const label of p.labels) {
    const s = sendOf(run, label);
    if (s === undefined) return missing(rule, label);
    if (!s.used) {
      out.push(bad(rule, `"${label}" (${s.queue}) was never used`, {
        expected: "every buffer used",
        evidence: evidence(run, s),
        observation: "ring",
      }));
    } else if (s.len !== 0) {
      out.push(bad(rule, `"${label}" was used with length ${s.len}`, {
        expected: "used length 0: the device writes nothing into these buffers",
        actual: `${s.len}`,
        observation: "ring",
      }));
    }
  }
  return out.length > 0
    ? out
    : [{ ...ok(rule, `${p.labels.length} buffers used with length 0`), observation: "ring" }];
}, { observes: () => ["ring"] });

/** B51: after DONE the device does not change the hinted pages the guest reuses. */
export const hintUnchangedAfterDone: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("hint-unchanged-after-done", (run, { rule, params: p }) => {
  const c = run.guestChecks.get(p.label);
  if (c === undefined) return [bad(rule, `the scenario did not read "${p.label}" back`)];
  const changed = c.pages.size - c.kept.size;
  return changed === 0
    ? [{
      ...ok(rule, `${c.pages.size} hinted pages written after DONE read back unchanged`),
      observation: "guest-memory",
    }]
    : [
      bad(
        rule,
        `${changed} of ${c.pages.size} hinted pages changed after DONE (${c.zeroed.size} read as zeros)`,
        {
          expected: "what the guest wrote after DONE",
          actual: `first changed: PFN ${(c.zeroed.size > 0 ? c.zeroed : c.other).min()}`,
          observation: "guest-memory",
        },
      ),
    ];
}, { needs: NEEDS, readsChains: false, observes: () => ["guest-memory"] });

/** B49: pages sent after an out buffer holding another id than the current one are not taken as hints. */
export const hintStaleIgnored: DeviceCheckDef<{ readonly stale: string }> = deviceCheck<
  { readonly stale: string }
>("hint-stale-ignored", (run, { rule, params: p }) => {
  const s = sendOf(run, p.stale);
  if (s === undefined) return missing(rule, p.stale);
  const n = hintedCount(s);
  if (s.hostAfter === undefined) return [bad(rule, "the target reports no hints")];
  return n === 0
    ? [{
      ...ok(rule, `the ${s.pages?.size} pages sent under a stale id were not taken as hints`),
      observation: "host-view",
    }]
    : [bad(rule, `${n} pages sent under an id the host never issued were taken as hints`, {
      expected: "ignored (the id is not the current one)",
      actual: `${n} hinted`,
      observation: "host-view",
    })];
}, { needs: NEEDS, observes: () => ["host-view"] });

/**
 * S-10: a malformed id buffer (not 4 bytes) starts no round — pages after it
 * are not hints — is still used (or the device sets DEVICE_NEEDS_RESET), and
 * a well-formed round afterwards works.
 */
export const hintMalformedIgnored: DeviceCheckDef<
  { readonly bad: string; readonly after: string; readonly good: string }
> = deviceCheck<{ readonly bad: string; readonly after: string; readonly good: string }>(
  "hint-malformed-ignored",
  (run, { rule, params: p }) => {
    const b = sendOf(run, p.bad);
    const a = sendOf(run, p.after);
    const g = sendOf(run, p.good);
    if (b === undefined || a === undefined || g === undefined) {
      return missing(rule, [p.bad, p.after, p.good].join(", "));
    }
    if (a.hostAfter === undefined) return [bad(rule, "the target reports no hints")];
    let needsReset = false;
    try {
      needsReset = (run.port.readStatus() & STATUS.DEVICE_NEEDS_RESET) !== 0;
    } catch {
      // a port that is closed cannot say; the ring and the host view still can
    }
    const out: Finding[] = [];
    if (hintedCount(a) > 0) {
      out.push(
        bad(
          rule,
          `after the ${b.bytes.length}-byte id buffer "${p.bad}", ${
            hintedCount(a)
          } pages were taken as hints`,
          {
            expected: "a malformed id buffer starts no round",
            evidence: evidence(run, b),
            observation: "host-view",
          },
        ),
      );
    }
    if (!b.used && !needsReset) {
      out.push(
        bad(
          rule,
          `the malformed buffer "${p.bad}" was neither used nor answered with DEVICE_NEEDS_RESET`,
          {
            observation: "ring",
          },
        ),
      );
    }
    if (!needsReset && hinted(g) !== true) {
      out.push(
        bad(
          rule,
          `the well-formed round after it was not taken: ${
            hintedCount(g)
          } of ${g.pages?.size} pages hinted`,
          {
            expected: "the device stays usable",
            observation: "host-view",
          },
        ),
      );
    }
    return out.length > 0 ? out : [{
      ...ok(rule, `the ${b.bytes.length}-byte id buffer changed nothing; the next round worked`),
      observation: "host-view",
    }];
  },
  { needs: NEEDS, observes: () => ["host-view"] },
);

/** B53 / S-11: the pages of a hint round are taken as hints (the id in the right byte order, on the right queue), and its buffers are used. */
export const hintTaken: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("hint-taken", (run, { rule, params: p }) => {
  const s = sendOf(run, p.label);
  if (s === undefined) return missing(rule, p.label);
  const h = hinted(s);
  if (h === undefined) return [bad(rule, "the target reports no hints")];
  if (!h || !s.used) {
    return [
      bad(
        rule,
        `${hintedCount(s)} of ${s.pages?.size} pages of "${p.label}" were taken as hints${
          s.used ? "" : ", and the buffer was never used"
        }`,
        {
          expected: "every page hinted, the buffer used",
          observation: "host-view",
        },
      ),
    ];
  }
  return [{
    ...ok(rule, `${s.pages?.size} pages of "${p.label}" hinted and the buffer used`),
    observation: "host-view",
  }];
}, { needs: NEEDS, observes: () => ["host-view"] });
