/**
 * Trace checks of initialisation and features: the status sequence (G55a),
 * no bit cleared but by reset (G02), configuration writes after FEATURES_OK
 * (G55c), no notification or buffer before DRIVER_OK (G57, G05), and the
 * feature sets (G08, G60a, G62a).
 *
 * Only the driver's status writes are judged as the driver's; a status the
 * host logged for itself (`by: "host"`: QEMU at stop, quit, reset, migration)
 * still tells the device's state (a reset ends a session, DRIVER_OK makes it
 * live) but is no write of the driver's.
 *
 * @module
 */

import { hasFeature } from "../../spec/mod.ts";
import {
  ACKNOWLEDGE,
  bitList,
  type CheckFactory,
  count,
  DRIVER,
  DRIVER_OK,
  driverStatus,
  type Ev,
  Evidence,
  fail,
  FEATURES_OK,
  pass,
  type RuleCheck,
  type Step,
  unseen,
} from "./check_kit.ts";

const INIT_BITS = [ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK];

const G55a: CheckFactory = (ctx) => {
  const bad = new Evidence();
  let seen = 0;
  let judged = false;
  let writes = 0;
  let firsts = new Map<number, { i: number; s: Step }>();
  let ok: Step | undefined;
  let anyFeaturesOk = false;
  return {
    uses: ["status", "features"],
    ordered: true,
    begin(fromReset) {
      // only initialisations seen from their reset
      judged = fromReset;
      writes = 0;
      firsts = new Map();
      ok = undefined;
      anyFeaturesOk = false;
    },
    step(s) {
      if (!judged || !s.inSession || !driverStatus(s.e)) return;
      for (const bit of INIT_BITS) {
        if ((s.e.value & bit) !== 0 && !firsts.has(bit)) firsts.set(bit, { i: writes, s });
      }
      if ((s.e.value & FEATURES_OK) !== 0) anyFeaturesOk = true;
      if (ok === undefined && (s.e.value & DRIVER_OK) !== 0) ok = s;
      writes++;
    },
    end() {
      if (!judged || ok === undefined) return;
      judged = false;
      seen++;
      // each bit set by its own write, in this order; legacy drivers have no FEATURES_OK
      // (with the features unknown, FEATURES_OK is judged only if it is set)
      const modern = ctx.negotiated === undefined
        ? anyFeaturesOk
        : hasFeature(ctx.profile, ctx.negotiated, "VERSION_1");
      const order = modern
        ? [ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK]
        : [ACKNOWLEDGE, DRIVER, DRIVER_OK];
      const at = order.map((bit) => firsts.get(bit)?.i ?? -1);
      const wrong = at.findIndex((i, k) => i < 0 || (k > 0 && i <= (at[k - 1] as number)));
      if (wrong >= 0) {
        const first = firsts.get(order[wrong] as number)?.s ?? ok;
        bad.add(first.e, first.line);
      }
    },
    result() {
      if (seen === 0) {
        return unseen("no initialisation from a reset to DRIVER_OK in the trace");
      }
      return bad.n > 0
        ? fail(
          "an initialisation set status bits out of order (expected ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK)",
          bad,
        )
        : pass(
          `${count(seen, "initialisation")} in order: ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK`,
        );
    },
  };
};

const G02: CheckFactory = () => {
  // the device's status before each write: the driver's writes and the host's
  let prev = 0;
  const bad = new Evidence();
  let n = 0;
  return {
    uses: ["status"],
    ordered: true,
    step({ e, line }) {
      if (e.type !== "status") return;
      if (driverStatus(e)) {
        n++;
        if (e.value !== 0 && (prev & ~e.value) !== 0) bad.add(e, line);
      }
      prev = e.value;
    },
    result() {
      if (n === 0) return unseen("no status write in the trace");
      return bad.n > 0
        ? fail("a status write clears bits set before (other than a reset to 0)", bad)
        : pass(`${count(n, "status write")}, no bit cleared but by reset`);
    },
  };
};

/** A check decided by the features event alone. */
function featuresCheck(result: RuleCheck["result"]): RuleCheck {
  return { uses: ["features"], ordered: false, result };
}

/** Evidence of the features event. */
function featuresEvidence(e: Ev<"features">, line: number | undefined): Evidence {
  const ev = new Evidence();
  ev.add(e, line ?? 0);
  return ev;
}

const G08: CheckFactory = (ctx) =>
  featuresCheck(() => {
    // what the driver wrote, not what the device kept (QEMU masks the write with its offer)
    const accepted = ctx.features?.accepted;
    if (ctx.offered === undefined || accepted === undefined || !ctx.features) {
      return unseen(
        "the trace does not give both the offered features and the bits the driver wrote (accepted)",
      );
    }
    const extra = BigInt(accepted) & ~ctx.offered;
    return extra !== 0n
      ? fail(
        `the driver accepted ${bitList(ctx.profile, extra)}, which the device did not offer`,
        featuresEvidence(ctx.features, ctx.seen.featuresLine),
      )
      : pass(
        `accepted ${bitList(ctx.profile, BigInt(accepted))} of ${
          bitList(ctx.profile, ctx.offered)
        }`,
      );
  });

const G60a: CheckFactory = (ctx) =>
  featuresCheck(() => {
    if (ctx.offered === undefined || ctx.negotiated === undefined || !ctx.features) {
      return unseen("the trace does not give both the offered and the negotiated features");
    }
    if (!hasFeature(ctx.profile, ctx.offered, "VERSION_1")) {
      return unseen("the device did not offer VERSION_1");
    }
    return hasFeature(ctx.profile, ctx.negotiated, "VERSION_1")
      ? pass("VERSION_1 offered and accepted")
      : fail(
        "the device offered VERSION_1 and the driver did not accept it",
        featuresEvidence(ctx.features, ctx.seen.featuresLine),
      );
  });

const G62a: CheckFactory = (ctx) =>
  featuresCheck(() => {
    if (ctx.offered === undefined || !ctx.features) {
      return unseen("the trace does not give the offered features");
    }
    return hasFeature(ctx.profile, ctx.offered, "VERSION_1") ? pass("VERSION_1 offered") : fail(
      `the device offered ${bitList(ctx.profile, ctx.offered)}, without VERSION_1`,
      featuresEvidence(ctx.features, ctx.seen.featuresLine),
    );
  });

const G55c: CheckFactory = () => {
  // only initialisations in which the driver set FEATURES_OK decide it (a legacy driver never does)
  const bad = new Evidence();
  let n = 0;
  let judged = false;
  let featuresOk = false;
  let early = new Evidence();
  let after = 0;
  return {
    uses: ["status", "config-write"],
    ordered: true,
    begin(fromReset) {
      judged = fromReset;
      featuresOk = false;
      early = new Evidence();
      after = 0;
    },
    step({ e, line, inSession }) {
      if (!judged || !inSession) return;
      if (driverStatus(e) && (e.value & FEATURES_OK) !== 0) featuresOk = true;
      if (e.type === "config-write") {
        if (featuresOk) after++;
        else early.add(e, line);
      }
    },
    end() {
      if (!judged || !featuresOk) return;
      judged = false;
      n += early.n + after;
      bad.addAll(early);
    },
    result() {
      if (n === 0) {
        return unseen("no configuration write in an initialisation that set FEATURES_OK");
      }
      return bad.n > 0
        ? fail(
          `${count(bad.n, "configuration write")} before FEATURES_OK (${
            (bad.first as Ev<"config-write">).field
          })`,
          bad,
        )
        : pass(`${count(n, "configuration write")}, all after FEATURES_OK`);
    },
  };
};

/** Events of one type, and those that came while the device's DRIVER_OK was not set. */
function beforeDriverOk(
  type: "notify" | "chain",
  result: (n: number, bad: Evidence) => ReturnType<RuleCheck["result"]>,
): RuleCheck {
  const bad = new Evidence();
  let n = 0;
  let live = false;
  return {
    uses: ["status", type],
    ordered: true,
    begin() {
      live = false;
    },
    step({ e, line, inSession }) {
      if (!inSession) return;
      if (e.type === "status") live = (e.value & DRIVER_OK) !== 0;
      if (e.type === type) {
        n++;
        if (!live) bad.add(e, line);
      }
    },
    result: () => result(n, bad),
  };
}

const G57: CheckFactory = () =>
  beforeDriverOk("notify", (n, bad) => {
    if (n === 0) return unseen("no available-buffer notification in the trace");
    return bad.n > 0
      ? fail(
        `${count(bad.n, "notification")} before DRIVER_OK (queue ${
          (bad.first as Ev<"notify">).queue
        })`,
        bad,
      )
      : pass(`${count(n, "notification")}, all after DRIVER_OK`);
  });

const G05: CheckFactory = () =>
  beforeDriverOk("chain", (n, bad) => {
    if (n === 0) return unseen("the device took no buffer in the trace");
    return bad.n > 0
      ? fail(
        `the device took ${count(bad.n, "buffer")} before DRIVER_OK (queue ${
          (bad.first as Ev<"chain">).queue
        })`,
        bad,
      )
      : pass(`${count(n, "buffer")} taken, all after DRIVER_OK`);
  });

/** The checks of this family, by rule id. */
export const INIT_CHECKS: Readonly<Record<string, CheckFactory>> = {
  G55a,
  G02,
  G08,
  G60a,
  G62a,
  G55c,
  G57,
  G05,
};
