/**
 * The qtest client without QEMU: argument checks before anything is sent,
 * and every kind of reply (OK, FAIL, ERR, garbage, wrong widths, short
 * base64, interrupt notices) from a scripted peer that speaks the protocol
 * on stdin/stdout.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ProcessBridge } from "../bridge/process_bridge.ts";
import { TargetError } from "../bridge/target_error.ts";
import { formatCommand, QTEST_IRQ_PREFIX, QtestClient } from "./qtest.ts";
import { QtestMemory } from "./qtest_memory.ts";

/** Replies by command word; `readl` is preceded by an interrupt notice. */
const PEER = `
while read -r cmd a b c; do
  case "$cmd" in
    readl) echo "IRQ raise 11"; echo "OK 0x12345678" ;;
    readq) echo "OK 0x0000010130000012" ;;
    readw) echo "OK 0x123456" ;;
    readb) echo "OK banana" ;;
    outb) echo "ERR device on fire" ;;
    outw) echo "OK" ;;
    outl) echo "OK 0x1" ;;
    inb) echo "what?" ;;
    b64read) echo "OK AAAA" ;;
    b64write) echo "OK" ;;
    irq_intercept_in) echo "IRQ lower 11"; echo "OK" ;;
    *) echo "FAIL Unknown command '$cmd'" ;;
  esac
done
`;

function withPeer(fn: (q: QtestClient) => void): void {
  const bridge = ProcessBridge.spawn({
    command: "sh",
    args: ["-c", PEER],
    channels: [{ name: "qtest", kind: "stdio" }],
    noticePrefixes: { qtest: [QTEST_IRQ_PREFIX] },
    label: "fake-qtest",
  });
  try {
    fn(new QtestClient(bridge));
  } finally {
    bridge.close();
  }
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

Deno.test("formatCommand checks every argument before anything is sent", () => {
  assert.equal(formatCommand({ op: "in", port: 0xcfc, width: 2 }), "inw 0xcfc");
  assert.equal(
    formatCommand({ op: "write", addr: 0xe000_3000, width: 2, value: 2 }),
    "writew 0xe0003000 0x2",
  );
  assert.equal(
    formatCommand({ op: "write", addr: 0xffff_ffff_ffff_fff8n, width: 8, value: 2n ** 64n - 1n }),
    "writeq 0xfffffffffffffff8 0xffffffffffffffff",
  );
  const bad: [Parameters<typeof formatCommand>[0], RegExp][] = [
    [{ op: "out", port: -1, width: 1, value: 0 }, /Invalid I\/O port: -1/],
    [
      { op: "out", port: 0xffff, width: 2, value: 0 },
      /Invalid I\/O port: 65535, expected .* 0xfffe/,
    ],
    [{ op: "in", port: 1.5, width: 1 }, /Invalid I\/O port: 1.5/],
    [{ op: "out", port: 0, width: 1, value: 256 }, /Invalid 8-bit value: 256, expected .* 0xff/],
    [{ op: "out", port: 0, width: 4, value: -1 }, /Invalid 32-bit value: -1/],
    [{ op: "out", port: 0, width: 4, value: Number.NaN }, /Invalid 32-bit value: NaN/],
    [{ op: "read", addr: -8, width: 4 }, /Invalid guest physical address: -8/],
    [{ op: "read", addr: 2n ** 64n - 2n, width: 4 }, /Invalid guest physical address/],
    [{ op: "read", addr: 2 ** 60, width: 4 }, /Invalid guest physical address/],
    [{ op: "write", addr: 0, width: 3 as 4, value: 0 }, /Invalid access width: 3/],
    [
      { op: "in", port: 0, width: 8 as 4 },
      /Invalid access width: 8, expected 1, 2 or 4 bytes for port I\/O/,
    ],
    [
      { op: "poke", port: 0, width: 1 } as unknown as Parameters<typeof formatCommand>[0],
      /Invalid qtest command op: "poke", expected out, in, write or read/,
    ],
  ];
  for (const [i, [c, re]] of bad.entries()) assert.throws(() => formatCommand(c), re, `case ${i}`);
});

Deno.test("QtestClient: values come back typed, notices are set aside as IRQ lines", () => {
  withPeer((q) => {
    assert.equal(q.readl(0x1000), 0x12345678);
    assert.equal(q.readq(0x1000), 0x0000010130000012n);
    q.outw(0x10, 1);
    q.interceptIrqIn("ioapic");
    assert.deepEqual(q.takeIrqs(), [{ raised: true, line: 11 }, { raised: false, line: 11 }]);
    assert.deepEqual(q.takeIrqs(), []);
    assert.equal(q.commands, 4);
  });
});

Deno.test("QtestClient: FAIL and ERR replies are refused errors that quote the command and the reply", () => {
  withPeer((q) => {
    const err = thrown(() => q.outb(0x80, 1));
    assert.equal(err.kind, "refused");
    assert.equal(err.sent, "outb 0x80 0x1");
    assert.equal(err.received, "ERR device on fire");
    assert.match(
      err.message,
      /QEMU refused a qtest command; sent "outb 0x80 0x1"; received "ERR device on fire"; fake-qtest \(pid \d+\) wrote nothing to stderr/,
    );
    const fail = thrown(() => q.memset(0x1000, 16, 0xaa));
    assert.equal(fail.kind, "refused");
    assert.equal(fail.received, "FAIL Unknown command 'memset'");
  });
});

Deno.test("QtestClient: replies the command does not allow are bad-reply errors", () => {
  withPeer((q) => {
    const cases: [() => unknown, string, RegExp][] = [
      [() => q.readw(0x1000), "OK 0x123456", /not a 16-bit number/],
      [() => q.readb(0x1000), "OK banana", /not a hexadecimal number/],
      [() => q.outl(0x10, 1), "OK 0x1", /not a bare OK/],
      [() => q.inb(0x10), "what?", /something other than OK, FAIL or ERR/],
      [() => q.read(0x1000, 4), "OK AAAA", /not 4 bytes of base64 \(it holds 3\)/],
    ];
    for (const [fn, received, re] of cases) {
      const e = thrown(fn);
      assert.equal(e.kind, "bad-reply", received);
      assert.equal(e.received, received);
      assert.match(e.message, re);
    }
  });
});

Deno.test("QtestClient: bad arguments are RangeErrors and nothing reaches the peer", () => {
  withPeer((q) => {
    assert.throws(() => q.writeb(0x1000, 0x100), /Invalid 8-bit value: 256/);
    assert.throws(() => q.read(0x1000, -1), /Invalid length: -1/);
    assert.throws(() => q.memset(0x1000, 4, 300), /Invalid 8-bit value: 300/);
    assert.throws(() => q.interceptIrqIn("io apic; quit"), /Invalid QOM path/);
    assert.equal(q.commands, 0);
    // the conversation is still in step
    assert.equal(q.readl(0), 0x12345678);
  });
});

Deno.test("QtestMemory: accesses outside the suite's RAM are RangeErrors before anything is sent; alloc aligns and runs out", () => {
  withPeer((q) => {
    const mem = new QtestMemory(q, { start: 0x10_0000, end: 0x20_0000 });
    assert.equal(mem.bytes, 0x20_0000);
    assert.equal(mem.contains(0x10_0000, 0x10_0000), true);
    assert.equal(mem.contains(0xf_ffff, 1), false, "below the suite's RAM");
    assert.equal(mem.contains(0x1f_ffff, 2), false, "past the end");
    assert.throws(
      () => mem.read(0x1f_fffe, 4),
      /Cannot read guest memory: \[0x1ffffe, \+4\) is outside the suite's RAM \[0x100000, 0x200000\)/,
    );
    assert.throws(() => mem.write(0, new Uint8Array(1), "driver"), /Cannot write guest memory/);
    assert.throws(() => mem.fill(0x20_0000, 1, 0), /Cannot fill guest memory/);
    assert.equal(q.commands, 0);
    assert.equal(mem.alloc(100), 0x10_0000);
    assert.equal(mem.alloc(16, 16), 0x10_0070);
    assert.equal(mem.alloc(4096), 0x10_1000);
    assert.throws(
      () => mem.alloc(0x10_0000),
      /Cannot allocate 1048576 bytes of guest RAM: 1040384 bytes are left/,
    );
    assert.throws(() => mem.alloc(8, 3), /Invalid alignment: 3, expected a power of two/);
    assert.throws(() => new QtestMemory(q, { start: 8, end: 8 }), /Invalid RAM range: \[8, 8\)/);
    assert.deepEqual(mem.stats, { reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0 });
  });
});
