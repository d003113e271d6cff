/**
 * The command-line side of process targets: `--device-cmd "./my-device"`
 * (repeatable) and `--step-timeout MS`, checked with one usage error naming
 * the flag, the value and what is expected.
 *
 * @module
 */

import type { ProfileId } from "../../../spec/mod.ts";
import type { Target } from "../../model/types.ts";
import { parseCommand, type ProcessDeviceTarget, processDeviceTarget } from "./target.ts";

/** The --help lines of the flags. */
export const TESTEE_USAGE =
  `  --device-cmd CMD  a device of your own in another process, in any language,
                    speaking the testee protocol on its stdin/stdout
                    (docs/TESTEE-PROTOCOL.md), e.g. --device-cmd ./examples/c/device
                    (repeatable; one profile at a time)
  --step-timeout MS longest time a --device-cmd process may take for one
                    request, memory traffic included (default 5000)
  --driver-cmd CMD  drivers in another process: not supported yet`;

/** A bad value of one of the flags. */
export class TesteeUsageError extends Error {
  /** Builds it. */
  constructor(message: string) {
    super(message);
    this.name = "TesteeUsageError";
  }
}

/** `--driver-cmd`: not there yet; a usage error saying so. */
export function checkDriverCmd(values: readonly string[] | undefined): void {
  if (values === undefined || values.length === 0) return;
  throw new TesteeUsageError(
    `--driver-cmd '${
      values[0]
    }': drivers in another process are not supported yet; expected --device-cmd (a device in another process) or --target ./my_driver.ts (a TypeScript driver)`,
  );
}

/** The process targets of the flags' values. */
export function deviceCmdTargets(
  commands: readonly string[],
  options: {
    readonly profiles: readonly ProfileId[];
    readonly stepTimeout?: string | undefined;
    readonly out: string;
  },
): ProcessDeviceTarget[] {
  if (commands.length === 0) {
    if (options.stepTimeout !== undefined) {
      throw new TesteeUsageError(
        `--step-timeout '${options.stepTimeout}' needs a --device-cmd: it bounds the requests of a process target`,
      );
    }
    return [];
  }
  if (options.profiles.length !== 1) {
    throw new TesteeUsageError(
      "--device-cmd runs one profile at a time: expected --profile v3 or --profile virtio-1.x, not all",
    );
  }
  let stepTimeoutMs: number | undefined;
  if (options.stepTimeout !== undefined) {
    stepTimeoutMs = Number(options.stepTimeout);
    if (
      !/^\s*\d+\s*$/.test(options.stepTimeout) || !Number.isSafeInteger(stepTimeoutMs) ||
      stepTimeoutMs < 1
    ) {
      throw new TesteeUsageError(
        `--step-timeout '${options.stepTimeout}' is not a duration: expected a whole number of milliseconds, 1 or more`,
      );
    }
  }
  return commands.map((c, i) => {
    let program: string;
    try {
      program = parseCommand(c).command;
    } catch (e) {
      throw new TesteeUsageError(
        `--device-cmd '${c}' is not a command line: ${
          (e as Error).message
        } (expected a program and its arguments, e.g. './examples/c/device')`,
      );
    }
    if (program.includes("/")) {
      let ok = false;
      try {
        const st = Deno.statSync(program);
        ok = st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
      } catch {
        ok = false;
      }
      if (!ok) {
        throw new TesteeUsageError(
          `--device-cmd '${c}': ${program} is not an executable file (build it first, e.g. 'cc -o examples/c/device examples/c/device.c')`,
        );
      }
    }
    const slug = commands.length === 1 ? "" : `/${i + 1}`;
    return processDeviceTarget({
      command: c,
      profile: options.profiles[0] as ProfileId,
      transcriptDir: `${options.out.replace(/[\\/]+$/, "")}/testee-transcripts${slug}`,
      transcripts: "all",
      ...(stepTimeoutMs === undefined ? {} : { stepTimeoutMs }),
    });
  });
}

/**
 * Stops the processes of the process targets among `targets`; returns a
 * note for each that wrote transcripts (where, and how to replay one).
 */
export function closeProcessTargets(targets: readonly Target[]): string[] {
  const notes: string[] = [];
  for (const t of targets) {
    if (!("close" in t) || typeof t.close !== "function") continue;
    const p = t as ProcessDeviceTarget;
    p.close();
    if (p.transcriptDir !== undefined && p.opened > 0) {
      notes.push(
        `note: ${p.name}: every line of each scenario is in ${p.transcriptDir}/<scenario>.txt; replay one with: deno task testee-replay ${p.transcriptDir}/<scenario>.txt -- ${p.commandLine}`,
      );
    }
  }
  return notes;
}
