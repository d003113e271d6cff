/**
 * Device checks of inflate and deflate requests: a valid one applied exactly
 * and used after it was applied, a malformed one rejected as a whole, used
 * lengths.
 *
 * @module
 */

import { decodePfnArray, PageSet, type QueueName } from "../../../spec/mod.ts";
import type { Observation } from "../../model/ports.ts";
import type { Finding } from "../../model/types.ts";
import type { DeviceRun, SendResult } from "../../runners/device.ts";
import { bad, deviceCheck, type DeviceCheckDef, ok } from "../define.ts";
import { evidence, missing, sendOf } from "./_shared.ts";

/**
 * What a send changed at the host, from the best observation the target
 * offers: its host view (pages it holds, before and after), else guest memory
 * (watched pages that read back as zeros: discarded).
 */
function hostChange(
  run: DeviceRun,
  s: SendResult,
): { observation: Observation; added: PageSet; removed: PageSet | undefined } | undefined {
  if (run.port.observations.has("host-view")) {
    const added = s.after.clone();
    added.subtract(s.before);
    const removed = s.before.clone();
    removed.subtract(s.after);
    return { observation: "host-view", added, removed };
  }
  if (s.discarded !== undefined) {
    return { observation: "guest-memory", added: s.discarded, removed: undefined };
  }
  return undefined;
}

/** What an inflate/deflate case can rest on: deflates only on a host view. */
export const QUEUE_EFFECT = (queue: QueueName | undefined): readonly Observation[] =>
  queue === "deflateq" ? ["host-view"] : ["host-view", "guest-memory"];

function unobserved(rule: string, label: string): Finding[] {
  return [bad(rule, `what "${label}" did at the host could not be observed`)];
}

/**
 * The findings of "applied" for one well-formed send: used, and the host
 * changed exactly as the tables define, seen through the best observation.
 */
export function appliedFindings(run: DeviceRun, s: SendResult, rule: string): Finding[] {
  const label = s.label;
  if (s.pages === undefined) return missing(rule, label);
  const out: Finding[] = [];
  if (!s.used) {
    out.push(
      bad(rule, `"${label}" was never used`, {
        expected: "the buffer used after processing",
        observation: "ring",
      }),
    );
  }
  const change = hostChange(run, s);
  if (change === undefined) return [...out, ...unobserved(rule, label)];
  const observation = change.observation;
  if (observation === "host-view") {
    const want = s.before.clone();
    if (s.queue === "inflateq") want.unionWith(s.pages);
    else want.subtract(s.pages);
    if (!s.after.equals(want)) {
      const extra = s.after.clone();
      extra.subtract(want);
      const lost = want.clone();
      lost.subtract(s.after);
      out.push(bad(rule, `after "${label}" the host holds ${s.after.size} pages`, {
        expected: `${want.size} pages (${
          s.queue === "inflateq" ? "plus" : "minus"
        } the ${s.pages.size} named)`,
        actual: `${s.after.size}: ${extra.size} unexpected (e.g. PFN ${
          extra.min() ?? "-"
        }), ${lost.size} missing (e.g. PFN ${lost.min() ?? "-"})`,
        evidence: evidence(run, s),
        observation,
      }));
    }
  } else {
    // guest memory: of the watched pages, the named ones, and only they, read as zeros after the
    // inflate (a named page the suite could not mark, such as the guest's own, is not judged)
    const named = s.watched === undefined ? s.pages : s.pages.intersection(s.watched);
    if (named.size === 0) return [...out, ...unobserved(rule, label)];
    const extra = change.added.clone();
    extra.subtract(s.pages);
    const lost = named.clone();
    lost.subtract(change.added);
    if (extra.size > 0 || lost.size > 0) {
      out.push(bad(rule, `after "${label}" ${change.added.size} watched pages read as zeros`, {
        expected: `exactly the ${named.size} named pages watched discarded`,
        actual: `${extra.size} other pages discarded (e.g. PFN ${
          extra.min() ?? "-"
        }), ${lost.size} named pages still hold their contents (e.g. PFN ${lost.min() ?? "-"})`,
        evidence: evidence(run, s),
        observation,
      }));
    }
  }
  return out.length > 0 ? out : [{
    ...ok(
      rule,
      observation === "host-view"
        ? `"${label}" applied: ${s.pages.size} pages`
        : `"${label}" applied: ${guestMemoryCount(s)} pages read as zeros in guest memory`,
    ),
    observation,
  }];
}

/** S-05: a valid request changes the host's balloon exactly as the tables define, and is used. */
export const applied: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("applied", (run, { rule, params: p }) => {
  const s = sendOf(run, p.label);
  return s === undefined ? missing(rule, p.label) : appliedFindings(run, s, rule);
}, { observes: QUEUE_EFFECT });

/** "its N pages", or "the N of its M pages the suite could watch". */
function guestMemoryCount(s: SendResult): string {
  const pages = s.pages as PageSet;
  const n = s.watched === undefined ? pages.size : pages.intersectionSize(s.watched);
  return n === pages.size ? `its ${n}` : `the ${n} of its ${pages.size} named`;
}

/**
 * R-16 / S-05: the change is visible when the buffer is used (used after
 * processing). With a host view at the moment of use (in-process devices)
 * that is exact; through guest memory it is the moment the suite saw the
 * buffer used, which is what a driver can see too.
 */
export const appliedBeforeUse: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("applied-before-use", (run, { rule, params: p }) => {
  const label = p.label;
  const s = sendOf(run, label);
  if (s === undefined || s.pages === undefined) return missing(rule, label);
  if (!s.used) return [bad(rule, `"${label}" was never used`, { observation: "ring" })];
  // in-process: the host view at the moment the device used the buffer; else
  // guest memory at the moment the suite saw it used
  const watched = s.watched === undefined ? s.pages : s.pages.intersection(s.watched);
  const applied = s.appliedAtUse ??
    (s.discardedAtUse === undefined || watched.size === 0
      ? undefined
      : watched.isSubsetOf(s.discardedAtUse));
  if (applied === undefined) return unobserved(rule, label);
  const observation: Observation = s.appliedAtUse !== undefined ? "host-view" : "guest-memory";
  return applied ? [{ ...ok(rule, `"${label}" was used after it was applied`), observation }] : [
    bad(rule, `"${label}" was used before the host applied it`, {
      expected: "process, then use (ack)",
      observation,
    }),
  ];
}, { observes: QUEUE_EFFECT });

/** Parameters of {@link rejected}. */
interface RejectedParams {
  /** The send step whose chain is malformed. */
  readonly label: string;
  /** The header field that makes it malformed, to mark in the evidence. */
  readonly field?: string;
}

/** S-03 (+ the field's rule): a malformed request changes nothing, is still used, the device stays usable. */
export const rejected: DeviceCheckDef<RejectedParams> = deviceCheck<RejectedParams>(
  "rejected",
  (run, { rule, params: p }) => {
    const label = p.label;
    const s = sendOf(run, label);
    if (s === undefined) return missing(rule, label);
    const out: Finding[] = [];
    const field = p.field === undefined ? [] : [p.field];
    const change = hostChange(run, s);
    if (change === undefined) return unobserved(rule, label);
    const gone = change.removed ?? new PageSet();
    if (change.added.size > 0 || gone.size > 0) {
      out.push(
        bad(
          rule,
          change.observation === "host-view"
            ? `the malformed request "${label}" changed the host's balloon (+${change.added.size} / -${gone.size} pages)`
            : `the malformed request "${label}" discarded ${change.added.size} watched pages`,
          {
            expected: "no change: reject the request as a whole",
            actual: `${change.added.size} pages added (e.g. PFN ${
              change.added.min() ?? "-"
            }), ${gone.size} removed`,
            evidence: evidence(run, s, field),
            observation: change.observation,
          },
        ),
      );
    }
    if (!s.used) {
      out.push(
        bad(
          rule,
          `the malformed request "${label}" was never used: the driver would wait for ever`,
          {
            expected: "the buffer used (length 0)",
            evidence: evidence(run, s, field),
            observation: "ring",
          },
        ),
      );
    }
    return out.length > 0 ? out : [{
      ...ok(rule, `"${label}" rejected: no change, buffer used`),
      observation: change.observation,
    }];
  },
  { observes: QUEUE_EFFECT },
);

/**
 * G31b / S-03: the device reads no device-writable buffer — the suite fills
 * it with PFNs of pages no scenario inflates, so a device that reads it
 * balloons them — and still uses the chain. Applying the readable part, or
 * rejecting the chain as a whole, are both allowed.
 */
export const writableNotRead: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("writable-not-read", (run, { rule, rules, params: p }) => {
  const label = p.label;
  const s = sendOf(run, label);
  if (s === undefined) return missing(rule, label);
  const change = hostChange(run, s);
  if (change === undefined) return unobserved(rule, label);
  const readable = namedInReadable(run, s);
  const foreign = change.added.clone();
  foreign.subtract(readable);
  const out: Finding[] = [];
  if (foreign.size > 0) {
    out.push(
      bad(rule, `"${label}" ballooned ${foreign.size} pages its readable part does not name`, {
        expected:
          `at most the ${readable.size} pages of the readable part (its device-writable buffer holds decoy PFNs)`,
        actual: `PFNs ${
          foreign.toArray().slice(0, 8).join(", ")
        }: read from the device-writable buffer`,
        evidence: evidence(run, s),
        observation: change.observation,
      }),
    );
  }
  const usable = rules.find((r) => r === "S-03") ?? rule;
  if (!s.used) {
    out.push(
      bad(usable, `"${label}" was never used: the driver would wait for ever`, {
        observation: "ring",
      }),
    );
  }
  return out.length > 0 ? out : [{
    ...ok(rule, `"${label}" used; no page named only in its device-writable buffer was ballooned`),
    observation: change.observation,
  }];
}, { observes: QUEUE_EFFECT });

/** The pages the readable part of a PFN-array chain names (whole entries only). */
function namedInReadable(run: DeviceRun, s: SendResult): PageSet {
  const whole = s.bytes.subarray(0, s.bytes.length - (s.bytes.length % 4));
  return PageSet.of(decodePfnArray(whole, { order: run.byteOrder }));
}

/** G46a: used length of a chain with no device-writable part is 0. */
export const usedLenZero: DeviceCheckDef = deviceCheck("used-len-zero", (run, { rule }) => {
  const used = [...run.sends.values()].filter((s) => s.used);
  if (used.length === 0) return [bad(rule, "no chain was used")];
  const wrong = used.filter((s) => s.len !== 0);
  return wrong.length > 0
    ? wrong.slice(0, 2).map((s) =>
      bad(
        rule,
        `"${s.label}" was used with length ${s.len} though it has no device-writable bytes`,
        { expected: "0", actual: `${s.len}`, observation: "ring" },
      )
    )
    : [{ ...ok(rule, `${used.length} chains used with length 0`), observation: "ring" }];
});
