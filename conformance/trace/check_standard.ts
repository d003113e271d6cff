/**
 * Trace checks of the standard profile's queues, from what a log shows of
 * them — chains with their device-readable and device-writable descriptor
 * counts and their uses, not the bytes: every free_page_vq and reporting_vq
 * buffer used with length 0 (S-09); a hint round's pages between the out
 * buffer that starts it and the one that stops it (B38, B42); each queue
 * carrying what its dense index's role carries (S-11). A command id's value
 * is not in the log: a round is an out buffer, the pages, the next out
 * buffer.
 *
 * @module
 */

import type { QueueName } from "../../spec/mod.ts";
import {
  type CheckFactory,
  count,
  type Ev,
  Evidence,
  fail,
  pass,
  type Step,
  unseen,
} from "./check_kit.ts";

const HINT: QueueName = "free_page_vq";
const REPORT: QueueName = "reporting_vq";

const S09: CheckFactory = () => {
  const open = new Map<string, { e: Ev<"chain">; line: number; queue: number }>();
  const usedOn = new Map<number, number>();
  const bad = new Evidence();
  const lost = new Evidence();
  let n = 0;
  return {
    uses: ["chain", "used", "features"],
    ordered: true,
    step({ e, line, role }) {
      if (role !== HINT && role !== REPORT) return;
      if (e.type === "chain") open.set(`${e.queue}/${e.elem}`, { e, line, queue: e.queue });
      if (e.type !== "used") return;
      const key = `${e.queue}/${e.elem}`;
      const c = open.get(key);
      if (c === undefined) return;
      open.delete(key);
      n++;
      usedOn.set(e.queue, line);
      if (e.len !== 0) bad.add(e, line);
    },
    result() {
      // a buffer the device never used although it used a later one on the same queue
      for (const c of open.values()) {
        if ((usedOn.get(c.queue) ?? 0) > c.line) lost.add(c.e, c.line);
      }
      if (n === 0 && lost.n === 0) {
        return unseen("no free_page_vq or reporting_vq buffer in the trace");
      }
      if (lost.n > 0) {
        return fail(
          `${count(lost.n, "hint or report buffer")} never used, while later ones were`,
          lost,
        );
      }
      return bad.n > 0
        ? fail(`${count(bad.n, "hint or report buffer")} used with a non-zero length`, bad)
        : pass(`${count(n, "hint and report buffer")}, each used with length 0`);
    },
  };
};

/** The hint rounds of a session: out buffers alternate between starting and stopping a round. */
function rounds(): {
  step(s: Step): void;
  begin(): void;
  readonly early: Evidence;
  readonly open: { e: Ev<"chain"> | undefined; line: number; pages: number };
  readonly counts: { rounds: number; closed: number; pages: number; after: number };
} {
  const early = new Evidence();
  const open = { e: undefined as Ev<"chain"> | undefined, line: 0, pages: 0 };
  const counts = { rounds: 0, closed: 0, pages: 0, after: 0 };
  let inRound = false;
  return {
    early,
    open,
    counts,
    begin() {
      inRound = false;
      open.e = undefined;
      open.pages = 0;
    },
    step({ e, line, role }) {
      if (e.type === "notify" || e.type === "config-read") counts.after++;
      if (e.type !== "chain" || role !== HINT) return;
      counts.after = 0;
      if (e.readable > 0) {
        if (inRound) {
          inRound = false;
          if (open.pages > 0) counts.closed++;
          open.e = undefined;
        } else {
          inRound = true;
          counts.rounds++;
          open.e = e;
          open.line = line;
          open.pages = 0;
        }
      }
      if (e.writable > 0) {
        counts.pages++;
        if (!inRound) early.add(e, line);
        else open.pages++;
      }
    },
  };
}

const B38: CheckFactory = () => {
  const r = rounds();
  return {
    uses: ["chain", "features"],
    ordered: true,
    begin: () => r.begin(),
    step: (s) => r.step(s),
    result() {
      if (r.counts.pages === 0) return unseen("no pages hinted on free_page_vq in the trace");
      return r.early.n > 0
        ? fail(
          `${count(r.early.n, "hint")} made available outside a round started by an out buffer`,
          r.early,
        )
        : pass(
          `${count(r.counts.pages, "hint")} in ${
            count(r.counts.rounds, "round")
          }, each round started by an out buffer (the id's value is not in the log)`,
        );
    },
  };
};

const B42: CheckFactory = () => {
  const r = rounds();
  const bad = new Evidence();
  return {
    uses: ["chain", "notify", "config-read", "features"],
    ordered: true,
    begin: () => r.begin(),
    step: (s) => r.step(s),
    end() {
      // a round with pages still open at the session's end, after which the driver went on
      // doing other things: it never sent its STOP
      if (r.open.e !== undefined && r.open.pages > 0 && r.counts.after > 0) {
        bad.add(r.open.e, r.open.line);
      }
      r.begin();
    },
    result() {
      if (r.counts.closed === 0 && bad.n === 0) {
        return unseen("no hint round with pages ended in the trace");
      }
      return bad.n > 0
        ? fail(`${count(bad.n, "round")} with pages never ended by an out buffer (STOP)`, bad)
        : pass(`${count(r.counts.closed, "round")} with pages, each ended by an out buffer (STOP)`);
    },
  };
};

/** What a chain on each queue is made of: device-readable parts, device-writable parts, or either (not both). */
const SHAPES: Readonly<Record<QueueName, "readable" | "writable" | "either">> = {
  inflateq: "readable",
  deflateq: "readable",
  statsq: "readable",
  miscq: "either",
  free_page_vq: "either",
  reporting_vq: "writable",
};

const S11: CheckFactory = (ctx) => {
  const bad = new Evidence();
  let n = 0;
  return {
    uses: ["chain", "features"],
    ordered: false,
    step({ e, line, role }) {
      if (e.type !== "chain" || role === undefined) return;
      n++;
      const shape = SHAPES[role];
      const fits = shape === "readable"
        ? e.readable > 0 && e.writable === 0
        : shape === "writable"
        ? e.readable === 0 && e.writable > 0
        : (e.readable > 0) !== (e.writable > 0);
      if (!fits) bad.add(e, line);
    },
    result() {
      if (ctx.negotiated === undefined) {
        return unseen("the trace does not give the negotiated features");
      }
      if (n === 0) return unseen("no buffer in the trace");
      return bad.n > 0
        ? fail(
          `${
            count(bad.n, "buffer")
          } on a queue whose dense index gives another role (its descriptors do not fit)`,
          bad,
        )
        : pass(
          `${
            count(n, "buffer")
          } on queues numbered densely by the negotiated features, each fitting its queue's role`,
        );
    },
  };
};

/** The checks of this family, by rule id. */
export const STANDARD_CHECKS: Readonly<Record<string, CheckFactory>> = {
  "S-09": S09,
  B38,
  B42,
  "S-11": S11,
};
