import assert from "node:assert/strict";
import { parseTrace, type TraceEvent, type TraceHeader } from "./format.ts";
import { readMaybeGzip, TraceWriter } from "./stream.ts";

const HEADER: TraceHeader = {
  type: "header",
  format: "virtio-balloon-trace",
  version: 1,
  source: "test",
  profile: "virtio-1.x",
};

Deno.test("TraceWriter streams a trace that parses back, plain and gzip, flushed in pieces", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stream-test-" });
  try {
    const events: TraceEvent[] = Array.from({ length: 30_000 }, (_, i) => ({
      type: "chain",
      t: i,
      line: i + 1,
      queue: i % 3,
      elem: `0x${i.toString(16)}`,
      readable: 1,
      writable: 0,
      pages: [[i * 256, 256]],
    }));
    for (const name of ["t.jsonl", "t.jsonl.gz"]) {
      const w = await TraceWriter.create(`${dir}/${name}`, HEADER);
      for (const e of events) {
        w.add(e);
        if (e.t % 1000 === 0) await w.flush();
      }
      await w.close();
      const bytes = await Deno.readFile(`${dir}/${name}`);
      assert.equal(bytes[0] === 0x1f && bytes[1] === 0x8b, name.endsWith(".gz"), name);
      assert.deepEqual(parseTrace(await readMaybeGzip(`${dir}/${name}`)), {
        header: HEADER,
        events,
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
