/**
 * Checks on device scenario runs: what the device did with each chain the
 * suite sent, and with the host's requests.
 *
 * @module
 */

import {
  decodeStruct,
  enumValues,
  featureNames,
  featuresOf,
  fieldOf,
  readScalar,
  structSize,
} from "../../spec/mod.ts";
import { STATUS } from "../../impl/mod.ts";
import type { DeviceRun, SendResult } from "../runners/device.ts";
import { structAnnotations } from "../model/evidence.ts";
import type { Evidence, Finding } from "../model/types.ts";

/** A device check. */
export type DeviceCheck = (run: DeviceRun, params: Readonly<Record<string, unknown>>) => Finding[];

function ok(rule: string, message: string): Finding {
  return { rule, ok: true, message };
}

function bad(
  rule: string,
  message: string,
  extra: Partial<Omit<Finding, "rule" | "ok" | "message">> = {},
): Finding {
  return { rule, ok: false, message, ...extra };
}

function sendOf(run: DeviceRun, label: string): SendResult | undefined {
  return run.sends.get(label);
}

function evidence(run: DeviceRun, s: SendResult, badFields: string[] = []): Evidence {
  const bitmap = s.bytes.length >= structSize("balloon_bmap_hdr") &&
    (s.queue === "miscq" || badFields.length > 0 ||
      run.scenario.accept.includes("PAGE_BITMAP"));
  return {
    title: `${s.queue} chain "${s.label}" sent by the suite`,
    bytes: s.bytes,
    annotations: bitmap && s.queue !== "statsq"
      ? structAnnotations("balloon_bmap_hdr", s.bytes, {
        order: run.transport.byteOrder,
        bad: badFields,
      })
      : [],
  };
}

function missing(rule: string, label: string): Finding[] {
  return [bad(rule, `the scenario did not send "${label}"`)];
}

/** Every device check, by id. */
export const DEVICE_CHECKS: Readonly<Record<string, DeviceCheck>> = {
  /** S-05: a valid request changes the host's balloon exactly as the tables define, and is used. */
  "applied": (run, p) => {
    const rule = String(p["rule"] ?? "S-05");
    const label = String(p["label"]);
    const s = sendOf(run, label);
    if (s === undefined || s.pages === undefined) return missing(rule, label);
    const want = s.before.clone();
    if (s.queue === "inflateq") want.unionWith(s.pages);
    else want.subtract(s.pages);
    const out: Finding[] = [];
    if (!s.used) {
      out.push(
        bad(rule, `"${label}" was never used`, { expected: "the buffer used after processing" }),
      );
    }
    if (!s.after.equals(want)) {
      const extra = s.after.clone();
      extra.subtract(want);
      const lost = want.clone();
      lost.subtract(s.after);
      out.push(bad(rule, `after "${label}" the host holds ${s.after.size} pages`, {
        expected: `${want.size} pages (${
          s.queue === "inflateq" ? "plus" : "minus"
        } the ${s.pages.size} named)`,
        actual: `${s.after.size}: ${extra.size} unexpected (e.g. PFN ${
          extra.min() ?? "-"
        }), ${lost.size} missing (e.g. PFN ${lost.min() ?? "-"})`,
        evidence: evidence(run, s),
      }));
    }
    return out.length > 0 ? out : [ok(rule, `"${label}" applied: ${s.pages.size} pages`)];
  },

  /** R-16 / S-05: the change is visible when the buffer is used (used after processing). */
  "applied-before-use": (run, p) => {
    const rule = String(p["rule"] ?? "R-16");
    const label = String(p["label"]);
    const s = sendOf(run, label);
    if (s === undefined || s.pages === undefined) return missing(rule, label);
    if (!s.used) return [bad(rule, `"${label}" was never used`)];
    return s.appliedAtUse === true ? [ok(rule, `"${label}" was used after it was applied`)] : [
      bad(rule, `"${label}" was used before the host applied it`, {
        expected: "process, then use (ack)",
      }),
    ];
  },

  /** S-03 (+ the field's rule): a malformed request changes nothing, is still used, the device stays usable. */
  "rejected": (run, p) => {
    const rule = String(p["rule"] ?? "S-03");
    const label = String(p["label"]);
    const s = sendOf(run, label);
    if (s === undefined) return missing(rule, label);
    const out: Finding[] = [];
    const field = typeof p["field"] === "string" ? [p["field"] as string] : [];
    if (!s.after.equals(s.before)) {
      const diff = s.after.clone();
      diff.subtract(s.before);
      const gone = s.before.clone();
      gone.subtract(s.after);
      out.push(
        bad(
          rule,
          `the malformed request "${label}" changed the host's balloon (+${diff.size} / -${gone.size} pages)`,
          {
            expected: "no change: reject the request as a whole",
            actual: `${diff.size} pages added (e.g. PFN ${
              diff.min() ?? "-"
            }), ${gone.size} removed`,
            evidence: evidence(run, s, field),
          },
        ),
      );
    }
    if (!s.used) {
      out.push(
        bad(
          rule,
          `the malformed request "${label}" was never used: the driver would wait for ever`,
          {
            expected: "the buffer used (length 0)",
            evidence: evidence(run, s, field),
          },
        ),
      );
    }
    return out.length > 0 ? out : [ok(rule, `"${label}" rejected: no change, buffer used`)];
  },

  /** G46a: used length of a chain with no device-writable part is 0. */
  "used-len-zero": (run, p) => {
    const rule = String(p["rule"] ?? "G46a");
    const used = [...run.sends.values()].filter((s) => s.used);
    if (used.length === 0) return [bad(rule, "no chain was used")];
    const wrong = used.filter((s) => s.len !== 0);
    return wrong.length > 0
      ? wrong.slice(0, 2).map((s) =>
        bad(
          rule,
          `"${s.label}" was used with length ${s.len} though it has no device-writable bytes`,
          { expected: "0", actual: `${s.len}` },
        )
      )
      : [ok(rule, `${used.length} chains used with length 0`)];
  },

  /** R-17a: a request fills the 16-byte buffer (known cmd, reserved 0) and is used with length 16. */
  "misc-request": (run, p) => {
    const rule = String(p["rule"] ?? "R-17a");
    if (run.requestLens.length === 0) return [bad(rule, "the device issued no request")];
    const out: Finding[] = [];
    const size = structSize("balloon_req_hdr");
    for (const [i, len] of run.requestLens.entries()) {
      const bytes = run.requestBytes[i] as Uint8Array;
      const ev: Evidence = {
        title: `misc request ${i + 1} as written by the device`,
        bytes,
        annotations: structAnnotations("balloon_req_hdr", bytes, {
          order: run.transport.byteOrder,
          bad: ["reserved", "cmd"],
        }),
      };
      if (len !== size) {
        out.push(
          bad(rule, `request ${i + 1} used with length ${len}`, {
            expected: `${size}`,
            actual: `${len}`,
            evidence: ev,
          }),
        );
      }
      try {
        decodeStruct("balloon_req_hdr", bytes, {
          order: run.transport.byteOrder,
          context: "misc-request",
        });
      } catch (e) {
        out.push(bad(rule, (e as Error).message, { evidence: ev }));
      }
    }
    return out.length > 0
      ? out
      : [ok(rule, `${run.requestLens.length} well-formed requests of ${size} bytes`)];
  },

  /** dirty logging runs before the request is issued. */
  "dirty-log-first": (run, p) => {
    const rule = String(p["rule"] ?? "R-20");
    if (run.dirtyAtRequest.length === 0) return [bad(rule, "the device issued no request")];
    return run.dirtyAtRequest.every((x) => x)
      ? [ok(rule, "dirty logging was on when each request was issued")]
      : [
        bad(rule, "a request was issued before dirty logging started", {
          expected: "dirty logging started first",
        }),
      ];
  },

  /** reply chunks are used as they arrive. */
  "replies-used": (run, p) => {
    const rule = String(p["rule"] ?? "R-21");
    const replies = [...run.sends.values()].filter((s) => s.queue === "miscq");
    if (replies.length === 0) return [bad(rule, "the scenario sent no reply chunk")];
    const waiting = replies.filter((s) => !s.used);
    return waiting.length > 0
      ? [
        bad(rule, `${waiting.length} reply chunks were not used (first: "${waiting[0]?.label}")`, {
          expected: "each chunk used as it arrives",
        }),
      ]
      : [ok(rule, `${replies.length} reply chunks used at once`)];
  },

  /** B33 / B34: stats with unknown tags or in any order are accepted. */
  "stats-accepted": (run, p) => {
    const rule = String(p["rule"] ?? "B33");
    const label = String(p["label"]);
    const s = sendOf(run, label);
    if (s === undefined) return missing(rule, label);
    const rejected = run.trace.some((e) =>
      e.kind === "request" && e.what === "rejected" && e.queue === "statsq" &&
      e.seq > (s.usedSeq ?? -1)
    );
    const stats = run.device.lastStats ?? [];
    const known = new Set(enumValues("stats_tag", run.scenario.profile).map((t) => t.value));
    const tags = stats.map((x) => x.tag).filter((t) => known.has(t));
    if (rejected || tags.length === 0) {
      return [bad(rule, `the device refused the stats buffer "${label}"`, {
        expected: rule === "B33"
          ? "unknown tags ignored, known ones kept"
          : "entries accepted in any order",
        evidence: { title: `statsq buffer "${label}"`, bytes: s.bytes, annotations: [] },
      })];
    }
    return [ok(rule, `stats kept: tags ${tags.join(", ")}`)];
  },

  /** G05: no buffer is consumed before DRIVER_OK. */
  "not-before-driver-ok": (run, p) => {
    const rule = String(p["rule"] ?? "G05");
    const label = String(p["label"]);
    const s = sendOf(run, label);
    if (s === undefined) return missing(rule, label);
    const driverOk = run.trace.find((e) =>
      e.kind === "status-write" && (e.value & STATUS.DRIVER_OK) !== 0
    );
    if (driverOk === undefined) return [bad(rule, "the scenario never set DRIVER_OK")];
    if (s.usedSeq !== undefined && s.usedSeq < driverOk.seq) {
      return [
        bad(rule, `"${label}" was used before DRIVER_OK`, {
          expected: "no buffer consumed before DRIVER_OK",
        }),
      ];
    }
    const early = run.trace.find((e) => e.kind === "request" && e.seq < driverOk.seq);
    if (early !== undefined) return [bad(rule, "the device processed a chain before DRIVER_OK")];
    return s.used
      ? [ok(rule, `"${label}" waited for DRIVER_OK`)]
      : [bad(rule, `"${label}" was never used, even after DRIVER_OK`)];
  },

  /** B07: config fields are little-endian for legacy guests too. */
  "config-le": (run, p) => {
    const rule = String(p["rule"] ?? "B07");
    const target = Number(p["target"]);
    const bytes = run.configAfterTarget[0];
    if (bytes === undefined) return [bad(rule, "the scenario set no target")];
    const f = fieldOf("virtio_balloon_config", "num_pages");
    const v = Number(readScalar(new DataView(bytes.buffer, bytes.byteOffset), 0, f.type, "v1"));
    return v === target
      ? [ok(rule, `num_pages reads ${v} little-endian`)]
      : [bad(rule, `num_pages reads ${v} little-endian`, {
        expected: `${target}`,
        actual: `${v}`,
        evidence: {
          title: "config num_pages",
          bytes,
          annotations: [{ offset: 0, length: 4, label: `num_pages=${v}`, bad: true }],
        },
      })];
  },

  /** G14 / G62a / G64: what the device offers. */
  "offered-features": (run, p) => {
    const rule = String(p["rule"]);
    const profile = run.scenario.profile;
    const names = featureNames(profile, run.offered);
    if (names.length === 0) return [bad(rule, "the device offered no feature at all")];
    if (rule === "G14") {
      const missing = featuresOf(profile).filter((f) => names.includes(f.name)).flatMap((f) =>
        f.requires.filter((r) => !names.includes(r)).map((r) => `${f.name} without ${r}`)
      );
      return missing.length > 0
        ? [
          bad(rule, `the device offers ${missing.join(", ")}`, {
            expected: "every feature offered with the features it requires",
          }),
        ]
        : [ok(rule, "every offered feature comes with what it requires")];
    }
    const want = rule === "G62a" ? "VERSION_1" : "ANY_LAYOUT";
    return names.includes(want) ? [ok(rule, `${want} is offered`)] : [
      bad(rule, `${want} is not offered`, {
        expected: `${want} offered`,
        actual: names.join(", "),
      }),
    ];
  },

  /** G15a: the device accepts a valid subset of its features. */
  "accepts-subset": (run, p) => {
    const rule = String(p["rule"] ?? "G15a");
    return run.featuresOk ? [ok(rule, "FEATURES_OK kept")] : [
      bad(rule, "the device refused FEATURES_OK for a valid subset of its features", {
        expected: "FEATURES_OK kept",
      }),
    ];
  },
};
