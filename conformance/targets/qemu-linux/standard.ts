/**
 * The qemu-linux target's guests of the standard profile, and what their
 * scenarios exist to show beyond the rules a trace decides:
 * - guest C (free-page-hint on an iothread, free-page-reporting): memory
 *   written and freed (reports), a live migration to nowhere during which
 *   QEMU issues command ids and Linux hints its free pages — `C/hints-free-pages`,
 *   `C/migration-completes`, `C/reports-free-pages`;
 * - guest D (Linux booted with `page_poison=1`): the guest negotiates
 *   PAGE_POISON and reports, and QEMU keeps the reported pages, since a
 *   discard would zero them (B65) — `D/poison-negotiated`, `D/reports-keep-poison`.
 *
 * @module
 */

import {
  BALLOON_PAGE_SIZE,
  type FeatureName,
  featureNames,
  hasFeature,
  queueLayout,
  type QueueName,
} from "../../../spec/mod.ts";
import type { ScenarioCheck } from "../../trace/check.ts";
import type { TraceEvent } from "../../trace/format.ts";
import { migrateToNull } from "./migrate.ts";
import { expect, expectBalloon, type GuestPlan, sleep } from "./plan.ts";

const MIB = 2 ** 20;

/** Guests C and D. */
export const STANDARD_PLANS: readonly GuestPlan[] = [
  {
    name: "C",
    title: "512 MiB guest, free-page-hint (iothread) and free-page-reporting on, a live migration",
    memMiB: 512,
    balloon: {
      "deflate-on-oom": "on",
      "free-page-reporting": "on",
      "free-page-hint": "on",
      iothread: "io0",
    },
    objects: ["iothread,id=io0"],
    steps: async (vm, out, log) => {
      log("C: inflate by 64 MiB and back (places reported blocks in guest memory)");
      await expectBalloon(vm, 448 * MIB, { timeoutMs: 60_000, what: "inflate to 448 MiB" });
      await expectBalloon(vm, 512 * MIB, { timeoutMs: 60_000, what: "deflate to 512 MiB" });
      log("C: dirty 300 MiB, free it, wait for free page reporting");
      await vm.command("dirty 300", 120_000);
      await vm.command("free", 60_000);
      await sleep(5000);
      log("C: migrate to exec:cat > /dev/null (free page hinting)");
      const m = await migrateToNull(vm, 120_000);
      expect(out, "C/migration-completes", {
        held: m.status === "completed" && m.resumed,
        detail: `migration ${m.status} in ${
          m.seconds.toFixed(1)
        } s (${m.syncs} dirty-bitmap syncs, ${
          (m.transferred / MIB).toFixed(1)
        } MiB sent: ${m.normalPages} pages with contents, ${m.zeroPages} zero pages); the guest ${
          m.resumed ? "runs again" : "was not resumed"
        }`,
      });
      out.facts.push(
        `migration to nowhere: ${
          m.seconds.toFixed(1)
        } s, ${m.normalPages} pages sent, ${m.zeroPages} zero pages`,
      );
      await sleep(3000);
    },
  },
  {
    name: "D",
    title: "512 MiB guest booted with page_poison=1, free-page-reporting on",
    memMiB: 512,
    balloon: { "free-page-reporting": "on", "page-poison": "on" },
    kernelArgs: ["page_poison=1"],
    steps: async (vm, _out, log) => {
      log("D: dirty 300 MiB, free it, wait for free page reporting");
      await vm.command("dirty 300", 120_000);
      await vm.command("free", 60_000);
      await sleep(5000);
    },
  },
];

/** The hint and report chains of a trace, counted as its events go by. */
export interface StandardCounter {
  /** Counts one event. */
  add(e: TraceEvent): void;
  /** Hinted blocks (free_page_vq chains with device-writable parts). */
  readonly hints: number;
  /** Command-id buffers (free_page_vq chains with device-readable parts). */
  readonly hintIds: number;
  /** Reports (reporting_vq chains). */
  readonly reportChains: number;
  /** 4 KiB pages QEMU discarded while it handled a report (placed in guest memory or not). */
  readonly reportDiscards: number;
}

/** A counter of a trace's hint and report chains, on the queues the negotiated features give (S-11). */
export function standardCounter(features: TraceEvent | undefined): StandardCounter {
  const index = new Map<QueueName, number>();
  if (features?.type === "features" && features.negotiated !== undefined) {
    const names = new Set(featureNames("virtio-1.x", BigInt(features.negotiated)));
    for (const q of queueLayout("virtio-1.x", names)) index.set(q.name, q.index);
  }
  const c = { hints: 0, hintIds: 0, reportChains: 0, reportDiscards: 0 };
  let inReport = false;
  return {
    add(e) {
      if (e.type === "discard" && inReport) c.reportDiscards += e.length / BALLOON_PAGE_SIZE;
      if (e.type === "used" && e.queue === index.get("reporting_vq")) inReport = false;
      if (e.type !== "chain") return;
      inReport = e.queue === index.get("reporting_vq");
      if (e.queue === index.get("free_page_vq")) {
        if (e.writable > 0) c.hints++;
        if (e.readable > 0) c.hintIds++;
      }
      if (inReport) c.reportChains++;
    },
    get hints() {
      return c.hints;
    },
    get hintIds() {
      return c.hintIds;
    },
    get reportChains() {
      return c.reportChains;
    },
    get reportDiscards() {
      return c.reportDiscards;
    },
  };
}

function negotiates(f: TraceEvent | undefined, name: FeatureName): boolean {
  return f?.type === "features" && f.negotiated !== undefined &&
    hasFeature("virtio-1.x", BigInt(f.negotiated), name);
}

/** The scenario checks of hinting and poison, from a guest's imported trace. */
export function standardChecks(
  plan: GuestPlan,
  trace: {
    readonly features: TraceEvent | undefined;
    readonly seen: StandardCounter;
  },
): ScenarioCheck[] {
  const out = { facts: [] as string[], checks: [] as ScenarioCheck[] };
  const { seen } = trace;
  const discarded = seen.reportDiscards;
  if (plan.balloon["free-page-hint"] === "on") {
    expect(out, `${plan.name}/hints-free-pages`, {
      held: seen.hints > 0 && seen.hintIds >= 2,
      detail:
        `${seen.hintIds} command-id buffers and ${seen.hints} hinted blocks on free_page_vq during the migration`,
    });
  }
  if (plan.kernelArgs?.includes("page_poison=1")) {
    const poisoned = negotiates(trace.features, "PAGE_POISON");
    expect(out, `${plan.name}/poison-negotiated`, {
      held: poisoned,
      detail: `Linux booted with page_poison=1 ${
        poisoned ? "negotiated" : "did not negotiate"
      } PAGE_POISON (x-query-virtio-status)`,
    });
    // QEMU keeps reported pages when poison_val is not 0: a discard would zero them (B65)
    expect(out, `${plan.name}/reports-keep-poison`, {
      held: seen.reportChains > 0 && discarded === 0,
      detail:
        `${seen.reportChains} reports with PAGE_POISON negotiated; QEMU discarded ${discarded} reported pages (it may discard none: a discard would change the poisoned pages to zeros)`,
    });
  }
  return out.checks;
}
