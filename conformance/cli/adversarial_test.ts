/**
 * `deno task conform --adversarial`: usage errors name the flag, the value
 * and what was expected (exit 2, no stack trace); a mutant's finding is
 * written as a reproducer (exit 0: the mutant was found) that `--replay`
 * gives back (exit 1, "the same finding"), and that the reference device
 * passes (exit 0).
 *
 * @module
 */

import assert from "node:assert/strict";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

async function conform(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--adversarial", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

Deno.test("cli --adversarial: bad values are usage errors naming the flag", async () => {
  for (
    const [args, want] of [
      [["--runs", "0"], /--runs '0' is not a count: expected a whole number of 1 or more/],
      [["--seed", "x1"], /--seed 'x1' is not a seed: expected an integer/],
      [["--target", "reference-driver"], /--target 'reference-driver' is not a device target/],
      [
        ["--target", "qemu-device:nope"],
        /is not a qemu-device variant: expected qemu-device:default/,
      ],
      [["--profile", "v4"], /--profile 'v4' is not a profile: expected v3 or virtio-1.x/],
      [["--replay", "/nonexistent.json"], /cannot read the file \(no such file or directory\)/],
      [["--frobnicate"], /unknown flag '--frobnicate'/],
    ] as const
  ) {
    const r = await conform(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, want);
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
  }
});

Deno.test("cli --adversarial: a reproducer is written and replays to the same finding", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adversarial-cli-" });
  try {
    const found = await conform(
      "--target",
      "device:notify-never",
      "--runs",
      "50",
      "--seed",
      "7",
      "--out",
      dir,
    );
    // a mutant found is what a mutant is for: exit 0, as a mutant that fails its cases
    assert.equal(found.code, 0, found.err);
    assert.match(found.out, /device:notify-never: finding after \d+ sequences/);
    assert.match(found.out, /G43a \(notified-when-asked/);
    const file = `${dir}/device_notify-never.json`;
    const again = await conform("--replay", file);
    assert.equal(again.code, 1, again.err);
    assert.match(again.out, /the same finding as recorded/);
    const reference = await conform("--replay", file, "--target", "reference-device");
    assert.equal(reference.code, 0, reference.err);
    assert.match(reference.out, /no finding/);
    const help = await conform("--help");
    assert.equal(help.code, 0);
    assert.match(help.out, /--replay FILE/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli --adversarial: a reproducer that cannot be written exits 4, in the wording of every output", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adversarial-out-" });
  try {
    await Deno.writeTextFile(`${dir}/a-file`, "");
    const r = await conform(
      "--adversarial",
      "--target",
      "device:notify-never",
      "--runs",
      "50",
      "--seed",
      "7",
      "--out",
      `${dir}/a-file/sub`,
    );
    assert.equal(r.code, 4, r.err);
    assert.match(r.err, /--out '.*a-file\/sub': cannot create the directory \(/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
