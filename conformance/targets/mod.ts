/**
 * Targets: the implementations a run can test, one folder per kind —
 * `reference/` (the reference driver and device, and the seed as posted),
 * `mutants/` (deliberately broken ones that prove every case can fail) and
 * `qemu-linux/` (Debian's real QEMU and Linux, booted and checked passively).
 *
 * May import: the rooms above it: `model/`, `trace/`, `scenarios/`; spec/ and impl/.
 *
 * @module
 */

export * from "./reference/reference.ts";
export * from "./mutants/mutants.ts";
