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

function sh(script: string, extra: Partial<Parameters<typeof ProcessBridge.spawn>[0]> = {}) {
  return ProcessBridge.spawn({ command: "sh", args: ["-c", script], channels: IO, ...extra });
}

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

Deno.test("ProcessBridge: lines round-trip, notices are set aside in order whenever they arrive", () => {
  const b = ProcessBridge.spawn({ command: "cat", channels: IO, noticePrefixes: { io: ["IRQ "] } });
  try {
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

Deno.test("ProcessBridge: exact byte counts, and writes without a reply", () => {
  const b = ProcessBridge.spawn({ command: "cat", channels: IO });
  try {
    const data = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff);
    assert.deepEqual(b.call("io", data, { bytes: data.length }), data);
    b.call("io", "abc");
    assert.deepEqual(b.call("io", "de", { bytes: 5 }), new TextEncoder().encode("abcde"));
  } finally {
    b.close();
  }
});

Deno.test("ProcessBridge: lines the peer sends unasked are drained", () => {
  const b = sh("echo hello; echo world; read x");
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

Deno.test("ProcessBridge: a drain of more than the reply area holds takes what fits and loses nothing", () => {
  // 300 lines of 100 bytes unasked, with notices among them, through an 8 KiB reply area
  const b = sh(
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
    assert.ok(biggest < 80, `a drain takes what fits (${biggest} lines at most)`);
    assert.deepEqual(b.takeNotices("io"), [0, 50, 100, 150, 200, 250].map((i) => `IRQ ${i}`));
  } finally {
    b.close();
  }
});

Deno.test("ProcessBridge: a reply that never comes is a timeout error within its timeout, then the bridge refuses calls", () => {
  const b = sh("echo 'about to stall' >&2; while read x; do :; done");
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

Deno.test("ProcessBridge: a peer that exits mid-request is an exited error at once, with its exit code and stderr", () => {
  const b = sh("read x; echo 'fatal: cannot go on' >&2; exit 3");
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

Deno.test("ProcessBridge: partial data before a death is quoted as received", () => {
  const b = sh("read x; printf 'OK 0x1'; exit 0");
  try {
    const e = thrown(() => b.call("io", "go\n", { lines: 1 }));
    assert.equal(e.kind, "exited");
    assert.equal(e.received, "OK 0x1");
  } finally {
    b.close();
  }
});

Deno.test("ProcessBridge: a program that does not exist is a spawn error", () => {
  const e = thrown(
    () => ProcessBridge.spawn({ command: "/nonexistent/peer", channels: IO }),
  );
  assert.equal(e.kind, "spawn");
  assert.match(e.message, /Cannot start \/nonexistent\/peer/);
});

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

Deno.test("ProcessBridge: close stops a stopped process (SIGCONT with SIGTERM) and one that ignores SIGTERM (SIGKILL)", () => {
  const stopped = ProcessBridge.spawn({ command: "sleep", args: ["30"], channels: IO });
  stopped.signal("SIGSTOP");
  const r1 = stopped.close({ graceMs: 2_000 });
  assert.equal(r1.signal, "SIGTERM");
  assert.equal(commandLineOf(stopped.pid), undefined);

  const stubborn = sh("trap '' TERM; echo ready; read x");
  assert.deepEqual(stubborn.call("io", "", { lines: 1 }), ["ready"]);
  const t0 = performance.now();
  const r2 = stubborn.close({ graceMs: 300 });
  assert.equal(r2.signal, "SIGKILL");
  assert.ok(performance.now() - t0 < 5_000);
  assert.equal(commandLineOf(stubborn.pid), undefined);
  // closing twice is harmless and answers the same
  assert.deepEqual(stubborn.close(), r2);
});

Deno.test("ProcessBridge: a request larger than the bridge is refused before it is sent; the bridge stays usable", () => {
  const b = ProcessBridge.spawn({ command: "cat", channels: IO, capacityBytes: 4096 });
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

Deno.test("ProcessBridge: bad arguments are errors that name them", () => {
  assert.throws(
    () => ProcessBridge.spawn({ command: "cat", channels: [] }),
    /Invalid channels: \[\], expected at least one/,
  );
  assert.throws(
    () => ProcessBridge.spawn({ command: "cat", channels: IO, replyTimeoutMs: -1 }),
    /Invalid replyTimeoutMs: -1, expected a positive number/,
  );
  const b = ProcessBridge.spawn({ command: "cat", channels: IO });
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
