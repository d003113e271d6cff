/**
 * A guest, a device, a transport and a driver wired together, with a write
 * watch that records every guest or driver write to a page the host holds
 * in the balloon. Used by the end-to-end tests, the benchmarks and the
 * conformance suite.
 *
 * @module
 */

import type { FeatureName, ProfileId } from "../spec/mod.ts";
import { BalloonDevice, type DeviceOptions } from "./device.ts";
import { BalloonDriver, type DriverOptions, type GuestAbi } from "./driver.ts";
import { GuestEnv } from "./guest.ts";
import type { Writer } from "./memory.ts";
import type { QuirkId } from "./quirks.ts";
import type { RunResult, TaskBody, TaskHandle } from "./scheduler.ts";
import { Transport } from "./transport.ts";

/** Options of {@link Testbed}. */
export interface TestbedOptions {
  /** Guest RAM in 4 KiB pages. */
  readonly pages: number;
  /** Profile of both sides (default v3). */
  readonly profile?: ProfileId;
  /** Driver quirks. */
  readonly quirks?: Iterable<QuirkId>;
  /** Guest ABI. */
  readonly abi?: Partial<GuestAbi>;
  /** Guest byte order (legacy conversations only). */
  readonly guestEndian?: "le" | "be";
  /** Features the device offers. */
  readonly offer?: readonly FeatureName[];
  /** Features the driver is willing to accept. */
  readonly accept?: readonly FeatureName[];
  /** Queue size the device offers. */
  readonly queueSize?: number;
  /** Free pages the guest writes at once when the balloon gives them back. */
  readonly touchOnFree?: boolean;
  /** Pages the kernel holds at the bottom of RAM. */
  readonly reserved?: number;
  /** The value the guest initialises its free pages to, if it does (page poisoning). */
  readonly pagePoison?: number;
  /** More driver options. */
  readonly driver?: Omit<DriverOptions, "profile" | "quirks" | "abi" | "accept">;
  /** More device options. */
  readonly device?: Omit<DeviceOptions, "profile" | "guestPages" | "offer" | "queueSize">;
  /** Keep the transport's event log (default true). */
  readonly log?: boolean;
}

/** A write to a page the host held in the balloon at the time. */
export interface WatchViolation {
  /** The page. */
  readonly pfn: number;
  /** Who wrote it. */
  readonly writer: Writer;
  /** Virtual time. */
  readonly time: number;
}

/**
 * A wired-up guest and host.
 *
 * @example
 * ```ts
 * import { Testbed } from "./testbed.ts";
 * import assert from "node:assert/strict";
 * const tb = new Testbed({ pages: 65_536 });
 * assert.equal(tb.probe(), true);
 * tb.setTarget(5000);
 * assert.equal(tb.device.actual, 5000);
 * assert.deepEqual(tb.violations, []);
 * ```
 */
export class Testbed {
  /** The guest. */
  readonly guest: GuestEnv;
  /** The device. */
  readonly device: BalloonDevice;
  /** The transport. */
  readonly transport: Transport;
  /** The driver. */
  readonly driver: BalloonDriver;
  /** Writes to pages the host held in the balloon. */
  readonly violations: WatchViolation[] = [];

  /** Builds the testbed (the driver is not probed yet). */
  constructor(options: TestbedOptions) {
    const profile = options.profile ?? "v3";
    this.guest = new GuestEnv({
      pages: options.pages,
      ...(options.touchOnFree === undefined ? {} : { touchOnFree: options.touchOnFree }),
      ...(options.reserved === undefined ? {} : { reserved: options.reserved }),
      ...(options.pagePoison === undefined ? {} : { pagePoison: options.pagePoison }),
    });
    this.device = new BalloonDevice({
      profile,
      guestPages: options.pages,
      ...(options.offer === undefined ? {} : { offer: options.offer }),
      ...(options.queueSize === undefined ? {} : { queueSize: options.queueSize }),
      ...options.device,
    });
    this.transport = new Transport(this.guest.mem, this.guest.sched, this.device, {
      ...(options.guestEndian === undefined ? {} : { guestEndian: options.guestEndian }),
      ...(options.log === undefined ? {} : { log: options.log }),
    });
    this.driver = new BalloonDriver(this.guest, this.transport, {
      profile,
      ...(options.quirks === undefined ? {} : { quirks: options.quirks }),
      ...(options.abi === undefined ? {} : { abi: options.abi }),
      ...(options.accept === undefined ? {} : { accept: options.accept }),
      ...options.driver,
    });
    this.guest.mem.onWrite((pfn, writer) => {
      if (writer !== "device" && writer !== "host" && this.device.ballooned.has(pfn)) {
        this.violations.push({ pfn, writer, time: this.guest.sched.now });
      }
    });
  }

  /** Runs the scheduler until idle (bounded by `maxSteps` / virtual `until`). */
  run(options: { maxSteps?: number; until?: number } = {}): RunResult {
    return this.guest.sched.run(options);
  }

  /** Spawns a task and runs until idle; returns its handle. */
  task<T>(
    name: string,
    body: TaskBody<T>,
    options: { maxSteps?: number; until?: number } = {},
  ): TaskHandle<T> {
    const t = this.guest.sched.spawn(name, body);
    this.run(options);
    return t;
  }

  /** Probes the driver; true when DRIVER_OK was reached. */
  probe(): boolean {
    const t = this.task("probe", this.driver.probe());
    if (t.error !== undefined) throw t.error;
    return t.result === true;
  }

  /** Sets the target and runs until the system is idle. */
  setTarget(pages: number, options: { maxSteps?: number; until?: number } = {}): RunResult {
    this.device.setTarget(pages);
    return this.run(options);
  }
}
