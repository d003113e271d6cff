/**
 * Runs a device scenario: the suite plays the driver (a scripted one that
 * builds chains from the case data) and the host, and records what the
 * device did with each chain: whether and when it used it, with which
 * length, and how the host's view of the balloon changed.
 *
 * The device sits behind a `DevicePort` (the device-under-test boundary):
 * the in-process reference and its mutants, or a device in another process.
 * Everything the suite learns comes through the port.
 *
 * @module
 */

import {
  BALLOON_BMAP_ALIGN_BITS,
  BALLOON_BMAP_SIZE,
  type ByteOrder,
  byteOrderOf,
  concatChain,
  encodeBitmapRequest,
  encodePfnArray,
  encodeStats,
  encodeStruct,
  featureMask,
  featureNames,
  featuresOf,
  fieldOf,
  hasFeature,
  PageSet,
  PFNS_PER_BMAP,
  queueLayout,
  type QueueName,
  structSize,
} from "../../spec/mod.ts";
import {
  DriverQueue,
  GuestEnv,
  GuestMemory,
  type LoggedEvent,
  ringBytes,
  ringLayout,
  type Segment,
  STATUS,
} from "../../impl/mod.ts";
import type { DevicePort } from "../model/ports.ts";
import type { ChainSpec, DeviceScenario, DeviceTarget } from "../model/types.ts";
import { inProcessDevicePort, type SelfReport } from "../targets/reference/device_port.ts";
import { TargetError } from "../targets/bridge/target_error.ts";

/** What happened to one chain the suite sent. */
export interface SendResult {
  /** The step's label. */
  readonly label: string;
  /** Queue. */
  readonly queue: QueueName;
  /** The chain's readable bytes. */
  readonly bytes: Uint8Array;
  /** Pages the chain names when read as the tables define (undefined when malformed on purpose). */
  readonly pages: PageSet | undefined;
  /** Whether the device used the buffer by the end of the step. */
  used: boolean;
  /** The used length. */
  len: number;
  /** Host balloon before the send. */
  readonly before: PageSet;
  /** Host balloon at the end of the step. */
  after: PageSet;
  /** Whether the change was already visible in the host view when the buffer was used. */
  appliedAtUse: boolean | undefined;
  /** Trace sequence number of the use, if used (in-process self-report). */
  usedSeq: number | undefined;
  /**
   * Guest pages the suite marked before an inflate and read back after it
   * (observation `guest-memory`): the pages the chain names and their
   * neighbours. Undefined when the target has no guest-memory observation.
   */
  readonly watched: PageSet | undefined;
  /** Of the watched pages, those that read as zeros when the suite saw the buffer used. */
  discardedAtUse: PageSet | undefined;
  /** Of the watched pages, those that read as zeros at the end of the step. */
  discarded: PageSet | undefined;
  /** Whether the suite saw the buffer used before it set DRIVER_OK. */
  usedBeforeDriverOk: boolean;
  /** Whether the host (host view or guest memory) had changed by the end of the send step. */
  changedAtSend: boolean;
  /** Whether DRIVER_OK was set when the chain was sent. */
  readonly sentAfterDriverOk: boolean;
  /** What the scenario asked to send. */
  readonly chain: ChainSpec | undefined;
  /** Stats buffers: the statistics the host reported after the next stats request. */
  statsAfter: readonly { readonly tag: number; readonly val: bigint }[] | undefined;
}

/** Everything a device scenario produced. */
export interface DeviceRun {
  /** The scenario. */
  readonly scenario: DeviceScenario;
  /** The target. */
  readonly target: string;
  /** The device port the run went through. */
  readonly port: DevicePort;
  /** What an in-process device reported about itself (absent for devices in other processes). */
  readonly selfReport: SelfReport | undefined;
  /** The in-process trace (transport and device events), empty without a self-report. */
  readonly trace: readonly LoggedEvent[];
  /** Byte order of `virtio*` fields in the conversation (after negotiation). */
  readonly byteOrder: ByteOrder;
  /** The guest model the suite drives (its allocator places rings and buffers). */
  readonly guest: GuestEnv;
  /** Features offered by the device. */
  readonly offered: bigint;
  /** Features the suite wrote. */
  readonly written: bigint;
  /** Whether FEATURES_OK stuck. */
  readonly featuresOk: boolean;
  /** Features negotiated: what the suite wrote, if the device kept FEATURES_OK (or the interface is legacy). */
  readonly negotiated: bigint;
  /** Results per send label. */
  readonly sends: ReadonlyMap<string, SendResult>;
  /** Used length of each misc request, in order. */
  readonly requestLens: readonly number[];
  /** Bytes the device wrote into each misc request buffer. */
  readonly requestBytes: readonly Uint8Array[];
  /** Whether dirty logging was on when each request was issued. */
  readonly dirtyAtRequest: readonly boolean[];
  /** Whether each stats request gave the stats buffer back. */
  readonly statsReturned: readonly boolean[];
  /** Config bytes after each target step. */
  readonly configAfterTarget: readonly Uint8Array[];
  /** Errors (exceptions from the device). */
  readonly errors: readonly string[];
  /** Milliseconds. */
  readonly ms: number;
}

const REQ_SIZE = structSize("balloon_req_hdr");
const PAGE = 4096;

function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}

/**
 * Features without those whose requirements are missing (G09): the suite's
 * driver never accepts, say, MISC_VQ without STATS_VQ, even when a device
 * offers it so.
 */
function withRequirements(profile: DeviceScenario["profile"], features: bigint): bigint {
  let out = features;
  for (;;) {
    const names = new Set(featureNames(profile, out));
    const drop = featuresOf(profile).filter((f) =>
      names.has(f.name) && f.requires.some((r) => !names.has(r))
    );
    if (drop.length === 0) return out;
    out &= ~featureMask(profile, drop.map((f) => f.name));
  }
}

/** Pages below this are the guest's own (the model reserves them): never marked. */
const RESERVED_PFNS = 256;
/** Neighbours watched on each side of the pages an inflate names. */
const WATCH_MARGIN = 64;
/** The most pages one inflate's observation marks and reads back. */
const WATCH_LIMIT = 8_192;
/** Bytes of the mark written at the start of a watched page. */
const MARK_BYTES = 8;

function mark(pfn: number): Uint8Array {
  const b = new Uint8Array(MARK_BYTES);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x56424353, true); // "SCBV": the suite's mark
  v.setUint32(4, pfn >>> 0, true);
  return b;
}

/** PFNs a device would balloon if it read a device-writable buffer as a PFN array. */
function decoyPfns(bytes: number): number[] {
  return Array.from({ length: Math.ceil(bytes / 4) }, (_, i) => DECOY_PFN + i);
}
/** Where decoy PFNs point: a range no device scenario inflates. */
const DECOY_PFN = 12_345;

/** The pages a chain spec names, read leniently (also when it is malformed on purpose). */
function namedPages(spec: ChainSpec): PageSet {
  if ("pfns" in spec) return PageSet.of(spec.pfns);
  const out = new PageSet();
  if ("bitmap" in spec) { for (const [s, n] of spec.bitmap.runs) out.addRange(s, n); }
  return out;
}

/** Runs one device scenario against one device target. */
export function runDeviceScenario(scenario: DeviceScenario, target: DeviceTarget): DeviceRun {
  const t0 = performance.now();
  const guest = new GuestEnv({ pages: scenario.guestPages });
  const port: DevicePort = target.open !== undefined
    ? target.open({
      guestPages: scenario.guestPages,
      profile: scenario.profile,
      ...(scenario.guestEndian === undefined ? {} : { guestEndian: scenario.guestEndian }),
    })
    : inProcessDevicePort(target, {
      guest,
      guestPages: scenario.guestPages,
      ...(scenario.guestEndian === undefined ? {} : { guestEndian: scenario.guestEndian }),
    });
  const selfReport = "selfReport" in port ? port.selfReport as SelfReport : undefined;
  const host = port.host;
  const ballooned = () => host.ballooned?.() ?? new PageSet();
  const profile = scenario.profile;
  const accept = scenario.accept.filter((f) => !(target.unsupported ?? []).includes(f));
  const errors: string[] = [];
  const sends = new Map<string, SendResult>();
  const requestLens: number[] = [];
  const requestBytes: Uint8Array[] = [];
  const dirtyAtRequest: boolean[] = [];
  const statsReturned: boolean[] = [];
  const configAfterTarget: Uint8Array[] = [];
  const queues = new Map<QueueName, { index: number; vq: DriverQueue<string> }>();
  let offered = 0n;
  let written = 0n;
  let featuresOk = false;
  let lastParam = 0n;
  let requestAddr = 0;
  const pendingUse = new Map<string, SendResult>();

  selfReport?.onEvent((e) => {
    if (e.kind === "host" && e.action === "request-unused") {
      dirtyAtRequest.push(host.dirtyLogging?.() ?? false);
    }
    if (e.kind === "used") {
      const r = pendingUse.get(`${e.index}:${e.head}`);
      if (r !== undefined && r.pages !== undefined) {
        const inflate = r.queue === "inflateq";
        const b = ballooned();
        r.appliedAtUse = inflate ? r.pages.isSubsetOf(b) : r.pages.intersectionSize(b) === 0;
        r.usedSeq = e.seq;
      }
    }
  });

  const settle = () => {
    errors.push(...port.settle());
  };

  // the status as the suite last wrote or read it (reading it again would be a logged access)
  let status = 0;
  const writeStatus = (value: number) => {
    status = value;
    port.writeStatus(value);
  };
  const writeStatusBits = (bits: number) => writeStatus(status | bits);

  const buffer = (bytes: number): number => {
    const pages = Math.max(1, Math.ceil(bytes / PAGE));
    const order = Math.ceil(Math.log2(pages));
    const pfn = guest.alloc.allocBlock(order, "UNMOVABLE");
    if (pfn === undefined) throw new RangeError("Suite driver: out of guest memory for buffers");
    return GuestMemory.addressOf(pfn);
  };

  const collect = () => {
    for (const [name, q] of queues) {
      for (;;) {
        const u = q.vq.getUsed();
        if (u === undefined) break;
        const r = sends.get(u.token);
        if (r !== undefined) {
          r.used = true;
          r.len = u.len;
          r.usedBeforeDriverOk = (status & STATUS.DRIVER_OK) === 0;
          if (r.watched !== undefined) r.discardedAtUse = zeroed(r.watched);
        } else if (u.token === "request") {
          requestLens.push(u.len);
          requestBytes.push(port.memory.read(requestAddr, REQ_SIZE));
        }
        void name;
      }
    }
  };

  const VERSION_1 = featureMask(profile, ["VERSION_1"]);
  const order = () => byteOrderOf((written & VERSION_1) !== 0n, port.guestEndian);

  const build = (spec: ChainSpec): { segments: Uint8Array[]; pages: PageSet | undefined } => {
    if ("pfns" in spec) {
      let b = encodePfnArray(spec.pfns, order());
      if (spec.cut) b = b.subarray(0, b.length - spec.cut);
      return { segments: [b], pages: spec.cut ? undefined : PageSet.of(spec.pfns) };
    }
    if ("bitmap" in spec) {
      const m = spec.bitmap;
      const pages = new PageSet();
      for (const [s, n] of m.runs) pages.addRange(s, n);
      const min = pages.min() ?? 0;
      const max = pages.max() ?? 0;
      const start = m.startPfn ??
        Math.floor(min / BALLOON_BMAP_ALIGN_BITS) * BALLOON_BMAP_ALIGN_BITS;
      const len = m.bmapLen ?? roundUp(max + 1 - start, BALLOON_BMAP_ALIGN_BITS) / 8;
      const segments = encodeBitmapRequest({
        pages,
        startPfn: start,
        bmapLen: len,
        order: order(),
      });
      let malformed = false;
      if (m.header !== undefined) {
        const base: Record<string, number | bigint> = {
          cmd: 0,
          page_shift: 12,
          flag: 0,
          reserved: 0,
          req_id: 0n,
          start_pfn: BigInt(start),
          bmap_len: BigInt(len),
        };
        for (const [k, v] of Object.entries(m.header)) {
          base[k] = typeof v === "string"
            ? BigInt(v)
            : (k === "req_id" || k === "start_pfn" || k === "bmap_len")
            ? BigInt(v)
            : v;
        }
        segments[0] = encodeStruct("balloon_bmap_hdr", base, { order: order() });
        malformed = true;
      }
      if (m.cut) {
        let left = m.cut;
        while (left > 0 && segments.length > 0) {
          const last = segments[segments.length - 1] as Uint8Array;
          if (last.length <= left) {
            left -= last.length;
            segments.pop();
          } else {
            segments[segments.length - 1] = last.subarray(0, last.length - left);
            left = 0;
          }
        }
        malformed = true;
      }
      return { segments, pages: malformed ? undefined : pages };
    }
    if ("stats" in spec) {
      return {
        segments: [
          encodeStats(spec.stats.map((s) => ({ tag: s.tag, val: BigInt(s.val) })), order()),
        ],
        pages: undefined,
      };
    }
    const hex = spec.hex;
    const b = new Uint8Array(hex.length / 2);
    for (let i = 0; i < b.length; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return { segments: [b], pages: undefined };
  };

  // observation guest-memory: pages an inflate names (and their neighbours, to
  // see a device that places bits wrongly) are marked before it is sent; a
  // page the host discards reads back as zeros
  const watch = (spec: ChainSpec | undefined, writable: readonly number[]): PageSet | undefined => {
    if (spec === undefined) return undefined;
    const named = namedPages(spec);
    // and the decoy PFNs of its device-writable buffers: a device that reads them discards those
    for (const len of writable) for (const pfn of decoyPfns(len)) named.add(pfn);
    const out = new PageSet();
    for (const { start, length: n } of named.runs()) {
      const from = Math.max(RESERVED_PFNS, start - WATCH_MARGIN);
      const to = Math.min(scenario.guestPages, start + n + WATCH_MARGIN);
      if (to > from) out.addRange(from, to - from);
    }
    if (out.size > WATCH_LIMIT) return undefined;
    for (const pfn of out) port.memory.write(GuestMemory.addressOf(pfn), mark(pfn), "driver");
    return out;
  };
  const zeroed = (pages: PageSet): PageSet => {
    const out = new PageSet();
    for (const pfn of pages) {
      const b = port.memory.read(GuestMemory.addressOf(pfn), MARK_BYTES);
      if (b.every((x) => x === 0)) out.add(pfn);
    }
    return out;
  };

  const send = (
    label: string,
    queue: QueueName,
    segments: readonly Uint8Array[],
    pages: PageSet | undefined,
    spec: ChainSpec | undefined,
    writable: readonly number[] = [],
    indirect = false,
  ) => {
    const q = queues.get(queue);
    if (q === undefined) {
      errors.push(`${label}: queue ${queue} is not set up`);
      return;
    }
    const out: Segment[] = segments.map((b) => {
      const addr = buffer(b.length);
      port.memory.write(addr, b, "driver");
      return { addr, len: b.length };
    });
    const inn: Segment[] = writable.map((len) => {
      const addr = buffer(len);
      // device-writable bytes that look like PFNs: a device that reads them would balloon these pages
      port.memory.write(addr, encodePfnArray(decoyPfns(len), order()).subarray(0, len), "driver");
      return { addr, len };
    });
    const watched = queue === "inflateq" && port.observations.has("guest-memory")
      ? watch(spec, writable)
      : undefined;
    const result: SendResult = {
      label,
      queue,
      bytes: concatChain(segments),
      pages,
      used: false,
      len: 0,
      before: ballooned().clone(),
      after: ballooned().clone(),
      appliedAtUse: undefined,
      usedSeq: undefined,
      watched,
      discardedAtUse: undefined,
      discarded: undefined,
      usedBeforeDriverOk: false,
      changedAtSend: false,
      sentAfterDriverOk: (status & STATUS.DRIVER_OK) !== 0,
      chain: spec,
      statsAfter: undefined,
    };
    sends.set(label, result);
    let head: number;
    try {
      head = q.vq.add(
        out,
        inn,
        label,
        indirect ? { indirectTable: buffer(16 * (out.length + inn.length)) } : {},
      );
    } catch (e) {
      errors.push(`${label}: ${(e as Error).message}`);
      return;
    }
    pendingUse.set(`${q.index}:${head}`, result);
    port.notify(q.index);
    settle();
    collect();
    result.after = ballooned().clone();
    if (watched !== undefined) result.discarded = zeroed(watched);
    result.changedAtSend = !result.after.equals(result.before) ||
      (result.discarded !== undefined && result.discarded.size > 0);
  };

  // the device's process failed: the run has nothing to judge (its cases are errors)
  let failed: TargetError | undefined;
  for (const step of scenario.steps) {
    try {
      switch (step.do) {
        case "negotiate": {
          writeStatus(0);
          writeStatus(STATUS.ACKNOWLEDGE);
          writeStatus(STATUS.ACKNOWLEDGE | STATUS.DRIVER);
          offered = port.readDeviceFeatures();
          written = withRequirements(profile, offered & featureMask(profile, accept));
          port.writeDriverFeatures(written);
          if (!port.legacy) {
            writeStatus(STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK);
            status = port.readStatus();
            featuresOk = (status & STATUS.FEATURES_OK) !== 0;
            if (!featuresOk) break;
          } else {
            featuresOk = true;
          }
          const layout = queueLayout(profile, new Set(featureNames(profile, written)));
          const eventIdx = hasFeature(profile, written, "EVENT_IDX");
          const indirect = hasFeature(profile, written, "INDIRECT_DESC");
          // a legacy device finds the used ring by the legacy layout (§2.7.2)
          const geometry = port.legacy ? { legacy: true } : {};
          for (const slot of layout) {
            const size = port.queueMaxSize(slot.index);
            if (size === 0) {
              errors.push(`device has no queue ${slot.index} (${slot.name})`);
              continue;
            }
            const base = buffer(ringBytes(size, geometry));
            const rl = ringLayout(base, size, geometry);
            port.setupQueue(slot.index, rl, { eventIdx, indirect });
            queues.set(slot.name, {
              index: slot.index,
              vq: new DriverQueue<string>(port.memory, rl, { order: order(), eventIdx, indirect }),
            });
          }
          port.onInterrupt({ used: () => collect(), config: () => {} });
          if (step.driverOk !== false) writeStatusBits(STATUS.DRIVER_OK);
          break;
        }
        case "driver-ok":
          writeStatusBits(STATUS.DRIVER_OK);
          for (const q of queues.values()) port.notify(q.index);
          settle();
          collect();
          for (const r of sends.values()) r.after = ballooned().clone();
          break;
        case "send": {
          const { segments, pages } = build(step.chain);
          send(
            step.label,
            step.queue,
            segments,
            pages,
            step.chain,
            step.writable ?? [],
            step.indirect ?? false,
          );
          break;
        }
        case "post-request-buffer": {
          const q = queues.get("miscq");
          if (q === undefined) {
            errors.push("miscq is not set up");
            break;
          }
          requestAddr = buffer(REQ_SIZE);
          q.vq.add([], [{ addr: requestAddr, len: REQ_SIZE }], "request");
          port.notify(q.index);
          settle();
          break;
        }
        case "target":
          host.setTarget(step.pages);
          settle();
          configAfterTarget.push(
            port.readConfig(fieldOf("virtio_balloon_config", "num_pages").offset, 4),
          );
          break;
        case "stats": {
          const waiting = [...sends.values()].filter((r) => r.queue === "statsq" && !r.used);
          host.requestStats();
          settle();
          collect();
          statsReturned.push(waiting.some((r) => r.used));
          // what the host reports now is what it made of the latest buffer
          const latest = [...sends.values()].filter((r) => r.queue === "statsq").pop();
          if (latest !== undefined) latest.statsAfter = host.lastStats?.();
          break;
        }
        case "unused":
          lastParam = BigInt(step.param);
          if (host.requestUnusedPages === undefined) {
            errors.push("unused: the device port has no unused-page request");
            break;
          }
          host.requestUnusedPages(lastParam);
          settle();
          collect();
          break;
        case "reply": {
          const window = PFNS_PER_BMAP;
          const end = Math.min(scenario.guestPages, step.startPfn + window);
          const pages = new PageSet();
          guest.alloc.scanFreeRange(step.startPfn, end, pages);
          const done = step.flag === 1;
          const bmapLen = done
            ? roundUp(end - step.startPfn, BALLOON_BMAP_ALIGN_BITS) / 8
            : BALLOON_BMAP_SIZE;
          const segments = encodeBitmapRequest({
            pages,
            startPfn: step.startPfn,
            bmapLen,
            order: order(),
            header: { flag: step.flag, req_id: lastParam },
          });
          send(step.label, "miscq", segments, undefined, undefined);
          break;
        }
        case "write-guest":
          guest.mem.touch(step.pfn, "guest");
          break;
      }
    } catch (e) {
      if (e instanceof TargetError) {
        failed = e;
        break;
      }
      errors.push(`${step.do}: ${(e as Error).message}`);
    }
  }
  port.close();
  if (failed !== undefined) throw failed;
  return {
    scenario,
    target: target.name,
    port,
    selfReport,
    trace: selfReport?.trace ?? [],
    byteOrder: order(),
    guest,
    offered,
    written,
    featuresOk,
    negotiated: featuresOk ? written : 0n,
    sends,
    requestLens,
    requestBytes,
    dirtyAtRequest,
    statsReturned,
    configAfterTarget,
    errors,
    ms: performance.now() - t0,
  };
}
