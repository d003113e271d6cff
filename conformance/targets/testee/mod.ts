/**
 * Devices and drivers in other processes, in any language, behind the testee protocol
 * (`docs/TESTEE-PROTOCOL.md`): newline-delimited JSON on the testee's
 * stdin/stdout, a version handshake first, a `seq` echoed in every reply,
 * each reply exactly one of `result`, `unsupported` or `errored`. The suite
 * owns guest memory; the testee reads and writes it with `mem.*` messages,
 * each checked against RAM and recorded, and raises interrupts as `event`
 * lines.
 *
 * - {@link processDeviceTarget}: the device target of `--device-cmd`;
 * - {@link processDriverTarget}: the driver target of `--driver-cmd`;
 * - {@link TesteeSession}: one process and the conversation with it;
 * - {@link testeeDevicePort}: the `DevicePort` over a session;
 * - {@link MESSAGES}: the protocol as data (schema, doc and checks derive from it);
 * - `reference_testee.ts`: the reference device and its mutants as testees
 *   (`deno task testee reference-device`);
 * - `reference_driver_testee.ts`: the reference driver and its mutants as
 *   driver testees (`deno task testee reference-driver`).
 *
 * @module
 */

export * from "./protocol.ts";
export * from "./session.ts";
export * from "./device_port.ts";
export * from "./target.ts";
export * from "./driver_target.ts";
