/**
 * The device runner through ports that behave like devices in other
 * processes: a legacy-only device that finds its used ring by the legacy
 * layout, and a port whose process fails (a `TargetError`), which makes the
 * scenario's cases `error` — never `fail` — and still closes the port.
 */

import assert from "node:assert/strict";
import { featureMask } from "../../spec/mod.ts";
import { GuestEnv, ringLayout } from "../../impl/mod.ts";
import { CASES } from "../cases/cases.ts";
import type { DevicePort } from "../model/ports.ts";
import type { DeviceTarget } from "../model/types.ts";
import { runSuite } from "../run/suite.ts";
import { TargetError } from "../targets/bridge/target_error.ts";
import { inProcessDevicePort } from "../targets/reference/device_port.ts";
import { REFERENCE_DEVICE } from "../targets/reference/reference.ts";
import { mutant } from "../targets/mutants/mutants.ts";

const VERSION_1 = featureMask("v3", ["VERSION_1"]);
/** Feature bits a legacy interface carries. */
const LEGACY_BITS = (1n << 32n) - 1n;

/** A port over the reference device that changes some methods (as a device in another process might). */
function wrapped(
  name: string,
  change: (inner: DevicePort) => Partial<DevicePort>,
  options: { readonly onClose?: () => void; readonly device?: DeviceTarget } = {},
): DeviceTarget {
  return {
    kind: "device",
    name,
    description: `the reference device behind a ${name} port`,
    profile: "v3",
    open: (ctx) => {
      const guest = new GuestEnv({ pages: ctx.guestPages });
      const inner = inProcessDevicePort(options.device ?? REFERENCE_DEVICE, {
        guest,
        guestPages: ctx.guestPages,
      });
      const port: DevicePort = {
        memory: inner.memory,
        get legacy() {
          return inner.legacy;
        },
        guestEndian: inner.guestEndian,
        observations: inner.observations,
        host: inner.host,
        readStatus: () => inner.readStatus(),
        writeStatus: (v) => inner.writeStatus(v),
        readDeviceFeatures: () => inner.readDeviceFeatures(),
        writeDriverFeatures: (v) => inner.writeDriverFeatures(v),
        readConfig: (o, l) => inner.readConfig(o, l),
        writeConfig: (o, b) => inner.writeConfig(o, b),
        configGeneration: () => inner.configGeneration(),
        queueMaxSize: (i) => inner.queueMaxSize(i),
        setupQueue: (i, l, f) => inner.setupQueue(i, l, f),
        notify: (i) => inner.notify(i),
        onInterrupt: (h) => inner.onInterrupt(h),
        settle: (u) => inner.settle(u),
        close: () => {
          options.onClose?.();
          inner.close();
        },
      };
      return Object.defineProperties(port, Object.getOwnPropertyDescriptors(change(inner)));
    },
  };
}

Deno.test("the device runner lays out the rings of a legacy device as the legacy interface does (§2.7.2)", () => {
  const target = wrapped("legacy-only", (inner) => ({
    legacy: true,
    // a legacy-only device: 32 feature bits, no VERSION_1
    readDeviceFeatures: () => inner.readDeviceFeatures() & LEGACY_BITS & ~VERSION_1,
    setupQueue: (index, layout, features) => {
      const want = ringLayout(layout.desc, layout.size, { legacy: true });
      if (want.avail !== layout.avail || want.used !== layout.used) {
        throw new RangeError(
          `Invalid ring layout for legacy queue ${index}: used at 0x${
            layout.used.toString(16)
          }, expected 0x${want.used.toString(16)}`,
        );
      }
      inner.setupQueue(index, layout, features);
    },
  }));
  const cases = CASES.filter((k) => k.scenario === "dev.pfn" && k.id === "device.pfn.inflate");
  const [r] = runSuite({ cases, targets: [target] }).results;
  assert.equal(r?.verdict, "pass", r?.findings[0]?.message ?? r?.message);
});

Deno.test("a port whose process fails mid-scenario makes the scenario's cases errors, and is closed", () => {
  let closed = 0;
  const target = wrapped("dying", () => ({
    notify: () => {
      throw new TargetError({
        kind: "exited",
        target: "qemu-system-x86_64 (pid 4242)",
        message: "The process exited (killed by SIGKILL) before it answered",
        stderrTail: "qemu-system-x86_64: terminating on signal 9",
      });
    },
  }), { onClose: () => closed++ });
  const cases = CASES.filter((k) => k.scenario === "dev.pfn");
  const results = runSuite({ cases, targets: [target] }).results;
  assert.deepEqual(results.map((r) => r.verdict), cases.map(() => "error"));
  assert.match(results[0]?.message ?? "", /TargetError: .*exited \(killed by SIGKILL\)/);
  assert.equal(closed, 1, "the port was closed once");
});

Deno.test("on a target without a host view, an inflate naming unwatched low pages is judged on the pages watched", () => {
  // PFNs 1 and 9 are the guest's own (never marked), so only guest memory at 70000 and 500000 can show them
  const target = wrapped("guest-memory-only", (inner) => ({
    observations: new Set([...inner.observations].filter((o) => o !== "host-view")),
  }));
  const cases = CASES.filter((k) => k.id === "device.pfn.scattered");
  const [r] = runSuite({ cases, targets: [target] }).results;
  assert.equal(r?.verdict, "pass", r?.findings[0]?.message ?? r?.message);
  assert.equal(r?.findings[0]?.observation, "guest-memory");
});

Deno.test("on a target without a host view, a device that reads a device-writable buffer as PFNs is caught in guest memory", () => {
  const device = mutant("device:ignore-writable-descriptors")?.target;
  assert.ok(device?.kind === "device");
  const target = wrapped("guest-memory-only", (inner) => ({
    observations: new Set([...inner.observations].filter((o) => o !== "host-view")),
  }), { device });
  const cases = CASES.filter((k) => k.id === "robustness.pfn.writable");
  const [r] = runSuite({ cases, targets: [target] }).results;
  assert.equal(r?.verdict, "warn", r?.findings[0]?.message ?? r?.message);
  assert.equal(r?.findings[0]?.observation, "guest-memory");
  assert.match(r?.findings[0]?.actual ?? "", /PFNs 12345/);
});
