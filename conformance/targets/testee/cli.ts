/**
 * The command-line side of process targets: `--device-cmd "./my-device"`
 * and `--driver-cmd "./my-driver"` (repeatable) and `--step-timeout MS`,
 * checked with one usage error naming the flag, the value and what is
 * expected.
 *
 * @module
 */

import type { ProfileId } from "../../../spec/mod.ts";
import type { Target } from "../../model/types.ts";
import {
  parseCommand,
  type ProcessDeviceTarget,
  processDeviceTarget,
  type ProcessTargetHandle,
} from "./target.ts";
import { type ProcessDriverTarget, processDriverTarget } from "./driver_target.ts";

/** The --help lines of the flags. */
export const TESTEE_USAGE =
  `  --device-cmd CMD  a device of your own in another process, in any language,
                    speaking the testee protocol on its stdin/stdout
                    (docs/TESTEE-PROTOCOL.md), e.g. --device-cmd ./examples/c/device
                    (repeatable; one profile at a time)
  --driver-cmd CMD  a driver of your own in another process, the same way
                    (the protocol's driver role), e.g. --driver-cmd ./examples/c/driver
  --step-timeout MS longest time a --device-cmd or --driver-cmd process may
                    take for one request, memory traffic included (default 5000)`;

/** A bad value of one of the flags. */
export class TesteeUsageError extends Error {
  /** Builds it. */
  constructor(message: string) {
    super(message);
    this.name = "TesteeUsageError";
  }
}

/** The process targets of `--device-cmd` and `--driver-cmd` values. */
export function processTargets(
  commands: { readonly device: readonly string[]; readonly driver: readonly string[] },
  options: {
    readonly profiles: readonly ProfileId[];
    readonly stepTimeout?: string | undefined;
    readonly out: string;
  },
): (ProcessDeviceTarget | ProcessDriverTarget)[] {
  const all = [
    ...commands.device.map((c) => ({ role: "device" as const, c })),
    ...commands.driver.map((c) => ({ role: "driver" as const, c })),
  ];
  if (all.length === 0) {
    if (options.stepTimeout !== undefined) {
      throw new TesteeUsageError(
        `--step-timeout '${options.stepTimeout}' needs a --device-cmd or --driver-cmd: it bounds the requests of a process target`,
      );
    }
    return [];
  }
  if (options.profiles.length !== 1) {
    throw new TesteeUsageError(
      `--${
        all[0]?.role
      }-cmd runs one profile at a time: expected --profile v3 or --profile virtio-1.x, not all`,
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
  return all.map(({ role, c }, i) => {
    const flag = `--${role}-cmd`;
    let program: string;
    try {
      program = parseCommand(c).command;
    } catch (e) {
      throw new TesteeUsageError(
        `${flag} '${c}' is not a command line: ${
          (e as Error).message
        } (expected a program and its arguments, e.g. './examples/c/${role}')`,
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
          `${flag} '${c}': ${program} is not an executable file (build it first, e.g. 'cc -o examples/c/${role} examples/c/${role}.c')`,
        );
      }
    }
    const slug = all.length === 1 ? "" : `/${i + 1}`;
    const common = {
      command: c,
      profile: options.profiles[0] as ProfileId,
      transcriptDir: `${options.out.replace(/[\\/]+$/, "")}/testee-transcripts${slug}`,
      transcripts: "all" as const,
      ...(stepTimeoutMs === undefined ? {} : { stepTimeoutMs }),
    };
    return role === "device" ? processDeviceTarget(common) : processDriverTarget(common);
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
    const p = t as Target & ProcessTargetHandle;
    p.close();
    if (p.transcriptDir !== undefined && p.opened > 0) {
      notes.push(
        `note: ${p.name}: every line of each scenario is in ${p.transcriptDir}/<scenario>.txt; replay one with: deno task testee-replay ${p.transcriptDir}/<scenario>.txt -- ${p.commandLine}`,
      );
    }
  }
  return notes;
}
