/**
 * Passive checks of files of any size: a trace in the suite's format
 * ({@link checkTraceFile}) or a QEMU trace log ({@link checkQemuLog}), each
 * read line by line (gzip included) and checked event by event, so memory is
 * bounded by the balloon's pages and a chunk of the file, not by the file.
 * Also a trace writer that streams (JSON lines, gzip when the name ends in
 * `.gz`).
 *
 * @module
 */

import { type KnownFeatures, lastFeatures, TraceChecker } from "./check.ts";
import type { TraceRuleResult } from "./check_kit.ts";
import { TraceFormatError, TraceParser } from "./format.ts";
import type { TraceEvent, TraceHeader } from "./format.ts";
import { readLines } from "./lines.ts";
import type { InputProblem } from "./problems.ts";
import { type ImportOptions, importQemuLog, qemuHeader } from "./qemu_log.ts";

/** A checked file. */
export interface FileCheck {
  /** The trace's header (built by the importer for a QEMU log). */
  readonly header: TraceHeader;
  /** Per-rule verdicts, input problems applied. */
  readonly results: readonly TraceRuleResult[];
  /** Events checked. */
  readonly events: number;
  /** Lines read. */
  readonly lines: number;
  /** Problems in the input (they make the verdicts that depend on them `error`). */
  readonly problems: readonly InputProblem[];
  /** What the input cannot show, in words. */
  readonly notes: readonly string[];
  /** Why nothing could be judged, when the input gave no event. */
  readonly empty?: string;
}

/** A checked QEMU log. */
export interface QemuLogCheck extends FileCheck {
  /** The balloon's vdev pointer. */
  readonly vdev: string | undefined;
  /** Events imported from the log (the extra events not counted). */
  readonly imported: number;
  /** Lines of events the importer does not use, by event name. */
  readonly skipped: Readonly<Record<string, number>>;
}

/** Options of {@link checkQemuLog}. */
export interface QemuLogCheckOptions extends ImportOptions {
  /** Sees each event as it is checked (to count, or to write the trace; `afterChunk` to flush). */
  readonly onEvent?: (e: TraceEvent) => void;
}

/**
 * Checks a trace file in the suite's format: a first pass finds its last
 * features event (queue roles and features come from it), a second parses and
 * checks each event. A malformed line throws a `TraceFormatError`; a last line
 * without its newline that does not parse (the file was cut) is an input
 * problem instead.
 */
export async function checkTraceFile(path: string): Promise<FileCheck> {
  let features: KnownFeatures | undefined;
  await readLines(path, (text, n) => {
    if (!text.includes('"features"')) return;
    try {
      const e = JSON.parse(text) as TraceEvent;
      if (e?.type === "features") features = { event: e, line: n };
    } catch {
      // the second pass names malformed lines
    }
  }, { maxLineChars: TRACE_LINE_CHARS });
  const parser = new TraceParser();
  let checker: TraceChecker | undefined;
  const problems: InputProblem[] = [];
  const read = await readLines(path, (text, n, info) => {
    let e: TraceEvent | undefined;
    try {
      if (info.cut) {
        throw new TraceFormatError(n, `longer than ${TRACE_LINE_CHARS} characters`);
      }
      e = parser.line(text, n);
    } catch (err) {
      if (!info.unterminated) throw err;
      problems.push({
        line: n,
        message:
          `the trace ends in the middle of a line (no newline, and not a whole event): it was cut, the line is left out`,
        affects: "all",
      });
      return;
    }
    if (e === undefined) return;
    checker ??= new TraceChecker(
      parser.header as TraceHeader,
      features === undefined ? {} : { features },
    );
    checker.add(e, n);
  }, { maxLineChars: TRACE_LINE_CHARS });
  if (read.error !== undefined) {
    problems.push({ line: read.lines + 1, message: read.error, affects: "all" });
  }
  const header = parser.finish();
  checker ??= new TraceChecker(header, features === undefined ? {} : { features });
  const events = checker.events;
  return {
    header,
    results: checker.results(problems),
    events,
    lines: read.lines,
    problems,
    notes: [],
    ...(events === 0 ? { empty: "no event in the trace: only its header" } : {}),
  };
}

/** Lines of a trace in the suite's format may be this long (a chain naming many runs). */
const TRACE_LINE_CHARS = 2 ** 26;

/**
 * Imports and checks a QEMU trace log (plain or gzip) in bounded memory: two
 * passes of the importer over the file, each event checked as it is made.
 * The extra events (features from QMP) are known to the checker from the
 * start. Throws a `QemuImportError` when the log cannot tell the balloon.
 */
export async function checkQemuLog(
  path: string,
  options: QemuLogCheckOptions = {},
): Promise<QemuLogCheck> {
  const header = qemuHeader(options);
  const features = lastFeatures(options.extra ?? []);
  const checker = new TraceChecker(header, features === undefined ? {} : { features });
  let line = 1;
  const summary = await importQemuLog(path, (e) => {
    checker.add(e, ++line);
    options.onEvent?.(e);
  }, options);
  return {
    header,
    results: checker.results(summary.problems),
    events: checker.events,
    lines: summary.lines,
    problems: summary.problems,
    notes: summary.notes,
    vdev: summary.vdev,
    imported: summary.events,
    skipped: summary.skipped,
    ...(summary.empty === undefined ? {} : { empty: summary.empty }),
  };
}

/** Write out buffered lines once they hold this many characters. */
const WRITE_CHUNK_CHARS = 2 ** 20;

/**
 * Writes a trace as JSON lines while it is made, gzipped when the file name
 * ends in `.gz`: {@link TraceWriter.add} buffers a line, {@link TraceWriter.flush}
 * writes out what is buffered once it is large (await it between chunks of
 * input), {@link TraceWriter.close} writes the rest.
 */
export class TraceWriter {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #done: Promise<void>;
  readonly #encoder = new TextEncoder();
  #lines: string[] = [];
  #chars = 0;

  private constructor(writer: WritableStreamDefaultWriter<Uint8Array>, done: Promise<void>) {
    this.#writer = writer;
    this.#done = done;
  }

  /** Opens `path` for a trace with this header. */
  static async create(path: string, header: TraceHeader): Promise<TraceWriter> {
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    let w: TraceWriter;
    if (path.endsWith(".gz")) {
      const gz = new CompressionStream("gzip") as ReadableWritablePair<Uint8Array, Uint8Array>;
      const done = gz.readable.pipeTo(file.writable);
      w = new TraceWriter(gz.writable.getWriter(), done);
    } else {
      w = new TraceWriter(file.writable.getWriter(), Promise.resolve());
    }
    w.add(header);
    return w;
  }

  /** Buffers one line. */
  add(e: TraceEvent | TraceHeader): void {
    const s = JSON.stringify(e);
    this.#lines.push(s);
    this.#chars += s.length + 1;
  }

  /** Writes out the buffered lines if they are many (or `all`). */
  async flush(all = false): Promise<void> {
    if (this.#lines.length === 0 || (!all && this.#chars < WRITE_CHUNK_CHARS)) return;
    const text = this.#lines.join("\n") + "\n";
    this.#lines = [];
    this.#chars = 0;
    await this.#writer.write(this.#encoder.encode(text));
  }

  /** Writes the rest and closes the file. */
  async close(): Promise<void> {
    await this.flush(true);
    await this.#writer.close();
    await this.#done;
  }
}

/**
 * Reads a small file whole, as text, gunzipping it when it is gzip (tests,
 * metadata). The checks read their inputs with {@link readLines} instead.
 */
export async function readMaybeGzip(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return new TextDecoder().decode(bytes);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}
