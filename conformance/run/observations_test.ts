/**
 * The device cases on a target that observes what a real device lets the
 * suite see — the ring, the config space, guest memory and the host's
 * `actual`, but no host view of the ballooned pages, no stats and no dirty
 * log (QEMU's balloon over qtest is such a target): every case is judged on
 * what the port provides or is `unsupported`, the reference passes every
 * judged case, each pass names its observation, and mutants are still caught
 * through guest memory.
 */

import assert from "node:assert/strict";
import { GuestEnv } from "../../impl/mod.ts";
import { CASES } from "../cases/cases.ts";
import type { DevicePort, Observation } from "../model/ports.ts";
import type { DeviceTarget } from "../model/types.ts";
import { inProcessDevicePort } from "../targets/reference/device_port.ts";
import { referenceDeviceTarget } from "../targets/reference/reference.ts";
import { runSuite } from "./suite.ts";

const SEEN: ReadonlySet<Observation> = new Set(["ring", "config", "guest-memory", "host-actual"]);

/** An in-process device seen only through what a real device would show. */
function likeARealDevice(inner: DeviceTarget): DeviceTarget {
  return {
    kind: "device",
    name: `${inner.name} (ring, config, guest memory, actual)`,
    description: inner.description,
    profile: inner.profile,
    open(ctx): DevicePort {
      const port = inProcessDevicePort(inner, {
        ...ctx,
        guest: new GuestEnv({ pages: ctx.guestPages }),
      });
      const { setTarget, requestStats, actual } = port.host;
      // no self-report (the device's own trace) and no host view: only the port's transport
      return {
        memory: port.memory,
        get legacy() {
          return port.legacy;
        },
        guestEndian: port.guestEndian,
        observations: SEEN,
        host: { setTarget, requestStats, ...(actual === undefined ? {} : { actual }) },
        readStatus: () => port.readStatus(),
        writeStatus: (v) => port.writeStatus(v),
        readDeviceFeatures: () => port.readDeviceFeatures(),
        writeDriverFeatures: (v) => port.writeDriverFeatures(v),
        readConfig: (o, n) => port.readConfig(o, n),
        writeConfig: (o, b) => port.writeConfig(o, b),
        configGeneration: () => port.configGeneration(),
        queueMaxSize: (i) => port.queueMaxSize(i),
        setupQueue: (i, l, f) => port.setupQueue(i, l, f),
        notify: (i) => port.notify(i),
        onInterrupt: (h) => port.onInterrupt(h),
        settle: (until) => port.settle(until),
        close: () => port.close(),
      };
    },
  };
}

const deviceCases = CASES.filter((k) => k.role === "device" && k.profile === "v3");

for (const profile of ["v3", "virtio-1.x"] as const) {
  Deno.test(`on a real-device view the ${profile} reference passes every case it can judge, each pass naming its observation`, () => {
    const cases = CASES.filter((k) => k.role === "device" && k.profile === profile);
    const run = runSuite({
      cases,
      targets: [likeARealDevice(referenceDeviceTarget("ref", "ref", [], { profile }))],
    });
    const bad = run.results.filter((r) => r.verdict !== "pass" && r.verdict !== "unsupported");
    assert.deepEqual(
      bad.map((r) =>
        `${r.case}: ${r.verdict} ${r.message ?? r.findings.find((f) => !f.ok)?.message}`
      ),
      [],
    );
    const passes = run.results.filter((r) => r.verdict === "pass");
    assert.ok(
      passes.length >= cases.length / 2,
      `${passes.length} of ${cases.length} judged`,
    );
    for (const r of passes) {
      const k = cases.find((x) => x.id === r.case);
      if ((k?.observes ?? []).some((o) => o !== "ring")) {
        assert.ok(
          r.findings.some((f) => f.observation !== undefined && SEEN.has(f.observation)),
          `${r.case} rests on an observation the port has`,
        );
      }
    }
    const unsupported = run.results.filter((r) => r.verdict === "unsupported");
    for (const r of unsupported) {
      assert.match(r.message ?? "", /cannot observe|cannot issue|does not offer|declares/, r.case);
    }
    const deflate = profile === "v3" ? "device.pfn.deflate" : "v1x.device.pfn.deflate";
    assert.ok(unsupported.some((r) => r.case === deflate), "a deflate needs a host view");
  });
}

Deno.test("on a real-device view mutants are still caught through guest memory", () => {
  const caught = (deviation: Parameters<typeof referenceDeviceTarget>[2], id: string) => {
    const t = likeARealDevice(referenceDeviceTarget(`m`, "m", deviation));
    const r = runSuite({ cases: deviceCases.filter((k) => k.id === id), targets: [t] }).results[0];
    return r?.verdict;
  };
  assert.equal(caught(["never-ack-inflate"], "device.pfn.inflate"), "fail");
  assert.equal(caught(["bit-order-msb-first"], "device.bitmap.bit-order"), "fail");
  assert.equal(caught(["start-pfn-off-by-one"], "device.bitmap.inflate-run"), "fail");
  assert.equal(caught(["pfn-cap-256"], "device.pfn.entries-1024"), "fail");
  assert.equal(caught(["ignore-writable-descriptors"], "robustness.pfn.writable"), "warn");
  // not caught here: a device that uses a buffer and applies it before its interrupt is
  // delivered looks, through guest memory, like one that applied first; only a host view at
  // the moment of use (the in-process self-report) tells them apart
  assert.equal(caught(["ack-before-process"], "device.pfn.used-after-apply"), "pass");
});
