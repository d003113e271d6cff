/**
 * Turns QEMU's trace log (the "log" backend with `-msg timestamp=on`, lines
 * like `TID@SECONDS:event args`) into the suite's trace format, in two passes
 * over the lines: the first (`qemu_scan.ts`) tells the balloon, its queues,
 * the guest's threads and the RAMBlock offsets; the second (`qemu_events.ts`)
 * emits the events one at a time. Neither holds the log: a file is read line by line
 * (`lines.ts`), gzip included, and events go to a callback as they are made.
 *
 * Unknown events are skipped and counted. Everything that makes the trace
 * less than the log is an import problem with its line (see `problems.ts` for
 * what each affects): a line that is no trace line, a known event whose
 * arguments do not parse, lines without the `-msg timestamp=on` prefix, a
 * last line without its newline, an element the log ends inside, time going
 * backwards (on one thread, or by more than a second between threads: logs
 * joined, or a clock step), a `--vdev` no page line confirms.
 *
 * @module
 */

import {
  type Trace,
  TRACE_FORMAT,
  TRACE_VERSION,
  type TraceEvent,
  type TraceHeader,
} from "./format.ts";
import { type LinesRead, readLines, textLines } from "./lines.ts";
import type { InputProblem } from "./problems.ts";
import { QemuEvents } from "./qemu_events.ts";
import { type Attribution, QemuScan } from "./qemu_scan.ts";

export { QemuImportError } from "./qemu_scan.ts";

/** A problem of an import: an {@link InputProblem} (the name the importer's results had before). */
export type ImportProblem = InputProblem;

/** Options of {@link importQemuTrace} and {@link importQemuLog}. */
export interface ImportOptions {
  /** Guest RAM in 4 KiB pages, for the header. */
  readonly guestPages?: number;
  /** The balloon's vdev pointer when the log has several virtio devices. */
  readonly vdev?: string;
  /** Versions to record in the header. */
  readonly versions?: Readonly<Record<string, string>>;
  /** Profile the trace is to be checked under (default virtio-1.x: QEMU implements no seed feature). */
  readonly profile?: "v3" | "virtio-1.x";
  /** Extra events (e.g. features from QMP) appended at the end. */
  readonly extra?: readonly TraceEvent[];
  /** Awaited after each chunk of the file's second pass (to write out what it produced). */
  readonly afterChunk?: () => Promise<void>;
}

/** What an import found besides the events. */
export interface ImportSummary {
  /** The trace's header. */
  readonly header: TraceHeader;
  /** The balloon's vdev pointer in the log. */
  readonly vdev: string | undefined;
  /** Events imported from the log (the extra events not counted). */
  readonly events: number;
  /** Lines read. */
  readonly lines: number;
  /** Problems that make verdicts unreliable (see `problems.ts`). */
  readonly problems: readonly InputProblem[];
  /** What the log cannot show, in words (rules about it are not observable). */
  readonly notes: readonly string[];
  /** Lines of events the importer does not use, by event name. */
  readonly skipped: Readonly<Record<string, number>>;
  /** Why nothing can be judged, when the log gave no balloon event. */
  readonly empty?: string;
}

/** Result of an import held in memory. */
export interface ImportResult extends ImportSummary {
  /** The trace. */
  readonly trace: Trace;
}

/** The header of a trace imported with these options. */
export function qemuHeader(options: ImportOptions): TraceHeader {
  return {
    type: "header",
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    source: "qemu-trace",
    profile: options.profile ?? "virtio-1.x",
    ...(options.guestPages === undefined ? {} : { guestPages: options.guestPages }),
    ...(options.versions === undefined ? {} : { versions: options.versions }),
  };
}

/** The end of the second pass: the extra events, and the summary. */
function finishImport(
  att: Attribution,
  pass: QemuEvents,
  read: LinesRead,
  options: ImportOptions,
  emit: (e: TraceEvent) => void,
): ImportSummary {
  const notes = pass.finish(read);
  for (const e of options.extra ?? []) emit(e);
  const empty = pass.empty(read);
  return {
    header: qemuHeader(options),
    vdev: att.vdev,
    events: pass.events,
    lines: read.lines,
    problems: pass.problems.list(),
    notes,
    skipped: pass.skipped,
    ...(empty === undefined ? {} : { empty }),
  };
}

/**
 * Imports a QEMU trace log file (plain or gzip), reading it twice line by
 * line; each event goes to `emit` as it is made, the extra events last.
 * Throws a {@link QemuImportError} when the log cannot
 * tell the balloon.
 */
export async function importQemuLog(
  path: string,
  emit: (e: TraceEvent) => void,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const scan = new QemuScan();
  await readLines(path, (line, n) => scan.line(line, n));
  const att = scan.finish(options.vdev);
  const pass = new QemuEvents(att, emit, options);
  const afterChunk = options.afterChunk;
  const read = await readLines(
    path,
    (line, n, info) => pass.line(line, n, info),
    afterChunk === undefined ? {} : { afterChunk },
  );
  return finishImport(att, pass, read, options, emit);
}

/**
 * Imports a QEMU trace log held in a string (tests, small logs), keeping the
 * events; the same two passes as {@link importQemuLog}.
 *
 * @example
 * ```ts
 * import { importQemuTrace } from "./qemu_log.ts";
 * import assert from "node:assert/strict";
 * const log = [
 *   "1@10.0:virtio_set_status vdev 0x1 val 15",
 *   "1@10.1:virtio_queue_notify vdev 0x1 n 0 vq 0xa",
 *   "1@10.1:virtqueue_pop vq 0xa elem 0xe in_num 0 out_num 1",
 *   "1@10.1:virtio_balloon_handle_output section name: pc.ram gpa: 0x5000",
 *   "1@10.1:virtqueue_fill vq 0xa elem 0xe len 0 idx 0",
 *   "",
 * ].join("\n");
 * const r = importQemuTrace(log);
 * const chain = r.trace.events.find((e) => e.type === "chain");
 * assert.deepEqual(chain?.type === "chain" ? chain.pages : undefined, [[5, 1]]);
 * assert.equal(r.problems.length, 0);
 * ```
 */
export function importQemuTrace(text: string, options: ImportOptions = {}): ImportResult {
  const events: TraceEvent[] = [];
  const emit = (e: TraceEvent) => events.push(e);
  const scan = new QemuScan();
  textLines(text, (line, n) => scan.line(line, n));
  const att = scan.finish(options.vdev);
  const pass = new QemuEvents(att, emit, options);
  const read = textLines(text, (line, n, info) => pass.line(line, n, info));
  const summary = finishImport(att, pass, read, options, emit);
  return { ...summary, trace: { header: summary.header, events } };
}
