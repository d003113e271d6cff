/**
 * An in-process virtio transport: device status state machine, feature
 * negotiation (with the FEATURES_OK re-read), config space with generation
 * count and change notifications, queue setup, available-buffer
 * notifications and interrupts. Deterministic: every cross-side event is a
 * scheduler task. Every access is logged for the conformance suite.
 *
 * @module
 */

import { type ByteOrder, byteOrderOf, enumValue, featureBit } from "../spec/mod.ts";
import type { BitmapHeader, PageSet, StatEntry } from "../spec/mod.ts";
import type { GuestMemory, Writer } from "./memory.ts";
import type { Scheduler, TaskBody } from "./scheduler.ts";
import { DeviceQueue, type QueueFeatures, type RingLayout } from "./virtqueue.ts";

/** Device status bit values, read from the spec's enum table. */
export const STATUS: Readonly<{
  ACKNOWLEDGE: number;
  DRIVER: number;
  DRIVER_OK: number;
  FEATURES_OK: number;
  DEVICE_NEEDS_RESET: number;
  FAILED: number;
}> = {
  ACKNOWLEDGE: enumValue("device_status", "ACKNOWLEDGE"),
  DRIVER: enumValue("device_status", "DRIVER"),
  DRIVER_OK: enumValue("device_status", "DRIVER_OK"),
  FEATURES_OK: enumValue("device_status", "FEATURES_OK"),
  DEVICE_NEEDS_RESET: enumValue("device_status", "DEVICE_NEEDS_RESET"),
  FAILED: enumValue("device_status", "FAILED"),
};

const VERSION_1 = 1n << BigInt(featureBit("v3", "VERSION_1"));

/** What the device side of a transport implements. */
export interface DeviceModel {
  /** Feature bits the device offers. */
  readonly deviceFeatures: bigint;
  /** Size of the device-specific config space in bytes. */
  readonly configSize: number;
  /** Called once when the transport is created. */
  attach(transport: Transport): void;
  /** Largest size of queue `index`, or 0 when the device has no such queue. */
  queueMaxSize(index: number): number;
  /** The driver set FEATURES_OK with these features; return false to refuse (FEATURES_OK stays clear). */
  featuresOk(driverFeatures: bigint): boolean;
  /** The driver set DRIVER_OK: queues are live. */
  driverOk(): void;
  /** Available-buffer notification for a queue (runs in a device task). */
  notify(queueIndex: number): void;
  /** The driver wrote the config space. */
  configWritten(offset: number, size: number): void;
  /** The driver reset the device (wrote status 0). */
  reset(): void;
}

/** Driver-side interrupt handlers (they run in interrupt context). */
export interface InterruptHandlers {
  /** Used-buffer notification for a queue. */
  used(queueIndex: number): void;
  /** Configuration-change notification. */
  config(): void;
}

/** One logged transport event. */
export type TransportEvent =
  | { readonly kind: "status-write"; readonly value: number; readonly old: number }
  | { readonly kind: "status-read"; readonly value: number }
  | { readonly kind: "features-read"; readonly value: bigint }
  | { readonly kind: "features-write"; readonly value: bigint }
  | { readonly kind: "features-ok"; readonly accepted: boolean; readonly value: bigint }
  | { readonly kind: "config-read"; readonly offset: number; readonly bytes: Uint8Array }
  | { readonly kind: "config-write"; readonly offset: number; readonly bytes: Uint8Array }
  | { readonly kind: "queue-setup"; readonly index: number; readonly size: number }
  | { readonly kind: "notify"; readonly index: number }
  | { readonly kind: "interrupt-used"; readonly index: number }
  | { readonly kind: "interrupt-config" }
  | { readonly kind: "needs-reset"; readonly reason: string }
  | { readonly kind: "reset" }
  | DeviceTraceEvent
  | HostTraceEvent
  | { readonly kind: "watch"; readonly pfn: number; readonly writer: Writer };

/** What the device recorded about one chain it popped and handled. */
export interface DeviceTraceEvent {
  /** Kind. */
  readonly kind: "request";
  /** Queue index. */
  readonly index: number;
  /** Queue role, as the device assigned it. */
  readonly queue: string;
  /** Head descriptor of the chain. */
  readonly head: number;
  /** What the chain was. */
  readonly what:
    | "inflate"
    | "deflate"
    | "stats"
    | "misc-reply"
    | "misc-request-buffer"
    | "rejected"
    | "bad-chain"
    | "report"
    | "hint-cmd"
    | "hint"
    | "hint-ignored";
  /** Lengths of the device-readable descriptors. */
  readonly readable: readonly number[];
  /** Lengths of the device-writable descriptors. */
  readonly writable: readonly number[];
  /** The readable bytes, when the device keeps them. */
  readonly bytes?: Uint8Array;
  /** Pages named (inflate, deflate, misc reply). */
  readonly pages?: PageSet;
  /** Decoded bitmap header fields (bitmap requests). */
  readonly header?: BitmapHeader;
  /** Decoded statistics. */
  readonly stats?: readonly StatEntry[];
  /** The command id of a free_page_vq out buffer (`hint-cmd`), or the round a hint was sent in. */
  readonly cmdId?: number;
  /** Why it was rejected. */
  readonly error?: string;
  /** Rule the rejection names. */
  readonly rule?: string;
}

/** A host-side control action or a buffer use, as the device performed it. */
export type HostTraceEvent =
  | { readonly kind: "used"; readonly index: number; readonly head: number; readonly len: number }
  | { readonly kind: "host"; readonly action: "set-target"; readonly value: number }
  | { readonly kind: "host"; readonly action: "request-stats" }
  | {
    readonly kind: "host";
    readonly action: "hint-cmd-id";
    readonly value: number;
  }
  | {
    readonly kind: "host";
    readonly action: "request-unused";
    readonly param: bigint;
    readonly cmd: number;
    readonly len: number;
  };

/** A logged event with its sequence number and virtual time. */
export type LoggedEvent = TransportEvent & { readonly seq: number; readonly time: number };

/** Options of {@link Transport}. */
export interface TransportOptions {
  /** The guest's native byte order (matters only for the legacy interface). */
  readonly guestEndian?: "le" | "be";
  /** Keep a log of every event (default true). */
  readonly log?: boolean;
}

interface QueueState {
  readonly layout: RingLayout;
  readonly features: QueueFeatures;
  readonly device: DeviceQueue;
}

/**
 * The transport between one driver and one device.
 */
export class Transport {
  /** Guest memory both sides share. */
  readonly mem: GuestMemory;
  /** The scheduler both sides run on. */
  readonly sched: Scheduler;
  /** The device. */
  readonly device: DeviceModel;
  /** Device config space storage (the device writes it directly). */
  readonly config: Uint8Array;
  /** The guest's native byte order. */
  readonly guestEndian: "le" | "be";
  #status = 0;
  #driverFeatures = 0n;
  #negotiated = 0n;
  #generation = 0;
  #queues = new Map<number, QueueState>();
  #handlers: InterruptHandlers | undefined;
  #log: LoggedEvent[] = [];
  #logging: boolean;
  #seq = 0;
  #held = false;
  #pendingNotifies: number[] = [];
  #listeners: ((e: LoggedEvent) => void)[] = [];

  /** Connects a device to guest memory and a scheduler. */
  constructor(
    mem: GuestMemory,
    sched: Scheduler,
    device: DeviceModel,
    options: TransportOptions = {},
  ) {
    this.mem = mem;
    this.sched = sched;
    this.device = device;
    this.config = new Uint8Array(device.configSize);
    this.guestEndian = options.guestEndian ?? "le";
    this.#logging = options.log ?? true;
    device.attach(this);
  }

  #emit(e: TransportEvent): void {
    if (!this.#logging && this.#listeners.length === 0) return;
    const logged = { ...e, seq: this.#seq++, time: this.sched.now } as LoggedEvent;
    if (this.#logging) this.#log.push(logged);
    for (const l of this.#listeners) l(logged);
  }

  /** Adds a device, host or watch event to the log (the device and harnesses call this). */
  record(
    e: DeviceTraceEvent | HostTraceEvent | { kind: "watch"; pfn: number; writer: Writer },
  ): void {
    this.#emit(e);
  }

  /** Every event so far. */
  get events(): readonly LoggedEvent[] {
    return this.#log;
  }

  /** Subscribes to events as they happen; returns an unsubscribe function. */
  onEvent(listener: (e: LoggedEvent) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  // ---- driver side -------------------------------------------------------

  /** Registers the driver's interrupt handlers. */
  setInterruptHandlers(h: InterruptHandlers): void {
    this.#handlers = h;
  }

  /** Reads the device status. */
  readStatus(): number {
    this.#emit({ kind: "status-read", value: this.#status });
    return this.#status;
  }

  /** Writes the device status; 0 resets the device. */
  writeStatus(value: number): void {
    const old = this.#status;
    this.#emit({ kind: "status-write", value, old });
    if (value === 0) {
      this.#status = 0;
      this.#driverFeatures = 0n;
      this.#negotiated = 0n;
      this.#queues.clear();
      this.#pendingNotifies = [];
      this.#emit({ kind: "reset" });
      this.device.reset();
      return;
    }
    const newBits = value & ~old;
    let next = value | (old & STATUS.DEVICE_NEEDS_RESET);
    if (newBits & STATUS.FEATURES_OK) {
      const accepted = this.device.featuresOk(this.#driverFeatures);
      this.#emit({ kind: "features-ok", accepted, value: this.#driverFeatures });
      if (accepted) this.#negotiated = this.#driverFeatures;
      else next &= ~STATUS.FEATURES_OK;
    }
    if ((newBits & STATUS.DRIVER_OK) && this.isLegacy) {
      // legacy: no FEATURES_OK step, the features written are what is used
      this.#negotiated = this.#driverFeatures;
    }
    this.#status = next;
    if (newBits & STATUS.DRIVER_OK) this.device.driverOk();
  }

  /** The device's offered features. */
  readDeviceFeatures(): bigint {
    const v = this.device.deviceFeatures;
    this.#emit({ kind: "features-read", value: v });
    return v;
  }

  /** Writes the driver's accepted features (before FEATURES_OK). */
  writeDriverFeatures(value: bigint): void {
    this.#emit({ kind: "features-write", value });
    this.#driverFeatures = value;
    if (this.isLegacy) this.#negotiated = value;
  }

  /** Reads config bytes. */
  readConfig(offset: number, length: number): Uint8Array {
    this.#checkConfig(offset, length, "read");
    const bytes = this.config.slice(offset, offset + length);
    this.#emit({ kind: "config-read", offset, bytes });
    return bytes;
  }

  /** Writes config bytes (one access). */
  writeConfig(offset: number, bytes: Uint8Array): void {
    this.#checkConfig(offset, bytes.length, "write");
    this.config.set(bytes, offset);
    this.#emit({ kind: "config-write", offset, bytes: bytes.slice() });
    this.device.configWritten(offset, bytes.length);
  }

  #checkConfig(offset: number, length: number, what: string): void {
    if (offset < 0 || length <= 0 || offset + length > this.config.length) {
      throw new RangeError(
        `Cannot ${what} config space: [${offset}, +${length}) is outside the ${this.config.length}-byte config`,
      );
    }
  }

  /** The config generation count (changes whenever the device changes the config). */
  get configGeneration(): number {
    return this.#generation;
  }

  /** Sets up a queue (after FEATURES_OK, before DRIVER_OK). */
  setupQueue(index: number, layout: RingLayout, features: QueueFeatures): void {
    this.#emit({ kind: "queue-setup", index, size: layout.size });
    this.#queues.set(index, {
      layout,
      features,
      device: new DeviceQueue(this.mem, layout, features),
    });
  }

  /**
   * Available-buffer notification: the device handles the queue in a task of
   * its own, `device:notify:<index>` ({@link deviceNotification}).
   */
  notify(index: number): void {
    this.#emit({ kind: "notify", index });
    if (this.#held) {
      this.#pendingNotifies.push(index);
      return;
    }
    this.#deliverNotify(index);
  }

  #deliverNotify(index: number): void {
    this.sched.spawn(`device:notify:${index}`, deviceNotification(this.device, index));
  }

  /** Holds notifications back from the device (a slow device); {@link release} delivers them. */
  hold(): void {
    this.#held = true;
  }

  /** Delivers held notifications and stops holding. */
  release(): void {
    this.#held = false;
    const p = [...new Set(this.#pendingNotifies)];
    this.#pendingNotifies = [];
    for (const i of p) this.#deliverNotify(i);
  }

  /** Whether notifications are being held. */
  get held(): boolean {
    return this.#held;
  }

  // ---- device side -------------------------------------------------------

  /** Current status (device view, not logged). */
  get status(): number {
    return this.#status;
  }

  /** Features negotiated (FEATURES_OK accepted, or written by a legacy driver). */
  get negotiated(): bigint {
    return this.#negotiated;
  }

  /** Features the driver last wrote. */
  get driverFeatures(): bigint {
    return this.#driverFeatures;
  }

  /** Whether the legacy interface is in use (VERSION_1 not written by the driver). */
  get isLegacy(): boolean {
    return (this.#driverFeatures & VERSION_1) === 0n;
  }

  /** Byte order of `virtio*` fields in this conversation. */
  get byteOrder(): ByteOrder {
    return byteOrderOf(!this.isLegacy, this.guestEndian);
  }

  /** The device side of a queue, if set up. */
  deviceQueue(index: number): DeviceQueue | undefined {
    return this.#queues.get(index)?.device;
  }

  /** The ring layout of queue `index`, if set up. */
  queueLayout(index: number): RingLayout | undefined {
    return this.#queues.get(index)?.layout;
  }

  /** Indices of the queues set up. */
  get queueIndices(): number[] {
    return [...this.#queues.keys()].sort((a, b) => a - b);
  }

  /** The device changed its config: bump the generation, notify the driver (task `irq:interrupt-config`). */
  configChanged(): void {
    this.#generation++;
    this.#emit({ kind: "interrupt-config" });
    this.sched.spawn("irq:interrupt-config", this.#configInterrupt());
  }

  /** Used-buffer notification (the caller has checked suppression; task `irq:interrupt-used`). */
  raiseUsed(index: number): void {
    this.#emit({ kind: "interrupt-used", index });
    this.sched.spawn("irq:interrupt-used", this.#usedInterrupt(index));
  }

  /** The device hit an error it cannot recover from without a reset (G06, G07). */
  setNeedsReset(reason: string): void {
    this.#emit({ kind: "needs-reset", reason });
    this.#status |= STATUS.DEVICE_NEEDS_RESET;
    if (this.#status & STATUS.DRIVER_OK) this.configChanged();
  }

  /** The driver's used-buffer interrupt handler runs, in interrupt context. */
  // deno-lint-ignore require-yield
  *#usedInterrupt(index: number): TaskBody<void> {
    const h = this.#handlers;
    if (h !== undefined) this.sched.irq("interrupt-used", () => h.used(index));
  }

  /** The driver's config-change interrupt handler runs, in interrupt context. */
  // deno-lint-ignore require-yield
  *#configInterrupt(): TaskBody<void> {
    const h = this.#handlers;
    if (h !== undefined) this.sched.irq("interrupt-config", () => h.config());
  }
}

/**
 * The device's task for one available-buffer notification: the device
 * handles the queue (it decides itself whether it may process buffers yet,
 * G05). The reference device's handling is `device/queues.ts`.
 */
// deno-lint-ignore require-yield
export function* deviceNotification(device: DeviceModel, index: number): TaskBody<void> {
  device.notify(index);
}
