/**
 * What a guest of the qemu-linux target is: its machine, its balloon
 * device's properties, kernel parameters and the steps it runs, which record
 * facts and scenario checks; and the helpers the steps share.
 *
 * @module
 */

import type { ScenarioCheck } from "../../trace/check.ts";
import type { Vm } from "./vm.ts";

const MIB = 2 ** 20;

/** One guest of the target. */
export interface GuestPlan {
  /** Its name (a section of the report: A, B, …). */
  readonly name: string;
  /** What it exercises. */
  readonly title: string;
  /** Guest RAM in MiB. */
  readonly memMiB: number;
  /** virtio-balloon-pci properties. */
  readonly balloon: Readonly<Record<string, string>>;
  /** More kernel parameters. */
  readonly kernelArgs?: readonly string[];
  /** QEMU objects it needs (`-object`), e.g. an iothread. */
  readonly objects?: readonly string[];
  /** Its steps, on the running guest. */
  readonly steps: (vm: Vm, out: GuestOutput, log: (s: string) => void) => Promise<void>;
}

/** What a guest's steps record. */
export interface GuestOutput {
  /** Measurements, in words. */
  readonly facts: string[];
  /** What the scenario exists to show. */
  readonly checks: ScenarioCheck[];
}

/** Records a scenario expectation. */
export function expect(out: GuestOutput, check: ScenarioCheck["id"], expectation: {
  readonly held: boolean;
  readonly detail: string;
}): void {
  out.checks.push({
    id: check,
    verdict: expectation.held ? "pass" : "fail",
    detail: expectation.detail,
  });
}

/** Sets the balloon to a guest-visible RAM size and waits until it is reached (or throws). */
export async function expectBalloon(
  vm: Vm,
  bytes: number,
  options: { readonly timeoutMs: number; readonly what: string },
): Promise<void> {
  await vm.balloon(bytes);
  const got = await vm.waitBalloon(bytes, options.timeoutMs);
  if (got !== bytes) {
    throw new Error(
      `${options.what}: the guest-visible RAM is ${got / MIB} MiB after ${
        options.timeoutMs / 1000
      } s, expected ${bytes / MIB} MiB`,
    );
  }
}

/** Waits. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
