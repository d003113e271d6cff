/**
 * Driver cases of PAGE_BITMAP: the header fields (generated from the
 * struct table, per use), chain lengths, new pages only, the bit layout,
 * windows beyond 1 GiB and 32 GiB.
 *
 * @module
 */

import type { CaseDef } from "../../model/types.ts";
import { driverCase } from "../define.ts";
import { bitmapChainLength, bitmapNewPagesOnly } from "../../checks/driver/bitmap.ts";
import { actualEqualsBalloon } from "../../checks/driver/config_actual.ts";
import { inflateAllocated } from "../../checks/driver/inflate_deflate.ts";
import {
  DRV_BITMAP_BEYOND_1GIB,
  DRV_BITMAP_BEYOND_32GIB,
  DRV_BITMAP_CYCLE,
  DRV_BITMAP_LEGACY_BE,
  DRV_BITMAP_ONE_BY_ONE,
} from "../../scenarios/driver.ts";

import { checksFor, type StructContext, STRUCTS } from "../../../spec/mod.ts";
import { bitmapHeaderField } from "../../checks/driver/bitmap.ts";
import { DRV_MISC } from "../../scenarios/driver.ts";

/** Written driver cases of this family. */
export const BITMAP_CASES: readonly CaseDef[] = [
  driverCase({
    id: "inflate.bitmap.new-pages-only",
    title: "Each pass reports exactly its new pages, each once",
    scenario: DRV_BITMAP_CYCLE,
    check: bitmapNewPagesOnly,
    rules: ["R-08"],
    needs: ["PAGE_BITMAP"],
  }),
  driverCase({
    id: "inflate.bitmap.chain-length",
    title: "Inflate chains hold header + bmap_len bytes in ceil(bmap_len / 32 KiB) chunks",
    scenario: DRV_BITMAP_CYCLE,
    check: bitmapChainLength,
    rules: ["R-08"],
    needs: ["PAGE_BITMAP"],
    params: { what: "inflate" },
  }),
  driverCase({
    id: "deflate.bitmap.chain-length",
    title: "Deflate chains hold header + bmap_len bytes",
    scenario: DRV_BITMAP_CYCLE,
    check: bitmapChainLength,
    rules: ["R-11", "R-08"],
    needs: ["PAGE_BITMAP"],
    params: { what: "deflate" },
  }),
  driverCase({
    id: "bitmap.layout.lsb-first",
    title: "Bitmap bits are LSB-first: the pages they name are the pages inflated",
    scenario: DRV_BITMAP_CYCLE,
    check: inflateAllocated,
    rules: ["S-04"],
    needs: ["PAGE_BITMAP"],
  }),
  driverCase({
    id: "inflate.bitmap.single-pages",
    title: "Single-page passes each send their page",
    scenario: DRV_BITMAP_ONE_BY_ONE,
    check: actualEqualsBalloon,
    rules: ["R-08", "R-06"],
  }),
  driverCase({
    id: "windows.beyond-1gib.chain-length",
    title: "A window wider than 1 GiB: several chunks, header + bmap_len bytes",
    scenario: DRV_BITMAP_BEYOND_1GIB,
    check: bitmapChainLength,
    rules: ["R-08"],
    params: { what: "inflate" },
  }),
  driverCase({
    id: "windows.beyond-1gib.new-pages-only",
    title: "A window wider than 1 GiB reports exactly the new pages",
    scenario: DRV_BITMAP_BEYOND_1GIB,
    check: bitmapNewPagesOnly,
    rules: ["R-08"],
  }),
  driverCase({
    id: "windows.beyond-32gib.new-pages-only",
    title: "A 33 GiB guest: several 32 GiB windows report exactly the new pages",
    scenario: DRV_BITMAP_BEYOND_32GIB,
    check: bitmapNewPagesOnly,
    rules: ["R-08"],
  }),
  driverCase({
    id: "windows.beyond-32gib.chain-length",
    title: "Windows past 32 GiB: at most 32 chunks, header + bmap_len bytes",
    scenario: DRV_BITMAP_BEYOND_32GIB,
    check: bitmapChainLength,
    rules: ["R-08"],
    params: { what: "inflate" },
  }),
  driverCase({
    id: "windows.beyond-32gib.actual",
    title: "actual matches the host after windows past 32 GiB",
    scenario: DRV_BITMAP_BEYOND_32GIB,
    check: actualEqualsBalloon,
    rules: ["R-06"],
  }),
  driverCase({
    id: "legacy.be.layout",
    title: "A big-endian legacy guest's bitmaps name the pages it inflated",
    scenario: DRV_BITMAP_LEGACY_BE,
    check: inflateAllocated,
    rules: ["S-04", "B35"],
    needs: ["PAGE_BITMAP"],
  }),
];

/** Generated: one case per bitmap-header field check, per use (inflate, deflate, misc reply). */
function headerCases(): CaseDef[] {
  const out: CaseDef[] = [];
  const uses: [StructContext, typeof DRV_BITMAP_CYCLE, string][] = [
    ["inflate", DRV_BITMAP_CYCLE, "inflate"],
    ["deflate", DRV_BITMAP_CYCLE, "deflate"],
    ["misc-reply", DRV_MISC, "misc"],
  ];
  for (const [context, scenario, area] of uses) {
    for (const f of STRUCTS.balloon_bmap_hdr.fields) {
      const checks = checksFor(f, context);
      if (checks.length === 0) continue;
      out.push(driverCase({
        id: `${area}.header.${f.name}`,
        title: `${context} headers: ${f.name} is legal (${checks.map((x) => x.rule).join(", ")})`,
        scenario,
        check: bitmapHeaderField,
        rules: [...new Set(checks.map((x) => x.rule))],
        params: { field: f.name, context },
        generated: true,
      }));
    }
  }
  return out;
}

/** Generated bitmap-header cases. */
export const BITMAP_HEADER_CASES: readonly CaseDef[] = headerCases();
