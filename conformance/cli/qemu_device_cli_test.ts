/**
 * `deno task conform --target qemu-device` as a user types it: the variants
 * listed, bad names and counts refused, and (with QEMU) a run that prints
 * QEMU's version, the case table and the time, exits by the expected-failure
 * list, and whose printed rerun command reruns just that case.
 */

import assert from "node:assert/strict";
import { NO_QEMU } from "../targets/qemu-device/_test_qemu.ts";

const CLI = new URL("./main.ts", import.meta.url).pathname;
const EXPECTED = new URL("../targets/qemu-device/expected-failures.txt", import.meta.url).pathname;
const canRun = (await Deno.permissions.query({ name: "run" })).state === "granted";

async function conform(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-net",
      CLI,
      ...args,
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "--list --target qemu-device lists the six variants without starting QEMU",
  ignore: !canRun,
  fn: async () => {
    const r = await conform("--list", "--target", "qemu-device");
    assert.equal(r.code, 0, r.stderr);
    for (
      const v of [
        "default",
        "deflate-on-oom",
        "free-page-reporting",
        "free-page-hint",
        "legacy-only",
        "modern-only",
      ]
    ) {
      assert.match(
        r.stdout,
        new RegExp(`^ {2}qemu-device:${v} +device +QEMU virtio-balloon-pci`, "m"),
      );
    }
    assert.match(r.stdout, /^Targets \(6\)$/m);
  },
});

Deno.test({
  name: "an unknown qemu-device variant and a bad --jobs are usage errors naming what is expected",
  ignore: !canRun,
  fn: async () => {
    const a = await conform("--target", "qemu-device:legacy");
    assert.equal(a.code, 2);
    assert.match(
      a.stderr,
      /--target 'qemu-device:legacy' is not a qemu-device variant: expected qemu-device:default, .*qemu-device:legacy-only/,
    );
    const b = await conform("--target", "qemu-device", "--jobs", "two");
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--jobs 'two' is not a count: expected a whole number of 1 or more/);
  },
});

Deno.test({
  name:
    "--target qemu-device:default prints QEMU's version, the verdict of each case and the time, and exits by the expected-failure list",
  ignore: !canRun || NO_QEMU,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "qemu-device-cli-" });
    try {
      const ok = await conform(
        "--target",
        "qemu-device:default",
        "--filter",
        "*.pfn.*",
        "--expect-fail",
        EXPECTED,
        "--report",
        "json",
        "--out",
        dir,
      );
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(
        ok.stdout,
        /^QEMU emulator version \d+\.\d+\.\d+.* · 1 device variant × 13 device cases in \d+\.\d s/m,
      );
      assert.match(ok.stdout, /^ {2}device\.pfn\.inflate +pass$/m);
      assert.match(ok.stdout, /^ {2}device\.pfn\.deflate +unsup$/m);
      assert.match(ok.stdout, /^ {2}robustness\.pfn\.beyond-ram +xfail$/m);
      const json = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
      assert.ok(
        JSON.stringify(json).includes("QEMU emulator version"),
        "the version is in the report",
      );
      // without the list the deviation fails the run, and its rerun command reruns just that case
      const bad = await conform(
        "--target",
        "qemu-device:default",
        "--filter",
        "*.pfn.*",
        "--report",
        "none",
      );
      assert.equal(bad.code, 1);
      const rerun = /rerun: deno task conform (--target qemu-device:default --filter '([^']+)')/
        .exec(
          bad.stdout,
        );
      assert.ok(rerun !== null, bad.stdout);
      const again = await conform(
        "--target",
        "qemu-device:default",
        "--filter",
        rerun[2] as string,
        "--report",
        "none",
      );
      assert.equal(again.code, 1);
      assert.match(again.stdout, /· 1 target · 1 case ·/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
