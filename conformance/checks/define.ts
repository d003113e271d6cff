/**
 * How a check is defined: a named function from a run to findings, told the
 * rules of the case it judges and the case's typed parameters. Cases hold
 * the check itself (not its name), so a case → check link is one
 * go-to-definition away and a misspelt check does not compile.
 *
 * @module
 */

import type { FeatureName, QueueName } from "../../spec/mod.ts";
import type { Observation } from "../model/ports.ts";
import type { Finding } from "../model/types.ts";
import type { DeviceRun } from "../runners/device.ts";
import type { DriverRun } from "../runners/driver.ts";

/** No parameters. */
export type NoParams = Readonly<Record<never, never>>;

/** What a check is told about the case it judges. */
export interface CheckInput<P> {
  /**
   * The case's first rule: the rule a finding cites unless the check derives
   * a more precise one from the tables (e.g. the legal values of a field).
   */
  readonly rule: string;
  /** Every rule the case cites. */
  readonly rules: readonly string[];
  /** The case's parameters. */
  readonly params: P;
}

/** Options of a check definition. */
export interface CheckOptions<P> {
  /** Features a run must negotiate for the check to have anything to judge. */
  readonly needs?: (params: P) => readonly FeatureName[];
  /**
   * Driver checks of what a driver does with an offer: features the suite's
   * device must have offered for the check to have anything to judge.
   */
  readonly needsOffer?: (params: P) => readonly FeatureName[];
  /**
   * Device checks: whether the check reads what the device did with the
   * scenario's chains (the default), so a case needs what those chains need;
   * false for checks of the negotiation or the config space alone.
   */
  readonly readsChains?: boolean;
  /**
   * Device checks: the observations the check can rest on (any one
   * suffices), given the queue of the chain it reads (default: the ring).
   */
  readonly observes?: (queue: QueueName | undefined) => readonly Observation[];
  /** Device checks of what only the modern interface has (64 feature bits, FEATURES_OK). */
  readonly needsModern?: boolean;
}

/** A check on driver scenario runs. */
export interface DriverCheckDef<P = NoParams> {
  /** Stable id, as cases and exported case files name it. */
  readonly id: string;
  /** The role whose runs it judges. */
  readonly role: "driver";
  /** Features a run must negotiate for the check to have anything to judge. */
  readonly needs: (params: P) => readonly FeatureName[];
  /** Features the suite's device must have offered for the check to have anything to judge. */
  readonly needsOffer: (params: P) => readonly FeatureName[];
  /** Judges one run. */
  readonly judge: (run: DriverRun, input: CheckInput<P>) => Finding[];
}

/** A check on device scenario runs. */
export interface DeviceCheckDef<P = NoParams> {
  /** Stable id, as cases and exported case files name it. */
  readonly id: string;
  /** The role whose runs it judges. */
  readonly role: "device";
  /** Features a run must negotiate beyond what the scenario's chains need (usually none). */
  readonly needs: (params: P) => readonly FeatureName[];
  /** Whether it reads what the device did with the scenario's chains. */
  readonly readsChains: boolean;
  /** The observations it can rest on (any one suffices), given the queue of the chain it reads. */
  readonly observes: (queue: QueueName | undefined) => readonly Observation[];
  /** Whether it judges what only the modern interface has. */
  readonly needsModern: boolean;
  /** Judges one run. */
  readonly judge: (run: DeviceRun, input: CheckInput<P>) => Finding[];
}

/** Defines a driver check. */
export function driverCheck<P = NoParams>(
  id: string,
  judge: (run: DriverRun, input: CheckInput<P>) => Finding[],
  options: CheckOptions<P> = {},
): DriverCheckDef<P> {
  return {
    id,
    role: "driver",
    judge,
    needs: options.needs ?? (() => []),
    needsOffer: options.needsOffer ?? (() => []),
  };
}

/** Defines a device check. */
export function deviceCheck<P = NoParams>(
  id: string,
  judge: (run: DeviceRun, input: CheckInput<P>) => Finding[],
  options: CheckOptions<P> = {},
): DeviceCheckDef<P> {
  return {
    id,
    role: "device",
    judge,
    needs: options.needs ?? (() => []),
    readsChains: options.readsChains ?? true,
    observes: options.observes ?? (() => ["ring"]),
    needsModern: options.needsModern ?? false,
  };
}

/** A finding that the target kept `rule`. */
export function ok(rule: string, message: string): Finding {
  return { rule, ok: true, message };
}

/** A finding that the target broke `rule`, with what was expected and seen. */
export function bad(
  rule: string,
  message: string,
  extra: Partial<Omit<Finding, "rule" | "ok" | "message">> = {},
): Finding {
  return { rule, ok: false, message, ...extra };
}

/** The check definitions among a module's exports (helpers it also exports are left out). */
export function checksOf<C extends { readonly id: string }>(
  module: Readonly<Record<string, unknown>>,
): C[] {
  return Object.values(module).filter((x): x is C =>
    typeof x === "object" && x !== null && "judge" in x && "id" in x && "role" in x
  );
}

/** A registry of checks by id; a duplicate id is an error. */
export function registry<C extends { readonly id: string }>(
  checks: readonly C[],
): Readonly<Record<string, C>> {
  const out: Record<string, C> = {};
  for (const c of checks) {
    if (out[c.id] !== undefined) throw new RangeError(`Check id ${c.id} is defined twice`);
    out[c.id] = c;
  }
  return out;
}
