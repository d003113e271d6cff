/**
 * A synchronous bridge to a child process. The suite is synchronous and
 * deterministic, the process is not: a worker thread (`node:worker_threads`,
 * unreferenced, so a bridge never closed does not keep a program alive) owns the process, its
 * channels (stdin/stdout, or unix sockets it connects to) and every
 * asynchronous read and write; the main thread posts a request and blocks in
 * `Atomics.wait` until the worker stores the reply in shared memory, or the
 * request's timeout expires. Every reply has a timeout.
 *
 * The `stdio` channel skips that hop when it may (see
 * {@link BridgeOptions.directStdio}): the process's stdin and stdout are
 * named pipes the main thread reads and writes itself (`readSync` /
 * `writeSync`), and the worker, which still starts the process, keeps its
 * stderr and exit status and stops it, is the watchdog of every blocking
 * read and write: a deadline armed in shared memory, and when it passes, or
 * the process exits, the worker wakes the main thread (`_direct_stdio.ts`).
 *
 * - Requests and replies are lines (or exact byte counts) on a named channel.
 * - Lines that start with a channel's notice prefixes (qtest's `IRQ raise N`)
 *   are set aside as they arrive (on a direct `stdio` channel: as the bridge
 *   reads, which is when a call or a drain asks for something), and handed
 *   over by {@link ProcessBridge.takeNotices}.
 * - The worker keeps the tail of the process's stderr; every failure is a
 *   {@link TargetError} naming what was sent, what came back (or that nothing
 *   did within N ms) and that tail.
 * - The process is stopped by its own pid only: SIGTERM (with SIGCONT, so a
 *   stopped process acts on it), then SIGKILL after a grace period.
 * - After a timeout the channel's conversation is out of step (a late reply
 *   would be taken for the next one), so the bridge refuses further calls:
 *   close it and start again.
 * - A closed bridge's worker, when its process was reaped and nothing of it
 *   still runs, serves the next bridge of the thread (starting a worker
 *   blocks the main thread 30–70 ms).
 *
 * Measured on the 2-core build machine, shared with other jobs
 * (`deno task bench:qtest`): one line round trip to a `cat` child costs
 * 40–90 µs on a direct `stdio` channel (the same ping-pong between two C
 * processes costs 35–60 µs there), 165–220 µs through the worker; a 1.4 MB
 * line each way about 6 ms.
 *
 * @module
 */

import {
  type BridgeRequest,
  type ChannelSpec,
  CTL_HEADER,
  CTL_PAYLOAD,
  CTL_SEQ,
  CTL_WORDS,
  type ProcessStatus,
  type ReadSpec,
  type ReplyHeader,
} from "./_protocol.ts";
import { DIRECT_WRITE_MAX, DirectStdio, epochNow } from "./_direct_stdio.ts";
import { TargetError, type TargetErrorKind } from "./target_error.ts";
import { Worker } from "node:worker_threads";

export type { ChannelSpec, ProcessStatus } from "./_protocol.ts";

/** Options of {@link ProcessBridge.spawn}. */
export interface BridgeOptions {
  /** Program to run. */
  readonly command: string;
  /** Its arguments. */
  readonly args?: readonly string[];
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory. */
  readonly cwd?: string;
  /** Channels to the process: at most one `stdio`, any number of `unix-listen`. */
  readonly channels: readonly ChannelSpec[];
  /** Per channel, line prefixes that mark asynchronous notices (set aside, not replies). */
  readonly noticePrefixes?: Readonly<Record<string, readonly string[]>>;
  /** How long the process may take to start and connect every unix channel (default 10 s). */
  readonly readyTimeoutMs?: number;
  /** Default timeout of one reply (default 5 s). */
  readonly replyTimeoutMs?: number;
  /** Bytes of stderr kept for errors (default 8 KiB). */
  readonly stderrBytes?: number;
  /** Largest request or reply, in bytes (default 8 MiB). */
  readonly capacityBytes?: number;
  /** Name in errors (default: the program's file name). */
  readonly label?: string;
  /**
   * Whether the main thread reads and writes the `stdio` channel itself,
   * through named pipes, the worker only its watchdog (about three times
   * faster a round trip). Default: when this program may (read, write, and
   * run `sh` and `mkfifo`, already granted: nothing is prompted for; when
   * making the pipes fails, the worker speaks the channel); `true` insists (a
   * TypeError when it may not, a `spawn` TargetError when the pipes cannot
   * be made), `false` keeps the channel in the worker.
   */
  readonly directStdio?: boolean;
}

/** Options of one call. */
export interface CallOptions {
  /** Timeout of this reply in ms (default: the bridge's). */
  readonly timeoutMs?: number;
}

/** Options of {@link ProcessBridge.drain}. */
export interface DrainOptions extends CallOptions {
  /**
   * Whether to take from the channel everything the process has written so
   * far (default), or only the lines the bridge has already received (no
   * wait at all). They differ only for a `stdio` channel the main thread
   * reads itself (see {@link BridgeOptions.directStdio}), which is read
   * only when a call asks for something: a pull there costs a hop to the
   * worker, as every drain of a channel the worker reads does.
   */
  readonly pull?: boolean;
}

/** Options of {@link ProcessBridge.close}. */
export interface CloseOptions {
  /** How long SIGTERM may take before SIGKILL (default 2 s). */
  readonly graceMs?: number;
}

/** How the process ended, as {@link ProcessBridge.close} saw it. */
export interface CloseResult {
  /** Exit code (a signal's 128 + n when killed). */
  readonly code: number | undefined;
  /** Signal that ended it. */
  readonly signal: string | undefined;
  /** Last bytes of its stderr. */
  readonly stderrTail: string;
}

const DEFAULT_REPLY_MS = 5_000;
const DEFAULT_READY_MS = 10_000;
const DEFAULT_CAPACITY = 8 * 2 ** 20;
/** How long the worker may take to answer a status query, beyond anything the process does. */
const WORKER_MS = 2_000;
/** Lines of stderr quoted in errors. */
const TAIL_LINES = 20;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Pids of processes started by bridges of this thread and not yet stopped. */
const LIVE = new Map<number, string>();
/** Directories of the named pipes of bridges of this thread not yet closed. */
const LIVE_DIRS = new Set<string>();
/**
 * Workers of closed bridges, idle and clean (their process reaped, nothing
 * of theirs running), for the next bridges of this thread: starting a worker
 * takes 30–70 ms, most of a testee's start. Unreferenced, as every bridge
 * worker: they keep no program alive.
 */
const IDLE_WORKERS: Worker[] = [];
const IDLE_MAX = 2;
/** Workers whose exit takes them out of {@link IDLE_WORKERS}. */
const POOLABLE = new WeakSet<Worker>();

function keepIdle(worker: Worker): void {
  if (!POOLABLE.has(worker)) {
    POOLABLE.add(worker);
    worker.once("exit", () => {
      const at = IDLE_WORKERS.indexOf(worker);
      if (at >= 0) IDLE_WORKERS.splice(at, 1);
    });
  }
  IDLE_WORKERS.push(worker);
}
/**
 * Request sequence numbers, unique across the bridges of this thread (a
 * reused worker can never answer an old bridge's request to a new one).
 */
let lastSeq = 0;

function nextSeq(): number {
  lastSeq = (lastSeq + 1) % 2 ** 31 || 1;
  return lastSeq;
}
let unloadHooked = false;

/**
 * The command line of process `pid`, or `undefined` when no such process
 * runs. Read with `cat /proc/PID/cmdline` (Deno reads /proc/PID only with
 * --allow-all; running cat needs only --allow-run).
 */
export function commandLineOf(pid: number): string[] | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new RangeError(`Invalid pid: ${pid}, expected a positive integer`);
  }
  const out = new Deno.Command("cat", {
    args: [`/proc/${pid}/cmdline`],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  if (!out.success) return undefined;
  const text = decoder.decode(out.stdout);
  // a zombie (exited, not yet reaped) has an empty command line
  return text === "" ? undefined : text.replace(/\0$/, "").split("\0");
}

/**
 * At exit, SIGKILL the processes bridges started and never stopped (a test
 * that threw before its `close`), each by its pid and only if that pid still
 * runs the program the bridge started.
 */
function hookUnload(): void {
  if (unloadHooked) return;
  unloadHooked = true;
  globalThis.addEventListener("unload", () => {
    for (const [pid, command] of LIVE) {
      try {
        if (commandLineOf(pid)?.[0] === command) Deno.kill(pid, "SIGKILL");
      } catch {
        // gone, or not ours to signal
      }
    }
    for (const dir of LIVE_DIRS) {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // removed
      }
    }
  });
}

function lastLines(text: string): string {
  return text.trimEnd().split("\n").slice(-TAIL_LINES).join("\n");
}

function checkTimeout(ms: number, what: string): number {
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new RangeError(`Invalid ${what}: ${ms}, expected a positive number of milliseconds`);
  }
  return ms;
}

/**
 * A child process behind a worker, spoken to synchronously.
 *
 * @example
 * ```ts
 * import { ProcessBridge } from "./process_bridge.ts";
 * import assert from "node:assert/strict";
 * const cat = ProcessBridge.spawn({
 *   command: "cat",
 *   channels: [{ name: "io", kind: "stdio" }],
 *   noticePrefixes: { io: ["IRQ "] },
 * });
 * try {
 *   assert.deepEqual(cat.call("io", "IRQ raise 11\nOK 0x12\n", { lines: 1 }), ["OK 0x12"]);
 *   assert.deepEqual(cat.takeNotices("io"), ["IRQ raise 11"]);
 * } finally {
 *   cat.close();
 * }
 * ```
 */
export class ProcessBridge {
  #pid = 0;
  #label: string;
  #worker: Worker;
  #control: Int32Array;
  #request: Uint8Array;
  #reply: Uint8Array;
  #replyMs: number;
  #notices = new Map<string, string[]>();
  #channels: Set<string>;
  #broken: string | undefined;
  #closed: CloseResult | undefined;
  /** The stdio channel, when the main thread speaks it itself. */
  #direct: DirectStdio | undefined;

  private constructor(
    options: BridgeOptions,
    shared: { control: SharedArrayBuffer; request: SharedArrayBuffer; reply: SharedArrayBuffer },
    facts: { label: string; replyMs: number },
  ) {
    this.#worker = IDLE_WORKERS.pop() ??
      new Worker(new URL("./bridge_worker.ts", import.meta.url));
    // a bridge never closed must not keep the program alive; the unload hook stops its process
    this.#worker.unref();
    this.#control = new Int32Array(shared.control);
    this.#request = new Uint8Array(shared.request);
    this.#reply = new Uint8Array(shared.reply);
    this.#label = facts.label;
    this.#replyMs = facts.replyMs;
    this.#channels = new Set(options.channels.map((c) => c.name));
  }

  /** Process id of the child this bridge started. */
  get pid(): number {
    return this.#pid;
  }

  /** Name used in errors: the program and its pid. */
  get label(): string {
    return this.#label;
  }

  /** Whether the main thread speaks the stdio channel itself (see {@link BridgeOptions.directStdio}). */
  get directStdio(): boolean {
    return this.#direct !== undefined;
  }

  /**
   * Starts the process and waits (blocking) until it runs and has connected
   * every unix channel. Throws a {@link TargetError} (`spawn`, `not-ready`,
   * `exited`) with its stderr tail when it cannot.
   */
  static spawn(options: BridgeOptions): ProcessBridge {
    const names = options.channels.map((c) => c.name);
    if (new Set(names).size !== names.length || names.length === 0) {
      throw new TypeError(
        `Invalid channels: ${JSON.stringify(names)}, expected at least one, each name once`,
      );
    }
    if (options.channels.filter((c) => c.kind === "stdio").length > 1) {
      throw new TypeError("Invalid channels: more than one stdio channel, expected at most one");
    }
    const capacity = options.capacityBytes ?? DEFAULT_CAPACITY;
    if (!Number.isSafeInteger(capacity) || capacity < 4096) {
      throw new RangeError(
        `Invalid capacityBytes: ${capacity}, expected an integer of at least 4096`,
      );
    }
    const replyMs = checkTimeout(options.replyTimeoutMs ?? DEFAULT_REPLY_MS, "replyTimeoutMs");
    const readyMs = checkTimeout(options.readyTimeoutMs ?? DEFAULT_READY_MS, "readyTimeoutMs");
    const shared = {
      control: new SharedArrayBuffer(CTL_WORDS * 4),
      request: new SharedArrayBuffer(capacity),
      reply: new SharedArrayBuffer(capacity),
    };
    const base = options.label ?? options.command.split("/").pop() ?? options.command;
    const stdio = options.channels.find((c) => c.kind === "stdio");
    let direct: DirectStdio | undefined;
    if (stdio !== undefined && options.directStdio !== false) {
      if (DirectStdio.permitted()) {
        try {
          direct = DirectStdio.create(stdio.name, options.noticePrefixes?.[stdio.name] ?? []);
        } catch (e) {
          // without named pipes the worker speaks the channel, unless the caller insisted
          if (options.directStdio === true) {
            throw new TargetError({
              kind: "spawn",
              target: base,
              message: `Cannot make the named pipes of ${options.command}'s stdio: ${
                (e as Error).message
              }`,
            });
          }
        }
      } else if (options.directStdio === true) {
        throw new TypeError(
          "Invalid directStdio: true, but this program may not make named pipes (it needs read and write permission, and to run sh and mkfifo)",
        );
      }
    }
    const bridge = new ProcessBridge(options, shared, { label: base, replyMs });
    bridge.#direct = direct;
    if (direct !== undefined) LIVE_DIRS.add(direct.dir);
    const t0 = epochNow();
    const seq = nextSeq();
    bridge.#post({
      op: "open",
      seq,
      command: options.command,
      args: [...(options.args ?? [])],
      env: { ...(options.env ?? {}) },
      cwd: options.cwd,
      channels: options.channels,
      noticePrefixes: options.noticePrefixes ?? {},
      readyTimeoutMs: readyMs,
      stderrBytes: options.stderrBytes ?? 8192,
      ...shared,
      ...(direct === undefined ? {} : { direct: direct.spec }),
    });
    // the worker needs time to load too; the process's own deadline is the worker's
    const got = bridge.#wait(seq, readyMs + WORKER_MS + 10_000);
    if (got === undefined || !got.header.ok) {
      bridge.#worker.terminate();
      bridge.#dropDirect();
      bridge.#broken = "it did not start";
      if (got === undefined) {
        throw new TargetError({
          kind: "worker",
          target: base,
          message: `The bridge worker did not start ${options.command} within ${readyMs} ms`,
        });
      }
      throw bridge.#error(got.header as Extract<ReplyHeader, { ok: false }>, {});
    }
    bridge.#pid = got.header.status?.pid ?? 0;
    bridge.#label = `${base} (pid ${bridge.#pid})`;
    LIVE.set(bridge.#pid, options.command);
    hookUnload();
    if (direct !== undefined) {
      bridge.#awaitReady(direct, options.command, base, t0 + readyMs, readyMs);
    }
    return bridge;
  }

  /** Direct stdio: waits for the wrapper's first byte; throws a TargetError when it does not come. */
  #awaitReady(
    direct: DirectStdio,
    command: string,
    base: string,
    deadline: number,
    readyMs: number,
  ): void {
    const r = direct.awaitReady(deadline);
    if (r === "ready") return;
    // missing: the wrapper exits 127 at once; otherwise it is stopped
    const st = r === "timeout" ? undefined : this.#settle();
    const closed = this.close({ graceMs: 500 });
    const status: ProcessStatus = st ?? {
      pid: this.pid,
      exited: true,
      ...(closed.code === undefined ? {} : { code: closed.code }),
      ...(closed.signal === undefined ? {} : { signal: closed.signal }),
      stderrTail: closed.stderrTail,
    };
    const kind = r === "missing" ? "spawn" : r === "timeout" ? "not-ready" : "exited";
    const message = r === "missing"
      ? `Cannot start ${command}: no such program (not found, or not an executable file)`
      : r === "timeout"
      ? `The process did not start within ${readyMs} ms`
      : "The process exited before it started";
    // a program that is not there never started: no pid, no stderr, as Deno.Command's refusal
    throw this.#error({
      seq: 0,
      ok: false,
      kind,
      message,
      notices: [],
      status: r === "missing" ? { pid: 0, exited: true, stderrTail: "" } : status,
    }, r === "missing" ? { target: base } : {});
  }

  #dropDirect(): void {
    if (this.#direct === undefined) return;
    this.#direct.close();
    LIVE_DIRS.delete(this.#direct.dir);
  }

  /** Whether {@link close} ran. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Writes `data` (a string is sent as UTF-8, as is) to `channel`, then reads:
   * `lines: n` the next n lines that are not notices (without newlines),
   * `bytes: n` exactly n bytes, neither: nothing (the write is acknowledged).
   * Blocks until then or the timeout; throws a {@link TargetError}.
   */
  call(
    channel: string,
    data: string | Uint8Array,
    options: CallOptions & { readonly lines: number },
  ): string[];
  /** As above, reading exactly `bytes` bytes. */
  call(
    channel: string,
    data: string | Uint8Array,
    options: CallOptions & { readonly bytes: number },
  ): Uint8Array;
  /** As above, reading nothing. */
  call(channel: string, data: string | Uint8Array, options?: CallOptions): void;
  call(
    channel: string,
    data: string | Uint8Array,
    options: CallOptions & { readonly lines?: number; readonly bytes?: number } = {},
  ): string[] | Uint8Array | void {
    const read: ReadSpec = options.lines !== undefined
      ? { kind: "lines", count: options.lines }
      : options.bytes !== undefined
      ? { kind: "bytes", count: options.bytes }
      : { kind: "none" };
    if (read.kind !== "none" && (!Number.isSafeInteger(read.count) || read.count < 1)) {
      throw new RangeError(
        `Invalid ${read.kind} count: ${read.count}, expected a positive integer`,
      );
    }
    this.#usable(channel);
    const sent = typeof data === "string" ? data : `${data.length} bytes`;
    const timeoutMs = checkTimeout(options.timeoutMs ?? this.#replyMs, "timeoutMs");
    if (this.#direct?.name === channel) {
      return this.#directCall(this.#direct, data, read, sent, timeoutMs);
    }
    const bytes = typeof data === "string" ? this.#encode(data) : this.#copy(data);
    const seq = nextSeq();
    this.#post({ op: "call", seq, channel, length: bytes, read });
    const got = this.#wait(seq, timeoutMs);
    if (got === undefined) {
      this.#post({ op: "cancel", seq });
      throw this.#timeout(sent, timeoutMs);
    }
    this.#keepNotices(channel, got.header.notices);
    if (!got.header.ok) {
      if (got.header.kind !== "overflow") this.#broken = got.header.message;
      throw this.#error(got.header, { sent });
    }
    if (read.kind === "lines") return got.text().split("\n");
    if (read.kind === "bytes") return got.bytes();
  }

  /** A call on the stdio channel the main thread speaks itself: no hop to the worker. */
  #directCall(
    d: DirectStdio,
    data: string | Uint8Array,
    read: ReadSpec,
    sent: string,
    timeoutMs: number,
  ): string[] | Uint8Array | void {
    const deadline = epochNow() + timeoutMs;
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length > this.#request.length) {
      // refused before anything is sent, as the worker's request area refuses it
      if (typeof data === "string") this.#encode(data);
      else this.#copy(data);
    }
    let large: number | undefined;
    if (bytes.length > DIRECT_WRITE_MAX && !d.stdinClosed) {
      this.#request.set(bytes);
      large = nextSeq();
      this.#post({ op: "write", seq: large, length: bytes.length });
    } else if (d.write(bytes, deadline) === "timeout") {
      throw this.#timeout(sent, timeoutMs);
    }
    const got = read.kind === "lines"
      ? d.readLines(read.count, deadline)
      : read.kind === "bytes"
      ? d.readBytes(read.count, deadline)
      : undefined;
    this.#keepNotices(d.name, d.lines.notices.splice(0));
    if (got === "timeout") throw this.#timeout(sent, timeoutMs);
    if (got === "eof" || got === "exited") throw this.#ended(d, sent);
    if (large !== undefined && !d.awaitWrite(large, deadline)) throw this.#timeout(sent, timeoutMs);
    if (got === undefined) return;
    const size = got instanceof Uint8Array ? got.length : got.data.length;
    if (size > this.#reply.length) {
      throw new TargetError({
        kind: "overflow",
        target: this.label,
        message:
          `The reply of ${size} bytes exceeds the bridge's reply area of ${this.#reply.length} bytes`,
        sent,
      });
    }
    if (got instanceof Uint8Array) return got;
    return decoder.decode(got.data).split("\n");
  }

  /** The error of a reply that did not come in time; breaks the bridge. */
  #timeout(sent: string, timeoutMs: number): TargetError {
    this.#broken = `an earlier request timed out ("${sent.slice(0, 80)}")`;
    const st = this.#statusOrUndefined();
    return new TargetError({
      kind: st?.exited === true ? "exited" : "timeout",
      target: this.label,
      message: st?.exited === true
        ? `${this.label} exited and no reply came within ${timeoutMs} ms`
        : `No reply from ${this.label} within ${timeoutMs} ms`,
      sent,
      timeoutMs,
      pid: this.pid,
      ...(st === undefined
        ? { stderrTail: "(the bridge worker did not answer either)" }
        : { stderrTail: lastLines(st.stderrTail) }),
    });
  }

  /** Direct stdio: the error of a channel that ended before the reply; breaks the bridge. */
  #ended(d: DirectStdio, sent: string): TargetError {
    const st = this.#settle();
    const message = st === undefined
      ? "The bridge worker did not answer after the process's stdout ended"
      : st.exited
      ? `The process exited (${
        st.signal !== undefined ? `killed by ${st.signal}` : `exit code ${st.code}`
      }) before it answered`
      : `Channel ${d.name} closed before the process answered`;
    this.#broken = message;
    if (st === undefined) {
      return new TargetError({ kind: "worker", target: this.label, message, sent });
    }
    const received = d.lines.peek(4096);
    return this.#error({
      seq: 0,
      ok: false,
      kind: st.exited ? "exited" : "closed",
      message,
      ...(received === "" ? {} : { received }),
      notices: [],
      status: st,
    }, { sent });
  }

  /** Direct stdio: the process state once its exit status and stderr are in (the worker waits, bounded). */
  #settle(): ProcessStatus | undefined {
    const seq = nextSeq();
    this.#post({ op: "settle", seq });
    const got = this.#wait(seq, WORKER_MS + 1_500);
    return got?.header.ok === true ? got.header.status : undefined;
  }

  /**
   * Lines already received on `channel` and not yet taken, and its notices,
   * without waiting (for a channel that speaks on its own, e.g. QMP events).
   */
  drain(channel: string, options: DrainOptions = {}): string[] {
    this.#usable(channel);
    const d = this.#direct;
    if (d?.name === channel) {
      const deadline = epochNow() + (options.timeoutMs ?? WORKER_MS);
      const got = d.drain(
        options.pull !== false,
        (n) => this.#post({ op: "token", seq: n }),
        deadline,
      );
      this.#keepNotices(channel, d.lines.notices.splice(0));
      if (got === "timeout") {
        throw new TargetError({
          kind: "worker",
          target: this.label,
          message: `The bridge worker did not answer a drain of ${channel}`,
        });
      }
      return got.lines === 0 ? [] : decoder.decode(got.data).split("\n");
    }
    const seq = nextSeq();
    this.#post({ op: "drain", seq, channel });
    const got = this.#wait(seq, options.timeoutMs ?? WORKER_MS);
    if (got === undefined) {
      throw new TargetError({
        kind: "worker",
        target: this.label,
        message: `The bridge worker did not answer a drain of ${channel}`,
      });
    }
    this.#keepNotices(channel, got.header.notices);
    if (!got.header.ok) throw this.#error(got.header, {});
    return got.header.lines === 0 ? [] : got.text().split("\n");
  }

  /** Notices set aside on `channel` so far (taken: the next call returns only newer ones). */
  takeNotices(channel: string): string[] {
    return this.#notices.get(channel)?.splice(0) ?? [];
  }

  /** The process's state and stderr tail (asks the worker; does not touch the process). */
  status(): ProcessStatus {
    if (this.#closed !== undefined) {
      return {
        pid: this.pid,
        exited: true,
        ...(this.#closed.code === undefined ? {} : { code: this.#closed.code }),
        ...(this.#closed.signal === undefined ? {} : { signal: this.#closed.signal }),
        stderrTail: this.#closed.stderrTail,
      };
    }
    const st = this.#statusOrUndefined();
    if (st === undefined) {
      throw new TargetError({
        kind: "worker",
        target: this.label,
        message: `The bridge worker did not answer a status query within ${WORKER_MS} ms`,
      });
    }
    return st;
  }

  /** The last lines of the process's stderr. */
  stderrTail(): string {
    return lastLines(this.status().stderrTail);
  }

  /**
   * Sends `signal` to the process by its pid (tests use SIGSTOP to make a
   * process that never answers). Nothing is sent once it has exited.
   */
  signal(signal: Deno.Signal): void {
    if (this.#closed !== undefined) return;
    const seq = nextSeq();
    this.#post({ op: "signal", seq, signal });
    this.#wait(seq, WORKER_MS);
  }

  /**
   * Stops the process (SIGTERM and SIGCONT, SIGKILL after `graceMs`), closes
   * the channels, ends the worker and returns how the process ended.
   * Idempotent.
   */
  close(options: CloseOptions = {}): CloseResult {
    if (this.#closed !== undefined) return this.#closed;
    const graceMs = options.graceMs ?? 2_000;
    const seq = nextSeq();
    this.#post({ op: "stop", seq, graceMs });
    const got = this.#wait(seq, graceMs + 5_000 + WORKER_MS);
    if (got?.header.ok === true && got.header.reusable === true && IDLE_WORKERS.length < IDLE_MAX) {
      keepIdle(this.#worker);
    } else this.#worker.terminate();
    this.#dropDirect();
    LIVE.delete(this.#pid);
    const st = got?.header.ok === true ? got.header.status : undefined;
    this.#closed = {
      code: st?.code,
      signal: st?.signal,
      stderrTail: st?.stderrTail ?? "",
    };
    this.#broken ??= "it is closed";
    return this.#closed;
  }

  #usable(channel: string): void {
    if (!this.#channels.has(channel)) {
      throw new TypeError(
        `Unknown channel: ${channel}, expected one of ${[...this.#channels].join(", ")}`,
      );
    }
    if (this.#broken !== undefined) {
      throw new TargetError({
        kind: "unusable",
        target: this.label,
        message: `The bridge to ${this.label} cannot be used: ${this.#broken}`,
      });
    }
  }

  #encode(text: string): number {
    const r = encoder.encodeInto(text, this.#request);
    if (r.read < text.length) {
      throw new TargetError({
        kind: "overflow",
        target: this.label,
        message:
          `The request of ${text.length} characters exceeds the bridge's ${this.#request.length} bytes`,
        sent: text,
      });
    }
    return r.written;
  }

  #copy(data: Uint8Array): number {
    if (data.length > this.#request.length) {
      throw new TargetError({
        kind: "overflow",
        target: this.label,
        message:
          `The request of ${data.length} bytes exceeds the bridge's ${this.#request.length} bytes`,
      });
    }
    this.#request.set(data);
    return data.length;
  }

  #post(req: BridgeRequest): void {
    this.#worker.postMessage(req);
  }

  #keepNotices(channel: string, notices: readonly string[]): void {
    if (notices.length === 0) return;
    const list = this.#notices.get(channel) ?? [];
    list.push(...notices);
    this.#notices.set(channel, list);
  }

  #statusOrUndefined(): ProcessStatus | undefined {
    const seq = nextSeq();
    this.#post({ op: "status", seq });
    const got = this.#wait(seq, WORKER_MS);
    return got?.header.ok === true ? got.header.status : undefined;
  }

  /** Blocks until reply `seq` is stored, or `timeoutMs`; undefined on timeout. */
  #wait(
    seq: number,
    timeoutMs: number,
  ): { header: ReplyHeader; text: () => string; bytes: () => Uint8Array } | undefined {
    const ctl = this.#control;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const cur = Atomics.load(ctl, CTL_SEQ);
      if (cur === seq) break;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      Atomics.wait(ctl, CTL_SEQ, cur, left);
    }
    const h = Atomics.load(ctl, CTL_HEADER);
    const p = Atomics.load(ctl, CTL_PAYLOAD);
    const area = this.#reply;
    const header = JSON.parse(decoder.decode(area.slice(0, h))) as ReplyHeader;
    return {
      header,
      text: () => decoder.decode(area.slice(h, h + p)),
      bytes: () => area.slice(h, h + p),
    };
  }

  #error(
    header: Extract<ReplyHeader, { ok: false }>,
    extra: { sent?: string; target?: string },
  ): TargetError {
    return new TargetError({
      kind: header.kind as TargetErrorKind,
      target: extra.target ?? this.label,
      message: header.message,
      ...(extra.sent === undefined ? {} : { sent: extra.sent }),
      ...(header.received === undefined ? {} : { received: header.received }),
      // a process that never started has no stderr to quote
      ...(header.status.pid === 0
        ? {}
        : { pid: header.status.pid, stderrTail: lastLines(header.status.stderrTail) }),
      ...(header.status.code === undefined ? {} : { exitCode: header.status.code }),
      ...(header.status.signal === undefined ? {} : { signal: header.status.signal }),
    });
  }
}
