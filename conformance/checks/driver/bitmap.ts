/**
 * Driver checks of PAGE_BITMAP requests: every header field against its
 * legal values (generated from the struct table), header + bmap_len bytes in
 * whole chunks, only new pages each once.
 *
 * @module
 */

import {
  BALLOON_BMAP_SIZE,
  checksFor,
  describeLegal,
  fieldOf,
  isLegal,
  type StructContext,
} from "../../../spec/mod.ts";
import type { Finding } from "../../model/types.ts";
import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { actualWrites, rawHeader, requests } from "../queries.ts";
import { balloonSetScan, HDR, none, order, withEvidence } from "./_shared.ts";

/** Where a bitmap request is sent. */
type BitmapUse = "inflate" | "deflate" | "misc-reply";

/** Parameters of {@link bitmapHeaderField}. */
interface HeaderFieldParams {
  /** The balloon_bmap_hdr field. */
  readonly field: string;
  /** Which use of the header (inflate, deflate, misc reply). */
  readonly context: StructContext;
}

/** Bitmap header field checks from the struct table, for one field and use. */
export const bitmapHeaderField: DriverCheckDef<HeaderFieldParams> = driverCheck<HeaderFieldParams>(
  "bitmap-header-field",
  (run, { params: p }) => {
    const field = p.field;
    const context = p.context;
    const what = context === "misc-reply"
      ? "misc-reply"
      : context === "inflate"
      ? "inflate"
      : "deflate";
    const f = fieldOf("balloon_bmap_hdr", field);
    const checks = checksFor(f, context);
    const rs = requests(run.trace, what, "rejected").filter((r) =>
      r.bytes !== undefined && r.bytes.length >= HDR &&
      (what === "misc-reply"
        ? r.queue === "miscq"
        : r.queue === (what === "inflate" ? "inflateq" : "deflateq"))
    );
    const rule = checks[0]?.rule ?? "R-15";
    if (rs.length === 0) return none(run, rule, `${context} bitmap header`);
    const out: Finding[] = [];
    for (const r of rs) {
      const h = rawHeader(r.bytes as Uint8Array, order(run));
      if (h === undefined) continue;
      for (const c of checks) {
        const v = h[field] as number | bigint;
        if (!isLegal(c.legal, v)) {
          out.push(bad(c.rule, `${context} header ${field} is ${v}`, {
            expected: describeLegal(c.legal),
            actual: String(v),
            ...withEvidence(run, r, [field]),
          }));
        }
      }
    }
    return out.length > 0
      ? out.slice(0, 3)
      : [ok(rule, `${rs.length} ${context} headers with a legal ${field}`)];
  },
  { needs: (p) => p.context === "misc-reply" ? ["MISC_VQ"] : ["PAGE_BITMAP"] },
);

/** the chain holds header + exactly bmap_len bytes, in ceil(bmap_len / 32 KiB) chunks. */
export const bitmapChainLength: DriverCheckDef<{ readonly what: BitmapUse }> = driverCheck<
  { readonly what: BitmapUse }
>("bitmap-chain-length", (run, { rule, params: p }) => {
  const what = p.what;
  const rs = requests(run.trace, what, "rejected").filter((r) =>
    r.queue === (what === "inflate" ? "inflateq" : what === "deflate" ? "deflateq" : "miscq") &&
    r.bytes !== undefined
  );
  if (rs.length === 0) return none(run, rule, `${what} bitmap request`);
  const out: Finding[] = [];
  for (const r of rs) {
    const h = rawHeader(r.bytes as Uint8Array, order(run));
    const total = (r.bytes as Uint8Array).length;
    if (h === undefined) {
      out.push(bad(rule, `a ${total}-byte chain is shorter than the ${HDR}-byte header`));
      continue;
    }
    const len = Number(h["bmap_len"]);
    if (total !== HDR + len) {
      out.push(bad(rule, `chain has ${total - HDR} bitmap bytes but bmap_len says ${len}`, {
        expected: `${HDR + len} bytes (header + bmap_len)`,
        actual: `${total}`,
        ...withEvidence(run, r, ["bmap_len"]),
      }));
      continue;
    }
    const chunks = r.readable.length - 1;
    const want = Math.ceil(len / BALLOON_BMAP_SIZE);
    if (r.readable[0] === HDR && chunks !== want) {
      out.push(
        bad(rule, `${chunks} chunk descriptors for bmap_len ${len}`, {
          expected: `${want}`,
          actual: `${chunks}`,
        }),
      );
    }
  }
  return out.length > 0
    ? out.slice(0, 3)
    : [ok(rule, `${rs.length} chains of header + bmap_len bytes`)];
}, { needs: (p) => p.what === "misc-reply" ? ["MISC_VQ"] : ["PAGE_BITMAP"] });

/** only newly allocated pages, each once; bits per pass equal the growth of actual. */
export const bitmapNewPagesOnly: DriverCheckDef = driverCheck(
  "bitmap-new-pages-only",
  (run, { rule }) => {
    const { n, out, replay } = balloonSetScan(run, "inflate", rule);
    if (n === 0) return none(run, rule, "inflate request");
    const writes = actualWrites(run.trace);
    const last = writes[writes.length - 1];
    if (last !== undefined && last.value !== replay.pages.size) {
      out.push(
        bad(
          rule,
          `the bits sent add up to ${replay.pages.size} pages but actual says ${last.value}`,
          {
            expected: `${last.value}`,
            actual: `${replay.pages.size}`,
          },
        ),
      );
    }
    return out.length > 0 ? out : [ok(rule, `${n} inflate requests, each page once`)];
  },
  { needs: () => ["PAGE_BITMAP"] },
);
