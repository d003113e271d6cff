/**
 * The device-under-test boundary for in-process devices: a `DeviceModel`
 * (the reference device, a mutant, or a user's TypeScript device) behind the
 * suite's own transport, on a guest model's memory and scheduler.
 *
 * What it observes is partly self-reported: the host view is the device's own
 * `ballooned` set, and its trace holds the requests the device says it
 * handled. Ports to real devices observe through the transport and memory
 * only.
 *
 * @module
 */

import { PageSet } from "../../../spec/mod.ts";
import { type GuestEnv, type LoggedEvent, type RingLayout, Transport } from "../../../impl/mod.ts";
import {
  type DevicePort,
  type Observation,
  OBSERVATIONS,
  type PortInterrupts,
} from "../../model/ports.ts";
import type { DeviceTarget, DeviceUnderTest } from "../../model/types.ts";

/** What an in-process port reports about itself beyond the boundary (for in-process checks only). */
export interface SelfReport {
  /** The transport's ordered log, device requests included. */
  readonly trace: readonly LoggedEvent[];
  /** The device model. */
  readonly device: DeviceUnderTest;
  /** The transport. */
  readonly transport: Transport;
  /** Registers a listener for every logged event. */
  onEvent(listener: (e: LoggedEvent) => void): void;
}

/** A device port with the in-process extras. */
export type InProcessDevicePort = DevicePort & { readonly selfReport: SelfReport };

/**
 * An in-process device shows everything (the host view and stats
 * self-reported) but its memory writes: its rings are the suite's own ring
 * code, so a record of them would judge the suite, not the device.
 */
const ALL: ReadonlySet<Observation> = new Set<Observation>(
  OBSERVATIONS.filter((o) => o !== "device-writes"),
);

/** Settling: enough scheduler steps for any well-behaved device step, and a minute of virtual time. */
const SETTLE = { maxSteps: 5_000, time: 60_000 } as const;

/** Opens an in-process device target on a guest model. */
export function inProcessDevicePort(
  target: DeviceTarget,
  ctx: {
    readonly guest: GuestEnv;
    readonly guestPages: number;
    readonly guestEndian?: "le" | "be";
  },
): InProcessDevicePort {
  if (target.create === undefined) {
    throw new TypeError(`Device target ${target.name} has neither open() nor create()`);
  }
  const { guest } = ctx;
  const device = target.create({ guestPages: ctx.guestPages });
  const transport = new Transport(guest.mem, guest.sched, device, {
    ...(ctx.guestEndian === undefined ? {} : { guestEndian: ctx.guestEndian }),
  });
  return {
    memory: guest.mem,
    get legacy() {
      return transport.isLegacy;
    },
    guestEndian: transport.guestEndian,
    observations: "actual" in device ? ALL : new Set([...ALL].filter((o) => o !== "host-actual")),
    host: {
      setTarget: (pages) => device.setTarget(pages),
      requestStats: () => device.requestStats(),
      requestUnusedPages: (param) => device.requestUnusedPages({ param }) !== undefined,
      ballooned: () => device.ballooned,
      lastStats: () => device.lastStats,
      ...("actual" in device ? { actual: () => device.actual ?? 0 } : {}),
      dirtyLogging: () => guest.mem.dirtyLogging,
      startHinting: () => device.startHinting?.() !== undefined,
      stopHinting: () => device.stopHinting?.(),
      finishHinting: () => device.finishHinting?.(),
      hinted: () => device.hintRounds?.[device.hintRounds.length - 1]?.hints ?? new PageSet(),
      reported: () => device.reported ?? new PageSet(),
    },
    readStatus: () => transport.readStatus(),
    writeStatus: (value) => transport.writeStatus(value),
    readDeviceFeatures: () => transport.readDeviceFeatures(),
    writeDriverFeatures: (value) => transport.writeDriverFeatures(value),
    readConfig: (offset, length) => transport.readConfig(offset, length),
    writeConfig: (offset, bytes) => transport.writeConfig(offset, bytes),
    configGeneration: () => transport.isLegacy ? undefined : transport.configGeneration,
    queueMaxSize: (index) => device.queueMaxSize(index),
    setupQueue: (index: number, layout: RingLayout, features) =>
      transport.setupQueue(index, layout, { order: transport.byteOrder, ...features }),
    notify: (index) => transport.notify(index),
    onInterrupt: (h: PortInterrupts) =>
      transport.setInterruptHandlers({ used: (i) => h.used(i), config: () => h.config() }),
    settle: () => {
      try {
        guest.sched.run({ maxSteps: SETTLE.maxSteps, until: guest.sched.now + SETTLE.time });
        return [];
      } catch (e) {
        return [(e as Error).message];
      }
    },
    close: () => {},
    selfReport: {
      get trace() {
        return transport.events;
      },
      device,
      transport,
      onEvent: (listener) => void transport.onEvent(listener),
    },
  };
}
