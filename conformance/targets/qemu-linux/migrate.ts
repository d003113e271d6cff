/**
 * A live migration of a guest to nowhere (`exec:cat > /dev/null`), from QMP:
 * with `free-page-hint` on, QEMU issues free-page-hint command ids around
 * each dirty-bitmap sync, the guest hints its free pages, and QEMU sets
 * DONE when the migration ends. The guest is resumed afterwards (`cont`), so
 * that it can take the hinted pages back.
 *
 * @module
 */

import type { Vm } from "./vm.ts";

/** What a migration did, from QMP `query-migrate`. */
export interface MigrationOutcome {
  /** The final status (`completed`, `failed`, `cancelled`). */
  readonly status: string;
  /** Seconds from the migrate command to the final status. */
  readonly seconds: number;
  /** Bytes transferred. */
  readonly transferred: number;
  /** Pages sent with their contents ("normal"). */
  readonly normalPages: number;
  /** Pages sent as zero pages ("duplicate"). */
  readonly zeroPages: number;
  /** Dirty-bitmap syncs (each can start a hint round). */
  readonly syncs: number;
  /** Whether the guest runs again after it. */
  readonly resumed: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Migrates the guest to `exec:cat > /dev/null`, waits for the end (bounded), then resumes it. */
export async function migrateToNull(vm: Vm, timeoutMs: number): Promise<MigrationOutcome> {
  const t0 = Date.now();
  await vm.qmp.execute("migrate", { uri: "exec:cat > /dev/null" });
  type Q = { status?: string; ram?: Record<string, number> };
  let q: Q = {};
  for (;;) {
    q = await vm.qmp.execute("query-migrate") as Q;
    if (q.status !== "active" && q.status !== "setup" && q.status !== undefined) break;
    if (Date.now() - t0 > timeoutMs) {
      await vm.qmp.execute("migrate_cancel").catch(() => {});
      throw new Error(`The migration did not end within ${timeoutMs} ms (status ${q.status})`);
    }
    await sleep(100);
  }
  const seconds = (Date.now() - t0) / 1000;
  const resumed = await vm.qmp.execute("cont").then(() => true, () => false);
  return {
    status: q.status ?? "unknown",
    seconds,
    transferred: q.ram?.["transferred"] ?? 0,
    normalPages: q.ram?.["normal"] ?? 0,
    zeroPages: q.ram?.["duplicate"] ?? 0,
    syncs: q.ram?.["dirty-sync-count"] ?? 0,
    resumed,
  };
}
