/**
 * Device checks of inflate and deflate requests: a valid one applied exactly
 * and used after it was applied, a malformed one rejected as a whole, used
 * lengths.
 *
 * @module
 */

import type { Finding } from "../../model/types.ts";
import { bad, deviceCheck, type DeviceCheckDef, ok } from "../define.ts";
import { evidence, missing, sendOf } from "./_shared.ts";

/** S-05: a valid request changes the host's balloon exactly as the tables define, and is used. */
export const applied: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("applied", (run, { rule, params: p }) => {
  const label = p.label;
  const s = sendOf(run, label);
  if (s === undefined || s.pages === undefined) return missing(rule, label);
  const want = s.before.clone();
  if (s.queue === "inflateq") want.unionWith(s.pages);
  else want.subtract(s.pages);
  const out: Finding[] = [];
  if (!s.used) {
    out.push(
      bad(rule, `"${label}" was never used`, { expected: "the buffer used after processing" }),
    );
  }
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
    }));
  }
  return out.length > 0 ? out : [ok(rule, `"${label}" applied: ${s.pages.size} pages`)];
});

/** R-16 / S-05: the change is visible when the buffer is used (used after processing). */
export const appliedBeforeUse: DeviceCheckDef<{ readonly label: string }> = deviceCheck<
  { readonly label: string }
>("applied-before-use", (run, { rule, params: p }) => {
  const label = p.label;
  const s = sendOf(run, label);
  if (s === undefined || s.pages === undefined) return missing(rule, label);
  if (!s.used) return [bad(rule, `"${label}" was never used`)];
  return s.appliedAtUse === true ? [ok(rule, `"${label}" was used after it was applied`)] : [
    bad(rule, `"${label}" was used before the host applied it`, {
      expected: "process, then use (ack)",
    }),
  ];
});

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
    if (!s.after.equals(s.before)) {
      const diff = s.after.clone();
      diff.subtract(s.before);
      const gone = s.before.clone();
      gone.subtract(s.after);
      out.push(
        bad(
          rule,
          `the malformed request "${label}" changed the host's balloon (+${diff.size} / -${gone.size} pages)`,
          {
            expected: "no change: reject the request as a whole",
            actual: `${diff.size} pages added (e.g. PFN ${
              diff.min() ?? "-"
            }), ${gone.size} removed`,
            evidence: evidence(run, s, field),
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
          },
        ),
      );
    }
    return out.length > 0 ? out : [ok(rule, `"${label}" rejected: no change, buffer used`)];
  },
);

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
        { expected: "0", actual: `${s.len}` },
      )
    )
    : [ok(rule, `${used.length} chains used with length 0`)];
});
