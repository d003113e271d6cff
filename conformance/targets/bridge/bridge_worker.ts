/**
 * The worker behind {@link ProcessBridge}: it owns one child process, its
 * channels (stdin/stdout or unix sockets the child connects to) and all the
 * asynchronous I/O, and answers the main thread's requests through shared
 * memory (see `_protocol.ts`). It stops the child only by the child's own
 * pid.
 *
 * When the main thread speaks the stdio channel itself (named pipes, see
 * `_direct_stdio.ts`), the worker starts the child through a small `sh`
 * wrapper that opens the pipes as its stdin and stdout and `exec`s it (same
 * pid), keeps its stderr and exit status, and is the main thread's
 * watchdog: a timer checks the armed deadline and, when it passes or the
 * child exits, unblocks the main thread (see {@link fire}).
 *
 * @module
 */

import {
  type BridgeRequest,
  type CallRequest,
  type ChannelSpec,
  CTL_HEADER,
  CTL_PAYLOAD,
  CTL_SEQ,
  type DirectSpec,
  type OpenRequest,
  type ProcessStatus,
  type ReadSpec,
  type ReplyHeader,
  wakeToken,
  WD_DEADLINE,
  WD_EXIT,
  WD_GEN_SHIFT,
  WD_READ,
  WD_STATE,
  WD_TIMEOUT,
  WD_WRITE,
  WD_WRITE_FAILED,
  WD_WRITE_SEQ,
  type WriteRequest,
} from "./_protocol.ts";

import { LineBuffer } from "./_lines.ts";
import { parentPort } from "node:worker_threads";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** After the child exits, how long a channel may still deliver data before a pending read fails. */
const EXIT_DRAIN_MS = 150;
/** How long the stop waits for the child after SIGKILL. */
const KILL_WAIT_MS = 5_000;
/** How often the watchdog looks at the armed deadline when none is near (ms). */
const WATCH_MS = 20;

/**
 * `sh -c WRAPPER sh STDIN STDOUT COMMAND ARGS…`: opens the named pipes as
 * stdin and stdout, writes one byte to stdout, `R` before it `exec`s the
 * command (same pid, nothing else of the shell stays) or `N` when there is
 * no such program to run (a spawn error, as `Deno.Command` would throw).
 */
const WRAPPER = `exec <"$1" >"$2" || exit 125
shift 2
case $1 in
  */*) [ -f "$1" ] && [ -x "$1" ] ;;
  *) command -v -- "$1" >/dev/null 2>&1 ;;
esac || { printf N; exit 127; }
printf R
exec "$@"`;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One byte stream to the child: its receive buffer, and how to write to it and close it. */
class Channel extends LineBuffer {
  readonly name: string;
  closed = false;
  #write: (data: Uint8Array) => Promise<void>;
  #close: () => void;

  constructor(
    name: string,
    prefixes: readonly string[],
    io: { write: (data: Uint8Array) => Promise<void>; close: () => void },
  ) {
    super(prefixes);
    this.name = name;
    this.#write = io.write;
    this.#close = io.close;
  }

  write(data: Uint8Array): Promise<void> {
    return this.#write(data);
  }

  close(): void {
    this.closed = true;
    try {
      this.#close();
    } catch {
      // already closed
    }
  }
}

interface Pending {
  readonly seq: number;
  readonly channel: Channel;
  readonly read: ReadSpec;
  /** Set once the write finished. */
  written: boolean;
  /** Set after the child exited: the time pending reads give up. */
  failAt?: number;
}

let control: Int32Array | undefined;
let requestArea: Uint8Array | undefined;
let replyArea: Uint8Array | undefined;
let child: Deno.ChildProcess | undefined;
let pid = 0;
let exitStatus: Deno.CommandStatus | undefined;
let stderrBytes = 8192;
let stderrTail = new Uint8Array(0);
let stderrDone: Promise<void> = Promise.resolve();
const channels = new Map<string, Channel>();
let socketPaths: string[] = [];
let listeners: Deno.UnixListener[] = [];
let pending: Pending | undefined;
let direct: DirectSpec | undefined;
/** Direct stdio: the watchdog words. */
let wd: Int32Array | undefined;
/** Direct stdio: the worker's own end of the child's stdin, for large writes. */
let directIn: Deno.FsFile | undefined;
let watchTimer: ReturnType<typeof setTimeout> | undefined;
/** Whether the child's stderr has ended (all of it kept). */
let stderrEnded = false;
/** Asynchronous requests of this child still running (a worker is reused only with none). */
let inflight = 0;

/** Forgets the previous child: a reused worker starts each open from here. */
function reset(): void {
  child = undefined;
  pid = 0;
  exitStatus = undefined;
  stderrTail = new Uint8Array(0);
  stderrDone = Promise.resolve();
  stderrEnded = false;
  channels.clear();
  socketPaths = [];
  listeners = [];
  pending = undefined;
  direct = undefined;
  wd = undefined;
  directIn = undefined;
  if (watchTimer !== undefined) clearTimeout(watchTimer);
  watchTimer = undefined;
  inflight = 0;
}

/**
 * Whether this worker can serve another bridge: its child exited and was
 * reaped, its stderr ended, and nothing it started is still running.
 */
function reusable(): boolean {
  return child !== undefined && exitStatus !== undefined && stderrEnded && inflight === 0 &&
    pending === undefined;
}

/** Runs `fn` counted as in flight. */
async function counted(fn: () => Promise<void>): Promise<void> {
  inflight++;
  try {
    await fn();
  } finally {
    inflight--;
  }
}

function status(): ProcessStatus {
  return {
    pid,
    exited: exitStatus !== undefined,
    ...(exitStatus === undefined ? {} : { code: exitStatus.code }),
    ...((exitStatus?.signal ?? null) === null ? {} : { signal: String(exitStatus?.signal) }),
    stderrTail: decoder.decode(stderrTail),
  };
}

/** Room kept in the reply area for a drain's header, besides its notices. */
const DRAIN_HEADER_BYTES = 4096;

/** The size of the notices set aside so far, as a reply header holds them JSON-escaped (a bound). */
function noticeBytes(): number {
  let n = 0;
  for (const c of channels.values()) for (const x of c.notices) n += 2 * x.length + 8;
  return n;
}

function takeNotices(): string[] {
  const out: string[] = [];
  for (const c of channels.values()) out.push(...c.notices.splice(0));
  return out;
}

/** Writes a reply into the shared area and wakes the main thread. */
function reply(header: ReplyHeader, payload: Uint8Array = new Uint8Array(0)): void {
  if (control === undefined || replyArea === undefined) return;
  let head = encoder.encode(JSON.stringify(header));
  if (head.length + payload.length > replyArea.length) {
    head = encoder.encode(JSON.stringify(
      {
        seq: header.seq,
        ok: false,
        kind: "overflow",
        message: `The reply of ${
          head.length + payload.length
        } bytes exceeds the bridge's reply area of ${replyArea.length} bytes`,
        notices: header.notices,
        status: status(),
      } satisfies ReplyHeader,
    ));
    payload = new Uint8Array(0);
  }
  replyArea.set(head, 0);
  replyArea.set(payload, head.length);
  Atomics.store(control, CTL_HEADER, head.length);
  Atomics.store(control, CTL_PAYLOAD, payload.length);
  Atomics.store(control, CTL_SEQ, header.seq);
  Atomics.notify(control, CTL_SEQ);
}

function fail(
  seq: number,
  kind: string,
  message: string,
  received?: string,
): void {
  reply({
    seq,
    ok: false,
    kind,
    message,
    ...(received === undefined || received === "" ? {} : { received }),
    notices: takeNotices(),
    status: status(),
  });
}

/** Tries to complete the pending call; fails it when its channel can deliver no more. */
function pump(): void {
  const p = pending;
  if (p === undefined || !p.written) return;
  const c = p.channel;
  if (p.read.kind === "none") {
    pending = undefined;
    reply({ seq: p.seq, ok: true, notices: takeNotices() });
    return;
  }
  if (p.read.kind === "lines") {
    const got = c.takeLines(p.read.count);
    if (got !== undefined) {
      pending = undefined;
      reply({ seq: p.seq, ok: true, lines: got.lines, notices: takeNotices() }, got.data);
      return;
    }
  } else {
    const got = c.takeBytes(p.read.count);
    if (got !== undefined) {
      pending = undefined;
      reply({ seq: p.seq, ok: true, notices: takeNotices() }, got);
      return;
    }
  }
  const dead = c.closed || (p.failAt !== undefined && Date.now() >= p.failAt);
  if (dead) {
    pending = undefined;
    void counted(() => failDead(p));
  }
}

/** Fails a call whose channel is gone, once the exit status and stderr are in (bounded waits). */
async function failDead(p: Pending): Promise<void> {
  if (child !== undefined && exitStatus === undefined) {
    await Promise.race([child.status, sleep(1000)]);
  }
  if (exitStatus !== undefined) await Promise.race([stderrDone, sleep(300)]);
  const received = p.channel.peek(4096);
  if (exitStatus !== undefined) {
    const how = exitStatus.signal !== null
      ? `killed by ${exitStatus.signal}`
      : `exit code ${exitStatus.code}`;
    fail(p.seq, "exited", `The process exited (${how}) before it answered`, received);
  } else {
    fail(p.seq, "closed", `Channel ${p.channel.name} closed before the process answered`, received);
  }
}

async function readInto(
  c: Channel,
  readable: { read(p: Uint8Array): Promise<number | null> },
): Promise<void> {
  const chunk = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await readable.read(chunk);
      if (n === null) break;
      c.append(chunk.subarray(0, n));
      pump();
    }
  } catch {
    // reset or closed by us: the channel is done
  }
  c.closed = true;
  pump();
}

async function readStream(c: Channel, stream: ReadableStream<Uint8Array>): Promise<void> {
  try {
    for await (const chunk of stream) {
      c.append(chunk);
      pump();
    }
  } catch {
    // closed
  }
  c.closed = true;
  pump();
}

async function keepStderr(
  proc: Deno.ChildProcess,
  stream: ReadableStream<Uint8Array>,
): Promise<void> {
  try {
    for await (const chunk of stream) {
      if (child !== proc) continue;
      const joined = new Uint8Array(stderrTail.length + chunk.length);
      joined.set(stderrTail);
      joined.set(chunk, stderrTail.length);
      stderrTail = joined.length > stderrBytes ? joined.slice(-stderrBytes) : joined;
    }
  } catch {
    // closed
  }
  if (child === proc) stderrEnded = true;
}

async function writeAll(conn: Deno.UnixConn, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) done += await conn.write(data.subarray(done));
}

function timeout(ms: number): Promise<"timeout"> {
  return sleep(ms).then(() => "timeout" as const);
}

async function open(req: OpenRequest): Promise<void> {
  reset();
  control = new Int32Array(req.control);
  requestArea = new Uint8Array(req.request);
  replyArea = new Uint8Array(req.reply);
  stderrBytes = req.stderrBytes;
  const stdio = req.channels.find((c) => c.kind === "stdio");
  const unix = req.channels.filter((c): c is Extract<ChannelSpec, { kind: "unix-listen" }> =>
    c.kind === "unix-listen"
  );
  try {
    for (const c of unix) {
      await Deno.remove(c.path).catch(() => {});
      listeners.push(Deno.listen({ transport: "unix", path: c.path }));
      socketPaths.push(c.path);
    }
  } catch (e) {
    fail(req.seq, "spawn", `Cannot listen for the process: ${(e as Error).message}`);
    await cleanup();
    return;
  }
  direct = req.direct;
  try {
    const d = req.direct;
    child = d === undefined
      ? new Deno.Command(req.command, {
        args: [...req.args],
        env: { ...req.env },
        ...(req.cwd === undefined ? {} : { cwd: req.cwd }),
        stdin: stdio === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn()
      : new Deno.Command("sh", {
        args: ["-c", WRAPPER, "sh", d.stdin, d.stdout, req.command, ...req.args],
        env: { ...req.env },
        ...(req.cwd === undefined ? {} : { cwd: req.cwd }),
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
  } catch (e) {
    fail(req.seq, "spawn", `Cannot start ${req.command}: ${(e as Error).message}`);
    await cleanup();
    return;
  }
  const proc = child;
  pid = proc.pid;
  const exited = proc.status.then((s) => {
    if (child !== proc) return "exited" as const;
    exitStatus = s;
    if (pending !== undefined && pending.failAt === undefined) {
      pending.failAt = Date.now() + EXIT_DRAIN_MS;
      setTimeout(pump, EXIT_DRAIN_MS + 1);
    }
    if (wd !== undefined) watch();
    return "exited" as const;
  });
  stderrDone = keepStderr(proc, proc.stderr);
  const prefixes = (name: string) => req.noticePrefixes[name] ?? [];
  if (req.direct !== undefined) {
    // the main thread holds both pipes open (read and write), so this open does not block
    try {
      directIn = await Deno.open(req.direct.stdin, { write: true });
    } catch (e) {
      await stop(0);
      fail(req.seq, "spawn", `Cannot open the stdin pipe: ${(e as Error).message}`);
      return;
    }
    wd = new Int32Array(req.direct.watchdog);
    watch();
  } else if (stdio !== undefined) {
    const writer = proc.stdin.getWriter();
    const c = new Channel(stdio.name, prefixes(stdio.name), {
      write: (d) => writer.write(d),
      close: () => void writer.close().catch(() => {}),
    });
    channels.set(stdio.name, c);
    void readStream(c, proc.stdout);
  } else {
    // nobody reads stdout: drain it so a chatty process never blocks on a full pipe
    void proc.stdout.pipeTo(new WritableStream()).catch(() => {});
  }
  const deadline = timeout(req.readyTimeoutMs);
  for (const [i, spec] of unix.entries()) {
    const listener = listeners[i] as Deno.UnixListener;
    const got = await Promise.race([listener.accept(), exited, deadline]).catch((e: Error) => e);
    if (got === "exited" || got === "timeout" || got instanceof Error) {
      const why = got === "timeout"
        ? `did not connect to ${spec.name} (${spec.path}) within ${req.readyTimeoutMs} ms`
        : got === "exited"
        ? `exited before it connected to ${spec.name} (${spec.path})`
        : `could not be accepted on ${spec.name}: ${got.message}`;
      if (got === "exited") await Promise.race([stderrDone, sleep(300)]);
      // stopped before the reply: the owner terminates this worker as soon as it reads it
      await stop(0);
      fail(req.seq, got === "timeout" ? "not-ready" : "exited", `The process ${why}`);
      return;
    }
    const conn = got;
    const c = new Channel(spec.name, prefixes(spec.name), {
      write: (d) => writeAll(conn, d),
      close: () => conn.close(),
    });
    channels.set(spec.name, c);
    void readInto(c, conn);
  }
  for (const l of listeners) l.close();
  listeners = [];
  for (const p of socketPaths) await Deno.remove(p).catch(() => {});
  socketPaths = [];
  reply({ seq: req.seq, ok: true, notices: [], status: status() });
}

function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The watchdog's check: while the main thread is armed, fires when the child
 * has exited or the deadline passed; then checks again within
 * {@link WATCH_MS} (sooner when the deadline is nearer).
 */
function watch(): void {
  if (watchTimer !== undefined) clearTimeout(watchTimer);
  watchTimer = undefined;
  const w = wd;
  const d = direct;
  if (w === undefined || d === undefined) return;
  let next = WATCH_MS;
  const s = Atomics.load(w, WD_STATE);
  const phase = s & 7;
  if (phase === WD_READ || phase === WD_WRITE) {
    if (exitStatus !== undefined) fire(w, d, s, WD_EXIT);
    else {
      const left = Atomics.load(w, WD_DEADLINE) - (epochNow() - d.epoch);
      if (left <= 0) fire(w, d, s, WD_TIMEOUT);
      else next = Math.max(1, Math.min(next, Math.ceil(left)));
    }
  }
  watchTimer = setTimeout(watch, next);
}

/**
 * Marks arming `armed` fired (`why`: timeout or exit) unless the main thread
 * disarmed it first, then unblocks the main thread: a blocked read by a
 * wake-up token written into the pipe it reads (after everything the child
 * wrote before it), a blocked write by reading (and dropping) the pipe it
 * writes until the main thread has seen the state.
 */
function fire(w: Int32Array, d: DirectSpec, armed: number, why: number): void {
  const fired = (armed & ~7) | why;
  if (Atomics.compareExchange(w, WD_STATE, armed, fired) !== armed) return;
  if ((armed & 7) === WD_READ) {
    void counted(() => writeToken(d, wakeToken(d.tokenPrefix, "W", armed >>> WD_GEN_SHIFT)));
  } else void counted(() => unblockWrite(w, d, fired));
}

/** Writes a token into the child's stdout pipe (the main thread reads it). */
async function writeToken(d: DirectSpec, token: Uint8Array): Promise<void> {
  try {
    // the main thread holds the read end until the bridge is closed: this open does not block
    const f = await Deno.open(d.stdout, { write: true });
    try {
      let done = 0;
      while (done < token.length) done += await f.write(token.subarray(done));
    } finally {
      f.close();
    }
  } catch {
    // the bridge is being closed
  }
}

async function unblockWrite(w: Int32Array, d: DirectSpec, fired: number): Promise<void> {
  try {
    const f = await Deno.open(d.stdin, { read: true });
    try {
      const sink = new Uint8Array(65536);
      while (Atomics.load(w, WD_STATE) === fired) {
        if (await f.read(sink) === null) break;
      }
    } finally {
      f.close();
    }
  } catch {
    // closed
  }
}

/** Direct stdio: a write too large for the main thread, announced in the watchdog words. */
async function directWrite(req: WriteRequest): Promise<void> {
  const data = (requestArea as Uint8Array).slice(0, req.length);
  const w = wd as Int32Array;
  let failed = 0;
  try {
    if (directIn === undefined) throw new Error("no stdin pipe");
    let done = 0;
    while (done < data.length) done += await directIn.write(data.subarray(done));
  } catch {
    failed = 1;
  }
  Atomics.store(w, WD_WRITE_FAILED, failed);
  Atomics.store(w, WD_WRITE_SEQ, req.seq);
  Atomics.notify(w, WD_WRITE_SEQ);
}

/** Replies the process state once its exit status and stderr are in (bounded waits). */
async function settle(seq: number): Promise<void> {
  if (child !== undefined && exitStatus === undefined) {
    await Promise.race([child.status, sleep(1000)]);
  }
  if (exitStatus !== undefined) await Promise.race([stderrDone, sleep(300)]);
  reply({ seq, ok: true, notices: takeNotices(), status: status() });
}

function call(req: CallRequest): void {
  const c = channels.get(req.channel);
  if (c === undefined) {
    fail(req.seq, "unusable", `No channel named ${req.channel}`);
    return;
  }
  const data = (requestArea as Uint8Array).slice(0, req.length);
  const p: Pending = {
    seq: req.seq,
    channel: c,
    read: req.read,
    written: req.length === 0,
    ...(exitStatus === undefined ? {} : { failAt: Date.now() }),
  };
  pending = p;
  if (req.length > 0) {
    if (c.closed) {
      p.written = true;
      pump();
      return;
    }
    c.write(data).then(() => {
      p.written = true;
      pump();
    }, () => {
      // a failed write means the channel is gone: the read fails the same way
      c.closed = true;
      p.written = true;
      pump();
    });
  } else pump();
}

function drain(seq: number, channel: string): void {
  const c = channels.get(channel);
  if (c === undefined) {
    fail(seq, "unusable", `No channel named ${channel}`);
    return;
  }
  // what fits in the reply area: the rest stays received for the next drain or call (taking it
  // all could overflow the area and lose the lines taken); the header and its notices aside
  const area = replyArea?.length ?? 0;
  const all = c.takeAllLines(Math.max(0, area - DRAIN_HEADER_BYTES - noticeBytes()));
  reply({ seq, ok: true, lines: all.lines, notices: takeNotices() }, all.data);
}

async function cleanup(): Promise<void> {
  for (const c of channels.values()) c.close();
  if (watchTimer !== undefined) clearTimeout(watchTimer);
  watchTimer = undefined;
  wd = undefined;
  try {
    directIn?.close();
  } catch {
    // closed
  }
  directIn = undefined;
  for (const l of listeners) {
    try {
      l.close();
    } catch {
      // closed
    }
  }
  listeners = [];
  for (const p of socketPaths) await Deno.remove(p).catch(() => {});
  socketPaths = [];
}

function kill(signal: Deno.Signal): void {
  if (child === undefined || exitStatus !== undefined) return;
  try {
    child.kill(signal);
  } catch {
    // exited in between
  }
}

async function stop(graceMs: number): Promise<void> {
  if (pending !== undefined) {
    const p = pending;
    pending = undefined;
    fail(p.seq, "unusable", "The bridge was stopped while a reply was awaited");
  }
  if (child !== undefined && exitStatus === undefined) {
    kill("SIGTERM");
    // a stopped process only acts on SIGTERM once it runs again
    kill("SIGCONT");
    await Promise.race([child.status, sleep(graceMs)]);
    if (exitStatus === undefined) {
      kill("SIGKILL");
      await Promise.race([child.status, sleep(KILL_WAIT_MS)]);
    }
  }
  await Promise.race([stderrDone, sleep(300)]);
  await cleanup();
}

if (parentPort === null) throw new Error("bridge_worker.ts runs only as a worker thread");
parentPort.on("message", (req: BridgeRequest) => {
  switch (req.op) {
    case "open":
      void open(req);
      return;
    case "call":
      call(req);
      return;
    case "drain":
      drain(req.seq, req.channel);
      return;
    case "status":
      reply({ seq: req.seq, ok: true, notices: takeNotices(), status: status() });
      return;
    case "signal":
      kill(req.signal);
      reply({ seq: req.seq, ok: true, notices: [], status: status() });
      return;
    case "stop":
      void stop(req.graceMs).then(() =>
        reply({
          seq: req.seq,
          ok: true,
          notices: takeNotices(),
          status: status(),
          reusable: reusable(),
        })
      );
      return;
    case "cancel":
      if (pending?.seq === req.seq) pending = undefined;
      return;
    case "write":
      void counted(() => directWrite(req));
      return;
    case "token":
      if (direct !== undefined) {
        const d = direct;
        void counted(() => writeToken(d, wakeToken(d.tokenPrefix, "D", req.seq)));
      }
      return;
    case "settle":
      void counted(() => settle(req.seq));
      return;
  }
});
