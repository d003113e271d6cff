import assert from "node:assert/strict";
import { readLines, textLines } from "./lines.ts";

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function withFile(content: Uint8Array, fn: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ prefix: "lines-test-" });
  try {
    await Deno.writeFile(path, content);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

type Got = [string, number, boolean, boolean][];

async function read(path: string, chunkBytes: number, maxLineChars = 2 ** 20) {
  const got: Got = [];
  const r = await readLines(path, (l, n, i) => got.push([l, n, i.cut, i.unterminated]), {
    chunkBytes,
    maxLineChars,
  });
  return { got, r };
}

const TEXT = "first line\nsecond, with ünïcödé\n\nfourth\r\nlast without newline";

Deno.test("readLines gives the same lines for any chunk size, plain and gzip, multi-byte characters across chunks", async () => {
  const want: Got = [];
  textLines(TEXT, (l, n, i) => want.push([l, n, i.cut, i.unterminated]));
  assert.deepEqual(want.map((x) => x[0]), [
    "first line",
    "second, with ünïcödé",
    "",
    "fourth\r",
    "last without newline",
  ]);
  assert.deepEqual(want.at(-1)?.slice(1), [5, false, true]);
  const bytes = new TextEncoder().encode(TEXT);
  for (const chunk of [1, 2, 3, 7, 64, 2 ** 20]) {
    await withFile(bytes, async (path) => {
      const { got, r } = await read(path, chunk);
      assert.deepEqual(got, want, `chunks of ${chunk} bytes`);
      assert.equal(r.unterminated, true);
      assert.equal(r.gzip, false);
      assert.equal(r.fileBytes, bytes.length);
    });
  }
  await withFile(await gzip(TEXT + "\n"), async (path) => {
    const { got, r } = await read(path, 5);
    assert.deepEqual(got, want.map(([l, n, c]) => [l, n, c, false]));
    assert.equal(r.gzip, true);
    assert.equal(r.unterminated, false);
    assert.equal(r.error, undefined);
  });
});

Deno.test("readLines cuts a line longer than the limit, flags it, and goes on after its newline", async () => {
  const text = `short\n${"x".repeat(100)}\nafter\n${"y".repeat(50)}`;
  await withFile(new TextEncoder().encode(text), async (path) => {
    const { got } = await read(path, 8, 20);
    assert.deepEqual(got, [
      ["short", 1, false, false],
      ["x".repeat(20), 2, true, false],
      ["after", 3, false, false],
      ["y".repeat(20), 4, true, false],
    ]);
  });
});

Deno.test("readLines: a gzip file cut short gives its lines up to the cut and names the break", async () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${"z".repeat(i % 50)}`);
  const gz = await gzip(lines.join("\n") + "\n");
  await withFile(gz.subarray(0, Math.floor(gz.length / 2)), async (path) => {
    const { got, r } = await read(path, 4096);
    assert.match(r.error ?? "", /^the gzip stream breaks off after \d+ bytes/);
    assert.ok(got.length > 1000 && got.length < lines.length, `${got.length} lines`);
    assert.deepEqual(got.slice(0, -1).map((g) => g[0]), lines.slice(0, got.length - 1));
  });
});
