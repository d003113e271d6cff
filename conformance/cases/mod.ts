/**
 * Cases: the case table — rows generated from the spec tables and rows written
 * for the ordering rules, each naming its scenario, its check and the rules it
 * cites — and rule coverage (every rule → its cases, and why a MUST has none).
 *
 * May import: the rooms above it (`model/` … `checks/`); spec/ and impl/.
 *
 * @module
 */

export * from "./cases.ts";
export * from "./coverage.ts";
