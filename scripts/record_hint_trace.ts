/**
 * Records the small real QEMU trace log of the standard profile kept as test
 * data (`conformance/testdata/qemu-hint.log.gz` and its `.meta.json`): a
 * 256 MiB guest with free-page-hint (on an iothread), free page reporting
 * and deflate-on-oom; an inflate of 16 MiB and back (which places reported
 * blocks in guest memory), memory written and freed (for reporting), then a
 * live migration to nowhere, during which the guest hints its free pages.
 *
 * Run with `deno task record-trace:hint [--cache DIR]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { defaultCacheDir, ensureGuestAssets } from "../conformance/targets/qemu-linux/assets.ts";
import { ensureQemu } from "../conformance/targets/qemu/setup.ts";
import { Vm } from "../conformance/targets/qemu-linux/vm.ts";
import { migrateToNull } from "../conformance/targets/qemu-linux/migrate.ts";
import { availableMiB, featuresEvent } from "../conformance/targets/qemu-linux/target.ts";
import type { TraceEvent } from "../conformance/trace/format.ts";
import { writeRecording } from "./_recording.ts";

const MIB = 2 ** 20;
const MEM_MIB = 256;
const BALLOON = {
  "deflate-on-oom": "on",
  "free-page-reporting": "on",
  "free-page-hint": "on",
  iothread: "io0",
};
const OUT = "conformance/testdata/qemu-hint";

const { values } = parseArgs({ args: Deno.args, options: { cache: { type: "string" } } });
const cache = values.cache ?? defaultCacheDir();
const log = (s: string) => console.error(`… ${s}`);
const qemu = await ensureQemu(log);
const guest = await ensureGuestAssets(cache, log);
const dir = await Deno.makeTempDir({ prefix: "record-trace-" });
const vm = await Vm.start({ qemu: qemu.path, qemuVersion: qemu.version, ...guest }, {
  memMiB: MEM_MIB,
  balloon: BALLOON,
  objects: ["iothread,id=io0"],
  dir,
});
const steps: string[] = [];
let features: TraceEvent | undefined;
try {
  for (const mib of [MEM_MIB - 16, MEM_MIB]) {
    await vm.balloon(mib * MIB);
    const got = await vm.waitBalloon(mib * MIB, 30_000);
    if (got !== mib * MIB) {
      throw new Error(`the balloon did not reach ${mib} MiB (at ${got / MIB} MiB)`);
    }
    steps.push(`balloon to ${mib} MiB`);
  }
  const before = availableMiB(await vm.command("meminfo", 30_000));
  await vm.command(`dirty ${before - 16}`, 120_000);
  await vm.command("free", 30_000);
  await new Promise((r) => setTimeout(r, 4000));
  steps.push(`the guest writes ${before - 16} MiB, frees it, 4 s for free page reporting`);
  const m = await migrateToNull(vm, 60_000);
  steps.push(
    `migration to exec:cat > /dev/null: ${m.status} in ${
      m.seconds.toFixed(1)
    } s, ${m.syncs} bitmap syncs, resumed: ${m.resumed}`,
  );
  await new Promise((r) => setTimeout(r, 2000));
  steps.push("2 s after the migration");
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
