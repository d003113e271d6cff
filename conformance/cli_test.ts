import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";

const CLI = new URL("./cli.ts", import.meta.url).pathname;
const canRun = (await Deno.permissions.query({ name: "run" })).state === "granted";

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

interface CasesJson {
  cases: {
    id: string;
    rules: { id: string }[];
    scenario: { role: string; steps: { do: string }[] };
  }[];
}

function cliTest(name: string, fn: () => Promise<void>): void {
  // the CLI tests spawn `deno`: they need --allow-run (deno test -A)
  Deno.test({ name, ignore: !canRun, fn });
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "conform-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

cliTest("a default run passes, prints one line per target and writes three reports", async () => {
  await withTempDir(async (dir) => {
    const r = await conform("--out", dir, "--seed", "7");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^virtio-balloon conformance suite 0\.1\.0 · profile v3 · 2 targets/);
    assert.match(r.stdout, /^ {2}reference-driver +\d+ pass +0 fail +0 warn +ok$/m);
    assert.match(r.stdout, /^ {2}reference-device +\d+ pass +0 fail +0 warn +ok$/m);
    assert.match(r.stdout, /^seed 7 \(the suite uses no randomness\)$/m);
    assert.match(r.stdout, /^PASS/m);
    assert.ok(!r.stdout.includes("\x1b["), "no colour when piped");
    assert.equal(r.stderr, "", "no progress line when piped");
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["report.json", "report.junit.xml", "report.md"]);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
    assert.equal(json.seed, 7);
  });
});

cliTest("a mutant that fails the cases it declares makes the run pass", async () => {
  const r = await conform(
    "--target",
    "driver:release-before-ack",
    "--filter",
    "deflate.*",
    "--report",
    "none",
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /killed driver:release-before-ack: failed 3\/3 declared cases/);
});

cliTest("the seed as posted fails with exit 1 and names the defects", async () => {
  await withTempDir(async (dir) => {
    const r = await conform("--target", "v3-as-posted", "--filter", "inflate.*", "--out", dir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /defects: +D-01/);
    assert.match(r.stdout, /rerun: deno task conform --target v3-as-posted --filter '/);
    assert.doesNotMatch(r.stdout, /quirk:D-/, "attribution runs are not reported as targets");
    const md = await Deno.readTextFile(`${dir}/report.md`);
    assert.match(md, /## Seed as posted/);
  });
});

cliTest("usage errors exit 2 with one 'error:' line and no stack trace", async () => {
  for (
    const args of [
      ["--bogus"],
      ["--target", "nope"],
      ["--filter", "nope"],
      ["--profile", "virtio-1.x"],
      ["--seed", "x"],
      ["--seed=-1"],
      ["--report", "xml"],
      ["--expect-fail", "/no/such/file"],
      ["positional"],
    ]
  ) {
    const r = await conform(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? "", /^error: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  const p = await conform("--profile", "virtio-1.x");
  assert.match(p.stderr, /virtio-1\.x.*no cases/);
  const s = await conform("--seed", "x");
  assert.match(s.stderr, /^error: --seed 'x' is not valid: expected a non-negative integer/);
});

cliTest("an expected failure that fails keeps the run green", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/xfail`, "# D-09\nv3-as-posted inflate.header.flag\n");
    const r = await conform(
      "--target",
      "v3-as-posted",
      "--filter",
      "inflate.header.flag",
      "--expect-fail",
      `${dir}/xfail`,
      "--report",
      "none",
    );
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /1 expected failure/);
  });
});

cliTest("a listed case that passes, or does not exist, fails the run and is named", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/pass`, "inflate.pfn.max-256\n");
    const a = await conform(
      "--filter",
      "inflate.pfn.max-256",
      "--expect-fail",
      `${dir}/pass`,
      "--report",
      "none",
    );
    assert.equal(a.code, 1);
    assert.match(a.stdout, /pass:1: lists inflate\.pfn\.max-256, which passed on reference-driver/);
    await Deno.writeTextFile(`${dir}/gone`, "\n# comment\nno.such.case\n");
    const b = await conform(
      "--filter",
      "inflate.pfn.max-256",
      "--expect-fail",
      `${dir}/gone`,
      "--report",
      "none",
    );
    assert.equal(b.code, 1);
    assert.match(b.stdout, /gone:3: lists case 'no\.such\.case', which does not exist/);
  });
});

cliTest("--list prints the selected cases with rules, level, role and scenario", async () => {
  const r = await conform("--list", "--filter", "R-12a");
  assert.equal(r.code, 0);
  assert.match(
    r.stdout,
    /^ {2}deflate\.pfn\.mth\.no-reuse-before-ack +R-12a,B14 +MUST NOT +driver +drv\.\S+ +\S/m,
  );
  assert.match(r.stdout, /^Cases \(2\)/m);
});

cliTest("--export writes cases that validate against the exported schema", async () => {
  await withTempDir(async (dir) => {
    const r = await conform("--export", `${dir}/out/`);
    assert.equal(r.code, 0, r.stderr);
    const schema = JSON.parse(await Deno.readTextFile(`${dir}/out/cases.schema.json`));
    const doc: CasesJson = JSON.parse(await Deno.readTextFile(`${dir}/out/cases.json`));
    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
    assert.ok(validate(structuredClone(doc)), JSON.stringify(validate.errors?.slice(0, 3)));
    assert.ok(doc.cases.length > 300);
    const k = doc.cases.find((c) => c.id === "inflate.pfn.max-256");
    assert.equal(k?.rules[0]?.id, "R-07");
    assert.equal(k?.scenario.role, "driver");
    // the schema is not vacuous: a misspelt step is rejected
    const step = k?.scenario.steps[0];
    assert.ok(step !== undefined);
    step.do = "prob";
    assert.equal(validate(doc), false);
  });
});
