/**
 * The device-under-test boundary: what the suite, acting as the guest
 * driver, sees of a device — the virtio transport (status, features, config,
 * queues, notifications, interrupts), the guest memory the rings and buffers
 * live in, and the host's side (targets, stats, what the host says it holds).
 *
 * Every device target implements it: the in-process reference device and its
 * mutants (`targets/reference/`), QEMU's device over qtest and devices in
 * other processes. Device scenarios run unchanged on each; what a target can
 * observe differs, so a port lists the observations it provides.
 *
 * @module
 */

import type { PageSet } from "../../spec/mod.ts";
import type { PhysicalMemory, RingLayout } from "../../impl/mod.ts";

/**
 * What a device port lets the suite observe:
 * - `ring`: the used ring (whether and when a buffer was used, its length);
 * - `config`: the device config space as the driver reads it;
 * - `host-view`: the pages the host holds, as the implementation itself
 *   reports them (in-process targets: self-reported, not observed), and the
 *   pages it took as free page hints and reports;
 * - `host-actual`: the `actual` the host read from the config space;
 * - `host-stats`: the statistics the host kept from the last stats buffer;
 * - `guest-memory`: guest RAM read back after the device acted (a page the
 *   host discarded reads as zeros);
 * - `dirty-log`: whether the host logs dirty pages (live migration);
 * - `device-writes`: every write the device made to guest memory, in order,
 *   with its address and bytes ({@link DevicePort.deviceWrites}). Only a port
 *   that serves the device's memory accesses itself has it (a device in
 *   another process): an in-process device's rings are the suite's own code,
 *   and QEMU over qtest does its DMA out of the suite's sight.
 */
export type Observation = (typeof OBSERVATIONS)[number];

/** Every observation, in the order reports list them. */
export const OBSERVATIONS = [
  "ring",
  "config",
  "host-view",
  "host-actual",
  "host-stats",
  "guest-memory",
  "dirty-log",
  "device-writes",
] as const;

/** One write of the device to guest memory, as the port served it (observation `device-writes`). */
export interface DeviceWrite {
  /** Guest physical address of the first byte. */
  readonly addr: number;
  /** The bytes written. */
  readonly bytes: Uint8Array;
  /** The request the suite had made when the device wrote (e.g. `notify`, `settle`). */
  readonly during: string;
  /** Where the write is in the port's record of the conversation (a 1-based transcript line), if it keeps one. */
  readonly line?: number;
}

/** Driver-side interrupt callbacks. */
export interface PortInterrupts {
  /** A used-buffer notification for a queue. */
  used(queueIndex: number): void;
  /** A configuration-change notification. */
  config(): void;
}

/** The host's side of a device under test. */
export interface HostPort {
  /** Sets the balloon target (`num_pages`) and notifies the driver. */
  setTarget(pages: number): void;
  /** Asks for fresh statistics; false when no stats buffer is held. */
  requestStats(): boolean;
  /** Issues an unused-page request (v3 MISC_VQ); false when no request buffer is available. */
  requestUnusedPages?(param: bigint): boolean;
  /** The pages the host holds in the balloon (observation `host-view`). */
  ballooned?(): PageSet;
  /** The latest statistics the host kept (observation `host-stats`). */
  lastStats?(): readonly { readonly tag: number; readonly val: bigint }[] | undefined;
  /** The `actual` the host read (observation `host-actual`). */
  actual?(): number;
  /** Whether the host logs dirty pages now (observation `dirty-log`). */
  dirtyLogging?(): boolean;
  /** Starts a free-page-hint round (a new command id in the config space); false when it cannot. */
  startHinting?(): boolean;
  /** Sets the free-page-hint command id to STOP. */
  stopHinting?(): void;
  /** Sets the free-page-hint command id to DONE (the host no longer needs the hinted pages). */
  finishHinting?(): void;
  /** The pages the host took as hints in the current round (observation `host-view`). */
  hinted?(): PageSet;
  /** Every page the host took from a report (observation `host-view`). */
  reported?(): PageSet;
}

/** What the suite, acting as the driver, sees of a device under test. */
export interface DevicePort {
  /** Guest memory the rings and buffers live in (the suite's ring code reads and writes it directly). */
  readonly memory: PhysicalMemory;
  /**
   * Whether the conversation uses the legacy interface (no FEATURES_OK step).
   * Read it after the driver wrote its features: an in-process transport
   * decides by VERSION_1, a PCI port by the interface it was opened on
   * (a wrapper must forward it as a getter, not copy it).
   */
  readonly legacy: boolean;
  /**
   * Whether the device has no modern interface at all (a legacy device, such
   * as QEMU's `disable-modern=on`): cases about the modern interface, its 64
   * feature bits and VERSION_1, are `unsupported` on it rather than failed.
   * A device that has a modern interface and does not offer VERSION_1 is
   * judged, and fails them.
   */
  readonly legacyOnly?: boolean;
  /** The guest's native byte order (legacy conversations). */
  readonly guestEndian: "le" | "be";
  /** What this port lets the suite observe. */
  readonly observations: ReadonlySet<Observation>;
  /** The host's side. */
  readonly host: HostPort;
  /** Reads the device status. */
  readStatus(): number;
  /** Writes the device status (0 resets the device). */
  writeStatus(value: number): void;
  /** Reads the 64 feature bits the device offers. */
  readDeviceFeatures(): bigint;
  /** Writes the features the driver accepts. */
  writeDriverFeatures(value: bigint): void;
  /** Reads the device config space. */
  readConfig(offset: number, length: number): Uint8Array;
  /** Writes the device config space. */
  writeConfig(offset: number, bytes: Uint8Array): void;
  /** The config generation (modern interface), if the port has one. */
  configGeneration(): number | undefined;
  /** Largest size of queue `index`, or 0 when the device has no such queue. */
  queueMaxSize(index: number): number;
  /** Sets up and enables queue `index` at a ring layout in guest memory. */
  setupQueue(
    index: number,
    layout: RingLayout,
    features: { readonly eventIdx: boolean; readonly indirect: boolean },
  ): void;
  /** Notifies the device of available buffers on a queue. */
  notify(index: number): void;
  /** Registers the driver's interrupt callbacks. */
  onInterrupt(handlers: PortInterrupts): void;
  /**
   * Ports that see each of the device's memory writes (a device in another
   * process): calls `listener` when the device writes a used ring's index,
   * the moment it hands buffers back, whether or not it interrupts (so the
   * suite can look at guest memory then, as an in-process port's trace
   * does).
   */
  onUsedIndexWrite?(listener: (queueIndex: number) => void): void;
  /**
   * Every write the device made to guest memory in this scenario so far, in
   * the order it made them (observation `device-writes`; only ports that see
   * each write have it).
   */
  deviceWrites?(): readonly DeviceWrite[];
  /**
   * Lets the device work until it is quiet (in-process: the scheduler runs to
   * idle; another process: until `until()` holds or the port's bounded wait
   * ends), delivering interrupts to the callbacks. Returns the errors the
   * device raised meanwhile.
   */
  settle(until?: () => boolean): string[];
  /** Releases the device (stops its process, if it has one). */
  close(): void;
}

/**
 * Thrown by a device target's `open()` when it cannot run a scenario as
 * asked — a big-endian guest on a little-endian machine, more guest RAM than
 * the machine takes — so the scenario's cases are `unsupported` with this
 * message, never judged, passed or failed.
 *
 * @example
 * ```ts
 * import { UnsupportedScenarioError } from "./ports.ts";
 * import assert from "node:assert/strict";
 * const e = new UnsupportedScenarioError("QEMU's x86 machine has no big-endian guest");
 * assert.equal(e.name, "UnsupportedScenarioError");
 * ```
 */
export class UnsupportedScenarioError extends Error {
  /** Builds the error; `message` says why, in sentence case. */
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedScenarioError";
  }
}

/**
 * A target that failed as a whole — a process that crashed, hung or broke
 * its protocol — rather than an implementation's own mistake: the
 * scenario's cases are `error`s naming what happened (no stack trace). The
 * bridge's `TargetError` is one; a runner that catches a task's exception
 * hands these on instead of judging them.
 *
 * @example
 * ```ts
 * import { TargetFailure } from "./ports.ts";
 * import assert from "node:assert/strict";
 * assert.ok(new TargetFailure("the testee exited") instanceof Error);
 * ```
 */
export class TargetFailure extends Error {}
