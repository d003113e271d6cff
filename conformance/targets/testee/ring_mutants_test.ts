/**
 * The ring mutants (`ring_mutants.ts`), each a `reference_testee.ts` process
 * of its profile's reference device with one ring deviation: each fails
 * every case it declares, and passes the cases of its rule it does not
 * break (a device may set VIRTQ_USED_F_NO_NOTIFY without EVENT_IDX, G51b).
 *
 * @module
 */

import assert from "node:assert/strict";
import { CASES } from "../../cases/cases.ts";
import { runSuite } from "../../run/suite.ts";
import { matchesPattern } from "../mutants/mutants.ts";
import { RING_MUTANTS } from "./ring_mutants.ts";
import { processDeviceTarget } from "./target.ts";

const HERE = new URL(".", import.meta.url).pathname;

function verdicts(name: string, profile: "v3" | "virtio-1.x", ids: readonly string[]) {
  const t = processDeviceTarget({
    command: {
      command: Deno.execPath(),
      args: ["run", "--allow-read", `${HERE}reference_testee.ts`, name],
    },
    profile,
    name: `testee:${name}`,
    transcriptDir: Deno.makeTempDirSync({ prefix: "ring-mutant-test-" }),
  });
  try {
    const cases = CASES.filter((k) => k.profile === profile && ids.includes(k.id));
    assert.equal(cases.length, ids.length, `${name}: every case exists`);
    return new Map(runSuite({ cases, targets: [t] }).results.map((r) => [r.case, r]));
  } finally {
    t.close();
  }
}

for (const m of RING_MUTANTS) {
  Deno.test(`ring mutant ${m.name} fails each case it declares`, () => {
    const ids = CASES.filter((k) =>
      k.profile === m.profile && m.kills.some((p) => matchesPattern(k.id, p))
    ).map((k) => k.id);
    assert.ok(ids.length > 0, `${m.name}: its kill patterns match no case`);
    const got = verdicts(m.name, m.profile, ids);
    assert.deepEqual(
      ids.filter((id) => got.get(id)?.verdict !== "fail").map((id) =>
        `${id}: ${got.get(id)?.verdict} ${got.get(id)?.message ?? ""}`
      ),
      [],
    );
  });
}

Deno.test("ring mutant ring:used-flags-no-notify passes used.flags without EVENT_IDX (NO_NOTIFY is allowed there)", () => {
  const got = verdicts("ring:used-flags-no-notify", "v3", ["device.ring.used-flags"]);
  const r = got.get("device.ring.used-flags");
  assert.equal(r?.verdict, "pass", r?.message);
  assert.match(r?.findings[0]?.message ?? "", /device writes of used\.flags, each leaving 0 or/);
});
