/**
 * `deno task testee reference-driver`: the reference driver (or one of its
 * mutants, or the seed as posted) as a driver testee, behind the testee
 * protocol's driver role on stdin/stdout (`docs/TESTEE-PROTOCOL.md`,
 * "Driver testees").
 *
 * The driver is the in-process one, unchanged; what it lives in is remote:
 * - its guest memory is the suite's ({@link RemoteMemory}: `mem.*` lines);
 * - its page allocator is the suite's ({@link RemoteAllocator}: `guest.alloc`,
 *   `guest.free`, `guest.free-pages`, `guest.free-blocks`, `guest.isolate`,
 *   `guest.managed`), and so are the guest's statistics, OOM notifier
 *   registration and frees ({@link RemoteGuest}: `guest.stats`, `guest.oom`,
 *   `guest.on-free`);
 * - its transport is the suite's device ({@link RemoteTransport}: `dev.*`).
 *
 * The driver's tasks run on a local {@link Scheduler}. Each request spawns
 * its task (probe, the interrupt handler, the OOM notifiers, remove, …) and
 * runs the scheduler; while the request's task is not done, or a task of
 * the driver sleeps, the testee lets the suite's device run with `wait`
 * (bounded by the next sleeper's wake-up, so the two virtual clocks stay in
 * step) and delivers the interrupts of each answer to the driver's handlers,
 * in interrupt context, as the in-process transport does. It replies when
 * the request's task is done and no task sleeps; work the driver left
 * waiting for the device goes on in the `interrupt` requests that follow.
 *
 * Usage: `deno task testee reference-driver` (or `reference-driver-v1x`,
 * `v3-as-posted`, a driver mutant such as `driver:actual-before-ack`, or any
 * device target: see `reference_testee.ts`). `--list` prints the names.
 *
 * @module
 */

import {
  featureBit,
  type FeatureName,
  PageSet,
  type ProfileId,
  type StatEntry,
} from "../../../spec/mod.ts";
import {
  type DeviceModel,
  type FreeBlock,
  GuestEnv,
  type GuestMemory,
  type InterruptHandlers,
  MAX_ORDER,
  type MigrateType,
  type OomNotifier,
  PageAllocator,
  type QueueFeatures,
  type ReturnReason,
  type RingLayout,
  Scheduler,
  STATUS,
  type TaskBody,
  type TaskHandle,
  Transport,
} from "../../../impl/mod.ts";
import type { DriverTarget, DriverUnderTest } from "../../model/types.ts";
import { MUTANTS } from "../mutants/mutants.ts";
import { REFERENCE_DRIVER, REFERENCE_DRIVER_V1X, V3_AS_POSTED } from "../reference/reference.ts";
import { fromBase64, hex64, pagesOf, PROTOCOL_VERSION, toBase64 } from "./protocol.ts";
import {
  Lines,
  RemoteMemory,
  ringMutantTestee,
  serve,
  serveRequests,
  testeeDevices,
} from "./reference_testee.ts";
import { RING_MUTANTS } from "./ring_mutants.ts";
import type { TesteeEvent } from "./session.ts";

/** The driver targets the reference driver testee can be. */
export function testeeDrivers(): DriverTarget[] {
  return [
    REFERENCE_DRIVER,
    REFERENCE_DRIVER_V1X,
    V3_AS_POSTED,
    ...MUTANTS.map((m) => m.target).filter((t): t is DriverTarget => t.kind === "driver"),
  ];
}

/** The optional requests every in-process driver target has. */
const REQUESTS = ["remove", "freeze", "restore", "migrate-page"] as const;
const VERSION_1 = 1n << BigInt(featureBit("v3", "VERSION_1"));

/** What a driver's object does not have when its guest is behind the protocol. */
function elsewhere(what: string, how: string): Error {
  return new Error(`${what} is the suite's, behind the testee protocol (${how})`);
}

/**
 * The protocol lines of a driver testee: calls (answered ones read their
 * answer, with the call's id), lines without an answer, and hooks that run
 * before any line goes out (the allocator sends the frees it held back).
 */
export class DriverWire extends Lines {
  #id = 0;
  #before: (() => void)[] = [];

  /** Runs `fn` before every line this wire writes (it may write lines itself). */
  beforeEachLine(fn: () => void): void {
    this.#before.push(fn);
  }

  /** Forgets the hooks and numbers calls from 1 again (a new scenario). */
  reset(): void {
    this.#id = 0;
    this.#before = [];
  }

  override write(obj: unknown): void {
    for (const fn of this.#before) fn();
    super.write(obj);
  }

  /** A call without an answer. */
  send(op: string, fields: Record<string, unknown>): void {
    this.write({ op, ...fields });
  }

  /** A call with an answer: sends it and reads the answer line (the only line the suite sends meanwhile). */
  call(op: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
    const id = ++this.#id;
    this.write({ op, id, ...fields });
    const line = this.read();
    if (line === undefined) throw new Error(`the suite closed stdin during ${op}`);
    const answer = JSON.parse(line) as Record<string, unknown>;
    if (answer.id !== id) throw new Error(`${op} ${id} answered with id ${answer.id}`);
    return answer;
  }
}

/** guest.alloc's `type`, left out for the default (movable). */
function typeField(t: MigrateType | undefined): { type?: MigrateType } {
  return t === undefined || t === "MOVABLE" ? {} : { type: t };
}

/**
 * The guest's page allocator, the suite's: every allocation and query is a
 * call. Frees are held back until the line that follows them: a free
 * followed by {@link returned} goes out as one `guest.free` with the reason
 * (and `managed` when the driver put the pages back on the managed count in
 * between), any other as `guest.free` with reason `other`. Nothing is kept
 * here: the members that read the allocator's state without a call to
 * express it (free page counts, per-cpu lists, pageblock types) throw.
 */
export class RemoteAllocator extends PageAllocator {
  readonly #wire: DriverWire;
  /** Frees not sent yet, in order. */
  #held: [number, number][] = [];
  #heldPages = 0;
  #heldManaged = false;

  /** The allocator of a guest of `pages` pages behind `wire`. */
  constructor(pages: number, wire: DriverWire) {
    super({ pages, reserved: pages }); // nothing here: every page is the suite's
    this.#wire = wire;
    wire.beforeEachLine(() => this.#flush());
  }

  #flush(): void {
    if (this.#held.length === 0) return;
    const pages = this.#held;
    const managed = this.#heldManaged;
    this.#held = [];
    this.#heldPages = 0;
    this.#heldManaged = false;
    this.#wire.send("guest.free", { pages, reason: "other", ...(managed ? { managed } : {}) });
  }

  #hold(pfn: number, count: number): void {
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn + count > this.pages) {
      throw new RangeError(`Cannot free PFN ${pfn} (+${count}): outside the guest's RAM`);
    }
    this.#held.push([pfn, count]);
    this.#heldPages += count;
  }

  /**
   * The driver gave `pages` back to the guest for `reason` (GuestEnv's
   * `pagesReturned`): the frees held back are these pages, and go out now.
   */
  returned(pages: PageSet, reason: ReturnReason): void {
    const held = new PageSet();
    for (const [start, count] of this.#held) held.addRange(start, count);
    if (!held.equals(pages)) {
      throw new Error(
        `The driver gave back ${pages.size} page(s) (${reason}) that it did not just free (it freed ${held.size})`,
      );
    }
    const runs = this.#held;
    const managed = this.#heldManaged;
    this.#held = [];
    this.#heldPages = 0;
    this.#heldManaged = false;
    this.#wire.send("guest.free", { pages: runs, ...(managed ? { managed } : {}), reason });
  }

  override allocPage(migrateType?: MigrateType): number | undefined {
    return this.allocBlock(0, migrateType);
  }

  override allocBlock(order: number, migrateType?: MigrateType): number | undefined {
    if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER) {
      throw new RangeError(`Invalid order ${order}: expected an integer from 0 to ${MAX_ORDER}`);
    }
    const a = this.#wire.call("guest.alloc", {
      count: 2 ** order,
      contiguous: true,
      ...typeField(migrateType),
    });
    const first = (a.pages as [number, number][])[0];
    return first?.[0];
  }

  override allocPages(count: number, migrateType?: MigrateType): PageSet {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`Invalid page count ${count}: expected a non-negative integer`);
    }
    if (count === 0) return new PageSet();
    return pagesOf(this.#wire.call("guest.alloc", { count, ...typeField(migrateType) }).pages);
  }

  override freePage(pfn: number): void {
    this.#hold(pfn, 1);
  }

  override freePages(pages: PageSet): void {
    for (const r of pages.runs()) this.#hold(r.start, r.length);
  }

  override freeBlock(pfn: number, order: number): void {
    if (pfn % 2 ** order !== 0) {
      throw new RangeError(`Cannot free block at PFN ${pfn}: not aligned to its order ${order}`);
    }
    this.#hold(pfn, 2 ** order);
  }

  override adjustManagedPageCount(delta: number): void {
    if (delta > 0 && delta === this.#heldPages && !this.#heldManaged) {
      this.#heldManaged = true; // the pages just freed: `managed` on their guest.free
      return;
    }
    if (delta !== 0) this.#wire.send("guest.managed", { pages: Math.abs(delta), add: delta > 0 });
  }

  override freeSet(): PageSet {
    return this.buddyFreeSet(); // the suite's guest keeps no per-cpu lists
  }

  override buddyFreeSet(): PageSet {
    return pagesOf(this.#wire.call("guest.free-pages").pages);
  }

  override scanFreeRange(start: number, end: number, into: PageSet): number {
    if (
      !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start ||
      end > this.pages
    ) {
      throw new RangeError(`Invalid scan range [${start}, ${end})`);
    }
    let added = 0;
    for (const r of this.buddyFreeSet().runs()) {
      const a = Math.max(r.start, start);
      const b = Math.min(r.start + r.length, end);
      if (a < b) added += into.addRange(a, b - a);
    }
    return added;
  }

  override *freeBlocks(): IterableIterator<FreeBlock> {
    const a = this.#wire.call("guest.free-blocks", { order: 0 });
    const types = a.types as MigrateType[];
    for (const [i, [pfn, count]] of (a.blocks as [number, number][]).entries()) {
      const migrateType = types[i];
      if (migrateType === undefined) throw new Error("guest.free-blocks: a block without a type");
      yield { pfn, order: Math.log2(count), zone: this.zoneOf(pfn), migrateType };
    }
  }

  override isolateBlock(pfn: number, order: number): boolean {
    return this.#wire.call("guest.isolate", { pfn, order }).ok === true;
  }

  override get freePageCount(): number {
    throw elsewhere("The free page count", "guest.stats");
  }

  override get pcpCount(): number {
    throw elsewhere("The per-cpu list", "not expressed");
  }

  override get managedPages(): number {
    throw elsewhere("The managed page count", "guest.stats");
  }

  override isFree(_pfn: number): boolean {
    throw elsewhere("Whether a page is free", "guest.free-pages");
  }

  override isAllocated(_pfn: number): boolean {
    throw elsewhere("Whether a page is allocated", "guest.free-pages");
  }

  override pageblockType(_pfn: number): MigrateType {
    throw elsewhere("The pageblock types", "guest.free-blocks");
  }

  override pcpSet(): PageSet {
    throw elsewhere("The per-cpu list", "not expressed");
  }

  override drainPcp(): void {
    throw elsewhere("The per-cpu list", "not expressed");
  }

  override checkInvariants(): void {
    throw elsewhere("The allocator's state", "not expressed");
  }
}

/**
 * The guest a driver testee lives in: memory and allocator behind the
 * protocol, a local scheduler, and the suite's statistics, OOM notifier
 * registration (`guest.oom`: the suite sends `oom`, which runs the notifiers
 * registered here) and frees (`guest.on-free`: the suite sends `freed`). The
 * workload is the suite's, and no line of the protocol tells a driver which
 * pages it uses: `workload` is empty here, and the workload's methods throw.
 * Nor does it say which pages hold data: `mem.storedPfns()` is empty, so
 * with a poison value of 0 (which the reference driver writes only into
 * pages that hold something) the driver writes none.
 */
export class RemoteGuest extends GuestEnv {
  readonly #wire: DriverWire;
  readonly #remote: RemoteAllocator;
  #freeListeners: ((pages: PageSet) => void)[] = [];

  /** A guest of `pages` pages behind `wire`, its tasks on `sched`. */
  constructor(options: {
    readonly pages: number;
    readonly sched: Scheduler;
    readonly wire: DriverWire;
    readonly pagePoison?: number;
  }) {
    const allocator = new RemoteAllocator(options.pages, options.wire);
    super({
      pages: options.pages,
      sched: options.sched,
      memory: new RemoteMemory(options.pages, options.wire),
      allocator,
      ...(options.pagePoison === undefined ? {} : { pagePoison: options.pagePoison }),
    });
    this.#wire = options.wire;
    this.#remote = allocator;
  }

  override statistics(_profile: ProfileId): StatEntry[] {
    const stats = this.#wire.call("guest.stats").stats as { tag: number; val: string }[];
    return stats.map((s) => ({ tag: s.tag, val: BigInt(s.val) }));
  }

  override registerOomNotifier(name: string, priority: number, fn: OomNotifier): () => void {
    const off = super.registerOomNotifier(name, priority, fn);
    if (this.oomNotifiers.length === 1) this.#wire.send("guest.oom", { register: true });
    let on = true;
    return () => {
      if (!on) return;
      on = false;
      off();
      if (this.oomNotifiers.length === 0) this.#wire.send("guest.oom", { register: false });
    };
  }

  override onFree(listener: (pages: PageSet) => void): () => void {
    this.#freeListeners.push(listener);
    if (this.#freeListeners.length === 1) this.#wire.send("guest.on-free", { register: true });
    return () => {
      const before = this.#freeListeners.length;
      this.#freeListeners = this.#freeListeners.filter((l) => l !== listener);
      if (before > 0 && this.#freeListeners.length === 0) {
        this.#wire.send("guest.on-free", { register: false });
      }
    };
  }

  /** The suite says the guest freed `pages` (`freed`): the free listeners hear it. */
  freed(pages: PageSet): void {
    for (const l of [...this.#freeListeners]) l(pages);
  }

  override pagesReturned(pages: PageSet, reason: ReturnReason = "deflate"): void {
    this.#remote.returned(pages, reason);
    super.pagesReturned(pages, reason); // the return listeners registered here, if any
    if (reason !== "report") this.freed(pages);
  }

  override useMemory(_count: number, _migrateType?: MigrateType): PageSet {
    throw elsewhere("The guest's workload", "not the driver's");
  }

  override releaseMemory(_pages?: PageSet): void {
    throw elsewhere("The guest's workload", "not the driver's");
  }

  override writeTo(_pages: Iterable<number>): void {
    throw elsewhere("The guest's workload", "not the driver's");
  }
}

/**
 * The suite's device as a {@link DeviceModel}: the transport asks it only
 * for queue sizes (`dev.queue.max`); every other access is a `dev.*` call
 * of {@link RemoteTransport}.
 */
class SuiteDevice implements DeviceModel {
  readonly #wire: DriverWire;
  /** No config bytes are kept here: config accesses are `dev.config.*` calls. */
  readonly configSize = 0;

  constructor(wire: DriverWire) {
    this.#wire = wire;
  }

  get deviceFeatures(): bigint {
    throw elsewhere("The device", "dev.features.read");
  }

  attach(_transport: Transport): void {}

  queueMaxSize(index: number): number {
    return this.#wire.call("dev.queue.max", { queue: index }).size as number;
  }

  featuresOk(_driverFeatures: bigint): boolean {
    throw elsewhere("The device", "dev.status.write");
  }

  driverOk(): void {
    throw elsewhere("The device", "dev.status.write");
  }

  notify(_queueIndex: number): void {
    throw elsewhere("The device", "dev.notify");
  }

  configWritten(_offset: number, _size: number): void {
    throw elsewhere("The device", "dev.config.write");
  }

  reset(): void {
    throw elsewhere("The device", "dev.status.write");
  }
}

/**
 * The driver side of a transport whose device is the suite's: every access
 * is a `dev.*` call, interrupts come from the suite ({@link interrupt}).
 * The device-side members throw (`negotiated` too: what the device accepted
 * is the suite's). `status` (the device's view, which the in-process
 * transport gives without an access) is what the driver last wrote or read:
 * a FEATURES_OK the device refused, or a DEVICE_NEEDS_RESET it set, shows
 * only after the next `readStatus`.
 */
export class RemoteTransport extends Transport {
  readonly #wire: DriverWire;
  #handlers: InterruptHandlers | undefined;
  #status = 0;
  #driverFeatures = 0n;
  #generation = 0;
  /**
   * Whether the driver did something the suite's device acts on (a
   * notification, a status or config write, a queue set up) since the
   * device last ran: in-process the device's task would run next.
   */
  deviceHasWork = false;

  /** The transport of a guest's `mem` and `sched` to the suite's device behind `wire`. */
  constructor(
    mem: GuestMemory,
    sched: Scheduler,
    wire: DriverWire,
    guestEndian: "le" | "be",
  ) {
    super(mem, sched, new SuiteDevice(wire), { guestEndian, log: false });
    this.#wire = wire;
  }

  /** A task that runs the driver's handler of an interrupt the suite's device raised, in interrupt context. */
  // deno-lint-ignore require-yield
  *interrupt(e: TesteeEvent): TaskBody<void> {
    const h = this.#handlers;
    if (h === undefined) return;
    if (e.event === "used") this.sched.irq("interrupt-used", () => h.used(e.queue));
    else this.sched.irq("interrupt-config", () => h.config());
  }

  override setInterruptHandlers(h: InterruptHandlers): void {
    this.#handlers = h;
  }

  override readStatus(): number {
    this.#status = this.#wire.call("dev.status.read").value as number;
    return this.#status;
  }

  override writeStatus(value: number): void {
    this.#wire.send("dev.status.write", { value });
    this.deviceHasWork = true;
    if (value === 0) {
      this.#status = 0;
      this.#driverFeatures = 0n;
      return;
    }
    // a refused FEATURES_OK shows at the next status read, as it does to a real driver
    this.#status = value | (this.#status & STATUS.DEVICE_NEEDS_RESET);
  }

  override readDeviceFeatures(): bigint {
    return BigInt(this.#wire.call("dev.features.read").value as string);
  }

  override writeDriverFeatures(value: bigint): void {
    this.#wire.send("dev.features.write", { value: hex64(value) });
    this.#driverFeatures = value;
  }

  override readConfig(offset: number, length: number): Uint8Array {
    const a = this.#wire.call("dev.config.read", { offset, length });
    this.#generation = a.generation as number;
    return fromBase64(a.data as string);
  }

  override writeConfig(offset: number, bytes: Uint8Array): void {
    this.#wire.send("dev.config.write", { offset, data: toBase64(bytes) });
    this.deviceHasWork = true;
  }

  /** The config generation the last config read returned. */
  override get configGeneration(): number {
    return this.#generation;
  }

  /** Sets a queue up at the suite's device (which applies EVENT_IDX and INDIRECT_DESC as negotiated). */
  override setupQueue(index: number, layout: RingLayout, _features: QueueFeatures): void {
    this.#wire.send("dev.queue.setup", {
      queue: index,
      size: layout.size,
      desc: hex64(layout.desc),
      avail: hex64(layout.avail),
      used: hex64(layout.used),
    });
    this.deviceHasWork = true;
  }

  override notify(index: number): void {
    this.#wire.send("dev.notify", { queue: index });
    this.deviceHasWork = true;
  }

  override get status(): number {
    return this.#status;
  }

  override get negotiated(): bigint {
    throw elsewhere("What the device accepted", "dev.status.read after FEATURES_OK");
  }

  override get driverFeatures(): bigint {
    return this.#driverFeatures;
  }

  override get isLegacy(): boolean {
    return (this.#driverFeatures & VERSION_1) === 0n;
  }

  override hold(): void {
    throw elsewhere("The device", "its notifications are the suite's to hold");
  }

  override release(): void {
    throw elsewhere("The device", "its notifications are the suite's to hold");
  }

  override get held(): boolean {
    throw elsewhere("The device", "its notifications are the suite's to hold");
  }

  override deviceQueue(_index: number): never {
    throw elsewhere("The device side of a queue", "not expressed");
  }

  override queueLayout(_index: number): never {
    throw elsewhere("The device side of a queue", "not expressed");
  }

  override get queueIndices(): number[] {
    throw elsewhere("The device's queues", "not expressed");
  }

  override configChanged(): void {
    throw elsewhere("The device", "its interrupts come as interrupt requests");
  }

  override raiseUsed(_index: number): void {
    throw elsewhere("The device", "its interrupts come as interrupt requests");
  }

  override setNeedsReset(_reason: string): void {
    throw elsewhere("The device", "not expressed");
  }
}

/** One scenario of a driver testee: the guest, the transport and the driver once probed. */
class Scenario {
  readonly sched = new Scheduler();
  readonly guest: RemoteGuest;
  readonly transport: RemoteTransport;
  driver: DriverUnderTest | undefined;
  readonly #wire: DriverWire;

  constructor(wire: DriverWire, m: Record<string, unknown>) {
    this.#wire = wire;
    this.guest = new RemoteGuest({
      pages: m.pages as number,
      sched: this.sched,
      wire,
      ...(m.poison === undefined ? {} : { pagePoison: m.poison as number }),
    });
    this.transport = new RemoteTransport(
      this.guest.mem,
      this.sched,
      wire,
      m.endian as "le" | "be",
    );
  }

  /**
   * Runs a request's task on the local scheduler until it is done and no
   * task sleeps. Whenever the driver did something the suite's device acts
   * on, the device runs before the next task step (`wait` with `ms` 0), as
   * its task would in-process; whenever nothing here can run, the device
   * runs until an interrupt (`wait`), or, a task sleeping, at most until the
   * first sleeper wakes. The clock here advances by what passed at the suite.
   */
  run<T>(name: string, body: TaskBody<T>): T | undefined {
    const h: TaskHandle<T> = this.sched.spawn(name, body);
    const t = this.transport;
    for (;;) {
      this.sched.run({ until: this.sched.now, stopWhen: () => t.deviceHasWork });
      if (t.deviceHasWork) {
        this.#wait(0);
        continue;
      }
      const wake = this.sched.nextWake;
      if (wake === undefined && h.done) break;
      this.#wait(wake === undefined ? undefined : Math.max(1, Math.ceil(wake - this.sched.now)));
    }
    if (h.error !== undefined) throw h.error;
    return h.result;
  }

  /** Lets the suite's device run (for at most `ms`), then delivers the interrupts it raised. */
  #wait(ms: number | undefined): void {
    this.transport.deviceHasWork = false;
    const a = this.#wire.call("wait", ms === undefined ? {} : { ms });
    const waited = a.waited as number;
    if (waited > 0) this.sched.run({ until: this.sched.now + waited });
    for (const e of a.events as TesteeEvent[]) {
      this.sched.spawn(`irq:interrupt-${e.event}`, this.transport.interrupt(e));
    }
  }
}

/** A task that does `fn` and is done. */
// deno-lint-ignore require-yield
function* at(fn: () => void): TaskBody<void> {
  fn();
}

type Outcome = { readonly result: Record<string, unknown> } | { readonly unsupported: string };

/** Serves the protocol's driver role on stdin/stdout as `target` until stdin ends. */
export function serveDriver(target: DriverTarget): void {
  const wire = new DriverWire();
  let sc: Scenario | undefined;
  const need = (): Scenario => {
    if (sc === undefined) {
      throw new Error("no reset yet: the first request after hello must be reset");
    }
    return sc;
  };
  const driver = (): DriverUnderTest => {
    const d = need().driver;
    if (d === undefined) throw new Error("not probed: the driver is bound by probe");
    return d;
  };
  const optional = <T>(
    op: string,
    body: TaskBody<T> | undefined,
    result: (r: T | undefined) => Record<string, unknown>,
  ): Outcome =>
    body === undefined
      ? { unsupported: `${target.name} has no ${op}` }
      : { result: result(need().run(op, body)) };
  const handle = (op: string, m: Record<string, unknown>): Outcome => {
    switch (op) {
      case "hello":
        if (m.profile !== target.profile) {
          return {
            unsupported: `this testee implements profile ${target.profile}, not ${m.profile}`,
          };
        }
        return {
          result: {
            protocol: PROTOCOL_VERSION,
            role: "driver",
            name: target.name,
            host: [...REQUESTS],
            unsupported: [...(target.unsupported ?? [])] as FeatureName[],
            ...(target.guestEndian === undefined ? {} : { endian: target.guestEndian }),
          },
        };
      case "reset":
        wire.reset();
        sc = new Scenario(wire, m);
        return { result: {} };
      case "probe": {
        const s = need();
        s.driver ??= target.create({
          guest: s.guest,
          transport: s.transport,
          faults: {
            ...(m.bitmapLimit === undefined ? {} : { bitmapLimit: m.bitmapLimit as number }),
            ...(m.failBitmapAllocation === true ? { failBitmapAllocation: true } : {}),
          },
        });
        return { result: { ok: s.run("probe", s.driver.probe()) === true } };
      }
      case "interrupt": {
        const e: TesteeEvent = m.event === "used"
          ? { event: "used", queue: m.queue as number }
          : { event: "config" };
        need().run(`irq:interrupt-${e.event}`, need().transport.interrupt(e));
        return { result: {} };
      }
      case "freed": {
        const s = need();
        const pages = pagesOf(m.pages);
        s.run("freed", at(() => s.guest.freed(pages)));
        return { result: {} };
      }
      case "oom": {
        const s = need();
        return { result: { freed: s.run("oom", s.guest.oom()) ?? 0 } };
      }
      case "remove":
        return optional(op, driver().remove?.(), () => ({}));
      case "freeze":
        return optional(op, driver().freeze?.(), () => ({}));
      case "restore":
        return optional(op, driver().restore?.(), (ok) => ({ ok: ok === true }));
      case "migrate-page":
        return optional(op, driver().migratePage?.(m.pfn as number), (ok) => ({ ok: ok === true }));
      default:
        return { unsupported: `op ${JSON.stringify(op)} is not a request to a driver` };
    }
  };
  serveRequests(wire, handle);
}

/**
 * The command line of `deno task testee`: serves the named device or
 * driver target; `--list` prints the names. Returns the exit code.
 */
export function testeeMain(args: readonly string[]): number {
  const name = args[0];
  const devices = testeeDevices();
  const drivers = testeeDrivers();
  if (name === undefined || name === "--list" || name === "--help") {
    const text = `Usage: deno task testee <target>\n\nDevice targets:\n${
      [...devices.map((t) => t.name), ...RING_MUTANTS.map((m) => m.name)].map((n) => `  ${n}`)
        .join("\n")
    }\n\nDriver targets (the protocol's driver role):\n${
      drivers.map((t) => `  ${t.name}`).join("\n")
    }`;
    if (name === undefined) {
      console.error(text);
      return 2;
    }
    console.log(text);
    return 0;
  }
  const ring = ringMutantTestee(name);
  const device = ring?.target ?? devices.find((t) => t.name === name);
  if (device !== undefined) {
    serve(device, ring?.deviation);
    return 0;
  }
  const drv = drivers.find((t) => t.name === name);
  if (drv !== undefined) {
    serveDriver(drv);
    return 0;
  }
  console.error(
    `error: '${name}' is not a testee target: expected reference-device, reference-device-v1x, a device mutant, a ring mutant, reference-driver, reference-driver-v1x, v3-as-posted or a driver mutant (--list lists them)`,
  );
  return 2;
}

if (import.meta.main) Deno.exit(testeeMain(Deno.args));
