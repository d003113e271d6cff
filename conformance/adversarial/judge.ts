/**
 * Judging a generated sequence: every step by the existing device checks
 * that apply to it (each finding cites the rule of the case that uses the
 * check), plus survival (the device raised no error, its process stayed up)
 * and liveness (it answered within the port's bounds; every chain it was
 * given was used), with DEVICE_NEEDS_RESET allowed only after a malformed
 * chain (S-03 / G06).
 *
 * A step is judged only when the run makes it meaningful: its queue and
 * chain format negotiated, FEATURES_OK kept, the observation the check rests
 * on offered by the port.
 *
 * @module
 */

import {
  checksFor,
  enumValues,
  type FeatureName,
  featureNames,
  fieldsOf,
  isLegal,
  type ProfileId,
  structSize,
} from "../../spec/mod.ts";
import { STATUS } from "../../impl/mod.ts";
import type { DeviceStep, Finding } from "../model/types.ts";
import type { DeviceRun, SendResult } from "../runners/device.ts";
import type { CheckInput, DeviceCheckDef } from "../checks/define.ts";
import { bad } from "../checks/define.ts";
import {
  applied,
  appliedBeforeUse,
  rejected,
  usedLenZero,
  writableNotRead,
} from "../checks/device/inflate_deflate.ts";
import {
  acceptsSubset,
  notBeforeDriverOk,
  offersAnyLayout,
  offersDependencies,
  offersVersion1,
} from "../checks/device/init_features.ts";
import { actualAfterMsb, actualTaken, configLe } from "../checks/device/config.ts";
import { dirtyLogFirst, miscRequest, repliesUsed } from "../checks/device/misc.ts";
import { statsAccepted, statsSpecTagsKept } from "../checks/device/stats.ts";
import { allApplied, notifiedWhenAsked, quietWhenSuppressed } from "../checks/device/rings.ts";
import { deviceStepNeeds } from "../scenarios/device.ts";
import { hintTaken } from "../checks/device/free_page_hint.ts";
import { reportTaken } from "../checks/device/page_reporting.ts";

/** A failing finding of a sequence, with the step it is about (1-based; 0: the whole run). */
export interface SequenceFinding extends Finding {
  /** The step the finding is about (1-based), or 0 for the run as a whole. */
  readonly step: number;
  /** The check that made it (`survival` and `liveness` for those judgements). */
  readonly check: string;
}

/** What the port showed beyond the run (read by the adversarial runner). */
export interface PortAfter {
  /** The device status read after the last step, if the device could still be read. */
  readonly status: number | undefined;
  /** Errors the device raised while it worked (settle), as opposed to the suite's own. */
  readonly deviceErrors: readonly string[];
  /** Why the run stopped early: the device's process failed or stopped answering. */
  readonly failure?: string;
}

function judge<P>(
  check: DeviceCheckDef<P>,
  run: DeviceRun,
  rules: readonly string[],
  params: P,
): Finding[] {
  const input: CheckInput<P> = { rule: rules[0] as string, rules, params };
  return check.judge(run, input);
}

/** A view of the run with only some of its sends (checks over "every send" judge just those). */
function withSends(run: DeviceRun, sends: readonly SendResult[]): DeviceRun {
  return { ...run, sends: new Map(sends.map((s) => [s.label, s])) };
}

/** Why a PFN-array or bitmap chain is malformed (the rule that says so), or undefined when well-formed. */
function malformedRule(
  step: Extract<DeviceStep, { do: "send" }>,
  guestPages: number,
): string | undefined {
  const c = step.chain;
  // hint and report chains (S-10): a command id buffer that is not 4 bytes, a report with a
  // device-readable part or a range that is not whole pages
  if (step.queue === "free_page_vq") {
    return "cmdId" in c && c.bytes !== undefined && c.bytes !== structSize("free_page_hint_cmd")
      ? "S-10"
      : undefined;
  }
  if (step.queue === "reporting_vq") {
    return !("none" in c) || (step.writable ?? []).length > 0 ? "S-10" : undefined;
  }
  if ((step.writable ?? []).length > 0) return "G31b";
  if ("pfns" in c) {
    if ((c.cut ?? 0) > 0) return "S-01";
    if (c.pfns.some((p) => p >= guestPages)) return "S-02";
    return undefined;
  }
  if ("bitmap" in c) {
    const m = c.bitmap;
    if ((m.cut ?? 0) > 0) return "R-16";
    if (m.runs.some(([s, n]) => s + n > guestPages)) return "S-02";
    for (const [name, v] of Object.entries(m.header ?? {})) {
      const f = fieldsOf("balloon_bmap_hdr").find((x) => x.name === name);
      if (f === undefined) return "R-16";
      const bad = checksFor(f, step.queue === "deflateq" ? "deflate" : "inflate").find((k) =>
        !isLegal(k.legal, BigInt(v))
      );
      // a driver rule broken in a field the device must check: R-16 says reject
      if (bad !== undefined) return "R-16";
      if (name === "bmap_len" || name === "start_pfn") return "R-16";
    }
    return undefined;
  }
  return undefined;
}

/**
 * Header fields the device is not asked to check: the table calls a nonzero
 * `cmd` or `req_id` on inflate/deflate illegal for the driver, and
 * R-16 (what the device checks) names the chain length, `bmap_len` and
 * `page_shift` only — the reference device takes such a header, and the
 * scripted cases test neither field. A device may apply or reject it.
 */
const LENIENT_FIELDS: readonly string[] = ["cmd", "req_id"];

/** Whether a header override is one the device may take or reject (no judgement either way). */
function lenient(step: Extract<DeviceStep, { do: "send" }>): boolean {
  const c = step.chain;
  return "bitmap" in c &&
    Object.keys(c.bitmap.header ?? {}).some((k) => LENIENT_FIELDS.includes(k));
}

/** Messages of the suite's own bookkeeping (not the device's doing). */
const SUITE_ERRORS =
  /is not set up|has no queue|has no free-page-hint control|has no unused-page request|out of guest memory|Cannot add a chain/;

/** Judges one run of a generated sequence. */
export function judgeSequence(run: DeviceRun, after: PortAfter): SequenceFinding[] {
  const out: SequenceFinding[] = [];
  const add = (step: number, check: string, fs: readonly Finding[]) => {
    for (const f of fs) if (!f.ok) out.push({ ...f, step, check });
  };
  const scenario = run.scenario;
  const profile = scenario.profile;
  const steps = scenario.steps;
  if (after.failure !== undefined) {
    add(0, "survival", [bad("S-03", `the device stopped: ${after.failure}`, {
      expected: "the device stays alive and answers within the port's bounds",
    })]);
    return out;
  }
  const negotiated = new Set<FeatureName>(featureNames(profile, run.negotiated));
  const has = (f: FeatureName) => negotiated.has(f);
  const obs = run.port.observations;
  const needsMet = (s: DeviceStep) => deviceStepNeeds(profile, s).every(has);
  // a malformed chain may put the device in DEVICE_NEEDS_RESET (G06, S-03): nothing after it is judged
  const needsReset = after.status !== undefined && (after.status & STATUS.DEVICE_NEEDS_RESET) !== 0;
  const malformedAt = steps.findIndex((s) =>
    s.do === "send" && needsMet(s) && malformedRule(s, scenario.guestPages) !== undefined
  );
  // an inflate or deflate in the format the driver did not negotiate is read in the other one: as
  // PFNs, a bitmap header names any page (the suite's own rings among them, which a device then
  // discards), so nothing from it on is judged, DEVICE_NEEDS_RESET included
  const negotiatedBitmap = has("PAGE_BITMAP");
  const garbledAt = !run.featuresOk
    ? -1
    : steps.findIndex((s) =>
      s.do === "send" && (s.queue === "inflateq" || s.queue === "deflateq") &&
      ("bitmap" in s.chain) !== negotiatedBitmap
    );
  const resetAllowed = malformedAt >= 0 || garbledAt >= 0;
  const lastJudged = Math.min(
    garbledAt >= 0 ? garbledAt - 1 : steps.length - 1,
    needsReset && malformedAt >= 0 ? malformedAt : steps.length - 1,
  );
  if (needsReset && !resetAllowed) {
    add(0, "survival", [
      bad(
        "G06",
        "the device set DEVICE_NEEDS_RESET, and every chain of the sequence was well-formed",
        {
          expected:
            "DEVICE_NEEDS_RESET only for an error state (here: only after a malformed chain, S-03)",
          actual: `status 0x${after.status?.toString(16)}`,
        },
      ),
    ]);
  }
  for (const e of after.deviceErrors) {
    if (resetAllowed && /DEVICE_NEEDS_RESET/.test(e)) continue;
    if (!SUITE_ERRORS.test(e)) {
      add(0, "survival", [bad("S-03", `the device raised an error: ${e}`)]);
    }
  }

  // what the device offers (each run reads the offer)
  if (run.offered !== 0n) {
    add(1, offersDependencies.id, judge(offersDependencies, run, ["G14"], {}));
    if (run.port.legacyOnly !== true) {
      add(1, offersVersion1.id, judge(offersVersion1, run, ["G62a"], {}));
    }
    if (run.legacy) add(1, offersAnyLayout.id, judge(offersAnyLayout, run, ["G64"], {}));
    if (!run.legacy) add(1, acceptsSubset.id, judge(acceptsSubset, run, ["G15a"], {}));
  }
  if (!run.featuresOk) return out;
  const bitmap = has("PAGE_BITMAP");
  const eventIdx = has("EVENT_IDX");
  let driverOk = false;
  const notAdded = new Set(
    run.errors.flatMap((e) => /^(s\d+): Cannot add a chain/.exec(e)?.[1] ?? []),
  );
  const lastDriverOk = steps.findLastIndex((s) => s.do === "driver-ok");
  const early: { step: number; s: SendResult }[] = [];
  const suppressed = new Map<string, boolean>();
  let batch: { step: number; s: SendResult }[] = [];
  let targets = 0;
  let writes = 0;
  let misc = false;
  for (const [i, step] of steps.entries()) {
    if (i > lastJudged) break;
    const n = i + 1;
    switch (step.do) {
      case "negotiate":
        driverOk = step.driverOk !== false;
        suppressed.clear();
        early.length = 0;
        break;
      case "driver-ok":
        if (!driverOk) {
          for (const e of early) {
            add(
              e.step,
              notBeforeDriverOk.id,
              judge(notBeforeDriverOk, run, ["G05"], { label: e.s.label }),
            );
          }
        }
        early.length = 0;
        driverOk = true;
        break;
      case "suppress":
        suppressed.set(step.queue, step.on);
        break;
      case "send": {
        const s = run.sends.get(step.label);
        // a chain the suite could not make available (the ring was full) was never the device's
        if (s === undefined || !needsMet(step) || notAdded.has(step.label)) break;
        if (step.queue === "free_page_vq" || step.queue === "reporting_vq") {
          if (!driverOk || i < lastDriverOk || !obs.has("host-view")) break;
          if (malformedRule(step, scenario.guestPages) !== undefined) break; // survival only
          const prev = steps[i - 1];
          const prev2 = steps[i - 2];
          // the pages of a round this sequence opened: hint-start, the current id, then these
          const round = step.queue === "free_page_vq" && "none" in step.chain &&
            prev?.do === "send" && "cmdId" in prev.chain && prev.chain.cmdId === "current" &&
            prev.chain.bytes === undefined && prev2?.do === "hint-start";
          if (round) add(n, hintTaken.id, judge(hintTaken, run, ["B53"], { label: s.label }));
          if (step.queue === "reporting_vq") {
            add(n, reportTaken.id, judge(reportTaken, run, ["S-11"], { label: s.label }));
          }
          break;
        }
        if (step.queue !== "inflateq" && step.queue !== "deflateq") break;
        // the chain's format must be the negotiated one for it to mean anything
        if (("bitmap" in step.chain) !== bitmap) break;
        if (!driverOk) {
          early.push({ step: n, s });
          break;
        }
        if (lenient(step)) break;
        const why = malformedRule(step, scenario.guestPages);
        const inflate = step.queue === "inflateq";
        const effect = obs.has("host-view") || (inflate && obs.has("guest-memory"));
        if (why === "G31b") {
          if (effect) {
            add(
              n,
              writableNotRead.id,
              judge(writableNotRead, run, ["G31b", "S-03"], { label: s.label }),
            );
          }
          break;
        }
        if (why !== undefined) {
          const fs = effect
            ? judge(rejected, run, [why, "S-03"], { label: s.label })
            : s.used
            ? []
            : [
              bad(
                "S-03",
                `the malformed request "${s.label}" was never used: the driver would wait for ever`,
              ),
            ];
          // with DEVICE_NEEDS_RESET set, not using it is what G06 allows
          add(n, rejected.id, needsReset ? fs.filter((f) => !/never used/.test(f.message)) : fs);
          break;
        }
        // the runner's driver-ok step rereads the host for every earlier send: judge what follows it
        if (i < lastDriverOk) break;
        if (step.kick === false) {
          batch.push({ step: n, s });
          break;
        }
        if (effect) {
          add(n, applied.id, judge(applied, run, ["S-05"], { label: s.label }));
          if (s.appliedAtUse !== undefined || (inflate && obs.has("guest-memory"))) {
            add(n, appliedBeforeUse.id, judge(appliedBeforeUse, run, ["S-05"], { label: s.label }));
          }
        } else if (!s.used) {
          add(n, "liveness", [bad("S-05", `"${s.label}" was never used`)]);
        }
        if (s.used) {
          add(n, usedLenZero.id, judge(usedLenZero, withSends(run, [s]), ["G46a"], {}));
          const quiet = suppressed.get(step.queue) === true;
          const rule = quiet ? (eventIdx ? "G44b" : "G43b") : (eventIdx ? "G44a" : "G43a");
          const check = quiet ? quietWhenSuppressed : notifiedWhenAsked;
          add(n, check.id, judge(check, run, [rule], { label: s.label }));
        }
        break;
      }
      case "kick": {
        // all-applied reads the change at the host: judged when no page was held before
        const fresh = batch.every((b) =>
          b.s.pages !== undefined &&
          b.s.pages.intersectionSize(batch[0]?.s.before ?? b.s.before) === 0
        );
        if (batch.length > 1 && step.queue === "inflateq" && fresh) {
          const view = withSends(run, batch.map((b) => b.s));
          add(n, allApplied.id, judge(allApplied, view, ["S-05"], {}));
        }
        batch = [];
        break;
      }
      case "stats": {
        const label = (steps[i - 1] as DeviceStep & { label?: string }).label;
        const s = label === undefined ? undefined : run.sends.get(label);
        if (
          s !== undefined && driverOk && needsMet(step) && obs.has("host-stats") &&
          s.chain !== undefined && "stats" in s.chain
        ) {
          // B34 (any order) for a buffer out of tag order, B33 (unknown tags) for one with a tag
          // the table does not define, else B34 (tag order is one of the orders)
          const tags = s.chain.stats.map((e) => e.tag);
          const ordered = tags.every((t, k) => k === 0 || (tags[k - 1] as number) < t);
          const unknown = tags.some((t) => !specTag(profile, t));
          const rule = !ordered ? "B34" : unknown ? "B33" : "B34";
          // the standard profile: tags no spec defines (Linux's newer ones) may be ignored
          const check = profile === "virtio-1.x" ? statsSpecTagsKept : statsAccepted;
          const spec = s.chain.stats.some((e) => specTag(profile, e.tag));
          if (profile !== "virtio-1.x" || spec) {
            add(n, check.id, judge(check, run, [rule], { label: s.label }));
          }
        }
        break;
      }
      case "target": {
        const bytes = run.configAfterTarget[targets++];
        if (bytes !== undefined) {
          add(
            n,
            configLe.id,
            judge(configLe, { ...run, configAfterTarget: [bytes] }, ["B07"], {
              target: step.pages,
            }),
          );
        }
        break;
      }
      case "write-actual": {
        const w = run.actualWrites[writes++];
        if (w !== undefined && obs.has("host-actual")) {
          const view = { ...run, actualWrites: [w] };
          add(n, actualTaken.id, judge(actualTaken, view, ["S-12"], {}));
          if (step.bytewise === true && run.legacy) {
            add(n, actualAfterMsb.id, judge(actualAfterMsb, view, ["B24"], {}));
          }
        }
        break;
      }
      case "unused":
        if (driverOk && needsMet(step)) misc = true;
        break;
      default:
        break;
    }
  }
  if (misc && lastJudged === steps.length - 1) {
    add(0, miscRequest.id, judge(miscRequest, run, ["R-17a"], {}));
    if (obs.has("dirty-log")) add(0, dirtyLogFirst.id, judge(dirtyLogFirst, run, ["R-20"], {}));
    const replies = [...run.sends.values()].filter((s) => s.queue === "miscq");
    if (replies.length > 0) add(0, repliesUsed.id, judge(repliesUsed, run, ["R-21", "R-16"], {}));
  }
  return out;
}

const SPEC = new Map(
  (["v3", "virtio-1.x"] as const).map((p) => [
    p,
    new Set(enumValues("stats_tag", p).filter((t) => !t.nonStandard).map((t) => t.value)),
  ]),
);

/** Whether a spec (not only an implementation) defines the tag. */
function specTag(profile: ProfileId, tag: number): boolean {
  return SPEC.get(profile)?.has(tag) ?? false;
}
