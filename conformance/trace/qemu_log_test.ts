/**
 * The QEMU importer on the real log (QEMU 7.2 + Linux 6.1, `testdata/`):
 * whose line each status line is, and the streaming import and check giving
 * what the in-memory ones give.
 */

import assert from "node:assert/strict";
import { checkTrace } from "./check.ts";
import { formatTrace, type TraceEvent } from "./format.ts";
import { importQemuTrace } from "./qemu_log.ts";
import { checkQemuLog, checkTraceFile, readMaybeGzip } from "./stream.ts";

const DATA = new URL("../testdata/", import.meta.url);
const LOG_GZ = new URL("qemu-small.log.gz", DATA).pathname;
const META = JSON.parse(await Deno.readTextFile(new URL("qemu-small.meta.json", DATA))) as {
  guestPages: number;
  versions: Record<string, string>;
  features: TraceEvent;
};
const LOG = await readMaybeGzip(LOG_GZ);
const LINES = LOG.split("\n");
const OPTIONS = { guestPages: META.guestPages, versions: META.versions, extra: [META.features] };

/** The thread id of a log line. */
const tidOf = (line: number) => (LINES[line - 1] ?? "").split("@")[0] ?? "";
/** The event name of a log line. */
const eventOf = (l: string) => /:([a-z_]+) /.exec(l)?.[1] ?? "";

Deno.test("whose line is it: on the real log, the status lines of QEMU's main thread are the host's", () => {
  const r = importQemuTrace(LOG, OPTIONS);
  const status = r.trace.events.filter((e) => e.type === "status");
  const host = status.filter((e) => e.type === "status" && e.by === "host");
  const driver = status.filter((e) => e.type === "status" && e.by === undefined);
  // the evidence in the log: thread 28051 is the main loop (QMP balloon requests, stats
  // timer fills, the machine reset at start-up, the status re-applied at quit); thread
  // 28056 is the vCPU (notifications, configuration accesses, the driver's status writes)
  const byThread = new Map<string, Set<string>>();
  for (const l of LINES) {
    const tid = l.split("@")[0] ?? "";
    if (tid === "") continue;
    byThread.set(tid, (byThread.get(tid) ?? new Set()).add(eventOf(l)));
  }
  assert.deepEqual([...byThread.keys()].sort(), ["28051", "28056"]);
  const main = byThread.get("28051") as Set<string>;
  const vcpu = byThread.get("28056") as Set<string>;
  assert.ok(main.has("balloon_event") && main.has("virtio_balloon_to_target"));
  assert.ok(!main.has("virtio_queue_notify") && !main.has("virtio_balloon_set_config"));
  assert.ok(vcpu.has("virtio_queue_notify") && vcpu.has("virtio_balloon_get_config"));
  assert.deepEqual(new Set(host.map((e) => tidOf(e.line ?? 0))), new Set(["28051"]));
  assert.deepEqual(new Set(driver.map((e) => tidOf(e.line ?? 0))), new Set(["28056"]));
  // the host's: two resets at start-up and the status re-applied when the VM quits
  assert.deepEqual(host.map((e) => e.type === "status" && e.value), [0, 0, 15]);
  assert.equal(status.at(-1), host.at(-1));
  assert.match(
    r.notes.join("\n"),
    /thread 28056 .* are the driver's; 3 of other threads .* are the host's/,
  );
});

Deno.test("with the guest's DRIVER_OK removed, G55a does not pass on QEMU's own write at quit", () => {
  const ok = LINES.findIndex((l) => l.startsWith("28056@") && l.endsWith(" val 15"));
  assert.ok(ok > 0);
  const cut = [...LINES.slice(0, ok), ...LINES.slice(ok + 1)].join("\n");
  const r = checkTrace(importQemuTrace(cut, OPTIONS).trace);
  const g55a = r.find((x) => x.rule === "G55a");
  assert.equal(g55a?.verdict, "not-observable", g55a?.detail);
  // and the buffers the driver used without DRIVER_OK fail G57 and G05
  assert.equal(r.find((x) => x.rule === "G57")?.verdict, "fail");
  assert.equal(r.find((x) => x.rule === "G05")?.verdict, "fail");
});

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "qemu-log-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("streaming import and check of a file (gzip or plain) give what the in-memory ones give", async () => {
  const mem = importQemuTrace(LOG, OPTIONS);
  const want = checkTrace(mem.trace, mem.problems);
  await withTemp(async (dir) => {
    await Deno.writeTextFile(`${dir}/plain.log`, LOG);
    for (const path of [LOG_GZ, `${dir}/plain.log`]) {
      const events: TraceEvent[] = [];
      const c = await checkQemuLog(path, { ...OPTIONS, onEvent: (e) => events.push(e) });
      assert.deepEqual(events, mem.trace.events, path);
      assert.deepEqual(c.results, want, path);
      assert.equal(c.imported, mem.events);
      assert.deepEqual(c.problems, []);
    }
    // the trace written out checks the same as a --trace file, evidence lines included
    await Deno.writeTextFile(`${dir}/t.jsonl`, formatTrace(mem.trace));
    const t = await checkTraceFile(`${dir}/t.jsonl`);
    assert.deepEqual(t.results, want);
    const g05 = want.find((r) => r.rule === "G05");
    assert.equal(
      g05?.evidenceLines?.[0],
      mem.trace.events.indexOf(g05?.evidence[0] as TraceEvent) + 2,
    );
  });
});

Deno.test("a --trace file cut in the middle of its last line: the line is a problem, every verdict unreliable", async () => {
  const mem = importQemuTrace(LOG, OPTIONS);
  const text = formatTrace(mem.trace);
  await withTemp(async (dir) => {
    await Deno.writeTextFile(`${dir}/cut.jsonl`, text.slice(0, text.length - 20));
    const t = await checkTraceFile(`${dir}/cut.jsonl`);
    assert.equal(t.problems.length, 1);
    assert.equal(t.problems[0]?.line, mem.trace.events.length + 1);
    assert.match(t.problems[0]?.message ?? "", /ends in the middle of a line/);
    const checked = t.results.filter((r) =>
      r.verdict !== "not-observable" || /unreliable/.test(r.detail)
    );
    assert.ok(checked.length > 0 && checked.every((r) => r.verdict === "error"));
  });
});

Deno.test("a log concatenated with itself: time goes backwards at the join, the order-dependent rules are errors", () => {
  const twice = LOG + LOG;
  const r = importQemuTrace(twice, OPTIONS);
  const join = LINES.length; // the first line of the second copy
  const time = r.problems.filter((p) => p.affects === "order");
  assert.equal(time[0]?.line, join);
  assert.match(time[0]?.message ?? "", /^time goes backwards/);
  const v = Object.fromEntries(checkTrace(r.trace, r.problems).map((x) => [x.rule, x.verdict]));
  // rules that judge one event, or the features, alone do not depend on the order
  assert.equal(v["R-07"], "pass");
  assert.equal(v["G62a"], "pass");
  for (const id of ["G55a", "G02", "G57", "G05", "S-06", "S-07", "R-06", "R-13", "B27", "S-08"]) {
    assert.equal(v[id], "error", id);
  }
});
