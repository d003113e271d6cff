/**
 * A qtest client: QEMU's line protocol for driving a machine from outside
 * (QEMU's `softmmu/qtest.c`: one request line, one reply `OK [VALUE]`,
 * `FAIL …` or `ERR …`; `IRQ raise N` / `IRQ lower N` notices in between).
 * Every argument is checked before it is sent (a malformed number can crash
 * QEMU), every reply is checked against what the command allows, and every
 * reply has a timeout. Bulk memory goes through `b64read` / `b64write`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { ProcessBridge } from "../bridge/process_bridge.ts";
import { TargetError } from "../bridge/target_error.ts";

/** The prefix of qtest's asynchronous interrupt notices. */
export const QTEST_IRQ_PREFIX = "IRQ ";

/** Largest block one `b64read` / `b64write` moves (bigger blocks are split). */
export const QTEST_BULK_BYTES = 1 << 20;

/** Widths of qtest's port and memory accessors, in bytes. */
export type QtestWidth = 1 | 2 | 4 | 8;

const PORT_MAX = 0xffff;
const ADDR_MAX = (1n << 64n) - 1n;
const SUFFIX: Readonly<Record<QtestWidth, string>> = { 1: "b", 2: "w", 4: "l", 8: "q" };

/** An interrupt notice: `IRQ raise 11` → `{ raised: true, line: 11 }`. */
export interface IrqNotice {
  /** Raised (true) or lowered. */
  readonly raised: boolean;
  /** The intercepted input line. */
  readonly line: number;
}

/** Options of {@link QtestClient}. */
export interface QtestOptions {
  /** The bridge channel that carries qtest (default "qtest"). */
  readonly channel?: string;
  /** Timeout of one reply in ms (default: the bridge's). */
  readonly timeoutMs?: number;
}

function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}

function checkWidth(width: number): asserts width is QtestWidth {
  if (width !== 1 && width !== 2 && width !== 4 && width !== 8) {
    throw new RangeError(`Invalid access width: ${width}, expected 1, 2, 4 or 8 bytes`);
  }
}

function checkPort(port: number, width: number): void {
  if (!Number.isSafeInteger(port) || port < 0 || port + width - 1 > PORT_MAX) {
    throw new RangeError(
      `Invalid I/O port: ${port}, expected an integer from 0 to ${hex(PORT_MAX + 1 - width)}`,
    );
  }
}

function checkAddress(addr: number | bigint, len: number): bigint {
  const ok = typeof addr === "bigint" ? addr >= 0n : Number.isSafeInteger(addr) && addr >= 0;
  const a = ok ? BigInt(addr) : -1n;
  if (!ok || a + BigInt(Math.max(len, 1)) - 1n > ADDR_MAX) {
    throw new RangeError(
      `Invalid guest physical address: ${addr}, expected an integer from 0 to ${hex(ADDR_MAX)}`,
    );
  }
  return a;
}

function checkValue(value: number | bigint, width: QtestWidth): bigint {
  const max = (1n << BigInt(8 * width)) - 1n;
  const ok = typeof value === "bigint" ? value >= 0n : Number.isSafeInteger(value) && value >= 0;
  if (!ok || BigInt(value) > max) {
    throw new RangeError(
      `Invalid ${8 * width}-bit value: ${value}, expected an integer from 0 to ${hex(max)}`,
    );
  }
  return BigInt(value);
}

function checkLength(len: number): void {
  if (!Number.isSafeInteger(len) || len < 0) {
    throw new RangeError(`Invalid length: ${len}, expected a non-negative integer`);
  }
}

/** One checked qtest command for {@link QtestClient.batch}. */
export type QtestCommand =
  /** `outb|outw|outl PORT VALUE`. */
  | { readonly op: "out"; readonly port: number; readonly width: 1 | 2 | 4; readonly value: number }
  /** `inb|inw|inl PORT`. */
  | { readonly op: "in"; readonly port: number; readonly width: 1 | 2 | 4 }
  /** `writeb|w|l|q ADDR VALUE` (target-endian). */
  | {
    readonly op: "write";
    readonly addr: number | bigint;
    readonly width: QtestWidth;
    readonly value: number | bigint;
  }
  /** `readb|w|l|q ADDR`. */
  | { readonly op: "read"; readonly addr: number | bigint; readonly width: QtestWidth };

/**
 * The command line of a command, after checking every argument (RangeError
 * naming the argument, its value and the allowed range).
 *
 * @example
 * ```ts
 * import { formatCommand } from "./qtest.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatCommand({ op: "out", port: 0xcf8, width: 4, value: 0x80000000 }), "outl 0xcf8 0x80000000");
 * assert.equal(formatCommand({ op: "read", addr: 0x1000n, width: 8 }), "readq 0x1000");
 * assert.throws(() => formatCommand({ op: "out", port: 0x10000, width: 1, value: 0 }), /Invalid I\/O port: 65536/);
 * assert.throws(() => formatCommand({ op: "write", addr: 0, width: 2, value: 0x10000 }), /Invalid 16-bit value: 65536/);
 * ```
 */
export function formatCommand(c: QtestCommand): string {
  if (!["out", "in", "write", "read"].includes(c.op)) {
    throw new TypeError(
      `Invalid qtest command op: ${JSON.stringify(c.op)}, expected out, in, write or read`,
    );
  }
  checkWidth(c.width);
  switch (c.op) {
    case "out":
      if ((c.width as number) === 8) {
        throw new RangeError("Invalid access width: 8, expected 1, 2 or 4 bytes for port I/O");
      }
      checkPort(c.port, c.width);
      return `out${SUFFIX[c.width]} ${hex(c.port)} ${hex(checkValue(c.value, c.width))}`;
    case "in":
      if ((c.width as number) === 8) {
        throw new RangeError("Invalid access width: 8, expected 1, 2 or 4 bytes for port I/O");
      }
      checkPort(c.port, c.width);
      return `in${SUFFIX[c.width]} ${hex(c.port)}`;
    case "write":
      return `write${SUFFIX[c.width]} ${hex(checkAddress(c.addr, c.width))} ${
        hex(checkValue(c.value, c.width))
      }`;
    case "read":
      return `read${SUFFIX[c.width]} ${hex(checkAddress(c.addr, c.width))}`;
    default:
      throw new TypeError("Unreachable: the op was checked above");
  }
}

/**
 * A qtest session on one bridge channel. Values come back as numbers (as
 * bigints for 8-byte reads).
 */
export class QtestClient {
  #bridge: ProcessBridge;
  #channel: string;
  #timeoutMs: number | undefined;
  #commands = 0;

  /** Speaks qtest on `bridge`'s channel (the channel's notice prefix must be {@link QTEST_IRQ_PREFIX}). */
  constructor(bridge: ProcessBridge, options: QtestOptions = {}) {
    this.#bridge = bridge;
    this.#channel = options.channel ?? "qtest";
    this.#timeoutMs = options.timeoutMs;
  }

  /** Commands sent so far (round trips are fewer when batched). */
  get commands(): number {
    return this.#commands;
  }

  /** The bridge underneath. */
  get bridge(): ProcessBridge {
    return this.#bridge;
  }

  /**
   * Sends checked commands in one write and waits for all their replies:
   * reads come back as numbers (8-byte reads as bigints), writes as
   * `undefined`. An argument out of range is a RangeError before anything is
   * sent; a `FAIL` or `ERR` reply, or a reply the command does not allow, is
   * a {@link TargetError}.
   */
  batch(commands: readonly QtestCommand[]): (number | bigint | undefined)[] {
    const lines = commands.map(formatCommand);
    if (lines.length === 0) return [];
    this.#commands += lines.length;
    const replies = this.#bridge.call(this.#channel, lines.join("\n") + "\n", {
      lines: lines.length,
      ...(this.#timeoutMs === undefined ? {} : { timeoutMs: this.#timeoutMs }),
    });
    return replies.map((r, i) => {
      const c = commands[i] as QtestCommand;
      const line = lines[i] as string;
      const value = this.#value(line, r);
      if (c.op === "out" || c.op === "write") {
        if (value !== "") throw this.#badValue(line, value, "a bare OK");
        return undefined;
      }
      const v = this.#number(line, value, c.width);
      return c.width === 8 ? v : Number(v);
    });
  }

  /** One raw, already checked command line; returns the value of its `OK [VALUE]` reply. */
  #raw(line: string): string {
    this.#commands++;
    const [reply] = this.#bridge.call(this.#channel, line + "\n", {
      lines: 1,
      ...(this.#timeoutMs === undefined ? {} : { timeoutMs: this.#timeoutMs }),
    });
    return this.#value(line, reply as string);
  }

  #one(c: QtestCommand): number | bigint | undefined {
    return this.batch([c])[0];
  }

  #value(sent: string, reply: string): string {
    if (reply === "OK") return "";
    if (reply.startsWith("OK ")) return reply.slice(3);
    const refused = reply.startsWith("FAIL") || reply.startsWith("ERR");
    throw new TargetError({
      kind: refused ? "refused" : "bad-reply",
      target: this.#bridge.label,
      message: refused
        ? "QEMU refused a qtest command"
        : "QEMU answered a qtest command with something other than OK, FAIL or ERR",
      sent,
      received: reply,
      pid: this.#bridge.pid,
      stderrTail: this.#tail(),
    });
  }

  #tail(): string {
    try {
      return this.#bridge.stderrTail();
    } catch {
      return "(the bridge could not say)";
    }
  }

  #badValue(sent: string, value: string, expected: string): TargetError {
    return new TargetError({
      kind: "bad-reply",
      target: this.#bridge.label,
      message: `QEMU's reply is not ${expected}`,
      sent,
      received: value === "" ? "OK" : `OK ${value}`,
      pid: this.#bridge.pid,
      stderrTail: this.#tail(),
    });
  }

  /** Parses `0x…` of at most `width` bytes. */
  #number(sent: string, value: string, width: QtestWidth): bigint {
    if (!/^0x[0-9a-fA-F]{1,16}$/.test(value)) {
      throw this.#badValue(sent, value, "a hexadecimal number");
    }
    const v = BigInt(value);
    if (v >= 1n << BigInt(8 * width)) {
      throw this.#badValue(sent, value, `a ${8 * width}-bit number`);
    }
    return v;
  }

  /** `outb PORT VALUE`. */
  outb(port: number, value: number): void {
    this.#one({ op: "out", port, width: 1, value });
  }

  /** `outw PORT VALUE`. */
  outw(port: number, value: number): void {
    this.#one({ op: "out", port, width: 2, value });
  }

  /** `outl PORT VALUE`. */
  outl(port: number, value: number): void {
    this.#one({ op: "out", port, width: 4, value });
  }

  /** `inb PORT`. */
  inb(port: number): number {
    return this.#one({ op: "in", port, width: 1 }) as number;
  }

  /** `inw PORT`. */
  inw(port: number): number {
    return this.#one({ op: "in", port, width: 2 }) as number;
  }

  /** `inl PORT`. */
  inl(port: number): number {
    return this.#one({ op: "in", port, width: 4 }) as number;
  }

  /** `writeb ADDR VALUE`. */
  writeb(addr: number | bigint, value: number): void {
    this.#one({ op: "write", addr, width: 1, value });
  }

  /** `writew ADDR VALUE` (target-endian: little on x86). */
  writew(addr: number | bigint, value: number): void {
    this.#one({ op: "write", addr, width: 2, value });
  }

  /** `writel ADDR VALUE`. */
  writel(addr: number | bigint, value: number): void {
    this.#one({ op: "write", addr, width: 4, value });
  }

  /** `writeq ADDR VALUE`. */
  writeq(addr: number | bigint, value: number | bigint): void {
    this.#one({ op: "write", addr, width: 8, value });
  }

  /** `readb ADDR`. */
  readb(addr: number | bigint): number {
    return this.#one({ op: "read", addr, width: 1 }) as number;
  }

  /** `readw ADDR`. */
  readw(addr: number | bigint): number {
    return this.#one({ op: "read", addr, width: 2 }) as number;
  }

  /** `readl ADDR`. */
  readl(addr: number | bigint): number {
    return this.#one({ op: "read", addr, width: 4 }) as number;
  }

  /** `readq ADDR`, as a bigint. */
  readq(addr: number | bigint): bigint {
    return this.#one({ op: "read", addr, width: 8 }) as bigint;
  }

  /** Reads `len` bytes of guest memory (`b64read`, split in {@link QTEST_BULK_BYTES} blocks). */
  read(addr: number | bigint, len: number): Uint8Array {
    checkLength(len);
    const a = checkAddress(addr, len);
    const out = new Uint8Array(len);
    for (let done = 0; done < len; done += QTEST_BULK_BYTES) {
      const n = Math.min(QTEST_BULK_BYTES, len - done);
      const line = `b64read ${hex(a + BigInt(done))} ${hex(n)}`;
      const value = this.#raw(line);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
        throw this.#badValue(line, value, "base64");
      }
      const bytes = Buffer.from(value, "base64");
      if (bytes.length !== n) {
        throw this.#badValue(line, value, `${n} bytes of base64 (it holds ${bytes.length})`);
      }
      out.set(bytes, done);
    }
    return out;
  }

  /** Writes bytes into guest memory (`b64write`, split in {@link QTEST_BULK_BYTES} blocks). */
  write(addr: number | bigint, data: Uint8Array): void {
    const a = checkAddress(addr, data.length);
    for (let done = 0; done < data.length; done += QTEST_BULK_BYTES) {
      const part = data.subarray(done, Math.min(data.length, done + QTEST_BULK_BYTES));
      const b64 = Buffer.from(part.buffer, part.byteOffset, part.length).toString("base64");
      this.#raw(`b64write ${hex(a + BigInt(done))} ${hex(part.length)} ${b64}`);
    }
  }

  /** Fills `len` bytes with `byte` (`memset`). */
  memset(addr: number | bigint, len: number, byte: number): void {
    checkLength(len);
    const a = checkAddress(addr, len);
    if (len === 0) return;
    this.#raw(`memset ${hex(a)} ${hex(len)} ${hex(checkValue(byte, 1))}`);
  }

  /**
   * Intercepts the GPIO inputs of the device at QOM path `path` (e.g.
   * `ioapic`): from then on each change arrives as an `IRQ raise|lower N`
   * notice ({@link takeIrqs}).
   */
  interceptIrqIn(path: string): void {
    if (!/^[A-Za-z0-9_/.[\]-]+$/.test(path)) {
      throw new RangeError(
        `Invalid QOM path: ${JSON.stringify(path)}, expected letters, digits and _/.[]-`,
      );
    }
    this.#raw(`irq_intercept_in ${path}`);
  }

  /** Interrupt notices received since the last call, in order. */
  takeIrqs(): IrqNotice[] {
    return this.#bridge.takeNotices(this.#channel).map((n) => {
      const m = /^IRQ (raise|lower) (\d+)$/.exec(n);
      if (m === null) {
        throw new TargetError({
          kind: "bad-reply",
          target: this.#bridge.label,
          message: "QEMU sent an interrupt notice qtest does not define",
          received: n,
          pid: this.#bridge.pid,
        });
      }
      return { raised: m[1] === "raise", line: Number(m[2]) };
    });
  }
}
