/**
 * Trace checks of buffers and the stats queue: used lengths of buffers
 * without device-writable parts (G46a), one stats buffer at a time (B25), a
 * stats buffer at initialisation (B26), each used stats buffer given back
 * (B27).
 *
 * @module
 */

import { hasFeature } from "../../spec/mod.ts";
import {
  type CheckFactory,
  count,
  DRIVER_OK,
  driverStatus,
  type Ev,
  Evidence,
  fail,
  pass,
  type Step,
  unseen,
} from "./check_kit.ts";

const G46a: CheckFactory = () => {
  const chains = new Map<string, Ev<"chain">>();
  const bad = new Evidence();
  let n = 0;
  return {
    uses: ["chain", "used"],
    ordered: true,
    step({ e, line }) {
      if (e.type === "chain") chains.set(`${e.queue}/${e.elem}`, e);
      if (e.type !== "used") return;
      // only buffers without device-writable parts decide it: their length must be 0
      const key = `${e.queue}/${e.elem}`;
      const c = chains.get(key);
      chains.delete(key);
      if (c === undefined || c.writable !== 0) return;
      n++;
      if (e.len !== 0) bad.add(e, line);
    },
    result() {
      if (n === 0) return unseen("no used buffer without device-writable parts in the trace");
      return bad.n > 0
        ? fail(
          `${count(bad.n, "buffer")} without device-writable parts used with a non-zero length`,
          bad,
        )
        : pass(`${count(n, "buffer")} without device-writable parts, each used with length 0`);
    },
  };
};

const B25: CheckFactory = () => {
  let held = 0;
  let n = 0;
  const bad = new Evidence();
  return {
    uses: ["status", "chain", "used", "features"],
    ordered: true,
    step({ e, line, role }) {
      if (e.type === "status" && e.value === 0) held = 0;
      if (e.type === "chain" && role === "statsq") {
        n++;
        held++;
        if (held > 1) bad.add(e, line);
      }
      if (e.type === "used" && role === "statsq") held = Math.max(0, held - 1);
    },
    result() {
      if (n === 0) return unseen("no stats buffer in the trace");
      return bad.n > 0
        ? fail("a stats buffer was made available while the device held another", bad)
        : pass(`${count(n, "stats buffer")}, one at a time`);
    },
  };
};

const B26: CheckFactory = (ctx) => {
  // sessions seen from their reset, that go on after the driver's DRIVER_OK (the driver
  // had its chance)
  const bad = new Evidence();
  let n = 0;
  let judged = false;
  let ok: Step | undefined;
  let after = false;
  let stats = false;
  return {
    uses: ["status", "chain", "notify", "config-write", "features"],
    ordered: true,
    begin(fromReset) {
      judged = fromReset;
      ok = undefined;
      after = false;
      stats = false;
    },
    step(s) {
      if (!judged || !s.inSession) return;
      const e = s.e;
      if (
        ok !== undefined && (e.type === "notify" || e.type === "config-write" || e.type === "chain")
      ) {
        after = true;
      }
      if (e.type === "chain" && s.role === "statsq") stats = true;
      if (ok === undefined && driverStatus(e) && (e.value & DRIVER_OK) !== 0) ok = s;
    },
    end() {
      if (!judged || ok === undefined || !after) return;
      judged = false;
      n++;
      if (!stats) bad.add(ok.e, ok.line);
    },
    result() {
      if (ctx.negotiated === undefined) {
        return unseen("the trace does not give the negotiated features");
      }
      if (!hasFeature(ctx.profile, ctx.negotiated, "STATS_VQ")) {
        return unseen("STATS_VQ was not negotiated");
      }
      if (ctx.seen.chainsOnUnknownQueues > 0) {
        return unseen("some buffers are on queues the trace cannot name");
      }
      if (n === 0) {
        return unseen("no initialisation from a reset to DRIVER_OK and beyond in the trace");
      }
      return bad.n > 0
        ? fail(
          `${count(bad.n, "initialisation")} with STATS_VQ never made a stats buffer available`,
          bad,
        )
        : pass(`${count(n, "initialisation")}, each with a stats buffer made available`);
    },
  };
};

/** A used stats buffer waiting for its verdict, with the session's counts when it was used. */
interface UsedStats {
  readonly e: Ev<"used">;
  readonly line: number;
  /** Driver actions before it. */
  readonly driver: number;
  /** Actions other than teardown before it. */
  readonly busy: number;
}

const B27: CheckFactory = () => {
  // A used stats buffer is judged when, in the same session, the driver did something
  // after it (it had its chance to give a new one); order only, not time. A status write
  // that repeats the current value is not the driver's (QEMU logs one at stop), nor is a
  // status the host logged. Not judged: a use followed only by a teardown (deflates,
  // writes of actual, then a reset: remove and freeze stop the stats work first).
  const bad = new Evidence();
  let n = 0;
  let status = -1;
  let driver = 0;
  let busy = 0;
  /** Used, no new stats buffer after it yet. */
  let waiting: UsedStats[] = [];
  /** Used and given back: judged (a pass) once the driver acts after it. */
  let givenBack: number[] = [];
  return {
    uses: ["status", "chain", "used", "notify", "config-write", "features"],
    ordered: true,
    begin() {
      status = -1;
      driver = 0;
      busy = 0;
      waiting = [];
      givenBack = [];
    },
    step({ e, line, role, inSession }) {
      if (!inSession) return;
      if (e.type === "used" && role === "statsq") waiting.push({ e, line, driver, busy });
      if (e.type === "chain" && role === "statsq") {
        for (const w of waiting) givenBack.push(w.driver);
        waiting = [];
      }
      if (e.type === "status") {
        if (driverStatus(e) && e.value !== status) driver++;
        status = e.value;
      }
      if (e.type === "notify" || e.type === "config-write") driver++;
      if (
        ((e.type === "notify" || e.type === "chain") && role !== "deflateq") || driverStatus(e)
      ) busy++;
      if (givenBack.length > 0 && givenBack.some((d) => d < driver)) {
        n += givenBack.filter((d) => d < driver).length;
        givenBack = givenBack.filter((d) => d >= driver);
      }
    },
    end(endsInReset) {
      for (const w of waiting) {
        if (w.driver >= driver) continue;
        if (endsInReset && w.busy >= busy) continue;
        n++;
        bad.add(w.e, w.line);
      }
      waiting = [];
      givenBack = [];
    },
    result() {
      if (n === 0) {
        return unseen("the device never gave a stats buffer back before the driver's last action");
      }
      return bad.n > 0
        ? fail("after the device used a stats buffer, no new one was made available", bad)
        : pass(`${count(n, "stats buffer")} given back, each followed by a new one`);
    },
  };
};

/** The checks of this family, by rule id. */
export const QUEUE_CHECKS: Readonly<Record<string, CheckFactory>> = {
  B26,
  G46a,
  B25,
  B27,
};
