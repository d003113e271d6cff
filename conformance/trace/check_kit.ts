/**
 * What the trace checks share: the verdict of a rule, the streaming shape of
 * a check (it sees each event once, in order, with the balloon and the device
 * session as the checker tracks them, and keeps only what its verdict
 * needs), evidence kept a few events at a time, and wording helpers.
 *
 * @module
 */

import {
  enumValue,
  featureNames,
  PageSet,
  type ProfileId,
  type QueueName,
  unknownBits,
} from "../../spec/mod.ts";
import type { PageRun, TraceEvent } from "./format.ts";

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
  /**
   * pass: observed and kept; fail: observed and broken; not-observable:
   * nothing in the trace decides it; error: a problem in the input affects
   * the events it depends on, so it is not judged.
   */
  readonly verdict: "pass" | "fail" | "not-observable" | "error";
  /** What was seen (or why nothing decides it, or what made it unreliable). */
  readonly detail: string;
  /** The offending events (at most a few), for fail verdicts. */
  readonly evidence: readonly TraceEvent[];
  /** The trace line of each evidence event (line 1 is the header), when known. */
  readonly evidenceLines?: readonly number[];
}

/** A verdict before it is named by its rule. */
export type Outcome = Omit<TraceRuleResult, "rule">;

/** Event types, by name. */
export type Ev<T extends TraceEvent["type"]> = Extract<TraceEvent, { type: T }>;

/** One event as the checks see it. */
export interface Step {
  /** The event. */
  readonly e: TraceEvent;
  /** Its trace line. */
  readonly line: number;
  /** The role of its queue, for queue events. */
  readonly role: QueueName | undefined;
  /** Its pages as a set, for chains and reports that name pages. */
  readonly pages: PageSet | undefined;
  /** The host's balloon before this event (read only). */
  readonly balloon: PageSet;
  /** Whether the balloon's contents are known (from a reset, or a fresh ACKNOWLEDGE). */
  readonly known: boolean;
  /** Whether the event is inside a device session (from the first status write on). */
  readonly inSession: boolean;
}

/** What every check knows before the first event. */
export interface Context {
  /** Profile of the rules. */
  readonly profile: ProfileId;
  /** Queue roles by index (from the features, else guessed as buffers are seen). */
  readonly roles: ReadonlyMap<number, QueueName>;
  /** Negotiated features, when the trace gives them. */
  readonly negotiated: bigint | undefined;
  /** Offered features, when the trace gives them. */
  readonly offered: bigint | undefined;
  /** The (last) features event, for evidence. */
  readonly features: Ev<"features"> | undefined;
  /** What the checker counted so far, for verdicts that depend on the whole trace. */
  readonly seen: Seen;
}

/** Counts over the whole trace, kept by the checker. */
export interface Seen {
  /** Buffers naming pages on a queue without a role. */
  pagesOnUnnamedQueues: number;
  /** Buffers on queues the source could not tell (index -1). */
  chainsOnUnknownQueues: number;
  /** The trace line of the features event (known once it is seen, or told in advance). */
  featuresLine: number | undefined;
}

/** A rule's check, fed one event at a time. */
export interface RuleCheck {
  /** Event types its verdict depends on (a problem on one of them makes it unreliable). */
  readonly uses: readonly TraceEvent["type"][];
  /** Whether its verdict depends on the order of events. */
  readonly ordered: boolean;
  /** Sees one event. */
  step?(s: Step): void;
  /** A device session starts (at the first status write, or after a reset). */
  begin?(fromReset: boolean): void;
  /** The session ends (at a reset, or at the end of the trace). */
  end?(endsInReset: boolean): void;
  /** The verdict, after the last event. */
  result(): Outcome;
}

/** Builds a rule's check for one trace. */
export type CheckFactory = (ctx: Context) => RuleCheck;

/** Status bits, from the spec's enum. */
export const DRIVER_OK: number = enumValue("device_status", "DRIVER_OK");
/** FEATURES_OK. */
export const FEATURES_OK: number = enumValue("device_status", "FEATURES_OK");
/** ACKNOWLEDGE. */
export const ACKNOWLEDGE: number = enumValue("device_status", "ACKNOWLEDGE");
/** DRIVER. */
export const DRIVER: number = enumValue("device_status", "DRIVER");

/** At most this many offending events are kept per rule. */
const EVIDENCE_KEPT = 5;

/** Offending events: how many, and the first few with their trace lines. */
export class Evidence {
  /** How many were added. */
  n = 0;
  readonly #events: TraceEvent[] = [];
  readonly #lines: number[] = [];

  /** Adds one. */
  add(e: TraceEvent, line: number): void {
    this.n++;
    if (this.#events.length < EVIDENCE_KEPT) {
      this.#events.push(e);
      this.#lines.push(line);
    }
  }

  /** Adds all of another's, after these. */
  addAll(other: Evidence): void {
    const [events, lines] = other.kept();
    events.forEach((e, i) => this.add(e, lines[i] as number));
    this.n += other.n - events.length;
  }

  /** The first one. */
  get first(): TraceEvent | undefined {
    return this.#events[0];
  }

  /** The kept events and their lines. */
  kept(): [readonly TraceEvent[], readonly number[]] {
    return [this.#events, this.#lines];
  }
}

/** A pass. */
export function pass(detail: string): Outcome {
  return { verdict: "pass", detail, evidence: [] };
}

/** A fail, with its evidence. */
export function fail(detail: string, evidence: Evidence): Outcome {
  const [events, lines] = evidence.kept();
  return { verdict: "fail", detail, evidence: [...events], evidenceLines: [...lines] };
}

/** Not observable. */
export function unseen(detail: string): Outcome {
  return { verdict: "not-observable", detail, evidence: [] };
}

/** "1 buffer", "2 buffers". */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** PFNs a list of runs names, repeats counted. */
export function runPages(runs: readonly PageRun[]): number {
  return runs.reduce((n, r) => n + r[1], 0);
}

/** The pages of a list of runs, as a set. */
export function pagesOf(runs: readonly PageRun[] | undefined): PageSet {
  const s = new PageSet();
  for (const [a, n] of runs ?? []) s.addRange(a, n);
  return s;
}

/** Feature names of a mask, and unknown bits as numbers: "STATS_VQ, VERSION_1, bit 62". */
export function bitList(profile: ProfileId, mask: bigint): string {
  const all = [
    ...featureNames(profile, mask),
    ...unknownBits(profile, mask).map((b) => `bit ${b}`),
  ];
  return all.length === 0 ? "nothing" : all.join(", ");
}

/** Whether an event is a status write by the driver (not one the host logged for itself). */
export function driverStatus(e: TraceEvent): e is Ev<"status"> {
  return e.type === "status" && e.by !== "host";
}

/** Why the balloon cannot be replayed: pages on a queue the trace cannot name; else undefined. */
export function unreplayable(ctx: Context): string | undefined {
  const n = ctx.seen.pagesOnUnnamedQueues;
  return n === 0
    ? undefined
    : `${
      count(n, "buffer")
    } naming pages on a queue the trace cannot name: the balloon cannot be replayed`;
}
