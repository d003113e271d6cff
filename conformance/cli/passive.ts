/**
 * Passive mode of `deno task conform`: check a recorded trace
 * (`--trace FILE`), a QEMU trace log (`--qemu-trace FILE`), or boot QEMU and
 * Linux and check what QEMU records (`--target qemu-linux`). `conformance/cli/main.ts`
 * hands its arguments here when one of those flags is present.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { flagErrorMessage } from "./flags.ts";
import { isFileError, makeOutputDir, readExpectFile, unreadable, writeOutput } from "./files.ts";
import { printable } from "../model/text.ts";
import { join } from "node:path";
import type { ExpectList } from "../run/expect.ts";
import { TraceFormatError } from "../trace/format.ts";
import {
  PASSIVE_EXIT,
  passiveJson,
  passiveMarkdown,
  passiveOutcome,
  type PassiveRun,
  passiveTerminal,
} from "../report/passive.ts";
import { passiveHtml } from "../report/passive_html.ts";
import { passiveJunit } from "../report/passive_junit.ts";
import { QemuImportError } from "../trace/qemu_log.ts";
import { checkQemuLog, checkTraceFile, type QemuLogCheck } from "../trace/stream.ts";
import { problemText } from "../trace/problems.ts";
import { runQemuLinux } from "../targets/qemu-linux/target.ts";
import { defaultCacheDir } from "../targets/qemu-linux/assets.ts";

/** A bad flag or file: printed as `error: …`, exit code 2. */
export class PassiveUsageError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "PassiveUsageError";
  }
}

/** Help text of the passive mode. */
export const PASSIVE_USAGE =
  `Passive checking: every rule decidable from what an implementation recorded.

usage: deno task conform --trace FILE [options]
       deno task conform --qemu-trace FILE [--guest-pages N] [--vdev PTR] [options]
       deno task conform --target qemu-linux [--cache DIR] [options]

  --trace FILE        a trace in the suite's format (JSON lines, plain or .gz;
                      the format is documented in conformance/trace/format.ts)
  --qemu-trace FILE   a QEMU trace log (-trace events=…, the "log" backend,
                      recorded with -msg timestamp=on; plain or .gz),
                      imported into the suite's format
  --guest-pages N     guest RAM in 4 KiB pages (for --qemu-trace; optional)
  --vdev PTR          the balloon's vdev pointer, when the log has several
                      virtio devices (for --qemu-trace)
  --target qemu-linux boot Debian's QEMU and Linux (installed and cached when
                      missing), run the scenarios and their checks, and check
                      QEMU's trace
  --cache DIR         where the Debian packages and the initramfs are kept
                      (default: $XDG_CACHE_HOME or ~/.cache, then
                      virtio-balloon-conformance)
  --profile P         rules to check a QEMU log against: virtio-1.x (default) or v3
  --report FORMATS    reports to write, comma-separated: json, junit, markdown,
                      html (default: all four), or none: passive.json,
                      passive.junit.xml, passive.md, passive.html
  --out DIR           reports, console logs and traces (default conformance-report)
  --expect-fail FILE  rules (or qemu-linux scenario checks, such as
                      A/host-rss-drops) expected to fail, one 'id' or
                      'subject id' per line ('#' comments); a listed one that
                      does not fail fails the run
  --all               list every rule, also those the format cannot decide
  --help              print this text

Files of any size are read line by line (gzip included) and checked as they
stream. A problem in the input (a line that is no trace line, a cut last line
or element, time going backwards, a --vdev nothing confirms) is named with its
line and makes the verdicts that depend on it 'error' (unreliable).

Exit code:
  0  every rule and scenario check as expected, and the input judged
  1  a rule or scenario check failed unexpectedly, a guest could not be run,
     or the expected-failure list is stale
  2  a usage error (a bad flag, an unreadable file, a --trace file that
     breaks the format)
  3  when nothing failed but the input could not be judged: no balloon event
     in it, no rule decided, the balloon device not identified, or verdicts
     made unreliable by input problems
  4  a report could not be written (--out)`;

export { PASSIVE_EXIT };

const PASSIVE_FLAGS = ["--trace", "--qemu-trace"];

/**
 * True when the arguments ask for passive mode.
 *
 * @example
 * ```ts
 * import { isPassive } from "./passive.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isPassive(["--target", "qemu-linux"]), true);
 * assert.equal(isPassive(["--target=qemu-linux"]), true);
 * assert.equal(isPassive(["--trace", "x.jsonl"]), true);
 * assert.equal(isPassive(["--target", "reference"]), false);
 * ```
 */
export function isPassive(args: readonly string[]): boolean {
  return args.some((a, i) =>
    PASSIVE_FLAGS.some((f) => a === f || a.startsWith(f + "=")) ||
    a === "--target=qemu-linux" || (a === "--target" && args[i + 1] === "qemu-linux")
  );
}

/** Report formats of passive mode and the files they go to. */
const PASSIVE_REPORTS = {
  json: { file: "passive.json", render: passiveJson },
  markdown: { file: "passive.md", render: passiveMarkdown },
  html: { file: "passive.html", render: passiveHtml },
  junit: { file: "passive.junit.xml", render: passiveJunit },
} as const;
type PassiveFormat = keyof typeof PASSIVE_REPORTS;

interface PassiveOptions {
  readonly source: { kind: "trace" | "qemu-trace"; file: string } | { kind: "qemu-linux" };
  readonly guestPages?: number;
  readonly vdev?: string;
  readonly cache: string;
  readonly profile: "v3" | "virtio-1.x";
  readonly formats: readonly PassiveFormat[];
  readonly out: string;
  readonly expect?: ExpectList;
  readonly all: boolean;
}

async function parsePassive(args: readonly string[]): Promise<PassiveOptions | "help"> {
  let v;
  try {
    v = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        trace: { type: "string" },
        "qemu-trace": { type: "string" },
        target: { type: "string" },
        "guest-pages": { type: "string" },
        vdev: { type: "string" },
        cache: { type: "string" },
        profile: { type: "string" },
        report: { type: "string" },
        out: { type: "string" },
        "expect-fail": { type: "string" },
        all: { type: "boolean" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (e) {
    throw new PassiveUsageError(
      flagErrorMessage(e, args, "'deno task conform --trace x --help' (passive mode)"),
    );
  }
  if (v.help === true) return "help";
  const given = [
    v.trace === undefined ? undefined : "--trace",
    v["qemu-trace"] === undefined ? undefined : "--qemu-trace",
    v.target === undefined ? undefined : "--target",
  ].filter((x) => x !== undefined);
  if (given.length !== 1) {
    throw new PassiveUsageError(
      `${given.join(" and ")}: expected exactly one of --trace, --qemu-trace, --target qemu-linux`,
    );
  }
  if (v.target !== undefined && v.target !== "qemu-linux") {
    throw new PassiveUsageError(
      `--target '${
        printable(v.target)
      }' cannot be combined with passive checking: expected --target qemu-linux`,
    );
  }
  let guestPages: number | undefined;
  if (v["guest-pages"] !== undefined) {
    guestPages = Number(v["guest-pages"]);
    if (!Number.isSafeInteger(guestPages) || guestPages <= 0) {
      throw new PassiveUsageError(
        `--guest-pages '${
          printable(v["guest-pages"])
        }' is not valid: expected a positive integer (4 KiB pages)`,
      );
    }
  }
  if (v.vdev !== undefined && !/^0x[0-9a-f]+$/.test(v.vdev)) {
    throw new PassiveUsageError(
      `--vdev '${
        printable(v.vdev)
      }' is not valid: expected a pointer as QEMU logs it, such as 0x55d0c2a1b2c0`,
    );
  }
  const profile = v.profile ?? "virtio-1.x";
  if (profile !== "v3" && profile !== "virtio-1.x") {
    throw new PassiveUsageError(
      `--profile '${printable(profile)}' is not a profile: expected virtio-1.x or v3`,
    );
  }
  const formats: PassiveFormat[] = [];
  for (
    const f of (v.report ?? Object.keys(PASSIVE_REPORTS).join(",")).split(",").map((s) => s.trim())
      .filter((s) => s !== "" && s !== "none")
  ) {
    if (!Object.hasOwn(PASSIVE_REPORTS, f)) {
      throw new PassiveUsageError(
        `--report '${printable(v.report ?? "")}': '${
          printable(f)
        }' is not a format of passive mode: expected json, junit, markdown, html or none`,
      );
    }
    formats.push(f as PassiveFormat);
  }
  let expect: ExpectList | undefined;
  if (v["expect-fail"] !== undefined) {
    expect = await readExpectFile(v["expect-fail"], (m) => new PassiveUsageError(m));
  }
  const source = v.trace !== undefined
    ? { kind: "trace" as const, file: v.trace }
    : v["qemu-trace"] !== undefined
    ? { kind: "qemu-trace" as const, file: v["qemu-trace"] }
    : { kind: "qemu-linux" as const };
  return {
    source,
    ...(guestPages === undefined ? {} : { guestPages }),
    ...(v.vdev === undefined ? {} : { vdev: v.vdev }),
    cache: v.cache ?? defaultCacheDir(),
    profile,
    formats,
    out: v.out ?? "conformance-report",
    ...(expect === undefined ? {} : { expect }),
    all: v.all === true,
  };
}

/** The section of a checked file. */
function fileSection(
  name: string,
  check: Awaited<ReturnType<typeof checkTraceFile>>,
  facts: readonly string[],
) {
  return {
    name,
    facts,
    problems: check.problems.map(problemText),
    notes: check.notes,
    ...(check.empty === undefined ? {} : { empty: check.empty }),
    results: check.results,
  };
}

/** Runs what the options ask for and builds the run to report. */
async function passiveRun(o: PassiveOptions, log: (s: string) => void): Promise<PassiveRun> {
  const t0 = Date.now();
  const withExpect = o.expect === undefined ? {} : { expect: o.expect };
  if (o.source.kind === "trace") {
    const file = o.source.file;
    let check: Awaited<ReturnType<typeof checkTraceFile>>;
    try {
      check = await checkTraceFile(file);
    } catch (e) {
      if (e instanceof TraceFormatError) {
        throw new PassiveUsageError(
          `--trace '${printable(file)}': ${printable(e.message, { max: 400 })}`,
        );
      }
      if (isFileError(e)) throw new PassiveUsageError(unreadable("--trace", file, e));
      throw e;
    }
    return {
      subject: `trace ${file}`,
      profile: check.header.profile,
      versions: check.header.versions ?? {},
      sections: [fileSection(file, check, [`${check.events} events from ${check.header.source}`])],
      results: check.results,
      seconds: (Date.now() - t0) / 1000,
      ...withExpect,
    };
  }
  if (o.source.kind === "qemu-trace") {
    const file = o.source.file;
    let check: QemuLogCheck;
    try {
      check = await checkQemuLog(file, {
        ...(o.guestPages === undefined ? {} : { guestPages: o.guestPages }),
        ...(o.vdev === undefined ? {} : { vdev: o.vdev }),
        profile: o.profile,
      });
    } catch (e) {
      if (isFileError(e)) throw new PassiveUsageError(unreadable("--qemu-trace", file, e));
      if (!(e instanceof QemuImportError)) throw e;
      // the log cannot tell which device is the balloon: nothing to judge
      return {
        subject: `qemu-trace ${file}`,
        profile: o.profile,
        versions: {},
        sections: [{
          name: file,
          empty: `the balloon device is not identified: ${e.message}`,
          results: [],
        }],
        results: [],
        seconds: (Date.now() - t0) / 1000,
        ...withExpect,
      };
    }
    const skipped = Object.values(check.skipped).reduce((a, b) => a + b, 0);
    const facts = [
      `${check.imported} events imported from ${check.lines} lines (balloon vdev ${
        check.vdev ?? "not found"
      }), ${skipped} lines of other events skipped`,
    ];
    return {
      subject: `qemu-trace ${file}`,
      profile: o.profile,
      versions: {},
      sections: [fileSection(file, check, facts)],
      results: check.results,
      seconds: (Date.now() - t0) / 1000,
      ...withExpect,
    };
  }
  const q = await runQemuLinux({ cacheDir: o.cache, outDir: o.out, log });
  return {
    subject: "qemu-linux",
    profile: "virtio-1.x",
    versions: q.versions,
    sections: q.guests.map((g) => ({
      name: `guest ${g.name}`,
      title: g.title,
      facts: [...g.facts, `ran ${g.seconds.toFixed(1)} s`],
      checks: g.checks,
      problems: g.importProblems,
      notes: g.notes,
      ...(g.empty === undefined ? {} : { empty: g.empty }),
      ...(g.error === undefined ? {} : { error: g.error }),
      ...(g.tracePath === undefined ? {} : { tracePath: g.tracePath }),
      results: g.results,
    })),
    results: q.results,
    seconds: q.seconds,
    ...(q.error === undefined ? {} : { error: q.error }),
    ...withExpect,
  };
}

function colorWanted(): boolean {
  try {
    return Deno.stdout.isTerminal() && (Deno.env.get("NO_COLOR") ?? "") === "";
  } catch {
    return false;
  }
}

/** Runs passive mode with `args`; returns the exit code. */
export async function passiveMain(args: readonly string[]): Promise<number> {
  const o = await parsePassive(args);
  if (o === "help") {
    console.log(PASSIVE_USAGE);
    return 0;
  }
  const run = await passiveRun(o, (s) => console.error(`… ${s}`));
  const written: string[] = [];
  if (o.formats.length > 0) {
    await makeOutputDir("--out", o.out);
    for (const f of o.formats) {
      const path = join(o.out, PASSIVE_REPORTS[f].file);
      await writeOutput("--out", path, PASSIVE_REPORTS[f].render(run));
      written.push(path);
    }
  }
  console.log(passiveTerminal(run, { color: colorWanted(), all: o.all }));
  for (const w of written) console.log(`wrote ${w}`);
  return passiveOutcome(run).exitCode;
}
