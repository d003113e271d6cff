/**
 * The host side of QEMU's balloon, through QMP: the target (`balloon`), the
 * host's view (`query-balloon`), stats polling and the latest stats
 * (`qom-get`/`qom-set` of `guest-stats-polling-interval` and `guest-stats`),
 * and the `BALLOON_CHANGE` events.
 *
 * QEMU's `balloon` takes the guest RAM the host wants left, in bytes:
 * `num_pages` becomes `(RAM - value) / 4096`; `query-balloon` answers
 * `RAM - actual * 4096`.
 *
 * @module
 */

import { BALLOON_PAGE_SIZE, enumValue } from "../../../spec/mod.ts";
import { TargetError } from "../bridge/target_error.ts";
import type { QmpEvent, SyncQmp } from "../qemu/qmp_sync.ts";
import type { QtestQemu } from "./qemu_qtest.ts";

/**
 * The names QEMU gives the statistics in `guest-stats` (its
 * `balloon_stat_names`), by the spec's tag name; the tag numbers come from
 * the spec tables.
 */
export const QEMU_STAT_NAMES: Readonly<Record<string, string>> = {
  VIRTIO_BALLOON_S_SWAP_IN: "stat-swap-in",
  VIRTIO_BALLOON_S_SWAP_OUT: "stat-swap-out",
  VIRTIO_BALLOON_S_MAJFLT: "stat-major-faults",
  VIRTIO_BALLOON_S_MINFLT: "stat-minor-faults",
  VIRTIO_BALLOON_S_MEMFREE: "stat-free-memory",
  VIRTIO_BALLOON_S_MEMTOT: "stat-total-memory",
  VIRTIO_BALLOON_S_AVAIL: "stat-available-memory",
  VIRTIO_BALLOON_S_CACHES: "stat-disk-caches",
  VIRTIO_BALLOON_S_HTLB_PGALLOC: "stat-htlb-pgalloc",
  VIRTIO_BALLOON_S_HTLB_PGFAIL: "stat-htlb-pgfail",
};

/**
 * QEMU marks a statistic the last buffer did not carry with all 64 bits set;
 * QMP prints it as 18446744073709551615, which a JSON number rounds to 2^64.
 */
const UNSET_FROM = 2 ** 64 - 2 ** 12;

/** One statistic as the host kept it. */
export interface HostStat {
  /** Tag (from the spec tables). */
  readonly tag: number;
  /** Value. */
  readonly val: bigint;
}

/** QMP controls of one QEMU balloon. */
export class QemuBalloonHost {
  #qmp: SyncQmp;
  #path: string;
  #ram: number;

  /** The balloon of `qemu` (its device QOM path and RAM size). */
  constructor(qemu: QtestQemu) {
    this.#qmp = qemu.qmp;
    this.#path = qemu.devicePath;
    this.#ram = qemu.ramBytes;
  }

  /** Asks for `pages` 4 KiB pages in the balloon (QMP `balloon` with RAM - pages * 4096). */
  setTargetPages(pages: number): void {
    const most = this.#ram / BALLOON_PAGE_SIZE;
    if (!Number.isSafeInteger(pages) || pages < 0 || pages >= most) {
      throw new RangeError(
        `Invalid balloon target: ${pages} pages, expected 0 to ${
          most - 1
        } (QEMU keeps at least one page)`,
      );
    }
    this.#qmp.execute("balloon", { value: this.#ram - pages * BALLOON_PAGE_SIZE });
  }

  /** QMP `query-balloon`: the guest RAM the host counts (RAM - actual * 4096), in bytes. */
  queryBalloon(): number {
    const r = this.#qmp.execute("query-balloon") as { actual?: unknown };
    if (typeof r?.actual !== "number") {
      throw new TypeError(
        `query-balloon returned ${JSON.stringify(r)}, expected { actual: number }`,
      );
    }
    return r.actual;
  }

  /** Pages the host believes are in the balloon, from `query-balloon`. */
  actualPages(): number {
    return (this.#ram - this.queryBalloon()) / BALLOON_PAGE_SIZE;
  }

  /** Sets `guest-stats-polling-interval` (seconds; 0 stops polling). */
  setStatsPollingInterval(seconds: number): void {
    if (!Number.isSafeInteger(seconds) || seconds < 0) {
      throw new RangeError(
        `Invalid stats polling interval: ${seconds}, expected whole seconds, 0 or more`,
      );
    }
    this.#qmp.execute("qom-set", {
      path: this.#path,
      property: "guest-stats-polling-interval",
      value: seconds,
    });
  }

  /** `guest-stats`: the latest stats QEMU holds (`stats` by name, `last-update`). */
  guestStats(): { stats: Record<string, number>; "last-update": number } {
    return this.#qmp.execute("qom-get", { path: this.#path, property: "guest-stats" }) as {
      stats: Record<string, number>;
      "last-update": number;
    };
  }

  /**
   * The statistics QEMU kept from the last stats buffer it read (tags it
   * does not know dropped, as QEMU drops them), or undefined before the
   * first buffer (QEMU then refuses `guest-stats`). A value above 2^53
   * loses precision in QMP's JSON: it is reported as a RangeError, never
   * rounded.
   */
  lastStats(): HostStat[] | undefined {
    let r: { stats: Record<string, number>; "last-update": number };
    try {
      r = this.guestStats();
    } catch (e) {
      if (e instanceof TargetError && e.kind === "refused") return undefined;
      throw e;
    }
    if (r["last-update"] === 0) return undefined;
    const out: HostStat[] = [];
    for (const [tagName, qemuName] of Object.entries(QEMU_STAT_NAMES)) {
      const v = r.stats[qemuName];
      if (typeof v !== "number" || v >= UNSET_FROM) continue;
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new RangeError(
          `Invalid statistic ${qemuName} from QEMU: ${v}, expected an integer from 0 to 2^53 - 1 (QMP's JSON cannot carry more exactly)`,
        );
      }
      out.push({ tag: enumValue("stats_tag", tagName), val: BigInt(v) });
    }
    return out.sort((a, b) => a.tag - b.tag);
  }

  /** QMP events received so far and not yet taken. */
  takeEvents(): QmpEvent[] {
    return this.#qmp.takeEvents();
  }

  /** Waits for a `BALLOON_CHANGE` event with `actual` (bytes) = `actualBytes`, if given. */
  waitBalloonChange(
    options: { actualBytes?: number; timeoutMs?: number } = {},
  ): QmpEvent | undefined {
    return this.#qmp.waitEvent("BALLOON_CHANGE", {
      ...(options.actualBytes === undefined ? {} : { data: { actual: options.actualBytes } }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }
}
