/**
 * Passive checking: every rule decidable from a trace (see
 * `trace_format.ts`) is checked and reported as pass, fail (with the
 * offending events) or not observable from this trace — never a pass for
 * what was not seen. Rules the format cannot decide at all are listed as
 * not observable with the reason.
 *
 * @module
 */

import {
  enumValue,
  featureNames,
  hasFeature,
  OOM_VBALLOON_DEFAULT_PAGES,
  PageSet,
  type ProfileId,
  queueLayout,
  type QueueName,
  QUEUES,
  rule,
  rulesOf,
  unknownBits,
  VIRTIO_BALLOON_ARRAY_PFNS_MAX,
} from "../../spec/mod.ts";
import type { PageRun, Trace, TraceEvent } from "./format.ts";

/**
 * An expectation of a scenario that is not a protocol rule but what the
 * scenario exists to show (the host's memory drops after an inflate, the
 * guest deflates on its own under DEFLATE_ON_OOM). Its id is
 * `SECTION/name`, e.g. `A/host-rss-drops`; an expected-failure list may
 * name it like a rule.
 */
export interface ScenarioCheck {
  /** `SECTION/name`. */
  readonly id: string;
  /** Whether the expectation held. */
  readonly verdict: "pass" | "fail";
  /** What was measured. */
  readonly detail: string;
}

/** The verdict of one rule on one trace. */
export interface TraceRuleResult {
  /** Rule id. */
  readonly rule: string;
  /** pass: observed and kept; fail: observed and broken; not-observable: nothing in the trace decides it. */
  readonly verdict: "pass" | "fail" | "not-observable";
  /** What was seen (or why nothing decides it). */
  readonly detail: string;
  /** The offending events (at most a few), for fail verdicts. */
  readonly evidence: readonly TraceEvent[];
}

const DRIVER_OK = enumValue("device_status", "DRIVER_OK");
const FEATURES_OK = enumValue("device_status", "FEATURES_OK");
const ACKNOWLEDGE = enumValue("device_status", "ACKNOWLEDGE");
const DRIVER = enumValue("device_status", "DRIVER");

type Ev<T extends TraceEvent["type"]> = Extract<TraceEvent, { type: T }>;

/** PFNs a list of runs names, repeats counted. */
function runPages(runs: readonly PageRun[]): number {
  return runs.reduce((n, r) => n + r[1], 0);
}

function pagesOf(runs: readonly PageRun[] | undefined): PageSet {
  const s = new PageSet();
  for (const [a, n] of runs ?? []) s.addRange(a, n);
  return s;
}

interface Context {
  readonly trace: Trace;
  readonly profile: ProfileId;
  readonly roles: ReadonlyMap<number, QueueName>;
  readonly negotiated: bigint | undefined;
  readonly offered: bigint | undefined;
  /** The (last) features event, for evidence. */
  readonly features: Ev<"features"> | undefined;
}

function queueRoles(
  trace: Trace,
): {
  roles: Map<number, QueueName>;
  negotiated: bigint | undefined;
  offered: bigint | undefined;
  features: Ev<"features"> | undefined;
} {
  const profile = trace.header.profile;
  const f = [...trace.events].reverse().find((e): e is Ev<"features"> => e.type === "features");
  const roles = new Map<number, QueueName>();
  let negotiated: bigint | undefined;
  if (f?.queues !== undefined) {
    for (const [k, v] of Object.entries(f.queues)) roles.set(Number(k), v as QueueName);
  }
  if (f?.negotiated !== undefined) {
    negotiated = BigInt(f.negotiated);
    if (roles.size === 0) {
      for (const q of queueLayout(profile, new Set(featureNames(profile, negotiated)))) {
        roles.set(q.index, q.name);
      }
    }
  }
  if (roles.size === 0) {
    // the spec fixes inflateq's and deflateq's indices; guess the rest from the buffers seen
    for (const q of QUEUES) {
      if (q.name === "inflateq" || q.name === "deflateq") roles.set(q.fixedIndex, q.name);
    }
    for (const e of trace.events) {
      if (e.type !== "chain" || e.queue < 0 || roles.has(e.queue)) continue;
      roles.set(e.queue, e.writable > 0 && e.readable === 0 ? "reporting_vq" : "statsq");
    }
  }
  const offered = f?.offered === undefined ? undefined : BigInt(f.offered);
  return { roles, negotiated, offered, features: f };
}

/**
 * The trace cut at each reset (status 0): one list of events per device
 * session. What comes before the first status write is dropped (the trace
 * may start in the middle of a session, in an unknown state); everything
 * after a reset is kept, status writes or not.
 */
function sessions(events: readonly TraceEvent[]): TraceEvent[][] {
  return sessionsFrom(events).map((s) => s.events);
}

/** A device session, and whether it began with a reset (its whole story is in the trace). */
interface Session {
  readonly events: TraceEvent[];
  readonly fromReset: boolean;
  /** Whether a reset ends it (rather than the end of the trace). */
  endsInReset: boolean;
}

function sessionsFrom(events: readonly TraceEvent[]): Session[] {
  const out: Session[] = [{ events: [], fromReset: false, endsInReset: false }];
  for (const e of events) {
    if (e.type === "status" && e.value === 0) {
      (out[out.length - 1] as Session).endsInReset = true;
      out.push({ events: [], fromReset: true, endsInReset: false });
      continue;
    }
    (out[out.length - 1] as Session).events.push(e);
  }
  // before the first reset: known from the first status write; a fresh start if that
  // write is ACKNOWLEDGE alone (the device was reset before the trace began)
  const first = out[0] as Session;
  const known = first.events.findIndex((e) => e.type === "status");
  const head = first.events[known];
  out[0] = {
    events: known < 0 ? [] : first.events.slice(known),
    fromReset: head?.type === "status" && head.value === ACKNOWLEDGE,
    endsInReset: first.endsInReset,
  };
  return out.filter((s) => s.events.length > 0);
}

/**
 * Index from which the balloon's contents are known (empty at a reset, or at
 * a fresh ACKNOWLEDGE); -1 if never.
 */
function knownFrom(events: readonly TraceEvent[]): number {
  const firstStatus = events.findIndex((e) => e.type === "status");
  const head = events[firstStatus];
  if (head?.type === "status" && (head.value === 0 || head.value === ACKNOWLEDGE)) {
    return firstStatus;
  }
  return events.findIndex((e) => e.type === "status" && e.value === 0);
}

/** "1 buffer", "2 buffers". */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

type Check = (ctx: Context) => Omit<TraceRuleResult, "rule">;

function pass(detail: string): Omit<TraceRuleResult, "rule"> {
  return { verdict: "pass", detail, evidence: [] };
}
function fail(detail: string, evidence: readonly TraceEvent[]): Omit<TraceRuleResult, "rule"> {
  return { verdict: "fail", detail, evidence: evidence.slice(0, 5) };
}
function unseen(detail: string): Omit<TraceRuleResult, "rule"> {
  return { verdict: "not-observable", detail, evidence: [] };
}

/** Feature names of a mask, and unknown bits as numbers: "STATS_VQ, VERSION_1, bit 62". */
function bitList(profile: ProfileId, mask: bigint): string {
  const all = [
    ...featureNames(profile, mask),
    ...unknownBits(profile, mask).map((b) => `bit ${b}`),
  ];
  return all.length === 0 ? "nothing" : all.join(", ");
}

/** Why the balloon cannot be replayed: pages on a queue the trace cannot name; else undefined. */
function unreplayable(ctx: Context): string | undefined {
  const n =
    ctx.trace.events.filter((e) =>
      (e.type === "chain" && e.pages !== undefined) && ctx.roles.get(e.queue) === undefined
    ).length;
  return n === 0
    ? undefined
    : `${
      count(n, "buffer")
    } naming pages on a queue the trace cannot name: the balloon cannot be replayed`;
}

/** Replays the host's balloon: pages inflated minus deflated, per event. */
function* replay(
  ctx: Context,
): Generator<{ e: TraceEvent; balloon: PageSet; role: QueueName | undefined }> {
  const balloon = new PageSet();
  for (const e of ctx.trace.events) {
    const role =
      e.type === "chain" || e.type === "used" || e.type === "report" || e.type === "notify"
        ? ctx.roles.get(e.queue)
        : undefined;
    yield { e, balloon, role };
    // a reset (or a fresh ACKNOWLEDGE, which only follows one) gives every page back
    if (e.type === "status" && (e.value === 0 || e.value === ACKNOWLEDGE)) balloon.clear();
    if (e.type === "chain" && e.pages !== undefined) {
      if (role === "inflateq") balloon.unionWith(pagesOf(e.pages));
      else if (role === "deflateq") balloon.subtract(pagesOf(e.pages));
    }
  }
}

/** Events of one type, and those of them that came while DRIVER_OK was not set. */
function beforeDriverOk<T extends "notify" | "chain">(
  ctx: Context,
  type: T,
): { n: number; bad: Ev<T>[] } {
  const bad: Ev<T>[] = [];
  let n = 0;
  for (const s of sessions(ctx.trace.events)) {
    let live = false;
    for (const e of s) {
      if (e.type === "status") live = (e.value & DRIVER_OK) !== 0;
      if (e.type === type) {
        n++;
        if (!live) bad.push(e as Ev<T>);
      }
    }
  }
  return { n, bad };
}

/** Checks by rule id. */
const CHECKS: Readonly<Record<string, Check>> = {
  G55a: (ctx) => {
    const bad: TraceEvent[] = [];
    let seen = 0;
    // only initialisations seen from their reset
    for (const { events: s } of sessionsFrom(ctx.trace.events).filter((x) => x.fromReset)) {
      const st = s.filter((e): e is Ev<"status"> => e.type === "status");
      const ok = st.find((e) => e.value & DRIVER_OK);
      if (ok === undefined) continue;
      seen++;
      // each bit set by its own write, in this order; legacy drivers have no FEATURES_OK
      // (with the features unknown, FEATURES_OK is judged only if it is set)
      const modern = ctx.negotiated === undefined
        ? st.some((e) => (e.value & FEATURES_OK) !== 0)
        : hasFeature(ctx.profile, ctx.negotiated, "VERSION_1");
      const order = modern
        ? [ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK]
        : [ACKNOWLEDGE, DRIVER, DRIVER_OK];
      const at = order.map((bit) => st.findIndex((e) => (e.value & bit) !== 0));
      const wrong = at.findIndex((i, k) => i < 0 || (k > 0 && i <= (at[k - 1] as number)));
      if (wrong >= 0) {
        const i = at[wrong] as number;
        bad.push(i >= 0 ? st[i] as TraceEvent : ok);
      }
    }
    if (seen === 0) {
      return unseen("no initialisation from a reset to DRIVER_OK in the trace");
    }
    return bad.length > 0
      ? fail(
        "an initialisation set status bits out of order (expected ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK)",
        bad,
      )
      : pass(
        `${count(seen, "initialisation")} in order: ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK`,
      );
  },
  G02: (ctx) => {
    let prev = 0;
    const bad: TraceEvent[] = [];
    let n = 0;
    for (const e of ctx.trace.events) {
      if (e.type !== "status") continue;
      n++;
      if (e.value !== 0 && (prev & ~e.value) !== 0) bad.push(e);
      prev = e.value;
    }
    if (n === 0) return unseen("no status write in the trace");
    return bad.length > 0
      ? fail("a status write clears bits set before (other than a reset to 0)", bad)
      : pass(`${count(n, "status write")}, no bit cleared but by reset`);
  },
  G08: (ctx) => {
    // what the driver wrote, not what the device kept (QEMU masks the write with its offer)
    const accepted = ctx.features?.accepted;
    if (ctx.offered === undefined || accepted === undefined || !ctx.features) {
      return unseen(
        "the trace does not give both the offered features and the bits the driver wrote (accepted)",
      );
    }
    const extra = BigInt(accepted) & ~ctx.offered;
    return extra !== 0n
      ? fail(
        `the driver accepted ${bitList(ctx.profile, extra)}, which the device did not offer`,
        [ctx.features],
      )
      : pass(
        `accepted ${bitList(ctx.profile, BigInt(accepted))} of ${
          bitList(ctx.profile, ctx.offered)
        }`,
      );
  },
  G60a: (ctx) => {
    if (ctx.offered === undefined || ctx.negotiated === undefined || !ctx.features) {
      return unseen("the trace does not give both the offered and the negotiated features");
    }
    if (!hasFeature(ctx.profile, ctx.offered, "VERSION_1")) {
      return unseen("the device did not offer VERSION_1");
    }
    return hasFeature(ctx.profile, ctx.negotiated, "VERSION_1")
      ? pass("VERSION_1 offered and accepted")
      : fail("the device offered VERSION_1 and the driver did not accept it", [ctx.features]);
  },
  G62a: (ctx) => {
    if (ctx.offered === undefined || !ctx.features) {
      return unseen("the trace does not give the offered features");
    }
    return hasFeature(ctx.profile, ctx.offered, "VERSION_1")
      ? pass("VERSION_1 offered")
      : fail(`the device offered ${bitList(ctx.profile, ctx.offered)}, without VERSION_1`, [
        ctx.features,
      ]);
  },
  G55c: (ctx) => {
    // only initialisations that set FEATURES_OK decide it (a legacy driver never does)
    const bad: TraceEvent[] = [];
    let n = 0;
    for (const { events: s } of sessionsFrom(ctx.trace.events).filter((x) => x.fromReset)) {
      if (!s.some((e) => e.type === "status" && (e.value & FEATURES_OK) !== 0)) continue;
      let featuresOk = false;
      for (const e of s) {
        if (e.type === "status") featuresOk ||= (e.value & FEATURES_OK) !== 0;
        if (e.type === "config-write") {
          n++;
          if (!featuresOk) bad.push(e);
        }
      }
    }
    if (n === 0) {
      return unseen("no configuration write in an initialisation that set FEATURES_OK");
    }
    return bad.length > 0
      ? fail(
        `${count(bad.length, "configuration write")} before FEATURES_OK (${
          (bad[0] as Ev<"config-write">).field
        })`,
        bad,
      )
      : pass(`${count(n, "configuration write")}, all after FEATURES_OK`);
  },
  B17: (ctx) => {
    const why = unreplayable(ctx);
    if (why !== undefined) return unseen(why);
    // pages of inflate requests the device has not used yet, by element. Only a deflate
    // taken while an inflate is outstanding can show the driver's order: a device that
    // uses each inflate at once (QEMU) never lets it show.
    const inflight = new Map<string, PageSet>();
    const bad: TraceEvent[] = [];
    let n = 0;
    for (const e of ctx.trace.events) {
      if (e.type === "status" && e.value === 0) inflight.clear();
      const role = e.type === "chain" || e.type === "used" ? ctx.roles.get(e.queue) : undefined;
      if (e.type === "used" && role === "inflateq") inflight.delete(e.elem);
      if (e.type !== "chain" || e.pages === undefined) continue;
      if (role === "inflateq") inflight.set(e.elem, pagesOf(e.pages));
      if (role !== "deflateq" || inflight.size === 0) continue;
      n++;
      const pages = pagesOf(e.pages);
      if ([...inflight.values()].some((p) => p.intersectionSize(pages) > 0)) bad.push(e);
    }
    if (n === 0) {
      return unseen(
        "no deflate request was taken while an inflate was outstanding (the device used each inflate at once): the driver's order cannot show",
      );
    }
    return bad.length > 0
      ? fail(
        `${
          count(bad.length, "deflate request")
        } name pages of an inflate request the device had not used yet`,
        bad,
      )
      : pass(
        `${
          count(n, "deflate request")
        } taken while an inflate was outstanding, none naming its pages`,
      );
  },
  B26: (ctx) => {
    if (ctx.negotiated === undefined) {
      return unseen("the trace does not give the negotiated features");
    }
    if (!hasFeature(ctx.profile, ctx.negotiated, "STATS_VQ")) {
      return unseen("STATS_VQ was not negotiated");
    }
    if (ctx.trace.events.some((e) => e.type === "chain" && e.queue === -1)) {
      return unseen("some buffers are on queues the trace cannot name");
    }
    const bad: TraceEvent[] = [];
    let n = 0;
    // sessions seen from their reset, that go on after DRIVER_OK (the driver had its chance)
    for (const { events: s } of sessionsFrom(ctx.trace.events).filter((x) => x.fromReset)) {
      const ok = s.findIndex((e) => e.type === "status" && (e.value & DRIVER_OK) !== 0);
      const after = s.slice(ok + 1).some((e) =>
        e.type === "notify" || e.type === "config-write" || e.type === "chain"
      );
      if (ok < 0 || !after) continue;
      n++;
      const stats = s.some((e) => e.type === "chain" && ctx.roles.get(e.queue) === "statsq");
      if (!stats) bad.push(s[ok] as TraceEvent);
    }
    if (n === 0) {
      return unseen("no initialisation from a reset to DRIVER_OK and beyond in the trace");
    }
    return bad.length > 0
      ? fail(
        `${count(bad.length, "initialisation")} with STATS_VQ never made a stats buffer available`,
        bad,
      )
      : pass(`${count(n, "initialisation")}, each with a stats buffer made available`);
  },
  G57: (ctx) => {
    const { n, bad } = beforeDriverOk(ctx, "notify");
    if (n === 0) return unseen("no available-buffer notification in the trace");
    return bad.length > 0
      ? fail(
        `${count(bad.length, "notification")} before DRIVER_OK (queue ${bad[0]?.queue})`,
        bad,
      )
      : pass(`${count(n, "notification")}, all after DRIVER_OK`);
  },
  G05: (ctx) => {
    const { n, bad } = beforeDriverOk(ctx, "chain");
    if (n === 0) return unseen("the device took no buffer in the trace");
    return bad.length > 0
      ? fail(
        `the device took ${count(bad.length, "buffer")} before DRIVER_OK (queue ${bad[0]?.queue})`,
        bad,
      )
      : pass(`${count(n, "buffer")} taken, all after DRIVER_OK`);
  },
  "S-06": (ctx) => {
    const why = unreplayable(ctx);
    if (why !== undefined) return unseen(why);
    const bad: TraceEvent[] = [];
    let n = 0;
    for (const { e, balloon, role } of replay(ctx)) {
      if (e.type !== "chain" || role !== "inflateq" || e.pages === undefined) continue;
      n++;
      const pages = pagesOf(e.pages);
      // a page already in the balloon, or named twice in this request
      if (pages.intersectionSize(balloon) > 0 || pages.size < runPages(e.pages)) bad.push(e);
    }
    if (n === 0) return unseen("no inflate request in the trace");
    return bad.length > 0
      ? fail(
        `${count(bad.length, "inflate request")} name pages already in the balloon (or twice)`,
        bad,
      )
      : pass(`${count(n, "inflate request")}, each page new to the balloon`);
  },
  "S-07": (ctx) => {
    const why = unreplayable(ctx);
    if (why !== undefined) return unseen(why);
    const bad: TraceEvent[] = [];
    let n = 0;
    // before the balloon's contents are known, a deflate may name pages inflated earlier
    const from = knownFrom(ctx.trace.events);
    let i = -1;
    for (const { e, balloon, role } of replay(ctx)) {
      i++;
      if (from < 0 || i < from) continue;
      if (e.type !== "chain" || role !== "deflateq" || e.pages === undefined) continue;
      n++;
      const p = pagesOf(e.pages);
      if (p.intersectionSize(balloon) < p.size) bad.push(e);
    }
    if (n === 0) {
      return unseen(
        "no deflate request after a reset (before one, the balloon's contents are unknown)",
      );
    }
    return bad.length > 0
      ? fail(`${count(bad.length, "deflate request")} name pages that are not in the balloon`, bad)
      : pass(`${count(n, "deflate request")}, each naming balloon pages`);
  },
  "R-06": (ctx) => {
    const why = unreplayable(ctx);
    if (why !== undefined) return unseen(why);
    const bad: TraceEvent[] = [];
    let n = 0;
    // before the balloon's contents are known, actual may count pages inflated earlier
    const from = knownFrom(ctx.trace.events);
    let i = -1;
    for (const { e, balloon } of replay(ctx)) {
      i++;
      if (from < 0 || i < from) continue;
      if (e.type !== "config-write" || e.field !== "actual") continue;
      n++;
      if (e.value !== balloon.size) bad.push(e);
    }
    if (n === 0) {
      return unseen(
        "no write of actual after a reset (before one, the balloon's contents are unknown)",
      );
    }
    if (bad.length > 0) {
      const first = bad[0] as Ev<"config-write">;
      return fail(
        `${
          count(bad.length, "write")
        } of actual differ from the pages the device processed (first: actual ${first.value})`,
        bad,
      );
    }
    return pass(`${count(n, "write")} of actual, each equal to the pages the device processed`);
  },
  "R-07": (ctx) => {
    const bad: TraceEvent[] = [];
    let n = 0;
    for (const e of ctx.trace.events) {
      if (e.type !== "chain" || e.pages === undefined) continue;
      const role = ctx.roles.get(e.queue);
      if (role !== "inflateq" && role !== "deflateq") continue;
      n++;
      if (runPages(e.pages) > VIRTIO_BALLOON_ARRAY_PFNS_MAX) bad.push(e);
    }
    if (n === 0) return unseen("no inflate or deflate request in the trace");
    return bad.length > 0
      ? fail(
        `${count(bad.length, "request")} name more than ${VIRTIO_BALLOON_ARRAY_PFNS_MAX} pages`,
        bad,
      )
      : pass(`${count(n, "request")} of at most ${VIRTIO_BALLOON_ARRAY_PFNS_MAX} pages`);
  },
  G46a: (ctx) => {
    const chains = new Map<string, Ev<"chain">>();
    const bad: TraceEvent[] = [];
    let n = 0;
    for (const e of ctx.trace.events) {
      if (e.type === "chain") chains.set(`${e.queue}/${e.elem}`, e);
      if (e.type === "used") {
        // only buffers without device-writable parts decide it: their length must be 0
        const c = chains.get(`${e.queue}/${e.elem}`);
        chains.delete(`${e.queue}/${e.elem}`);
        if (c === undefined || c.writable !== 0) continue;
        n++;
        if (e.len !== 0) bad.push(e);
      }
    }
    if (n === 0) return unseen("no used buffer without device-writable parts in the trace");
    return bad.length > 0
      ? fail(
        `${count(bad.length, "buffer")} without device-writable parts used with a non-zero length`,
        bad,
      )
      : pass(`${count(n, "buffer")} without device-writable parts, each used with length 0`);
  },
  B25: (ctx) => {
    let held = 0;
    let n = 0;
    const bad: TraceEvent[] = [];
    for (const e of ctx.trace.events) {
      if (e.type === "status" && e.value === 0) held = 0;
      if (e.type === "chain" && ctx.roles.get(e.queue) === "statsq") {
        n++;
        held++;
        if (held > 1) bad.push(e);
      }
      if (e.type === "used" && ctx.roles.get(e.queue) === "statsq") held = Math.max(0, held - 1);
    }
    if (n === 0) return unseen("no stats buffer in the trace");
    return bad.length > 0
      ? fail("a stats buffer was made available while the device held another", bad)
      : pass(`${count(n, "stats buffer")}, one at a time`);
  },
  B27: (ctx) => {
    // a used stats buffer is judged when, in the same session, the driver did something
    // after it (it had its chance to give a new one); order only, not time. A status
    // write that repeats the current value is not the driver's (QEMU logs one at stop).
    // Not judged: a use followed only by a teardown (deflates, writes of actual, then a
    // reset: remove and freeze stop the stats work first).
    const bad: TraceEvent[] = [];
    let n = 0;
    for (const { events: s, endsInReset } of sessionsFrom(ctx.trace.events)) {
      const teardownFrom = endsInReset
        ? s.findLastIndex((e) =>
          (e.type === "notify" || e.type === "chain") && ctx.roles.get(e.queue) !== "deflateq" ||
          e.type === "status"
        ) + 1
        : s.length;
      let st = -1;
      let lastDriver = -1;
      s.forEach((e, i) => {
        if (e.type === "status") {
          if (e.value !== st) lastDriver = i;
          st = e.value;
        }
        if (e.type === "notify" || e.type === "config-write") lastDriver = i;
      });
      s.forEach((e, i) => {
        if (e.type !== "used" || ctx.roles.get(e.queue) !== "statsq" || i >= lastDriver) return;
        if (i >= teardownFrom) return;
        n++;
        const again = s.some((x, j) =>
          j > i && x.type === "chain" && ctx.roles.get(x.queue) === "statsq"
        );
        if (!again) bad.push(e);
      });
    }
    if (n === 0) {
      return unseen("the device never gave a stats buffer back before the driver's last action");
    }
    return bad.length > 0
      ? fail("after the device used a stats buffer, no new one was made available", bad)
      : pass(`${count(n, "stats buffer")} given back, each followed by a new one`);
  },
  "R-13": (ctx) => {
    // An OOM deflate: deflate requests the driver was not asked for (the target it last
    // read, num_pages, at or above the balloon), closed by a write of actual lower than
    // the last one. Not one: balloon-page migration (a deflate right after an inflate,
    // actual unchanged), nor a run that empties the balloon followed by nothing of the
    // driver's but config traffic and deflates before a reset (remove, freeze).
    const why = unreplayable(ctx);
    if (why !== undefined) return unseen(why);
    const from = knownFrom(ctx.trace.events);
    let read: number | undefined;
    let host: number | undefined;
    let actual: number | undefined;
    let afterInflate = false;
    let open: { pages: number; e: TraceEvent } | undefined;
    let closed: { pages: number; e: TraceEvent; emptied: boolean; quiet: boolean } | undefined;
    const passes: { pages: number; e: TraceEvent }[] = [];
    let unknownTarget = 0;
    let i = -1;
    for (const { e, balloon, role } of replay(ctx)) {
      i++;
      if (e.type === "status" && e.value === 0) {
        if (closed !== undefined && closed.emptied && closed.quiet) {
          passes.splice(passes.indexOf(closed), 1);
        }
        open = undefined;
        closed = undefined;
        actual = undefined;
        afterInflate = false;
        continue;
      }
      if (e.type === "host" && e.action === "set-target" && e.pages !== undefined) host = e.pages;
      if (e.type === "config-read") read = e.num_pages;
      // before the balloon's contents are known, nothing tells requested from OOM
      if (from < 0 || i < from) continue;
      // a driver action other than config traffic or deflates: the next reset is no remove
      const teardown = e.type === "config-read" || e.type === "config-write" ||
        ((e.type === "chain" || e.type === "notify") && role === "deflateq");
      const driver = e.type === "notify" || e.type === "chain" || e.type === "status";
      if (closed !== undefined && driver && !teardown) closed.quiet = false;
      if (e.type === "config-write" && e.field === "actual") {
        if (open !== undefined && actual !== undefined && e.value < actual) {
          closed = { ...open, emptied: e.value === 0, quiet: true };
          passes.push(closed);
        }
        open = undefined;
        actual = e.value;
        afterInflate = false;
      }
      if (e.type === "chain" && role === "inflateq") {
        open = undefined;
        afterInflate = true;
      }
      if (e.type === "chain" && role === "deflateq" && e.pages !== undefined) {
        if (afterInflate) {
          // balloon-page migration: the new page inflated, the old one deflated
          afterInflate = false;
          continue;
        }
        const target = read ?? host;
        if (target === undefined) {
          unknownTarget++;
          continue;
        }
        if (target < balloon.size) continue;
        open ??= { pages: 0, e };
        open.pages += pagesOf(e.pages).size;
      }
    }
    if (passes.length === 0) {
      return unseen(
        unknownTarget > 0
          ? `${
            count(unknownTarget, "deflate request")
          } without a known target (no set-target or config read before them)`
          : "the guest never deflated on its own (no OOM deflate in the trace)",
      );
    }
    const doom = ctx.negotiated === undefined
      ? undefined
      : hasFeature(ctx.profile, ctx.negotiated, "DEFLATE_ON_OOM");
    if (doom === false) {
      return fail(
        `the guest deflated on its own ${passes.length} times without DEFLATE_ON_OOM`,
        passes.map((p) => p.e),
      );
    }
    const big = passes.filter((p) => p.pages > OOM_VBALLOON_DEFAULT_PAGES);
    return big.length > 0
      ? fail(
        `${
          count(big.length, "OOM deflate")
        } took more than ${OOM_VBALLOON_DEFAULT_PAGES} pages (largest ${
          Math.max(...big.map((p) => p.pages))
        })`,
        big.map((p) => p.e),
      )
      : pass(
        `${count(passes.length, "OOM deflate")} of at most ${OOM_VBALLOON_DEFAULT_PAGES} pages${
          doom === undefined ? " (features not in the trace)" : " with DEFLATE_ON_OOM"
        }`,
      );
  },
  "S-08": (ctx) => {
    const bad: TraceEvent[] = [];
    let n = 0;
    let unmapped = 0;
    for (const { e, balloon } of replay(ctx)) {
      if (e.type !== "report") continue;
      if (e.pages.length === 0) {
        unmapped++;
        continue;
      }
      n++;
      if (pagesOf(e.pages).intersectionSize(balloon) > 0) bad.push(e);
    }
    if (n === 0) {
      return unseen(
        unmapped > 0
          ? `${count(unmapped, "report")} whose pages the trace does not give`
          : "no free page report in the trace",
      );
    }
    return bad.length > 0
      ? fail(`${count(bad.length, "free page report")} overlap the balloon`, bad)
      : pass(`${count(n, "free page report")}, none overlapping the balloon`);
  },
};

/** Rules decidable from a trace (the others are reported as not observable). */
export const TRACE_RULES: readonly string[] = Object.keys(CHECKS);

/** Why a rule cannot be decided from this trace format, for the table. */
function undecidable(id: string): string {
  const r = rule(id);
  if (r.condition !== undefined && JSON.stringify(r.condition).includes("PAGE_BITMAP")) {
    return "needs PAGE_BITMAP, which this trace does not use";
  }
  return "the trace format does not carry what this rule is about";
}

/**
 * Checks a trace against every rule of its profile.
 *
 * @example
 * ```ts
 * import { checkTrace } from "./check.ts";
 * import assert from "node:assert/strict";
 * const header = { type: "header", format: "virtio-balloon-trace", version: 1, source: "test", profile: "virtio-1.x" } as const;
 * const r = checkTrace({ header, events: [{ type: "status", t: 0, value: 1 }, { type: "status", t: 1, value: 0 }] });
 * assert.equal(r.find((x) => x.rule === "G57")?.verdict, "not-observable");
 * ```
 */
export function checkTrace(trace: Trace): TraceRuleResult[] {
  const ctx: Context = { trace, profile: trace.header.profile, ...queueRoles(trace) };
  return rulesOf(trace.header.profile).map((r) => {
    const check = CHECKS[r.id];
    if (check === undefined) {
      return {
        rule: r.id,
        verdict: "not-observable" as const,
        detail: undecidable(r.id),
        evidence: [],
      };
    }
    return { rule: r.id, ...check(ctx) };
  });
}
