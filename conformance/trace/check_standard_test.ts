/**
 * The standard profile's trace checks on a real trace: a small QEMU log of
 * Linux hinting its free pages during a live migration and reporting free
 * pages (`testdata/qemu-hint.log.gz`, re-recorded with `deno task
 * record-trace:hint`). The clean trace decides every check of
 * `check_standard.ts` and passes them; each injected violation makes exactly
 * its rule fail.
 */

import assert from "node:assert/strict";
import { importQemuTrace } from "./qemu_log.ts";
import { checkTrace } from "./check.ts";
import { STANDARD_CHECKS } from "./check_standard.ts";
import type { Trace, TraceEvent } from "./format.ts";
import { readMaybeGzip } from "./stream.ts";

const DATA = new URL("../testdata/", import.meta.url);
const META = JSON.parse(await Deno.readTextFile(new URL("qemu-hint.meta.json", DATA))) as {
  guestPages: number;
  versions: Record<string, string>;
  features: TraceEvent;
};
const LOG = await readMaybeGzip(new URL("qemu-hint.log.gz", DATA).pathname);
const IMPORTED = importQemuTrace(LOG, {
  guestPages: META.guestPages,
  versions: META.versions,
  extra: [META.features],
});
const TRACE: Trace = IMPORTED.trace;
const RULES = Object.keys(STANDARD_CHECKS);

type Ev<T extends TraceEvent["type"]> = Extract<TraceEvent, { type: T }>;

/** Queue indexes of this guest (stats, free page hinting and reporting: dense, 0–4). */
const Q = { statsq: 2, hint: 3, report: 4 } as const;

function failing(t: Trace): string[] {
  return checkTrace(t).filter((r) => r.verdict === "fail").map((r) => r.rule).sort();
}

function verdict(t: Trace, id: string): string | undefined {
  return checkTrace(t).find((r) => r.rule === id)?.verdict;
}

function withEvents(events: TraceEvent[]): Trace {
  return { header: TRACE.header, events };
}

function indexOf(pred: (e: TraceEvent) => boolean): number {
  const i = TRACE.events.findIndex(pred);
  assert.ok(i >= 0, "the recorded trace has the event the injection needs");
  return i;
}

function lastIndexOf(pred: (e: TraceEvent) => boolean): number {
  const i = TRACE.events.findLastIndex(pred);
  assert.ok(i >= 0, "the recorded trace has the event the injection needs");
  return i;
}

const isHint = (e: TraceEvent): e is Ev<"chain"> =>
  e.type === "chain" && e.queue === Q.hint && e.writable > 0;
const isHintCmd = (e: TraceEvent): e is Ev<"chain"> =>
  e.type === "chain" && e.queue === Q.hint && e.readable > 0;

Deno.test("the hinting log imports cleanly and shows both hint rounds and reports", () => {
  assert.deepEqual(IMPORTED.problems, []);
  const hints = TRACE.events.filter(isHint).length;
  const cmds = TRACE.events.filter(isHintCmd).length;
  const reports = TRACE.events.filter((e) => e.type === "chain" && e.queue === Q.report).length;
  assert.ok(
    hints > 0 && cmds >= 2 && reports > 0,
    `${hints} hints, ${cmds} ids, ${reports} reports`,
  );
});

Deno.test("the hinting log decides every check of the standard profile's queues and passes them", () => {
  for (const id of RULES) assert.equal(verdict(TRACE, id), "pass", id);
  // Linux still kicks the stats queue before DRIVER_OK there (G57, G05): nothing else fails
  assert.deepEqual(failing(TRACE), ["G05", "G57"]);
});

/** One violation per check, applied to the recorded trace. */
const INJECTIONS: Readonly<Record<string, () => Trace>> = {
  // a hint buffer (pages) used with a length: the device wrote into the guest's free page
  "S-09": () => {
    const at = indexOf(isHint);
    const hint = TRACE.events[at] as Ev<"chain">;
    // elements are QEMU's pointers, reused: the use that follows this chain
    const i = TRACE.events.findIndex((e, j) =>
      j > at && e.type === "used" && e.queue === Q.hint && e.elem === hint.elem
    );
    assert.ok(i > at);
    const u = TRACE.events[i] as Ev<"used">;
    return withEvents(TRACE.events.map((e, j) => (j === i ? { ...u, len: 4096 } : e)));
  },
  // pages hinted (and used) before any out buffer started the round
  B38: () => {
    const first = indexOf(isHintCmd);
    const hint = TRACE.events[indexOf(isHint)] as Ev<"chain">;
    const t = TRACE.events[first]?.t ?? hint.t;
    const early: Ev<"chain"> = { ...hint, elem: "0xdead0001", t };
    const used: Ev<"used"> = { type: "used", t, queue: Q.hint, elem: "0xdead0001", len: 0 };
    return withEvents([
      ...TRACE.events.slice(0, first),
      early,
      used,
      ...TRACE.events.slice(first),
    ]);
  },
  // the round with pages never stopped: its STOP and every later hint chain are gone, and
  // the driver goes on doing other things
  B42: () => {
    const lastPages = lastIndexOf(isHint);
    const later = new Set(
      TRACE.events.filter((e, j) => j > lastPages && isHintCmd(e)).map((e) =>
        (e as Ev<"chain">).elem
      ),
    );
    assert.ok(later.size > 0);
    return withEvents(
      TRACE.events.filter((e, j) =>
        j <= lastPages || !((e.type === "chain" || e.type === "used") && e.queue === Q.hint &&
          later.has(e.elem))
      ),
    );
  },
  // a report with a device-readable part: what reporting_vq never carries
  "S-11": () => {
    const i = indexOf((e) => e.type === "chain" && e.queue === Q.report);
    const c = TRACE.events[i] as Ev<"chain">;
    return withEvents(TRACE.events.map((e, j) => (j === i ? { ...c, readable: 1 } : e)));
  },
};

Deno.test("every check of the standard profile's queues has an injected violation", () => {
  assert.deepEqual(Object.keys(INJECTIONS).sort(), [...RULES].sort());
});

for (const [id, inject] of Object.entries(INJECTIONS)) {
  Deno.test(`an injected violation of ${id} in the hinting log fails exactly ${id}`, () => {
    const bad = inject();
    assert.deepEqual(failing(bad).filter((r) => r !== "G05" && r !== "G57"), [id]);
    const r = checkTrace(bad).find((x) => x.rule === id);
    assert.ok((r?.evidence.length ?? 0) > 0, `${id} names the offending events`);
  });
}
