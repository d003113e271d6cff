/**
 * `deno task spec-doc`: writes docs/SPEC.md from the spec tables. With
 * `--check`, only reports whether the checked-in file is up to date.
 *
 * @module
 */

import { renderSpecDoc } from "./spec_doc_gen.ts";

const url = new URL("../docs/SPEC.md", import.meta.url);
const text = renderSpecDoc();
let old: string | undefined;
try {
  old = await Deno.readTextFile(url);
} catch {
  old = undefined;
}
if (Deno.args.includes("--check")) {
  if (old !== text) {
    console.error(`stale: ${url.pathname} (run deno task spec-doc)`);
    Deno.exit(1);
  }
  console.log("docs/SPEC.md is up to date");
} else {
  if (old !== text) await Deno.writeTextFile(url, text);
  console.log(`wrote docs/SPEC.md (${text.length} bytes${old === text ? ", unchanged" : ""})`);
}
