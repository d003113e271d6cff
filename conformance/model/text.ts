/**
 * Quoting input in messages: whatever a user or a file handed the suite is
 * shown with its control and non-printable characters escaped, and cut to a
 * readable length, so an error message never writes raw bytes to a terminal.
 *
 * @module
 */

/**
 * `text` with control characters (C0, DEL, C1), unpaired surrogates and the
 * replacement character (what undecodable bytes become) escaped as `\xNN` or
 * `\u{N}`, and cut to `max` characters with an ellipsis.
 *
 * @example
 * ```ts
 * import { printable } from "./text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(printable("ELF\x01\x02\x7f"), "ELF\\x01\\x02\\x7f");
 * assert.equal(printable("a".repeat(10), { max: 4 }), "aaaa…");
 * ```
 */
export function printable(text: string, options: { readonly max?: number } = {}): string {
  const max = options.max ?? 120;
  let out = "";
  let n = 0;
  for (const ch of text) {
    if (n >= max) return `${out}…`;
    const c = ch.codePointAt(0) as number;
    if (c === 0x09) out += "\\t";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c === 0xfffd || (c >= 0xd800 && c < 0xe000)) out += `\\u{${c.toString(16)}}`;
    else if (ch === "\\") out += "\\\\";
    else out += ch;
    n++;
  }
  return out;
}

/**
 * Splits a text stream into lines (without their newline); a last line
 * without one is kept.
 *
 * @example
 * ```ts
 * import { LineStream } from "./text.ts";
 * import assert from "node:assert/strict";
 * const lines = await Array.fromAsync(ReadableStream.from(["a\nb", "c\n", "d"]).pipeThrough(new LineStream()));
 * assert.deepEqual(lines, ["a", "bc", "d"]);
 * ```
 */
export class LineStream extends TransformStream<string, string> {
  constructor() {
    let rest = "";
    super({
      transform(chunk, controller) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        for (const p of parts) controller.enqueue(p);
      },
      flush(controller) {
        if (rest !== "") controller.enqueue(rest);
      },
    });
  }
}
