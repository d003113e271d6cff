/**
 * Figures of the qtest target, printed: the bridge's round trip to `cat`,
 * one qtest round trip to QEMU, QEMU start to ready, opening and bringing up
 * the balloon, one inflate of 256 PFNs end to end (the array written into
 * QEMU's RAM, added through `DriverQueue`, notified, used, ISR read, the 256
 * pages read back as zeros), and how QEMUs fare run side by side (each one
 * driven by its own Deno process doing inflates; aggregate rate, the slowest
 * inflate and each QEMU's resident memory).
 *
 * Run: `deno task bench:qtest [--runs N] [--parallel 1,2,4,8]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BALLOON_PAGE_SIZE, encodePfnArray, VIRTIO_BALLOON_ARRAY_PFNS_MAX } from "../spec/mod.ts";
import { ProcessBridge } from "../conformance/targets/bridge/process_bridge.ts";
import { ensureQemu } from "../conformance/targets/qemu/setup.ts";
import { bringUp, type QueueSetup } from "../conformance/targets/qemu-device/bring_up.ts";
import { QtestQemu } from "../conformance/targets/qemu-device/qemu_qtest.ts";
import {
  openQemuBalloon,
  type QemuBalloonSession,
} from "../conformance/targets/qemu-device/session.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "20" },
    parallel: { type: "string", default: "1,2,4,8" },
    child: { type: "string" },
    qemu: { type: "string" },
  },
});
const RUNS = Number(values.runs);
/** What each child process may do: the permissions of `deno task test`. */
const CHILD_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-net",
];
const PAGES = VIRTIO_BALLOON_ARRAY_PFNS_MAX;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/**
 * One inflate of 256 fresh pages (filled with a pattern first, untimed):
 * `core` is writing the PFN array, adding it, notifying, taking the used
 * buffer and reading ISR; `verify` is reading the 1 MiB back (all zeros).
 */
function inflate256(
  s: QemuBalloonSession,
  q: QueueSetup<number>,
  round: number,
): { core: number; verify: number } {
  const first = s.memory.alloc(PAGES * BALLOON_PAGE_SIZE) / BALLOON_PAGE_SIZE;
  s.memory.fill(first * BALLOON_PAGE_SIZE, PAGES * BALLOON_PAGE_SIZE, 0x5a);
  const pfns = encodePfnArray(Array.from({ length: PAGES }, (_, i) => first + i), "v1");
  const arr = s.memory.alloc(pfns.length, 4);
  const core = time(() => {
    s.memory.write(arr, pfns, "driver");
    q.driver.add([{ addr: arr, len: pfns.length }], [], round);
    q.driver.kickPrepare();
    s.transport.notify(q.index);
    const used = q.driver.getUsed();
    const irq = s.transport.takeInterrupts();
    if (used?.token !== round || used.len !== 0 || !irq.used) {
      throw new Error(`Inflate ${round}: used ${JSON.stringify(used)}, ISR ${irq.isr}`);
    }
  });
  const verify = time(() => {
    const back = s.memory.read(first * BALLOON_PAGE_SIZE, PAGES * BALLOON_PAGE_SIZE);
    if (back.some((b) => b !== 0)) throw new Error(`Inflate ${round}: pages not discarded`);
  });
  return { core, verify };
}

function rssKiB(pid: number): number {
  const out = new Deno.Command("cat", { args: [`/proc/${pid}/status`], stdout: "piped" })
    .outputSync();
  const m = /VmRSS:\s+(\d+) kB/.exec(new TextDecoder().decode(out.stdout));
  return m === null ? Number.NaN : Number(m[1]);
}

/** The child mode: open a balloon, run `n` inflates, print JSON. */
function child(qemu: string, n: number): void {
  const t0 = performance.now();
  const s = openQemuBalloon({ qemu, memMiB: 1024 });
  try {
    const up = bringUp<number>(s.transport);
    const ready = performance.now() - t0;
    const q = up.queues[0] as QueueSetup<number>;
    const times: number[] = [];
    for (let i = 0; i < n; i++) times.push(inflate256(s, q, i).core);
    console.log(JSON.stringify({ ready, times, rss: rssKiB(s.qemu.pid) }));
  } finally {
    s.close();
  }
}

async function parallel(qemu: string, k: number, n: number): Promise<string> {
  const t0 = performance.now();
  const outs = await Promise.all(Array.from({ length: k }, () =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...CHILD_PERMISSIONS,
        new URL(import.meta.url).pathname,
        "--child",
        String(n),
        "--qemu",
        qemu,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output()));
  const wall = performance.now() - t0;
  const failed = outs.filter((o) => !o.success).length;
  const res = outs.filter((o) => o.success).map((o) =>
    JSON.parse(new TextDecoder().decode(o.stdout)) as {
      ready: number;
      times: number[];
      rss: number;
    }
  );
  const all = res.flatMap((r) => r.times);
  // inflates per second of all QEMUs together, over the longest inflate phase of any of them
  const phase = Math.max(...res.map((r) => r.times.reduce((a, b) => a + b, 0)));
  const rate = all.length / (phase / 1000);
  return `| ${k} | ${failed} | ${median(res.map((r) => r.ready)).toFixed(0)} | ${
    median(all).toFixed(1)
  } | ${Math.max(...all).toFixed(1)} | ${rate.toFixed(0)} | ${
    (median(res.map((r) => r.rss)) / 1024).toFixed(0)
  } | ${wall.toFixed(0)} |`;
}

if (values.child !== undefined) {
  child(values.qemu ?? "qemu-system-x86_64", Number(values.child));
} else {
  const q = await ensureQemu((s) => console.error(s));
  console.log(`${q.version}; Deno ${Deno.version.deno}; ${navigator.hardwareConcurrency} CPUs`);

  const cat = ProcessBridge.spawn({ command: "cat", channels: [{ name: "io", kind: "stdio" }] });
  const catMs = time(() => {
    for (let i = 0; i < 5000; i++) cat.call("io", "ping\n", { lines: 1 });
  });
  cat.close();
  console.log(`bridge round trip to cat: ${(catMs * 1000 / 5000).toFixed(1)} µs (5000 lines)`);

  const starts: number[] = [];
  const rtts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const qemu = QtestQemu.start({ qemu: q.path, device: "virtio-balloon-pci" });
    starts.push(qemu.startMs);
    const ms = time(() => {
      for (let j = 0; j < 2000; j++) qemu.qtest.readl(qemu.machine.ramStart);
    });
    rtts.push(ms * 1000 / 2000);
    qemu.close();
  }
  console.log(
    `QEMU start to ready (spawn, qtest and QMP connected, QMP negotiated, first reply): median ${
      median(starts).toFixed(1)
    } ms of 5 (${starts.map((x) => x.toFixed(0)).join(", ")})`,
  );
  console.log(`qtest round trip (readl of RAM): median ${median(rtts).toFixed(1)} µs of 5 × 2000`);

  const opens: number[] = [];
  const ups: number[] = [];
  let commands = 0;
  for (let i = 0; i < 5; i++) {
    let s: QemuBalloonSession | undefined;
    opens.push(time(() => s = openQemuBalloon({ qemu: q.path })));
    const session = s as QemuBalloonSession;
    commands = session.qemu.qtest.commands;
    ups.push(time(() => bringUp(session.transport)));
    session.close();
  }
  console.log(
    `open (start + PCI enumeration, BARs, capabilities; ${commands} qtest commands): median ${
      median(opens).toFixed(1)
    } ms; bring-up (reset to DRIVER_OK, 3 queues): median ${median(ups).toFixed(1)} ms`,
  );

  const s = openQemuBalloon({ qemu: q.path, memMiB: 1024 });
  try {
    const up = bringUp<number>(s.transport);
    const queue = up.queues[0] as QueueSetup<number>;
    const before = s.qemu.qtest.commands;
    const times = Array.from({ length: RUNS }, (_, i) => inflate256(s, queue, i));
    const per = (s.qemu.qtest.commands - before) / RUNS;
    console.log(
      `inflate of ${PAGES} PFNs end to end (write the array, add, notify, take the used buffer, read ISR): median ${
        median(times.map((t) => t.core)).toFixed(2)
      } ms of ${RUNS}; reading the ${
        PAGES * BALLOON_PAGE_SIZE / 1024
      } KiB back to check they are zeros: median ${
        median(times.map((t) => t.verify)).toFixed(1)
      } ms; ${per} qtest commands per inflate with the check and the untimed fill`,
    );
  } finally {
    s.close();
  }

  console.log(
    "\nQEMUs side by side, each driven by its own Deno process (20 inflates of 256 PFNs each, 1 GiB guests):\n",
  );
  console.log(
    "| QEMUs | failed | open + bring-up ms (median) | inflate ms (median) | slowest inflate ms | inflates/s, all together | RSS MiB per QEMU | wall ms |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const k of values.parallel.split(",").map(Number)) {
    console.log(await parallel(q.path, k, 20));
  }
}
