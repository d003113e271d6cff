/**
 * Cases as data for runners in other languages (`--export DIR`): every case
 * with its rules, its scenario and its check, in `cases.json`, and a JSON
 * Schema (draft 2020-12) for that file in `cases.schema.json`.
 *
 * @module
 */

import { type Observation, OBSERVATIONS } from "../model/ports.ts";
import {
  BALLOON_FEATURES,
  describeSource,
  type FeatureName,
  type Level,
  type ProfileId,
  QUEUES,
  type Role,
  rule,
  TRANSPORT_FEATURES,
} from "../../spec/mod.ts";
import { caseLevel } from "../cases/cases.ts";
import { SUITE_NAME, SUITE_VERSION } from "./model.ts";
import { scenario } from "../scenarios/scenarios.ts";
import type { CaseDef, RoleUnderTest, Scenario } from "../model/types.ts";

/** Version of the `cases.json` format. */
export const CASES_FORMAT_VERSION = 1;

/** A rule as exported with a case. */
export interface ExportedRule {
  /** Rule id. */
  readonly id: string;
  /** RFC 2119 level. */
  readonly level: Level;
  /** Who it binds. */
  readonly role: Role;
  /** One-line statement. */
  readonly statement: string;
  /** Where it comes from. */
  readonly source: string;
}

/** A case as exported. */
export interface ExportedCase {
  /** Stable id. */
  readonly id: string;
  /** One-line description. */
  readonly title: string;
  /** Its rule family (the area reports group by). */
  readonly area: string;
  /** Profile. */
  readonly profile: ProfileId;
  /** Side under test. */
  readonly role: RoleUnderTest;
  /** Strictest level among its rules. */
  readonly level: Level;
  /** Rules it checks. */
  readonly rules: readonly ExportedRule[];
  /** The scenario whose result it checks. */
  readonly scenario: Scenario;
  /** Check id (a function of this suite's runner). */
  readonly check: string;
  /** Parameters of the check. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Whether the row was generated from the spec tables. */
  readonly generated: boolean;
  /** Features the run must negotiate for the case to be judged; otherwise it is unsupported. */
  readonly needs: readonly FeatureName[];
  /** Features the other side must offer for the case to be judged. */
  readonly needsOffer: readonly FeatureName[];
  /** Device cases: the observations the case can rest on (any one suffices). */
  readonly observes: readonly Observation[];
}

/** The content of `cases.json`. */
export interface CasesDocument {
  /** Relative reference to the schema. */
  readonly $schema: string;
  /** Format name. */
  readonly format: "virtio-balloon-conformance-cases";
  /** Format version. */
  readonly formatVersion: number;
  /** Suite that wrote it. */
  readonly suite: { readonly name: string; readonly version: string };
  /** How to read `check` and `params`. */
  readonly note: string;
  /** The cases. */
  readonly cases: readonly ExportedCase[];
}

/**
 * The exported form of cases.
 *
 * @example
 * ```ts
 * import { CASES } from "../cases/cases.ts";
 * import { casesDocument } from "./cases_export.ts";
 * import assert from "node:assert/strict";
 * const doc = casesDocument(CASES.filter((k) => k.id === "inflate.pfn.max-256"));
 * assert.equal(doc.cases[0]?.rules[0]?.id, "R-07");
 * assert.equal(doc.cases[0]?.scenario.id, "drv.pfn.cycle");
 * ```
 */
export function casesDocument(cases: readonly CaseDef[]): CasesDocument {
  return {
    $schema: "./cases.schema.json",
    format: "virtio-balloon-conformance-cases",
    formatVersion: CASES_FORMAT_VERSION,
    suite: { name: SUITE_NAME, version: SUITE_VERSION },
    note:
      "Each case runs its scenario against the implementation under test (the suite plays the other side) and applies the named check with its params to the trace. Check ids name functions of the reference runner (conformance/checks/driver/ and conformance/checks/device/, one file per rule family); a runner in another language implements the checks it supports and reports the others as unsupported.",
    cases: cases.map((k) => ({
      id: k.id,
      title: k.title,
      area: k.area,
      profile: k.profile,
      role: k.role,
      level: caseLevel(k),
      rules: k.rules.map((id) => {
        const r = rule(id);
        return {
          id,
          level: r.level,
          role: r.role,
          statement: r.statement,
          source: describeSource(r),
        };
      }),
      scenario: scenario(k.scenario),
      check: k.check,
      params: k.params ?? {},
      generated: k.generated,
      needs: k.needs ?? [],
      needsOffer: k.needsOffer ?? [],
      observes: k.observes ?? [],
    })),
  };
}

const int = { type: "integer", minimum: 0 };
const str = { type: "string" };
const bool = { type: "boolean" };
const decimal = { type: "string", pattern: "^[0-9]+$" };

function obj(
  required: Record<string, unknown>,
  optional: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: "object",
    required: Object.keys(required),
    properties: { ...required, ...optional },
    additionalProperties: false,
  };
}

function step(name: string, required: Record<string, unknown> = {}, optional = {}): unknown {
  return obj({ do: { const: name }, ...required }, optional);
}

/**
 * The JSON Schema (draft 2020-12) of `cases.json`.
 *
 * @example
 * ```ts
 * import { casesSchema } from "./cases_export.ts";
 * import assert from "node:assert/strict";
 * assert.equal(casesSchema().$schema, "https://json-schema.org/draft/2020-12/schema");
 * ```
 */
export function casesSchema(): Record<string, unknown> {
  const features = [...new Set([...BALLOON_FEATURES, ...TRANSPORT_FEATURES].map((f) => f.name))];
  const pair = { type: "array", prefixItems: [int, int], items: false, minItems: 2 };
  const endian = { enum: ["le", "be"] };
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://github.com/virtio-balloon/conformance/cases.schema.json",
    title: `${SUITE_NAME} cases, format ${CASES_FORMAT_VERSION}`,
    ...obj({
      $schema: str,
      format: { const: "virtio-balloon-conformance-cases" },
      formatVersion: { const: CASES_FORMAT_VERSION },
      suite: obj({ name: str, version: str }),
      note: str,
      cases: { type: "array", items: { $ref: "#/$defs/case" } },
    }),
    $defs: {
      level: { enum: ["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY"] },
      profile: { enum: ["v3", "virtio-1.x"] },
      feature: { enum: features },
      queue: { enum: QUEUES.map((q) => q.name) },
      rule: obj({
        id: { type: "string", pattern: "^(R-|S-|B|G)[0-9]{2}[a-z]?$" },
        level: { $ref: "#/$defs/level" },
        role: { enum: ["driver", "device", "both"] },
        statement: str,
        source: str,
      }),
      case: {
        ...obj({
          id: { type: "string", pattern: "^[a-z0-9+_.-]+$" },
          title: str,
          area: str,
          profile: { $ref: "#/$defs/profile" },
          role: { enum: ["driver", "device"] },
          level: { $ref: "#/$defs/level" },
          rules: { type: "array", minItems: 1, items: { $ref: "#/$defs/rule" } },
          scenario: {
            oneOf: [{ $ref: "#/$defs/driverScenario" }, { $ref: "#/$defs/deviceScenario" }],
          },
          check: str,
          params: { type: "object" },
          generated: bool,
          needs: { type: "array", items: { $ref: "#/$defs/feature" } },
          needsOffer: { type: "array", items: { $ref: "#/$defs/feature" } },
          observes: {
            type: "array",
            items: { enum: [...OBSERVATIONS] },
          },
        }),
        if: { properties: { role: { const: "driver" } } },
        then: { properties: { scenario: { $ref: "#/$defs/driverScenario" } } },
        else: { properties: { scenario: { $ref: "#/$defs/deviceScenario" } } },
      },
      driverScenario: obj({
        id: str,
        role: { const: "driver" },
        profile: { $ref: "#/$defs/profile" },
        title: str,
        guestPages: int,
        offer: { type: "array", items: { $ref: "#/$defs/feature" } },
        steps: { type: "array", items: { $ref: "#/$defs/driverStep" } },
      }, {
        queueSize: int,
        guestEndian: endian,
        touchOnFree: bool,
        bitmapLimit: int,
        failBitmapAllocation: bool,
        refuseFeatures: bool,
        pagePoison: int,
        needs: { type: "array", items: { $ref: "#/$defs/feature" } },
      }),
      deviceScenario: obj({
        id: str,
        role: { const: "device" },
        profile: { $ref: "#/$defs/profile" },
        title: str,
        guestPages: int,
        accept: { type: "array", items: { $ref: "#/$defs/feature" } },
        steps: { type: "array", items: { $ref: "#/$defs/deviceStep" } },
      }, { guestEndian: endian, queueSize: int }),
      driverStep: {
        oneOf: [
          ...["probe", "oom", "stats", "release", "remove", "freeze", "restore", "migrate-page"]
            .map((n) => step(n)),
          step("target", { pages: int }),
          step("alloc", { pages: int }),
          step("unused", {}, { param: str, cmd: int, usedLength: int, snapshot: bool }),
          step("hold", { queues: { type: "array", items: { $ref: "#/$defs/queue" } } }),
          step("hog", { keepFree: { type: "array", items: pair } }),
          step("migrate", { useHints: bool }, { dirty: int }),
          step("wait", { ms: { type: "number", minimum: 0 } }),
          step("hint-start", {}, { stopAfter: int }),
          ...["hint-stop", "hint-done"].map((n) => step(n)),
          step("free", {}, { pages: int }),
        ],
      },
      deviceStep: {
        oneOf: [
          step("negotiate", {}, { driverOk: bool }),
          ...["driver-ok", "post-request-buffer", "stats"].map((n) => step(n)),
          step("send", {
            label: str,
            queue: { $ref: "#/$defs/queue" },
            chain: { $ref: "#/$defs/chain" },
          }, {
            writable: { type: "array", items: int },
            pages: { type: "array", items: pair },
            indirect: bool,
            indirectWriteFlag: bool,
            kick: { const: false },
          }),
          step("kick", { queue: { $ref: "#/$defs/queue" } }),
          step("suppress", { queue: { $ref: "#/$defs/queue" }, on: bool }),
          step("write-actual", { label: str, value: int }, { bytewise: bool }),
          step("target", { pages: int }),
          step("unused", { param: str }),
          step("reply", { label: str, flag: int, startPfn: int }),
          step("write-guest", { pfn: int }),
          step("write-config", { field: str, value: int }),
          ...["hint-start", "hint-stop", "hint-done"].map((n) => step(n)),
          step("fill-guest", { runs: { type: "array", items: pair }, value: int }),
          step("check-guest", { label: str, runs: { type: "array", items: pair } }),
        ],
      },
      chain: {
        description:
          "How the suite builds a chain's device-readable part: PFNs (32-bit little-endian), a bitmap request (runs of pages as [start, length]; 64-bit header fields as decimal strings), stats entries, raw bytes, a free_page_vq command id (the current one, STOP, or one never issued; 4 bytes unless said), or none (a chain of device-writable descriptors only, the step's pages)",
        oneOf: [
          obj({ pfns: { type: "array", items: int } }, { cut: int }),
          obj({
            bitmap: obj({ runs: { type: "array", items: pair } }, {
              startPfn: int,
              bmapLen: int,
              header: {
                type: "object",
                additionalProperties: { oneOf: [int, decimal] },
              },
              cut: int,
            }),
          }),
          obj({ stats: { type: "array", items: obj({ tag: int, val: decimal }) } }),
          obj({ hex: { type: "string", pattern: "^([0-9a-f]{2})*$" } }),
          obj({ cmdId: { enum: ["current", "stop", "stale"] } }, { bytes: int }),
          obj({ none: { const: true } }),
        ],
      },
    },
  };
}
