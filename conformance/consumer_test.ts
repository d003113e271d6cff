/**
 * The public API type-checks in a consumer's project with default compiler
 * options (ours are stricter: noUncheckedIndexedAccess and friends must not be
 * needed to use the package), as the README's examples use it.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).href;

Deno.test("a consumer project with default compiler options type-checks the README's uses", async () => {
  const dir = await Deno.makeTempDir({ prefix: "consumer-" });
  try {
    await Deno.writeTextFile(`${dir}/deno.json`, "{}\n");
    await Deno.writeTextFile(
      `${dir}/consumer.ts`,
      `import { type DeviceTarget, type DriverTarget, registerConformance, runSuite, CASES } from "${ROOT}conformance/mod.ts";
import { BalloonDevice, BalloonDriver } from "${ROOT}impl/mod.ts";
import { rule } from "${ROOT}mod.ts";
const driver: DriverTarget = {
  kind: "driver", name: "my-driver", description: "mine", profile: "v3",
  create: ({ guest, transport }) => new BalloonDriver(guest, transport),
};
const device: DeviceTarget = {
  kind: "device", name: "my-device", description: "mine", profile: "v3",
  create: ({ guestPages }) => new BalloonDevice({ guestPages }),
};
registerConformance(driver, { expectFail: [] });
const run = runSuite({ cases: CASES.slice(0, 1), targets: [device] });
console.log(run.results.length, rule("R-07").level);
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "consumer.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text.split("\n").filter((l) => /ERROR|at file/.test(l)).join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
