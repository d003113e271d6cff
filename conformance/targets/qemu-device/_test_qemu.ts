/**
 * Private, for the tests: QEMU found (or installed, as `ensureQemu` does for
 * the qemu-linux target), or the reason it cannot be had, printed once, so
 * each QEMU test is `ignore`d with that reason, never passed.
 *
 * @module
 */

import { ensureQemu } from "../qemu/setup.ts";

async function find(): Promise<{ path?: string; version?: string; reason?: string }> {
  try {
    const q = await ensureQemu((s) => console.log(`qemu-device tests: ${s}`));
    return { path: q.path, version: q.version };
  } catch (e) {
    return { reason: (e as Error).message };
  }
}

/** Where qemu-system-x86_64 is, or why it is not there. */
export const QEMU: { path?: string; version?: string; reason?: string } = await find();

if (QEMU.path === undefined) {
  console.log(`qemu-device tests ignored: QEMU cannot be had: ${QEMU.reason}`);
}

/** Whether the QEMU tests must be ignored. */
export const NO_QEMU: boolean = QEMU.path === undefined;

/** The QEMU binary (only call from a test that is not ignored). */
export function qemuPath(): string {
  if (QEMU.path === undefined) throw new Error(`QEMU cannot be had: ${QEMU.reason}`);
  return QEMU.path;
}
