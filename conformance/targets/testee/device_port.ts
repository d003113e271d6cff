/**
 * A device in another process as a `DevicePort`: every port call is one
 * request of the testee protocol ({@link TesteeSession.request}); the rings
 * and buffers live in the suite's own guest memory, which the testee reaches
 * only through `mem.*` messages (so each descriptor, ring and payload access
 * is seen and recorded).
 *
 * Observations: `ring`, `config` and `guest-memory` always (the suite reads
 * its own memory; a page the testee discards reads as zeros), and
 * `device-writes` (each `mem.write`, as it was applied, with the request it
 * came during and its transcript line); `host-view`,
 * `host-actual` and `host-stats` when the testee's `host.state` reports
 * them (self-reported, as for in-process targets); `dirty-log` when the
 * testee says, with each unused-page request it issued, whether it logged
 * dirty pages by then.
 *
 * Interrupts are `event` lines, delivered to the driver's callbacks as they
 * arrive (in the middle of the request the testee is handling, as a real
 * interrupt is taken when it is raised); the suite waits for a device's work
 * with `settle` requests (the testee's bounded wait). A `mem.write` to a used
 * ring's index is reported too ({@link DevicePort.onUsedIndexWrite}): the
 * suite looks at guest memory the moment the device hands a buffer back.
 *
 * @module
 */

import { featureMask, fieldOf, type ProfileId, wireSize } from "../../../spec/mod.ts";
import type { RingLayout } from "../../../impl/mod.ts";
import type {
  DevicePort,
  DeviceWrite,
  HostPort,
  Observation,
  PortInterrupts,
} from "../../model/ports.ts";
import { fromBase64, hex64, pagesOf, toBase64 } from "./protocol.ts";
import { type MemoryAccess, PIPELINED, type TesteeSession } from "./session.ts";

const USED_IDX_FIELD = fieldOf("virtq_used_hdr", "idx");
const USED_IDX = { offset: USED_IDX_FIELD.offset, size: wireSize(USED_IDX_FIELD.type) } as const;

/** Options of {@link testeeDevicePort}. */
export interface TesteeDevicePortOptions {
  /** The profile the suite speaks. */
  readonly profile: ProfileId;
  /** The guest's byte order. */
  readonly guestEndian: "le" | "be";
  /** The `ms` of a plain settle (default 0: a testee replies when it is idle). */
  readonly settleMs?: number;
  /** Longest wait of a settle with `until`, in ms (default 2000). */
  readonly waitMs?: number;
  /** Called when the port closes. */
  readonly onClose?: () => void;
}

/** A device port over a testee session, with the accesses it served. */
export interface TesteeDevicePort extends DevicePort {
  /** The session. */
  readonly session: TesteeSession;
  /** Every memory access of the testee in this scenario. */
  readonly accesses: readonly MemoryAccess[];
}

/** The port of one scenario on an open session (after `begin`). */
export function testeeDevicePort(
  session: TesteeSession,
  options: TesteeDevicePortOptions,
): TesteeDevicePort {
  // what host.state said, until the next request (only a request lets the testee change it)
  let cachedState: Record<string, unknown> | undefined;
  const req = (op: string, fields: Record<string, unknown> = {}) => {
    cachedState = undefined;
    return session.request(op, fields);
  };
  // pipelined requests go out with the next one (see PIPELINED)
  const post = (op: string, fields: Record<string, unknown>) => {
    cachedState = undefined;
    if (PIPELINED.includes(op)) session.post(op, fields);
    else session.request(op, fields);
  };
  const VERSION_1 = featureMask(options.profile, ["VERSION_1"]);
  const hostOps = new Set(session.hello.host);
  const state = new Set(hostOps.has("state") ? session.hello.state : []);
  const observations = new Set<Observation>([
    "ring",
    "config",
    "guest-memory",
    "device-writes",
    ...(state.has("ballooned") ? ["host-view" as const] : []),
    ...(state.has("actual") ? ["host-actual" as const] : []),
    ...(state.has("stats") ? ["host-stats" as const] : []),
    ...(state.has("dirty-log") && hostOps.has("unused") ? ["dirty-log" as const] : []),
  ]);
  let dirtyAtIssue = false;
  let written = 0n;
  let generation: number | undefined;
  let handlers: PortInterrupts | undefined;
  const waitMs = options.waitMs ?? 2_000;
  const settleMs = options.settleMs ?? 0;
  const hostState = () => (cachedState ??= session.request("host.state", {}));

  const deliver = () => {
    for (const e of session.events.splice(0)) {
      if (e.event === "used") handlers?.used(e.queue);
      else handlers?.config();
    }
  };
  // the used index of each queue set up: a write to it hands buffers back
  const usedIdx = new Map<number, number>();
  // this scenario's accesses (begin starts a new list)
  const accesses = session.accesses;
  let onUsed: ((queueIndex: number) => void) | undefined;
  // every write, with its bytes as applied (the record in session.accesses keeps no bytes)
  const writes: DeviceWrite[] = [];
  session.onWrite = (addr, len) => {
    const a = session.accesses[session.accesses.length - 1];
    writes.push({
      addr,
      bytes: session.memory.read(addr, len),
      during: a?.during ?? "",
      ...(a === undefined ? {} : { line: a.line + 1 }),
    });
    if (onUsed === undefined) return;
    for (const [q, at] of usedIdx) if (addr < at + USED_IDX.size && at < addr + len) onUsed(q);
  };
  // interrupts reach the driver as they are raised, in the middle of the request being handled
  session.onEvent = (e) => {
    if (e.event === "used") handlers?.used(e.queue);
    else handlers?.config();
  };
  const settleOnce = (ms: number): string[] => {
    const r = req("settle", { ms });
    deliver();
    return (r.errors as string[] | undefined) ?? [];
  };

  const host: HostPort = {
    setTarget: (n) => void req("host.target", { pages: n }),
    requestStats: () => req("host.stats").held as boolean,
    ...(hostOps.has("unused")
      ? {
        requestUnusedPages: (param: bigint) => {
          const r = req("host.unused", { param: hex64(param) });
          dirtyAtIssue = r.dirtyLog === true;
          return r.issued as boolean;
        },
      }
      : {}),
    // what the testee said of the last request it issued
    ...(observations.has("dirty-log") ? { dirtyLogging: () => dirtyAtIssue } : {}),
    ...(hostOps.has("hint")
      ? {
        startHinting: () => req("host.hint", { action: "start" }).done as boolean,
        stopHinting: () => void req("host.hint", { action: "stop" }),
        finishHinting: () => void req("host.hint", { action: "done" }),
      }
      : {}),
    ...(state.has("ballooned") ? { ballooned: () => pagesOf(hostState().ballooned) } : {}),
    ...(state.has("actual")
      ? { actual: () => (hostState().actual as number | undefined) ?? 0 }
      : {}),
    ...(state.has("stats")
      ? {
        lastStats: () => {
          const s = hostState().stats as { tag: number; val: string }[] | undefined;
          return s?.map((x) => ({ tag: x.tag, val: BigInt(x.val) }));
        },
      }
      : {}),
    ...(state.has("hinted") ? { hinted: () => pagesOf(hostState().hinted) } : {}),
    ...(state.has("reported") ? { reported: () => pagesOf(hostState().reported) } : {}),
  };

  return {
    session,
    accesses,
    memory: session.memory,
    get legacy() {
      return (written & VERSION_1) === 0n;
    },
    guestEndian: options.guestEndian,
    observations,
    host,
    readStatus: () => req("status.read").value as number,
    writeStatus: (value) => {
      if (value === 0) {
        written = 0n;
        usedIdx.clear();
      }
      post("status.write", { value });
    },
    readDeviceFeatures: () => BigInt(req("features.read").value as string),
    writeDriverFeatures: (value) => {
      written = value;
      post("features.write", { value: hex64(value) });
    },
    readConfig: (offset, length) => {
      const r = req("config.read", { offset, length });
      generation = r.generation as number | undefined;
      return fromBase64(r.data as string);
    },
    writeConfig: (offset, bytes) => post("config.write", { offset, data: toBase64(bytes) }),
    configGeneration: () => ((written & VERSION_1) === 0n ? undefined : generation),
    queueMaxSize: (index) => req("queue.max", { queue: index }).size as number,
    setupQueue: (index: number, layout: RingLayout, features) => {
      usedIdx.set(index, layout.used + USED_IDX.offset);
      post("queue.setup", {
        queue: index,
        size: layout.size,
        desc: hex64(layout.desc),
        avail: hex64(layout.avail),
        used: hex64(layout.used),
        eventIdx: features.eventIdx,
        indirect: features.indirect,
      });
    },
    deviceWrites: () => writes,
    onUsedIndexWrite: (listener) => {
      onUsed = listener;
    },
    notify: (index) => void req("notify", { queue: index }),
    onInterrupt: (h) => {
      handlers = h;
    },
    settle: (until) => {
      // a synchronous testee has nothing left to do once it replied
      if (until === undefined && session.hello.synchronous && settleMs === 0) return [];
      if (until === undefined) return settleOnce(settleMs);
      const errors: string[] = [];
      const end = performance.now() + waitMs;
      for (;;) {
        errors.push(...settleOnce(10));
        if (until() || performance.now() >= end) return errors;
      }
    },
    close: () => {
      try {
        if (!session.broken) session.flush();
        session.keepTranscript();
      } finally {
        options.onClose?.();
      }
    },
  };
}
