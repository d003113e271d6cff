/**
 * Trace checks of the balloon's contents, replayed from the pages each
 * inflate and deflate names: no page inflated twice (S-06), deflates name
 * balloon pages (S-07), `actual` equals what the device processed,
 * requests of at most 256 pages, OOM deflates, no deflate of an
 * inflate not yet used (B17), free page reports outside the balloon (S-08).
 *
 * The checker keeps the balloon (one page set for all of them): a reset, or a
 * fresh ACKNOWLEDGE, empties it; its contents are known from then on.
 *
 * @module
 */

import {
  hasFeature,
  OOM_VBALLOON_DEFAULT_PAGES,
  PageSet,
  VIRTIO_BALLOON_ARRAY_PFNS_MAX,
} from "../../spec/mod.ts";
import {
  type CheckFactory,
  count,
  driverStatus,
  type Ev,
  Evidence,
  fail,
  pass,
  runPages,
  unreplayable,
  unseen,
} from "./check_kit.ts";
import type { TraceEvent } from "./format.ts";

const B17: CheckFactory = (ctx) => {
  // pages of inflate requests the device has not used yet, by element. Only a deflate
  // taken while an inflate is outstanding can show the driver's order: a device that
  // uses each inflate at once (QEMU) never lets it show.
  const inflight = new Map<string, PageSet>();
  const bad = new Evidence();
  let n = 0;
  return {
    uses: ["status", "chain", "used", "features"],
    ordered: true,
    step({ e, line, role, pages }) {
      if (e.type === "status" && e.value === 0) inflight.clear();
      if (e.type === "used" && role === "inflateq") inflight.delete(e.elem);
      if (e.type !== "chain" || pages === undefined) return;
      if (role === "inflateq") inflight.set(e.elem, pages);
      if (role !== "deflateq" || inflight.size === 0) return;
      n++;
      if ([...inflight.values()].some((p) => p.intersectionSize(pages) > 0)) bad.add(e, line);
    },
    result() {
      const why = unreplayable(ctx);
      if (why !== undefined) return unseen(why);
      if (n === 0) {
        return unseen(
          "no deflate request was taken while an inflate was outstanding (the device used each inflate at once): the driver's order cannot show",
        );
      }
      return bad.n > 0
        ? fail(
          `${
            count(bad.n, "deflate request")
          } name pages of an inflate request the device had not used yet`,
          bad,
        )
        : pass(
          `${
            count(n, "deflate request")
          } taken while an inflate was outstanding, none naming its pages`,
        );
    },
  };
};

const S06: CheckFactory = (ctx) => {
  const bad = new Evidence();
  let n = 0;
  return {
    uses: ["status", "chain", "features"],
    ordered: true,
    step({ e, line, role, pages, balloon }) {
      if (e.type !== "chain" || role !== "inflateq" || pages === undefined) return;
      n++;
      // a page already in the balloon, or named twice in this request
      const runs = e.pages ?? [];
      if (pages.intersectionSize(balloon) > 0 || pages.size < runPages(runs)) bad.add(e, line);
    },
    result() {
      const why = unreplayable(ctx);
      if (why !== undefined) return unseen(why);
      if (n === 0) return unseen("no inflate request in the trace");
      return bad.n > 0
        ? fail(
          `${count(bad.n, "inflate request")} name pages already in the balloon (or twice)`,
          bad,
        )
        : pass(`${count(n, "inflate request")}, each page new to the balloon`);
    },
  };
};

const S07: CheckFactory = (ctx) => {
  const bad = new Evidence();
  let n = 0;
  return {
    uses: ["status", "chain", "features"],
    ordered: true,
    step({ e, line, role, pages, balloon, known }) {
      // before the balloon's contents are known, a deflate may name pages inflated earlier
      if (!known || e.type !== "chain" || role !== "deflateq" || pages === undefined) return;
      n++;
      if (pages.intersectionSize(balloon) < pages.size) bad.add(e, line);
    },
    result() {
      const why = unreplayable(ctx);
      if (why !== undefined) return unseen(why);
      if (n === 0) {
        return unseen(
          "no deflate request after a reset (before one, the balloon's contents are unknown)",
        );
      }
      return bad.n > 0
        ? fail(`${count(bad.n, "deflate request")} name pages that are not in the balloon`, bad)
        : pass(`${count(n, "deflate request")}, each naming balloon pages`);
    },
  };
};

const R06: CheckFactory = (ctx) => {
  const bad = new Evidence();
  let n = 0;
  return {
    uses: ["status", "chain", "config-write", "features"],
    ordered: true,
    step({ e, line, balloon, known }) {
      // before the balloon's contents are known, actual may count pages inflated earlier
      if (!known || e.type !== "config-write" || e.field !== "actual") return;
      n++;
      if (e.value !== balloon.size) bad.add(e, line);
    },
    result() {
      const why = unreplayable(ctx);
      if (why !== undefined) return unseen(why);
      if (n === 0) {
        return unseen(
          "no write of actual after a reset (before one, the balloon's contents are unknown)",
        );
      }
      if (bad.n > 0) {
        return fail(
          `${
            count(bad.n, "write")
          } of actual differ from the pages the device processed (first: actual ${
            (bad.first as Ev<"config-write">).value
          })`,
          bad,
        );
      }
      return pass(`${count(n, "write")} of actual, each equal to the pages the device processed`);
    },
  };
};

const R07: CheckFactory = () => {
  const bad = new Evidence();
  let n = 0;
  return {
    uses: ["chain", "features"],
    ordered: false,
    step({ e, line, role }) {
      if (e.type !== "chain" || e.pages === undefined) return;
      if (role !== "inflateq" && role !== "deflateq") return;
      n++;
      if (runPages(e.pages) > VIRTIO_BALLOON_ARRAY_PFNS_MAX) bad.add(e, line);
    },
    result() {
      if (n === 0) return unseen("no inflate or deflate request in the trace");
      return bad.n > 0
        ? fail(
          `${count(bad.n, "request")} name more than ${VIRTIO_BALLOON_ARRAY_PFNS_MAX} pages`,
          bad,
        )
        : pass(`${count(n, "request")} of at most ${VIRTIO_BALLOON_ARRAY_PFNS_MAX} pages`);
    },
  };
};

/** One OOM deflate: pages taken, and its first deflate request. */
interface OomPass {
  pages: number;
  readonly e: TraceEvent;
  readonly line: number;
}

const R13: CheckFactory = (ctx) => {
  // An OOM deflate: deflate requests the driver was not asked for (the target it last
  // read, num_pages, at or above the balloon), closed by a write of actual lower than
  // the last one. Not one: balloon-page migration (a deflate right after an inflate,
  // actual unchanged), nor a run that empties the balloon followed by nothing of the
  // driver's but config traffic and deflates before a reset (remove, freeze). The last
  // closed run stays tentative until the next closes or its session ends.
  let read: number | undefined;
  let host: number | undefined;
  let actual: number | undefined;
  let afterInflate = false;
  let open: OomPass | undefined;
  let closed: (OomPass & { emptied: boolean; quiet: boolean }) | undefined;
  const all = new Evidence();
  const big = new Evidence();
  let largest = 0;
  let unknownTarget = 0;
  const commit = () => {
    if (closed === undefined) return;
    all.add(closed.e, closed.line);
    if (closed.pages > OOM_VBALLOON_DEFAULT_PAGES) {
      big.add(closed.e, closed.line);
      largest = Math.max(largest, closed.pages);
    }
    closed = undefined;
  };
  return {
    uses: ["status", "chain", "notify", "config-read", "config-write", "host", "features"],
    ordered: true,
    step({ e, line, role, pages, balloon, known }) {
      if (e.type === "status" && e.value === 0) {
        if (closed !== undefined && closed.emptied && closed.quiet) closed = undefined;
        commit();
        open = undefined;
        actual = undefined;
        afterInflate = false;
        return;
      }
      if (e.type === "host" && e.action === "set-target" && e.pages !== undefined) host = e.pages;
      if (e.type === "config-read") read = e.num_pages;
      // before the balloon's contents are known, nothing tells requested from OOM
      if (!known) return;
      // a driver action other than config traffic or deflates: the next reset is no remove
      const teardown = e.type === "config-read" || e.type === "config-write" ||
        ((e.type === "chain" || e.type === "notify") && role === "deflateq");
      const driver = e.type === "notify" || e.type === "chain" || driverStatus(e);
      if (closed !== undefined && driver && !teardown) closed.quiet = false;
      if (e.type === "config-write" && e.field === "actual") {
        if (open !== undefined && actual !== undefined && e.value < actual) {
          commit();
          closed = { ...open, emptied: e.value === 0, quiet: true };
        }
        open = undefined;
        actual = e.value;
        afterInflate = false;
      }
      if (e.type === "chain" && role === "inflateq") {
        open = undefined;
        afterInflate = true;
      }
      if (e.type === "chain" && role === "deflateq" && pages !== undefined) {
        if (afterInflate) {
          // balloon-page migration: the new page inflated, the old one deflated
          afterInflate = false;
          return;
        }
        const target = read ?? host;
        if (target === undefined) {
          unknownTarget++;
          return;
        }
        if (target < balloon.size) return;
        open ??= { pages: 0, e, line };
        open.pages += pages.size;
      }
    },
    result() {
      commit();
      const why = unreplayable(ctx);
      if (why !== undefined) return unseen(why);
      if (all.n === 0) {
        return unseen(
          unknownTarget > 0
            ? `${
              count(unknownTarget, "deflate request")
            } without a known target (no set-target or config read before them)`
            : "the guest never deflated on its own (no OOM deflate in the trace)",
        );
      }
      const doom = ctx.negotiated === undefined
        ? undefined
        : hasFeature(ctx.profile, ctx.negotiated, "DEFLATE_ON_OOM");
      if (doom === false) {
        return fail(`the guest deflated on its own ${all.n} times without DEFLATE_ON_OOM`, all);
      }
      return big.n > 0
        ? fail(
          `${
            count(big.n, "OOM deflate")
          } took more than ${OOM_VBALLOON_DEFAULT_PAGES} pages (largest ${largest})`,
          big,
        )
        : pass(
          `${count(all.n, "OOM deflate")} of at most ${OOM_VBALLOON_DEFAULT_PAGES} pages${
            doom === undefined ? " (features not in the trace)" : " with DEFLATE_ON_OOM"
          }`,
        );
    },
  };
};

const S08: CheckFactory = () => {
  const bad = new Evidence();
  let n = 0;
  let unmapped = 0;
  return {
    uses: ["status", "chain", "report", "features"],
    ordered: true,
    step({ e, line, pages, balloon }) {
      if (e.type !== "report") return;
      if (e.pages.length === 0 || pages === undefined) {
        unmapped++;
        return;
      }
      n++;
      if (pages.intersectionSize(balloon) > 0) bad.add(e, line);
    },
    result() {
      if (n === 0) {
        return unseen(
          unmapped > 0
            ? `${count(unmapped, "report")} whose pages the trace does not give`
            : "no free page report in the trace",
        );
      }
      return bad.n > 0
        ? fail(`${count(bad.n, "free page report")} overlap the balloon`, bad)
        : pass(`${count(n, "free page report")}, none overlapping the balloon`);
    },
  };
};

/** The checks of this family, by rule id. */
export const BALLOON_CHECKS: Readonly<Record<string, CheckFactory>> = {
  B17,
  "S-06": S06,
  "S-07": S07,
  "R-06": R06,
  "R-07": R07,
  "R-13": R13,
  "S-08": S08,
};
