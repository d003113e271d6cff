/**
 * A testee that misbehaves on purpose, for the session's self-tests:
 * `deno run bad_testee.ts <mode> [op]` answers every request plausibly
 * (a device with no queues) until the request `op` (default `notify`),
 * where it does what `mode` says:
 * `not-json`, `missing-field` (a mem.read without addr), `wrong-version`
 * (its hello names protocol 2), `oob-read` (a mem.read beyond RAM),
 * `hang` (no reply), `crash` (exits 3 with a message on stderr),
 * `crash-once` (crashes the first time only: `BAD_TESTEE_MARK` names a
 * file it creates), `unsupported`, `errored`, `wrong-seq`, `two-outcomes`,
 * `bad-type` (a mem.read whose len is a string), `event` (an event, then
 * the reply).
 *
 * @module
 */

import { readLine } from "./stdin_lines.ts";

const [mode = "ok", at = "notify"] = Deno.args;
const enc = new TextEncoder();
const out = (o: unknown) => Deno.stdout.writeSync(enc.encode(JSON.stringify(o) + "\n"));
const raw = (s: string) => Deno.stdout.writeSync(enc.encode(s + "\n"));

function defaults(op: string): Record<string, unknown> {
  switch (op) {
    case "hello":
      return { protocol: mode === "wrong-version" ? 2 : 1, role: "device", name: "bad", host: [] };
    case "status.read":
      return { value: 0 };
    case "features.read":
      return { value: "0x100000000" };
    case "queue.max":
      return { size: 0 };
    case "config.read":
      return { data: "AAAAAAAAAAA=", generation: 0 };
    case "host.stats":
      return { held: false };
    default:
      return {};
  }
}

for (;;) {
  const line = readLine();
  if (line === undefined) break;
  const m = JSON.parse(line) as { seq: number; op: string };
  if (m.op !== at || mode === "wrong-version") {
    out({ seq: m.seq, result: defaults(m.op) });
    continue;
  }
  switch (mode) {
    case "not-json":
      raw("this is not json {");
      break;
    case "missing-field":
      out({ op: "mem.read", id: 1, len: 4 });
      break;
    case "bad-type":
      out({ op: "mem.read", id: 1, addr: "0x0", len: "4" });
      break;
    case "oob-read":
      out({ op: "mem.read", id: 1, addr: "0xffffffffff", len: 4 });
      break;
    case "hang":
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
      break;
    case "crash":
      console.error("bad testee: segmentation fault (pretend)");
      Deno.exit(3);
      break;
    case "crash-once": {
      const mark = Deno.env.get("BAD_TESTEE_MARK") ?? "";
      let seen = true;
      try {
        Deno.statSync(mark);
      } catch {
        seen = false;
      }
      if (!seen) {
        Deno.writeTextFileSync(mark, "crashed\n");
        console.error("bad testee: crashing once");
        Deno.exit(3);
      }
      out({ seq: m.seq, result: defaults(m.op) });
      break;
    }
    case "event":
      out({ op: "event", event: "config" });
      out({ seq: m.seq, result: defaults(m.op) });
      break;
    case "unsupported":
      out({ seq: m.seq, unsupported: `${m.op} is not implemented here` });
      break;
    case "errored":
      out({ seq: m.seq, errored: "the device fell over" });
      break;
    case "wrong-seq":
      out({ seq: m.seq + 100, result: {} });
      break;
    case "two-outcomes":
      out({ seq: m.seq, result: {}, errored: "both" });
      break;
    default:
      out({ seq: m.seq, result: defaults(m.op) });
  }
}
