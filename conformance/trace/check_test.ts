/**
 * Honesty checks of passive checking, on a real trace: QEMU 7.2 and Linux
 * 6.1 recorded by `scripts/record_qemu_trace.ts` (kept gzipped in
 * `testdata/`). The clean trace decides every checked rule; each injected
 * violation makes exactly its rule fail.
 */

import assert from "node:assert/strict";
import { importQemuTrace } from "./qemu_log.ts";
import { mergeResults } from "../targets/qemu-linux/target.ts";
import { checkTrace, TRACE_RULES } from "./check.ts";
import { STANDARD_CHECKS } from "./check_standard.ts";
import {
  passiveOutcome,
  type PassiveRun,
  type PassiveSection,
  passiveTerminal,
} from "../report/passive.ts";
import { parseExpectList } from "../run/expect.ts";
import { enumValue, featureMask, type FeatureName } from "../../spec/mod.ts";
import {
  formatTrace,
  type PageRun,
  parseTrace,
  type Trace,
  type TraceEvent,
  TraceFormatError,
  traceLineSchema,
} from "./format.ts";
import { Ajv2020 } from "ajv/dist/2020.js";
import { readMaybeGzip } from "./stream.ts";

const DATA = new URL("../testdata/", import.meta.url);
const META = JSON.parse(await Deno.readTextFile(new URL("qemu-small.meta.json", DATA))) as {
  guestPages: number;
  versions: Record<string, string>;
  features: TraceEvent;
};
const LOG = await readMaybeGzip(new URL("qemu-small.log.gz", DATA).pathname);

function importLog(log: string) {
  return importQemuTrace(log, {
    guestPages: META.guestPages,
    versions: META.versions,
    extra: [META.features],
  });
}

const RECORDED: Trace = importLog(LOG).trace;

type Ev<T extends TraceEvent["type"]> = Extract<TraceEvent, { type: T }>;

function failing(t: Trace): string[] {
  return checkTrace(t).filter((r) => r.verdict === "fail").map((r) => r.rule).sort();
}

function verdicts(t: Trace): Record<string, string> {
  return Object.fromEntries(
    checkTrace(t).filter((r) => TRACE_RULES.includes(r.rule)).map((r) => [r.rule, r.verdict]),
  );
}

function withEvents(t: Trace, events: TraceEvent[]): Trace {
  return { header: t.header, events };
}

const ACK = enumValue("device_status", "ACKNOWLEDGE");
const DRV = enumValue("device_status", "DRIVER");
const FOK = enumValue("device_status", "FEATURES_OK");
const DOK = enumValue("device_status", "DRIVER_OK");
/** The status values of a modern initialisation, after ACKNOWLEDGE and DRIVER. */
const FEATURES_OK_STATUS = ACK | DRV | FOK;
const DRIVER_OK_STATUS = ACK | DRV | FOK | DOK;

const DRIVER_OK_AT = RECORDED.events.findIndex((e) => e.type === "status" && (e.value & DOK) !== 0);

/**
 * The recorded trace with its one real deviation undone: Linux notifies the
 * stats queue (and QEMU pops that buffer) just before DRIVER_OK; here those
 * two events come just after it.
 */
function repaired(): Trace {
  const ev = [...RECORDED.events];
  const early: TraceEvent[] = ev.slice(0, DRIVER_OK_AT).filter((e) =>
    e.type === "notify" || e.type === "chain"
  );
  const rest = ev.filter((e) => !early.includes(e));
  const at = rest.indexOf(ev[DRIVER_OK_AT] as TraceEvent) + 1;
  return withEvents(RECORDED, [...rest.slice(0, at), ...early, ...rest.slice(at)]);
}

const REPAIRED = repaired();

/** Queue indexes of a virtio-1.x balloon with free page reporting (QEMU's order). */
const Q = { inflateq: 0, deflateq: 1, statsq: 2, reporting: 3 } as const;

function firstIndex(t: Trace, pred: (e: TraceEvent, i: number) => boolean): number {
  const i = t.events.findIndex(pred);
  assert.ok(i >= 0, "the recorded trace has the event the injection needs");
  return i;
}

function insertAt(t: Trace, i: number, ...add: TraceEvent[]): Trace {
  return withEvents(t, [...t.events.slice(0, i), ...add, ...t.events.slice(i)]);
}

function replaceAt(t: Trace, i: number, ...by: TraceEvent[]): Trace {
  return withEvents(t, [...t.events.slice(0, i), ...by, ...t.events.slice(i + 1)]);
}

const tAt = (t: Trace, i: number) => (t.events[i] as TraceEvent).t;

/**
 * Checked rules a QEMU log cannot decide: QEMU keeps only the offered bits of
 * the driver's feature write, and uses each inflate before it takes another
 * buffer, so the driver's order never shows.
 */
const NOT_FROM_QEMU = ["B17", "G08"];

/**
 * Checked rules of the standard profile's hint and report queues: judged, and
 * injected, on the hinting log (`check_standard_test.ts`), which this log of
 * a guest without free page hinting cannot decide all of.
 */
const ON_THE_HINTING_LOG = Object.keys(STANDARD_CHECKS);

Deno.test("the recorded trace decides every checked rule QEMU can show, and fails exactly G57 and G05 (Linux kicks statsq before DRIVER_OK)", () => {
  const v = verdicts(RECORDED);
  for (const id of TRACE_RULES) {
    if (ON_THE_HINTING_LOG.includes(id)) continue;
    if (NOT_FROM_QEMU.includes(id)) assert.equal(v[id], "not-observable", id);
    else assert.notEqual(v[id], "not-observable", `${id} is decided by the recorded trace`);
  }
  assert.deepEqual(failing(RECORDED), ["G05", "G57"]);
  const r = checkTrace(RECORDED);
  const g57 = r.find((x) => x.rule === "G57")?.evidence[0] as Ev<"notify">;
  const g05 = r.find((x) => x.rule === "G05")?.evidence[0] as Ev<"chain">;
  assert.equal(g57.queue, 2);
  assert.equal(g05.queue, 2);
  const lines = LOG.split("\n");
  assert.match(lines[(g57.line ?? 0) - 1] ?? "", /virtio_queue_notify .* n 2 /);
  assert.match(lines[(g05.line ?? 0) - 1] ?? "", /virtqueue_pop /);
  // and DRIVER_OK (status 15) comes after both in the log
  const ok = lines.findIndex((l) => l.endsWith(` val ${DRIVER_OK_STATUS}`)) + 1;
  assert.ok(ok > (g05.line ?? Infinity) && ok > (g57.line ?? Infinity));
});

Deno.test("with the stats kick moved after DRIVER_OK, every rule QEMU can show passes", () => {
  assert.deepEqual(failing(REPAIRED), []);
  for (const [id, v] of Object.entries(verdicts(REPAIRED))) {
    if (ON_THE_HINTING_LOG.includes(id)) continue;
    assert.equal(v, NOT_FROM_QEMU.includes(id) ? "not-observable" : "pass", id);
  }
});

/** One violation per checked rule, applied to the repaired trace. */
const INJECTIONS: Readonly<Record<string, (t: Trace) => Trace>> = {
  G55a: (t) => {
    // DRIVER_OK before FEATURES_OK: 1, 3, 7, 15 instead of 1, 3, 11, 15
    const i = firstIndex(t, (e) => e.type === "status" && e.value === FEATURES_OK_STATUS);
    return replaceAt(t, i, { type: "status", t: tAt(t, i), value: ACK | DRV | DOK });
  },
  G02: (t) => {
    // a status write that clears DRIVER_OK without a reset
    const i = firstIndex(t, (e) => e.type === "status" && e.value === DRIVER_OK_STATUS) + 1;
    return insertAt(t, i, { type: "status", t: tAt(t, i), value: FEATURES_OK_STATUS }, {
      type: "status",
      t: tAt(t, i),
      value: DRIVER_OK_STATUS,
    });
  },
  G57: (t) => {
    const i = firstIndex(t, (e) => e.type === "status" && e.value === DRIVER_OK_STATUS);
    return insertAt(t, i, { type: "notify", t: tAt(t, i), queue: Q.inflateq });
  },
  G05: (t) => {
    const i = firstIndex(t, (e) => e.type === "status" && e.value === DRIVER_OK_STATUS);
    return insertAt(t, i, {
      type: "chain",
      t: tAt(t, i),
      queue: Q.inflateq,
      elem: "0xbad",
      readable: 1,
      writable: 0,
    });
  },
  "S-06": (t) => {
    // the first inflate request sent again: its pages are already in the balloon
    const i = firstIndex(
      t,
      (e) => e.type === "chain" && e.queue === Q.inflateq && e.pages !== undefined,
    );
    const c = t.events[i] as Ev<"chain">;
    return insertAt(t, i + 1, { ...c, elem: "0xdup" }, {
      type: "used",
      t: c.t,
      queue: c.queue,
      elem: "0xdup",
      len: 0,
    });
  },
  "S-07": (t) => {
    // a deflate of a page never inflated (the last page of guest RAM)
    const i = firstIndex(
      t,
      (e) => e.type === "chain" && e.queue === Q.deflateq && e.pages !== undefined,
    );
    const c = t.events[i] as Ev<"chain">;
    const never: PageRun = [META.guestPages - 1, 1];
    assert.ok(
      !t.events.some((e) =>
        e.type === "chain" && e.pages?.some(([a, n]) => a <= never[0] && never[0] < a + n)
      ),
    );
    return insertAt(t, i, { ...c, elem: "0xnever", pages: [never] });
  },
  "R-06": (t) => {
    // actual written before the last inflate request it counts was processed
    const w = firstIndex(
      t,
      (e) => e.type === "config-write" && e.field === "actual" && e.value > 0,
    );
    const c = t.events.slice(0, w).findLastIndex((e) =>
      e.type === "chain" && e.queue === Q.inflateq
    );
    const ev = [...t.events];
    const [write] = ev.splice(w, 1);
    ev.splice(c, 0, write as TraceEvent);
    return withEvents(t, ev);
  },
  "R-07": (t) => {
    // one request of 257 pages, past the last write of actual
    return withEvents(t, [
      ...t.events,
      {
        type: "chain",
        t: tAt(t, t.events.length - 1),
        queue: Q.inflateq,
        elem: "0xbig",
        readable: 1,
        writable: 0,
        pages: [[10_000_000, 257]],
      },
    ]);
  },
  G46a: (t) => {
    const i = firstIndex(t, (e) => e.type === "used" && e.queue === Q.inflateq);
    return replaceAt(t, i, { ...(t.events[i] as Ev<"used">), len: 8 });
  },
  B25: (t) => {
    // a second stats buffer while the device holds the first
    const i = firstIndex(t, (e) => e.type === "chain" && e.queue === Q.statsq);
    return insertAt(t, i + 1, { ...(t.events[i] as Ev<"chain">), elem: "0xsecond" });
  },
  B27: (t) => {
    // the driver stops giving stats buffers back after the first use
    const u = firstIndex(t, (e) => e.type === "used" && e.queue === Q.statsq);
    return withEvents(
      t,
      t.events.filter((e, i) => i < u || !(e.type === "chain" && e.queue === Q.statsq)),
    );
  },
  "R-13": (t) => {
    // two OOM deflates of 256 pages merged into one of 512: drop the write of actual between them
    const deflates = t.events.map((e, i) => [e, i] as const).filter(([e]) =>
      e.type === "chain" && e.queue === Q.deflateq
    );
    const last = deflates[deflates.length - 1]?.[1] ?? -1;
    const prev = deflates[deflates.length - 2]?.[1] ?? -1;
    const between = t.events.findIndex((e, i) => i > prev && i < last && e.type === "config-write");
    assert.ok(between > 0);
    return withEvents(t, t.events.filter((_e, i) => i !== between));
  },
  "S-08": (t) => {
    // a free page report naming the pages of the first inflate request
    const i = firstIndex(
      t,
      (e) => e.type === "chain" && e.queue === Q.inflateq && e.pages !== undefined,
    );
    const c = t.events[i] as Ev<"chain">;
    return insertAt(t, i + 1, {
      type: "report",
      t: c.t,
      queue: Q.reporting,
      elem: "0xreport",
      pages: c.pages ?? [],
    });
  },
  G08: (t) => {
    // the driver writes RING_PACKED, which QEMU's balloon does not offer
    const i = firstIndex(t, (e) => e.type === "features");
    const f = t.events[i] as Ev<"features">;
    const accepted = BigInt(f.negotiated ?? "0") | bit("RING_PACKED");
    return replaceAt(t, i, { ...f, accepted: `0x${accepted.toString(16)}` });
  },
  G60a: (t) => {
    // the driver declines VERSION_1 although the device offers it
    return withFeatures(t, (f) => ({ negotiated: f.negotiated & ~bit("VERSION_1") }));
  },
  G62a: (t) => {
    // a legacy-only device: VERSION_1 neither offered nor accepted
    return withFeatures(t, (f) => ({
      offered: f.offered & ~bit("VERSION_1"),
      negotiated: f.negotiated & ~bit("VERSION_1"),
    }));
  },
  G55c: (t) => {
    // the driver writes actual before FEATURES_OK in its initialisation
    const i = firstIndex(t, (e) => e.type === "status" && (e.value & FOK) !== 0);
    return insertAt(t, i, { type: "config-write", t: tAt(t, i), field: "actual", value: 0 });
  },
  B17: (t) => {
    // while an inflate request is not yet used, a deflate request names one of its
    // pages (and an inflate of that page right after keeps the balloon's size)
    const i = firstIndex(
      t,
      (e) => e.type === "chain" && e.queue === Q.inflateq && (e.pages?.length ?? 0) > 0,
    );
    const c = t.events[i] as Ev<"chain">;
    const page: PageRun = [(c.pages?.[0] as PageRun)[0], 1];
    const at = c.t;
    return insertAt(
      t,
      i + 1,
      {
        type: "chain",
        t: at,
        queue: Q.deflateq,
        elem: "0xd17",
        readable: 1,
        writable: 0,
        pages: [page],
      },
      { type: "used", t: at, queue: Q.deflateq, elem: "0xd17", len: 0 },
      {
        type: "chain",
        t: at,
        queue: Q.inflateq,
        elem: "0xe17",
        readable: 1,
        writable: 0,
        pages: [page],
      },
      { type: "used", t: at, queue: Q.inflateq, elem: "0xe17", len: 0 },
    );
  },
  B26: (t) => {
    // the driver never makes a stats buffer available
    return withEvents(
      t,
      t.events.filter((e) =>
        !((e.type === "chain" || e.type === "used" || e.type === "notify") && e.queue === Q.statsq)
      ),
    );
  },
};

/** Bit of a feature in the recorded trace's profile. */
function bit(name: FeatureName): bigint {
  return featureMask(RECORDED.header.profile, [name]);
}

/** The trace with its features event changed. */
function withFeatures(
  t: Trace,
  change: (f: { offered: bigint; negotiated: bigint }) => {
    offered?: bigint;
    negotiated?: bigint;
  },
): Trace {
  const i = firstIndex(t, (e) => e.type === "features");
  const f = t.events[i] as Ev<"features">;
  const now = { offered: BigInt(f.offered ?? "0"), negotiated: BigInt(f.negotiated ?? "0") };
  const next = { ...now, ...change(now) };
  return replaceAt(t, i, {
    ...f,
    offered: `0x${next.offered.toString(16)}`,
    negotiated: `0x${next.negotiated.toString(16)}`,
  });
}

Deno.test("every checked rule has an injected violation", () => {
  assert.deepEqual(
    Object.keys(INJECTIONS).sort(),
    TRACE_RULES.filter((r) => !ON_THE_HINTING_LOG.includes(r)).sort(),
  );
});

for (const [id, inject] of Object.entries(INJECTIONS)) {
  Deno.test(`an injected violation of ${id} fails exactly ${id}`, () => {
    const bad = inject(REPAIRED);
    assert.deepEqual(failing(bad), [id]);
    const r = checkTrace(bad).find((x) => x.rule === id);
    assert.ok((r?.evidence.length ?? 0) > 0, `${id} names the offending events`);
  });
}

Deno.test("R-13 fails when the guest deflates on its own without DEFLATE_ON_OOM negotiated", () => {
  const f = META.features as Ev<"features">;
  const noOom = (BigInt(f.negotiated ?? "0") & ~bit("DEFLATE_ON_OOM")).toString(16);
  const t = withEvents(
    REPAIRED,
    REPAIRED.events.map((e) => (e === f ? { ...f, negotiated: `0x${noOom}` } : e)),
  );
  assert.deepEqual(failing(t), ["R-13"]);
  assert.match(
    checkTrace(t).find((r) => r.rule === "R-13")?.detail ?? "",
    /without DEFLATE_ON_OOM/,
  );
});

Deno.test("a trace without the events a rule needs reports it not observable, never pass", () => {
  const onlyStatus = withEvents(REPAIRED, REPAIRED.events.filter((e) => e.type === "status"));
  const v = verdicts(onlyStatus);
  assert.equal(v["G55a"], "pass");
  assert.equal(v["G02"], "pass");
  for (const id of TRACE_RULES.filter((x) => x !== "G55a" && x !== "G02")) {
    assert.equal(v[id], "not-observable", id);
  }
});

Deno.test("the trace survives formatting and parsing unchanged", () => {
  const again = parseTrace(formatTrace(RECORDED));
  assert.deepEqual(again, JSON.parse(JSON.stringify(RECORDED)));
  assert.deepEqual(checkTrace(again), JSON.parse(JSON.stringify(checkTrace(RECORDED))));
});

Deno.test("a malformed line of a QEMU log is reported with its line number, the rest imported", () => {
  const lines = LOG.split("\n");
  const i = lines.findIndex((l) => l.includes(":virtqueue_pop "));
  lines[i] = (lines[i] as string).replace(/in_num \d+/, "in_num many");
  lines.splice(3, 0, "this is not a trace line at all", "");
  const r = importLog(lines.join("\n"));
  assert.deepEqual(r.problems.map((p) => p.line), [4, i + 3]);
  assert.match(
    r.problems[0]?.message ?? "",
    /^not a QEMU trace line .*"this is not a trace line at all"/,
  );
  assert.match(r.problems[1]?.message ?? "", /virtqueue_pop/);
  assert.deepEqual(r.problems[1]?.affects, ["chain", "used", "report"]);
  assert.equal(
    r.trace.events.filter((e) => e.type === "chain").length,
    RECORDED.events.filter((e) => e.type === "chain").length - 1,
  );
});

Deno.test("parseTrace names the line and the field of a malformed trace", () => {
  const head = formatTrace({ header: RECORDED.header, events: [] });
  const cases: [string, RegExp][] = [
    ["", /line 1: the trace is empty/],
    ['{"type":"status","t":0,"value":1}\n', /line 1: expected a header/],
    [
      head.replace('"version":1', '"version":9'),
      /line 1: trace format version 9 is not supported, expected 1/,
    ],
    [
      head + '{"type":"chain","t":0,"queue":0,"elem":"0x1","readable":1}\n',
      /line 2: chain event needs "writable" to be a non-negative integer, got nothing/,
    ],
    [
      head + '{"type":"report","t":0,"queue":3,"elem":"0x1"}\n',
      /line 2: report event needs "pages" to be a list of \[first PFN, count\] runs/,
    ],
    [
      head +
      '{"type":"chain","t":0,"queue":0,"elem":"0x1","readable":1,"writable":0,"pages":"abc"}\n',
      /line 2: chain event needs \(if present\) "pages" to be a list of .* got "abc"/,
    ],
    [
      head +
      '{"type":"chain","t":0,"queue":0,"elem":"0x1","readable":1,"writable":0,"pages":[[5,-3]]}\n',
      /line 2: chain event needs \(if present\) "pages" .* got \[\[5,-3\]\]/,
    ],
    [
      head + '{"type":"features","t":0,"offered":"zz"}\n',
      /line 2: features event needs \(if present\) "offered" to be a hex string/,
    ],
    [
      head + '{"type":"features","t":0,"queues":{"0":"balloonq"}}\n',
      /line 2: features event needs \(if present\) "queues" to be an object from queue index to one of inflateq, deflateq/,
    ],
    [
      head + '{"type":"status","t":"soon","value":1}\n',
      /line 2: status event needs "t" to be a number, got "soon"/,
    ],
    [head + '{"type":"teleport","t":0}\n', /line 2: unknown event type "teleport"/],
    [head + "{not json\n", /line 2: not JSON/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseTrace(text),
      (e) => e instanceof TraceFormatError && re.test(e.message),
    );
  }
  // the exported JSON Schema rejects the same lines (past the header and the JSON itself)
  const validate = new Ajv2020({ strict: true }).compile(traceLineSchema());
  for (const [text] of cases.slice(3)) {
    const line = text.split("\n")[1] ?? "";
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      continue;
    }
    assert.equal(validate(obj), false, `the schema rejects ${line}`);
  }
});

Deno.test("every line of the recorded trace validates against the exported JSON Schema", () => {
  const validate = new Ajv2020({ strict: true }).compile(traceLineSchema());
  const lines = formatTrace(RECORDED).trim().split("\n");
  const types = new Set<string>();
  for (const line of lines) {
    const obj = JSON.parse(line) as { type: string };
    assert.ok(validate(obj), `${line.slice(0, 80)}: ${JSON.stringify(validate.errors?.[0])}`);
    types.add(obj.type);
  }
  assert.deepEqual([...types].sort(), [
    "chain",
    "config-read",
    "config-write",
    "discard",
    "features",
    "header",
    "host",
    "notify",
    "report",
    "status",
    "used",
  ]);
});

Deno.test("mergeResults: a fail in any guest wins, details name the guests", () => {
  const a = checkTrace(REPAIRED);
  const b = checkTrace(INJECTIONS["S-06"]?.(REPAIRED) as Trace);
  const m = mergeResults([{ name: "A", results: a }, { name: "B", results: b }]);
  const s06 = m.find((r) => r.rule === "S-06");
  assert.equal(s06?.verdict, "fail");
  assert.match(s06?.detail ?? "", /^B: /);
  assert.match(m.find((r) => r.rule === "G02")?.detail ?? "", /^A: .*; B: /);
});

Deno.test("a failing scenario check fails the run unless listed; a stale or unknown listing fails it", () => {
  const results = checkTrace(REPAIRED);
  const section = (verdict: "pass" | "fail"): PassiveSection => ({
    name: "guest A",
    results,
    checks: [{ id: "A/host-rss-drops", verdict, detail: "VmRSS 820 → 800 MiB" }],
  });
  const run = (verdict: "pass" | "fail", lines: string[]): PassiveRun => ({
    subject: "qemu-linux",
    profile: "virtio-1.x",
    versions: {},
    sections: [section(verdict)],
    results,
    seconds: 1,
    ...(lines.length === 0 ? {} : { expect: parseExpectList(lines.join("\n"), "list.txt") }),
  });
  const failing = passiveOutcome(run("fail", []));
  assert.equal(failing.ok, false);
  assert.deepEqual(failing.unexpected, ["A/host-rss-drops"]);
  assert.deepEqual(failing.checks, { pass: 0, fail: 1 });
  assert.match(passiveTerminal(run("fail", [])), /^ {2}FAIL A\/host-rss-drops: VmRSS 820/m);
  const listed = passiveOutcome(run("fail", ["qemu-linux A/host-rss-drops"]));
  assert.equal(listed.ok, true);
  assert.deepEqual(listed.expected, ["A/host-rss-drops"]);
  const stale = passiveOutcome(run("pass", ["qemu-linux A/host-rss-drops"]));
  assert.equal(stale.ok, false);
  assert.match(stale.listProblems[0] ?? "", /scenario check A\/host-rss-drops .* it is pass/);
  const unknown = passiveOutcome(run("pass", ["qemu-linux A/no-such-check"]));
  assert.equal(unknown.ok, false);
  assert.match(unknown.listProblems[0] ?? "", /'A\/no-such-check', which this run does not have/);
});
