/**
 * Device checks of the config space: little-endian for legacy guests too.
 *
 * @module
 */

import { fieldOf, readScalar } from "../../../spec/mod.ts";
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
