/**
 * The process driver target (`--driver-cmd "./my-driver"`): a balloon
 * driver in another process, in any language, with its own virtqueue code,
 * tested through the testee protocol's driver role. The suite plays the
 * device (its reference device, unmodified, as for every driver target),
 * the host and the guest: guest RAM, the page allocator and memory
 * pressure. The driver acts through calls (`dev.*` on the suite's
 * transport, `guest.*` on the suite's guest, `mem.*` on guest RAM) while it
 * handles the suite's requests (`probe`, `interrupt`, `remove`, `oom`, …),
 * and lets the device run with `wait` and `sleep`, so every driver case runs
 * unchanged on it and is judged from the same trace as an in-process
 * driver's.
 *
 * One long-lived process serves the run (each scenario starts with
 * `reset`); a process that failed (crash, hang, garbage, a call the suite
 * cannot serve) or that a scenario left inside a request is stopped, and the
 * next scenario starts a fresh one.
 *
 * @module
 */

import {
  type FeatureName,
  featuresOf,
  findFeature,
  PageSet,
  type ProfileId,
} from "../../../spec/mod.ts";
import {
  type GuestEnv,
  guestStatistics,
  MAX_ORDER,
  type MigrateType,
  type TaskBody,
  type Transport,
  WaitQueue,
} from "../../../impl/mod.ts";
import type { DriverContext, DriverTarget, DriverUnderTest } from "../../model/types.ts";
import { fromBase64, hex64, ProtocolViolation, runsOf, toBase64 } from "./protocol.ts";
import {
  type Exchange,
  SUSPEND,
  type Suspend,
  type TesteeEvent,
  TesteeSession,
} from "./session.ts";
import {
  commandOf,
  type ProcessTargetHandle,
  type ProcessTargetOptions,
  shellQuote,
} from "./target.ts";

/** Options of {@link processDriverTarget}. */
export type ProcessDriverTargetOptions = ProcessTargetOptions;

/** A driver target in another process, with a way to stop its process at the end of a run. */
export interface ProcessDriverTarget extends DriverTarget, ProcessTargetHandle {}

/** The optional requests a driver testee may list in its hello's `host`. */
const OPTIONAL = ["remove", "freeze", "restore", "migrate-page"] as const;

/**
 * A driver target whose driver runs in another process and speaks the
 * testee protocol's driver role on its stdin/stdout.
 *
 * @example
 * ```ts
 * import { processDriverTarget } from "./driver_target.ts";
 * import assert from "node:assert/strict";
 * const t = processDriverTarget({ command: "./examples/c/driver" });
 * assert.equal(t.name, "driver-cmd:./examples/c/driver");
 * assert.equal(t.rerunAs, "--driver-cmd ./examples/c/driver");
 * t.close();
 * ```
 */
export function processDriverTarget(options: ProcessDriverTargetOptions): ProcessDriverTarget {
  const { cmd, line } = commandOf(options.command);
  const profile = options.profile ?? "v3";
  let session: TesteeSession | undefined;
  let scenarios = 0;
  let declared: FeatureName[] | undefined;
  let endian: "le" | "be" = "le";
  const live = (): TesteeSession => {
    // the scenario before ended: keep its transcript (when every one is kept)
    if (session !== undefined && scenarios > 0) session.keepTranscript();
    if (session !== undefined && (session.broken || session.suspended)) {
      session.close();
      session = undefined;
    }
    if (session === undefined) {
      session = TesteeSession.start({
        ...cmd,
        role: "driver",
        profile,
        label: `${cmd.command.split("/").pop()}`,
        ...(options.stepTimeoutMs === undefined ? {} : { stepTimeoutMs: options.stepTimeoutMs }),
        ...(options.transcriptDir === undefined ? {} : { transcriptDir: options.transcriptDir }),
        ...(options.transcripts === undefined ? {} : { transcripts: options.transcripts }),
      });
      options.onStart?.(session.pid);
      declared = declaredUnsupported(session, profile);
      endian = session.hello.endian ?? "le";
    }
    return session;
  };
  /** Starts the process for its hello, once (the first scenario reports why it cannot start). */
  const hello = () => {
    if (declared !== undefined) return;
    try {
      live();
    } catch {
      declared = []; // planning tries once
    }
  };
  const create = (ctx: DriverContext): DriverUnderTest => {
    const s = live();
    scenarios++;
    s.beginOn(ctx.scenario ?? `scenario-${scenarios}`, ctx.guest.mem, {
      endian: ctx.transport.guestEndian,
      ...(ctx.guest.pagePoison === undefined ? {} : { poison: ctx.guest.pagePoison }),
    });
    return new TesteeDriver(s, ctx, profile).asDriver();
  };
  return {
    kind: "driver",
    name: options.name ?? `driver-cmd:${line}`,
    description: `a driver in another process over the testee protocol: ${line}`,
    profile,
    rerunAs: options.rerunAs ?? `--driver-cmd ${shellQuote(line)}`,
    /** What the hello declared (read when the suite plans the run: it starts the process). */
    get unsupported(): readonly FeatureName[] {
      hello();
      return declared ?? [];
    },
    /** The guest's byte order the hello names (default little-endian). */
    get guestEndian(): "le" | "be" {
      hello();
      return endian;
    },
    create,
    get session() {
      return session;
    },
    transcriptDir: options.transcriptDir,
    get opened() {
      return scenarios;
    },
    commandLine: line,
    close: () => {
      session?.keepTranscript();
      session?.close();
      session = undefined;
    },
  };
}

/** The hello's `unsupported`, checked against the profile's feature table. */
function declaredUnsupported(s: TesteeSession, profile: ProfileId): FeatureName[] {
  const out: FeatureName[] = [];
  for (const name of s.hello.unsupported) {
    if (findFeature(profile, name as FeatureName) === undefined) {
      s.close();
      throw new ProtocolViolation(
        `the reply to hello: field 'unsupported' names ${
          JSON.stringify(name)
        }, expected feature names of profile ${profile} (${
          featuresOf(profile).map((f) => f.name).join(", ")
        })`,
      );
    }
    out.push(name as FeatureName);
  }
  return out;
}

/** The suite's side of one scenario with a driver testee. */
class TesteeDriver {
  readonly #s: TesteeSession;
  readonly #t: Transport;
  readonly #g: GuestEnv;
  readonly #profile: ProfileId;
  readonly #faults: DriverContext["faults"];
  /** Interrupts raised and not yet given to the driver. */
  readonly #pending: TesteeEvent[] = [];
  /** The guest's frees the driver registered for (`guest.on-free`) and has not been told of. */
  readonly #freed: PageSet[] = [];
  readonly #raised = new WaitQueue("testee:interrupts");
  readonly #free = new WaitQueue("testee:idle");
  /** Pages the driver took with guest.alloc and has not given back. */
  readonly #owned = new PageSet();
  #busy = false;
  #delivery = false;
  #unregisterOom: (() => void) | undefined;
  #unregisterFree: (() => void) | undefined;
  /** Set while the suite frees pages for the driver (its own frees are not told back to it). */
  #freeing = false;

  constructor(s: TesteeSession, ctx: DriverContext, profile: ProfileId) {
    this.#s = s;
    this.#t = ctx.transport;
    this.#g = ctx.guest;
    this.#profile = profile;
    this.#faults = ctx.faults;
    s.onCall = (op, msg) => this.#call(op, msg);
    this.#t.setInterruptHandlers({
      used: (queue) => this.#interrupt({ event: "used", queue }),
      config: () => this.#interrupt({ event: "config" }),
    });
  }

  /** The driver under test, with the optional requests its hello lists. */
  asDriver(): DriverUnderTest {
    const has = new Set(this.#s.hello.host);
    const d: {
      -readonly [K in keyof DriverUnderTest]: DriverUnderTest[K];
    } = {
      probe: () => this.#ok("probe", { ...this.#faults }),
    };
    for (const op of OPTIONAL) {
      if (!has.has(op)) continue;
      if (op === "remove") d.remove = () => this.#command("remove", {}, () => undefined);
      if (op === "freeze") d.freeze = () => this.#command("freeze", {}, () => undefined);
      if (op === "restore") d.restore = () => this.#ok("restore", {});
      if (op === "migrate-page") d.migratePage = (pfn) => this.#ok("migrate-page", { pfn });
    }
    return d;
  }

  #ok(op: string, fields: Record<string, unknown>): TaskBody<boolean> {
    return this.#command(op, fields, (r) => r.ok === true);
  }

  #interrupt(e: TesteeEvent): void {
    this.#pending.push(e);
    this.#raised.wakeAll();
    this.#deliver();
  }

  /**
   * Hands pending interrupts (then the guest's frees) to an idle driver as
   * `interrupt` (and `freed`) requests, in a task of their own.
   */
  #deliver(): void {
    if (this.#busy || this.#delivery || (this.#pending.length === 0 && this.#freed.length === 0)) {
      return;
    }
    this.#delivery = true;
    this.#g.sched.spawn("driver:testee-interrupt", this.#deliveries());
  }

  *#deliveries(): TaskBody<void> {
    try {
      for (;;) {
        const e = this.#pending.shift();
        if (e !== undefined) {
          yield* this.#command("interrupt", { ...e }, () => undefined, true);
          continue;
        }
        const freed = this.#freed.shift();
        if (freed === undefined) return;
        yield* this.#command("freed", { pages: runsOf(freed) }, () => undefined, true);
      }
    } finally {
      this.#delivery = false;
    }
  }

  /**
   * One request: waits until the driver is idle, sends it, serves the
   * driver's calls, and lets the device run whenever the driver waits.
   */
  *#command<T>(
    op: string,
    fields: Record<string, unknown>,
    result: (r: Record<string, unknown>) => T,
    delivering = false,
  ): TaskBody<T> {
    while (this.#busy) yield { on: this.#free };
    this.#busy = true;
    try {
      let x: Exchange = this.#s.start(op, fields);
      while ("suspended" in x) {
        const { op: call, id, msg } = x.suspended;
        const sched = this.#g.sched;
        const start = sched.now;
        if (call === "sleep") {
          yield { sleep: msg.ms as number };
          x = this.#s.resume(id, { events: this.#pending.splice(0) });
          continue;
        }
        if (msg.ms === undefined) {
          // wait: for an interrupt
          while (this.#pending.length === 0) yield { on: this.#raised };
        } else {
          // with ms: the device runs at least what it can at once (ms 0: only that), then until
          // an interrupt or until that much of the guest's clock has passed
          const end = start + (msg.ms as number);
          do {
            yield { on: this.#raised, timeout: Math.max(0, end - sched.now) };
          } while (this.#pending.length === 0 && sched.now < end);
        }
        x = this.#s.resume(id, { events: this.#pending.splice(0), waited: sched.now - start });
      }
      return result(x.result);
    } finally {
      this.#busy = false;
      this.#free.wakeAll();
      if (!delivering) this.#deliver();
    }
  }

  #call(op: string, m: Record<string, unknown>): Record<string, unknown> | undefined | Suspend {
    try {
      return this.#serve(op, m);
    } catch (e) {
      if (e instanceof ProtocolViolation) throw e;
      throw new ProtocolViolation(`${op} from the testee: ${(e as Error).message}`);
    }
  }

  #serve(op: string, m: Record<string, unknown>): Record<string, unknown> | undefined | Suspend {
    const t = this.#t;
    const g = this.#g;
    switch (op) {
      case "dev.status.read":
        return { value: t.readStatus() };
      case "dev.status.write":
        t.writeStatus(m.value as number);
        return undefined;
      case "dev.features.read":
        return { value: hex64(t.readDeviceFeatures()) };
      case "dev.features.write":
        t.writeDriverFeatures(BigInt(m.value as string));
        return undefined;
      case "dev.config.read": {
        const data = t.readConfig(m.offset as number, m.length as number);
        return { data: toBase64(data), generation: t.configGeneration };
      }
      case "dev.config.write":
        t.writeConfig(m.offset as number, fromBase64(m.data as string));
        return undefined;
      case "dev.queue.max":
        return { size: t.device.queueMaxSize(m.queue as number) };
      case "dev.queue.setup": {
        const layout = {
          size: m.size as number,
          desc: this.#address(op, "desc", m.desc as string),
          avail: this.#address(op, "avail", m.avail as string),
          used: this.#address(op, "used", m.used as string),
        };
        const negotiated = t.negotiated;
        const bit = (name: FeatureName) => {
          const f = findFeature(this.#profile, name);
          return f !== undefined && (negotiated & (1n << BigInt(f.bit))) !== 0n;
        };
        t.setupQueue(m.queue as number, layout, {
          order: t.byteOrder,
          eventIdx: bit("EVENT_IDX"),
          indirect: bit("INDIRECT_DESC"),
        });
        return undefined;
      }
      case "dev.notify":
        t.notify(m.queue as number);
        return undefined;
      case "guest.alloc": {
        const type = m.type ?? "MOVABLE";
        if (type !== "MOVABLE" && type !== "UNMOVABLE" && type !== "RECLAIMABLE") {
          throw new ProtocolViolation(
            `guest.alloc from the testee: field 'type' is ${
              JSON.stringify(type)
            }, expected "MOVABLE", "UNMOVABLE" or "RECLAIMABLE"`,
          );
        }
        const got = m.contiguous === true
          ? this.#block(m.count as number, type)
          : g.alloc.allocPages(m.count as number, type);
        if (m.managed === true) g.alloc.adjustManagedPageCount(-got.size);
        this.#owned.unionWith(got);
        return { pages: runsOf(got) };
      }
      case "guest.free": {
        const reason = m.reason ?? "deflate";
        if (
          reason !== "deflate" && reason !== "hint" && reason !== "report" && reason !== "other"
        ) {
          throw new ProtocolViolation(
            `guest.free from the testee: field 'reason' is ${
              JSON.stringify(reason)
            }, expected "deflate", "hint", "report" or "other"`,
          );
        }
        const pages = new PageSet();
        const runs: PageSet[] = [];
        for (const [start, count] of m.pages as [number, number][]) {
          if (count < 1 || start + count > g.mem.pages) {
            throw new ProtocolViolation(
              `guest.free from the testee: field 'pages' has the run [${start}, +${count}), expected pages inside guest RAM (${g.mem.pages} pages)`,
            );
          }
          const run = new PageSet();
          run.addRange(start, count);
          if (pages.countRange(start, start + count) > 0) {
            throw new ProtocolViolation(
              `guest.free from the testee: field 'pages' names page ${
                run.intersection(pages).min()
              } twice`,
            );
          }
          pages.addRange(start, count);
          runs.push(run);
        }
        const stray = pages.clone();
        stray.subtract(this.#owned);
        if (stray.size > 0) {
          throw new ProtocolViolation(
            `guest.free from the testee: field 'pages' names ${stray.size} page(s) the driver did not take with guest.alloc (first ${stray.min()})`,
          );
        }
        this.#owned.subtract(pages);
        // run by run, in the driver's order (each one as the driver freed it: a block, a set)
        for (const run of runs) g.alloc.freePages(run);
        if (m.managed === true) g.alloc.adjustManagedPageCount(pages.size);
        if (reason !== "other") {
          this.#freeing = true;
          try {
            g.pagesReturned(pages, reason);
          } finally {
            this.#freeing = false;
          }
        }
        return undefined;
      }
      case "guest.managed":
        g.alloc.adjustManagedPageCount(m.add === true ? m.pages as number : -(m.pages as number));
        return undefined;
      case "guest.free-blocks": {
        const blocks: [number, number][] = [];
        const types: string[] = [];
        for (const b of g.alloc.freeBlocks()) {
          if (b.order < (m.order as number)) continue;
          blocks.push([b.pfn, 2 ** b.order]);
          types.push(b.migrateType);
        }
        return { blocks, types };
      }
      case "guest.isolate": {
        const pfn = m.pfn as number;
        const order = m.order as number;
        if (order > MAX_ORDER) {
          throw new ProtocolViolation(
            `guest.isolate from the testee: field 'order' is ${order}, expected 0 to ${MAX_ORDER}`,
          );
        }
        if (pfn >= g.mem.pages) {
          throw new ProtocolViolation(
            `guest.isolate from the testee: field 'pfn' is ${pfn}, outside guest RAM (${g.mem.pages} pages)`,
          );
        }
        const ok = g.alloc.isolateBlock(pfn, order);
        if (ok) this.#owned.addRange(pfn, 2 ** order);
        return { ok };
      }
      case "guest.on-free":
        this.#unregisterFree?.();
        this.#unregisterFree = undefined;
        if (m.register === true) {
          this.#unregisterFree = g.onFree((pages) => {
            if (this.#freeing) return; // the driver's own free: it knows
            this.#freed.push(pages.clone());
            this.#deliver();
          });
        }
        return undefined;
      case "guest.free-pages":
        return { pages: runsOf(g.alloc.buddyFreeSet()) };
      case "guest.stats":
        return {
          stats: guestStatistics(g, this.#profile).map((x) => ({ tag: x.tag, val: hex64(x.val) })),
        };
      case "guest.oom":
        this.#unregisterOom?.();
        this.#unregisterOom = undefined;
        if (m.register === true) {
          this.#unregisterOom = g.registerOomNotifier(
            "testee",
            0,
            () => this.#command("oom", {}, (r) => r.freed as number),
          );
        }
        return undefined;
      case "wait":
      case "sleep":
        return SUSPEND;
    }
    throw new ProtocolViolation(`${op} from the testee: the suite does not serve it`);
  }

  /** `count` consecutive pages from one aligned block (its tail given back), or none. */
  #block(count: number, type: MigrateType): PageSet {
    const got = new PageSet();
    if (count === 0) return got;
    const order = Math.ceil(Math.log2(count));
    const pfn = this.#g.alloc.allocBlock(order, type);
    if (pfn === undefined) return got;
    const tail = new PageSet();
    tail.addRange(pfn + count, (1 << order) - count);
    if (tail.size > 0) this.#g.alloc.freePages(tail);
    got.addRange(pfn, count);
    return got;
  }

  #address(op: string, field: string, hex: string): number {
    const a = BigInt(hex);
    if (a >= BigInt(this.#g.mem.bytes)) {
      throw new ProtocolViolation(
        `${op} from the testee: field '${field}' is ${hex}, outside guest RAM ([0, 0x${
          this.#g.mem.bytes.toString(16)
        }))`,
      );
    }
    return Number(a);
  }
}
