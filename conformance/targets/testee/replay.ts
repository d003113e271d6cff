/**
 * `deno task testee-replay TRANSCRIPT -- CMD [ARGS…]`: replays a scenario's
 * transcript (from `<out>/testee-transcripts/`) against a testee: every
 * line the suite sent (`> `) is sent again, in order, and every line the
 * testee answers is compared with the one it wrote then (`< `). Prints the
 * first difference (line number, expected, got) and exits 1, or says the
 * replay matched and exits 0. A testee under a debugger or with more logging
 * can so be driven through exactly the conversation that failed, without the
 * suite.
 *
 * @module
 */

import { LineStream } from "../../model/text.ts";

/** One line of a transcript. */
export interface TranscriptLine {
  /** `>` the suite sent it, `<` the testee. */
  readonly dir: ">" | "<";
  /** The JSON text. */
  readonly text: string;
}

/** Parses a transcript; throws a SyntaxError naming the bad line. */
export function parseTranscript(text: string): TranscriptLine[] {
  return text.split("\n").filter((l) => l !== "").map((l, i) => {
    if (!l.startsWith("> ") && !l.startsWith("< ")) {
      throw new SyntaxError(
        `line ${i + 1} of the transcript starts with ${
          JSON.stringify(l.slice(0, 2))
        }, expected "> " (sent by the suite) or "< " (by the testee)`,
      );
    }
    return { dir: l[0] as ">" | "<", text: l.slice(2) };
  });
}

/** Replays `lines` against a started process; the first difference, or undefined. */
export async function replay(
  lines: readonly TranscriptLine[],
  child: { stdin: WritableStream<Uint8Array>; stdout: ReadableStream<Uint8Array> },
  timeoutMs = 5_000,
): Promise<{ line: number; expected: string; got: string } | undefined> {
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
    new LineStream(),
  ).getReader();
  const enc = new TextEncoder();
  try {
    for (const [i, l] of lines.entries()) {
      if (l.dir === ">") {
        await writer.write(enc.encode(`${l.text}\n`));
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        reader.read(),
        new Promise<{ done: true; value: undefined }>((r) => {
          timer = setTimeout(() => r({ done: true, value: undefined }), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      const text = got.done ? `(nothing within ${timeoutMs} ms, or end of output)` : got.value;
      if (text !== l.text) return { line: i + 1, expected: l.text, got: text };
    }
    return undefined;
  } finally {
    await writer.close().catch(() => {});
    reader.releaseLock();
  }
}

if (import.meta.main) {
  const sep = Deno.args.indexOf("--");
  const file = Deno.args[0];
  const cmd = sep >= 0 ? Deno.args.slice(sep + 1) : [];
  if (file === undefined || sep !== 1 || cmd.length === 0) {
    console.error("Usage: deno task testee-replay TRANSCRIPT -- CMD [ARGS…]");
    Deno.exit(2);
  }
  let lines: TranscriptLine[];
  try {
    lines = parseTranscript(Deno.readTextFileSync(file));
  } catch (e) {
    console.error(`error: ${file}: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(2);
  }
  const [program, ...args] = cmd as [string, ...string[]];
  const child = new Deno.Command(program, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const diff = await replay(lines, child);
  try {
    child.kill("SIGTERM");
  } catch {
    // exited
  }
  await child.status;
  if (diff === undefined) {
    console.log(`replayed ${lines.length} lines of ${file}: the testee answered as recorded`);
    Deno.exit(0);
  }
  console.log(
    `line ${diff.line} of ${file} differs:\n  expected: ${diff.expected}\n  got:      ${diff.got}`,
  );
  Deno.exit(1);
}
