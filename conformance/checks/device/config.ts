/**
 * Device checks of the config space: little-endian for legacy guests too.
 *
 * @module
 */

import { fieldOf, readScalar } from "../../../spec/mod.ts";
import type { Finding } from "../../model/types.ts";
import { bad, deviceCheck, type DeviceCheckDef, ok } from "../define.ts";

/** B07: config fields are little-endian for legacy guests too. */
export const configLe: DeviceCheckDef<{ readonly target: number }> = deviceCheck<
  { readonly target: number }
>("config-le", (run, { rule, params: p }) => {
  const target = p.target;
  const bytes = run.configAfterTarget[0];
  if (bytes === undefined) return [bad(rule, "the scenario set no target")];
  const f = fieldOf("virtio_balloon_config", "num_pages");
  const v = Number(readScalar(new DataView(bytes.buffer, bytes.byteOffset), 0, f.type, "v1"));
  return v === target
    ? [ok(rule, `num_pages reads ${v} little-endian`)]
    : [bad(rule, `num_pages reads ${v} little-endian`, {
      expected: `${target}`,
      actual: `${v}`,
      evidence: {
        title: "config num_pages",
        bytes,
        annotations: [{ offset: 0, length: 4, label: `num_pages=${v}`, bad: true }],
      },
    })];
}, { readsChains: false });

/** S-12: the host takes actual as the driver writes it, each time. */
export const actualTaken: DeviceCheckDef = deviceCheck("actual-taken", (run, { rule }) => {
  if (run.actualWrites.length === 0) return [bad(rule, "the scenario wrote no actual")];
  const out: Finding[] = [];
  for (const w of run.actualWrites) {
    const seen = w.after[w.after.length - 1];
    if (seen !== w.value) {
      out.push(bad(rule, `after the driver wrote actual = ${w.value} the host reports ${seen}`, {
        expected: `${w.value}`,
        actual: `${seen}`,
        observation: "host-actual",
      }));
    }
  }
  return out.length > 0 ? out : [{
    ...ok(rule, `the host took each actual: ${run.actualWrites.map((w) => w.value).join(", ")}`),
    observation: "host-actual",
  }];
}, { readsChains: false, observes: () => ["host-actual"] });

/** B24: over the legacy interface, actual is not used before its most significant byte is written. */
export const actualAfterMsb: DeviceCheckDef = deviceCheck("actual-after-msb", (run, { rule }) => {
  const w = run.actualWrites.find((x) => x.after.length > 1);
  if (w === undefined) return [bad(rule, "the scenario wrote no actual a byte at a time")];
  const early = w.after.slice(0, -1).findIndex((v) => v !== w.before);
  const last = w.after[w.after.length - 1];
  if (early >= 0) {
    return [bad(rule, `the host took actual = ${w.after[early]} after byte ${early + 1} of 4`, {
      expected: `the old ${w.before} until the most significant byte is written`,
      actual: `${w.after.join(", ")} after each byte`,
      observation: "host-actual",
    })];
  }
  return last === w.value
    ? [{
      ...ok(rule, `actual ${w.value} taken only once its most significant byte was written`),
      observation: "host-actual",
    }]
    : [bad(rule, `after all four bytes the host reports ${last}`, {
      expected: `${w.value}`,
      observation: "host-actual",
    })];
}, { readsChains: false, observes: () => ["host-actual"] });
