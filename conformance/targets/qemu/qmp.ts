/**
 * A small QMP client over QEMU's unix socket: capabilities negotiation,
 * commands with a timeout, and the events QEMU sends in between.
 *
 * @module
 */

/** A QMP event. */
export interface QmpEvent {
  /** Event name. */
  readonly event: string;
  /** Event data. */
  readonly data?: Record<string, unknown>;
  /** QEMU's timestamp. */
  readonly timestamp?: { seconds: number; microseconds: number };
}

/** A QMP connection. */
export class QmpClient {
  #conn: Deno.UnixConn;
  #buf = "";
  #pending: Record<string, unknown>[] = [];
  #waiters: (() => void)[] = [];
  #closed = false;
  #nextId = 1;
  /** Ids of commands waiting for their reply (a reply to any other id is stale: dropped). */
  #inflight = new Set<number>();
  /** Events received so far. */
  readonly events: QmpEvent[] = [];

  private constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
    this.#pump();
  }

  /**
   * Connects (retrying until `timeoutMs`, or until `gone()` says the QEMU
   * behind the socket has exited), reads the greeting and enters command mode.
   */
  static async connect(
    path: string,
    timeoutMs: number,
    gone: () => boolean = () => false,
  ): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      if (gone()) {
        throw new Error(
          `QEMU exited before its QMP socket answered${
            last === undefined ? "" : ` (last: ${(last as Error).message ?? last})`
          }`,
        );
      }
      let c: QmpClient | undefined;
      try {
        const conn = await Deno.connect({ transport: "unix", path });
        c = new QmpClient(conn);
        const greeting = await c.#next(Math.max(1000, deadline - Date.now()));
        if (!("QMP" in greeting)) {
          throw new Error(`Unexpected QMP greeting: ${JSON.stringify(greeting)}`);
        }
        await c.execute("qmp_capabilities", {}, 5000);
        return c;
      } catch (e) {
        // QEMU serves one monitor client at a time: a half-open one would block the retry
        c?.close();
        // a missing permission will not come later: say so at once
        if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
          throw new Error(`Cannot connect to QMP at ${path}: ${e.message}`);
        }
        last = e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(
      `Cannot connect to QMP at ${path} within ${timeoutMs} ms: ${
        (last as Error)?.message ?? last
      }`,
    );
  }

  async #pump(): Promise<void> {
    const dec = new TextDecoder();
    const chunk = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        this.#buf += dec.decode(chunk.subarray(0, n), { stream: true });
        let nl: number;
        while ((nl = this.#buf.indexOf("\n")) >= 0) {
          const line = this.#buf.slice(0, nl).trim();
          this.#buf = this.#buf.slice(nl + 1);
          if (line === "") continue;
          const msg = JSON.parse(line) as Record<string, unknown>;
          if (typeof msg["event"] === "string") this.events.push(msg as unknown as QmpEvent);
          else this.#pending.push(msg);
          for (const w of this.#waiters.splice(0)) w();
        }
      }
    } catch {
      // connection closed or reset: the waiters see #closed
    }
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w();
  }

  /** The next message (the greeting), or with `id`, the reply to that command. */
  async #next(timeoutMs: number, id?: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    const mine = () => {
      if (id === undefined) return this.#pending.length > 0 ? 0 : -1;
      // drop stale replies (to commands that timed out), keep those of commands still waiting
      this.#pending = this.#pending.filter((p) =>
        typeof p["id"] === "number" && this.#inflight.has(p["id"])
      );
      return this.#pending.findIndex((p) => p["id"] === id);
    };
    let at: number;
    while ((at = mine()) < 0) {
      if (this.#closed) throw new Error("QMP connection closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No QMP answer within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return this.#pending.splice(at, 1)[0] as Record<string, unknown>;
  }

  /** Runs a command; resolves with its `return` value, rejects with its `error`. */
  async execute(
    command: string,
    args: Record<string, unknown> = {},
    timeoutMs = 10_000,
  ): Promise<unknown> {
    const id = this.#nextId++;
    const msg = Object.keys(args).length > 0
      ? { execute: command, arguments: args, id }
      : { execute: command, id };
    this.#inflight.add(id);
    let reply: Record<string, unknown>;
    try {
      await this.#conn.write(new TextEncoder().encode(JSON.stringify(msg) + "\n"));
      reply = await this.#next(timeoutMs, id);
    } catch (e) {
      throw new Error(`QMP ${command}: ${(e as Error).message}`);
    } finally {
      this.#inflight.delete(id);
    }
    if ("error" in reply) {
      const err = reply["error"] as { class?: string; desc?: string };
      throw new Error(
        `QMP ${command} failed: ${err.class ?? "Error"}: ${err.desc ?? JSON.stringify(err)}`,
      );
    }
    return reply["return"];
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}
