/**
 * What the tests of the C examples share (`c_example_test.ts` for the
 * device, `c_driver_test.ts` for the driver): building an example with the
 * system `cc` as CI does (`-O2 -Wall -Wextra -Werror`, plus `-D` switches),
 * and running the suite's command line.
 *
 * @module
 */

import assert from "node:assert/strict";
import { replay, type TranscriptLine } from "../replay.ts";

/** The repository root. */
export const ROOT: string = new URL("../../../../", import.meta.url).pathname;

/**
 * Builds `examples/c/<name>.c` with `-D` for each of `defines` into `dir`;
 * returns the binary's path (`<dir>/<name>-<define>…`).
 */
export function buildExample(name: string, dir: string, defines: readonly string[] = []): string {
  const out = `${dir}/${name}${defines.map((d) => `-${d}`).join("")}`;
  let r: Deno.CommandOutput;
  try {
    r = new Deno.Command("cc", {
      args: [
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror",
        ...defines.map((d) => `-D${d}`),
        "-o",
        out,
        `${ROOT}examples/c/${name}.c`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    assert.fail("the C examples need the system C compiler, and cc is not on PATH");
  }
  assert.ok(r.success, `cc failed: ${new TextDecoder().decode(r.stderr)}`);
  return out;
}

/** Runs `deno task conform` with `args` (no colour); its exit code, stdout and stderr. */
export function conform(...args: string[]): { code: number; out: string; err: string } {
  const r = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}conformance/cli/main.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).outputSync();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout), err: d.decode(r.stderr) };
}

/** Replays a transcript's lines on a fresh process of `binary`; the first difference, if any. */
export async function replayOn(
  lines: readonly TranscriptLine[],
  binary: string,
): ReturnType<typeof replay> {
  const child = new Deno.Command(binary, { stdin: "piped", stdout: "piped", stderr: "null" })
    .spawn();
  try {
    return await replay(lines, child);
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}
