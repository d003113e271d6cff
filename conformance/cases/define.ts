/**
 * How a case is written: a named-option builder that takes the scenario and
 * the check themselves (so a case → scenario → check chain is one
 * go-to-definition away and a misspelt name does not compile) and produces
 * the case as plain data (ids, for reports and exported case files).
 *
 * @module
 */

import type { Observation } from "../model/ports.ts";
import type { CaseDef, DeviceScenario, DriverScenario } from "../model/types.ts";
import type { FeatureName } from "../../spec/mod.ts";
import type { DeviceCheckDef, DriverCheckDef, NoParams } from "../checks/define.ts";
import { deviceScenarioNeeds } from "../scenarios/device.ts";

/** `params` is required exactly when the check takes parameters. */
export type CaseParams<P> = [keyof P] extends [never] ? { readonly params?: P }
  : { readonly params: P };

/** What a case says, whichever role it tests. */
export interface CaseSpecBase {
  /** Stable, human-readable id; its first segment is the case's area. */
  readonly id: string;
  /** One line: what it checks. */
  readonly title: string;
  /** The rules it checks; the first is the rule its findings cite by default. */
  readonly rules: readonly string[];
  /** Whether the row is generated from the spec tables (else written by hand). */
  readonly generated?: boolean;
  /** Features the case is about beyond what its scenario and check need (e.g. PAGE_BITMAP for a bitmap variant of a general check). */
  readonly needs?: readonly FeatureName[];
  /** Features the other side must offer for the case to be judged (cases about an offer). */
  readonly needsOffer?: readonly FeatureName[];
}

/** A driver case: a check on a driver scenario. */
export type DriverCaseSpec<P> = CaseSpecBase & {
  /** The scenario whose run it judges. */
  readonly scenario: DriverScenario;
  /** The check it applies. */
  readonly check: DriverCheckDef<P>;
} & CaseParams<P>;

/** A device case: a check on a device scenario. */
export type DeviceCaseSpec<P> = CaseSpecBase & {
  /** The scenario whose run it judges. */
  readonly scenario: DeviceScenario;
  /** The check it applies. */
  readonly check: DeviceCheckDef<P>;
} & CaseParams<P>;

function build(
  spec: CaseSpecBase & {
    readonly scenario: { readonly id: string; readonly profile: CaseDef["profile"] };
    readonly check: { readonly id: string; readonly role: CaseDef["role"] };
    readonly params?: unknown;
  },
  needs: readonly FeatureName[],
  needsOffer: readonly FeatureName[] = [],
  observes: readonly Observation[] = [],
): CaseDef {
  if (spec.rules.length === 0) throw new RangeError(`Case ${spec.id} cites no rule`);
  return {
    id: spec.id,
    title: spec.title,
    area: spec.id.split(".")[0] as string,
    rules: [...spec.rules],
    profile: spec.scenario.profile,
    role: spec.check.role,
    scenario: spec.scenario.id,
    check: spec.check.id,
    params: (spec.params ?? {}) as Readonly<Record<string, unknown>>,
    generated: spec.generated ?? false,
    needs: [...new Set([...needs, ...(spec.needs ?? [])])],
    ...(needsOffer.length + (spec.needsOffer?.length ?? 0) > 0
      ? { needsOffer: [...new Set([...needsOffer, ...(spec.needsOffer ?? [])])] }
      : {}),
    ...(observes.length > 0 ? { observes: [...observes] } : {}),
  };
}

/** A driver case. */
export function driverCase<P = NoParams>(spec: DriverCaseSpec<P>): CaseDef {
  const params = (spec.params ?? {}) as P;
  return build(
    spec,
    [...(spec.scenario.needs ?? []), ...spec.check.needs(params)],
    spec.check.needsOffer(params),
  );
}

/** A device case. */
export function deviceCase<P = NoParams>(spec: DeviceCaseSpec<P>): CaseDef {
  const params = (spec.params ?? {}) as P;
  const label = (params as { readonly label?: unknown }).label;
  const named = typeof label === "string" ? label : undefined;
  const chains = spec.check.readsChains ? deviceScenarioNeeds(spec.scenario, named) : [];
  const step = spec.scenario.steps.find((s) => s.do === "send" && s.label === named);
  const queue = step?.do === "send" ? step.queue : undefined;
  const k = build(
    spec,
    [...chains, ...spec.check.needs(params)],
    spec.needsOffer ?? [],
    spec.check.observes(queue),
  );
  return spec.check.needsModern ? { ...k, needsModern: true } : k;
}
