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

import { BALLOON_PAGE_SIZE } from "../../../spec/mod.ts";
import type { QmpEvent, SyncQmp } from "../qemu/qmp_sync.ts";
import type { QtestQemu } from "./qemu_qtest.ts";

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
