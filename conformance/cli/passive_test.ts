/**
 * Passive mode on inputs that give nothing, or too little, to judge: each is
 * named, and the run exits 3 ("could not judge"), never 0. Built from the
 * real QEMU 7.2 + Linux 6.1 log in `testdata/`, damaged on purpose.
 */

import assert from "node:assert/strict";
import { PASSIVE_EXIT } from "./passive.ts";

const CLI = new URL("./main.ts", import.meta.url).pathname;
const LOG_GZ = new URL("../testdata/qemu-small.log.gz", import.meta.url).pathname;
const canRun = (await Deno.permissions.query({ name: "run" })).state === "granted";

async function gunzip(path: string): Promise<string> {
  const stream = (await Deno.open(path)).readable.pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

const LOG = await gunzip(LOG_GZ);
const LINES = LOG.split("\n").slice(0, -1);

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function conform(...args: string[]): Promise<Outcome> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", CLI, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

let dir = "";
async function file(name: string, content: string | Uint8Array): Promise<string> {
  if (dir === "") dir = await Deno.makeTempDir({ prefix: "passive-test-" });
  const path = `${dir}/${name}`;
  if (typeof content === "string") await Deno.writeTextFile(path, content);
  else await Deno.writeFile(path, content);
  return path;
}

function cliTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: !canRun,
    fn: async () => {
      try {
        await fn();
      } finally {
        if (dir !== "") await Deno.remove(dir, { recursive: true });
        dir = "";
      }
    },
  });
}

/** The summary line of the terminal report. */
function summary(r: Outcome): string {
  return r.stdout.split("\n").findLast((l) => l.startsWith("rules: ")) ?? "";
}

/** Asserts a "could not judge" run: exit 3, the reason on the summary line. */
function notJudged(r: Outcome, reason: RegExp): void {
  assert.equal(r.code, PASSIVE_EXIT.notJudged, `${r.stdout}\n${r.stderr}`);
  assert.match(summary(r), / · NOT JUDGED: /, r.stdout);
  assert.match(summary(r), reason, r.stdout);
  assert.doesNotMatch(r.stdout, / · OK$/m);
}

cliTest("--qemu-trace on an empty file: not judged, exit 3", async () => {
  notJudged(await conform("--qemu-trace", await file("empty.log", "")), /no balloon event/);
});

cliTest("--qemu-trace on random bytes: not judged, exit 3, the lines named", async () => {
  const bytes = new Uint8Array(200_000);
  let x = 12345;
  for (let i = 0; i < bytes.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  const r = await conform("--qemu-trace", await file("random.bin", bytes));
  notJudged(r, /no balloon event/);
  assert.match(r.stdout, /import: .*not QEMU trace lines/);
});

cliTest(
  "--qemu-trace on a trace in the suite's format: not judged, --trace suggested",
  async () => {
    const trace = await file(
      "t.jsonl",
      '{"type":"header","format":"virtio-balloon-trace","version":1,"source":"x","profile":"virtio-1.x"}\n{"type":"status","t":0,"value":1}\n',
    );
    const r = await conform("--qemu-trace", trace);
    notJudged(r, /no balloon event/);
    assert.match(r.stdout, /--trace/);
  },
);

cliTest(
  "--qemu-trace on a real log recorded without -msg timestamp=on: not judged, named",
  async () => {
    const bare = LINES.map((l) => l.replace(/^\d+@\d+\.\d+:/, "")).join("\n") + "\n";
    const r = await conform("--qemu-trace", await file("bare.log", bare));
    notJudged(r, /-msg timestamp=on/);
  },
);

cliTest("--trace with only its header: not judged, exit 3", async () => {
  const trace = await file(
    "header.jsonl",
    '{"type":"header","format":"virtio-balloon-trace","version":1,"source":"x","profile":"virtio-1.x"}\n',
  );
  notJudged(await conform("--trace", trace), /no event/);
});

cliTest(
  "a log cut in the middle of its last line: the line is named, verdicts unreliable",
  async () => {
    const cut = LOG.slice(0, LOG.length - 30);
    const r = await conform(
      "--qemu-trace",
      await file("cut.log", cut),
      "--report",
      "json",
      "--out",
      dir,
    );
    notJudged(r, /unreliable/);
    assert.match(
      r.stdout,
      new RegExp(`import: line ${LINES.length}: .*ends in the middle of a line`),
    );
    const json = JSON.parse(await Deno.readTextFile(`${dir}/passive.json`));
    assert.equal(json.ok, false);
    assert.ok(json.rules.some((x: { verdict: string }) => x.verdict === "error"));
    assert.ok(!json.rules.some((x: { verdict: string }) => x.verdict === "pass"));
  },
);

cliTest(
  "a log cut inside an inflate request: the open element is named, balloon rules unreliable",
  async () => {
    // the log up to the middle of the last inflate request's pages
    const last = LINES.findLastIndex((l) => /virtqueue_pop .* in_num 0 out_num 1$/.test(l));
    const lines = LINES.slice(0, last + 100);
    assert.ok(lines.slice(last + 1).every((l) => l.includes("virtio_balloon_handle_output")));
    const r = await conform("--qemu-trace", await file("cut-element.log", lines.join("\n") + "\n"));
    assert.match(r.stdout, new RegExp(`import: line ${last + 1}: .*no virtqueue_fill`));
    assert.match(r.stdout, /^S-06 +MUST NOT +driver +error +/m);
    assert.match(r.stdout, /^R-06 +MUST +driver +error +/m);
    assert.notEqual(r.code, 0);
  },
);

cliTest("lines that are not trace lines are named with their line numbers", async () => {
  const lines = [...LINES];
  lines.splice(100, 0, "qemu-system-x86_64: terminating on signal 15");
  const r = await conform("--qemu-trace", await file("noise.log", lines.join("\n") + "\n"));
  notJudged(r, /unreliable/);
  assert.match(r.stdout, /import: line 101: .*not a QEMU trace line/);
});

cliTest("a log concatenated with itself: time goes backwards at the join, named", async () => {
  const twice = LOG + LOG;
  const r = await conform("--qemu-trace", await file("twice.log", twice));
  notJudged(r, /unreliable/);
  assert.match(r.stdout, new RegExp(`import: line ${LINES.length + 1}: time goes backwards`));
});

cliTest("a --vdev that is not the balloon: one problem, no rule failure, not judged", async () => {
  // a second virtio device, whose status and queue lines interleave with the balloon's
  const other = "0x555a6f000010";
  const tid = LINES[0]?.split("@")[0];
  const at = (i: number) => (LINES[i] as string).split(":")[0];
  const lines = [...LINES];
  const add = [
    `${at(20)}:virtio_set_status vdev ${other} val 15`,
    `${at(40)}:virtio_queue_notify vdev ${other} n 0 vq 0x555a6f000100`,
    `${at(40)}:virtqueue_pop vq 0x555a6f000100 elem 0x7f0000000001 in_num 1 out_num 0`,
    `${at(40)}:virtqueue_fill vq 0x555a6f000100 elem 0x7f0000000001 len 64 idx 0`,
  ];
  lines.splice(41, 0, ...add.slice(1));
  lines.splice(21, 0, add[0] as string);
  assert.ok(tid !== undefined);
  const path = await file("two.log", lines.join("\n") + "\n");
  const auto = await conform("--qemu-trace", path);
  assert.equal(auto.code, 1, "without --vdev the balloon is found: G57 and G05 fail");
  const r = await conform("--qemu-trace", path, "--vdev", other);
  notJudged(r, /unreliable/);
  const problems = r.stdout.split("\n").filter((l) => l.startsWith("  import: "));
  assert.ok(problems.length <= 3, problems.join("\n"));
  assert.match(r.stdout, /import: line 22: --vdev 0x555a6f000010: no virtio_balloon_handle_output/);
  assert.doesNotMatch(r.stdout, /^\S+ +\S+( NOT)? +\S+ +FAIL/m);
});

cliTest(
  "a log whose balloon cannot be identified: not judged, exit 3, the reason named",
  async () => {
    // two virtio devices and no virtio_balloon_handle_output line to tell the balloon
    const head = LINES.slice(0, 30).filter((l) => !l.includes("virtio_balloon_"));
    const other = head.map((l) => l.replace(/vdev 0x[0-9a-f]+/, "vdev 0x555a6f000010"));
    const r = await conform(
      "--qemu-trace",
      await file("two.log", [...head, ...other].join("\n") + "\n"),
    );
    notJudged(r, /the balloon device is not identified: the log has 2 virtio devices/);
  },
);

cliTest("a trace that decides no rule: not judged, exit 3", async () => {
  const trace = await file(
    "read.jsonl",
    '{"type":"header","format":"virtio-balloon-trace","version":1,"source":"x","profile":"virtio-1.x"}\n{"type":"config-read","t":0,"num_pages":0,"actual":0}\n',
  );
  notJudged(await conform("--trace", trace), /no rule could be decided/);
});

cliTest("a directory or a missing file is a usage error, exit 2", async () => {
  const d = await file("x", "");
  for (const args of [["--qemu-trace", `${d}.missing`], ["--qemu-trace", dir], ["--trace", dir]]) {
    const r = await conform(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^error: --(qemu-)?trace '.*': cannot read the file/);
  }
});

cliTest("the exit codes are in --help", async () => {
  const r = await conform("--trace", "x", "--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^ {2}3 +when nothing failed but the input could not be judged/m);
});
