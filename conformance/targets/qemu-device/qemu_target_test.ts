/**
 * The `qemu-device` targets end to end: every device case on every variant
 * of QEMU's balloon, in parallel, matching the strict expected-failure list
 * exactly; every pass resting on an observation the port provides; every
 * variant starting and stopping cleanly (no QEMU left, checked by pid). And
 * the transport proven by faults the suite injects into QEMU's answers: a
 * used length corrupted in QEMU's RAM, a device that never sees (so never
 * returns) a buffer, a descriptor QEMU must refuse (DEVICE_NEEDS_RESET), a
 * QEMU killed mid-scenario — each makes the right case fail (or error) with
 * evidence. Without QEMU every test is ignored with the reason printed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { enumValue, featureMask, fieldOf, structSize, wireSize } from "../../../spec/mod.ts";
import { CASES } from "../../cases/cases.ts";
import type { DevicePort } from "../../model/ports.ts";
import type { CaseDef, DeviceScenario, DeviceTarget } from "../../model/types.ts";
import { parseExpectList } from "../../run/expect.ts";
import { runSuiteInWorkers } from "../../run/parallel.ts";
import { runSuite } from "../../run/suite.ts";
import { runDeviceScenario } from "../../runners/device.ts";
import { scenario } from "../../scenarios/scenarios.ts";
import { commandLineOf } from "../bridge/process_bridge.ts";
import { type QemuDevicePort, qemuObservations } from "./device_port.ts";
import {
  QEMU_DEVICE_VARIANTS,
  qemuDeviceRecipe,
  qemuDeviceTarget,
  qemuDeviceTargetName,
} from "./target.ts";
import { NO_QEMU, QEMU, qemuPath } from "./_test_qemu.ts";

const DEVICE_CASES: readonly CaseDef[] = CASES.filter((k) =>
  k.role === "device" && k.profile === "v3"
);
const EXPECTED = new URL("./expected-failures.txt", import.meta.url);

const USED_HDR = structSize("virtq_used_hdr");
const USED_ELEM = structSize("virtq_used_elem");
const ELEM_LEN = fieldOf("virtq_used_elem", "len");
const USED_IDX = fieldOf("virtq_used_hdr", "idx");
const AVAIL_HDR = structSize("virtq_avail_hdr");
const AVAIL_IDX = fieldOf("virtq_avail_hdr", "idx");
const AVAIL_ENTRY = wireSize(AVAIL_IDX.type);

function le(bytes: Uint8Array): number {
  let v = 0;
  for (let i = bytes.length - 1; i >= 0; i--) v = v * 256 + (bytes[i] ?? 0);
  return v;
}

function leBytes(value: bigint, width: number): Uint8Array {
  const b = new Uint8Array(width);
  for (let i = 0; i < width; i++) b[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return b;
}

/** The default variant with some port methods replaced (faults), and the pids it started. */
function faulty(
  change: (port: QemuDevicePort) => Partial<DevicePort>,
): { target: DeviceTarget; pids: number[] } {
  const pids: number[] = [];
  const real = qemuDeviceTarget("default", {
    qemu: qemuPath(),
    replyTimeoutMs: 2_000,
    onStart: (pid) => pids.push(pid),
  });
  const open = real.open as NonNullable<DeviceTarget["open"]>;
  return {
    pids,
    target: {
      ...real,
      name: "qemu-device:faulty",
      open: (ctx) => {
        const port = open(ctx) as QemuDevicePort;
        return Object.assign({}, port, change(port));
      },
    },
  };
}

function gone(pids: readonly number[]): void {
  assert.ok(pids.length > 0, "no QEMU was started");
  for (const pid of pids) assert.equal(commandLineOf(pid), undefined, `QEMU ${pid} still runs`);
}

function casesOf(ids: readonly string[]): CaseDef[] {
  return DEVICE_CASES.filter((k) => ids.includes(k.id));
}

Deno.test({
  name:
    "qemu-device: every device case on every variant, in parallel, fails exactly as expected-failures.txt lists, and every pass rests on an observation the port provides",
  ignore: NO_QEMU,
  fn: async () => {
    const options = { qemu: qemuPath(), ...(QEMU.version ? { version: QEMU.version } : {}) };
    const t0 = performance.now();
    const run = await runSuiteInWorkers({
      cases: DEVICE_CASES,
      targets: QEMU_DEVICE_VARIANTS.map((v) => ({
        target: qemuDeviceTarget(v.name, options),
        recipe: qemuDeviceRecipe(v.name, options),
      })),
    });
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `qemu-device matrix: ${QEMU_DEVICE_VARIANTS.length} variants x ${DEVICE_CASES.length} cases in ${
        seconds.toFixed(1)
      } s (${navigator.hardwareConcurrency} cores)`,
    );
    assert.equal(run.results.length, QEMU_DEVICE_VARIANTS.length * DEVICE_CASES.length);
    const errors = run.results.filter((r) => r.verdict === "error");
    assert.deepEqual(errors.map((r) => `${r.target} ${r.case}: ${r.message}`), []);
    const list = parseExpectList(Deno.readTextFileSync(EXPECTED), "expected-failures.txt");
    const listed = list.entries.map((e) => `${e.target} ${e.case}`).sort();
    const failed = run.results.filter((r) => r.verdict === "fail" || r.verdict === "warn")
      .map((r) => `${r.target} ${r.case}`).sort();
    assert.deepEqual(failed, listed);
    const provided = qemuObservations(true);
    const byId = new Map(DEVICE_CASES.map((k) => [k.id, k]));
    for (const r of run.results.filter((x) => x.verdict === "pass")) {
      const k = byId.get(r.case) as CaseDef;
      const can = k.observes ?? ["ring"];
      assert.ok(
        can.some((o) => provided.has(o)),
        `${r.target} ${r.case} passed resting on ${can.join(", ")}`,
      );
      assert.ok(r.findings.length > 0, `${r.target} ${r.case} passed with no finding`);
      for (const f of r.findings) {
        if (f.observation !== undefined) {
          assert.ok(provided.has(f.observation), `${r.case} cites ${f.observation}`);
        }
      }
    }
    // what only QEMU can show: a discard seen in guest RAM, statistics QEMU parsed itself
    const cites = (id: string) =>
      run.results.find((r) => r.case === id && r.target === "qemu-device:default")?.findings[0]
        ?.observation;
    assert.equal(cites("device.pfn.inflate"), "guest-memory");
    assert.equal(cites("device.stats.unknown-tag"), "host-stats");
  },
});

Deno.test({
  name: "qemu-device: every variant starts and stops cleanly (no QEMU left, checked by pid)",
  ignore: NO_QEMU,
  fn: () => {
    const pids: number[] = [];
    const targets = QEMU_DEVICE_VARIANTS.map((v) =>
      qemuDeviceTarget(v.name, { qemu: qemuPath(), onStart: (pid) => pids.push(pid) })
    );
    const results = runSuite({ cases: casesOf(["device.negotiation.none"]), targets }).results;
    assert.deepEqual(
      results.map((r) => `${r.target} ${r.verdict}`),
      QEMU_DEVICE_VARIANTS.map((v) => `${qemuDeviceTargetName(v.name)} pass`),
    );
    assert.equal(pids.length, QEMU_DEVICE_VARIANTS.length);
    gone(pids);
  },
});

Deno.test({
  name:
    "qemu-device fault: a used length corrupted in QEMU's RAM makes device.pfn.used-len fail, with the length the ring holds",
  ignore: NO_QEMU,
  fn: () => {
    const { target, pids } = faulty((port) => ({
      notify: (index) => {
        port.notify(index);
        const ring = port.rings.get(index);
        if (index !== 0 || ring === undefined) return;
        // QEMU has used the buffer (it handles a notification at once): rewrite the used length
        const idx = le(port.memory.read(ring.used + USED_IDX.offset, 2));
        const at = ring.used + USED_HDR + ((idx - 1) % ring.size) * USED_ELEM + ELEM_LEN.offset;
        port.memory.write(at, leBytes(4096n, wireSize(ELEM_LEN.type)), "device");
      },
    }));
    const [r] = runSuite({ cases: casesOf(["device.pfn.used-len"]), targets: [target] }).results;
    assert.equal(r?.verdict, "fail");
    assert.match(r?.findings[0]?.message ?? "", /was used with length 4096 though it has no/);
    assert.equal(r?.findings[0]?.actual, "4096");
    gone(pids);
  },
});

Deno.test({
  name:
    "qemu-device fault: a device that never returns a buffer (the notification withheld) fails device.pfn.inflate, and guest RAM shows nothing discarded",
  ignore: NO_QEMU,
  fn: () => {
    const { target, pids } = faulty((port) => ({
      notify: (index) => {
        if (index !== 0) port.notify(index);
      },
    }));
    const [r] = runSuite({ cases: casesOf(["device.pfn.inflate"]), targets: [target] }).results;
    assert.equal(r?.verdict, "fail");
    const messages = r?.findings.map((f) => f.message) ?? [];
    assert.ok(messages.includes('"inflate" was never used'), messages.join(" | "));
    const memory = r?.findings.find((f) => f.observation === "guest-memory");
    assert.match(memory?.actual ?? "", /256 named pages still hold their contents/);
    assert.ok((memory?.evidence?.bytes.length ?? 0) === 256 * 4, "the chain's bytes as evidence");
    gone(pids);
  },
});

Deno.test({
  name:
    "qemu-device fault: an available ring entry naming a descriptor past the table makes QEMU set DEVICE_NEEDS_RESET; the port reports it with QEMU's message",
  ignore: NO_QEMU,
  fn: () => {
    let size = 0;
    const { target, pids } = faulty((port) => ({
      notify: (index) => {
        const ring = port.rings.get(index);
        if (index === 0 && ring !== undefined) {
          size = ring.size;
          // the head the suite just made available, replaced by one past the descriptor table
          const idx = le(port.memory.read(ring.avail + AVAIL_IDX.offset, 2));
          const slot = ring.avail + AVAIL_HDR + ((idx - 1) % ring.size) * AVAIL_ENTRY;
          port.memory.write(slot, leBytes(BigInt(ring.size), AVAIL_ENTRY), "driver");
        }
        port.notify(index);
      },
    }));
    const run = runDeviceScenario(scenario("dev.pfn") as DeviceScenario, target);
    const reset = run.errors.find((e) => e.includes("DEVICE_NEEDS_RESET"));
    assert.ok(reset !== undefined, run.errors.join(" | "));
    assert.match(reset, /status 0x4f/);
    assert.ok(reset.includes(`Guest says index ${size} is available`), "QEMU's own message");
    assert.equal(run.sends.get("inflate")?.used, false);
    gone(pids);
  },
});

Deno.test({
  name:
    "qemu-device fault: QEMU killed mid-scenario makes the scenario's cases errors naming the exit, and leaves no process",
  ignore: NO_QEMU,
  fn: () => {
    let notifies = 0;
    const { target, pids } = faulty((port) => ({
      notify: (index) => {
        if (++notifies === 2) Deno.kill(port.session.qemu.pid, "SIGKILL");
        port.notify(index);
      },
    }));
    const cases = DEVICE_CASES.filter((k) => k.scenario === "dev.pfn");
    const results = runSuite({ cases, targets: [target] }).results;
    assert.deepEqual(results.map((r) => r.verdict), cases.map(() => "error"));
    assert.match(results[0]?.message ?? "", /TargetError: .*(exited|closed)/);
    gone(pids);
  },
});

Deno.test({
  name:
    "qemu-device port: a target shows in num_pages with a config interrupt; the driver's actual is what query-balloon reports; no stats before a buffer",
  ignore: NO_QEMU,
  fn: () => {
    const pids: number[] = [];
    const t = qemuDeviceTarget("default", { qemu: qemuPath(), onStart: (p) => pids.push(p) });
    const open = t.open as NonNullable<DeviceTarget["open"]>;
    const port = open({ guestPages: 32_768, profile: "v3" });
    try {
      let configChanges = 0;
      port.onInterrupt({ used: () => {}, config: () => configChanges++ });
      port.writeStatus(0);
      let status = 0;
      for (const bit of ["ACKNOWLEDGE", "DRIVER", "FEATURES_OK", "DRIVER_OK"]) {
        if (bit === "FEATURES_OK") port.writeDriverFeatures(featureMask("v3", ["VERSION_1"]));
        status |= enumValue("device_status", bit);
        port.writeStatus(status);
      }
      assert.equal(port.readStatus(), status);
      assert.equal(port.host.requestStats(), false, "no stats buffer is held");
      assert.equal(port.host.lastStats?.(), undefined, "QEMU has read no stats buffer");
      port.host.setTarget(1_000);
      assert.deepEqual(port.settle(), []);
      assert.equal(configChanges, 1);
      const numPages = fieldOf("virtio_balloon_config", "num_pages");
      assert.equal(le(port.readConfig(numPages.offset, 4)), 1_000);
      const actual = fieldOf("virtio_balloon_config", "actual");
      port.writeConfig(actual.offset, leBytes(640n, 4));
      assert.equal(port.host.actual?.(), 640);
      assert.ok(port.observations.has("host-actual") && !port.observations.has("host-view"));
    } finally {
      port.close();
    }
    gone(pids);
  },
});
