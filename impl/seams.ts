/**
 * Seams: the named points where a deviation or a seed quirk changes what the
 * reference driver or device decides. The reference behaviour of each seam is
 * plain code in the driver's and device's own files; a deviation or quirk is
 * a small set of overrides, each of which takes the implementation in effect
 * and returns its replacement (so several compose, in catalogue order).
 *
 * @example
 * ```ts
 * import { composeSeams, type SeamOverrides } from "./seams.ts";
 * import assert from "node:assert/strict";
 * interface Seams {
 *   pfnsPerRequest(): number;
 * }
 * const reference: Seams = { pfnsPerRequest: () => 256 };
 * const twice: SeamOverrides<Seams> = { pfnsPerRequest: (base) => () => 2 * base() };
 * assert.equal(composeSeams(reference, [twice]).pfnsPerRequest(), 512);
 * assert.equal(reference.pfnsPerRequest(), 256, "the reference is left alone");
 * ```
 *
 * @module
 */

/** Overrides of some seams of `S`: each takes the implementation in effect and returns its replacement. */
export type SeamOverrides<S> = { readonly [K in keyof S]?: (base: S[K]) => S[K] };

/** Applies overrides, in order, to a copy of a set of seams. */
export function composeSeams<S extends object>(
  reference: S,
  overrides: Iterable<SeamOverrides<S>>,
): S {
  const out = { ...reference };
  for (const o of overrides) {
    for (const key of Object.keys(o) as (keyof S)[]) {
      const wrap = o[key] as ((base: S[keyof S]) => S[keyof S]) | undefined;
      if (wrap !== undefined) out[key] = wrap(out[key]);
    }
  }
  return out;
}

/**
 * Joins the families of a catalogue of named overrides (deviations, quirks)
 * into one table, checking that every name of the catalogue is provided by
 * exactly one family and that no family names something the catalogue lacks.
 *
 * @example
 * ```ts
 * import { seamTable } from "./seams.ts";
 * import assert from "node:assert/strict";
 * const t = seamTable("test deviation", ["a", "b"], [{ b: 2 }, { a: 1 }]);
 * assert.deepEqual(Object.entries(t), [["a", 1], ["b", 2]]);
 * assert.throws(() => seamTable("test deviation", ["a", "b"], [{ a: 1 }]), /no seams for b/);
 * ```
 */
export function seamTable<N extends string, O>(
  kind: string,
  names: readonly N[],
  families: readonly Readonly<Partial<Record<N, O>>>[],
): Readonly<Record<N, O>> {
  const out: Partial<Record<N, O>> = {};
  const known = new Set<string>(names);
  for (const family of families) {
    for (const name of Object.keys(family) as N[]) {
      if (!known.has(name)) {
        throw new TypeError(`Cannot build the ${kind} table: ${name} is not in the catalogue`);
      }
      if (out[name] !== undefined) {
        throw new TypeError(`Cannot build the ${kind} table: ${name} is provided twice`);
      }
      out[name] = family[name];
    }
  }
  const missing = names.filter((n) => out[n] === undefined);
  if (missing.length > 0) {
    throw new TypeError(`Cannot build the ${kind} table: no seams for ${missing.join(", ")}`);
  }
  // in catalogue order, the order overrides are applied in
  return Object.fromEntries(names.map((n) => [n, out[n]])) as Record<N, O>;
}

/**
 * The entries of `table` named in `wanted`, in the table's (catalogue) order.
 * An unknown name is an error naming the option, the value and the choices.
 *
 * @example
 * ```ts
 * import { pick } from "./seams.ts";
 * import assert from "node:assert/strict";
 * const table = { a: 1, b: 2, c: 3 };
 * assert.deepEqual(pick(table, ["c", "a"], "quirks"), [1, 3]);
 * assert.throws(() => pick(table, ["d" as "a"], "quirks"), /quirks: unknown name "d"/);
 * ```
 */
export function pick<N extends string, O>(
  table: Readonly<Record<N, O>>,
  wanted: ReadonlySet<N> | readonly N[],
  option: string,
): O[] {
  const set: ReadonlySet<string> = wanted instanceof Set ? wanted : new Set(wanted);
  for (const name of set) {
    if (!Object.hasOwn(table, name)) {
      throw new TypeError(
        `Invalid ${option}: unknown name "${name}", expected one of ${
          Object.keys(table).join(", ")
        }`,
      );
    }
  }
  return (Object.keys(table) as N[]).filter((n) => set.has(n)).map((n) => table[n]);
}
