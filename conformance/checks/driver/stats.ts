/**
 * Driver checks of the stats queue: a buffer at initialisation, the first one
 * filled, one at a time, refilled after each request, whole 10-byte entries,
 * the same statistics each time.
 *
 * @module
 */

import { structSize } from "../../../spec/mod.ts";
import { STATUS } from "../../../impl/mod.ts";
import type { Finding } from "../../model/types.ts";
import type { DriverRun } from "../../runners/driver.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { type RequestEvent, requests, statusWrites } from "../queries.ts";
import { none } from "./_shared.ts";

type StatsAspect =
  | "after-init"
  | "first-filled"
  | "one-at-a-time"
  | "refilled"
  | "whole-entries"
  | "same-subset";

/** B25 / B26 / B27 / B28 / B29 / B32: the stats queue, one aspect at a time. */

function stats(run: DriverRun, rule: string, aspect: StatsAspect): Finding[] {
  const stats = requests(run.trace, "stats", "rejected").filter((r) => r.queue === "statsq");
  if (stats.length === 0) return none(run, rule, "stats buffer");
  const out: Finding[] = [];
  const driverOk = statusWrites(run.trace).find((w) => w.value & STATUS.DRIVER_OK)?.seq ??
    Infinity;
  const tagsOf = (r: RequestEvent) => (r.stats ?? []).map((s) => s.tag).join(",");
  switch (aspect) {
    case "after-init":
      if (!stats.some((s) => s.seq > driverOk)) {
        out.push(bad(rule, "no stats buffer was available after initialisation"));
      }
      break;
    case "first-filled": {
      const first = stats[0] as RequestEvent;
      const later = stats[stats.length - 1] as RequestEvent;
      if ((first.stats ?? []).length === 0 || tagsOf(first) !== tagsOf(later)) {
        out.push(
          bad(rule, `the first stats buffer holds [${tagsOf(first)}]`, {
            expected: `one entry per supported statistic [${tagsOf(later)}]`,
            actual: `[${tagsOf(first)}]`,
          }),
        );
      }
      // one entry per statistic: a tag twice in one buffer is not that (an unpacked layout shows so)
      for (const r of stats) {
        const tags = (r.stats ?? []).map((x) => x.tag);
        const twice = tags.find((t, i) => tags.indexOf(t) !== i);
        if (twice !== undefined) {
          out.push(
            bad(rule, `a stats buffer holds tag ${twice} more than once: [${tags.join(",")}]`, {
              expected: "one entry per supported statistic, each tag once",
              actual: `[${tags.join(",")}]`,
            }),
          );
          break;
        }
      }
      break;
    }
    case "one-at-a-time": {
      const seen = run.device.observations.find((o) => o.rule === "B25");
      if (seen !== undefined) out.push(bad(rule, seen.message));
      let heldCount = 0;
      for (const e of run.trace) {
        if (e.kind === "request" && (e as RequestEvent).queue === "statsq") {
          heldCount++;
          if (heldCount > 1) {
            out.push(
              bad(rule, "a second stats buffer was made available while the device held one"),
            );
            break;
          }
        } else if (e.kind === "used" && stats.some((s) => s.index === e.index)) {
          heldCount = Math.max(0, heldCount - 1);
        }
      }
      break;
    }
    case "refilled": {
      const requestsMade =
        run.trace.filter((e) => e.kind === "host" && e.action === "request-stats").length;
      if (stats.length < requestsMade + 1) {
        out.push(
          bad(rule, `${requestsMade} stats requests but only ${stats.length} buffers`, {
            expected: `${requestsMade + 1}`,
            actual: `${stats.length}`,
          }),
        );
      }
      break;
    }
    case "whole-entries":
      for (const s of stats) {
        const n = s.readable.reduce((a, b) => a + b, 0);
        if (n % structSize("virtio_balloon_stat") !== 0) {
          out.push(
            bad(rule, `a ${n}-byte stats buffer`, {
              expected: `a multiple of ${structSize("virtio_balloon_stat")} bytes`,
              actual: `${n}`,
            }),
          );
          break;
        }
      }
      break;
    case "same-subset": {
      const sets = new Set(stats.filter((s) => s.what === "stats").map(tagsOf));
      if (sets.size > 1) {
        out.push(bad(
          rule,
          `stats buffers held different subsets: ${[...sets].map((x) => `[${x}]`).join(" ")}`,
        ));
      }
      break;
    }
  }
  return out.length > 0 ? out : [ok(rule, `${stats.length} stats buffers`)];
}

/** B26: a stats buffer is available after initialisation. */
export const statsAfterInit: DriverCheckDef = driverCheck(
  "stats-after-init",
  (run, { rule }) => stats(run, rule, "after-init"),
  { needs: () => ["STATS_VQ"] },
);

/** B28: the first stats buffer is filled, one entry per statistic. */
export const statsFirstFilled: DriverCheckDef = driverCheck(
  "stats-first-filled",
  (run, { rule }) => stats(run, rule, "first-filled"),
  { needs: () => ["STATS_VQ"] },
);

/** B25: at most one stats buffer is available at a time. */
export const statsOneAtATime: DriverCheckDef = driverCheck(
  "stats-one-at-a-time",
  (run, { rule }) => stats(run, rule, "one-at-a-time"),
  { needs: () => ["STATS_VQ"] },
);

/** B27: a new stats buffer follows every request. */
export const statsRefilled: DriverCheckDef = driverCheck(
  "stats-refilled",
  (run, { rule }) => stats(run, rule, "refilled"),
  { needs: () => ["STATS_VQ"] },
);

/** B29: stats buffers hold whole 10-byte entries. */
export const statsWholeEntries: DriverCheckDef = driverCheck(
  "stats-whole-entries",
  (run, { rule }) => stats(run, rule, "whole-entries"),
  { needs: () => ["STATS_VQ"] },
);

/** B32: every stats buffer holds the same statistics. */
export const statsSameSubset: DriverCheckDef = driverCheck(
  "stats-same-subset",
  (run, { rule }) => stats(run, rule, "same-subset"),
  { needs: () => ["STATS_VQ"] },
);
