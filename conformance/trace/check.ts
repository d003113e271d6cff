/**
 * Passive checking: every rule decidable from a trace (see `format.ts`) is
 * checked and reported as pass, fail (with the offending events) or not
 * observable from this trace — never a pass for what was not seen. Rules the
 * format cannot decide at all are listed as not observable with the reason.
 * A problem in the input (see `problems.ts`) makes every verdict that depends
 * on the affected events `error`: not judged.
 *
 * The checker streams: it sees each event once, in order, and keeps the
 * balloon's pages, the session's state and each rule's few counters, never
 * the trace. The checks are in families: initialisation and features
 * (`check_init.ts`), the balloon's contents (`check_balloon.ts`), buffers and
 * the stats queue (`check_queues.ts`), hint and report queues
 * (`check_standard.ts`).
 *
 * @module
 */

import {
  featureNames,
  PageSet,
  type ProfileId,
  queueLayout,
  type QueueName,
  QUEUES,
  rule,
  rulesOf,
} from "../../spec/mod.ts";
import type { Trace, TraceEvent, TraceHeader } from "./format.ts";
import {
  ACKNOWLEDGE,
  type CheckFactory,
  type Context,
  type Ev,
  pagesOf,
  type RuleCheck,
  type Seen,
  type Step,
  type TraceRuleResult,
} from "./check_kit.ts";
import { INIT_CHECKS } from "./check_init.ts";
import { BALLOON_CHECKS } from "./check_balloon.ts";
import { QUEUE_CHECKS } from "./check_queues.ts";
import { STANDARD_CHECKS } from "./check_standard.ts";
import { affectsRule, type InputProblem, problemText } from "./problems.ts";

export type { ScenarioCheck, TraceRuleResult } from "./check_kit.ts";

const FAMILIES: Readonly<Record<string, CheckFactory>> = {
  ...INIT_CHECKS,
  ...BALLOON_CHECKS,
  ...QUEUE_CHECKS,
  ...STANDARD_CHECKS,
};

/** Rules decidable from a trace (the others are reported as not observable). */
export const TRACE_RULES: readonly string[] = Object.keys(FAMILIES);

/** Why a rule cannot be decided from this trace format, for the table. */
function undecidable(id: string): string {
  const r = rule(id);
  if (r.condition !== undefined && JSON.stringify(r.condition).includes("PAGE_BITMAP")) {
    return "needs PAGE_BITMAP, which this trace does not use";
  }
  return "the trace format does not carry what this rule is about";
}

/** The features event a checker is told about before the events (the trace's last one). */
export interface KnownFeatures {
  /** The event. */
  readonly event: Extract<TraceEvent, { type: "features" }>;
  /** Its trace line, when known before the events (else taken when the event is seen). */
  readonly line?: number;
}

/** Queue roles from a features event; empty when it names neither the queues nor the features. */
function staticRoles(profile: ProfileId, f: Ev<"features"> | undefined): Map<number, QueueName> {
  const roles = new Map<number, QueueName>();
  if (f?.queues !== undefined) {
    for (const [k, v] of Object.entries(f.queues)) roles.set(Number(k), v as QueueName);
  }
  if (f?.negotiated !== undefined && roles.size === 0) {
    for (const q of queueLayout(profile, new Set(featureNames(profile, BigInt(f.negotiated))))) {
      roles.set(q.index, q.name);
    }
  }
  return roles;
}

/**
 * Checks a trace event by event, in bounded memory: give it the trace's last
 * features event (if any) first, then every event in order with its trace
 * line, then ask for the results.
 *
 * @example
 * ```ts
 * import { TraceChecker } from "./check.ts";
 * import assert from "node:assert/strict";
 * const header = { type: "header", format: "virtio-balloon-trace", version: 1, source: "test", profile: "virtio-1.x" } as const;
 * const c = new TraceChecker(header);
 * c.add({ type: "status", t: 0, value: 0 }, 2);
 * for (const value of [1, 3, 11, 15]) c.add({ type: "status", t: 1, value }, 3);
 * assert.equal(c.results().find((r) => r.rule === "G55a")?.verdict, "pass");
 * ```
 */
export class TraceChecker {
  readonly #profile: ProfileId;
  readonly #roles: Map<number, QueueName>;
  /** Whether roles are guessed from the buffers seen (no features event). */
  readonly #guess: boolean;
  readonly #seen: Seen;
  readonly #features: Ev<"features"> | undefined;
  readonly #checks: [string, RuleCheck][] = [];
  readonly #balloon = new PageSet();
  #known = false;
  #statusSeen = false;
  #inSession = false;
  #events = 0;
  #done: TraceRuleResult[] | undefined;
  readonly #byRule = new Map<string, RuleCheck>();

  /** A checker for a trace with this header and (last) features event. */
  constructor(header: TraceHeader, options: { readonly features?: KnownFeatures } = {}) {
    this.#profile = header.profile;
    const f = options.features?.event;
    this.#features = f;
    this.#seen = {
      pagesOnUnnamedQueues: 0,
      chainsOnUnknownQueues: 0,
      featuresLine: options.features?.line,
    };
    this.#roles = staticRoles(this.#profile, f);
    this.#guess = this.#roles.size === 0;
    if (this.#guess) {
      // the spec fixes inflateq's and deflateq's indices; the rest are guessed from the buffers
      for (const q of QUEUES) {
        if (q.name === "inflateq" || q.name === "deflateq") this.#roles.set(q.fixedIndex, q.name);
      }
    }
    const ctx: Context = {
      profile: this.#profile,
      roles: this.#roles,
      negotiated: f?.negotiated === undefined ? undefined : BigInt(f.negotiated),
      offered: f?.offered === undefined ? undefined : BigInt(f.offered),
      features: f,
      seen: this.#seen,
    };
    for (const r of rulesOf(this.#profile)) {
      const make = FAMILIES[r.id];
      if (make === undefined) continue;
      const c = make(ctx);
      this.#checks.push([r.id, c]);
      this.#byRule.set(r.id, c);
    }
  }

  /** Events seen so far. */
  get events(): number {
    return this.#events;
  }

  /** Sees one event, at its trace line. */
  add(e: TraceEvent, line: number): void {
    if (this.#done !== undefined) throw new Error("the checker has given its results already");
    this.#events++;
    if (e === this.#features) this.#seen.featuresLine = line;
    let role: QueueName | undefined;
    let pages: PageSet | undefined;
    if (e.type === "chain" || e.type === "used" || e.type === "report" || e.type === "notify") {
      if (e.type === "chain") {
        if (e.queue === -1) this.#seen.chainsOnUnknownQueues++;
        if (this.#guess && e.queue >= 0 && !this.#roles.has(e.queue)) {
          this.#roles.set(e.queue, e.writable > 0 && e.readable === 0 ? "reporting_vq" : "statsq");
        }
      }
      role = this.#roles.get(e.queue);
      if (e.type === "chain" && e.pages !== undefined) {
        pages = pagesOf(e.pages);
        if (role === undefined) this.#seen.pagesOnUnnamedQueues++;
      }
      if (e.type === "report") pages = pagesOf(e.pages);
    }
    const reset = e.type === "status" && e.value === 0;
    if (e.type === "status") {
      // the balloon's contents are known from a reset, or from a first write of ACKNOWLEDGE
      if (reset || (!this.#statusSeen && e.value === ACKNOWLEDGE)) this.#known = true;
      if (reset && this.#inSession) this.#each((c) => c.end?.(true));
      if (reset) this.#inSession = false;
      else if (!this.#statusSeen) {
        // the first status write starts the first session (what came before is of unknown state)
        this.#inSession = true;
        const fromReset = e.value === ACKNOWLEDGE;
        this.#each((c) => c.begin?.(fromReset));
      }
      this.#statusSeen = true;
    }
    const step: Step = {
      e,
      line,
      role,
      pages,
      balloon: this.#balloon,
      known: this.#known,
      inSession: this.#inSession,
    };
    this.#each((c) => c.step?.(step));
    if (reset) {
      this.#inSession = true;
      this.#each((c) => c.begin?.(true));
    }
    // the host's balloon after the event: a reset (or a fresh ACKNOWLEDGE) gives every page back
    if (e.type === "status" && (reset || e.value === ACKNOWLEDGE)) this.#balloon.clear();
    if (e.type === "chain" && pages !== undefined) {
      if (role === "inflateq") this.#balloon.unionWith(pages);
      else if (role === "deflateq") this.#balloon.subtract(pages);
    }
  }

  #each(f: (c: RuleCheck) => void): void {
    for (const [, c] of this.#checks) f(c);
  }

  /**
   * The verdict of every rule of the profile. A rule whose events an input
   * problem affects is `error`, whatever its check found.
   */
  results(problems: readonly InputProblem[] = []): TraceRuleResult[] {
    if (this.#done === undefined) {
      if (this.#inSession) this.#each((c) => c.end?.(false));
      this.#inSession = false;
      this.#done = rulesOf(this.#profile).map((r): TraceRuleResult => {
        const c = this.#byRule.get(r.id);
        if (c === undefined) {
          return { rule: r.id, verdict: "not-observable", detail: undecidable(r.id), evidence: [] };
        }
        return { rule: r.id, ...c.result() };
      });
    }
    return this.#done.map((r) => unreliable(r, this.#byRule.get(r.rule), problems));
  }
}

/** The result, or an `error` verdict when a problem affects what its check reads. */
function unreliable(
  r: TraceRuleResult,
  check: RuleCheck | undefined,
  problems: readonly InputProblem[],
): TraceRuleResult {
  if (check === undefined) return r;
  const hits = problems.filter((p) => affectsRule(p.affects, check));
  if (hits.length === 0) return r;
  const first = hits[0] as InputProblem;
  const more = hits.length > 1 ? ` (and ${hits.length - 1} more input problems)` : "";
  const word = r.verdict === "not-observable" ? "not observable" : r.verdict;
  return {
    rule: r.rule,
    verdict: "error",
    detail: `unreliable: ${problemText(first)}${more}; without it: ${word}, ${r.detail}`,
    evidence: [],
  };
}

/** The last features event of a list of events (its line is taken when the checker sees it). */
export function lastFeatures(events: readonly TraceEvent[]): KnownFeatures | undefined {
  const i = events.findLastIndex((e) => e.type === "features");
  const event = events[i];
  return event?.type === "features" ? { event } : undefined;
}

/**
 * Checks a trace held in memory against every rule of its profile; the
 * trace line of its i-th event is i + 2 (the header is line 1).
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
export function checkTrace(
  trace: Trace,
  problems: readonly InputProblem[] = [],
): TraceRuleResult[] {
  const features = lastFeatures(trace.events);
  const c = new TraceChecker(trace.header, features === undefined ? {} : { features });
  trace.events.forEach((e, i) => c.add(e, i + 2));
  return c.results(problems);
}
