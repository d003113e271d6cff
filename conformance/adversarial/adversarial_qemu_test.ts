/**
 * Adversarial mode on QEMU's balloon over qtest: a handful of sequences on
 * `qemu-device:default` find QEMU's known deviation (G05: a buffer made
 * available before DRIVER_OK is used at once), the shrunk reproducer
 * replays to the same finding, and its qtest file replays in a bare
 * `qemu-system-x86_64 -qtest stdio` (no runner) with every command
 * answered. Ignored, with the reason printed, when QEMU cannot be had.
 *
 * @module
 */

import assert from "node:assert/strict";
import { NO_QEMU, qemuPath } from "../targets/qemu-device/_test_qemu.ts";
import { qemuDeviceTarget } from "../targets/qemu-device/target.ts";
import { adversarial } from "./run.ts";
import { qtestReplay } from "./qemu.ts";
import { replay, REPRODUCER_FORMAT, reproducerFindings } from "./reproducer.ts";

Deno.test({
  name: "adversarial: qemu-device:default — G05 found, shrunk, replayed by the runner and by qtest",
  ignore: NO_QEMU,
  fn() {
    const qemu = qemuPath();
    const target = qemuDeviceTarget("default", { qemu, profile: "v3" });
    // seed 1 draws a late DRIVER_OK in its third sequence
    const r = adversarial({ target, runs: 10, seed: 1, sequences: { maxActions: 3 } });
    assert.ok(r.counterexample !== undefined, "no finding in 10 sequences");
    assert.ok(r.findings.some((f) => f.rule === "G05"), JSON.stringify(r.findings));
    assert.ok(r.counterexample.steps.length <= 4, `${r.counterexample.steps.length} steps`);
    const again = replay({
      format: REPRODUCER_FORMAT,
      target: target.name,
      seed: r.seed,
      path: r.path ?? "",
      runsToFailure: r.runsToFailure,
      scenario: r.counterexample,
      findings: reproducerFindings(r.findings),
    }, target);
    assert.ok(again.same);

    const dir = Deno.makeTempDirSync({ prefix: "adversarial-qemu-test-" });
    try {
      const q = qtestReplay(r.counterexample, {
        variant: "default",
        qemu,
        profile: "v3",
        base: `${dir}/repro`,
      });
      assert.ok(q.findings.some((f) => f.rule === "G05"));
      assert.ok(q.lines > 50, `${q.lines} qtest commands`);
      assert.match(q.command, / -qtest stdio /);
      assert.doesNotMatch(q.command, /qmp|qtest-log/);
      // the file replays without the runner: QEMU answers every command (OK lines on stdout)
      const args = q.command.replace(/^timeout 10 /, "").replace(/ < .*$/, "").split(" ").slice(1)
        .map((a) => a.replace(/^'|'$/g, ""));
      const child = new Deno.Command(qemu, {
        args,
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const w = child.stdin.getWriter();
      void w.write(Deno.readFileSync(q.file)).then(() => w.close());
      // QEMU stays up after the last command: it is stopped once every command has its reply
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      return (async () => {
        let text = "";
        const replies = () => text.split("\n").filter((l) => /^(OK|FAIL|ERR)/.test(l));
        for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
          text += chunk;
          if (replies().length >= q.lines) break;
        }
        clearTimeout(timer);
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await child.status;
        assert.equal(replies().filter((l) => !l.startsWith("OK")).length, 0);
        assert.equal(replies().length, q.lines);
      })().finally(() => Deno.removeSync(dir, { recursive: true }));
    } catch (e) {
      Deno.removeSync(dir, { recursive: true });
      throw e;
    }
  },
});
