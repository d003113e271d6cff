/**
 * Edge cases of passive checking, each a false pass or a false fail found in
 * review: strict initialisation order, events after a reset, the balloon
 * emptied by a reset, OOM deflates told from host deflates and from remove,
 * repeated pages, other devices in a QEMU log, and reported blocks that
 * cannot be placed in guest memory.
 *
 * @module
 */

import assert from "node:assert/strict";
import { enumValue, featureMask } from "../../spec/mod.ts";
import { checkTrace } from "./check.ts";
import type { Trace, TraceEvent } from "./format.ts";
import { importQemuTrace, QemuImportError } from "./qemu_log.ts";

const ACK = enumValue("device_status", "ACKNOWLEDGE");
const DRV = enumValue("device_status", "DRIVER");
const FOK = enumValue("device_status", "FEATURES_OK");
const DOK = enumValue("device_status", "DRIVER_OK");
const INIT = [ACK, ACK | DRV, ACK | DRV | FOK, ACK | DRV | FOK | DOK];

/** Distributes event-specific fields over the event union. */
type EventInput = TraceEvent extends infer E ? E extends TraceEvent ? Omit<E, "t"> : never
  : never;

function trace(
  events: EventInput[],
  features?: { offered: string[]; negotiated: string[] },
): Trace {
  const all = events.map((e, i) => ({ ...e, t: i }) as TraceEvent);
  if (features !== undefined) {
    const hex = (names: string[]) =>
      "0x" + featureMask("virtio-1.x", names as Parameters<typeof featureMask>[1]).toString(16);
    all.push({
      type: "features",
      t: all.length,
      offered: hex(features.offered),
      negotiated: hex(features.negotiated),
    });
  }
  return {
    header: {
      type: "header",
      format: "virtio-balloon-trace",
      version: 1,
      source: "test",
      profile: "virtio-1.x",
    },
    events: all,
  };
}

const status = (...values: number[]): EventInput[] =>
  values.map((value) => ({ type: "status", value }));
const inflate = (elem: string, first: number, n: number): EventInput[] => [
  { type: "chain", queue: 0, elem, readable: 1, writable: 0, pages: [[first, n]] },
  { type: "used", queue: 0, elem, len: 0 },
];
const deflate = (elem: string, first: number, n: number): EventInput[] => [
  { type: "chain", queue: 1, elem, readable: 1, writable: 0, pages: [[first, n]] },
  { type: "used", queue: 1, elem, len: 0 },
];
const readTarget = (num_pages: number, actual = 0): EventInput => ({
  type: "config-read",
  num_pages,
  actual,
});
const writeActual = (value: number): EventInput => ({
  type: "config-write",
  field: "actual",
  value,
});

const MODERN = ["STATS_VQ", "DEFLATE_ON_OOM", "VERSION_1"];

function verdict(t: Trace, rule: string): string {
  return checkTrace(t).find((r) => r.rule === rule)?.verdict ?? "missing";
}

Deno.test("G55a: each status bit set by its own write, in order", () => {
  const f = { offered: MODERN, negotiated: MODERN };
  assert.equal(verdict(trace(status(0, ...INIT), f), "G55a"), "pass");
  // FEATURES_OK before DRIVER
  assert.equal(verdict(trace(status(0, ACK, ACK | FOK, ACK | DRV | FOK, 15), f), "G55a"), "fail");
  // FEATURES_OK and DRIVER_OK in one write
  assert.equal(verdict(trace(status(0, ACK, ACK | DRV, 15), f), "G55a"), "fail");
  // legacy: DRIVER_OK before DRIVER
  const legacy = { offered: ["STATS_VQ"], negotiated: ["STATS_VQ"] };
  assert.equal(verdict(trace(status(0, ACK, ACK | DOK, ACK | DRV | DOK), legacy), "G55a"), "fail");
  assert.equal(verdict(trace(status(0, ACK, ACK | DRV, ACK | DRV | DOK), legacy), "G55a"), "pass");
});

Deno.test("G57 and G05: what follows a reset is judged even without a new status write", () => {
  const t = trace([
    ...status(0, ...INIT, 0),
    { type: "notify", queue: 2 },
    { type: "chain", queue: 2, elem: "0x1", readable: 1, writable: 0 },
  ]);
  assert.equal(verdict(t, "G57"), "fail");
  assert.equal(verdict(t, "G05"), "fail");
  // but what comes before the first status write is of unknown state
  const prefix = trace([{ type: "notify", queue: 2 }, ...status(0, ...INIT), {
    type: "notify",
    queue: 0,
  }]);
  assert.equal(verdict(prefix, "G57"), "pass");
});

Deno.test("a reset empties the balloon: re-inflating after it is no double inflate", () => {
  const t = trace([
    ...status(0, ...INIT),
    ...inflate("0x1", 100, 10),
    ...status(0, ...INIT),
    ...inflate("0x2", 100, 10),
    ...deflate("0x3", 100, 10),
  ]);
  assert.equal(verdict(t, "S-06"), "pass");
  assert.equal(verdict(t, "S-07"), "pass");
});

Deno.test("R-13: deflates the host asked for, or remove, are no OOM deflate; no target is not observable", () => {
  const f = { offered: MODERN, negotiated: ["STATS_VQ", "VERSION_1"] };
  const host = (pages: number): EventInput => ({ type: "host", action: "set-target", pages });
  // without any target, nothing tells an OOM deflate from a requested one
  const noTarget = trace([
    ...status(0, ...INIT),
    ...inflate("0x1", 0, 256),
    ...deflate("0x2", 0, 256),
  ], f);
  assert.equal(verdict(noTarget, "R-13"), "not-observable");
  // the host lowers its target: a requested deflate of 512 pages
  const requested = trace([
    ...status(0, ...INIT),
    host(512),
    ...inflate("0x1", 0, 256),
    ...inflate("0x2", 256, 256),
    writeActual(512),
    host(0),
    ...deflate("0x3", 0, 256),
    ...deflate("0x4", 256, 256),
    writeActual(0),
  ], f);
  assert.equal(verdict(requested, "R-13"), "not-observable");
  // remove: everything deflated, actual 0, then a reset
  const remove = trace([
    ...status(0, ...INIT),
    host(512),
    ...inflate("0x1", 0, 256),
    ...inflate("0x2", 256, 256),
    writeActual(512),
    ...deflate("0x3", 0, 256),
    ...deflate("0x4", 256, 256),
    writeActual(0),
    ...status(0),
  ], f);
  assert.equal(verdict(remove, "R-13"), "not-observable");
  // the same deflate without the reset is the guest deflating on its own: no DEFLATE_ON_OOM
  const oom = trace([
    ...status(0, ...INIT),
    host(512),
    ...inflate("0x1", 0, 256),
    ...inflate("0x2", 256, 256),
    writeActual(512),
    ...deflate("0x3", 0, 256),
    writeActual(256),
  ], f);
  assert.equal(verdict(oom, "R-13"), "fail");
});

Deno.test("repeated pages in one request count: R-07 sees 400 PFNs, S-06 a page named twice", () => {
  const t = trace([
    ...status(0, ...INIT),
    {
      type: "chain",
      queue: 0,
      elem: "0x1",
      readable: 1,
      writable: 0,
      pages: [[100, 200], [100, 200]],
    },
    { type: "used", queue: 0, elem: "0x1", len: 0 },
  ]);
  assert.equal(verdict(t, "R-07"), "fail");
  assert.equal(verdict(t, "S-06"), "fail");
});

Deno.test("G46a is decided by buffers without device-writable parts only", () => {
  const t = trace([
    ...status(0, ...INIT),
    { type: "chain", queue: 3, elem: "0x1", readable: 0, writable: 1 },
    { type: "used", queue: 3, elem: "0x1", len: 4096 },
  ]);
  assert.equal(verdict(t, "G46a"), "not-observable");
});

Deno.test("B27 is judged by order: a stats buffer used after the driver's last action is not judged", () => {
  const used: EventInput[] = [
    { type: "chain", queue: 2, elem: "0x1", readable: 1, writable: 0 },
    { type: "used", queue: 2, elem: "0x1", len: 0 },
  ];
  assert.equal(verdict(trace([...status(0, ...INIT), ...used]), "B27"), "not-observable");
  const ignored = trace([...status(0, ...INIT), ...used, { type: "notify", queue: 0 }]);
  assert.equal(verdict(ignored, "B27"), "fail");
});

/** A QEMU log line. */
const q = (t: number, text: string) => `1@${t}.000000:${text}`;
const BALLOON = "0xb0";
const NET = "0xe0";

Deno.test("QEMU import: another device's buffers are not the balloon's", () => {
  const log = [
    q(1, `virtio_set_status vdev ${NET} val 15`),
    q(1, `virtio_set_status vdev ${BALLOON} val 15`),
    q(2, `virtio_queue_notify vdev ${NET} n 2 vq 0xe2`),
    q(2, "virtqueue_pop vq 0xe2 elem 0x10 in_num 0 out_num 1"),
    q(2, "virtqueue_pop vq 0xe2 elem 0x11 in_num 0 out_num 1"),
    q(3, `virtio_queue_notify vdev ${BALLOON} n 0 vq 0xb1`),
    q(3, "virtqueue_pop vq 0xb1 elem 0x20 in_num 0 out_num 1"),
    q(3, "virtio_balloon_handle_output section name: pc.ram gpa: 0x5000"),
    q(3, "virtqueue_fill vq 0xb1 elem 0x20 len 0 idx 0"),
  ].join("\n") + "\n";
  // the balloon is told by virtio_balloon_handle_output on its queue
  const r = importQemuTrace(log);
  assert.equal(r.vdev, BALLOON);
  const chains = r.trace.events.filter((e) => e.type === "chain");
  assert.deepEqual(chains.map((e) => e.type === "chain" && e.elem), ["0x20"]);
  assert.equal(r.trace.events.filter((e) => e.type === "status").length, 1);
  // a vdev that is not in the log, and a log that cannot tell, are errors
  assert.throws(
    () => importQemuTrace(log, { vdev: "0xdead" }),
    (e) => e instanceof QemuImportError && /vdev 0xdead does not appear in the log/.test(e.message),
  );
  const twoQuiet = log.split("\n").slice(0, 5).join("\n") + "\n";
  assert.throws(
    () => importQemuTrace(twoQuiet),
    (e) => e instanceof QemuImportError && /2 virtio devices .* pass --vdev/.test(e.message),
  );
});

Deno.test("QEMU import: reported blocks are placed only where an inflate confirms the offset", () => {
  const pop = (vq: string, elem: string, inNum: number, outNum: number) =>
    `virtqueue_pop vq ${vq} elem ${elem} in_num ${inNum} out_num ${outNum}`;
  const discard = (hva: number, len: number) =>
    `ram_block_discard_range pc.ram@0x${hva.toString(16)} + 0x${
      len.toString(16)
    }: madvise: 1 fallocate: 0 ret: 0`;
  const base = 0x7f0000000000;
  const head = [
    q(1, `virtio_set_status vdev ${BALLOON} val 15`),
    q(2, `virtio_queue_notify vdev ${BALLOON} n 0 vq 0xb1`),
    q(2, `virtio_queue_notify vdev ${BALLOON} n 3 vq 0xb4`),
    // an inflate of guest page 0x5000 at host base + 0x5000: offset = base
    q(2, pop("0xb1", "0x20", 0, 1)),
    q(2, "virtio_balloon_handle_output section name: pc.ram gpa: 0x5000"),
    q(2, discard(base + 0x5000, 4096)),
    q(2, "virtqueue_fill vq 0xb1 elem 0x20 len 0 idx 0"),
  ];
  const report = (hva: number) => [
    q(3, pop("0xb4", "0x30", 1, 0)),
    q(3, discard(hva, 0x200000)),
    q(3, "virtqueue_fill vq 0xb4 elem 0x30 len 0 idx 0"),
  ];
  // a 256 MiB guest is one contiguous block: a report anywhere in it is placed
  const small = importQemuTrace([...head, ...report(base + 0x400000), ""].join("\n"), {
    guestPages: 65536,
  });
  const placed = small.trace.events.find((e) => e.type === "report");
  assert.deepEqual(placed?.type === "report" && placed.pages, [[0x400, 512]]);
  // an 8 GiB guest may be split around the PCI hole: above the inflated pages it is not placed
  const big = importQemuTrace([...head, ...report(base + 0x100000000), ""].join("\n"), {
    guestPages: 2 * 2 ** 20,
  });
  const unplaced = big.trace.events.find((e) => e.type === "report");
  assert.deepEqual(unplaced?.type === "report" && unplaced.pages, []);
  assert.match(big.notes.join("\n"), /1 of 1 reported blocks cannot be placed/);
});

Deno.test("R-13: balloon-page migration (an inflate and a deflate, actual unchanged) is no OOM deflate", () => {
  const f = { offered: MODERN, negotiated: ["STATS_VQ", "VERSION_1"] };
  const t = trace([
    ...status(0, ...INIT),
    { type: "host", action: "set-target", pages: 4096 },
    ...inflate("0x1", 0, 256),
    { type: "config-write", field: "actual", value: 256 },
    ...inflate("0x2", 1000, 1),
    ...deflate("0x3", 0, 1),
  ], f);
  assert.equal(verdict(t, "R-13"), "not-observable");
});

Deno.test("R-13: an OOM deflate that empties the balloon is not taken for remove when the driver goes on", () => {
  const f = { offered: MODERN, negotiated: ["STATS_VQ", "VERSION_1"] };
  const t = trace([
    ...status(0, ...INIT),
    { type: "host", action: "set-target", pages: 100 },
    ...inflate("0x1", 0, 100),
    { type: "config-write", field: "actual", value: 100 },
    ...deflate("0x2", 0, 100),
    { type: "config-write", field: "actual", value: 0 },
    { type: "notify", queue: 2 },
    { type: "chain", queue: 2, elem: "0x9", readable: 1, writable: 0 },
    ...status(0, ...INIT),
  ], f);
  assert.equal(verdict(t, "R-13"), "fail");
});

Deno.test("B27: a stats buffer used just before a reset, or before a repeated status, is not judged", () => {
  const used: EventInput[] = [
    { type: "chain", queue: 2, elem: "0x1", readable: 1, writable: 0 },
    { type: "used", queue: 2, elem: "0x1", len: 0 },
  ];
  const full = ACK | DRV | FOK | DOK;
  assert.equal(
    verdict(trace([...status(0, ...INIT), ...used, ...status(0)]), "B27"),
    "not-observable",
  );
  assert.equal(
    verdict(trace([...status(0, ...INIT), ...used, ...status(full)]), "B27"),
    "not-observable",
  );
});

Deno.test("B26: decided only for a session that goes on after DRIVER_OK, on named queues", () => {
  const f = { offered: MODERN, negotiated: MODERN };
  assert.equal(verdict(trace(status(0, ...INIT), f), "B26"), "not-observable");
  const later: EventInput = { type: "config-write", field: "actual", value: 0 };
  assert.equal(verdict(trace([...status(0, ...INIT), later], f), "B26"), "fail");
  const unnamed = trace([
    ...status(0, ...INIT),
    { type: "chain", queue: -1, elem: "0x1", readable: 1, writable: 0 },
    later,
  ], f);
  assert.equal(verdict(unnamed, "B26"), "not-observable");
});

Deno.test("G55a: with the features unknown a legacy order passes; a trace that starts mid-way is not judged", () => {
  assert.equal(verdict(trace(status(0, ACK, ACK | DRV, ACK | DRV | DOK)), "G55a"), "pass");
  assert.equal(
    verdict(trace(status(ACK | DRV, ACK | DRV | FOK, ACK | DRV | FOK | DOK)), "G55a"),
    "not-observable",
  );
});

Deno.test("B17: decided only when a deflate is taken while an inflate is outstanding; a reset clears them", () => {
  const outstanding: EventInput = {
    type: "chain",
    queue: 0,
    elem: "0x1",
    readable: 1,
    writable: 0,
    pages: [[100, 10]],
  };
  // QEMU's way: every inflate used at once — the driver's order cannot show
  assert.equal(
    verdict(
      trace([...status(0, ...INIT), ...inflate("0x1", 100, 10), ...deflate("0x2", 100, 10)]),
      "B17",
    ),
    "not-observable",
  );
  // an inflate popped, never used, then a reset: a later deflate of its pages is fine
  const t = trace([
    ...status(0, ...INIT),
    outstanding,
    ...status(0, ...INIT),
    ...inflate("0x3", 200, 1),
    { type: "chain", queue: 0, elem: "0x4", readable: 1, writable: 0, pages: [[300, 1]] },
    ...deflate("0x5", 100, 10),
  ]);
  assert.equal(verdict(t, "B17"), "pass");
});

Deno.test("R-06 and S-07 are judged only once the balloon's contents are known (from a reset)", () => {
  // the trace starts mid-session: pages 0..99 were inflated before it
  const t = trace([
    ...status(ACK | DRV | FOK | DOK),
    ...deflate("0x1", 0, 100),
    { type: "config-write", field: "actual", value: 0 },
  ]);
  assert.equal(verdict(t, "S-07"), "not-observable");
  assert.equal(verdict(t, "R-06"), "not-observable");
});

Deno.test("G08 needs the bits the driver wrote: QEMU's negotiated set is already masked by its offer", () => {
  const f = { offered: MODERN, negotiated: MODERN };
  assert.equal(verdict(trace(status(0, ...INIT), f), "G08"), "not-observable");
});

Deno.test("QEMU import: with --vdev and no notify lines, queues that ran handle_output are the balloon's", () => {
  const log = [
    q(1, `virtio_set_status vdev ${NET} val 15`),
    q(1, `virtio_set_status vdev ${BALLOON} val 15`),
    q(2, "virtqueue_pop vq 0xe2 elem 0x10 in_num 0 out_num 1"),
    q(3, "virtqueue_pop vq 0xb1 elem 0x20 in_num 0 out_num 1"),
    q(3, "virtio_balloon_handle_output section name: pc.ram gpa: 0x5000"),
    q(3, "virtqueue_fill vq 0xb1 elem 0x20 len 0 idx 0"),
  ].join("\n") + "\n";
  const r = importQemuTrace(log, { vdev: BALLOON });
  const chains = r.trace.events.filter((e) => e.type === "chain");
  assert.deepEqual(chains.map((e) => e.type === "chain" && e.elem), ["0x20"]);
  assert.match(r.problems.map((p) => p.message).join("\n"), /1 buffer events\b.* left out/);
  assert.match(r.notes.join("\n"), /queues the log never names/);
});

Deno.test("QEMU import: RAM split around a hole (two offsets) places a report only inside an offset's span", () => {
  const base = 0x7f0000000000;
  const hole = 0x80000000; // q35, > 2.75 GiB: RAM above 2 GiB moves to 4 GiB
  const inflate1 = (gpa: number, hva: number, elem: string) => [
    q(2, `virtqueue_pop vq 0xb1 elem ${elem} in_num 0 out_num 1`),
    q(2, `virtio_balloon_handle_output section name: pc.ram gpa: 0x${gpa.toString(16)}`),
    q(
      2,
      `ram_block_discard_range pc.ram@0x${
        hva.toString(16)
      } + 0x1000: madvise: 1 fallocate: 0 ret: 0`,
    ),
    q(2, `virtqueue_fill vq 0xb1 elem ${elem} len 0 idx 0`),
  ];
  const report = (hva: number) => [
    q(3, "virtqueue_pop vq 0xb4 elem 0x30 in_num 1 out_num 0"),
    q(
      3,
      `ram_block_discard_range pc.ram@0x${
        hva.toString(16)
      } + 0x200000: madvise: 1 fallocate: 0 ret: 0`,
    ),
    q(3, "virtqueue_fill vq 0xb4 elem 0x30 len 0 idx 0"),
  ];
  const head = [
    q(1, `virtio_set_status vdev ${BALLOON} val 15`),
    q(2, `virtio_queue_notify vdev ${BALLOON} n 0 vq 0xb1`),
    q(2, `virtio_queue_notify vdev ${BALLOON} n 3 vq 0xb4`),
    ...inflate1(0x1000, base + 0x1000, "0x21"),
    ...inflate1(0x40000000, base + 0x40000000, "0x22"), // 1 GiB, low part
    ...inflate1(0x100000000, base + hole, "0x23"), // 4 GiB, the first page above the hole
    ...inflate1(0x140000000, base + hole + 0x40000000, "0x24"),
  ];
  const placed = (hva: number) => {
    const r = importQemuTrace([...head, ...report(hva), ""].join("\n"), {
      guestPages: 4 * 2 ** 18,
    });
    const e = r.trace.events.find((x) => x.type === "report");
    return e?.type === "report" ? e.pages : undefined;
  };
  // inside the low span: the low offset only
  assert.deepEqual(placed(base + 0x20000000), [[0x20000, 512]]);
  // inside the high span: the high offset only
  assert.deepEqual(placed(base + hole + 0x20000000), [[0x120000, 512]]);
  // between the low span's top and the hole: no offset confirms it
  assert.deepEqual(placed(base + 0x60000000), []);
});

Deno.test("R-13: a migration between two OOM deflates joins neither", () => {
  const f = { offered: MODERN, negotiated: MODERN };
  const t = trace([
    ...status(0, ...INIT),
    readTarget(1024),
    ...inflate("0x1", 0, 256),
    ...inflate("0x2", 256, 256),
    ...inflate("0x3", 512, 256),
    writeActual(768),
    ...deflate("0x4", 0, 256),
    writeActual(512),
    ...inflate("0x5", 2000, 1),
    ...deflate("0x6", 256, 1),
    ...deflate("0x7", 257, 256),
    writeActual(256),
  ], f);
  assert.equal(verdict(t, "R-13"), "pass");
  assert.match(checkTrace(t).find((r) => r.rule === "R-13")?.detail ?? "", /^2 OOM deflates/);
});

Deno.test("R-13: not judged before the balloon's contents are known; judged against the target the driver read", () => {
  const f = { offered: MODERN, negotiated: ["STATS_VQ", "VERSION_1"] };
  // mid-session: 512 pages inflated before the trace; the host asks for them back
  const mid = trace([
    ...status(ACK | DRV | FOK | DOK),
    readTarget(0, 512),
    ...deflate("0x1", 0, 256),
    writeActual(256),
    ...deflate("0x2", 256, 256),
    writeActual(0),
  ], f);
  assert.equal(verdict(mid, "R-13"), "not-observable");
  // the driver read a lower target; the host raised it again before the deflate was seen
  const raced = trace([
    ...status(0, ...INIT),
    readTarget(512),
    ...inflate("0x1", 0, 256),
    ...inflate("0x2", 256, 256),
    writeActual(512),
    readTarget(256),
    { type: "host", action: "set-target", pages: 512 },
    ...deflate("0x3", 0, 256),
    writeActual(256),
  ], f);
  assert.equal(verdict(raced, "R-13"), "not-observable");
});

Deno.test("remove with the device using the stats buffer on the way: no OOM deflate, B27 not judged", () => {
  const f = { offered: MODERN, negotiated: ["STATS_VQ", "VERSION_1"] };
  const t = trace([
    ...status(0, ...INIT),
    { type: "chain", queue: 2, elem: "0x9", readable: 1, writable: 0 },
    readTarget(512),
    ...inflate("0x1", 0, 256),
    ...inflate("0x2", 256, 256),
    writeActual(512),
    { type: "notify", queue: 1 },
    ...deflate("0x3", 0, 256),
    { type: "used", queue: 2, elem: "0x9", len: 0 },
    { type: "notify", queue: 1 },
    ...deflate("0x4", 256, 256),
    writeActual(0),
    ...status(0),
  ], f);
  assert.equal(verdict(t, "R-13"), "not-observable");
  assert.equal(verdict(t, "B27"), "not-observable");
});

Deno.test("pages on a queue the trace cannot name: the balloon rules are not observable", () => {
  const t = trace([
    ...status(0, ...INIT),
    { type: "chain", queue: -1, elem: "0x1", readable: 1, writable: 0, pages: [[0, 256]] },
    { type: "used", queue: -1, elem: "0x1", len: 0 },
    writeActual(256),
  ]);
  for (const id of ["R-06", "S-06", "S-07", "R-13", "B17"]) {
    assert.equal(verdict(t, id), "not-observable", id);
  }
});

Deno.test("the balloon is known empty at a fresh ACKNOWLEDGE; S-07 is judged after a later reset", () => {
  const fresh = trace([...inflate("0x1", 0, 10), ...status(...INIT), writeActual(0)]);
  assert.equal(verdict(fresh, "R-06"), "pass");
  const later = trace([
    ...status(ACK | DRV | FOK | DOK),
    ...deflate("0x1", 0, 10),
    ...status(0, ...INIT),
    ...deflate("0x2", 500, 10),
  ]);
  assert.equal(verdict(later, "S-07"), "fail");
});

Deno.test("QEMU import: a stray pop of another device between a balloon pop and its handle_output", () => {
  const log = [
    q(1, `virtio_set_status vdev ${NET} val 15`),
    q(1, `virtio_set_status vdev ${BALLOON} val 15`),
    q(2, `virtio_queue_notify vdev ${NET} n 0 vq 0xe1`),
    q(2, `virtio_queue_notify vdev ${BALLOON} n 0 vq 0xb1`),
    q(3, "virtqueue_pop vq 0xb1 elem 0x20 in_num 0 out_num 1"),
    q(3, "virtio_balloon_handle_output section name: pc.ram gpa: 0x5000"),
    q(3, "virtqueue_pop vq 0xe1 elem 0x10 in_num 0 out_num 1"),
    q(3, "virtio_balloon_handle_output section name: pc.ram gpa: 0x6000"),
    q(3, "virtio_balloon_handle_output section name: pc.ram gpa: 0x7000"),
    q(3, "virtqueue_fill vq 0xb1 elem 0x20 len 0 idx 0"),
  ].join("\n") + "\n";
  const r = importQemuTrace(log);
  assert.equal(r.vdev, BALLOON);
  const chains = r.trace.events.filter((e) => e.type === "chain");
  assert.equal(chains.length, 1);
  assert.deepEqual(chains[0]?.type === "chain" && chains[0].pages, [[5, 3]]);
  assert.deepEqual(r.problems, []);
});
