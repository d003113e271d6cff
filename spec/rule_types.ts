/**
 * Shape of a normative rule row.
 *
 * @module
 */

import type { Condition, DefectId, Level, ProfileId, Role } from "./types.ts";

/** Where a rule comes from. */
export type RuleSource =
  | {
    /** The seed patch series. */
    readonly kind: "seed";
    /** Patch number n of n/7 (0 for the cover letter or pre-existing driver code). */
    readonly patch: number;
    /** Function or place in the code. */
    readonly where: string;
  }
  | {
    /** The OASIS virtio specification (v1.2–v1.4 text). */
    readonly kind: "spec";
    /** Section number, e.g. `5.5.6.1`. */
    readonly section: string;
    /** Its normative label, e.g. `Driver Requirements: Device Operation`. */
    readonly label: string;
  }
  | {
    /** A robustness requirement this suite adds where the sources are silent. */
    readonly kind: "suite";
    /** Why the suite requires it. */
    readonly rationale: string;
  };

/** One normative rule. */
export interface Rule {
  /** Stable id: `R-nn` (seed), `Bnn` (balloon spec), `Gnn[a-c]` (general virtio), `S-nn` (suite). */
  readonly id: string;
  /** Where it comes from. */
  readonly source: RuleSource;
  /** Who it binds. */
  readonly role: "driver" | "device" | "both";
  /** RFC 2119 level. */
  readonly level: Level;
  /** When it applies, machine-readable. */
  readonly condition: Condition;
  /** Profiles it belongs to. */
  readonly profiles: readonly ProfileId[];
  /** One-line statement (paraphrase or short quote). */
  readonly statement: string;
  /** Seed defects that break it. */
  readonly defects: readonly DefectId[];
  /** What the seed's code does instead, where it differs from the statement. */
  readonly asPosted?: string;
  /** Only for transitional (legacy-interface) devices and drivers. */
  readonly legacy?: boolean;
  /** Spec versions that added it (e.g. `1.3+`), when not in all of 1.2–1.4. */
  readonly since?: string;
}

/** Role type re-exported for convenience. */
export type { Role };
