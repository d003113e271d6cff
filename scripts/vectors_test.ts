import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import {
  BITMAP_LAYOUTS,
  decodeBitmapRequest,
  decodePfnArray,
  decodeStruct,
  type FieldValue,
  type ProfileId,
  ProtocolError,
  type StructContext,
  type StructName,
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

Deno.test("the checked-in vectors are up to date (deno task vectors)", async () => {
  const dir = new URL("../vectors/", import.meta.url);
  assert.equal(await Deno.readTextFile(new URL("vectors.json", dir)), toJson(file));
  assert.equal(
    await Deno.readTextFile(new URL("vectors.schema.json", dir)),
    toJson(vectorSchema()),
  );
});
