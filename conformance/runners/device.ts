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
  byteOrderOf,
  concatChain,
  encodeBitmapRequest,
  encodePfnArray,
  encodeStruct,
  enumValue,
  featureMask,
  featureNames,
  featuresOf,
  fieldOf,
  hasFeature,
  PageSet,
  PFNS_PER_BMAP,
  queueLayout,
  type QueueName,
  readScalar,
  structSize,
  wireSize,
} from "../../spec/mod.ts";
import {
  DriverQueue,
  GuestEnv,
  GuestMemory,
  ringBytes,
  type RingLayout,
  ringLayout,
  type Segment,
  STATUS,
} from "../../impl/mod.ts";
import { type DevicePort, UnsupportedScenarioError } from "../model/ports.ts";
import { buildChain } from "./chains.ts";
import type { ChainSpec, DeviceScenario, DeviceTarget } from "../model/types.ts";
import { inProcessDevicePort, type SelfReport } from "../targets/reference/device_port.ts";
import { TargetError } from "../targets/bridge/target_error.ts";
import {
  cmdIdBytes,
  GuestContents,
  pageSegments,
  type ReadBack,
  readCmdId,
  runPages,
} from "./device_standard.ts";

export type {
  DeviceRun,
  HostActualWrite,
  PlacedDescriptor,
  RingRecord,
  SendResult,
} from "./device_run.ts";
import type {
  DeviceRun,
  HostActualWrite,
  PlacedDescriptor,
  RingRecord,
  SendResult,
} from "./device_run.ts";

const REQ_SIZE = structSize("balloon_req_hdr");
const DESC_SIZE = structSize("virtq_desc");
const F_NEXT = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_NEXT");
const F_WRITE = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_WRITE");
const F_INDIRECT = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_INDIRECT");
const USED_IDX_FIELD = fieldOf("virtq_used_hdr", "idx");
const USED_ID_FIELD = fieldOf("virtq_used_elem", "id");
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

const ACTUAL_FIELD = fieldOf("virtio_balloon_config", "actual");
const ACTUAL = { offset: ACTUAL_FIELD.offset, size: wireSize(ACTUAL_FIELD.type) } as const;

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
      scenario: scenario.id,
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
  const hostPages = () =>
    host.hinted === undefined || host.reported === undefined
      ? undefined
      : { hinted: host.hinted().clone(), reported: host.reported().clone() };
  const profile = scenario.profile;
  const accept = scenario.accept.filter((f) => !(target.unsupported ?? []).includes(f));
  const errors: string[] = [];
  const sends = new Map<string, SendResult>();
  const rings: RingRecord[] = [];
  const requestLens: number[] = [];
  const requestBytes: Uint8Array[] = [];
  const dirtyAtRequest: boolean[] = [];
  const statsReturned: boolean[] = [];
  const configAfterTarget: Uint8Array[] = [];
  const cmdIds: { step: "hint-start" | "hint-stop" | "hint-done"; value: number }[] = [];
  const guestChecks = new Map<string, ReadBack>();
  const contents = new GuestContents(port);
  const queues = new Map<
    QueueName,
    { index: number; vq: DriverQueue<string>; layout: RingLayout }
  >();
  let offered = 0n;
  let written = 0n;
  let featuresOk = false;
  let lastParam = 0n;
  let requestAddr = 0;
  const pendingUse = new Map<string, SendResult>();
  // sends whose step is not over yet, by queue index: their queue's interrupts count for them
  const counting = new Map<SendResult, number>();
  // pages the suite's rings and buffers live in: never marked for observation
  const suiteOwned = new PageSet();
  const actualWrites: HostActualWrite[] = [];

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
    suiteOwned.addRange(pfn, 1 << order);
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
          // (already looked at when the device wrote the used index, on a port that reports it)
          if (r.watched !== undefined) r.discardedAtUse ??= zeroed(r.watched);
        } else if (u.token === "request") {
          requestLens.push(u.len);
          requestBytes.push(port.memory.read(requestAddr, REQ_SIZE));
        }
        void name;
      }
    }
  };

  // used-ring entries read when a port reported a used-index write (without consuming them)
  const peeked = new Map<number, number>();
  const scalar = (addr: number, field: typeof USED_IDX_FIELD): number => {
    const b = port.memory.read(addr + field.offset, wireSize(field.type));
    return Number(readScalar(new DataView(b.buffer, b.byteOffset), 0, field.type, order()));
  };
  const peekUsed = (index: number) => {
    const q = [...queues.values()].find((x) => x.index === index);
    if (q === undefined) return;
    const { used, size } = q.layout;
    const now = scalar(used, USED_IDX_FIELD);
    for (let at = peeked.get(index) ?? 0; at !== now; at = (at + 1) & 0xffff) {
      const elem = used + structSize("virtq_used_hdr") +
        (at % size) * structSize("virtq_used_elem");
      const r = pendingUse.get(`${index}:${scalar(elem, USED_ID_FIELD)}`);
      if (r?.watched !== undefined && r.discardedAtUse === undefined && !r.used) {
        r.discardedAtUse = zeroed(r.watched);
      }
    }
    peeked.set(index, now);
  };

  const VERSION_1 = featureMask(profile, ["VERSION_1"]);
  const order = () => byteOrderOf((written & VERSION_1) !== 0n, port.guestEndian);

  // observation guest-memory: pages an inflate names (and their neighbours, to
  // see a device that places bits wrongly) are marked before it is sent; a
  // page the host discards reads back as zeros
  const watch = (spec: ChainSpec | undefined, decoys: readonly number[]): PageSet | undefined => {
    if (spec === undefined) return undefined;
    const named = namedPages(spec);
    // and the decoy PFNs of its device-writable buffers: a device that reads them discards those
    for (const pfn of decoys) if (pfn < scenario.guestPages) named.add(pfn);
    const near = new PageSet();
    for (const { start, length: n } of named.runs()) {
      const from = Math.max(0, start - WATCH_MARGIN);
      const to = Math.min(scenario.guestPages, start + n + WATCH_MARGIN);
      if (to > from) near.addRange(from, to - from);
    }
    if (near.size > WATCH_LIMIT) return undefined;
    // a page that does not keep the mark (ROM, a hole, the suite's own buffers) is not watched
    const out = new PageSet();
    for (const pfn of near) {
      const addr = GuestMemory.addressOf(pfn);
      if (!port.memory.contains(addr, MARK_BYTES) || suiteOwned.has(pfn)) continue;
      const m = mark(pfn);
      port.memory.write(addr, m, "driver");
      if (port.memory.read(addr, MARK_BYTES).every((b, i) => b === m[i])) out.add(pfn);
    }
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

  // makes a chain available, and says where each of its descriptors went
  const place = (
    q: { readonly vq: DriverQueue<string>; readonly layout: RingLayout },
    out: readonly Segment[],
    inn: readonly Segment[],
    label: string,
    indirect: boolean,
    writeFlag: boolean,
  ): { head: number; placed: PlacedDescriptor[] } => {
    const segs = [...out.map((s) => ({ s, w: false })), ...inn.map((s) => ({ s, w: true }))];
    const n = segs.length;
    const flagsAt = (i: number, w: boolean) => (w ? F_WRITE : 0) | (i < n - 1 ? F_NEXT : 0);
    if (!indirect) {
      const at = q.vq.peekFree(n);
      const head = q.vq.add(out, inn, label);
      return {
        head,
        placed: segs.map(({ s, w }, i) => ({
          table: "ring",
          tableAddr: q.layout.desc,
          index: at[i] ?? 0,
          addr: s.addr,
          len: s.len,
          flags: flagsAt(i, w),
        })),
      };
    }
    const table = buffer(DESC_SIZE * n);
    const entries: PlacedDescriptor[] = segs.map(({ s, w }, i) => ({
      table: "indirect",
      tableAddr: table,
      index: i,
      addr: s.addr,
      len: s.len,
      flags: flagsAt(i, w),
    }));
    const at = q.vq.peekFree(1)[0] ?? 0;
    const ring: PlacedDescriptor = {
      table: "ring",
      tableAddr: q.layout.desc,
      index: at,
      addr: table,
      len: DESC_SIZE * n,
      flags: F_INDIRECT | (writeFlag ? F_WRITE : 0),
    };
    if (!writeFlag) {
      return {
        head: q.vq.add(out, inn, label, { indirectTable: table }),
        placed: [ring, ...entries],
      };
    }
    // the driver queue never sets WRITE on an indirect descriptor: the suite places this one itself
    const bytes = concatChain(entries.map((d, i) =>
      encodeStruct("virtq_desc", {
        addr: BigInt(d.addr),
        len: d.len,
        flags: d.flags,
        next: i < n - 1 ? i + 1 : 0,
      }, { order: order() })
    ));
    port.memory.write(table, bytes, "driver");
    q.vq.addRaw([{ index: at, addr: table, len: ring.len, flags: ring.flags, next: 0 }], at, {
      token: label,
    });
    return { head: at, placed: [ring, ...entries] };
  };

  const send = (
    label: string,
    queue: QueueName,
    segments: readonly Uint8Array[],
    pages: PageSet | undefined,
    spec: ChainSpec | undefined,
    writable: readonly number[] = [],
    indirect = false,
    kick = true,
    pageRuns: readonly (readonly [number, number])[] = [],
    indirectWriteFlag = false,
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
    inn.push(...pageSegments(pageRuns));
    const watched = queue === "inflateq" && port.observations.has("guest-memory")
      ? watch(spec, writable.flatMap((len) => decoyPfns(len)))
      : undefined;
    const result: SendResult = {
      label,
      queue,
      bytes: concatChain(segments),
      pages: pageRuns.length > 0 ? runPages(pageRuns) : pages,
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
      descriptors: [],
      writesBefore: port.deviceWrites?.().length ?? 0,
      statsAfter: undefined,
      interrupts: 0,
      hostBefore: hostPages(),
      hostAfter: undefined,
    };
    sends.set(label, result);
    let head: number;
    try {
      ({ head, placed: result.descriptors } = place(
        q,
        out,
        inn,
        label,
        indirect,
        indirectWriteFlag,
      ));
    } catch (e) {
      errors.push(`${label}: ${(e as Error).message}`);
      return;
    }
    pendingUse.set(`${q.index}:${head}`, result);
    counting.set(result, q.index);
    if (kick) finish(q.index);
  };

  // notify a queue, let the device work, and close the steps of its pending sends
  const finish = (index: number) => {
    port.notify(index);
    settle();
    collect();
    for (const [r, i] of counting) {
      if (i !== index) continue;
      counting.delete(r);
      r.after = ballooned().clone();
      r.hostAfter = hostPages();
      if (r.watched !== undefined) r.discarded = zeroed(r.watched);
      r.changedAtSend = !r.after.equals(r.before) ||
        (r.discarded !== undefined && r.discarded.size > 0);
    }
  };

  // the device's process failed: the run has nothing to judge (its cases are errors)
  let failed: TargetError | UnsupportedScenarioError | undefined;
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
          // a scenario of the legacy interface means nothing through a modern one
          if (!scenario.accept.includes("VERSION_1") && !port.legacy) {
            throw new UnsupportedScenarioError(
              "the scenario is about the legacy interface, and the device is driven through its modern one",
            );
          }
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
            const max = port.queueMaxSize(slot.index);
            const size = Math.min(max, scenario.queueSize ?? max);
            if (port.legacy && size !== max) {
              // the legacy interface has no queue size to set: the device's is the size
              throw new UnsupportedScenarioError(
                `the scenario needs ${size}-entry queues, and over the legacy interface a queue has the device's size (${max})`,
              );
            }
            if (size === 0) {
              errors.push(`device has no queue ${slot.index} (${slot.name})`);
              continue;
            }
            const base = buffer(ringBytes(size, geometry));
            const rl = ringLayout(base, size, geometry);
            rings.push({
              queue: slot.name,
              index: slot.index,
              layout: rl,
              eventIdx,
              writesBefore: port.deviceWrites?.().length ?? 0,
            });
            port.setupQueue(slot.index, rl, { eventIdx, indirect });
            peeked.set(slot.index, 0);
            queues.set(slot.name, {
              layout: rl,
              index: slot.index,
              vq: new DriverQueue<string>(port.memory, rl, { order: order(), eventIdx, indirect }),
            });
          }
          // a port that sees the device's writes: look at guest memory the moment a used index is written
          port.onUsedIndexWrite?.((index) => peekUsed(index));
          port.onInterrupt({
            used: (i) => {
              for (const [r, index] of counting) if (index === i) r.interrupts++;
              collect();
            },
            config: () => {},
          });
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
          // a command id is the device's current one (read now), or derived from it
          const { segments, pages } = "cmdId" in step.chain
            ? { segments: [cmdIdBytes(port, step.chain, order())], pages: undefined }
            : buildChain(step.chain, order());
          send(
            step.label,
            step.queue,
            segments,
            pages,
            step.chain,
            step.writable ?? [],
            step.indirect ?? false,
            step.kick !== false,
            step.pages ?? [],
            step.indirectWriteFlag === true,
          );
          break;
        }
        case "kick": {
          const q = queues.get(step.queue);
          if (q === undefined) errors.push(`kick: queue ${step.queue} is not set up`);
          else finish(q.index);
          break;
        }
        case "suppress": {
          const q = queues.get(step.queue);
          if (q === undefined) errors.push(`suppress: queue ${step.queue} is not set up`);
          else if (step.on) q.vq.disableCallbacks();
          else q.vq.enableCallbacks();
          break;
        }
        case "write-actual": {
          const value = new Uint8Array(ACTUAL.size);
          new DataView(value.buffer).setUint32(0, step.value, true); // little-endian (B07)
          const parts = step.bytewise === true
            ? [...value].map((b, i) => ({ at: i, bytes: new Uint8Array([b]) }))
            : [{ at: 0, bytes: value }];
          const before = host.actual?.();
          const after: (number | undefined)[] = [];
          for (const part of parts) {
            port.writeConfig(ACTUAL.offset + part.at, part.bytes);
            settle();
            after.push(host.actual?.());
          }
          actualWrites.push({
            label: step.label,
            value: step.value,
            before,
            after,
          });
          break;
        }
        case "write-config": {
          const f = fieldOf("virtio_balloon_config", step.field);
          const b = new Uint8Array(4);
          new DataView(b.buffer).setUint32(0, step.value >>> 0, true); // config is little-endian (B07)
          port.writeConfig(f.offset, b);
          break;
        }
        case "hint-start":
        case "hint-stop":
        case "hint-done": {
          const act = step.do === "hint-start"
            ? host.startHinting
            : step.do === "hint-stop"
            ? host.stopHinting
            : host.finishHinting;
          if (act === undefined) {
            errors.push(`${step.do}: the device port has no free-page-hint control`);
            break;
          }
          act();
          settle();
          collect();
          cmdIds.push({ step: step.do, value: readCmdId(port) });
          break;
        }
        case "fill-guest":
          contents.fill(step.runs, step.value);
          break;
        case "check-guest":
          settle();
          collect();
          guestChecks.set(step.label, contents.readBack(step.runs));
          break;
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
          // a port without a self-report says itself whether dirty logging was on at the issue
          if (host.requestUnusedPages(lastParam) && selfReport === undefined) {
            if (port.observations.has("dirty-log")) {
              dirtyAtRequest.push(host.dirtyLogging?.() ?? false);
            }
          }
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
      if (e instanceof TargetError || e instanceof UnsupportedScenarioError) {
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
    legacy: port.legacy,
    sends,
    rings,
    requestLens,
    requestBytes,
    dirtyAtRequest,
    statsReturned,
    configAfterTarget,
    actualWrites,
    cmdIds,
    guestChecks,
    errors,
    ms: performance.now() - t0,
  };
}
