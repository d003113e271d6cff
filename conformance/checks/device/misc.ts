/**
 * Device checks of MISC_VQ: the host's request, dirty logging first, reply
 * chunks used as they arrive.
 *
 * @module
 */

import { decodeStruct, structSize } from "../../../spec/mod.ts";
import type { Evidence, Finding } from "../../model/types.ts";
import { structAnnotations } from "../../model/evidence.ts";
import { bad, deviceCheck, type DeviceCheckDef, ok } from "../define.ts";

/** R-17a: a request fills the 16-byte buffer (known cmd, reserved 0) and is used with length 16. */
export const miscRequest: DeviceCheckDef = deviceCheck("misc-request", (run, { rule }) => {
  if (run.requestLens.length === 0) return [bad(rule, "the device issued no request")];
  const out: Finding[] = [];
  const size = structSize("balloon_req_hdr");
  for (const [i, len] of run.requestLens.entries()) {
    const bytes = run.requestBytes[i] as Uint8Array;
    const ev: Evidence = {
      title: `misc request ${i + 1} as written by the device`,
      bytes,
      annotations: structAnnotations("balloon_req_hdr", bytes, {
        order: run.byteOrder,
        bad: ["reserved", "cmd"],
      }),
    };
    if (len !== size) {
      out.push(
        bad(rule, `request ${i + 1} used with length ${len}`, {
          expected: `${size}`,
          actual: `${len}`,
          evidence: ev,
        }),
      );
    }
    try {
      decodeStruct("balloon_req_hdr", bytes, {
        order: run.byteOrder,
        context: "misc-request",
      });
    } catch (e) {
      out.push(bad(rule, (e as Error).message, { evidence: ev }));
    }
  }
  return out.length > 0
    ? out
    : [ok(rule, `${run.requestLens.length} well-formed requests of ${size} bytes`)];
});

/** dirty logging runs before the request is issued. */
export const dirtyLogFirst: DeviceCheckDef = deviceCheck("dirty-log-first", (run, { rule }) => {
  if (run.dirtyAtRequest.length === 0) return [bad(rule, "the device issued no request")];
  return run.dirtyAtRequest.every((x) => x)
    ? [ok(rule, "dirty logging was on when each request was issued")]
    : [
      bad(rule, "a request was issued before dirty logging started", {
        expected: "dirty logging started first",
      }),
    ];
}, { observes: () => ["dirty-log"] });

/** reply chunks are used as they arrive. */
export const repliesUsed: DeviceCheckDef = deviceCheck("replies-used", (run, { rule }) => {
  const replies = [...run.sends.values()].filter((s) => s.queue === "miscq");
  if (replies.length === 0) return [bad(rule, "the scenario sent no reply chunk")];
  const waiting = replies.filter((s) => !s.used);
  return waiting.length > 0
    ? [
      bad(rule, `${waiting.length} reply chunks were not used (first: "${waiting[0]?.label}")`, {
        expected: "each chunk used as it arrives",
      }),
    ]
    : [ok(rule, `${replies.length} reply chunks used at once`)];
});
