/**
 * The worker behind {@link ProcessBridge}: it owns one child process, its
 * channels (stdin/stdout or unix sockets the child connects to) and all the
 * asynchronous I/O, and answers the main thread's requests through shared
 * memory (see `_protocol.ts`). It stops the child only by the child's own
 * pid.
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
  type OpenRequest,
  type ProcessStatus,
  type ReadSpec,
  type ReplyHeader,
} from "./_protocol.ts";

import { parentPort } from "node:worker_threads";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NEWLINE = 10;
/** After the child exits, how long a channel may still deliver data before a pending read fails. */
const EXIT_DRAIN_MS = 150;
/** How long the stop waits for the child after SIGKILL. */
const KILL_WAIT_MS = 5_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One byte stream to the child. */
class Channel {
  readonly name: string;
  readonly prefixes: readonly Uint8Array[];
  #buf = new Uint8Array(65536);
  #len = 0;
  closed = false;
  notices: string[] = [];
  #write: (data: Uint8Array) => Promise<void>;
  #close: () => void;

  constructor(
    name: string,
    prefixes: readonly string[],
    io: { write: (data: Uint8Array) => Promise<void>; close: () => void },
  ) {
    this.name = name;
    this.prefixes = prefixes.map((p) => encoder.encode(p));
    this.#write = io.write;
    this.#close = io.close;
  }

  get buffered(): number {
    return this.#len;
  }

  append(chunk: Uint8Array): void {
    if (this.#len + chunk.length > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < this.#len + chunk.length) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  #isNotice(start: number, end: number): boolean {
    for (const p of this.prefixes) {
      if (end - start < p.length) continue;
      let hit = true;
      for (let i = 0; i < p.length && hit; i++) hit = this.#buf[start + i] === p[i];
      if (hit) return true;
    }
    return false;
  }

  /**
   * Takes up to `count` complete non-notice lines (notices go to `notices`);
   * returns the byte ranges [start, end) of the taken lines' text in the
   * buffer copy it returns, without their newlines.
   */
  takeLines(count: number): { data: Uint8Array; lines: number } | undefined {
    const ranges: [number, number][] = [];
    let at = 0;
    let consumed = 0;
    let notices = 0;
    while (ranges.length < count) {
      const nl = this.#buf.subarray(at, this.#len).indexOf(NEWLINE);
      if (nl < 0) break;
      const end = at + nl;
      const textEnd = end > at && this.#buf[end - 1] === 13 ? end - 1 : end;
      if (this.prefixes.length > 0 && this.#isNotice(at, textEnd)) {
        this.notices.push(decoder.decode(this.#buf.subarray(at, textEnd)));
        notices++;
      } else ranges.push([at, textEnd]);
      at = end + 1;
      consumed = at;
    }
    if (ranges.length < count) {
      // not enough yet: keep the lines, drop the notices already set aside
      if (notices > 0) this.#compactNoticesOnly(ranges, consumed);
      return undefined;
    }
    let size = ranges.reduce((n, [a, b]) => n + (b - a), 0) + ranges.length - 1;
    if (size < 0) size = 0;
    const out = new Uint8Array(size);
    let o = 0;
    for (const [i, [a, b]] of ranges.entries()) {
      if (i > 0) out[o++] = NEWLINE;
      out.set(this.#buf.subarray(a, b), o);
      o += b - a;
    }
    this.#drop(consumed);
    return { data: out, lines: ranges.length };
  }

  /**
   * Takes every complete line received, notices set aside, as long as the
   * lines taken (with a newline between two) stay within `maxBytes`: the
   * first line that would not fit stays, with all after it, for the next
   * take. One copy, one drop, however many lines.
   */
  takeLinesWithin(maxBytes: number): { data: Uint8Array; lines: number } {
    const ranges: [number, number][] = [];
    let at = 0;
    let consumed = 0;
    let size = 0;
    let noticeBytes = 0; // a notice goes into the reply's header, JSON-escaped: at most twice its length
    for (;;) {
      const nl = this.#buf.subarray(at, this.#len).indexOf(NEWLINE);
      if (nl < 0) break;
      const end = at + nl;
      const textEnd = end > at && this.#buf[end - 1] === 13 ? end - 1 : end;
      if (this.prefixes.length > 0 && this.#isNotice(at, textEnd)) {
        const cost = 2 * (textEnd - at) + 8;
        if (size + noticeBytes + cost > maxBytes) break;
        this.notices.push(decoder.decode(this.#buf.subarray(at, textEnd)));
        noticeBytes += cost;
      } else {
        const grown = size + (ranges.length > 0 ? 1 : 0) + (textEnd - at);
        if (grown + noticeBytes > maxBytes) break;
        ranges.push([at, textEnd]);
        size = grown;
      }
      at = end + 1;
      consumed = at;
    }
    const out = new Uint8Array(size);
    let o = 0;
    for (const [i, [a, b]] of ranges.entries()) {
      if (i > 0) out[o++] = NEWLINE;
      out.set(this.#buf.subarray(a, b), o);
      o += b - a;
    }
    this.#drop(consumed);
    return { data: out, lines: ranges.length };
  }

  /** Removes notice lines that were taken out, keeping the complete lines not yet asked for. */
  #compactNoticesOnly(ranges: [number, number][], consumed: number): void {
    if (consumed === 0) return;
    const kept = new Uint8Array(this.#buf.length);
    let o = 0;
    for (const [a, b] of ranges) {
      kept.set(this.#buf.subarray(a, b), o);
      o += b - a;
      kept[o++] = NEWLINE;
    }
    kept.set(this.#buf.subarray(consumed, this.#len), o);
    o += this.#len - consumed;
    this.#buf = kept;
    this.#len = o;
  }

  takeBytes(count: number): Uint8Array | undefined {
    if (this.#len < count) return undefined;
    const out = this.#buf.slice(0, count);
    this.#drop(count);
    return out;
  }

  /** What was received but not taken, for an error's "received". */
  peek(max: number): string {
    return decoder.decode(this.#buf.subarray(0, Math.min(this.#len, max)));
  }

  #drop(n: number): void {
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
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
    void failDead(p);
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

async function keepStderr(stream: ReadableStream<Uint8Array>): Promise<void> {
  try {
    for await (const chunk of stream) {
      const joined = new Uint8Array(stderrTail.length + chunk.length);
      joined.set(stderrTail);
      joined.set(chunk, stderrTail.length);
      stderrTail = joined.length > stderrBytes ? joined.slice(-stderrBytes) : joined;
    }
  } catch {
    // closed
  }
}

async function writeAll(conn: Deno.UnixConn, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) done += await conn.write(data.subarray(done));
}

function timeout(ms: number): Promise<"timeout"> {
  return sleep(ms).then(() => "timeout" as const);
}

async function open(req: OpenRequest): Promise<void> {
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
  try {
    child = new Deno.Command(req.command, {
      args: [...req.args],
      env: { ...req.env },
      ...(req.cwd === undefined ? {} : { cwd: req.cwd }),
      stdin: stdio === undefined ? "null" : "piped",
      stdout: "piped",
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
    exitStatus = s;
    if (pending !== undefined && pending.failAt === undefined) {
      pending.failAt = Date.now() + EXIT_DRAIN_MS;
      setTimeout(pump, EXIT_DRAIN_MS + 1);
    }
    return "exited" as const;
  });
  stderrDone = keepStderr(proc.stderr);
  const prefixes = (name: string) => req.noticePrefixes[name] ?? [];
  if (stdio !== undefined) {
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
  const got = c.takeLinesWithin(Math.max(0, area - DRAIN_HEADER_BYTES - noticeBytes()));
  reply({ seq, ok: true, lines: got.lines, notices: takeNotices() }, got.data);
}

async function cleanup(): Promise<void> {
  for (const c of channels.values()) c.close();
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
        reply({ seq: req.seq, ok: true, notices: takeNotices(), status: status() })
      );
      return;
    case "cancel":
      if (pending?.seq === req.seq) pending = undefined;
      return;
  }
});
