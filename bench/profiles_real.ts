/**
 * The real half of the profile comparison: a 7 GiB inflate of an 8 GiB
 * guest on Debian's QEMU and Linux under TCG, with QEMU logging only the
 * events that count requests, notifications and discards (a per-page event
 * for 1.8 million pages would make the log larger than the point).
 *
 * @module
 */

import { defaultCacheDir, ensureGuestAssets } from "../conformance/targets/qemu-linux/assets.ts";
import { ensureQemu } from "../conformance/targets/qemu/setup.ts";
import { Vm } from "../conformance/targets/qemu-linux/vm.ts";
import { readLines } from "../conformance/trace/lines.ts";

const MIB = 2 ** 20;

/** What the real inflate measured. */
export interface RealInflate {
  /** Versions. */
  readonly versions: { readonly qemu: string; readonly kernel: string };
  /** Guest RAM in MiB. */
  readonly memMiB: number;
  /** Guest-visible RAM asked for, in MiB. */
  readonly targetMiB: number;
  /** Wall time from the balloon command to the target reached, in ms. */
  readonly ms: number;
  /** Inflate requests (buffers popped from the inflate queue). */
  readonly requests: number;
  /** Their device-readable descriptors. */
  readonly descriptors: number;
  /** Notifications of the inflate queue. */
  readonly notifications: number;
  /** 4 KiB pages QEMU discarded. */
  readonly pages: number;
  /** Discard calls. */
  readonly discardCalls: number;
  /** QEMU's resident memory before and after, MiB. */
  readonly rssBeforeMiB: number;
  /** After. */
  readonly rssAfterMiB: number;
}

/** Boots an 8 GiB guest, inflates it to 1 GiB visible, and counts what QEMU logged. */
export async function measureRealInflate(
  options: { readonly cacheDir?: string; readonly log: (s: string) => void },
): Promise<RealInflate> {
  const memMiB = 8192;
  const targetMiB = 1024;
  const qemu = await ensureQemu(options.log);
  const guest = await ensureGuestAssets(options.cacheDir ?? defaultCacheDir(), options.log);
  const dir = await Deno.makeTempDir({ prefix: "bench-profiles-" });
  const vm = await Vm.start({ qemu: qemu.path, qemuVersion: qemu.version, ...guest }, {
    memMiB,
    balloon: {},
    dir,
    traceEvents: ["virtio_queue_notify", "virtqueue_pop", "ram_block_discard_range"],
    bootTimeoutMs: 300_000,
  });
  let ms = 0;
  let rssBeforeMiB = 0;
  let rssAfterMiB = 0;
  try {
    rssBeforeMiB = (await vm.rssKiB()) / 1024;
    const t0 = Date.now();
    await vm.balloon(targetMiB * MIB);
    const got = await vm.waitBalloon(targetMiB * MIB, 1_800_000);
    ms = Date.now() - t0;
    if (got !== targetMiB * MIB) {
      throw new Error(`the balloon stopped at ${got / MIB} MiB visible, expected ${targetMiB} MiB`);
    }
    rssAfterMiB = (await vm.rssKiB()) / 1024;
  } finally {
    await vm.stop();
  }
  let inflateVq: string | undefined;
  let requests = 0;
  let descriptors = 0;
  let notifications = 0;
  let pages = 0;
  let discardCalls = 0;
  const notify = /virtio_queue_notify vdev \S+ n (\d+) vq (\S+)/;
  const pop = /virtqueue_pop vq (\S+) elem \S+ in_num (\d+) out_num (\d+)/;
  const discard = /ram_block_discard_range \S+ \+ 0x([0-9a-f]+):/;
  await readLines(vm.files.trace, (text) => {
    const n = notify.exec(text);
    if (n !== null) {
      if (n[1] === "0") {
        inflateVq = n[2];
        notifications++;
      }
      return;
    }
    const p = pop.exec(text);
    if (p !== null) {
      if (p[1] === inflateVq) {
        requests++;
        descriptors += Number(p[3]);
      }
      return;
    }
    const d = discard.exec(text);
    if (d !== null) {
      discardCalls++;
      pages += parseInt(d[1] as string, 16) / 4096;
    }
  });
  await Deno.remove(dir, { recursive: true });
  return {
    versions: { qemu: qemu.version, kernel: guest.kernelVersion },
    memMiB,
    targetMiB,
    ms,
    requests,
    descriptors,
    notifications,
    pages,
    discardCalls,
    rssBeforeMiB,
    rssAfterMiB,
  };
}
