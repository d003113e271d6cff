/**
 * The process device target (`--device-cmd "./my-device"`): one long-lived
 * testee process, reused from scenario to scenario (each begins with
 * `reset`); a process that failed (crash, hang, garbage, out-of-range
 * access) is stopped, its scenario's cases are `error`s, and the next
 * scenario starts a fresh one.
 *
 * @module
 */

import type { ProfileId } from "../../../spec/mod.ts";
import type { DevicePort } from "../../model/ports.ts";
import type { DeviceOpenContext, DeviceTarget } from "../../model/types.ts";
import { testeeDevicePort } from "./device_port.ts";
import { splitCommand, type TesteeCommand, TesteeSession } from "./session.ts";

/** Options of a process target ({@link processDeviceTarget}, and the driver one of `driver_target.ts`). */
export interface ProcessTargetOptions {
  /** The command line (split like a shell would, without expansions), or the program and arguments. */
  readonly command: string | TesteeCommand;
  /** The profile of the cases (default v3). */
  readonly profile?: ProfileId;
  /** Target name (default `device-cmd:<command line>` or `driver-cmd:<command line>`). */
  readonly name?: string;
  /** Longest time one request may take (a driver's: between two of its waits), in ms (default 5000). */
  readonly stepTimeoutMs?: number;
  /** Directory for transcripts (default: a temporary one, for failed scenarios). */
  readonly transcriptDir?: string;
  /** Which scenarios' transcripts are written: failed ones (default) or every one. */
  readonly transcripts?: "errors" | "all";
  /** How reports rerun it (default: `--device-cmd '<command line>'` or `--driver-cmd …`). */
  readonly rerunAs?: string;
  /** Called with the pid of every process the target starts. */
  readonly onStart?: (pid: number) => void;
}

/** Options of {@link processDeviceTarget}. */
export type ProcessDeviceTargetOptions = ProcessTargetOptions;

/** What a process target adds to a target: its process, transcripts and command line. */
export interface ProcessTargetHandle {
  /** Stops the live process, if any. */
  close(): void;
  /** The live session, if any (tests). */
  readonly session: TesteeSession | undefined;
  /** Where transcripts go, if set. */
  readonly transcriptDir: string | undefined;
  /** Scenarios opened so far. */
  readonly opened: number;
  /** The command line. */
  readonly commandLine: string;
}

/** A device target in another process, with a way to stop its process at the end of a run. */
export interface ProcessDeviceTarget extends DeviceTarget, ProcessTargetHandle {}

/** Quotes a word for a shell command line when it needs it. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_.:\/=+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** A process target's command: the program and arguments, and the line reports show. */
export function commandOf(command: string | TesteeCommand): { cmd: TesteeCommand; line: string } {
  const cmd = typeof command === "string" ? parseCommand(command) : command;
  const line = typeof command === "string"
    ? command.trim()
    : [cmd.command, ...(cmd.args ?? [])].map(shellQuote).join(" ");
  return { cmd, line };
}

/** Parses a `--device-cmd` or `--driver-cmd` value; throws a `SyntaxError` naming what is wrong. */
export function parseCommand(line: string): TesteeCommand {
  const words = splitCommand(line);
  if (words.length === 0) throw new SyntaxError("the command is empty");
  const [command, ...args] = words as [string, ...string[]];
  return { command, args };
}

/**
 * A device target whose device runs in another process and speaks the
 * testee protocol on its stdin/stdout.
 *
 * @example
 * ```ts
 * import { processDeviceTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const t = processDeviceTarget({ command: "./examples/c/device" });
 * assert.equal(t.name, "device-cmd:./examples/c/device");
 * assert.equal(t.rerunAs, "--device-cmd ./examples/c/device");
 * t.close();
 * ```
 */
export function processDeviceTarget(options: ProcessDeviceTargetOptions): ProcessDeviceTarget {
  const { cmd, line } = commandOf(options.command);
  const profile = options.profile ?? "v3";
  let session: TesteeSession | undefined;
  let scenarios = 0;
  const name = options.name ?? `device-cmd:${line}`;
  const open = (ctx: DeviceOpenContext): DevicePort => {
    if (session?.broken === true) {
      session.close();
      session = undefined;
    }
    if (session === undefined) {
      session = TesteeSession.start({
        ...cmd,
        role: "device",
        profile,
        label: `${cmd.command.split("/").pop()}`,
        ...(options.stepTimeoutMs === undefined ? {} : { stepTimeoutMs: options.stepTimeoutMs }),
        ...(options.transcriptDir === undefined ? {} : { transcriptDir: options.transcriptDir }),
        ...(options.transcripts === undefined ? {} : { transcripts: options.transcripts }),
      });
      options.onStart?.(session.pid);
    }
    const s = session;
    scenarios++;
    try {
      s.begin(ctx.scenario ?? `scenario-${scenarios}`, ctx.guestPages, ctx.guestEndian ?? "le");
    } catch (e) {
      if (s.broken) {
        s.close();
        session = undefined;
      }
      throw e;
    }
    return testeeDevicePort(s, {
      profile,
      guestEndian: ctx.guestEndian ?? "le",
      onClose: () => {
        if (s.broken) {
          s.close();
          if (session === s) session = undefined;
        }
      },
    });
  };
  return {
    kind: "device",
    name,
    description: `a device in another process over the testee protocol: ${line}`,
    profile,
    rerunAs: options.rerunAs ?? `--device-cmd ${shellQuote(line)}`,
    open,
    get session() {
      return session;
    },
    transcriptDir: options.transcriptDir,
    get opened() {
      return scenarios;
    },
    commandLine: line,
    close: () => {
      session?.close();
      session = undefined;
    },
  };
}
