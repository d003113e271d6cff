/**
 * The before/after equivalence record of the whole suite: the `--list`
 * output of every target and the full `--target all` JSON report, minus
 * timings, of profile v3 (`list.txt`, `report.jsonl.gz`) and of profile
 * virtio-1.x (`list-virtio-1.x.txt`, `report-virtio-1.x.jsonl.gz`). A refactoring must leave both identical;
 * `conformance/equivalence_test.ts` compares the live suite against the
 * record in `conformance/testdata/equivalence/`.
 *
 * `deno task equivalence --write` rewrites the record: do that only in a
 * commit that changes verdicts, findings or case listings on purpose, and say
 * so in its message.
 *
 * @module
 */

/** The CLI entry point the record is taken through. */
export const CLI_ENTRY = new URL("../conformance/cli/main.ts", import.meta.url);

/** Where the record lives. */
export const RECORD_DIR = new URL("../conformance/testdata/equivalence/", import.meta.url);

/** Fields that carry time, dropped before comparing. */
const TIMING = new Set(["ms", "startedAt", "finishedAt"]);

async function conform(args: readonly string[]): Promise<string> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", CLI_ENTRY.pathname, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code > 1) {
    throw new Error(
      `conform ${args.join(" ")} exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return text;
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      if (!TIMING.has(k)) out[k] = strip((value as Record<string, unknown>)[k]);
    }
    return out;
  }
  return value;
}

/** The profiles the record holds, and the suffix of their files. */
export const RECORDED: readonly { readonly profile: string; readonly suffix: string }[] = [
  { profile: "v3", suffix: "" },
  { profile: "virtio-1.x", suffix: "-virtio-1.x" },
];

/** The record of one profile as text: the listing, and the report as one JSON line per result. */
export async function takeRecord(
  profile = "v3",
): Promise<{ list: string; report: string }> {
  const list = await conform(["--profile", profile, "--list", "--target", "all"]);
  const dir = await Deno.makeTempDir({ prefix: "equivalence-" });
  try {
    await conform(["--profile", profile, "--target", "all", "--report", "json", "--out", dir]);
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/report.json`)) as Record<
      string,
      unknown
    >;
    const results = (doc["results"] ?? []) as unknown[];
    delete doc["results"];
    const lines = [JSON.stringify(strip(doc)), ...results.map((r) => JSON.stringify(strip(r)))];
    return { list, report: lines.join("\n") + "\n" };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Reads a gzip file as text. */
export async function gunzipFile(url: URL): Promise<string> {
  const bytes = await Deno.readFile(url);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

if (import.meta.main) {
  if (!Deno.args.includes("--write")) {
    console.error(
      "usage: deno task equivalence --write   (rewrites conformance/testdata/equivalence/)",
    );
    Deno.exit(2);
  }
  await Deno.mkdir(RECORD_DIR, { recursive: true });
  for (const { profile, suffix } of RECORDED) {
    const { list, report } = await takeRecord(profile);
    await Deno.writeTextFile(new URL(`list${suffix}.txt`, RECORD_DIR), list);
    await Deno.writeFile(new URL(`report${suffix}.jsonl.gz`, RECORD_DIR), await gzip(report));
    console.log(
      `wrote ${new URL(`list${suffix}.txt`, RECORD_DIR).pathname} and report${suffix}.jsonl.gz (${
        report.split("\n").length - 2
      } results)`,
    );
  }
}
