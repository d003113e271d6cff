/**
 * The `qemu-device` targets: QEMU's real virtio-balloon-pci as a device
 * under test, one target per device variant (`qemu-device:default`,
 * `qemu-device:deflate-on-oom`, …). Each scenario gets a fresh QEMU (no
 * state carries over from one scenario to the next), started over qtest
 * with as much RAM as the scenario's guest has, the VM running on firmware
 * that only halts (so the stats polling timer can fire; no guest code runs),
 * and stopped by its pid when the scenario ends.
 *
 * **Bit collision.** QEMU is a virtio 1.x device: bits 3 and 4 are its
 * FREE_PAGE_HINT and PAGE_POISON, where the v3 profile has PAGE_BITMAP and
 * MISC_VQ. For a profile whose names of those bits differ from QEMU's, the
 * target declares them unsupported (computed from the spec's collision
 * table), so the suite's driver never accepts them and the cases that need
 * them are `unsupported`.
 *
 * @module
 */

import { featureCollisions, type FeatureName, type ProfileId } from "../../../spec/mod.ts";
import { type DevicePort, UnsupportedScenarioError } from "../../model/ports.ts";
import type { DeviceOpenContext, DeviceTarget } from "../../model/types.ts";
import { qemuDevicePort } from "./device_port.ts";
import { machineFacts } from "./machine.ts";
import { openQemuBalloon } from "./session.ts";

/** One configuration of QEMU's balloon the suite tests. */
export interface QemuDeviceVariant {
  /** Short name: the target is `qemu-device:<name>`. */
  readonly name: string;
  /** What it is. */
  readonly description: string;
  /** Properties of `-device virtio-balloon-pci`. */
  readonly props: Readonly<Record<string, string>>;
  /** More QEMU arguments. */
  readonly extraArgs?: readonly string[];
  /** The interface the suite drives (default: modern when the device has it). */
  readonly mode?: "modern" | "legacy";
}

/** The device variants of `--target qemu-device`, in report order. */
export const QEMU_DEVICE_VARIANTS: readonly QemuDeviceVariant[] = [
  {
    name: "default",
    description: "transitional, no options, driven through its modern interface",
    props: {},
  },
  {
    name: "deflate-on-oom",
    description: "deflate-on-oom=on (offers DEFLATE_ON_OOM)",
    props: { "deflate-on-oom": "on" },
  },
  {
    name: "free-page-reporting",
    description: "free-page-reporting=on (a reporting queue)",
    props: { "free-page-reporting": "on" },
  },
  {
    name: "free-page-hint",
    description: "free-page-hint=on with an iothread (a free page queue)",
    props: { "free-page-hint": "on", iothread: "io0" },
    extraArgs: ["-object", "iothread,id=io0"],
  },
  {
    name: "legacy-only",
    description: "disable-modern=on: the legacy interface (I/O BAR0) only",
    props: { "disable-modern": "on" },
    mode: "legacy",
  },
  {
    name: "modern-only",
    description: "disable-legacy=on: the modern interface only (device id 0x1045)",
    props: { "disable-legacy": "on" },
    mode: "modern",
  },
];

/** The prefix of every qemu-device target name. */
export const QEMU_DEVICE_PREFIX = "qemu-device";

/** The target name of a variant. */
export function qemuDeviceTargetName(variant: string): string {
  return `${QEMU_DEVICE_PREFIX}:${variant}`;
}

/** The variant of a target name, or undefined when it is not a qemu-device target. */
export function qemuDeviceVariant(targetName: string): QemuDeviceVariant | undefined {
  return QEMU_DEVICE_VARIANTS.find((v) => qemuDeviceTargetName(v.name) === targetName);
}

/** Features of `profile` whose bits QEMU (a virtio 1.x device) gives other meanings. */
export function collidingFeatures(profile: ProfileId): FeatureName[] {
  if (profile === "virtio-1.x") return [];
  return featureCollisions().flatMap((c) => c.v3 === undefined ? [] : [c.v3]);
}

/** Options of {@link qemuDeviceTarget}. */
export interface QemuDeviceTargetOptions {
  /** Path of qemu-system-x86_64 (from `ensureQemu`). */
  readonly qemu: string;
  /** Its version line, for the description. */
  readonly version?: string;
  /** The profile of the cases (default v3). */
  readonly profile?: ProfileId;
  /** Keep the VM stopped (`-S`): no timer fires, so no stats buffer comes back (default false). */
  readonly stopped?: boolean;
  /** Timeout of one qtest or QMP reply in ms (default 5 s). */
  readonly replyTimeoutMs?: number;
  /** Called with the pid and arguments of every QEMU the target starts (tests check none is left). */
  readonly onStart?: (pid: number, args: readonly string[]) => void;
  /**
   * A file QEMU logs every qtest command it receives to (`-qtest-log`; the
   * adversarial mode turns it into a replay file); default none.
   */
  readonly qtestLog?: string;
}

const MIB = 2 ** 20;
const PAGE = 4096;
/** Firmware that only halts: 64 KiB of HLT (0xf4); the CPU stops at the reset vector. */
const HALT_BIOS_BYTES = 64 * 1024;
const HLT = 0xf4;

/**
 * The device target of one variant: `open()` starts a fresh QEMU for each
 * scenario and returns its port.
 *
 * @example
 * ```ts
 * import { qemuDeviceTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 * const t = qemuDeviceTarget("default", { qemu: "/usr/bin/qemu-system-x86_64" });
 * assert.equal(t.name, "qemu-device:default");
 * assert.deepEqual(t.unsupported, ["PAGE_BITMAP", "MISC_VQ"]);
 * ```
 */
export function qemuDeviceTarget(variant: string, options: QemuDeviceTargetOptions): DeviceTarget {
  const v = QEMU_DEVICE_VARIANTS.find((x) => x.name === variant);
  if (v === undefined) {
    throw new RangeError(
      `Invalid qemu-device variant: '${variant}', expected one of ${
        QEMU_DEVICE_VARIANTS.map((x) => x.name).join(", ")
      }`,
    );
  }
  const profile = options.profile ?? "v3";
  const unsupported = collidingFeatures(profile);
  const qemu = options.version === undefined ? "QEMU" : options.version.replace(/\s*\(.*$/, "");
  return {
    kind: "device",
    name: qemuDeviceTargetName(v.name),
    description: `${qemu} virtio-balloon-pci over qtest: ${v.description}`,
    profile,
    ...(unsupported.length > 0 ? { unsupported } : {}),
    open: (ctx) => openVariant(v, { ...options, profile }, ctx),
  };
}

function openVariant(
  v: QemuDeviceVariant,
  options: QemuDeviceTargetOptions & { readonly profile: ProfileId },
  ctx: DeviceOpenContext,
): DevicePort {
  if (ctx.profile !== options.profile) {
    throw new RangeError(
      `Invalid scenario profile for ${
        qemuDeviceTargetName(v.name)
      }: ${ctx.profile}, expected ${options.profile}`,
    );
  }
  if (ctx.guestEndian === "be") {
    throw new UnsupportedScenarioError(
      "the scenario needs a big-endian guest, and QEMU's x86 machine is little-endian",
    );
  }
  const machine = machineFacts("pc");
  const memMiB = Math.max(16, Math.ceil((ctx.guestPages * PAGE) / MIB));
  if (memMiB > machine.maxRamMiB) {
    throw new UnsupportedScenarioError(
      `the scenario's guest has ${memMiB} MiB of RAM, more than the ${machine.maxRamMiB} MiB the target puts below the PCI hole`,
    );
  }
  const running = options.stopped !== true;
  let dir: string | undefined;
  if (running) {
    dir = Deno.makeTempDirSync({ prefix: "qemu-device-" });
    Deno.writeFileSync(`${dir}/halt.bin`, new Uint8Array(HALT_BIOS_BYTES).fill(HLT));
  }
  const cleanup = () => {
    if (dir !== undefined) Deno.removeSync(dir, { recursive: true });
    dir = undefined;
  };
  try {
    const session = openQemuBalloon({
      qemu: options.qemu,
      machine: machine.name,
      memMiB,
      props: v.props,
      running,
      extraArgs: [
        ...(v.extraArgs ?? []),
        ...(dir === undefined ? [] : ["-bios", `${dir}/halt.bin`]),
        ...(options.qtestLog === undefined ? [] : ["-qtest-log", options.qtestLog]),
      ],
      ...(v.mode === undefined ? {} : { mode: v.mode }),
      ...(options.replyTimeoutMs === undefined ? {} : { replyTimeoutMs: options.replyTimeoutMs }),
    });
    options.onStart?.(session.qemu.pid, session.qemu.args);
    return qemuDevicePort(session, { profile: options.profile, running, onClose: cleanup });
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** How a worker rebuilds a qemu-device target (see `runSuiteInWorkers`): plain JSON. */
export interface QemuDeviceRecipe {
  /** This module. */
  readonly module: string;
  /** `qemuDeviceTarget`. */
  readonly factory: string;
  /** The variant and the JSON options. */
  readonly args: readonly [string, QemuDeviceTargetOptions];
}

/**
 * The recipe of {@link qemuDeviceTarget} for a worker: the options without
 * `onStart` (a function cannot cross to a worker).
 *
 * @example
 * ```ts
 * import { qemuDeviceRecipe } from "./target.ts";
 * import assert from "node:assert/strict";
 * const r = qemuDeviceRecipe("legacy-only", { qemu: "/usr/bin/qemu-system-x86_64" });
 * assert.equal(r.factory, "qemuDeviceTarget");
 * assert.deepEqual(r.args, ["legacy-only", { qemu: "/usr/bin/qemu-system-x86_64" }]);
 * ```
 */
export function qemuDeviceRecipe(
  variant: string,
  options: QemuDeviceTargetOptions,
): QemuDeviceRecipe {
  const { onStart: _, ...json } = options;
  return { module: import.meta.url, factory: "qemuDeviceTarget", args: [variant, json] };
}
