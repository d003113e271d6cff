/**
 * The driver's interrupt handlers and works. Interrupts only wake waiters
 * and queue works; each work (update, stats, misc) runs as one task at a
 * time and runs again if queued while it was running, as a kernel work item
 * does.
 *
 * @module
 */

import type { TaskBody } from "../scheduler.ts";
import type { InterruptHandlers } from "../transport.ts";
import { updateBalloonSize } from "./balloon.ts";
import type { DriverCore, WorkKind } from "./core.ts";
import { hintConfigChanged, hintWork } from "./hints.ts";
import { miscWork } from "./misc.ts";
import { reportingWork } from "./reporting.ts";
import { statsWork } from "./stats.ts";

/** The interrupt handlers the driver registers with the transport. */
export function interruptHandlers(vb: DriverCore): InterruptHandlers {
  return {
    used: (index) => usedInterrupt(vb, index),
    config: () => configInterrupt(vb),
  };
}

/** Used-buffer interrupt: wake the queue's waiter, or queue the stats or misc work. */
function usedInterrupt(vb: DriverCore, index: number): void {
  const q = vb.queues.get(index);
  if (q === undefined) return;
  if (q.name === "statsq") {
    queueWork(vb, "stats", { index });
  } else if (q.name === "miscq") {
    q.acked.wakeAll();
    queueWork(vb, "misc", { index, irq: vb.seams.miscContext() === "interrupt" });
  } else {
    q.acked.wakeAll();
  }
}

/** Config-change interrupt: queue the update work (and, with FREE_PAGE_HINT, the hint work) unless the driver is going away. */
function configInterrupt(vb: DriverCore): void {
  if (vb.stopUpdate) return;
  if (vb.has("FREE_PAGE_HINT")) hintConfigChanged(vb);
  queueWork(vb, "update");
}

/**
 * queue_work: starts the work as a task (`driver:<kind>`), or marks a running
 * one to run again. `index` is the queue of a stats or misc work; `irq` runs
 * it in interrupt context, where it must not block.
 */
export function queueWork(
  vb: DriverCore,
  kind: WorkKind,
  options: { readonly index?: number; readonly irq?: boolean } = {},
): void {
  const state = vb.works.get(kind);
  if (state === "queued" || state === "rerun") return;
  if (state === "running") {
    vb.works.set(kind, "rerun");
    return;
  }
  vb.works.set(kind, "queued");
  const task = workTask(vb, kind, options.index ?? -1);
  if (options.irq) vb.guest.sched.irqTask(`driver:${kind}`, task);
  else vb.guest.sched.spawn(`driver:${kind}`, task);
}

/** The task of a work: runs it until nobody queued it again while it ran. */
function* workTask(vb: DriverCore, kind: WorkKind, index: number): TaskBody<void> {
  do {
    vb.works.set(kind, "running");
    yield* runWork(vb, kind, index);
  } while (vb.works.get(kind) === "rerun");
  vb.works.delete(kind);
}

function runWork(vb: DriverCore, kind: WorkKind, index: number): TaskBody<void> {
  switch (kind) {
    case "update":
      return updateBalloonSize(vb);
    case "stats":
      return statsWork(vb, index);
    case "misc":
      return miscWork(vb, index);
    case "hint":
      return hintWork(vb);
    case "report":
      return reportingWork(vb);
  }
}
