/**
 * Logs read line by line in bounded memory: a file, gunzipped when it starts
 * with the gzip magic bytes (`DecompressionStream`), or a string. Each line
 * goes to a callback as it is read; nothing holds the whole text. What the
 * reader saw of the input's end is returned: a last line without its newline
 * (the file may have been cut), lines too long to be log lines (cut to the
 * limit), a gzip stream that breaks off.
 *
 * @module
 */

/** What the reader knows of a line besides its text. */
export interface LineInfo {
  /** Whether it was cut (longer than the limit). */
  readonly cut: boolean;
  /** Whether it is a last line without a newline (the input may end in the middle of it). */
  readonly unterminated: boolean;
}

/** Called with each line (without its newline), its 1-based number, and what else is known of it. */
export type LineSink = (line: string, n: number, info: LineInfo) => void;

/** The infos there are, made once (no object per line). */
const WHOLE: LineInfo = Object.freeze({ cut: false, unterminated: false });
const CUT: LineInfo = Object.freeze({ cut: true, unterminated: false });
const LAST: LineInfo = Object.freeze({ cut: false, unterminated: true });

/** What a read saw. */
export interface LinesRead {
  /** Lines read (a last line without a newline included). */
  readonly lines: number;
  /** Characters of text read (after gunzipping). */
  readonly chars: number;
  /** Bytes read from the file (compressed, for a gzip file). */
  readonly fileBytes: number;
  /** Whether the input was gzip. */
  readonly gzip: boolean;
  /** Whether the last line has no newline: the input may end in the middle of a line. */
  readonly unterminated: boolean;
  /** Why the read stopped early (a broken gzip stream), when it did. */
  readonly error?: string;
}

/** Options of {@link readLines} and {@link textLines}. */
export interface LineOptions {
  /** Lines longer than this many characters are cut to it (and flagged); default 1 MiB. */
  readonly maxLineChars?: number;
  /** Bytes read from the file at a time (default 1 MiB). */
  readonly chunkBytes?: number;
  /** Awaited after the lines of each chunk (to write out what they produced). */
  readonly afterChunk?: () => Promise<void>;
}

const DEFAULT_MAX_LINE = 2 ** 20;
const DEFAULT_CHUNK = 2 ** 20;

/** Cuts text that arrives in pieces into lines, keeping at most one line's worth. */
class Splitter {
  #carry = "";
  #skipping = false;
  #n = 0;
  #chars = 0;
  readonly #max: number;
  readonly #sink: LineSink;

  constructor(sink: LineSink, max: number) {
    this.#sink = sink;
    this.#max = max;
  }

  get lines(): number {
    return this.#n;
  }

  get chars(): number {
    return this.#chars;
  }

  push(text: string): void {
    this.#chars += text.length;
    let start = 0;
    for (;;) {
      const i = text.indexOf("\n", start);
      if (i < 0) break;
      if (this.#skipping) {
        // the rest of a line already given, cut
        this.#skipping = false;
      } else {
        const piece = text.slice(start, i);
        const line = this.#carry === "" ? piece : this.#carry + piece;
        this.#carry = "";
        this.#n++;
        if (line.length > this.#max) this.#sink(line.slice(0, this.#max), this.#n, CUT);
        else this.#sink(line, this.#n, WHOLE);
      }
      start = i + 1;
    }
    if (this.#skipping || start === text.length) return;
    this.#carry += text.slice(start);
    if (this.#carry.length > this.#max) {
      // a line too long: given now, cut, and the rest of it skipped
      this.#n++;
      this.#sink(this.#carry.slice(0, this.#max), this.#n, CUT);
      this.#carry = "";
      this.#skipping = true;
    }
  }

  /** Gives the last line, if it had no newline; returns whether there was one. */
  end(): boolean {
    if (this.#skipping) return true;
    if (this.#carry === "") return false;
    this.#n++;
    this.#sink(this.#carry, this.#n, LAST);
    this.#carry = "";
    return true;
  }
}

/**
 * Feeds the lines of a string to `sink`, as {@link readLines} does a file's.
 *
 * @example
 * ```ts
 * import { textLines } from "./lines.ts";
 * import assert from "node:assert/strict";
 * const got: string[] = [];
 * const r = textLines("a\nb\nc", (line) => got.push(line));
 * assert.deepEqual(got, ["a", "b", "c"]);
 * assert.equal(r.unterminated, true);
 * ```
 */
export function textLines(text: string, sink: LineSink, options: LineOptions = {}): LinesRead {
  const s = new Splitter(sink, options.maxLineChars ?? DEFAULT_MAX_LINE);
  s.push(text);
  const unterminated = s.end();
  return { lines: s.lines, chars: s.chars, fileBytes: text.length, gzip: false, unterminated };
}

/** Whether a file starts with the gzip magic bytes. */
async function isGzip(path: string): Promise<boolean> {
  const f = await Deno.open(path);
  try {
    const head = new Uint8Array(2);
    const n = await f.read(head);
    return n === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    f.close();
  }
}

/**
 * Reads a file line by line, gunzipping it when it is gzip, in memory bounded
 * by one chunk and one line. A file that cannot be opened throws; a gzip
 * stream that breaks off ends the read with `error` set (the lines before it
 * were given).
 */
export async function readLines(
  path: string,
  sink: LineSink,
  options: LineOptions = {},
): Promise<LinesRead> {
  const gzip = await isGzip(path);
  const s = new Splitter(sink, options.maxLineChars ?? DEFAULT_MAX_LINE);
  const decoder = new TextDecoder();
  let fileBytes = 0;
  let error: string | undefined;
  const f = await Deno.open(path);
  if (!gzip) {
    try {
      const buf = new Uint8Array(options.chunkBytes ?? DEFAULT_CHUNK);
      for (;;) {
        const n = await f.read(buf);
        if (n === null) break;
        fileBytes += n;
        s.push(decoder.decode(buf.subarray(0, n), { stream: true }));
        await options.afterChunk?.();
      }
    } finally {
      f.close();
    }
  } else {
    const counted = f.readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          fileBytes += chunk.length;
          c.enqueue(chunk);
        },
      }),
    );
    const reader = counted.pipeThrough(
      new DecompressionStream("gzip") as ReadableWritablePair<Uint8Array, Uint8Array>,
    ).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        s.push(decoder.decode(value, { stream: true }));
        await options.afterChunk?.();
      }
    } catch (e) {
      error = `the gzip stream breaks off after ${fileBytes} bytes (${(e as Error).message})`;
      await reader.cancel().catch(() => {});
    }
  }
  s.push(decoder.decode());
  const unterminated = s.end();
  await options.afterChunk?.();
  return {
    lines: s.lines,
    chars: s.chars,
    fileBytes,
    gzip,
    unterminated,
    ...(error === undefined ? {} : { error }),
  };
}
