import assert from "node:assert/strict";

/**
 * The rooms of conformance/, in pipeline order: a room may import only rooms
 * before it (and spec/, impl/). conformance/mod.ts's module doc lists the same
 * rooms in the same order (tested below).
 */
const ROOMS: readonly { readonly name: string }[] = [
  "model",
  "trace",
  "scenarios",
  "targets",
  "runners",
  "checks",
  "cases",
  "run",
  "adversarial",
  "report",
  "cli",
].map((name) => ({ name }));

const ROOT = new URL("./", import.meta.url);

async function sources(dir: URL, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) {
      if (e.name === "testdata") continue;
      out.push(...await sources(new URL(`${e.name}/`, dir), `${prefix}${e.name}/`));
    } else if (e.name.endsWith(".ts")) out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

function roomOf(path: string): string {
  const first = path.split("/")[0] as string;
  return path.includes("/") ? first : "";
}

function resolve(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const p of spec.split("/")) {
    if (p === "..") {
      if (parts.length === 0 || parts[parts.length - 1] === "..") parts.push("..");
      else parts.pop();
    } else if (p !== ".") parts.push(p);
  }
  return parts.join("/");
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s+(?:[^"';]*?\s+from\s+)?"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g;

Deno.test("every file of conformance/ sits in a room the module doc names", async () => {
  const rooms = new Set(ROOMS.map((r) => r.name));
  for (const f of await sources(ROOT)) {
    const room = roomOf(f);
    if (room === "") {
      assert.ok(
        ["mod.ts", "equivalence_test.ts", "rooms_test.ts", "consumer_test.ts", "readme_test.ts"]
          .includes(f),
        `${f} is outside every room`,
      );
      continue;
    }
    assert.ok(rooms.has(room), `${f} is in ${room}/, which is not a room of ROOMS`);
  }
});

Deno.test("imports run one way: no room imports a room later in the pipeline", async () => {
  const order = new Map(ROOMS.map((r, i) => [r.name, i]));
  const wrong: string[] = [];
  for (const f of await sources(ROOT)) {
    if (f.endsWith("_test.ts") || roomOf(f) === "") continue;
    const text = await Deno.readTextFile(new URL(f, ROOT));
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? "";
      if (!spec.startsWith(".")) continue;
      const target = resolve(f, spec);
      if (target.startsWith("../")) {
        // outside conformance/: spec/ and impl/ only
        assert.match(target, /^\.\.\/(spec|impl)\/mod\.ts$/, `${f} imports ${spec}`);
        continue;
      }
      const from = order.get(roomOf(f)) ?? -1;
      const to = order.get(roomOf(target)) ?? Infinity;
      if (to > from) wrong.push(`${f} imports ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("each room has a mod.ts whose module doc says what it holds and what it may import", async () => {
  for (const r of ROOMS) {
    const text = await Deno.readTextFile(new URL(`${r.name}/mod.ts`, ROOT));
    assert.match(text, /^\/\*\*[\s\S]*?@module/, `${r.name}/mod.ts has no module doc`);
    assert.match(text, /May import/, `${r.name}/mod.ts does not say what it may import`);
  }
});

Deno.test("conformance/mod.ts names the rooms in pipeline order", async () => {
  const text = await Deno.readTextFile(new URL("mod.ts", ROOT));
  const doc = text.slice(0, text.indexOf("@module"));
  const named = [...doc.matchAll(/^ \* - `([a-z-]+)\/`/gm)].map((m) => m[1]);
  assert.deepEqual(named, ROOMS.map((r) => r.name));
});
