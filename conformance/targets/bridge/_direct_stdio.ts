/**
 * Private: a `stdio` channel the main thread reads and writes itself, with
 * no thread hop on the way. The process's stdin and stdout are two named
 * pipes (`mkfifo`) in a private temporary directory; the main thread holds
 * their other ends as files and calls `writeSync` / `readSync` on them. The
 * bridge's worker is the watchdog: before each blocking read or write the
 * main thread arms a deadline in shared memory (`_protocol.ts`, `WD_*`) and
 * disarms it after; when the deadline passes or the process exits while
 * armed, the worker unblocks the main thread — a read by writing a wake-up
 * token into the stdout pipe (random per bridge, stripped from what is
 * read), a write by reading the stdin pipe — and the state word says which
 * of the two happened.
 *
 * Opening a named pipe blocks until its other end is open, and a pipe whose
 * writers are all gone reads as end of file: both pipes are first held open
 * for reading and writing (which never blocks), the main thread's own ends
 * opened after, the process started, and the holds closed only once the
 * process's wrapper wrote its first byte (so it has both pipes open). From
 * then on the process's exit (or its closing stdout) is end of file on the
 * main thread's read, and its closing stdin a broken pipe on its write.
 *
 * A payload larger than {@link DIRECT_WRITE_MAX} is written by the worker
 * while the main thread reads: a process that echoes as it reads (`cat`)
 * would otherwise block on its full stdout while the main thread blocks on
 * the process's full stdin.
 *
 * @module
 */

import { LineBuffer } from "./_lines.ts";
import {
  type DirectSpec,
  TOKEN_BYTES,
  TOKEN_PREFIX_BYTES,
  WD_DEADLINE,
  WD_EXIT,
  WD_GEN_MASK,
  WD_GEN_SHIFT,
  WD_IDLE,
  WD_READ,
  WD_STATE,
  WD_TIMEOUT,
  WD_WORDS,
  WD_WRITE,
  WD_WRITE_FAILED,
  WD_WRITE_SEQ,
} from "./_protocol.ts";

/** Largest payload the main thread writes itself; larger ones the worker writes. */
export const DIRECT_WRITE_MAX = 16 * 1024;

/** Why a read ended without what was asked: deadline, end of file, or the process exited. */
export type Ended = "timeout" | "eof" | "exited";

const READ_CHUNK = 65536;
const decoder = new TextDecoder();
const R = "R".charCodeAt(0);
const N = "N".charCodeAt(0);
const W = "W".charCodeAt(0);
const D = "D".charCodeAt(0);

/** Epoch milliseconds, the same clock in every thread. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

function granted(d: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(d).state === "granted";
  } catch {
    return false;
  }
}

function closeQuietly(f: Deno.FsFile | undefined): void {
  try {
    f?.close();
  } catch {
    // closed
  }
}

/** The main thread's ends of the process's stdin and stdout. */
export class DirectStdio {
  /** Channel name. */
  readonly name: string;
  /** What the worker needs: the pipes, the token prefix, the watchdog words. */
  readonly spec: DirectSpec;
  /** What was read and not yet taken. */
  readonly lines: LineBuffer;
  /** Directory of the two pipes. */
  readonly dir: string;
  /** Set once a write found the process's stdin closed (nothing more is written). */
  stdinClosed = false;
  #in: Deno.FsFile;
  #out: Deno.FsFile;
  #holds: Deno.FsFile[];
  #wd: Int32Array;
  #prefix: Uint8Array;
  #gen = 0;
  #eof = false;
  /** Whether the wake-up token of the current arming was read. */
  #woken = false;
  /** Wake-up tokens on their way that no read waits for (fired as a read completed). */
  #strayWakes = 0;
  #drains = 0;
  #drainWanted: number | undefined;
  #drainSeen = false;
  /** Drain tokens on their way that no drain waits for (it timed out or hit end of file). */
  #strayDrains = 0;

  private constructor(
    name: string,
    prefixes: readonly string[],
    files: { dir: string; stdin: string; stdout: string; in: Deno.FsFile; out: Deno.FsFile },
    holds: Deno.FsFile[],
  ) {
    this.name = name;
    this.lines = new LineBuffer(prefixes);
    this.dir = files.dir;
    this.#in = files.in;
    this.#out = files.out;
    this.#holds = holds;
    const random = crypto.getRandomValues(new Uint8Array(8));
    const hex = [...random].map((b) => b.toString(16).padStart(2, "0")).join("");
    this.#prefix = new Uint8Array(TOKEN_PREFIX_BYTES);
    this.#prefix[0] = 0;
    this.#prefix[1] = 0x1b;
    for (let i = 0; i < 16; i++) this.#prefix[2 + i] = hex.charCodeAt(i);
    const watchdog = new SharedArrayBuffer(WD_WORDS * 4);
    this.#wd = new Int32Array(watchdog);
    this.spec = {
      stdin: files.stdin,
      stdout: files.stdout,
      tokenPrefix: this.#prefix,
      watchdog,
      epoch: epochNow(),
    };
  }

  /**
   * Whether this thread may use named pipes: read and write anywhere (a
   * temporary directory), and run `sh` and `mkfifo`. Asks nothing (no prompt).
   */
  static permitted(): boolean {
    return Deno.build.os !== "windows" && granted({ name: "read" }) &&
      granted({ name: "write" }) && granted({ name: "run", command: "sh" }) &&
      granted({ name: "run", command: "mkfifo" });
  }

  /** Makes the two pipes and opens the main thread's ends (never blocks); throws an Error. */
  static create(name: string, prefixes: readonly string[]): DirectStdio {
    const dir = Deno.makeTempDirSync({ prefix: "bridge-stdio-" });
    const stdin = `${dir}/stdin`;
    const stdout = `${dir}/stdout`;
    const opened: Deno.FsFile[] = [];
    try {
      const made = new Deno.Command("mkfifo", {
        args: ["-m", "600", stdin, stdout],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).outputSync();
      if (!made.success) {
        throw new Error(`mkfifo failed: ${decoder.decode(made.stderr).trim()}`);
      }
      // held for reading and writing first: neither open below blocks, and neither end reads
      // end of file or writes into a broken pipe before the process has opened its own
      const open = (path: string, o: Deno.OpenOptions) => {
        const f = Deno.openSync(path, o);
        opened.push(f);
        return f;
      };
      const holds = [
        open(stdin, { read: true, write: true }),
        open(stdout, { read: true, write: true }),
      ];
      const files = {
        dir,
        stdin,
        stdout,
        in: open(stdin, { write: true }),
        out: open(stdout, { read: true }),
      };
      return new DirectStdio(name, prefixes, files, holds);
    } catch (e) {
      for (const f of opened) closeQuietly(f);
      Deno.removeSync(dir, { recursive: true });
      throw e;
    }
  }

  /** Whether the process's stdout has ended. */
  get ended(): boolean {
    return this.#eof;
  }

  #arm(phase: number, deadline: number): number {
    this.#gen = (this.#gen + 1) & WD_GEN_MASK;
    const armed = (this.#gen << WD_GEN_SHIFT) | phase;
    const rel = Math.ceil(deadline - this.spec.epoch);
    Atomics.store(this.#wd, WD_DEADLINE, Math.min(rel, 2 ** 31 - 1));
    Atomics.store(this.#wd, WD_STATE, armed);
    return armed;
  }

  /** Disarms: WD_IDLE, or how the watchdog fired first (WD_TIMEOUT, WD_EXIT). */
  #disarm(armed: number): number {
    const idle = armed & ~7;
    const was = Atomics.compareExchange(this.#wd, WD_STATE, armed, idle);
    if (was === armed) return WD_IDLE;
    // seen: a worker dropping the stdin pipe for a blocked write stops on this
    Atomics.store(this.#wd, WD_STATE, idle);
    return was & 7;
  }

  /** The watchdog's state of the current arming (WD_IDLE when not fired). */
  #fired(): number {
    const s = Atomics.load(this.#wd, WD_STATE) & 7;
    return s === WD_TIMEOUT || s === WD_EXIT ? s : WD_IDLE;
  }

  /** One blocking read into the buffer (the caller armed the watchdog); strips tokens. */
  #readOnce(): void {
    const room = this.lines.space(READ_CHUNK);
    let n: number | null;
    try {
      n = this.#out.readSync(room);
    } catch {
      n = null;
    }
    if (n === null || n === 0) {
      this.#eof = true;
      return;
    }
    this.lines.commit(n);
    this.#strip(n);
  }

  /** Removes the complete tokens that may overlap the last `n` bytes read. */
  #strip(n: number): void {
    let from = Math.max(0, this.lines.buffered - n - (TOKEN_BYTES - 1));
    for (;;) {
      const v = this.lines.view;
      const at = v.indexOf(0, from);
      if (at < 0 || v.length - at < TOKEN_BYTES) return;
      let hit = true;
      for (let i = 1; i < TOKEN_PREFIX_BYTES && hit; i++) hit = v[at + i] === this.#prefix[i];
      if (!hit) {
        from = at + 1;
        continue;
      }
      const kind = v[at + TOKEN_PREFIX_BYTES];
      const num = parseInt(
        decoder.decode(v.subarray(at + TOKEN_PREFIX_BYTES + 1, at + TOKEN_BYTES - 1)),
        16,
      );
      this.lines.cut(at, at + TOKEN_BYTES);
      from = at;
      if (kind === W) {
        if (num === this.#gen && this.#fired() !== WD_IDLE) this.#woken = true;
        else if (this.#strayWakes > 0) this.#strayWakes--;
      } else if (kind === D) {
        if (num === this.#drainWanted) this.#drainSeen = true;
        else if (this.#strayDrains > 0) this.#strayDrains--;
      }
    }
  }

  /**
   * Bytes at the end of the buffer that may be the start of a token still
   * arriving (only while one is on its way): not data yet.
   */
  #heldBack(): number {
    if (
      this.#drainWanted === undefined && this.#strayWakes === 0 && this.#strayDrains === 0 &&
      this.#fired() === WD_IDLE
    ) return 0;
    const v = this.lines.view;
    for (let k = Math.min(TOKEN_BYTES - 1, v.length); k > 0; k--) {
      let hit = true;
      for (let i = 0; i < k && i < TOKEN_PREFIX_BYTES && hit; i++) {
        hit = v[v.length - k + i] === this.#prefix[i];
      }
      if (hit) return k;
    }
    return 0;
  }

  /** Reads until `take` returns something, the watchdog armed with `deadline` (epoch ms). */
  #until<T>(take: () => T | undefined, deadline: number): T | Ended {
    const ready = take();
    if (ready !== undefined) return ready;
    if (this.#eof) return "eof";
    const armed = this.#arm(WD_READ, deadline);
    this.#woken = false;
    try {
      for (;;) {
        this.#readOnce();
        const fired = this.#fired();
        const got = take();
        if (got !== undefined) return got;
        if (this.#eof) return "eof";
        if (fired === WD_TIMEOUT) return "timeout";
        // everything the process wrote before it exited comes before the token
        if (fired === WD_EXIT && this.#woken) return "exited";
      }
    } finally {
      if (this.#disarm(armed) !== WD_IDLE && !this.#woken) this.#strayWakes++;
    }
  }

  /**
   * Waits for the wrapper's first byte: "ready" (it runs the program now),
   * "missing" (no such program), or why it never came.
   */
  awaitReady(deadline: number): "ready" | "missing" | Ended {
    const got = this.#until(() => this.lines.takeBytes(1, this.#heldBack()), deadline);
    if (!(got instanceof Uint8Array)) return got;
    if (got[0] === N) return "missing";
    if (got[0] !== R) return "eof";
    for (const h of this.#holds) closeQuietly(h);
    this.#holds = [];
    return "ready";
  }

  /** Writes `data` itself (at most {@link DIRECT_WRITE_MAX} bytes); "timeout" if it blocked too long. */
  write(data: Uint8Array, deadline: number): "timeout" | undefined {
    if (this.stdinClosed || data.length === 0) return undefined;
    const armed = this.#arm(WD_WRITE, deadline);
    try {
      let done = 0;
      while (done < data.length) done += this.#in.writeSync(data.subarray(done));
    } catch {
      // a broken pipe: the process closed its stdin (or exited); the read says which
      this.stdinClosed = true;
    }
    return this.#disarm(armed) === WD_TIMEOUT ? "timeout" : undefined;
  }

  /** Waits until the worker finished write `seq`; false when `deadline` passed first. */
  awaitWrite(seq: number, deadline: number): boolean {
    for (;;) {
      const cur = Atomics.load(this.#wd, WD_WRITE_SEQ);
      if (cur === seq) {
        if (Atomics.load(this.#wd, WD_WRITE_FAILED) !== 0) this.stdinClosed = true;
        return true;
      }
      const left = deadline - epochNow();
      if (left <= 0) return false;
      Atomics.wait(this.#wd, WD_WRITE_SEQ, cur, left);
    }
  }

  /** The next `count` lines that are not notices. */
  readLines(count: number, deadline: number): { data: Uint8Array; lines: number } | Ended {
    return this.#until(() => this.lines.takeLines(count), deadline);
  }

  /** Exactly `count` bytes. */
  readBytes(count: number, deadline: number): Uint8Array | Ended {
    return this.#until(() => this.lines.takeBytes(count, this.#heldBack()), deadline);
  }

  /**
   * Every complete line received: with `pull`, first everything the process
   * wrote so far (`requestToken(n)` has the worker write drain token n behind
   * it, and this reads up to it); without, only what was already read.
   */
  drain(
    pull: boolean,
    requestToken: (n: number) => void,
    deadline: number,
  ): { data: Uint8Array; lines: number } | "timeout" {
    if (pull && !this.#eof) {
      const n = (this.#drains = (this.#drains + 1) >>> 0);
      this.#drainWanted = n;
      this.#drainSeen = false;
      requestToken(n);
      try {
        const r = this.#until(() => this.#drainSeen ? true : undefined, deadline);
        if (r === "timeout") return r;
      } finally {
        if (!this.#drainSeen) this.#strayDrains++;
        this.#drainWanted = undefined;
      }
    }
    return this.lines.takeAllLines();
  }

  /** Closes the main thread's ends and removes the pipes. */
  close(): void {
    for (const f of [...this.#holds, this.#in, this.#out]) closeQuietly(f);
    this.#holds = [];
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch {
      // removed
    }
  }
}
