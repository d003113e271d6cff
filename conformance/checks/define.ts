/**
 * How a check is defined: a named function from a run to findings, told the
 * rules of the case it judges and the case's typed parameters. Cases hold
 * the check itself (not its name), so a case → check link is one
 * go-to-definition away and a misspelt check does not compile.
 *
 * @module
 */

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

/** A check on driver scenario runs. */
export interface DriverCheckDef<P = NoParams> {
  /** Stable id, as cases and exported case files name it. */
  readonly id: string;
  /** The role whose runs it judges. */
  readonly role: "driver";
  /** Judges one run. */
  readonly judge: (run: DriverRun, input: CheckInput<P>) => Finding[];
}

/** A check on device scenario runs. */
export interface DeviceCheckDef<P = NoParams> {
  /** Stable id, as cases and exported case files name it. */
  readonly id: string;
  /** The role whose runs it judges. */
  readonly role: "device";
  /** Judges one run. */
  readonly judge: (run: DeviceRun, input: CheckInput<P>) => Finding[];
}

/** Defines a driver check. */
export function driverCheck<P = NoParams>(
  id: string,
  judge: (run: DriverRun, input: CheckInput<P>) => Finding[],
): DriverCheckDef<P> {
  return { id, role: "driver", judge };
}

/** Defines a device check. */
export function deviceCheck<P = NoParams>(
  id: string,
  judge: (run: DeviceRun, input: CheckInput<P>) => Finding[],
): DeviceCheckDef<P> {
  return { id, role: "device", judge };
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
