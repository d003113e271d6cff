/**
 * A deterministic scheduler for the guest and host models: kernel-thread-like
 * tasks written as generators that yield when they would block, wait queues
 * to wake them, interrupt callbacks that must not block, and a virtual clock
 * instead of wall-clock timers.
 *
 * @module
 */

/**
 * What a task yields when it would block: a wait queue (with `timeout`, at
 * most that many virtual ms, like the kernel's `wait_event_timeout`; the
 * task then checks what it waits for and the clock), a sleep, or a yield.
 */
export type Wait =
  | { readonly on: WaitQueue; readonly timeout?: number }
  | { readonly sleep: number }
  | { readonly yield: true };

/** A task body: a generator that yields {@link Wait}s and finally returns a value. */
export type TaskBody<T = void> = Generator<Wait, T, void>;

/** A task body that runs `fn` once without blocking. */
// deno-lint-ignore require-yield
function* deferred(fn: () => void): TaskBody<void> {
  fn();
}

/** A queue tasks wait on until something wakes them (like a kernel wait_queue_head). */
export class WaitQueue {
  /** Name, for diagnostics. */
  readonly name: string;
  #sched: Scheduler | undefined;

  /** Creates a wait queue. */
  constructor(name: string) {
    this.name = name;
  }

  /** @internal binds the queue to the scheduler that parks tasks on it */
  bind(s: Scheduler): void {
    this.#sched = s;
  }

  /** Wakes every task waiting on the queue. */
  wakeAll(): void {
    this.#sched?.wake(this);
  }
}

/** State of a spawned task. */
export interface TaskHandle<T> {
  /** Task name. */
  readonly name: string;
  /** Whether it has returned or thrown. */
  readonly done: boolean;
  /** Its return value once done. */
  readonly result: T | undefined;
  /** The error it threw, if any. */
  readonly error: unknown;
}

interface TaskState<T> extends TaskHandle<T> {
  name: string;
  body: TaskBody<T>;
  done: boolean;
  result: T | undefined;
  error: unknown;
  waitingOn: WaitQueue | undefined;
  wakeAt: number | undefined;
  irq: boolean;
}

/** A recorded scheduling problem (a blocking wait where blocking is not allowed). */
export interface SchedulerViolation {
  /** Virtual time. */
  readonly time: number;
  /** Task name. */
  readonly task: string;
  /** What happened. */
  readonly message: string;
}

/** Result of {@link Scheduler.run}. */
export interface RunResult {
  /** Steps taken. */
  readonly steps: number;
  /** True when nothing is runnable and no task sleeps: the system is idle. */
  readonly idle: boolean;
  /** Tasks still blocked on a wait queue when the run ended. */
  readonly blocked: readonly string[];
}

/**
 * The scheduler. Tasks run one step at a time in FIFO order; sleeping tasks
 * wake when the virtual clock reaches their time, which advances only when
 * nothing else can run.
 *
 * @example
 * ```ts
 * import { Scheduler, WaitQueue, type TaskBody } from "./scheduler.ts";
 * import assert from "node:assert/strict";
 * const s = new Scheduler();
 * const acked = new WaitQueue("acked");
 * let ack = false;
 * function* waiter(): TaskBody<string> {
 *   while (!ack) yield { on: acked };
 *   return "woken";
 * }
 * const t = s.spawn("waiter", waiter());
 * s.run();
 * assert.equal(t.done, false);
 * s.irq("ack", () => { ack = true; acked.wakeAll(); });
 * s.run();
 * assert.equal(t.result, "woken");
 * ```
 */
export class Scheduler {
  #runnable: TaskState<unknown>[] = [];
  #sleeping: TaskState<unknown>[] = [];
  #waiting = new Map<WaitQueue, TaskState<unknown>[]>();
  #now = 0;
  #steps = 0;
  #violations: SchedulerViolation[] = [];
  #inIrq = false;

  /** Virtual time in milliseconds. */
  get now(): number {
    return this.#now;
  }

  /** Total steps run so far. */
  get steps(): number {
    return this.#steps;
  }

  /** Blocking waits seen where blocking is not allowed (interrupt context). */
  get violations(): readonly SchedulerViolation[] {
    return this.#violations;
  }

  /** Whether an interrupt callback is running now. */
  get inIrq(): boolean {
    return this.#inIrq;
  }

  /** The virtual time the first sleeping task wakes at (a timed wait's timeout too), if any sleeps. */
  get nextWake(): number | undefined {
    if (this.#sleeping.length === 0) return undefined;
    return Math.min(...this.#sleeping.map((s) => s.wakeAt ?? 0));
  }

  /** Starts a task; it first runs on the next {@link run}. */
  spawn<T>(name: string, body: TaskBody<T>, options: { irq?: boolean } = {}): TaskHandle<T> {
    const t: TaskState<T> = {
      name,
      body,
      done: false,
      result: undefined,
      error: undefined,
      waitingOn: undefined,
      wakeAt: undefined,
      irq: options.irq ?? false,
    };
    this.#runnable.push(t as TaskState<unknown>);
    return t;
  }

  /** Runs a plain function as a task of its own (it cannot block). */
  defer(name: string, fn: () => void): TaskHandle<void> {
    return this.spawn(name, deferred(fn));
  }

  /**
   * Runs an interrupt callback now. It must not block; a generator run with
   * {@link irqTask} that yields records a violation instead.
   */
  irq(name: string, fn: () => void): void {
    const was = this.#inIrq;
    this.#inIrq = true;
    try {
      fn();
    } finally {
      this.#inIrq = was;
    }
    void name;
  }

  /**
   * Runs a task body in interrupt context (as the seed's misc handler does,
   * D-05): every wait it yields is recorded as a violation, then honoured so
   * the model can go on.
   */
  irqTask<T>(name: string, body: TaskBody<T>): TaskHandle<T> {
    return this.spawn(name, body, { irq: true });
  }

  /** @internal wakes the tasks parked on a queue */
  wake(q: WaitQueue): void {
    const ts = this.#waiting.get(q);
    if (ts === undefined) return;
    this.#waiting.delete(q);
    for (const t of ts) {
      t.waitingOn = undefined;
      if (t.wakeAt !== undefined) {
        // a timed wait woken before its timeout
        t.wakeAt = undefined;
        this.#sleeping = this.#sleeping.filter((s) => s !== t);
      }
      this.#runnable.push(t);
    }
  }

  /** Takes a task off a wait queue's list (its timed wait timed out). */
  #unpark(t: TaskState<unknown>, q: WaitQueue): void {
    const rest = (this.#waiting.get(q) ?? []).filter((x) => x !== t);
    if (rest.length === 0) this.#waiting.delete(q);
    else this.#waiting.set(q, rest);
    t.waitingOn = undefined;
  }

  #park(t: TaskState<unknown>, w: Wait): void {
    if (t.irq) {
      this.#violations.push({
        time: this.#now,
        task: t.name,
        message: "sleep" in w
          ? `sleeps ${w.sleep} ms in interrupt context`
          : "on" in w
          ? `blocks on ${w.on.name} in interrupt context`
          : "yields in interrupt context",
      });
    }
    if ("on" in w) {
      w.on.bind(this);
      t.waitingOn = w.on;
      const list = this.#waiting.get(w.on) ?? [];
      list.push(t);
      this.#waiting.set(w.on, list);
      if (w.timeout !== undefined) {
        t.wakeAt = this.#now + Math.max(0, w.timeout);
        this.#sleeping.push(t);
      }
    } else if ("sleep" in w) {
      t.wakeAt = this.#now + Math.max(0, w.sleep);
      this.#sleeping.push(t);
    } else {
      this.#runnable.push(t);
    }
  }

  #step(t: TaskState<unknown>): void {
    this.#steps++;
    try {
      const r = t.body.next();
      if (r.done) {
        t.done = true;
        t.result = r.value;
      } else {
        this.#park(t, r.value);
      }
    } catch (e) {
      t.done = true;
      t.error = e;
    }
  }

  /**
   * Runs tasks until the system is idle, `stopWhen()` holds, or `maxSteps`
   * steps have run.
   * Advances the virtual clock to the next sleeper when nothing else can run,
   * but never past `until` (virtual ms) when given.
   */
  run(options: { maxSteps?: number; until?: number; stopWhen?: () => boolean } = {}): RunResult {
    const max = options.maxSteps ?? 10_000_000;
    let steps = 0;
    while (steps < max) {
      if (options.stopWhen?.()) break;
      const t = this.#runnable.shift();
      if (t !== undefined) {
        this.#step(t);
        steps++;
        continue;
      }
      if (this.#sleeping.length === 0) break;
      const next = Math.min(...this.#sleeping.map((s) => s.wakeAt ?? 0));
      if (options.until !== undefined && next > options.until) {
        this.#now = Math.max(this.#now, options.until);
        break;
      }
      this.#now = Math.max(this.#now, next);
      const due = this.#sleeping.filter((s) => (s.wakeAt ?? 0) <= this.#now);
      this.#sleeping = this.#sleeping.filter((s) => (s.wakeAt ?? 0) > this.#now);
      for (const s of due) {
        s.wakeAt = undefined;
        if (s.waitingOn !== undefined) this.#unpark(s, s.waitingOn); // a timed wait timed out
        this.#runnable.push(s);
      }
    }
    const blocked = [...this.#waiting.values()].flat().map((t) => t.name);
    return {
      steps,
      idle: this.#runnable.length === 0 && this.#sleeping.length === 0,
      blocked,
    };
  }

  /** Rethrows the first error of a finished task (helper for tests and harnesses). */
  static check<T>(t: TaskHandle<T>): T | undefined {
    if (t.error !== undefined) throw t.error;
    return t.result;
  }
}
