/**
 * QEMU's balloon as a `DevicePort` (the device-under-test boundary): the
 * suite's device runner drives it exactly as it drives the in-process
 * reference, through {@link VirtioPciTransport} over qtest, with the rings
 * and buffers in QEMU's own RAM.
 *
 * What the port lets the suite observe is only what QEMU really shows:
 * - `ring`: the used rings in QEMU's RAM, read by the suite's `DriverQueue`;
 * - `config`: the device configuration through the PCI capability or BAR0;
 * - `guest-memory`: guest RAM read back after the device acted (a page QEMU
 *   discards reads as zeros);
 * - `host-actual`: QMP `query-balloon`, the `actual` QEMU read;
 * - `host-stats`: the statistics QEMU parsed from the last stats buffer
 *   (QOM `guest-stats`), when the VM runs (on halting firmware) so that the
 *   polling timer can return the buffer.
 * No `host-view` (QEMU keeps no list of ballooned pages) and no `dirty-log`.
 *
 * **Interrupts** are read from the ISR byte (QEMU 7.2's balloon has no
 * MSI-X); a used-buffer interrupt is delivered for each queue whose used
 * index moved. **Settling** is a bounded wait: QEMU handles a notification
 * synchronously, inside the qtest write, so one look usually finds the work
 * done; the port polls while a buffer the device must return is outstanding
 * (at most `settleMs`), or until `until()` holds. `DEVICE_NEEDS_RESET`
 * becomes an error string with QEMU's stderr; a QEMU that dies or stops
 * answering is a `TargetError`.
 *
 * @module
 */

import {
  byteOrderOf,
  enumValue,
  featureNames,
  fieldOf,
  hasFeature,
  type ProfileId,
  queueLayout,
  readScalar,
} from "../../../spec/mod.ts";
import type { RingLayout } from "../../../impl/mod.ts";
import type { DevicePort, HostPort, Observation, PortInterrupts } from "../../model/ports.ts";
import type { QemuBalloonSession } from "./session.ts";

/** Options of {@link qemuDevicePort}. */
export interface QemuDevicePortOptions {
  /** The profile the suite speaks (names the feature bits and queues). */
  readonly profile: ProfileId;
  /** Whether the VM runs (timers fire): the stats buffer can then be returned. */
  readonly running: boolean;
  /** Longest settle without `until` while a buffer is outstanding, in ms (default 50). */
  readonly settleMs?: number;
  /** Longest settle with `until`, and longest wait for a stats buffer, in ms (default 2000). */
  readonly waitMs?: number;
  /** Called when the port closes (after QEMU is stopped). */
  readonly onClose?: () => void;
}

/** A {@link DevicePort} over a QEMU session, with what it saw for reports and tests. */
export interface QemuDevicePort extends DevicePort {
  /** The session behind it. */
  readonly session: QemuBalloonSession;
  /** Queues set up, by index. */
  readonly rings: ReadonlyMap<number, RingLayout>;
}

const NEEDS_RESET = enumValue("device_status", "DEVICE_NEEDS_RESET");
const AVAIL_IDX = fieldOf("virtq_avail_hdr", "idx");
const USED_IDX = fieldOf("virtq_used_hdr", "idx");
const STDERR_LINES = 5;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The observations a QEMU port provides (`host-stats` only when the VM runs). */
export function qemuObservations(running: boolean): ReadonlySet<Observation> {
  return new Set<Observation>([
    "ring",
    "config",
    "guest-memory",
    "host-actual",
    ...(running ? ["host-stats" as const] : []),
  ]);
}

/** Wraps an open QEMU balloon session as a device port. */
export function qemuDevicePort(
  session: QemuBalloonSession,
  options: QemuDevicePortOptions,
): QemuDevicePort {
  const t = session.transport;
  const profile = options.profile;
  const settleMs = options.settleMs ?? 50;
  const waitMs = options.waitMs ?? 2_000;
  const rings = new Map<number, RingLayout>();
  const seenUsed = new Map<number, number>();
  let written = 0n;
  let handlers: PortInterrupts | undefined;
  let needsReset = false;
  let closed = false;

  const order = () => byteOrderOf(hasFeature(profile, written, "VERSION_1"), "le");
  const idx = (addr: number, field: typeof USED_IDX): number => {
    const b = t.memory.read(addr + field.offset, 2);
    return Number(readScalar(new DataView(b.buffer, b.byteOffset), 0, field.type, order()));
  };
  /** The queue the device may hold a buffer in (stats, returned when the host asks). */
  const heldQueue = (): number | undefined => {
    const names = new Set(featureNames(profile, written));
    return queueLayout(profile, names).find((s) => s.name === "statsq")?.index;
  };
  /** Queues with buffers the device has not used yet (the stats queue excepted). */
  const outstanding = (): number[] => {
    const held = heldQueue();
    const out: number[] = [];
    for (const [i, l] of rings) {
      if (i !== held && idx(l.avail, AVAIL_IDX) !== idx(l.used, USED_IDX)) out.push(i);
    }
    return out;
  };
  const errors: string[] = [];
  const look = (): void => {
    const irq = t.takeInterrupts();
    if (irq.used) {
      for (const [i, l] of rings) {
        const now = idx(l.used, USED_IDX);
        if (now !== seenUsed.get(i)) {
          seenUsed.set(i, now);
          handlers?.used(i);
        }
      }
    }
    if (irq.config) handlers?.config();
    const status = t.readStatus();
    if ((status & NEEDS_RESET) !== 0 && !needsReset) {
      needsReset = true;
      const tail = session.qemu.bridge.stderrTail().trim().split("\n").slice(-STDERR_LINES)
        .join(" | ");
      errors.push(
        `The device set DEVICE_NEEDS_RESET (status 0x${status.toString(16)}); QEMU's stderr: ${
          tail || "(empty)"
        }`,
      );
    }
  };
  const settle = (until?: () => boolean): string[] => {
    const deadline = performance.now() + (until === undefined ? settleMs : waitMs);
    for (;;) {
      look();
      const done = until !== undefined ? until() : needsReset || outstanding().length === 0;
      if (done || performance.now() >= deadline) break;
      sleepSync(1);
    }
    return errors.splice(0);
  };

  const statsHeld = (): boolean => {
    const i = heldQueue();
    const l = i === undefined ? undefined : rings.get(i);
    return l !== undefined && idx(l.avail, AVAIL_IDX) !== idx(l.used, USED_IDX);
  };

  const host: HostPort = {
    setTarget: (pages) => session.host.setTargetPages(pages),
    requestStats: () => {
      if (!options.running || !statsHeld()) return false;
      const i = heldQueue() as number;
      const l = rings.get(i) as RingLayout;
      const before = idx(l.used, USED_IDX);
      // a fresh polling timer fires at once and returns the buffer QEMU holds
      session.host.setStatsPollingInterval(0);
      session.host.setStatsPollingInterval(1);
      const deadline = performance.now() + waitMs;
      while (idx(l.used, USED_IDX) === before && performance.now() < deadline) sleepSync(1);
      // no timer between requests: the next buffer is held until the host asks again
      session.host.setStatsPollingInterval(0);
      return true;
    },
    actual: () => session.host.actualPages(),
    ...(options.running ? { lastStats: () => session.host.lastStats() } : {}),
  };

  return {
    session,
    rings,
    memory: t.memory,
    legacy: t.legacy,
    legacyOnly: t.legacy,
    guestEndian: "le",
    observations: qemuObservations(options.running),
    host,
    readStatus: () => t.readStatus(),
    writeStatus: (value) => {
      if (value === 0) {
        rings.clear();
        seenUsed.clear();
        needsReset = false;
      }
      t.writeStatus(value);
    },
    readDeviceFeatures: () => t.readDeviceFeatures(),
    writeDriverFeatures: (value) => {
      written = value;
      t.writeDriverFeatures(value);
    },
    readConfig: (offset, length) => t.readConfig(offset, length),
    writeConfig: (offset, bytes) => t.writeConfig(offset, bytes),
    configGeneration: () => t.configGeneration(),
    queueMaxSize: (index) => t.queueMaxSize(index),
    setupQueue: (index, layout) => {
      t.setupQueue(index, layout);
      rings.set(index, layout);
      seenUsed.set(index, 0);
    },
    notify: (index) => t.notify(index),
    onInterrupt: (h) => {
      handlers = h;
    },
    settle,
    close: () => {
      if (closed) return;
      closed = true;
      session.close();
      options.onClose?.();
    },
  };
}
