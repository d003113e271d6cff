/**
 * The suite as the guest driver of QEMU's real virtio-balloon-pci, over
 * qtest: enumeration, capabilities, feature negotiation, queues in QEMU's
 * RAM driven by the suite's own `DriverQueue`, an inflate whose page really
 * is discarded, interrupts, a host-side target change, in the transitional,
 * legacy-only and modern-only variants. Facts checked are those of
 * `QTEST.md` (Debian's QEMU 7.2); without QEMU every test is ignored with
 * the reason printed.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  BALLOON_PAGE_SIZE,
  decodeStruct,
  encodePfnArray,
  enumValue,
  featureBit,
  fieldOf,
  hasFeature,
  structSize,
  VIRTIO_PCI_VENDOR_ID,
} from "../../../spec/mod.ts";
import { commandLineOf } from "../bridge/process_bridge.ts";
import { bringUp } from "./bring_up.ts";
import { LegacyTransport } from "./legacy.ts";
import { openQemuBalloon, type QemuBalloonOptions, type QemuBalloonSession } from "./session.ts";
import { NO_QEMU, qemuPath } from "./_test_qemu.ts";
import { capTypeShortName } from "./virtio_pci_device.ts";

const MIB = 2 ** 20;
const STATUS = (name: string) => enumValue("device_status", name);
const CONFIG_BYTES = structSize("virtio_balloon_config", "virtio-1.x");

function withBalloon(
  options: Omit<QemuBalloonOptions, "qemu">,
  fn: (s: QemuBalloonSession) => void,
): void {
  const s = openQemuBalloon({ qemu: qemuPath(), ...options });
  const pid = s.qemu.pid;
  try {
    fn(s);
  } finally {
    s.close();
  }
  assert.equal(commandLineOf(pid), undefined, `QEMU ${pid} still runs after close`);
}

/** Inflates the page at `page` (filled with 0x5a first) and returns what the driver side saw. */
function inflateOne(s: QemuBalloonSession, queue: ReturnType<typeof bringUp<string>>["queues"][0]) {
  const order = s.transport.order;
  const page = s.memory.alloc(BALLOON_PAGE_SIZE);
  s.memory.fill(page, BALLOON_PAGE_SIZE, 0x5a);
  const before = s.memory.read(page, BALLOON_PAGE_SIZE);
  const pfns = encodePfnArray([page / BALLOON_PAGE_SIZE], order);
  const arr = s.memory.alloc(pfns.length, 4);
  s.memory.write(arr, pfns, "driver");
  s.transport.takeInterrupts(); // start from a clear ISR
  queue.driver.add([{ addr: arr, len: pfns.length }], [], "inflate");
  assert.equal(queue.driver.kickPrepare(), true);
  s.transport.notify(queue.index);
  const used = queue.driver.getUsed();
  const irq = s.transport.takeInterrupts();
  const after = s.memory.read(page, BALLOON_PAGE_SIZE);
  return { before, after, used, irq };
}

Deno.test({
  name:
    "qtest: enumeration finds the transitional balloon with QTEST.md's ids, BARs and capabilities",
  ignore: NO_QEMU,
  fn: () =>
    withBalloon({}, (s) => {
      const d = s.device;
      assert.equal(d.info.vendorId, VIRTIO_PCI_VENDOR_ID);
      assert.equal(d.info.deviceId, 0x1002);
      assert.equal(d.info.subsystemId, 5);
      assert.equal(d.kind, "transitional");
      assert.equal(d.interruptPin, 1, "INTx pin A");
      const bar4 = d.bars.find((b) => b.index === 4);
      assert.deepEqual(
        bar4 && { space: bar4.space, is64: bar4.is64, size: bar4.size },
        { space: "memory", is64: true, size: 16 * 1024 },
      );
      assert.equal(d.bars.find((b) => b.index === 0)?.space, "io");
      const caps = d.virtioCaps.map((c) => ({
        type: capTypeShortName(c.cfgType),
        bar: c.bar,
        offset: c.offset,
        ...(c.notifyOffMultiplier === undefined ? {} : { multiplier: c.notifyOffMultiplier }),
      }));
      const byType = (t: string) => caps.find((c) => c.type === t);
      assert.deepEqual(byType("COMMON"), { type: "COMMON", bar: 4, offset: 0 });
      assert.deepEqual(byType("ISR"), { type: "ISR", bar: 4, offset: 0x1000 });
      assert.deepEqual(byType("DEVICE"), { type: "DEVICE", bar: 4, offset: 0x2000 });
      assert.deepEqual(byType("NOTIFY"), { type: "NOTIFY", bar: 4, offset: 0x3000, multiplier: 4 });
      assert.ok(byType("PCI"), "a PCI_CFG capability");
      assert.equal(d.msixCap, undefined, "QEMU 7.2's balloon has no MSI-X");
    }),
});

Deno.test({
  name: "qtest: the default offer is 0x0000010130000012; FEATURES_OK holds; three queues of 128",
  ignore: NO_QEMU,
  fn: () =>
    withBalloon({}, (s) => {
      const up = bringUp<string>(s.transport);
      assert.equal(up.offered, 0x0000010130000012n);
      assert.ok(hasFeature("virtio-1.x", up.features, "VERSION_1"));
      assert.ok(hasFeature("virtio-1.x", up.features, "STATS_VQ"));
      const want = STATUS("ACKNOWLEDGE") | STATUS("DRIVER") | STATUS("FEATURES_OK") |
        STATUS("DRIVER_OK");
      assert.equal(s.transport.readStatus(), want);
      assert.deepEqual(up.queues.map((q) => [q.index, q.layout.size]), [[0, 128], [1, 128], [
        2,
        128,
      ]]);
      assert.equal(s.transport.queueMaxSize(3), 0, "no fourth queue without reporting");
      // MUST_TELL_HOST is never offered (QTEST.md)
      assert.equal(hasFeature("virtio-1.x", up.offered, "MUST_TELL_HOST"), false);
    }),
});

Deno.test({
  name:
    "qtest: QEMU 7.2 keeps FEATURES_OK for a feature set without VERSION_1 (the spec lets it refuse)",
  ignore: NO_QEMU,
  fn: () =>
    withBalloon({}, (s) => {
      const up = bringUp<string>(s.transport, { want: ["STATS_VQ"], withoutDriverOk: true });
      assert.equal(hasFeature("virtio-1.x", up.features, "VERSION_1"), false);
      assert.ok((s.transport.readStatus() & STATUS("FEATURES_OK")) !== 0);
    }),
});

Deno.test({
  name:
    "qtest: an inflate of one PFN through DriverQueue over QEMU's RAM is used with length 0, raises ISR and INTx, and the page reads back as zeros",
  ignore: NO_QEMU,
  fn: () =>
    withBalloon({ intx: true }, (s) => {
      const up = bringUp<string>(s.transport);
      const r = inflateOne(s, up.queues[0] as (typeof up.queues)[0]);
      assert.ok(r.before.every((b) => b === 0x5a), "the pattern was written");
      assert.deepEqual(r.used, { token: "inflate", len: 0, head: 0 });
      assert.equal(r.irq.isr, 1);
      assert.deepEqual(r.irq.lines, [
        { raised: true, line: s.irqLine },
        { raised: false, line: s.irqLine },
      ]);
      assert.ok(r.after.every((b) => b === 0), "QEMU discarded the page");
      assert.equal(s.qemu.machine.name, "pc");
      assert.equal(s.irqLine, 11);
    }),
});

Deno.test({
  name:
    "qtest: with callbacks disabled (EVENT_IDX used_event) an inflate raises no interrupt, after QEMU's first one, which it always sends",
  ignore: NO_QEMU,
  fn: () =>
    withBalloon({}, (s) => {
      const up = bringUp<string>(s.transport);
      const q = up.queues[0] as (typeof up.queues)[0];
      q.driver.disableCallbacks();
      // QEMU notifies the first used buffer whatever used_event says (signalled_used_valid)
      assert.equal(inflateOne(s, q).irq.isr, 1);
      const r = inflateOne(s, q);
      assert.equal(r.used?.len, 0);
      assert.equal(r.irq.isr, 0, "QEMU honoured used_event");
      q.driver.enableCallbacks();
      assert.equal(inflateOne(s, q).irq.isr, 1, "and interrupts again once asked");
    }),
});

Deno.test({
  name:
    "qtest: QMP balloon 64M sets num_pages 16384 with a config interrupt; actual written shows in query-balloon and BALLOON_CHANGE",
  ignore: NO_QEMU,
  fn: () =>
    withBalloon({ memMiB: 128 }, (s) => {
      bringUp<string>(s.transport);
      s.transport.takeInterrupts();
      const gen = s.transport.configGeneration();
      s.qemu.qmp.execute("balloon", { value: 64 * MIB });
      const irq = s.transport.takeInterrupts();
      assert.ok(irq.config, `ISR ${irq.isr}`);
      assert.equal(irq.isr, 3, "QEMU sets both ISR bits for a config change (QTEST.md)");
      assert.notEqual(s.transport.configGeneration(), gen);
      const config = decodeStruct(
        "virtio_balloon_config",
        s.transport.readConfig(0, CONFIG_BYTES),
        {
          order: "v1",
        },
      );
      assert.equal(config["num_pages"], 16384);
      assert.equal(config["actual"], 0);
      const actual = fieldOf("virtio_balloon_config", "actual");
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setUint32(0, 100, true);
      s.transport.writeConfig(actual.offset, bytes);
      const want = 128 * MIB - 100 * BALLOON_PAGE_SIZE;
      assert.equal(s.host.queryBalloon(), want);
      assert.equal(s.host.actualPages(), 100);
      const ev = s.host.waitBalloonChange({ actualBytes: want, timeoutMs: 3_000 });
      assert.equal(ev?.data?.["actual"], want);
      // the host's setTargetPages speaks pages
      s.host.setTargetPages(1000);
      assert.equal(
        new DataView(s.transport.readConfig(0, 4).buffer).getUint32(0, true),
        1000,
      );
    }),
});

for (
  const variant of [
    { name: "legacy-only (disable-modern=on)", props: { "disable-modern": "on" } },
    { name: "transitional, through its legacy I/O BAR0", props: {} },
  ]
) {
  Deno.test({
    name:
      `qtest: ${variant.name}: negotiation, legacy queues, inflate, ISR and config change through I/O BAR0`,
    ignore: NO_QEMU,
    fn: () =>
      withBalloon({ props: variant.props, mode: "legacy" }, (s) => {
        const t = s.transport;
        assert.ok(t instanceof LegacyTransport);
        assert.equal(t.configOffset, 20, "no MSI-X: device config at 20");
        const up = bringUp<string>(t);
        assert.ok(up.offered < 2n ** 32n, "32 feature bits");
        assert.equal(hasFeature("virtio-1.x", up.offered, "VERSION_1"), false);
        assert.ok(hasFeature("virtio-1.x", up.offered, "STATS_VQ"));
        assert.equal(up.queueFeatures.order, "legacy-le");
        assert.equal(
          t.readStatus(),
          STATUS("ACKNOWLEDGE") | STATUS("DRIVER") | STATUS("DRIVER_OK"),
        );
        assert.equal(t.configGeneration(), undefined);
        assert.deepEqual(up.queues.map((q) => q.layout.size), [128, 128, 128]);
        const r = inflateOne(s, up.queues[0] as (typeof up.queues)[0]);
        assert.deepEqual(r.used, { token: "inflate", len: 0, head: 0 });
        assert.equal(r.irq.isr, 1);
        assert.ok(r.after.every((b) => b === 0));
        s.host.setTargetPages(16384);
        assert.equal(t.takeInterrupts().config, true);
        assert.equal(new DataView(t.readConfig(0, 4).buffer).getUint32(0, true), 16384);
        assert.throws(
          () => t.writeDriverFeatures(1n << BigInt(featureBit("virtio-1.x", "VERSION_1"))),
          /the legacy interface has 32 feature bits/,
        );
      }),
  });
}

Deno.test({
  name: "qtest: modern-only (disable-legacy=on) is 0x1045 without an I/O BAR, and works modern",
  ignore: NO_QEMU,
  fn: () =>
    withBalloon({ props: { "disable-legacy": "on" } }, (s) => {
      assert.equal(s.device.info.deviceId, 0x1045);
      assert.equal(s.device.kind, "modern");
      assert.equal(s.device.legacyIo, undefined);
      assert.throws(
        () => new LegacyTransport({ qemu: s.qemu, device: s.device, memory: s.memory }),
        /no legacy interface/,
      );
      const up = bringUp<string>(s.transport);
      assert.equal(up.offered, 0x0000010130000012n);
      const r = inflateOne(s, up.queues[0] as (typeof up.queues)[0]);
      assert.equal(r.used?.len, 0);
      assert.ok(r.after.every((b) => b === 0));
    }),
});
