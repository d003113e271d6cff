/**
 * `deno task testee <device target>`: the reference device (or one of its
 * mutants) as a testee process, behind the testee protocol on stdin/stdout.
 * Its guest memory is the suite's: every read and write of the device's
 * rings and buffers is a `mem.*` message ({@link RemoteMemory}), and its
 * interrupts are `event` lines.
 *
 * Usage: `deno task testee reference-device` (or `reference-device-v1x`, a
 * device mutant such as `device:ack-before-process`, or a ring mutant such
 * as `ring:used-idx-first`, see `ring_mutants.ts`; the same command serves
 * driver targets, see `reference_driver_testee.ts`). `--list` prints the
 * names. The device does its work when the suite waits (`settle`), as the
 * in-process port does, so verdicts through the protocol match in-process
 * ones (the self-test in `testee_test.ts` checks that).
 *
 * @module
 */

import { GuestMemory, Scheduler, Transport, type Writer } from "../../../impl/mod.ts";
import type { DeviceTarget, DeviceUnderTest } from "../../model/types.ts";
import { MUTANTS } from "../mutants/mutants.ts";
import { REFERENCE_DEVICE, REFERENCE_DEVICE_V1X } from "../reference/reference.ts";
import { fromBase64, hex64, PROTOCOL_VERSION, runsOf, toBase64 } from "./protocol.ts";
import {
  RING_MUTANTS,
  type RingDeviation,
  type RingHooks,
  ringHooks,
  type RingSetup,
} from "./ring_mutants.ts";

/** The device targets the reference testee can be. */
export function testeeDevices(): DeviceTarget[] {
  return [
    REFERENCE_DEVICE,
    REFERENCE_DEVICE_V1X,
    ...MUTANTS.map((m) => m.target).filter((t): t is DeviceTarget =>
      t.kind === "device" && t.create !== undefined
    ),
  ];
}

const SETTLE = { maxSteps: 5_000, time: 60_000 } as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Synchronous NDJSON lines on stdin and stdout. */
export class Lines {
  #buf = new Uint8Array(1 << 16);
  #len = 0;

  /** The next line, or undefined at end of input. */
  read(): string | undefined {
    for (;;) {
      const nl = this.#buf.subarray(0, this.#len).indexOf(10);
      if (nl >= 0) {
        const line = decoder.decode(this.#buf.subarray(0, nl));
        this.#buf.copyWithin(0, nl + 1, this.#len);
        this.#len -= nl + 1;
        return line;
      }
      if (this.#len === this.#buf.length) {
        const grown = new Uint8Array(this.#buf.length * 2);
        grown.set(this.#buf);
        this.#buf = grown;
      }
      const n = Deno.stdin.readSync(this.#buf.subarray(this.#len));
      if (n === null || n === 0) return undefined;
      this.#len += n;
    }
  }

  /** Writes one line. */
  write(obj: unknown): void {
    const b = encoder.encode(JSON.stringify(obj) + "\n");
    let done = 0;
    while (done < b.length) done += Deno.stdout.writeSync(b.subarray(done));
  }
}

/**
 * Guest memory reached through the protocol: reads are `mem.read` requests
 * answered by the suite, writes `mem.write` lines, discards `mem.discard`
 * lines. (Dirty logging is kept here: the suite's port does not observe it.)
 */
export class RemoteMemory extends GuestMemory {
  #io: Lines;
  #id = 0;
  #hooks: RingHooks | undefined;
  #base = {
    read: (addr: number, len: number) => this.#read(addr, len),
    write: (addr: number, data: Uint8Array) => this.#write(addr, data),
  };

  /** Memory of `pages` pages behind `io`; a ring mutant's `hooks` sit between the device and it. */
  constructor(pages: number, io: Lines, hooks?: RingHooks) {
    super({ pages });
    this.#io = io;
    this.#hooks = hooks;
  }

  override read(addr: number, len: number): Uint8Array {
    return this.#hooks === undefined
      ? this.#read(addr, len)
      : this.#hooks.read(addr, len, this.#base);
  }

  override write(addr: number, data: Uint8Array, _writer: Writer): void {
    if (this.#hooks === undefined) this.#write(addr, data);
    else this.#hooks.write(addr, data, this.#base);
  }

  #read(addr: number, len: number): Uint8Array {
    if (!this.contains(addr, len)) {
      throw new RangeError(
        `Cannot read guest memory: [0x${addr.toString(16)}, +${len}) is outside RAM`,
      );
    }
    if (len === 0) return new Uint8Array(0);
    const id = ++this.#id;
    this.#io.write({ op: "mem.read", id, addr: hex64(addr), len });
    const line = this.#io.read();
    if (line === undefined) throw new Error("the suite closed stdin during mem.read");
    const answer = JSON.parse(line) as { id: number; data: string };
    if (answer.id !== id) throw new Error(`mem.read ${id} answered with id ${answer.id}`);
    return fromBase64(answer.data);
  }

  #write(addr: number, data: Uint8Array): void {
    if (!this.contains(addr, data.length)) {
      throw new RangeError(
        `Cannot write guest memory: [0x${addr.toString(16)}, +${data.length}) is outside RAM`,
      );
    }
    if (data.length === 0) return;
    this.#io.write({ op: "mem.write", addr: hex64(addr), data: toBase64(data) });
  }

  /**
   * No page is held here. (The ring code's in-process fast path reads a
   * GuestMemory's pages directly; `null` is what sends it to {@link read}.)
   */
  override pageContents(_pfn: number): Uint8Array | undefined {
    return null as unknown as undefined;
  }

  override discard(pfn: number, count: number): void {
    this.#io.write({ op: "mem.discard", pfn, count });
  }
}

/**
 * Serves the protocol on stdin/stdout as `target` until stdin ends; with
 * `ring`, the device's memory accesses go through that ring deviation.
 */
export function serve(target: DeviceTarget, ring?: RingDeviation): void {
  const io = new Lines();
  // the queues set up since the last reset, as a ring deviation sees them
  const queues = new Map<number, RingSetup>();
  let device: DeviceUnderTest | undefined;
  let transport: Transport | undefined;
  let sched = new Scheduler();
  let errors: string[] = [];
  const need = (): { device: DeviceUnderTest; transport: Transport } => {
    if (device === undefined || transport === undefined) {
      throw new Error("no reset yet: the first request after hello must be reset");
    }
    return { device, transport };
  };
  const handle = (op: string, m: Record<string, unknown>): Record<string, unknown> | {
    unsupported: string;
  } => {
    switch (op) {
      case "hello":
        if (m.profile !== target.profile) {
          return {
            unsupported: `this testee implements profile ${target.profile}, not ${m.profile}`,
          };
        }
        return {
          protocol: PROTOCOL_VERSION,
          role: "device",
          name: target.name,
          host: ["unused", "hint", "state"],
          state: ["ballooned", "actual", "stats", "hinted", "reported", "dirty-log"],
        };
      case "reset": {
        queues.clear();
        const mem = new RemoteMemory(
          m.pages as number,
          io,
          ring === undefined ? undefined : ringHooks(ring, queues),
        );
        sched = new Scheduler();
        errors = [];
        device = (target.create as NonNullable<DeviceTarget["create"]>)({
          guestPages: m.pages as number,
        });
        const t = new Transport(mem, sched, device, { guestEndian: m.endian as "le" | "be" });
        t.setInterruptHandlers({
          used: (queue) => io.write({ op: "event", event: "used", queue }),
          config: () => io.write({ op: "event", event: "config" }),
        });
        transport = t;
        return {};
      }
      case "status.read":
        return { value: need().transport.readStatus() };
      case "status.write":
        need().transport.writeStatus(m.value as number);
        return {};
      case "features.read":
        return { value: hex64(need().transport.readDeviceFeatures()) };
      case "features.write":
        need().transport.writeDriverFeatures(BigInt(m.value as string));
        return {};
      case "config.read": {
        const t = need().transport;
        return {
          data: toBase64(t.readConfig(m.offset as number, m.length as number)),
          generation: t.configGeneration,
        };
      }
      case "config.write":
        need().transport.writeConfig(m.offset as number, fromBase64(m.data as string));
        return {};
      case "queue.max":
        return { size: need().device.queueMaxSize(m.queue as number) };
      case "queue.setup": {
        const t = need().transport;
        const layout = {
          size: m.size as number,
          desc: Number(BigInt(m.desc as string)),
          avail: Number(BigInt(m.avail as string)),
          used: Number(BigInt(m.used as string)),
        };
        queues.set(m.queue as number, { ...layout, order: t.byteOrder });
        t.setupQueue(m.queue as number, layout, {
          order: t.byteOrder,
          eventIdx: m.eventIdx as boolean,
          indirect: m.indirect as boolean,
        });
        return {};
      }
      case "notify":
        need().transport.notify(m.queue as number);
        return {};
      case "settle": {
        need();
        try {
          sched.run({ maxSteps: SETTLE.maxSteps, until: sched.now + SETTLE.time });
        } catch (e) {
          errors.push((e as Error).message);
        }
        const out = errors;
        errors = [];
        return out.length === 0 ? {} : { errors: out };
      }
      case "host.target":
        need().device.setTarget(m.pages as number);
        return {};
      case "host.stats":
        return { held: need().device.requestStats() };
      case "host.unused": {
        const { device: d, transport: t } = need();
        // dirty logging as it was when the host issued the request (the transport logs the issue)
        let dirtyLog = false;
        const off = t.onEvent((e) => {
          if (e.kind === "host" && e.action === "request-unused") dirtyLog = t.mem.dirtyLogging;
        });
        try {
          const issued = d.requestUnusedPages({ param: BigInt(m.param as string) }) !== undefined;
          return { issued, dirtyLog };
        } finally {
          off();
        }
      }
      case "host.hint": {
        const d = need().device;
        if (m.action === "start") return { done: d.startHinting?.() !== undefined };
        if (m.action === "stop") d.stopHinting?.();
        else if (m.action === "done") d.finishHinting?.();
        else {throw new Error(
            `host.hint: field 'action' is ${
              JSON.stringify(m.action)
            }, expected start, stop or done`,
          );}
        return { done: true };
      }
      case "host.state": {
        const d = need().device;
        return {
          ballooned: runsOf(d.ballooned),
          ...("actual" in d ? { actual: d.actual ?? 0 } : {}),
          ...(d.lastStats === undefined
            ? {}
            : { stats: d.lastStats.map((s) => ({ tag: s.tag, val: hex64(s.val) })) }),
          hinted: runsOf(d.hintRounds?.[d.hintRounds.length - 1]?.hints),
          reported: runsOf(d.reported),
        };
      }
      default:
        return { unsupported: `op ${JSON.stringify(op)} is not implemented` };
    }
  };
  serveRequests(io, (op, m) => {
    const r = handle(op, m);
    return "unsupported" in r ? { unsupported: r.unsupported as string } : { result: r };
  });
}

/**
 * The request loop of a testee: reads the suite's requests until stdin
 * ends and writes each one's reply, `seq` and the outcome `handle` gives
 * (an error it throws is `errored`; a line that is not JSON is logged and
 * skipped).
 */
export function serveRequests(
  io: Lines,
  handle: (
    op: string,
    m: Record<string, unknown>,
  ) => { readonly result: Record<string, unknown> } | { readonly unsupported: string },
): void {
  for (;;) {
    const line = io.read();
    if (line === undefined) return;
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(line);
    } catch {
      console.error(`not JSON: ${line.slice(0, 80)}`);
      continue;
    }
    const seq = m.seq;
    try {
      io.write({ seq, ...handle(String(m.op), m) });
    } catch (e) {
      io.write({ seq, errored: e instanceof Error ? e.message : String(e) });
    }
  }
}

/** The reference device a ring mutant deviates from, and its deviation, by the mutant's name. */
export function ringMutantTestee(
  name: string,
): { readonly target: DeviceTarget; readonly deviation: RingDeviation } | undefined {
  const m = RING_MUTANTS.find((x) => x.name === name);
  if (m === undefined) return undefined;
  return {
    target: m.profile === "v3" ? REFERENCE_DEVICE : REFERENCE_DEVICE_V1X,
    deviation: m.deviation,
  };
}

if (import.meta.main) {
  // one command line for device and driver targets (reference_driver_testee.ts, which imports
  // this module: loaded once this one is, not awaited at its top level)
  import("./reference_driver_testee.ts").then(({ testeeMain }) => Deno.exit(testeeMain(Deno.args)));
}
