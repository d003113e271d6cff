/**
 * The bridge against small shell peers: lines and bytes both ways, notices
 * set aside, and every failure a TargetError within its timeout, with the
 * peer's stderr, and no process left behind (checked by pid).
 *
 * @module
 */

import assert from "node:assert/strict";
import { commandLineOf, ProcessBridge } from "./process_bridge.ts";
import { TargetError } from "./target_error.ts";

const IO = [{ name: "io", kind: "stdio" }] as const;

type Options = Parameters<typeof ProcessBridge.spawn>[0];

/** The stdio channel both ways: spoken by the main thread itself, and by the worker. */
const MODES = [["direct stdio", true], ["stdio in the worker", false]] as const;

/** The TargetError `fn` throws (an assertion failure when it throws nothing or something else). */
function thrown(fn: () => unknown): TargetError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TargetError, `expected a TargetError, got ${e}`);
    return e;
  }
  assert.fail("expected a TargetError, nothing was thrown");
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

for (const [mode, directStdio] of MODES) {
  const spawn = (options: Options) => ProcessBridge.spawn({ directStdio, ...options });
  const shell = (script: string, extra: Partial<Options> = {}) =>
    spawn({ command: "sh", args: ["-c", script], channels: IO, ...extra });

  Deno.test(`ProcessBridge (${mode}): lines round-trip, notices are set aside in order whenever they arrive`, () => {
    const b = spawn({ command: "cat", channels: IO, noticePrefixes: { io: ["IRQ "] } });
    try {
      assert.equal(b.directStdio, directStdio);
      assert.deepEqual(b.call("io", "IRQ raise 11\nOK 1\nIRQ lower 11\nOK 2\n", { lines: 2 }), [
        "OK 1",
        "OK 2",
      ]);
      assert.deepEqual(b.takeNotices("io"), ["IRQ raise 11", "IRQ lower 11"]);
      assert.deepEqual(b.takeNotices("io"), []);
      // a notice after the last reply line is handed over with the next reply
      assert.deepEqual(b.call("io", "OK 3\nIRQ raise 4\n", { lines: 1 }), ["OK 3"]);
      assert.deepEqual(b.call("io", "OK 4\n", { lines: 1 }), ["OK 4"]);
      assert.deepEqual(b.takeNotices("io"), ["IRQ raise 4"]);
      // UTF-8 and long lines pass unchanged
      const long = "é".repeat(300_000);
      assert.deepEqual(b.call("io", `${long}\n`, { lines: 1 }), [long]);
    } finally {
      b.close();
    }
  });

  Deno.test(`ProcessBridge (${mode}): exact byte counts, and writes without a reply`, () => {
    const b = spawn({ command: "cat", channels: IO });
    try {
      const data = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff);
      assert.deepEqual(b.call("io", data, { bytes: data.length }), data);
      b.call("io", "abc");
      assert.deepEqual(b.call("io", "de", { bytes: 5 }), new TextEncoder().encode("abcde"));
    } finally {
      b.close();
    }
  });

  Deno.test(`ProcessBridge (${mode}): lines the peer sends unasked are drained`, () => {
    const b = shell("echo hello; echo world; read x");
    try {
      const got: string[] = [];
      for (let i = 0; i < 100 && got.length < 2; i++) {
        got.push(...b.drain("io"));
        if (got.length < 2) sleepSync(20);
      }
      assert.deepEqual(got, ["hello", "world"]);
    } finally {
      b.close();
    }
  });

  Deno.test(`ProcessBridge (${mode}): a drain of more than the reply area holds loses nothing`, () => {
    // 300 lines of 100 bytes unasked, with notices among them, through an 8 KiB reply area
    const b = shell(
      `i=0; while [ $i -lt 300 ]; do printf 'line %04d %s\\n' $i "$(printf '%090d' 0)"; if [ $((i % 50)) -eq 0 ]; then echo "IRQ $i"; fi; i=$((i+1)); done; read x`,
      { capacityBytes: 8192, noticePrefixes: { io: ["IRQ "] } },
    );
    try {
      sleepSync(1000); // all of it received before the first drain
      const got: string[] = [];
      let biggest = 0;
      for (let i = 0; i < 500 && got.length < 300; i++) {
        const batch = b.drain("io");
        biggest = Math.max(biggest, batch.length);
        got.push(...batch);
        if (got.length < 300) sleepSync(10);
      }
      assert.equal(got.length, 300, "every line");
      assert.deepEqual(
        got.map((l) => l.slice(0, 9)),
        got.map((_, i) => `line ${String(i).padStart(4, "0")}`),
      );
      // through the worker a drain takes what fits in the reply area (taking it all overflowed
      // the area, and the lines taken were lost)
      if (!directStdio) assert.ok(biggest < 80, `${biggest} lines in one drain`);
      assert.deepEqual(b.takeNotices("io"), [0, 50, 100, 150, 200, 250].map((i) => `IRQ ${i}`));
    } finally {
      b.close();
    }
  });

  Deno.test(`ProcessBridge (${mode}): a reply that never comes is a timeout error within its timeout, then the bridge refuses calls`, () => {
    const b = shell("echo 'about to stall' >&2; while read x; do :; done");
    const pid = b.pid;
    try {
      const t0 = performance.now();
      const e = thrown(
        () => b.call("io", "ping\n", { lines: 1, timeoutMs: 300 }),
      );
      const took = performance.now() - t0;
      assert.ok(took >= 300 && took < 3_000, `took ${took} ms`);
      assert.equal(e.kind, "timeout");
      assert.equal(e.timeoutMs, 300);
      assert.equal(e.sent, "ping\n");
      assert.match(e.message, /No reply from sh \(pid \d+\) within 300 ms; sent "ping\\n"/);
      assert.match(e.stderrTail ?? "", /about to stall/);
      const again = thrown(() => b.call("io", "x\n", { lines: 1 }));
      assert.equal(again.kind, "unusable");
      assert.match(again.message, /an earlier request timed out/);
    } finally {
      b.close();
    }
    assert.equal(commandLineOf(pid), undefined, `process ${pid} still runs`);
  });

  Deno.test(`ProcessBridge (${mode}): a peer that exits mid-request is an exited error at once, with its exit code and stderr`, () => {
    const b = shell("read x; echo 'fatal: cannot go on' >&2; exit 3");
    try {
      const t0 = performance.now();
      const e = thrown(
        () => b.call("io", "go\n", { lines: 1, timeoutMs: 10_000 }),
      );
      assert.ok(performance.now() - t0 < 5_000, "the error waited for the timeout");
      assert.equal(e.kind, "exited");
      assert.equal(e.exitCode, 3);
      assert.match(e.message, /exited \(exit code 3\) before it answered/);
      assert.match(e.stderrTail ?? "", /fatal: cannot go on/);
    } finally {
      b.close();
    }
  });

  Deno.test(`ProcessBridge (${mode}): partial data before a death is quoted as received`, () => {
    const b = shell("read x; printf 'OK 0x1'; exit 0");
    try {
      const e = thrown(() => b.call("io", "go\n", { lines: 1 }));
      assert.equal(e.kind, "exited");
      assert.equal(e.received, "OK 0x1");
    } finally {
      b.close();
    }
  });

  Deno.test(`ProcessBridge (${mode}): a program that does not exist is a spawn error`, () => {
    const e = thrown(
      () => spawn({ command: "/nonexistent/peer", channels: IO }),
    );
    assert.equal(e.kind, "spawn");
    assert.match(e.message, /Cannot start \/nonexistent\/peer/);
  });

  Deno.test(`ProcessBridge (${mode}): close stops a stopped process (SIGCONT with SIGTERM) and one that ignores SIGTERM (SIGKILL)`, () => {
    const stopped = spawn({ command: "sleep", args: ["30"], channels: IO });
    stopped.signal("SIGSTOP");
    const r1 = stopped.close({ graceMs: 2_000 });
    assert.equal(r1.signal, "SIGTERM");
    assert.equal(commandLineOf(stopped.pid), undefined);

    const stubborn = shell("trap '' TERM; echo ready; read x");
    assert.deepEqual(stubborn.call("io", "", { lines: 1 }), ["ready"]);
    const t0 = performance.now();
    const r2 = stubborn.close({ graceMs: 300 });
    assert.equal(r2.signal, "SIGKILL");
    assert.ok(performance.now() - t0 < 5_000);
    assert.equal(commandLineOf(stubborn.pid), undefined);
    // closing twice is harmless and answers the same
    assert.deepEqual(stubborn.close(), r2);
  });

  Deno.test(`ProcessBridge (${mode}): a request larger than the bridge is refused before it is sent; the bridge stays usable`, () => {
    const b = spawn({ command: "cat", channels: IO, capacityBytes: 4096 });
    try {
      const e = thrown(() => b.call("io", "x".repeat(5000) + "\n", { lines: 1 }));
      assert.equal(e.kind, "overflow");
      const r = thrown(
        () => b.call("io", "y".repeat(3000) + "\n" + "z".repeat(3000) + "\n", { lines: 2 }),
      );
      assert.equal(r.kind, "overflow");
      assert.deepEqual(b.call("io", "small\n", { lines: 1 }), ["small"]);
    } finally {
      b.close();
    }
  });

  Deno.test(`ProcessBridge (${mode}): bytes that look like the bridge's wake-up tokens pass unchanged, and drain without a pull takes what already arrived`, () => {
    const b = spawn({ command: "cat", channels: IO });
    try {
      // NUL and ESC open every token; a small write goes straight to the pipe
      const data = Uint8Array.from(
        { length: 64 },
        (_, i) => [0, 0x1b, 0x30 + (i % 10)][i % 3] as number,
      );
      assert.deepEqual(b.call("io", data, { bytes: data.length }), data);
      assert.deepEqual(
        b.call("io", new Uint8Array([0x41, 0, 0x1b]), { bytes: 3 }),
        new Uint8Array([0x41, 0, 0x1b]),
      );
      // one write, one chunk back: the lines after the first are already received
      assert.deepEqual(b.call("io", "a\nb\nc\n", { lines: 1 }), ["a"]);
      assert.deepEqual(b.drain("io", { pull: false }), ["b", "c"]);
      assert.deepEqual(b.drain("io", { pull: false }), []);
      assert.deepEqual(b.drain("io"), []);
    } finally {
      b.close();
    }
  });

  Deno.test(`ProcessBridge (${mode}): a peer whose child keeps its stdout open after it exits is an exited error, not a wait for the timeout`, () => {
    const b = shell("sleep 2 & read x; echo 'dying' >&2; exit 3");
    try {
      const t0 = performance.now();
      const e = thrown(() => b.call("io", "go\n", { lines: 1, timeoutMs: 10_000 }));
      assert.ok(performance.now() - t0 < 5_000, "the error waited for the timeout");
      assert.equal(e.kind, "exited");
      assert.equal(e.exitCode, 3);
      assert.match(e.stderrTail ?? "", /dying/);
    } finally {
      b.close();
    }
  });

  Deno.test(`ProcessBridge (${mode}): a write the peer never reads ends at the timeout, small or large`, () => {
    for (const size of [15_000, 200_000]) {
      const b = spawn({ command: "sleep", args: ["30"], channels: IO });
      const pid = b.pid;
      try {
        const t0 = performance.now();
        // a pipe holds 64 KiB: one of these writes blocks
        const e = thrown(() => {
          for (let i = 0; i < 10; i++) b.call("io", "x".repeat(size), { timeoutMs: 300 });
        });
        const took = performance.now() - t0;
        assert.equal(e.kind, "timeout", e.message);
        assert.ok(took >= 300 && took < 3_000, `took ${took} ms`);
        assert.equal(thrown(() => b.call("io", "x\n", { lines: 1 })).kind, "unusable");
      } finally {
        b.close();
      }
      assert.equal(commandLineOf(pid), undefined, `process ${pid} still runs`);
    }
  });

  Deno.test(`ProcessBridge (${mode}): a stdio channel and a unix socket on one bridge`, () => {
    const dir = Deno.makeTempDirSync();
    try {
      const peer = `const c = await Deno.connect({ transport: "unix", path: Deno.args[0] });
        await c.write(new TextEncoder().encode("sock hello\\n"));
        const buf = new Uint8Array(100);
        const n = Deno.stdin.readSync(buf) ?? 0;
        Deno.stdout.writeSync(buf.subarray(0, n));
        await new Promise(() => {});`;
      const b = spawn({
        command: Deno.execPath(),
        args: ["eval", peer, `${dir}/s.sock`],
        channels: [...IO, { name: "sock", kind: "unix-listen", path: `${dir}/s.sock` }],
      });
      try {
        assert.equal(b.directStdio, directStdio);
        assert.deepEqual(b.call("io", "stdio hello\n", { lines: 1 }), ["stdio hello"]);
        assert.deepEqual(b.call("sock", "", { lines: 1 }), ["sock hello"]);
      } finally {
        b.close();
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });

  Deno.test(`ProcessBridge (${mode}): bad arguments are errors that name them`, () => {
    assert.throws(
      () => spawn({ command: "cat", channels: [] }),
      /Invalid channels: \[\], expected at least one/,
    );
    assert.throws(
      () => spawn({ command: "cat", channels: IO, replyTimeoutMs: -1 }),
      /Invalid replyTimeoutMs: -1, expected a positive number/,
    );
    const b = spawn({ command: "cat", channels: IO });
    try {
      assert.throws(
        () => b.call("nope", "x\n", { lines: 1 }),
        /Unknown channel: nope, expected one of io/,
      );
      assert.throws(() => b.call("io", "x\n", { lines: 0 }), /Invalid lines count: 0/);
    } finally {
      b.close();
    }
    assert.throws(() => commandLineOf(-4), /Invalid pid: -4/);
  });
}

Deno.test("ProcessBridge: a peer that never connects its socket is not-ready within the deadline, and is stopped", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const t0 = performance.now();
    const e = thrown(() =>
      ProcessBridge.spawn({
        command: "sleep",
        args: ["30"],
        channels: [{ name: "sock", kind: "unix-listen", path: `${dir}/s.sock` }],
        readyTimeoutMs: 300,
      })
    );
    assert.ok(performance.now() - t0 < 5_000);
    assert.equal(e.kind, "not-ready");
    assert.match(e.message, /did not connect to sock .* within 300 ms/);
    assert.ok(e.pid !== undefined);
    assert.equal(commandLineOf(e.pid), undefined, `sleep ${e.pid} still runs`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ProcessBridge: a peer that exits before it connects says so, with its stderr", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const e = thrown(() =>
      ProcessBridge.spawn({
        command: "sh",
        args: ["-c", "echo 'bad option' >&2; exit 1"],
        channels: [{ name: "sock", kind: "unix-listen", path: `${dir}/s.sock` }],
      })
    );
    assert.equal(e.kind, "exited");
    assert.match(e.message, /exited before it connected to sock/);
    assert.match(e.stderrTail ?? "", /bad option/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
