/**
 * Failures of the real QEMU and faults the suite injects into its RAM: a
 * QEMU that dies mid-request, one that refuses a command, one that never
 * answers (SIGSTOP) are each a TargetError with QEMU's stderr tail within
 * the reply timeout, and leave no process behind (checked by pid). A used
 * length or id corrupted through qtest, and a stats buffer QEMU holds (no
 * polling timer runs under `-S`), are seen by the suite's driver side; a
 * running VM on halting firmware, whose timer fires, is the control.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  BALLOON_PAGE_SIZE,
  encodePfnArray,
  encodeStruct,
  enumValue,
  fieldOf,
  structSize,
} from "../../../spec/mod.ts";
import { VirtqueueError } from "../../../impl/mod.ts";
import { commandLineOf } from "../bridge/process_bridge.ts";
import { TargetError } from "../bridge/target_error.ts";
import { bringUp, type QueueSetup } from "./bring_up.ts";
import { openQemuBalloon, type QemuBalloonOptions, type QemuBalloonSession } from "./session.ts";
import { NO_QEMU, qemuPath } from "./_test_qemu.ts";

const REPLY_MS = 1_000;

function session(options: Omit<QemuBalloonOptions, "qemu"> = {}): QemuBalloonSession {
  return openQemuBalloon({ qemu: qemuPath(), replyTimeoutMs: REPLY_MS, ...options });
}

function thrown(fn: () => unknown): TargetError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TargetError, `expected a TargetError, got ${e}`);
    return e;
  }
  assert.fail("expected a TargetError, nothing was thrown");
}

function closedAndGone(s: QemuBalloonSession): void {
  const pid = s.qemu.pid;
  s.close();
  assert.equal(commandLineOf(pid), undefined, `QEMU ${pid} still runs`);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

Deno.test({
  name:
    "qtest faults: a QEMU that dies mid-request (an assertion on a malformed line) is an exited error at once, with its stderr",
  ignore: NO_QEMU,
  fn: () => {
    const s = session();
    try {
      const t0 = performance.now();
      // the one line the client would never send: outl without a value makes QEMU abort
      const e = thrown(() => s.qemu.bridge.call("qtest", "outl 0xcf8\n", { lines: 1 }));
      assert.ok(performance.now() - t0 < REPLY_MS, "the error waited for the timeout");
      assert.equal(e.kind, "exited");
      assert.match(e.message, /exited \((killed by SIGABRT|exit code \d+)\) before it answered/);
      assert.match(e.stderrTail ?? "", /assert/i);
      const after = thrown(() => s.qemu.qtest.readb(0x100000));
      assert.equal(after.kind, "unusable");
    } finally {
      closedAndGone(s);
    }
  },
});

Deno.test({
  name:
    "qtest faults: a QEMU that ends between requests (SIGTERM) is an exited error with its exit code",
  ignore: NO_QEMU,
  fn: () => {
    const s = session();
    try {
      s.qemu.bridge.signal("SIGTERM");
      for (let i = 0; i < 100 && !s.qemu.bridge.status().exited; i++) sleepSync(20);
      const e = thrown(() => s.transport.readStatus());
      assert.equal(e.kind, "exited");
      // QEMU shuts down cleanly on SIGTERM and, under qtest, says nothing about it
      assert.equal(e.exitCode, 0);
      assert.match(e.message, /exited \(exit code 0\) before it answered; sent "readb 0x/);
      assert.equal(e.stderrTail, "");
    } finally {
      closedAndGone(s);
    }
  },
});

Deno.test({
  name:
    "qtest faults: a command QEMU refuses is a refused error quoting the command, QEMU's FAIL line and its stderr (ERR: see the scripted peer)",
  ignore: NO_QEMU,
  fn: () => {
    const s = session();
    try {
      const e = thrown(() => s.qemu.qtest.interceptIrqIn("/machine/no-such-device"));
      assert.equal(e.kind, "refused");
      assert.equal(e.sent, "irq_intercept_in /machine/no-such-device");
      assert.equal(e.received, "FAIL Unknown device");
      assert.notEqual(e.stderrTail, undefined);
      // a refusal leaves the session in step
      assert.equal(s.transport.readStatus(), 0);
      const q = thrown(() => s.qemu.qmp.execute("qom-get", { path: "/nope", property: "x" }));
      assert.equal(q.kind, "refused");
      assert.match(q.message, /QMP qom-get failed: DeviceNotFound/);
    } finally {
      closedAndGone(s);
    }
  },
});

Deno.test({
  name:
    "qtest faults: a QEMU that never answers (SIGSTOP) is a timeout error within the reply timeout; close still stops it",
  ignore: NO_QEMU,
  fn: () => {
    const s = session();
    try {
      s.qemu.bridge.signal("SIGSTOP");
      const t0 = performance.now();
      const e = thrown(() => s.transport.readStatus());
      const took = performance.now() - t0;
      assert.ok(took >= REPLY_MS && took < REPLY_MS + 3_000, `took ${took} ms`);
      assert.equal(e.kind, "timeout");
      assert.equal(e.timeoutMs, REPLY_MS);
      assert.match(
        e.message,
        /No reply from qemu-system-x86_64 \(pid \d+\) within 1000 ms; sent "readb 0x/,
      );
      assert.notEqual(e.stderrTail, undefined);
    } finally {
      closedAndGone(s);
    }
  },
});

const USED_HDR = structSize("virtq_used_hdr");
const ELEM = structSize("virtq_used_elem");
const ELEM_ID = fieldOf("virtq_used_elem", "id");
const ELEM_LEN = fieldOf("virtq_used_elem", "len");
const USED_IDX = fieldOf("virtq_used_hdr", "idx");

function le(value: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0, v = value; i < bytes; i++, v = Math.floor(v / 256)) out[i] = v % 256;
  return out;
}

/** Inflates one page and lets QEMU use it, without taking the used entry yet. */
function inflateUnseen(s: QemuBalloonSession, q: QueueSetup<string>): void {
  const page = s.memory.alloc(BALLOON_PAGE_SIZE);
  const pfns = encodePfnArray([page / BALLOON_PAGE_SIZE], s.transport.order);
  const arr = s.memory.alloc(pfns.length, 4);
  s.memory.write(arr, pfns, "driver");
  q.driver.add([{ addr: arr, len: pfns.length }], [], "inflate");
  q.driver.kickPrepare();
  s.transport.notify(q.index);
  assert.equal(q.driver.usedPending, 1);
}

Deno.test({
  name:
    "qtest fault injection: a used length, id or index corrupted in QEMU's RAM is what the driver side sees",
  ignore: NO_QEMU,
  fn: () => {
    const s = session();
    try {
      const up = bringUp<string>(s.transport);
      const q = up.queues[0] as QueueSetup<string>;
      const slot = (n: number) => q.layout.used + USED_HDR + (n % q.layout.size) * ELEM;
      // 1: the length QEMU wrote (0) replaced with 0xdeadbeef
      inflateUnseen(s, q);
      s.memory.write(slot(0) + ELEM_LEN.offset, le(0xdead_beef, 4), "device");
      assert.deepEqual(q.driver.getUsed(), { token: "inflate", len: 0xdead_beef, head: 0 });
      // 2: an id that is no chain in flight
      inflateUnseen(s, q);
      s.memory.write(slot(1) + ELEM_ID.offset, le(77, 4), "device");
      assert.throws(
        () => q.driver.getUsed(),
        (e: unknown) => e instanceof VirtqueueError && e.code === "bad-used-id",
      );
      // 3: used.idx moved further than the queue size
      s.memory.write(q.layout.used + USED_IDX.offset, le(2 + q.layout.size + 1, 2), "device");
      assert.throws(
        () => q.driver.getUsed(),
        (e: unknown) => e instanceof VirtqueueError && e.code === "bad-used-idx",
      );
    } finally {
      closedAndGone(s);
    }
  },
});

/** Posts one stats buffer (free memory = `free`) on the stats queue and notifies it. */
function postStats(s: QemuBalloonSession, q: QueueSetup<string>, free: number): void {
  const entry = encodeStruct("virtio_balloon_stat", {
    tag: enumValue("stats_tag", "VIRTIO_BALLOON_S_MEMFREE"),
    val: BigInt(free),
  }, { order: s.transport.order });
  const buf = s.memory.alloc(entry.length, 8);
  s.memory.write(buf, entry, "driver");
  q.driver.add([{ addr: buf, len: entry.length }], [], "stats");
  q.driver.kickPrepare();
  s.transport.notify(q.index);
}

function statsQueue(up: ReturnType<typeof bringUp<string>>): QueueSetup<string> {
  const q = up.queues.find((x) => x.index === 2);
  assert.ok(q !== undefined, "a stats queue");
  return q;
}

Deno.test({
  name:
    "qtest fault injection: with -S QEMU reads a stats buffer but never returns it, and the driver side sees nothing used",
  ignore: NO_QEMU,
  fn: () => {
    const s = session();
    try {
      const up = bringUp<string>(s.transport);
      const q = statsQueue(up);
      s.host.setStatsPollingInterval(1);
      postStats(s, q, 123 * BALLOON_PAGE_SIZE);
      // the polling timer would return it after 1 s; under -S the virtual clock stands still
      sleepSync(1_500);
      assert.equal(q.driver.getUsed(), undefined);
      assert.equal(q.driver.usedPending, 0);
      assert.equal(s.transport.takeInterrupts().used, false);
      assert.equal(s.host.guestStats().stats["stat-free-memory"], 123 * BALLOON_PAGE_SIZE);
    } finally {
      closedAndGone(s);
    }
  },
});

Deno.test({
  name:
    "qtest control: a running VM on halting firmware returns the stats buffer once its polling timer fires",
  ignore: NO_QEMU,
  fn: () => {
    const dir = Deno.makeTempDirSync({ prefix: "qtest-bios-" });
    // 64 KiB of HLT (0xf4): the CPU halts at the reset vector and never runs guest code
    Deno.writeFileSync(`${dir}/halt.bin`, new Uint8Array(64 * 1024).fill(0xf4));
    const s = session({ running: true, extraArgs: ["-bios", `${dir}/halt.bin`] });
    try {
      const up = bringUp<string>(s.transport);
      const q = statsQueue(up);
      s.host.setStatsPollingInterval(1);
      postStats(s, q, 7 * BALLOON_PAGE_SIZE);
      let used = q.driver.getUsed();
      for (let i = 0; i < 100 && used === undefined; i++) {
        sleepSync(50);
        used = q.driver.getUsed();
      }
      assert.deepEqual(used, { token: "stats", len: 0, head: used?.head ?? -1 });
      assert.equal(s.transport.takeInterrupts().used, true);
    } finally {
      closedAndGone(s);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
