/**
 * Streaming passive check, measured: generates a large QEMU-style trace log
 * in the OS temp dir (never in the repository) by repeating a real cycle of
 * `conformance/testdata/qemu-small.log.gz` — inflate 16 MiB, deflate it,
 * two free page reports, stats — with advancing timestamps and PFNs (each
 * cycle's pages rotated through guest RAM by the same amount, so the balloon
 * stays consistent), then checks it in a child process (`--qemu-trace`, as
 * the CLI does) and prints MB/s and the child's peak RSS (`VmHWM` from
 * `/proc/self/status`). Then the same for the imported trace in the suite's
 * format (`--trace`), and optionally for the log gzipped.
 *
 * ```sh
 * deno task bench:passive                 # a 2 GiB log
 * deno task bench:passive --size-mb 256 --gzip
 * ```
 *
 * Wall time depends on what else the machine runs; the CPU time (user + system
 * of all the child's threads, from `/proc/self/stat`) much less: both are
 * printed. The machine is shared: run it when it is quiet, and say so with the
 * figures.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BALLOON_PAGE_SIZE } from "../spec/mod.ts";
import { checkQemuLog, checkTraceFile, readMaybeGzip, TraceWriter } from "../conformance/mod.ts";
import { qemuHeader, type TraceEvent } from "../conformance/mod.ts";

const SMALL = new URL("../conformance/testdata/qemu-small.log.gz", import.meta.url).pathname;
const META = new URL("../conformance/testdata/qemu-small.meta.json", import.meta.url).pathname;
const MIB = 2 ** 20;

/** CPU seconds this process used so far (user + system, all threads), from /proc/self/stat. */
function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name; clock ticks
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Clock ticks per second of /proc/self/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** Peak resident memory of this process, KiB. */
function peakKiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m === null ? NaN : Number(m[1]);
}

interface Meta {
  readonly guestPages: number;
  readonly features: TraceEvent;
}

/** One line of the cycle, ready to be written with a new time and shifted addresses. */
type Piece =
  | { readonly kind: "plain"; readonly tid: string; readonly us: number; readonly rest: string }
  | {
    readonly kind: "gpa";
    readonly tid: string;
    readonly us: number;
    readonly before: string;
    readonly gpa: number;
  }
  | {
    readonly kind: "hva";
    readonly tid: string;
    readonly us: number;
    readonly before: string;
    readonly hva: number;
    readonly after: string;
  };

const LINE = /^(\d+)@(\d+)\.(\d{6}):(.*)$/;

function pieceOf(line: string): Piece {
  const m = LINE.exec(line);
  if (m === null) throw new Error(`not a timestamped line: ${line}`);
  const tid = m[1] as string;
  const us = Number(m[2]) * 1e6 + Number(m[3]);
  const rest = m[4] as string;
  const g = /^(virtio_balloon_handle_output section name: \S+ gpa: 0x)([0-9a-f]+)$/.exec(rest);
  if (g !== null) {
    return { kind: "gpa", tid, us, before: g[1] as string, gpa: parseInt(g[2] as string, 16) };
  }
  const h = /^(ram_block_discard_range \S+@0x)([0-9a-f]+)( \+ .*)$/.exec(rest);
  if (h !== null) {
    return {
      kind: "hva",
      tid,
      us,
      before: h[1] as string,
      hva: parseInt(h[2] as string, 16),
      after: h[3] as string,
    };
  }
  return { kind: "plain", tid, us, rest };
}

function stamp(us: number): string {
  const s = Math.floor(us / 1e6);
  return `${s}.${String(us - s * 1e6).padStart(6, "0")}`;
}

/** Writes the log: head, cycles until `bytes`, tail. Returns lines and cycles written. */
async function generate(
  path: string,
  bytes: number,
  meta: Meta,
): Promise<{ lines: number; cycles: number }> {
  const lines = (await readMaybeGzip(SMALL)).split("\n").filter((l) => l !== "");
  // the cycle: from the first balloon request to the third (the balloon is empty at both)
  const requests = lines.flatMap((l, i) => (l.includes(":balloon_event ") ? [i] : []));
  const [from, to] = [requests[0] as number, requests[2] as number];
  const head = lines.slice(0, from);
  const cycle = lines.slice(from, to).map(pieceOf);
  const tail = lines.slice(to).map(pieceOf);
  // the host-to-guest offset of pc.ram, from the first inflated page and its discard
  const first = cycle.findIndex((p) => p.kind === "gpa");
  const a = cycle[first] as Extract<Piece, { kind: "gpa" }>;
  const b = cycle[first + 1] as Extract<Piece, { kind: "hva" }>;
  const delta = b.hva - a.gpa;
  const ram = meta.guestPages * BALLOON_PAGE_SIZE;
  // each cycle's pages rotate by 4 MiB (a multiple of every reported block) through guest RAM
  const step = 4 * MIB;
  const span = (cycle.at(-1) as Piece).us - (cycle[0] as Piece).us + 100_000;
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  let out: string[] = [];
  let size = 0;
  let total = 0;
  let n = 0;
  const flush = async () => {
    const data = enc.encode(out.join(""));
    out = [];
    size = 0;
    let off = 0;
    while (off < data.length) off += await f.write(data.subarray(off));
  };
  const put = async (s: string) => {
    out.push(s);
    size += s.length;
    total += s.length;
    n++;
    if (size >= 4 * MIB) await flush();
  };
  const write = async (p: Piece, dt: number, shift: number) => {
    const pre = `${p.tid}@${stamp(p.us + dt)}:`;
    if (p.kind === "plain") return await put(`${pre}${p.rest}\n`);
    if (p.kind === "gpa") {
      return await put(`${pre}${p.before}${((p.gpa + shift) % ram).toString(16)}\n`);
    }
    const gpa = p.hva - delta;
    const moved = gpa >= 0 && gpa < ram ? ((gpa + shift) % ram) + delta : p.hva;
    await put(`${pre}${p.before}${moved.toString(16)}${p.after}\n`);
  };
  for (const l of head) await put(l + "\n");
  let k = 0;
  const room = bytes - lines.slice(to).join("\n").length;
  while (total < room) {
    for (const p of cycle) await write(p, k * span, (k * step) % ram);
    k++;
  }
  for (const p of tail) await write(p, (k - 1) * span, 0);
  await flush();
  f.close();
  return { lines: n, cycles: k };
}

interface ChildFigures {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakKiB: number;
  readonly events: number;
  readonly failing: string[];
  readonly verdicts: Record<string, number>;
}

/** Child: checks one file and prints its figures as JSON. */
async function child(mode: string, path: string, meta: Meta, out?: string): Promise<void> {
  const t0 = performance.now();
  const c0 = cpuSeconds();
  let results;
  let events;
  if (mode === "trace") {
    const c = await checkTraceFile(path);
    results = c.results;
    events = c.events;
  } else {
    const options = { guestPages: meta.guestPages, extra: [meta.features] };
    const w = out === undefined ? undefined : await TraceWriter.create(out, qemuHeader(options));
    const c = await checkQemuLog(path, {
      ...options,
      ...(w === undefined ? {} : { onEvent: (e) => w.add(e), afterChunk: () => w.flush() }),
    });
    await w?.close();
    results = c.results;
    events = c.events;
  }
  const verdicts: Record<string, number> = {};
  for (const r of results) verdicts[r.verdict] = (verdicts[r.verdict] ?? 0) + 1;
  const figures: ChildFigures = {
    seconds: (performance.now() - t0) / 1000,
    cpuSeconds: cpuSeconds() - c0,
    peakKiB: peakKiB(),
    events,
    failing: results.filter((r) => r.verdict === "fail").map((r) => r.rule),
    verdicts,
  };
  console.log(JSON.stringify(figures));
}

async function measure(mode: string, path: string, out?: string): Promise<ChildFigures> {
  const args = [
    "run",
    // reading /proc/self/status needs --allow-all
    "--allow-all",
    import.meta.filename as string,
    "--child",
    mode,
    "--file",
    path,
  ];
  if (out !== undefined) args.push("--out", out);
  const r = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" })
    .output();
  if (r.code !== 0) throw new Error(`the ${mode} check exited ${r.code}`);
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

function report(what: string, bytes: number, f: ChildFigures): void {
  const mib = bytes / MIB;
  console.log(
    [
      what.padEnd(30),
      `${mib.toFixed(0).padStart(5)} MiB`,
      `${f.seconds.toFixed(1).padStart(5)} s wall (${(mib / f.seconds).toFixed(1)} MiB/s)`,
      `${f.cpuSeconds.toFixed(1).padStart(5)} s CPU (${(mib / f.cpuSeconds).toFixed(1)} MiB/s)`,
      `peak RSS ${(f.peakKiB / 1024).toFixed(0)} MiB`,
      `${f.events} events`,
      `failing: ${f.failing.join(", ") || "none"} (${
        Object.entries(f.verdicts).map(([k, v]) => `${v} ${k}`).join(", ")
      })`,
    ].join("  "),
  );
}

async function gzipFile(from: string, to: string): Promise<void> {
  const src = await Deno.open(from);
  const dst = await Deno.open(to, { write: true, create: true, truncate: true });
  await src.readable.pipeThrough(new CompressionStream("gzip")).pipeTo(dst.writable);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      child: { type: "string" },
      file: { type: "string" },
      out: { type: "string" },
      "size-mb": { type: "string", default: "2048" },
      gzip: { type: "boolean" },
      keep: { type: "boolean" },
    },
  });
  const meta = JSON.parse(await Deno.readTextFile(META)) as Meta;
  if (values.child !== undefined) {
    return await child(values.child, values.file ?? "", meta, values.out);
  }
  const size = Number(values["size-mb"]);
  if (!Number.isFinite(size) || size <= 0) {
    throw new Error(
      `--size-mb '${values["size-mb"]}' is not valid: expected a positive number of MiB`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "passive-bench-" });
  const log = `${dir}/qemu.log`;
  try {
    const t0 = performance.now();
    const g = await generate(log, size * MIB, meta);
    const bytes = (await Deno.stat(log)).size;
    console.log(
      `generated ${log}: ${(bytes / MIB).toFixed(0)} MiB, ${g.lines} lines, ${g.cycles} cycles in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );
    report("--qemu-trace (plain)", bytes, await measure("qemu", log));
    if (values.gzip === true) {
      await gzipFile(log, `${log}.gz`);
      report(
        `--qemu-trace (gzip, ${((await Deno.stat(`${log}.gz`)).size / MIB).toFixed(0)} MiB file)`,
        bytes,
        await measure("qemu", `${log}.gz`),
      );
    }
    const trace = `${dir}/trace.jsonl`;
    await measure("qemu", log, trace);
    report(
      "--trace (the imported trace)",
      (await Deno.stat(trace)).size,
      await measure("trace", trace),
    );
  } finally {
    if (values.keep === true) console.log(`kept ${dir}`);
    else await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
