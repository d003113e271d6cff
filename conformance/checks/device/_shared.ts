/**
 * Helpers the device checks share: the chain a step sent, and its bytes as
 * evidence.
 *
 * @module
 */

import { hasFeature, structSize } from "../../../spec/mod.ts";
import { structAnnotations } from "../../model/evidence.ts";
import type { Evidence, Finding } from "../../model/types.ts";
import type { DeviceRun, SendResult } from "../../runners/device.ts";
import { bad } from "../define.ts";

/** What happened to the chain sent under `label`. */
export function sendOf(run: DeviceRun, label: string): SendResult | undefined {
  return run.sends.get(label);
}

/** The bytes of a chain the suite sent, a bitmap header annotated field by field. */
export function evidence(run: DeviceRun, s: SendResult, badFields: string[] = []): Evidence {
  const bitmap = s.bytes.length >= structSize("balloon_bmap_hdr") &&
    (s.queue === "miscq" || badFields.length > 0 ||
      hasFeature(run.scenario.profile, run.negotiated, "PAGE_BITMAP"));
  return {
    title: `${s.queue} chain "${s.label}" sent by the suite`,
    bytes: s.bytes,
    annotations: bitmap && s.queue !== "statsq"
      ? structAnnotations("balloon_bmap_hdr", s.bytes, {
        order: run.byteOrder,
        bad: badFields,
      })
      : [],
  };
}

/** The finding for a case whose scenario never sent the chain it names. */
export function missing(rule: string, label: string): Finding[] {
  return [bad(rule, `the scenario did not send "${label}"`)];
}
