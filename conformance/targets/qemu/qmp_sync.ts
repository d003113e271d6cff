/**
 * QMP, synchronously, over a {@link ProcessBridge} channel: the greeting and
 * capabilities negotiation, commands with a timeout per reply, and the events
 * QEMU sends in between (set aside as they arrive, in order).
 *
 * QEMU writes an event into the monitor's output before the reply of any
 * command it handles afterwards, so an event caused by an action (e.g.
 * `BALLOON_CHANGE` after the driver writes `actual`) is in hand after the
 * next command's reply; {@link SyncQmp.waitEvent} relies on that, and polls
 * only for events QEMU delays on purpose (it sends `BALLOON_CHANGE` at most
 * about once a second).
 *
 * @module
 */

import type { ProcessBridge } from "../bridge/process_bridge.ts";
import { TargetError } from "../bridge/target_error.ts";
import type { QmpEvent } from "./qmp.ts";

export type { QmpEvent } from "./qmp.ts";

/** Options of {@link SyncQmp}. */
export interface SyncQmpOptions {
  /** The bridge channel that carries QMP (default "qmp"). */
  readonly channel?: string;
  /** Timeout of one reply in ms (default: the bridge's). */
  readonly timeoutMs?: number;
}

/** Options of {@link SyncQmp.waitEvent}. */
export interface WaitEventOptions {
  /** How long to wait in ms (default 3 s). */
  readonly timeoutMs?: number;
  /** Only an event whose data has these values. */
  readonly data?: Readonly<Record<string, unknown>>;
}

const POLL_MS = 20;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * A QMP session: construct it right after the process connected (it reads
 * the greeting and negotiates capabilities).
 */
export class SyncQmp {
  #bridge: ProcessBridge;
  #channel: string;
  #timeoutMs: number | undefined;
  #nextId = 1;
  #events: QmpEvent[] = [];
  /** QEMU's version as the greeting gives it (`major.minor.micro`). */
  readonly version: string;

  /** Reads the greeting and runs `qmp_capabilities`. */
  constructor(bridge: ProcessBridge, options: SyncQmpOptions = {}) {
    this.#bridge = bridge;
    this.#channel = options.channel ?? "qmp";
    this.#timeoutMs = options.timeoutMs;
    const greeting = this.#next("(greeting)");
    const qmp = greeting["QMP"] as { version?: { qemu?: Record<string, number> } } | undefined;
    if (qmp === undefined) {
      throw this.#bad(
        "(greeting)",
        JSON.stringify(greeting),
        "QEMU's first QMP line is not a greeting",
      );
    }
    const v = qmp.version?.qemu ?? {};
    this.version = `${v["major"] ?? "?"}.${v["minor"] ?? "?"}.${v["micro"] ?? "?"}`;
    this.execute("qmp_capabilities");
  }

  #bad(sent: string, received: string, message: string): TargetError {
    let stderrTail: string;
    try {
      stderrTail = this.#bridge.stderrTail();
    } catch {
      stderrTail = "(the bridge could not say)";
    }
    return new TargetError({
      kind: "bad-reply",
      target: this.#bridge.label,
      message,
      sent,
      received,
      pid: this.#bridge.pid,
      stderrTail,
    });
  }

  #parse(sent: string, line: string): Record<string, unknown> {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      throw this.#bad(sent, line, "QEMU sent a QMP line that is not JSON");
    }
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
      throw this.#bad(sent, line, "QEMU sent a QMP line that is not a JSON object");
    }
    return msg as Record<string, unknown>;
  }

  /** The next message that is not an event (events are set aside). */
  #next(sent: string, payload = ""): Record<string, unknown> {
    let data = payload;
    for (;;) {
      const [line] = this.#bridge.call(this.#channel, data, {
        lines: 1,
        ...(this.#timeoutMs === undefined ? {} : { timeoutMs: this.#timeoutMs }),
      });
      data = "";
      const msg = this.#parse(sent, line as string);
      if (typeof msg["event"] === "string") this.#events.push(msg as unknown as QmpEvent);
      else return msg;
    }
  }

  /**
   * Runs a command and returns its `return` value. A QMP error reply is a
   * {@link TargetError} of kind `refused` with QEMU's class and description.
   */
  execute(command: string, args: Readonly<Record<string, unknown>> = {}): unknown {
    if (!/^[a-z][a-z0-9_-]*$/i.test(command)) {
      throw new RangeError(`Invalid QMP command: ${JSON.stringify(command)}, expected a name`);
    }
    const id = this.#nextId++;
    const msg = Object.keys(args).length > 0
      ? { execute: command, arguments: args, id }
      : { execute: command, id };
    const text = JSON.stringify(msg);
    const reply = this.#next(text, text + "\n");
    if (reply["id"] !== id) {
      throw this.#bad(
        text,
        JSON.stringify(reply),
        `QEMU answered QMP command ${id} with another id`,
      );
    }
    if ("error" in reply) {
      const err = reply["error"] as { class?: string; desc?: string };
      throw new TargetError({
        kind: "refused",
        target: this.#bridge.label,
        message: `QMP ${command} failed: ${err.class ?? "Error"}: ${err.desc ?? "no description"}`,
        sent: text,
        received: JSON.stringify(reply),
        pid: this.#bridge.pid,
      });
    }
    if (!("return" in reply)) {
      throw this.#bad(text, JSON.stringify(reply), "QEMU's QMP reply has neither return nor error");
    }
    return reply["return"];
  }

  /** Events received so far and not yet taken, oldest first. */
  takeEvents(): QmpEvent[] {
    for (const line of this.#bridge.drain(this.#channel)) {
      const msg = this.#parse("(events)", line);
      if (typeof msg["event"] === "string") this.#events.push(msg as unknown as QmpEvent);
      else throw this.#bad("(events)", line, "QEMU sent a QMP reply nobody asked for");
    }
    return this.#events.splice(0);
  }

  /**
   * Waits for an event named `name` (and matching `options.data`), asking
   * QEMU `query-status` every 20 ms so events it already sent are read; the
   * events taken meanwhile that do not match stay for {@link takeEvents}.
   * Returns `undefined` when none came within the timeout.
   */
  waitEvent(name: string, options: WaitEventOptions = {}): QmpEvent | undefined {
    const deadline = performance.now() + (options.timeoutMs ?? 3_000);
    const matches = (e: QmpEvent) =>
      e.event === name &&
      Object.entries(options.data ?? {}).every(([k, v]) => e.data?.[k] === v);
    for (;;) {
      this.execute("query-status");
      const at = this.#events.findIndex(matches);
      if (at >= 0) return this.#events.splice(at, 1)[0];
      if (performance.now() >= deadline) return undefined;
      sleepSync(POLL_MS);
    }
  }
}
