/**
 * Runs a driver scenario: the suite plays the device (the reference device,
 * unmodified, keeping every chain's bytes) and the host, gives the driver
 * under test a guest, and records a trace plus what the guest model alone
 * can see (writes to pages the host holds, pages named that were free).
 *
 * @module
 */

import { enumValue, type FeatureName, PageSet } from "../../spec/mod.ts";
import {
  BalloonDevice,
  type DeviceTraceEvent,
  GuestEnv,
  type LoggedEvent,
  migrate,
  type MigrationResult,
  type TaskBody,
  Transport,
} from "../../impl/mod.ts";
import type { DriverScenario, DriverTarget, DriverUnderTest } from "../model/types.ts";
import { type StandardWatch, watchStandard } from "./driver_standard.ts";
import { TargetFailure, UnsupportedScenarioError } from "../model/ports.ts";
import { type AvailOrderWatch, watchAvailOrder } from "./avail_order.ts";

/** A write the guest or driver made to a page the host held. */
export interface WatchHit {
  /** Page. */
  readonly pfn: number;
  /** Writer. */
  readonly writer: string;
  /** Trace sequence number of the last event before the write. */
  readonly afterSeq: number;
}

/** Everything a driver scenario produced. */
export interface DriverRun {
  /** The scenario. */
  readonly scenario: DriverScenario;
  /** The target. */
  readonly target: string;
  /** The trace (transport, device, host and watch events in order). */
  readonly trace: readonly LoggedEvent[];
  /** The guest after the run. */
  readonly guest: GuestEnv;
  /** The suite's device after the run. */
  readonly device: BalloonDevice;
  /** The transport. */
  readonly transport: Transport;
  /** Writes to pages the host held (from its inflate until the deflate was used). */
  readonly watch: readonly WatchHit[];
  /** Inflate requests that named pages the guest had not allocated: [seq, pfns]. */
  readonly notAllocated: readonly { readonly seq: number; readonly pfns: readonly number[] }[];
  /** Buddy free pages when each unused-page request was issued, by request number. */
  readonly freeAtRequest: readonly PageSet[];
  /** Managed pages before the first step and after each step. */
  readonly managed: readonly number[];
  /** Balloon size the host holds after each step (by the trace replay). */
  readonly heldAfterStep: readonly number[];
  /** Pages each OOM step freed, in order. */
  readonly oomFreed: readonly number[];
  /** Result of the probe step, if run. */
  readonly probed: boolean | undefined;
  /** Steps that did not settle (the system never went idle). */
  readonly hangs: readonly string[];
  /** Errors thrown by the driver under test. */
  readonly errors: readonly string[];
  /** The exceptions behind `errors`, with their stacks. */
  readonly exceptions: readonly {
    readonly step: string;
    readonly message: string;
    readonly stack?: string;
  }[];
  /** Optional driver methods a step needed and the driver does not have (`remove()`, …). */
  readonly missingMethods: readonly string[];
  /** Features the last accepted negotiation settled on (legacy: the driver's last write). */
  readonly negotiated: bigint;
  /** Features the suite's device offered (the scenario's offer less what the target declares unsupported). */
  readonly offered: readonly FeatureName[];
  /** Blocking waits in interrupt context. */
  readonly irqBlocking: readonly string[];
  /** Live migrations run, in order. */
  readonly migrations: readonly MigrationResult[];
  /** Trace sequence number at the start of each step. */
  readonly stepSeq: readonly number[];
  /** What the guest model saw of page poison, hinting and reporting (profile virtio-1.x). */
  readonly standard: StandardWatch;
  /** The order of the driver's avail-ring writes (G53). */
  readonly availOrder: AvailOrderWatch;
  /** Milliseconds the run took. */
  readonly ms: number;
}

class RefusingDevice extends BalloonDevice {
  override featuresOk(_driverFeatures: bigint): boolean {
    return false;
  }
}

/**
 * Scheduler steps a scenario step may take before it counts as not settling.
 * It scales with the work asked, not with the reference's batch size: a
 * driver that sends one PFN per request needs a few steps per page (the
 * reference needs about 3 per 256 pages), so the budget allows 8 per page on
 * top of a fixed 2,000; a livelocked driver exceeds any budget and is still
 * found in well under a second.
 */
function stepBudget(pagesMoved: number): { maxSteps: number } {
  return { maxSteps: 2_000 + 8 * pagesMoved };
}
const STEP_TIME = 120_000;

/** Runs one driver scenario against one driver target. */
export function runDriverScenario(scenario: DriverScenario, target: DriverTarget): DriverRun {
  const t0 = performance.now();
  const guest = new GuestEnv({
    pages: scenario.guestPages,
    touchOnFree: scenario.touchOnFree ?? false,
    ...(scenario.pagePoison === undefined ? {} : { pagePoison: scenario.pagePoison }),
  });
  const offer = scenario.offer.filter((f) => !(target.unsupported ?? []).includes(f));
  const options = {
    profile: scenario.profile,
    guestPages: scenario.guestPages,
    offer,
    keepBytes: true,
    ...(scenario.queueSize === undefined ? {} : { queueSize: scenario.queueSize }),
  };
  const device = scenario.refuseFeatures ? new RefusingDevice(options) : new BalloonDevice(options);
  const endian = scenario.guestEndian ?? target.guestEndian;
  const transport = new Transport(guest.mem, guest.sched, device, {
    ...(endian === undefined ? {} : { guestEndian: endian }),
  });
  const watch: WatchHit[] = [];
  const notAllocated: { seq: number; pfns: number[] }[] = [];
  const held = new PageSet();
  const pendingDeflate = new Map<string, PageSet>();
  transport.onEvent((e) => {
    if (e.kind === "request") {
      const r = e as DeviceTraceEvent & { seq: number };
      if (r.what === "inflate" && r.pages !== undefined) {
        const free: number[] = [];
        if (r.pages.size <= 65_536) {
          for (const pfn of r.pages) {
            if (pfn < guest.mem.pages && guest.alloc.isFree(pfn)) free.push(pfn);
          }
        } else {
          free.push(...[...r.pages.intersection(guest.alloc.freeSet())].slice(0, 16));
        }
        if (free.length > 0) notAllocated.push({ seq: r.seq, pfns: free.slice(0, 16) });
        held.unionWith(r.pages);
      } else if ((r.what === "deflate" || r.what === "report") && r.pages !== undefined) {
        // a reported page is the host's until the report is used, as an inflated one is (B60)
        if (r.what === "report") held.unionWith(r.pages);
        pendingDeflate.set(`${r.index}:${r.head}`, r.pages);
      }
    } else if (e.kind === "used") {
      const key = `${e.index}:${e.head}`;
      const pages = pendingDeflate.get(key);
      if (pages !== undefined) {
        held.subtract(pages);
        pendingDeflate.delete(key);
      }
    }
  });
  let lastSeq = 0;
  transport.onEvent((e) => {
    lastSeq = e.seq;
  });
  const standard = watchStandard(guest, transport, () => device.has("PAGE_POISON"));
  const availOrder = watchAvailOrder(guest.mem, transport, () => lastSeq);
  guest.mem.onWrite((pfn, writer) => {
    if (writer === "device" || writer === "host") return;
    if (held.has(pfn)) {
      watch.push({ pfn, writer, afterSeq: lastSeq });
      transport.record({ kind: "watch", pfn, writer });
    }
  });
  const errors: string[] = [];
  const exceptions: { step: string; message: string; stack?: string }[] = [];
  const missingMethods: string[] = [];
  const hangs: string[] = [];
  const thrown = (step: string, e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    errors.push(`${step}: ${message}`);
    exceptions.push({
      step,
      message: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
      ...(e instanceof Error && e.stack !== undefined ? { stack: e.stack } : {}),
    });
  };
  let driver: DriverUnderTest;
  try {
    driver = target.create({
      guest,
      transport,
      scenario: scenario.id,
      faults: {
        ...(scenario.bitmapLimit === undefined ? {} : { bitmapLimit: scenario.bitmapLimit }),
        ...(scenario.failBitmapAllocation ? { failBitmapAllocation: true } : {}),
      },
    });
  } catch (e) {
    if (e instanceof UnsupportedScenarioError || e instanceof TargetFailure) throw e;
    throw new Error(`Target ${target.name} failed to build a driver: ${(e as Error).message}`);
  }
  const managed: number[] = [guest.alloc.managedPages];
  const heldAfterStep: number[] = [];
  const oomFreed: number[] = [];
  const freeAtRequest: PageSet[] = [];
  const migrations: MigrationResult[] = [];
  const stepSeq: number[] = [];
  let probed: boolean | undefined;
  let budget = stepBudget(0);
  // whether the step left the driver with nothing to run (its missing notifications are judged then)
  let quiet = true;
  const settle = (label: string) => {
    const r = guest.sched.run({ ...budget, until: guest.sched.now + STEP_TIME });
    if (!r.idle) {
      hangs.push(label);
      quiet = false;
    }
  };
  const task = <T>(label: string, body: () => TaskBody<T> | undefined): T | undefined => {
    let gen: TaskBody<T> | undefined;
    try {
      gen = body();
    } catch (e) {
      thrown(label, e);
      return undefined;
    }
    if (gen === undefined) return undefined;
    const h = guest.sched.spawn(label, gen);
    settle(label);
    // a driver in another process that answered unsupported, or whose process failed:
    // the scenario is unsupported or an error, as a device target's is
    if (h.error instanceof UnsupportedScenarioError || h.error instanceof TargetFailure) {
      throw h.error;
    }
    if (h.error !== undefined) thrown(label, h.error);
    return h.result as T | undefined;
  };
  for (const [i, step] of scenario.steps.entries()) {
    stepSeq.push(
      transport.events.length === 0
        ? 0
        : (transport.events[transport.events.length - 1]?.seq ?? 0) + 1,
    );
    const label = `step ${i + 1} (${step.do})`;
    quiet = true;
    budget = stepBudget(step.do === "target" ? Math.abs(step.pages - device.actual) : 0);
    switch (step.do) {
      case "probe":
        probed = task(label, () => driver.probe()) ?? false;
        break;
      case "target":
        device.setTarget(step.pages);
        settle(label);
        break;
      case "oom":
        oomFreed.push(task(label, () => guest.oom()) ?? 0);
        break;
      case "stats":
        device.requestStats();
        settle(label);
        break;
      case "unused": {
        freeAtRequest.push(guest.alloc.buddyFreeSet());
        device.requestUnusedPages({
          ...(step.param === undefined ? {} : { param: BigInt(step.param) }),
          ...(step.cmd === undefined ? {} : { cmd: step.cmd }),
          ...(step.usedLength === undefined ? {} : { usedLength: step.usedLength }),
        });
        settle(label);
        break;
      }
      case "hold":
        device.holdUsed(step.queues);
        break;
      case "release":
        device.releaseUsed();
        settle(label);
        break;
      case "alloc":
        guest.useMemory(step.pages);
        break;
      case "hog": {
        // the guest takes all memory without writing it, then frees only the ranges asked for
        guest.alloc.allocPages(guest.alloc.freePageCount);
        const keep = new PageSet();
        for (const [start, n] of step.keepFree) keep.addRange(start, n);
        guest.alloc.freePages(keep);
        break;
      }
      case "remove":
        if (driver.remove === undefined) missingMethods.push("remove()");
        else task(label, () => driver.remove?.());
        break;
      case "freeze":
        if (driver.freeze === undefined) missingMethods.push("freeze()");
        else task(label, () => driver.freeze?.());
        break;
      case "restore":
        if (driver.restore === undefined) missingMethods.push("restore()");
        else task(label, () => driver.restore?.());
        break;
      case "migrate-page": {
        const first = device.ballooned.min();
        if (driver.migratePage === undefined) missingMethods.push("migratePage()");
        else if (first !== undefined) task(label, () => driver.migratePage?.(first));
        break;
      }
      case "migrate": {
        const m = task(label, () =>
          migrate(guest, device, {
            useHints: step.useHints,
            guestActivity: () => {
              if (step.dirty) guest.useMemory(step.dirty);
            },
          }));
        if (m !== undefined) migrations.push(m);
        break;
      }
      case "wait":
        quiet = guest.sched.run({ ...budget, until: guest.sched.now + step.ms }).idle;
        break;
      case "hint-start":
        device.startHinting(step.stopAfter === undefined ? {} : { stopAfter: step.stopAfter });
        settle(label);
        break;
      case "hint-stop":
        device.stopHinting();
        settle(label);
        break;
      case "hint-done":
        device.finishHinting();
        settle(label);
        break;
      case "free":
        guest.releaseMemory(
          step.pages === undefined ? undefined : guest.workload.lowest(step.pages),
        );
        settle(label);
        break;
    }
    // the suite's device looks at the driver's rings as the step left them
    device.auditRings({ quiet });
    managed.push(guest.alloc.managedPages);
    heldAfterStep.push(held.size);
  }
  return {
    scenario,
    target: target.name,
    trace: transport.events,
    guest,
    device,
    transport,
    watch,
    notAllocated,
    freeAtRequest,
    managed,
    heldAfterStep,
    oomFreed,
    probed,
    hangs,
    errors,
    exceptions,
    missingMethods,
    negotiated: negotiatedOf(transport.events),
    offered: offer,
    irqBlocking: guest.sched.violations.map((v) => `${v.task}: ${v.message}`),
    migrations,
    stepSeq,
    standard,
    availOrder,
    ms: performance.now() - t0,
  };
}

/** The features of the last accepted negotiation in a trace (a legacy driver: its last write). */
function negotiatedOf(trace: readonly LoggedEvent[]): bigint {
  let legacy: bigint | undefined;
  let modern: bigint | undefined;
  for (const e of trace) {
    if (e.kind === "features-ok" && e.accepted) modern = e.value;
    if (e.kind === "features-write") legacy = e.value;
  }
  return modern ?? legacy ?? 0n;
}

/** The DONE flag value (for checks). */
export const FLAG_DONE: number = enumValue("balloon_flag", "BALLOON_FLAG_DONE");
