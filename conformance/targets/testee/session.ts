/**
 * One testee process and the NDJSON conversation with it: a
 * {@link ProcessBridge} on its stdin/stdout (stderr kept as its log), the
 * version handshake, and {@link TesteeSession.request}, which sends one
 * request and reads lines until the reply with its `seq` arrives, answering
 * the testee's `mem.read`s from the suite's guest memory, applying its
 * `mem.write`s and `mem.discard`s (each checked against RAM and recorded)
 * and queueing its `event`s meanwhile.
 *
 * Every line of a scenario, in both directions, is kept in a transcript; a
 * failure (a crash, a hang past the step timeout, a line the protocol does
 * not allow, a memory access outside RAM, an `errored` reply) is a
 * {@link TargetError} naming the message and field, with the last lines of
 * the transcript and of the testee's stderr, and breaks the session (the
 * next scenario starts a fresh process).
 *
 * @module
 */

import { GuestMemory } from "../../../impl/mod.ts";
import { UnsupportedScenarioError } from "../../model/ports.ts";
import { ProcessBridge } from "../bridge/process_bridge.ts";
import { TargetError } from "../bridge/target_error.ts";
import {
  checkTesteeLine,
  fromBase64,
  MEM_READ_MAX,
  MESSAGES,
  PROTOCOL_VERSION,
  ProtocolViolation,
  toBase64,
} from "./protocol.ts";

/** How to start a testee. */
export interface TesteeCommand {
  /** Program. */
  readonly command: string;
  /** Arguments. */
  readonly args?: readonly string[];
  /** Working directory. */
  readonly cwd?: string;
  /** Extra environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Options of {@link TesteeSession.start}. */
export interface TesteeSessionOptions extends TesteeCommand {
  /** The side under test. */
  readonly role: "device" | "driver";
  /** The profile of the cases. */
  readonly profile: string;
  /** Longest time one request may take, memory traffic included, in ms (default 5000). */
  readonly stepTimeoutMs?: number;
  /** Name in errors and reports. */
  readonly label?: string;
  /** Directory for transcripts of failed scenarios (default: a temporary directory). */
  readonly transcriptDir?: string;
  /** Which scenarios' transcripts are written: only failed ones (default) or every one. */
  readonly transcripts?: "errors" | "all";
}

/** One memory access of the testee, as the suite served it. */
export interface MemoryAccess {
  /** Kind. */
  readonly op: "read" | "write" | "discard";
  /** Guest physical address. */
  readonly addr: number;
  /** Bytes. */
  readonly len: number;
  /** The request being handled when it happened. */
  readonly during: string;
  /** Its position in the scenario's transcript. */
  readonly line: number;
}

/** An interrupt the testee raised. */
export type TesteeEvent = { readonly event: "used"; readonly queue: number } | {
  readonly event: "config";
};

/** What the testee said in its hello. */
export interface Hello {
  /** Protocol version. */
  readonly protocol: number;
  /** Its role. */
  readonly role: string;
  /** Its name. */
  readonly name: string;
  /** Optional host operations it implements. */
  readonly host: readonly string[];
  /** What its host.state reports. */
  readonly state: readonly string[];
  /** Whether it does all its work before replying (no settle needed). */
  readonly synchronous: boolean;
  /** Features it says it does not implement. */
  readonly unsupported: readonly string[];
  /** A driver: the byte order of the guest it is built for, if it names one. */
  readonly endian?: "le" | "be";
}

/** What {@link TesteeSession.onCall} returns to suspend the conversation at a call. */
export const SUSPEND: unique symbol = Symbol("suspend");
/** The type of {@link SUSPEND}. */
export type Suspend = typeof SUSPEND;

/** Where a conversation stands: the request's result, or a call it is suspended at. */
export type Exchange =
  | { readonly result: Record<string, unknown> }
  | {
    readonly suspended: {
      readonly op: string;
      readonly id: number;
      readonly msg: Record<string, unknown>;
    };
  };

/**
 * Requests the suite may pipeline ({@link TesteeSession.post}): their result
 * is empty, and while handling them a testee may write memory but must not
 * read it or raise events (what they start happens at the next `notify` or
 * `settle`).
 */
export const PIPELINED: readonly string[] = MESSAGES.filter((m) => m.pipelined).map((m) => m.op);

/** Lines of the transcript quoted in an error. */
const QUOTED_LINES = 6;
const QUOTE_CHARS = 200;
const DEFAULT_STEP_MS = 5_000;

/**
 * Splits a command line into words: whitespace separates, single and double
 * quotes group, backslash escapes (no variables, no globs).
 *
 * @example
 * ```ts
 * import { splitCommand } from "./session.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(splitCommand(`./dev --name 'my dev' "a b"`), ["./dev", "--name", "my dev", "a b"]);
 * ```
 */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let has = false;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      has = true;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (quote !== undefined) throw new SyntaxError(`unterminated ${quote} quote`);
  if (has) out.push(cur);
  return out;
}

function clip(s: string): string {
  return s.length <= QUOTE_CHARS ? s : `${s.slice(0, QUOTE_CHARS)}… (${s.length} characters)`;
}

/** A live testee process. */
export class TesteeSession {
  readonly #bridge: ProcessBridge;
  readonly #stepMs: number;
  readonly #label: string;
  readonly #transcriptDir: string | undefined;
  readonly #transcriptsAll: boolean;
  readonly #role: "device" | "driver";
  #seq = 1;
  #early: string[] = [];
  #outbox = "";
  #pending: { readonly op: string; readonly seq: number }[] = [];
  #broken: TargetError | undefined;
  #suspended: { readonly id: number; readonly target: number } | undefined;
  #transcript: string[] = [];
  /** The handshake, at the head of every scenario's transcript (a replay starts with it). */
  #helloLines: string[] = [];
  #scenario = "";
  /** Guest RAM of the current scenario (the suite's; the testee reaches it only by messages). */
  memory: GuestMemory = new GuestMemory({ pages: 1 });
  /** Interrupts raised and not yet delivered (when there is no {@link onEvent}). */
  readonly events: TesteeEvent[] = [];
  /**
   * Called with each interrupt as its line arrives, inside the request being
   * handled (the suite's driver takes an interrupt when it is raised, as a
   * real one does); it must not send requests.
   */
  onEvent: ((e: TesteeEvent) => void) | undefined;
  /** Called after each `mem.write` of the testee is applied (it must not send requests). */
  onWrite: ((addr: number, len: number) => void) | undefined;
  /**
   * Serves a driver testee's calls (`dev.*`, `guest.*`, `wait`, `sleep`):
   * returns the answer's fields for a call that has an answer, undefined for
   * one that has none, or {@link SUSPEND} to hand control back to the
   * caller of {@link start} / {@link resume} (`wait`, `sleep`), which answers
   * it later with {@link resume}. It throws a {@link ProtocolViolation}
   * naming the call and the field for a call it cannot serve.
   */
  onCall:
    | ((op: string, msg: Record<string, unknown>) => Record<string, unknown> | undefined | Suspend)
    | undefined;
  /** Every memory access of the current scenario. */
  accesses: MemoryAccess[] = [];
  /** The hello reply. */
  readonly hello: Hello;

  private constructor(bridge: ProcessBridge, options: TesteeSessionOptions) {
    this.#bridge = bridge;
    this.#stepMs = options.stepTimeoutMs ?? DEFAULT_STEP_MS;
    this.#label = options.label ?? bridge.label;
    this.#transcriptDir = options.transcriptDir;
    this.#transcriptsAll = options.transcripts === "all";
    this.#role = options.role;
    this.hello = {
      protocol: 0,
      role: "",
      name: "",
      host: [],
      state: [],
      synchronous: false,
      unsupported: [],
    };
  }

  /** Starts the process and exchanges hellos; throws a {@link TargetError} when it cannot. */
  static start(options: TesteeSessionOptions): TesteeSession {
    const bridge = ProcessBridge.spawn({
      command: options.command,
      args: options.args ?? [],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
      channels: [{ name: "io", kind: "stdio" }],
      replyTimeoutMs: options.stepTimeoutMs ?? DEFAULT_STEP_MS,
      ...(options.label === undefined ? {} : { label: options.label }),
    });
    const s = new TesteeSession(bridge, options);
    try {
      const r = s.request("hello", {
        protocol: PROTOCOL_VERSION,
        role: options.role,
        profile: options.profile,
      });
      if (r.protocol !== PROTOCOL_VERSION) {
        throw s.#fail(
          "bad-reply",
          `the reply to hello: field 'protocol' is ${r.protocol}, expected ${PROTOCOL_VERSION} (the version the suite speaks)`,
        );
      }
      if (r.role !== options.role) {
        throw s.#fail(
          "bad-reply",
          `the reply to hello: field 'role' is ${
            JSON.stringify(r.role)
          }, expected "${options.role}" (the side under test)`,
        );
      }
      s.#helloLines = [...s.#transcript];
      (s as { hello: Hello }).hello = {
        protocol: r.protocol as number,
        role: r.role as string,
        name: r.name as string,
        host: r.host as string[],
        state: (r.state as string[] | undefined) ?? [],
        synchronous: r.synchronous === true,
        unsupported: (r.unsupported as string[] | undefined) ?? [],
        ...(r.endian === undefined ? {} : { endian: r.endian as "le" | "be" }),
      };
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  }

  /** Whether an earlier failure broke the conversation (a new process is needed). */
  get broken(): boolean {
    return this.#broken !== undefined || this.#bridge.closed;
  }

  /** Whether the conversation waits for the answer to a call (a request left unfinished). */
  get suspended(): boolean {
    return this.#suspended !== undefined;
  }

  /** The process id. */
  get pid(): number {
    return this.#bridge.pid;
  }

  /** Every line of the current scenario: `> ` sent, `< ` received. */
  get transcript(): readonly string[] {
    return this.#transcript;
  }

  /** Starts a scenario: a fresh transcript, guest memory and access record, then `reset`. */
  begin(scenario: string, pages: number, endian: "le" | "be"): void {
    this.beginOn(scenario, new GuestMemory({ pages }), { endian });
  }

  /**
   * Starts a scenario on guest memory the caller owns (a driver testee's
   * guest): `reset` with the memory's size and `fields`.
   */
  beginOn(
    scenario: string,
    memory: GuestMemory,
    fields: { readonly endian: "le" | "be"; readonly poison?: number },
  ): void {
    this.#scenario = scenario;
    this.#transcript = [...this.#helloLines];
    this.accesses = [];
    this.events.length = 0;
    this.onEvent = undefined;
    this.onWrite = undefined;
    this.onCall = undefined;
    this.#suspended = undefined;
    this.memory = memory;
    this.post("reset", { pages: memory.pages, ...fields });
  }

  /**
   * Sends one request and returns its result, serving the testee's memory
   * messages and queueing its events until the reply comes. An `unsupported`
   * reply throws {@link UnsupportedScenarioError}; anything else that is not
   * a result throws a {@link TargetError}.
   */
  request(op: string, fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const x = this.start(op, fields);
    if ("result" in x) return x.result;
    throw this.#fail("bad-reply", `${x.suspended.op} from the testee while it handled ${op}`);
  }

  /**
   * Sends one request and serves what the testee sends until its reply, or
   * until a call {@link onCall} suspends at (answer it with {@link resume}).
   */
  start(op: string, fields: Readonly<Record<string, unknown>>): Exchange {
    const seq = this.#queue(op, fields);
    return this.#exchange(seq) as Exchange;
  }

  /** Answers the call the conversation is suspended at and goes on as {@link start} does. */
  resume(id: number, answer: Readonly<Record<string, unknown>>): Exchange {
    const at = this.#suspended;
    if (at === undefined || at.id !== id) {
      throw new Error(
        `No call ${id} is suspended (${at === undefined ? "none is" : `${at.id} is`})`,
      );
    }
    if (this.#broken !== undefined) throw this.#broken;
    this.#suspended = undefined;
    const line = JSON.stringify({ id, ...answer });
    this.#transcript.push(`> ${line}`);
    return this.#exchange(at.target, `${line}\n`) as Exchange;
  }

  /**
   * Sends a request without waiting for its reply (a pipelined request, see
   * {@link PIPELINED}): it goes out with the next request, and its reply is
   * read (and checked) before that one's. The testee may write memory while
   * it handles it, but must not read memory or raise events.
   */
  post(op: string, fields: Readonly<Record<string, unknown>>): void {
    this.#queue(op, fields);
  }

  /** Reads the replies of every request posted and not yet answered. */
  flush(): void {
    if (this.#pending.length > 0 && this.#broken === undefined) this.#exchange(undefined);
  }

  #queue(op: string, fields: Readonly<Record<string, unknown>>): number {
    if (this.#broken !== undefined) throw this.#broken;
    if (this.#early.length > 0) {
      throw this.#fail(
        "bad-reply",
        `the testee wrote a line after its reply, outside any request (events and memory messages belong inside one): ${
          clip(this.#early[0] as string)
        }`,
      );
    }
    const seq = this.#seq++;
    const line = JSON.stringify({ seq, op, ...fields });
    this.#outbox += `${line}\n`;
    this.#pending.push({ op, seq });
    this.#transcript.push(`> ${line}`);
    return seq;
  }

  /** Sends what is queued and reads until the reply of `target` (or every pending reply) is in. */
  #exchange(target: number | undefined, resumed?: string): Exchange | undefined {
    const deadline = performance.now() + this.#stepMs;
    let out = this.#outbox + (resumed ?? "");
    this.#outbox = "";
    for (;;) {
      const awaited = this.#pending[0];
      if (awaited === undefined) return undefined;
      const { op, seq } = awaited;
      const left = Math.max(1, Math.round(deadline - performance.now()));
      let got: string;
      try {
        if (out !== "" && this.#early.length > 0) {
          throw new ProtocolViolation(
            `the testee wrote a line after a mem.read before the suite answered it: ${
              clip(this.#early[0] as string)
            }`,
          );
        }
        const early = out === "" ? this.#early.shift() : undefined;
        got = early ?? (this.#bridge.call("io", out, { lines: 1, timeoutMs: left }))[0] ?? "";
      } catch (e) {
        if (e instanceof ProtocolViolation) throw this.#fail("bad-reply", e.message);
        if (!(e instanceof TargetError)) throw e;
        const what = e.kind === "timeout"
          ? `No reply to ${op} (seq ${seq}) from ${this.#label} within the step timeout of ${this.#stepMs} ms`
          : e.kind === "exited" || e.kind === "closed"
          ? `${this.#label} exited while the suite awaited the reply to ${op} (seq ${seq})${
            e.exitCode === undefined ? "" : ` (exit code ${e.exitCode})`
          }${e.signal === undefined ? "" : ` (signal ${e.signal})`}`
          : e.message.split(";")[0] as string;
        throw this.#fail(e.kind, what, { stderr: e.stderrTail });
      }
      out = "";
      this.#transcript.push(`< ${got}`);
      const last = seq === target && got.startsWith('{"seq"');
      // a line that is not the last and needs no answer comes with more: take what already arrived
      if (this.#early.length === 0 && !last && !got.includes('"id":')) {
        this.#early.push(...this.#drain());
      }
      try {
        const parsed = checkTesteeLine(got, { op, seq, role: this.#role });
        const pipelined = seq !== target;
        if (parsed.kind === "reply") {
          this.#pending.shift();
          const o = parsed.outcome;
          if ("result" in o) {
            if (!pipelined) return { result: o.result };
            continue;
          }
          if ("unsupported" in o) {
            throw new UnsupportedScenarioError(
              `the testee answered ${op} with unsupported: ${o.unsupported}`,
            );
          }
          // the testee is still in step: the scenario is an error, the process may go on
          throw this.#fail("refused", `the testee answered ${op} with errored: ${o.errored}`, {
            breaks: false,
          });
        }
        if (
          pipelined &&
          (parsed.kind === "event" || parsed.kind === "call" || parsed.op === "mem.read")
        ) {
          throw new ProtocolViolation(
            `${parsed.op} from the testee while it handled ${op} (seq ${seq}), which must not read memory or raise events (the suite sends the next request before its reply)`,
          );
        }
        if (parsed.kind === "event") {
          const m = parsed.msg;
          const ev: TesteeEvent = m.event === "used"
            ? { event: "used", queue: m.queue as number }
            : { event: "config" };
          if (this.onEvent !== undefined) this.onEvent(ev);
          else this.events.push(ev);
          continue;
        }
        if (parsed.kind === "call") {
          const serve = this.onCall;
          if (serve === undefined) {
            throw new ProtocolViolation(`${parsed.op} from the testee: no driver is listening`);
          }
          const answer = serve(parsed.op, parsed.msg);
          if (answer === SUSPEND) {
            this.#suspended = { id: parsed.msg.id as number, target: seq };
            return { suspended: { op: parsed.op, id: parsed.msg.id as number, msg: parsed.msg } };
          }
          if (answer === undefined) continue;
          const line = JSON.stringify({ id: parsed.msg.id, ...answer });
          this.#transcript.push(`> ${line}`);
          out = `${line}\n`;
          continue;
        }
        out = this.#memory(parsed.op, parsed.msg, op);
      } catch (e) {
        if (e instanceof ProtocolViolation) throw this.#fail("bad-reply", e.message);
        throw e;
      }
    }
  }

  /**
   * Lines that arrived and are not read yet (no request can be sent while
   * there are any): those the bridge has received, without a wait or a hop
   * to its worker when the bridge reads the testee's stdout itself.
   */
  #drain(): string[] {
    try {
      return this.#bridge.drain("io", { pull: false });
    } catch {
      return []; // the next call reports what is wrong
    }
  }

  /** Serves one memory message; returns the line to send back ("" for none). */
  #memory(op: string, m: Record<string, unknown>, during: string): string {
    const line = this.#transcript.length - 1;
    if (op === "mem.discard") {
      const pfn = m.pfn as number;
      const count = m.count as number;
      if (pfn + count > this.memory.pages) {
        throw new ProtocolViolation(
          `mem.discard from the testee: pages [${pfn}, +${count}) are outside guest RAM (${this.memory.pages} pages) (field 'pfn' and 'count')`,
        );
      }
      this.memory.discard(pfn, count);
      this.accesses.push({ op: "discard", addr: pfn * 4096, len: count * 4096, during, line });
      return "";
    }
    const addr = this.#address(op, m.addr as string);
    if (op === "mem.read") {
      const len = m.len as number;
      if (len > MEM_READ_MAX) {
        throw new ProtocolViolation(
          `mem.read from the testee: field 'len' is ${len}, expected at most ${MEM_READ_MAX}`,
        );
      }
      this.#inside(op, addr, len);
      this.accesses.push({ op: "read", addr, len, during, line });
      const data = toBase64(this.memory.read(addr, len));
      const answer = `{"id":${m.id},"data":"${data}"}`;
      this.#transcript.push(`> ${answer}`);
      return `${answer}\n`;
    }
    const data = fromBase64(m.data as string);
    this.#inside(op, addr, data.length);
    this.accesses.push({ op: "write", addr, len: data.length, during, line });
    this.memory.write(addr, data, this.#role === "driver" ? "driver" : "device");
    this.onWrite?.(addr, data.length);
    return "";
  }

  #address(op: string, hex: string): number {
    const a = BigInt(hex);
    if (a > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ProtocolViolation(
        `${op} from the testee: field 'addr' is ${hex}, outside guest RAM (${this.memory.bytes} bytes)`,
      );
    }
    return Number(a);
  }

  #inside(op: string, addr: number, len: number): void {
    if (!this.memory.contains(addr, len)) {
      throw new ProtocolViolation(
        `${op} from the testee: field 'addr' ${
          "0x" + addr.toString(16)
        } with length ${len} is outside guest RAM ([0, 0x${this.memory.bytes.toString(16)}))`,
      );
    }
  }

  /** Builds (and keeps, breaking the session) a failure with the transcript's last lines and the stderr tail. */
  #fail(
    kind: TargetError["kind"],
    message: string,
    options: { readonly stderr?: string | undefined; readonly breaks?: boolean } = {},
  ): TargetError {
    let tail = options.stderr;
    if (tail === undefined) {
      try {
        tail = this.#bridge.stderrTail();
      } catch {
        tail = "(unavailable)";
      }
    }
    const last = this.#transcript.slice(-QUOTED_LINES).map(clip);
    const file = this.#saveTranscript();
    const e = new TargetError({
      kind,
      target: this.#label,
      message: `${message}; last lines of the conversation: ${last.join(" | ")}${
        file === undefined ? "" : ` (every line of the scenario: ${file})`
      }`,
      stderrTail: tail,
      pid: this.#bridge.pid,
    });
    if (options.breaks !== false) this.#broken = e;
    return e;
  }

  /**
   * Writes the current scenario's transcript when every one is kept (a
   * target calls it when the scenario ends); returns its path.
   */
  keepTranscript(): string | undefined {
    return this.#transcriptsAll && this.#broken === undefined ? this.#saveTranscript() : undefined;
  }

  #saveTranscript(): string | undefined {
    try {
      const dir = this.#transcriptDir ?? Deno.makeTempDirSync({ prefix: "testee-transcript-" });
      Deno.mkdirSync(dir, { recursive: true });
      const name = (this.#scenario || "start").replace(/[^A-Za-z0-9_.-]/g, "_");
      const path = `${dir}/${name}.txt`;
      Deno.writeTextFileSync(path, this.#transcript.join("\n") + "\n");
      return path;
    } catch {
      return undefined;
    }
  }

  /** Stops the process (closing its stdin first, then by its pid). */
  close(): void {
    this.#bridge.close({ graceMs: 500 });
  }
}
