import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import {
  BITMAP_LAYOUTS,
  BITMAP_PAYLOAD,
  conditionFeatures,
  decodeBitmapRequest,
  decodePfnArray,
  decodeStruct,
  describeCondition,
  evaluateCondition,
  type FeatureName,
  type FieldValue,
  findFeature,
  PFN_ARRAY,
  type ProfileId,
  ProtocolError,
  rule,
  type StructContext,
  type StructName,
  STRUCTS,
} from "../spec/mod.ts";
import { buildVectors, toJson, type Vector, vectorSchema } from "./vectors_gen.ts";

const file = buildVectors();

function bytesOf(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function jsonOf(values: Record<string, FieldValue>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(values, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

function decode(v: Vector): unknown {
  const bytes = bytesOf(v.hex);
  if (v.kind === "struct") {
    return jsonOf(decodeStruct(v.struct as StructName, bytes, {
      order: v.byteOrder,
      profile: v.profile as ProfileId,
      context: v.context as StructContext,
    }));
  }
  if (v.kind === "pfn_array") {
    return decodePfnArray(bytes, {
      order: v.byteOrder,
      ...(v.guestPfns === undefined ? {} : { guestPfns: v.guestPfns }),
    });
  }
  const layout = BITMAP_LAYOUTS.find((l) => l.name === v.layout);
  assert.ok(layout, `unknown layout ${v.layout}`);
  const r = decodeBitmapRequest(bytes, {
    order: v.byteOrder,
    context: v.context as "inflate" | "deflate" | "misc-reply",
    layout,
    ...(v.guestPfns === undefined ? {} : { guestPfns: v.guestPfns }),
  });
  return [...r.pages.runs()].map((x) => [x.start, x.length]);
}

Deno.test("the vector file matches its JSON Schema", () => {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  const validate = ajv.compile(vectorSchema());
  const ok = validate(JSON.parse(toJson(file)));
  assert.ok(ok, JSON.stringify(validate.errors?.slice(0, 3)));
  // and the schema is not vacuous: a broken file fails it
  assert.equal(validate({ ...file, version: 99 }), false);
  const bad = { ...file, vectors: [{ ...file.vectors[0], hex: "xyz" }] };
  assert.equal(validate(JSON.parse(JSON.stringify(bad))), false);
  const noError = {
    ...file,
    vectors: [{ ...file.vectors.find((v) => !v.valid), error: undefined }],
  };
  assert.equal(validate(JSON.parse(JSON.stringify(noError))), false);
});

Deno.test("vector ids are unique", () => {
  const ids = file.vectors.map((v) => v.id);
  assert.equal(new Set(ids).size, ids.length);
});

Deno.test("our decoders accept every valid vector and reject every invalid one with its error", () => {
  for (const v of file.vectors) {
    if (v.valid) {
      const got = decode(v);
      const want = v.kind === "struct" ? v.values : v.kind === "pfn_array" ? v.pfns : v.runs;
      assert.deepEqual(got, want, v.id);
    } else {
      try {
        decode(v);
        assert.fail(`${v.id} decoded without error`);
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `${v.id}: ${e}`);
        const err = e.toJSON();
        assert.deepEqual(
          {
            code: err.code,
            struct: err.struct,
            field: err.field,
            offset: err.offset,
            rule: err.rule,
          },
          { ...v.error, rule: v.error?.rule },
          v.id,
        );
      }
    }
  }
});

/** The features a condition names, with everything they require. */
function withRequired(profile: ProfileId, names: readonly FeatureName[]): Set<FeatureName> {
  const out = new Set<FeatureName>();
  const add = (n: FeatureName) => {
    if (out.has(n)) return;
    out.add(n);
    for (const r of findFeature(profile, n)?.requires ?? []) add(r);
  };
  names.forEach(add);
  return out;
}

Deno.test("each invalid vector cites a rule of its struct or payload that applies to its use", () => {
  let n = 0;
  for (const v of file.vectors) {
    const cited = v.error?.rule;
    if (v.valid || cited === undefined) continue;
    n++;
    const r = rule(cited);
    if (v.profile !== undefined) {
      assert.ok(
        r.profiles.includes(v.profile as ProfileId),
        `${v.id}: ${cited} is not a ${v.profile} rule`,
      );
    }
    if (v.kind !== "struct") {
      const p = v.kind === "pfn_array" ? PFN_ARRAY : BITMAP_PAYLOAD;
      assert.ok(p.rules.includes(cited), `${v.id}: ${cited} is not among ${p.name}'s rules`);
      continue;
    }
    const def = STRUCTS[v.struct as StructName];
    assert.ok(
      def.rules.includes(cited) || def.lengthRule === cited,
      `${v.id}: ${cited} is not among ${def.name}'s rules (${def.rules.join(", ")})`,
    );
    // the rule must hold wherever this use occurs: with only the features the use needs
    const use = def.usedWhen?.[v.context as StructContext] ?? { always: true };
    const negotiated = withRequired(v.profile as ProfileId, conditionFeatures(use));
    assert.notEqual(
      evaluateCondition(r.condition, { negotiated }),
      false,
      `${v.id}: cites ${cited} (when ${
        describeCondition(r.condition)
      }), but a ${v.context} ${def.name} is used ${describeCondition(use)}`,
    );
  }
  assert.ok(n > 50, `${n} invalid vectors cite a rule`);
});

Deno.test("the checked-in vectors are up to date (deno task vectors)", async () => {
  const dir = new URL("../vectors/", import.meta.url);
  assert.equal(await Deno.readTextFile(new URL("vectors.json", dir)), toJson(file));
  assert.equal(
    await Deno.readTextFile(new URL("vectors.schema.json", dir)),
    toJson(vectorSchema()),
  );
});
