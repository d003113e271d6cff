/**
 * The suite's data model, below everything else: what a case, a scenario, a
 * target, a finding, a verdict and a result are (`types.ts`), and evidence —
 * annotated bytes and the hexdump that shows them (`evidence.ts`).
 *
 * May import: spec/ and impl/ only.
 *
 * @module
 */

export * from "./types.ts";
export * from "./evidence.ts";
export * from "./text.ts";
export * from "./ports.ts";
