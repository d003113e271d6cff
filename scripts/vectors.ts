/**
 * `deno task vectors`: writes vectors/vectors.json and vectors/vectors.schema.json
 * from the spec tables. With `--check`, only reports whether the checked-in
 * files are up to date (exit 1 when stale).
 *
 * @module
 */

import { buildVectors, toJson, vectorSchema } from "./vectors_gen.ts";

const files: [URL, string][] = [
  [new URL("../vectors/vectors.json", import.meta.url), toJson(buildVectors())],
  [new URL("../vectors/vectors.schema.json", import.meta.url), toJson(vectorSchema())],
];

const check = Deno.args.includes("--check");
let stale = 0;
for (const [url, text] of files) {
  let old: string | undefined;
  try {
    old = await Deno.readTextFile(url);
  } catch {
    old = undefined;
  }
  if (old === text) continue;
  stale++;
  if (check) console.error(`stale: ${url.pathname} (run deno task vectors)`);
  else await Deno.writeTextFile(url, text);
}
if (check && stale > 0) Deno.exit(1);
console.log(check ? "vectors are up to date" : `wrote ${files.length} files (${stale} changed)`);
