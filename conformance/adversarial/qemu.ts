/**
 * The qtest replay of a sequence on a qemu-device target: the sequence is run
 * once more on a QEMU started with `-qtest-log`, and the commands QEMU
 * received become a plain qtest file, with the firmware the run used beside
 * it and the command line that replays it.
 *
 * @module
 */

import type { ProfileId } from "../../spec/mod.ts";
import type { DeviceScenario } from "../model/types.ts";
import { qemuDeviceTarget } from "../targets/qemu-device/target.ts";
import type { SequenceFinding } from "./judge.ts";
import { qtestCommands, replayCommand } from "./reproducer.ts";
import { runSequence } from "./run.ts";

/** What {@link qtestReplay} wrote. */
export interface QtestReplay {
  /** The qtest command file. */
  readonly file: string;
  /** Its commands. */
  readonly lines: number;
  /** The command line that replays it without the suite. */
  readonly command: string;
  /** The findings of this run (the same sequence, once more). */
  readonly findings: readonly SequenceFinding[];
}

/**
 * Runs `scenario` on `qemu-device:<variant>` with QEMU logging the qtest
 * commands it receives, and writes `<base>.qtest` and `<base>.halt.bin`.
 */
export function qtestReplay(
  scenario: DeviceScenario,
  o: {
    readonly variant: string;
    readonly qemu: string;
    readonly profile: ProfileId;
    readonly base: string;
  },
): QtestReplay {
  const dir = Deno.makeTempDirSync({ prefix: "adversarial-qtest-" });
  const log = `${dir}/qtest.log`;
  const firmware = `${o.base}.halt.bin`;
  let args: string[] = [];
  try {
    const target = qemuDeviceTarget(o.variant, {
      qemu: o.qemu,
      profile: o.profile,
      qtestLog: log,
      onStart: (_pid, started) => {
        // QEMU's own arguments, as the target started it; and its firmware, before the
        // target removes it (no /proc read: that needs --allow-all)
        args = [...started];
        const bios = args[args.indexOf("-bios") + 1];
        if (args.includes("-bios") && bios !== undefined) Deno.copyFileSync(bios, firmware);
      },
    });
    const outcome = runSequence(scenario, target);
    const commands = qtestCommands(Deno.readTextFileSync(log));
    const file = `${o.base}.qtest`;
    Deno.writeTextFileSync(file, commands.join("\n") + "\n");
    return {
      file,
      lines: commands.length,
      command: `timeout 10 ${replayCommand(o.qemu, args, file, firmware)}`,
      findings: outcome.findings,
    };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
