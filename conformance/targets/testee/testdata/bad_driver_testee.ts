/**
 * A driver testee that misbehaves on purpose, for the self-tests of the
 * protocol's driver role: `deno run bad_driver_testee.ts <mode>` answers
 * hello and reset, and in `probe` resets the device and reads its features
 * (a driver that then declines to bind: `ok` false), except that it does
 * what `mode` says there:
 * `not-json`, `missing-field` (a guest.alloc without count), `wrong-version`
 * (its hello names protocol 2), `oob-write` (a mem.write beyond RAM),
 * `stray-free` (a guest.free of a page it never took), `hang` (no reply),
 * `crash` (exits 3 with a message on stderr mid-request), `crash-once`
 * (crashes the first time only: `BAD_TESTEE_MARK` names a file it creates).
 * With `BAD_TESTEE_STARTS` set, each process appends a line to that file.
 *
 * @module
 */

import { readLine } from "./stdin_lines.ts";

const [mode = "ok"] = Deno.args;
const enc = new TextEncoder();
const out = (o: unknown) => Deno.stdout.writeSync(enc.encode(JSON.stringify(o) + "\n"));
const raw = (s: string) => Deno.stdout.writeSync(enc.encode(s + "\n"));

const starts = Deno.env.get("BAD_TESTEE_STARTS");
if (starts !== undefined) Deno.writeTextFileSync(starts, `${Deno.pid}\n`, { append: true });

function call(o: Record<string, unknown>): void {
  out(o);
  if (readLine() === undefined) Deno.exit(0);
}

function crashed(): boolean {
  if (mode === "crash") return true;
  if (mode !== "crash-once") return false;
  const mark = Deno.env.get("BAD_TESTEE_MARK") ?? "";
  try {
    Deno.statSync(mark);
    return false;
  } catch {
    Deno.writeTextFileSync(mark, "crashed\n");
    return true;
  }
}

for (;;) {
  const line = readLine();
  if (line === undefined) break;
  const m = JSON.parse(line) as { seq: number; op: string };
  if (m.op === "hello") {
    out({
      seq: m.seq,
      result: {
        protocol: mode === "wrong-version" ? 2 : 1,
        role: "driver",
        name: "bad-driver",
        host: [],
      },
    });
    continue;
  }
  if (m.op !== "probe") {
    out({ seq: m.seq, result: {} });
    continue;
  }
  out({ op: "dev.status.write", value: 0 });
  call({ op: "dev.features.read", id: 1 });
  switch (mode) {
    case "not-json":
      raw("this is not json {");
      break;
    case "missing-field":
      out({ op: "guest.alloc", id: 2 });
      break;
    case "oob-write":
      out({ op: "mem.write", addr: "0xffffffffff", data: "AAAAAA==" });
      break;
    case "stray-free":
      out({ op: "guest.free", pages: [[300, 2]] });
      break;
    case "hang":
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
      break;
  }
  if (crashed()) {
    console.error("bad driver: segmentation fault (pretend)");
    Deno.exit(3);
  }
  out({ seq: m.seq, result: { ok: false } });
}
