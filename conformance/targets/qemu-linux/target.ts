/**
 * The `qemu-linux` target: Debian's QEMU and Linux, booted for real under
 * TCG, driven through QMP and the guest's command channel, and checked from
 * what QEMU's trace log records.
 *
 * Four guests run one after the other:
 * - guest A (1 GiB, deflate-on-oom and free-page-reporting on): stats
 *   polling; inflate to half of RAM and back; a guest that dirties 600 MiB,
 *   frees it, then is inflated to half (the host's resident memory must
 *   drop); a target that leaves too little memory for what the guest then
 *   writes, so that it deflates on its own;
 * - guest B (512 MiB, both off): inflate to half and back, and the same
 *   memory pressure, under which the guest must not deflate;
 * - guest C (512 MiB, free-page-hint on an iothread, free-page-reporting):
 *   memory written and freed (reports), then a live migration to nowhere
 *   (`exec:cat > /dev/null`), during which QEMU issues free-page-hint
 *   command ids and Linux hints its free pages;
 * - guest D (512 MiB, Linux booted with `page_poison=1`, free-page-reporting):
 *   the guest poisons its free pages, negotiates PAGE_POISON and reports;
 *   QEMU must then keep the reported pages (a discard would zero them).
 *
 * @module
 */

import {
  BALLOON_PAGE_SIZE,
  featureMask,
  type FeatureName,
  featuresOf,
  type ProfileId,
} from "../../../spec/mod.ts";
import type { ScenarioCheck, TraceRuleResult } from "../../trace/check.ts";
import type { TraceEvent } from "../../trace/format.ts";
import { problemText } from "../../trace/problems.ts";
import { qemuHeader, QemuImportError } from "../../trace/qemu_log.ts";
import { checkQemuLog, TraceWriter } from "../../trace/stream.ts";

import { ensureGuestAssets, type GuestAssets } from "./assets.ts";
import { ensureQemu } from "../qemu/setup.ts";
import { Vm } from "./vm.ts";
import { expect, expectBalloon, type GuestPlan } from "./plan.ts";
import { STANDARD_PLANS, standardChecks, standardCounter } from "./standard.ts";

const MIB = 2 ** 20;
/**
 * The least drop of QEMU's resident memory after the guest freed 600 MiB and
 * was inflated by 512 MiB: half of the inflate (QEMU discards each inflated
 * page; the rest of the slack is for pages the guest kept).
 */
const RSS_DROP_MIB = 256;

/** What one guest run measured. */
export interface GuestRun {
  /** Name (A or B). */
  readonly name: string;
  /** What it exercised. */
  readonly title: string;
  /** Balloon device properties. */
  readonly balloon: Readonly<Record<string, string>>;
  /** Kernel parameters beyond the defaults. */
  readonly kernelArgs?: readonly string[];
  /** Per-rule verdicts from its trace. */
  readonly results: readonly TraceRuleResult[];
  /** Measurements, in words. */
  readonly facts: readonly string[];
  /** What the scenarios exist to show (host memory drops, the guest deflates on its own, …). */
  readonly checks: readonly ScenarioCheck[];
  /** Problems found while importing the trace (they make verdicts unreliable). */
  readonly importProblems: readonly string[];
  /** What the trace cannot show, in words. */
  readonly notes: readonly string[];
  /** Why nothing in its log could be judged, when nothing could. */
  readonly empty?: string;
  /** An error that stopped the run (boot failure, timeout), with the console log. */
  readonly error?: string;
  /** Seconds the guest ran. */
  readonly seconds: number;
  /** Where its trace (suite format, gzipped) was written. */
  readonly tracePath?: string;
}

/** The whole qemu-linux run. */
export interface QemuLinuxRun {
  /** Versions tested. */
  readonly versions: Readonly<Record<string, string>>;
  /** The guests. */
  readonly guests: readonly GuestRun[];
  /** Verdicts merged over the guests: fail if any fails, then error, then pass, else not observable. */
  readonly results: readonly TraceRuleResult[];
  /** Seconds for everything, setup included. */
  readonly seconds: number;
  /** Setup error (QEMU or the guest could not be obtained). */
  readonly error?: string;
}

/** Options of {@link runQemuLinux}. */
export interface QemuLinuxOptions {
  /** Cache for the Debian packages and the initramfs. */
  readonly cacheDir: string;
  /** Where console logs and traces go. */
  readonly outDir: string;
  /** Progress messages. */
  readonly log: (s: string) => void;
}

const QEMU_NAMES: Readonly<Record<string, FeatureName>> = {
  VIRTIO_BALLOON_F_MUST_TELL_HOST: "MUST_TELL_HOST",
  VIRTIO_BALLOON_F_STATS_VQ: "STATS_VQ",
  VIRTIO_BALLOON_F_DEFLATE_ON_OOM: "DEFLATE_ON_OOM",
  VIRTIO_BALLOON_F_FREE_PAGE_HINT: "FREE_PAGE_HINT",
  VIRTIO_BALLOON_F_PAGE_POISON: "PAGE_POISON",
  VIRTIO_BALLOON_F_REPORTING: "PAGE_REPORTING",
  VIRTIO_RING_F_EVENT_IDX: "EVENT_IDX",
  VIRTIO_RING_F_INDIRECT_DESC: "INDIRECT_DESC",
  VIRTIO_F_VERSION_1: "VERSION_1",
  VIRTIO_F_ANY_LAYOUT: "ANY_LAYOUT",
  VIRTIO_F_NOTIFY_ON_EMPTY: "NOTIFY_ON_EMPTY",
  VIRTIO_F_IOMMU_PLATFORM: "ACCESS_PLATFORM",
  VIRTIO_F_ACCESS_PLATFORM: "ACCESS_PLATFORM",
  VIRTIO_F_RING_PACKED: "RING_PACKED",
  VIRTIO_F_RING_RESET: "RING_RESET",
};

/** Turns x-query-virtio-status feature lists into a mask under a profile; names it cannot place go to `unknown`. */
function maskOf(
  profile: ProfileId,
  f: { "dev-features"?: string[]; transports?: string[]; "unknown-dev-features"?: number },
  unknown: Set<string>,
): bigint {
  const names: FeatureName[] = [];
  for (const s of [...(f["dev-features"] ?? []), ...(f.transports ?? [])]) {
    const q = s.split(":")[0] ?? "";
    const n = QEMU_NAMES[q];
    if (n !== undefined && featuresOf(profile).some((x) => x.name === n)) names.push(n);
    else unknown.add(q);
  }
  return featureMask(profile, names) | BigInt(f["unknown-dev-features"] ?? 0);
}

/**
 * The features QEMU offered and the guest accepted (QMP x-query-virtio-status),
 * as a trace event, and what could not be read (reported as import problems).
 */
export async function featuresEvent(
  vm: Vm,
): Promise<{ event?: TraceEvent; problems: string[] }> {
  type Status = {
    "guest-features"?: Record<string, unknown>;
    "host-features"?: Record<string, unknown>;
  };
  let s: Status;
  try {
    s = await vm.qmp.execute("x-query-virtio-status", {
      path: "/machine/peripheral/balloon0/virtio-backend",
    }) as Status;
  } catch (e) {
    return {
      problems: [
        `features unknown (${
          (e as Error).message
        }): G08, G60a, G62a and B26 are not observable, queue roles are guessed`,
      ],
    };
  }
  const unknown = new Set<string>();
  const event: TraceEvent = {
    type: "features",
    t: Date.now() / 1000,
    offered: "0x" + maskOf("virtio-1.x", s["host-features"] ?? {}, unknown).toString(16),
    negotiated: "0x" + maskOf("virtio-1.x", s["guest-features"] ?? {}, unknown).toString(16),
  };
  return {
    event,
    problems: unknown.size === 0 ? [] : [
      `QEMU reported features the tables do not place, left out of the masks: ${
        [...unknown].join(", ")
      }`,
    ],
  };
}

const PLANS: readonly GuestPlan[] = [
  {
    name: "A",
    title: "1 GiB guest, deflate-on-oom and free-page-reporting on",
    memMiB: 1024,
    balloon: { "deflate-on-oom": "on", "free-page-reporting": "on" },
    steps: async (vm, out, log) => {
      const facts = out.facts;
      log("A: stats polling");
      await vm.qmp.execute("qom-set", {
        path: "/machine/peripheral/balloon0",
        property: "guest-stats-polling-interval",
        value: 1,
      });
      await new Promise((r) => setTimeout(r, 3500));
      const stats = await vm.qmp.execute("qom-get", {
        path: "/machine/peripheral/balloon0",
        property: "guest-stats",
      }) as {
        stats?: Record<string, number>;
        "last-update"?: number;
      };
      const known = Object.entries(stats.stats ?? {}).filter(([, v]) => v !== -1).length;
      expect(out, "A/stats-polling", {
        held: known > 0 && (stats["last-update"] ?? 0) > 0,
        detail: `${known} statistics reported after 3.5 s of polling every second, last update ${
          stats["last-update"] ?? "never"
        }`,
      });
      log("A: inflate to half of RAM and back");
      let t = Date.now();
      await expectBalloon(vm, 512 * MIB, { timeoutMs: 60_000, what: "inflate to 512 MiB" });
      facts.push(`inflate 1024 → 512 MiB: ${((Date.now() - t) / 1000).toFixed(1)} s`);
      t = Date.now();
      await expectBalloon(vm, 1024 * MIB, { timeoutMs: 60_000, what: "deflate to 1024 MiB" });
      facts.push(`deflate back to 1024 MiB: ${((Date.now() - t) / 1000).toFixed(1)} s`);
      log("A: dirty 600 MiB, free it, inflate to half");
      await vm.command("dirty 600", 120_000);
      const dirty = await vm.rssKiB();
      await vm.command("free", 60_000);
      await expectBalloon(vm, 512 * MIB, { timeoutMs: 60_000, what: "inflate after dirtying" });
      const after = await vm.rssKiB();
      expect(out, "A/host-rss-drops", {
        held: after <= dirty - RSS_DROP_MIB * 1024,
        detail: `QEMU's VmRSS ${Math.round(dirty / 1024)} MiB after the guest dirtied 600 MiB, ${
          Math.round(after / 1024)
        } MiB after it freed them and was inflated to 512 MiB (expected a drop of at least ${RSS_DROP_MIB} MiB)`,
      });
      await expectBalloon(vm, 1024 * MIB, { timeoutMs: 60_000, what: "deflate after dirtying" });
      log("A: memory pressure with deflate-on-oom");
      await expectBalloon(vm, 384 * MIB, { timeoutMs: 60_000, what: "inflate to 384 MiB" });
      await vm.command("dirty 500", 180_000);
      const visible = await vm.queryBalloon();
      expect(out, "A/deflates-on-oom", {
        held: visible > 384 * MIB,
        detail: `target 384 MiB, the guest wrote 500 MiB; guest-visible RAM then ${
          visible / MIB
        } MiB (deflated on its own: ${(visible - 384 * MIB) / MIB} MiB)`,
      });
    },
  },
  {
    name: "B",
    title: "512 MiB guest, deflate-on-oom and free-page-reporting off",
    memMiB: 512,
    balloon: { "deflate-on-oom": "off", "free-page-reporting": "off" },
    steps: async (vm, out, log) => {
      log("B: inflate to half of RAM and back");
      await expectBalloon(vm, 256 * MIB, { timeoutMs: 60_000, what: "inflate to 256 MiB" });
      await expectBalloon(vm, 512 * MIB, { timeoutMs: 60_000, what: "deflate to 512 MiB" });
      log("B: memory pressure without deflate-on-oom");
      await expectBalloon(vm, 256 * MIB, { timeoutMs: 60_000, what: "inflate to 256 MiB" });
      // Without DEFLATE_ON_OOM the kernel's OOM killer, not the balloon, answers an
      // out-of-memory guest, and tmpfs pages cannot be reclaimed: it would end in a
      // panic. So the guest fills what it has left but 24 MiB, under which it must
      // reclaim its caches and not touch the balloon.
      const avail = availableMiB(await vm.command("meminfo", 30_000));
      const fill = Math.max(1, avail - 24);
      await vm.command(`dirty ${fill}`, 180_000);
      const visible = await vm.queryBalloon();
      expect(out, "B/balloon-holds", {
        held: visible === 256 * MIB,
        detail:
          `target 256 MiB, ${avail} MiB available, the guest wrote ${fill} MiB; guest-visible RAM then ${
            visible / MIB
          } MiB`,
      });
      await vm.command("free", 60_000);
      await expectBalloon(vm, 512 * MIB, { timeoutMs: 60_000, what: "deflate to 512 MiB" });
    },
  },
  ...STANDARD_PLANS,
];

/** Reads MemAvailable (whole MiB) from the guest's `meminfo` answer. */
export function availableMiB(answer: string): number {
  const m = /MemAvailable:\s*(\d+) kB/.exec(answer);
  if (m === null) {
    throw new Error(`meminfo: no MemAvailable in the guest's answer ${JSON.stringify(answer)}`);
  }
  return Math.floor(Number(m[1]) / 1024);
}

/**
 * Merges per-guest verdicts: fail wins, then error (a guest's verdict is
 * unreliable), then pass, then not observable; the detail names each guest
 * that decided the rule.
 *
 * @example
 * ```ts
 * import { mergeResults } from "./target.ts";
 * import assert from "node:assert/strict";
 * const r = (verdict: "pass" | "fail" | "not-observable", detail: string) => [{ rule: "G02", verdict, detail, evidence: [] }];
 * const m = mergeResults([{ name: "A", results: r("pass", "3 writes") }, { name: "B", results: r("not-observable", "none") }]);
 * assert.deepEqual(m[0], { rule: "G02", verdict: "pass", detail: "A: 3 writes", evidence: [] });
 * ```
 */
export function mergeResults(
  lists: readonly { readonly name: string; readonly results: readonly TraceRuleResult[] }[],
): TraceRuleResult[] {
  const by = new Map<string, { name: string; r: TraceRuleResult }[]>();
  for (const l of lists) {
    for (const r of l.results) by.set(r.rule, [...(by.get(r.rule) ?? []), { name: l.name, r }]);
  }
  return [...by.values()].map((rs) => {
    const verdict = rs.some((x) => x.r.verdict === "fail")
      ? "fail"
      : rs.some((x) => x.r.verdict === "error")
      ? "error"
      : rs.some((x) => x.r.verdict === "pass")
      ? "pass"
      : "not-observable";
    const deciding = verdict === "not-observable" ? rs : rs.filter((x) => x.r.verdict === verdict);
    const first = (rs[0] as { r: TraceRuleResult }).r;
    const detail = verdict === "not-observable" && new Set(rs.map((x) => x.r.detail)).size === 1
      ? first.detail
      : deciding.map((x) => `${x.name}: ${x.r.detail}`).join("; ");
    const kept = deciding.flatMap((x) =>
      x.r.evidence.map((e, i) => [e, x.r.evidenceLines?.[i] ?? 0] as const)
    ).slice(0, 5);
    return {
      rule: first.rule,
      verdict,
      detail,
      evidence: kept.map(([e]) => e),
      ...(kept.length === 0 ? {} : { evidenceLines: kept.map(([, l]) => l) }),
    };
  });
}

/** Runs the target. */
export async function runQemuLinux(options: QemuLinuxOptions): Promise<QemuLinuxRun> {
  const t0 = Date.now();
  const log = options.log;
  let assets: GuestAssets;
  try {
    const q = await ensureQemu(log);
    const g = await ensureGuestAssets(options.cacheDir, log);
    assets = { qemu: q.path, qemuVersion: q.version, ...g };
  } catch (e) {
    return {
      versions: {},
      guests: [],
      results: [],
      seconds: (Date.now() - t0) / 1000,
      error: (e as Error).message,
    };
  }
  const versions = {
    qemu: assets.qemuVersion,
    kernel: assets.kernelVersion,
    busybox: assets.busyboxVersion,
  };
  await Deno.mkdir(options.outDir, { recursive: true });
  const guests: GuestRun[] = [];
  for (const plan of PLANS) {
    const g0 = Date.now();
    const dir = `${options.outDir}/qemu-${plan.name}`;
    const facts: string[] = [];
    const checks: ScenarioCheck[] = [];
    let error: string | undefined;
    let vm: Vm | undefined;
    let features: { event?: TraceEvent; problems: string[] } = { problems: [] };
    try {
      log(`${plan.name}: booting ${plan.title}`);
      vm = await Vm.start(assets, {
        memMiB: plan.memMiB,
        balloon: plan.balloon,
        dir,
        ...(plan.kernelArgs === undefined ? {} : { kernelArgs: plan.kernelArgs }),
        ...(plan.objects === undefined ? {} : { objects: plan.objects }),
      });
      facts.push(`booted in ${((Date.now() - g0) / 1000).toFixed(1)} s (QEMU pid ${vm.pid})`);
      await plan.steps(vm, { facts, checks }, log);
      features = await featuresEvent(vm);
    } catch (e) {
      error = (e as Error).message;
      log(`${plan.name}: ${error.split("\n")[0]}`);
      if (vm !== undefined && !error.includes("--- console")) {
        const console = await Deno.readTextFile(vm.files.console).catch(() => "");
        error += `\n--- console (last 30 lines) ---\n${console.split("\n").slice(-30).join("\n")}`;
      }
    } finally {
      await vm?.stop();
    }
    let results: readonly TraceRuleResult[] = [];
    let problems: string[] = [];
    let notes: readonly string[] = [];
    let empty: string | undefined;
    let tracePath: string | undefined;
    try {
      const guestPages = (plan.memMiB * MIB) / BALLOON_PAGE_SIZE;
      const options = {
        guestPages,
        versions,
        ...(features.event === undefined ? {} : { extra: [features.event] }),
      };
      tracePath = `${dir}/trace.jsonl.gz`;
      const writer = await TraceWriter.create(tracePath, qemuHeader(options));
      let reports = 0;
      let pages = 0;
      const seen = standardCounter(features.event);
      const check = await checkQemuLog(`${dir}/trace.log`, {
        ...options,
        onEvent: (e) => {
          writer.add(e);
          seen.add(e);
          if (e.type !== "report") return;
          reports++;
          pages += e.pages.reduce((m, r) => m + r[1], 0);
        },
        afterChunk: () => writer.flush(),
      }).finally(() => writer.close());
      problems = [...check.problems.map(problemText), ...features.problems];
      notes = check.notes;
      empty = check.empty;
      results = check.results;
      const detail = `${reports} free page reports (${
        pages * BALLOON_PAGE_SIZE / MIB
      } MiB) in the trace`;
      if (
        error === undefined && plan.kernelArgs === undefined &&
        plan.balloon["free-page-reporting"] === "on"
      ) {
        expect({ facts, checks }, `${plan.name}/reports-free-pages`, { held: reports > 0, detail });
      } else if (error === undefined && plan.balloon["free-page-reporting"] !== "on") {
        expect({ facts, checks }, `${plan.name}/no-reports-when-off`, {
          held: reports === 0,
          detail,
        });
      }
      if (error === undefined) {
        checks.push(
          ...standardChecks(plan, { features: features.event, seen }),
        );
      }
    } catch (e) {
      if (e instanceof QemuImportError) {
        empty = `the balloon device is not identified: ${e.message}`;
      } else error ??= `cannot read the trace: ${(e as Error).message}`;
    }
    guests.push({
      name: plan.name,
      title: plan.title,
      balloon: plan.balloon,
      ...(plan.kernelArgs === undefined ? {} : { kernelArgs: plan.kernelArgs }),
      results,
      facts,
      checks,
      importProblems: problems,
      notes,
      ...(empty === undefined ? {} : { empty }),
      ...(error === undefined ? {} : { error }),
      seconds: (Date.now() - g0) / 1000,
      ...(tracePath === undefined ? {} : { tracePath }),
    });
  }
  return {
    versions,
    guests,
    results: mergeResults(guests),
    seconds: (Date.now() - t0) / 1000,
  };
}
