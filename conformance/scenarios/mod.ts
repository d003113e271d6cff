/**
 * Scenarios: the scripted interactions, as data. A driver scenario has the
 * suite play the device and the host; a device scenario has it play the
 * driver. Several cases share one run of a scenario.
 *
 * May import: `model/`, `trace/`, spec/ and impl/.
 *
 * @module
 */

export * from "./scenarios.ts";
