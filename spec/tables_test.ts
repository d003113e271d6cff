import assert from "node:assert/strict";
import { CONSTANTS, constantValue, ENUMS } from "./constants.ts";
import {
  BALLOON_FEATURES,
  featureCollisions,
  featureMask,
  featureNames,
  featuresOf,
  hasFeature,
  unknownBits,
} from "./features.ts";
import { queueLayout, seedAsPostedQueueCount } from "./queues.ts";
import type { FeatureName, ProfileId } from "./types.ts";

const PROFILES: ProfileId[] = ["v3", "virtio-1.x"];

Deno.test("each profile gives every bit at most one feature, and dependencies stay inside the profile", () => {
  for (const p of PROFILES) {
    const bits = featuresOf(p).map((f) => f.bit);
    assert.equal(new Set(bits).size, bits.length, p);
    for (const f of featuresOf(p)) {
      for (const r of f.requires) {
        assert.ok(featuresOf(p).some((x) => x.name === r), `${f.name}→${r}`);
      }
    }
  }
});

Deno.test("bits 3 and 4 collide between the profiles, bits 0–2 do not", () => {
  const c = featureCollisions();
  assert.deepEqual(c.map((x) => [x.bit, x.v3, x.standard]), [
    [3, "PAGE_BITMAP", "FREE_PAGE_HINT"],
    [4, "MISC_VQ", "PAGE_POISON"],
  ]);
  const base = BALLOON_FEATURES.filter((f) => f.bit <= 2);
  assert.ok(base.every((f) => f.profiles.length === 2));
});

Deno.test("feature masks translate names to bits per profile", () => {
  const m = featureMask("v3", ["MUST_TELL_HOST", "PAGE_BITMAP", "VERSION_1"]);
  assert.equal(m, (1n << 32n) | 0b1001n);
  assert.deepEqual(featureNames("virtio-1.x", m), [
    "MUST_TELL_HOST",
    "FREE_PAGE_HINT",
    "VERSION_1",
  ]);
  assert.equal(hasFeature("v3", m, "PAGE_BITMAP"), true);
  assert.equal(hasFeature("virtio-1.x", m, "PAGE_BITMAP"), false);
  assert.deepEqual(unknownBits("v3", m | (1n << 5n) | (1n << 50n)), [5, 50]);
});

function layout(p: ProfileId, f: FeatureName[], model?: "fixed"): string {
  return queueLayout(p, new Set(f), model).map((q) => `${q.index}:${q.name}`).join(" ");
}

Deno.test("virtio-1.x queue indices are compacted like Linux and QEMU (SPEC-DIGEST §1.4)", () => {
  assert.equal(layout("virtio-1.x", []), "0:inflateq 1:deflateq");
  assert.equal(layout("virtio-1.x", ["FREE_PAGE_HINT"]), "0:inflateq 1:deflateq 2:free_page_vq");
  assert.equal(layout("virtio-1.x", ["PAGE_REPORTING"]), "0:inflateq 1:deflateq 2:reporting_vq");
  assert.equal(
    layout("virtio-1.x", ["STATS_VQ", "FREE_PAGE_HINT", "PAGE_REPORTING"]),
    "0:inflateq 1:deflateq 2:statsq 3:free_page_vq 4:reporting_vq",
  );
  assert.equal(
    layout("virtio-1.x", ["PAGE_REPORTING"], "fixed"),
    "0:inflateq 1:deflateq 4:reporting_vq",
  );
});

Deno.test("v3 puts miscq at index 3 behind statsq; the seed as posted asks for 4 queues without STATS_VQ (D-10)", () => {
  assert.equal(layout("v3", ["STATS_VQ", "MISC_VQ"]), "0:inflateq 1:deflateq 2:statsq 3:miscq");
  assert.equal(layout("v3", ["STATS_VQ", "PAGE_BITMAP"]), "0:inflateq 1:deflateq 2:statsq");
  assert.equal(seedAsPostedQueueCount(new Set(["MISC_VQ"])), 4);
  assert.equal(seedAsPostedQueueCount(new Set(["STATS_VQ"])), 3);
  assert.equal(seedAsPostedQueueCount(new Set([])), 2);
});

Deno.test("derived constants agree with the seed's worked numbers", () => {
  assert.equal(constantValue("BALLOON_BMAP_SIZE"), 32768);
  assert.equal(constantValue("PFNS_PER_BMAP"), 262144);
  assert.equal(constantValue("BALLOON_BMAP_MAX_WINDOW"), 8_388_608);
  assert.equal(constantValue("BALLOON_BMAP_MAX_BYTES"), 1 << 20);
  assert.equal(new Set(CONSTANTS.map((c) => c.name)).size, CONSTANTS.length);
});

Deno.test("enum members have unique names and values", () => {
  for (const e of Object.values(ENUMS)) {
    const names = e.values.map((v) => v.name);
    const values = e.values.map((v) => v.value);
    assert.equal(new Set(names).size, names.length, e.name);
    assert.equal(new Set(values).size, values.length, e.name);
  }
});
