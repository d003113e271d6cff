/**
 * A conformance suite for the virtio memory balloon: the protocol as tables
 * (`./spec`), a reference driver, split virtqueue and device (`./impl`), and a
 * table-driven suite that checks drivers and devices against every rule
 * (`./conformance`).
 *
 * Two profiles share the base balloon: `v3`, the 2016 "fast (de)inflating &
 * fast live migration" proposal (PAGE_BITMAP, MISC_VQ), and `virtio-1.x`, the
 * standard balloon (FREE_PAGE_HINT, PAGE_POISON, PAGE_REPORTING).
 *
 * @example
 * ```ts
 * import { featureCollisions, rule } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(rule("R-12a").level, "MUST NOT");
 * assert.deepEqual(featureCollisions().map((c) => c.bit), [3, 4]);
 * ```
 *
 * @module
 */

export * from "./spec/mod.ts";
