/**
 * Records the small real QEMU trace log kept as test data
 * (`conformance/testdata/qemu-small.log.gz` and its `.meta.json`): a 256 MiB
 * guest with deflate-on-oom and free page reporting, stats polling, an
 * inflate of 16 MiB and back, memory written and freed (for free page
 * reporting), then a target the guest must deflate from on its own.
 *
 * Run with `deno task record-trace [--cache DIR]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { defaultCacheDir, ensureGuestAssets } from "../conformance/targets/qemu-linux/assets.ts";
import { ensureQemu } from "../conformance/targets/qemu/setup.ts";
import { Vm } from "../conformance/targets/qemu-linux/vm.ts";
import { availableMiB, featuresEvent } from "../conformance/targets/qemu-linux/target.ts";
import type { TraceEvent } from "../conformance/trace/format.ts";
import { writeRecording } from "./_recording.ts";

const MIB = 2 ** 20;
const MEM_MIB = 256;
const BALLOON = { "deflate-on-oom": "on", "free-page-reporting": "on" };
const OUT = "conformance/testdata/qemu-small";

const { values } = parseArgs({ args: Deno.args, options: { cache: { type: "string" } } });
const cache = values.cache ?? defaultCacheDir();
const log = (s: string) => console.error(`… ${s}`);
const qemu = await ensureQemu(log);
const guest = await ensureGuestAssets(cache, log);
const dir = await Deno.makeTempDir({ prefix: "record-trace-" });
const vm = await Vm.start({ qemu: qemu.path, qemuVersion: qemu.version, ...guest }, {
  memMiB: MEM_MIB,
  balloon: BALLOON,
  dir,
});
const steps: string[] = [];
let features: TraceEvent | undefined;
try {
  await vm.qmp.execute("qom-set", {
    path: "/machine/peripheral/balloon0",
    property: "guest-stats-polling-interval",
    value: 1,
  });
  await new Promise((r) => setTimeout(r, 2500));
  steps.push("stats polling every 1 s for 2.5 s");
  for (const mib of [MEM_MIB - 16, MEM_MIB]) {
    await vm.balloon(mib * MIB);
    const got = await vm.waitBalloon(mib * MIB, 30_000);
    if (got !== mib * MIB) {
      throw new Error(`the balloon did not reach ${mib} MiB (at ${got / MIB} MiB)`);
    }
    steps.push(`balloon to ${mib} MiB`);
  }
  // free page reporting reports 2 MiB blocks some seconds after they are freed
  const before = availableMiB(await vm.command("meminfo", 30_000));
  await vm.command(`dirty ${before - 16}`, 120_000);
  await vm.command("free", 30_000);
  await new Promise((r) => setTimeout(r, 4000));
  steps.push(`the guest writes ${before - 16} MiB, frees it, 4 s for free page reporting`);
  // fill the guest but 24 MiB, inflate 16 MiB, then write 16 MiB: it must deflate on its own
  const avail = availableMiB(await vm.command("meminfo", 30_000));
  await vm.command(`dirty ${avail - 24}`, 120_000);
  await vm.balloon((MEM_MIB - 16) * MIB);
  await vm.waitBalloon((MEM_MIB - 16) * MIB, 30_000);
  await vm.command("dirty 16", 120_000);
  steps.push(
    `the guest writes ${avail - 24} MiB (${avail} MiB available), balloon to ${
      MEM_MIB - 16
    } MiB, the guest writes 16 MiB more`,
  );
  steps.push(`guest-visible RAM at the end: ${(await vm.queryBalloon()) / MIB} MiB`);
  const f = await featuresEvent(vm);
  for (const p of f.problems) log(p);
  features = f.event;
} finally {
  await vm.stop();
}
await writeRecording({
  traceFile: vm.files.trace,
  out: OUT,
  versions: { qemu: qemu.version, kernel: guest.kernelVersion, busybox: guest.busyboxVersion },
  memMiB: MEM_MIB,
  balloon: BALLOON,
  steps,
  features,
});
await Deno.remove(dir, { recursive: true });
