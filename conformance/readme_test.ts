/**
 * The README's figures are the program's: every summary block in it (a
 * ```text block that starts with the suite's header line) must be what
 * `deno task conform --profile P` prints for that block's profile, line for
 * line (timing aside, `...` for lines left out), so the README cannot drift
 * from the suite as cases and mutants are added.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const HEADER = /^virtio-balloon conformance suite \S+ · profile (\S+) · /;

/** The README's summary blocks, with the profile each shows. */
async function summaryBlocks(): Promise<{ profile: string; lines: string[] }[]> {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const blocks = [...readme.matchAll(/```text\n([\s\S]*?)\n```/g)].map((m) => m[1] ?? "");
  return blocks.flatMap((b) => {
    const lines = b.split("\n");
    const profile = HEADER.exec(lines[0] ?? "")?.[1];
    return profile === undefined ? [] : [{ profile, lines: lines.filter((l) => l !== "...") }];
  });
}

const untimed = (line: string) => line.replace(/ · [\d.]+ (ms|s)$/, " · TIME");

Deno.test("the README's run summaries are what the main job prints (timing aside)", async () => {
  const blocks = await summaryBlocks();
  assert.ok(blocks.some((b) => b.profile === "v3"), "the quick start shows the main job's summary");
  for (const { profile, lines } of blocks) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "conformance/cli/main.ts", "--report", "none", "--profile", profile],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const printed = new Set(new TextDecoder().decode(out.stdout).split("\n").map(untimed));
    const stale = lines.filter((l) => !printed.has(untimed(l)));
    assert.deepEqual(stale, [], `README lines --profile ${profile} no longer prints: update them`);
  }
});
