import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";

const CLI = new URL("./main.ts", import.meta.url).pathname;
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

cliTest("a default run passes, prints one line per target and writes four reports", async () => {
  await withTempDir(async (dir) => {
    const r = await conform("--out", dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^virtio-balloon conformance suite 0\.1\.0 · profile v3 · 2 targets/);
    assert.match(r.stdout, /^ {2}reference-driver +\d+ pass +0 fail +0 warn +ok$/m);
    // (the cases judged from a device's own memory writes are unsupported in-process)
    assert.match(
      r.stdout,
      /^ {2}reference-device +\d+ pass +0 fail +0 warn +\d+ unsupported +ok$/m,
    );
    assert.match(r.stdout, /^PASS/m);
    assert.ok(!r.stdout.includes("\x1b["), "no colour when piped");
    assert.equal(r.stderr, "", "no progress line when piped");
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["report.html", "report.json", "report.junit.xml", "report.md"]);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
    assert.equal(json.profile, "v3");
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.match(
      html,
      /"specDoc":null/,
      "a report outside the repository has no link to docs/SPEC.md",
    );
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
      ["--profile", "v4"],
      ["--seed", "1"],
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
  const p = await conform("--profile", "v4");
  assert.match(p.stderr, /'v4' is not a profile: expected v3, virtio-1\.x or all/);
});

cliTest(
  "--profile virtio-1.x runs the standard profile's cases on its reference pair",
  async () => {
    const r = await conform("--profile", "virtio-1.x", "--report", "none");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^virtio-balloon conformance suite 0\.1\.0 · profile virtio-1\.x · 2 targets/,
    );
    assert.match(r.stdout, /^ {2}reference-driver-v1x +\d+ pass +0 fail +0 warn +ok$/m);
    assert.match(
      r.stdout,
      /^ {2}reference-device-v1x +\d+ pass +0 fail +0 warn +\d+ unsupported +ok$/m,
    );
    assert.match(r.stdout, /^ {2}free-page-hint /m);
    assert.match(r.stdout, /Rule coverage of profile virtio-1\.x/);
    assert.doesNotMatch(r.stdout, /Rule coverage of profile v3/);
  },
);

cliTest(
  "a target named alone picks its profile; --profile all lists both profiles' cases",
  async () => {
    const r = await conform(
      "--target",
      "v1x-driver:hint-no-stop",
      "--filter",
      "hint.*",
      "--report",
      "none",
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /profile virtio-1\.x · 1 target/);
    assert.match(r.stdout, /1 killed/);
    const l = await conform("--profile", "all", "--list");
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /^ {2}reference-driver-v1x +driver /m);
    assert.match(l.stdout, /^ {2}inflate\.pfn\.max-256 /m);
    assert.match(l.stdout, /^ {2}v1x\.inflate\.pfn\.max-256 /m);
    assert.match(l.stdout, /^ {2}hint\.ends-with-stop +B42 /m);
  },
);

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
    // and the trace format's schema, for --trace files
    const trace = JSON.parse(await Deno.readTextFile(`${dir}/out/trace.schema.json`));
    const line = new Ajv2020({ strict: true }).compile(trace);
    assert.ok(line({ type: "status", t: 1, value: 15 }));
    assert.equal(line({ type: "status", t: 1, value: -1 }), false);
    // the standard profile's cases validate too
    const r2 = await conform("--profile", "virtio-1.x", "--export", `${dir}/v1x/`);
    assert.equal(r2.code, 0, r2.stderr);
    const doc2: CasesJson = JSON.parse(await Deno.readTextFile(`${dir}/v1x/cases.json`));
    assert.ok(validate(structuredClone(doc2)), JSON.stringify(validate.errors?.slice(0, 3)));
    assert.ok(doc2.cases.some((c) => c.id === "hint.ends-with-stop"));
  });
});

// ---- passive mode: --trace, --qemu-trace (the qemu-linux target boots QEMU: run by .ci/run) ----

const QEMU_LOG = new URL("../testdata/qemu-small.log.gz", import.meta.url).pathname;
const EXPECTED = new URL("../targets/qemu-linux/expected-failures.txt", import.meta.url).pathname;

cliTest(
  "--qemu-trace checks a real QEMU log: a per-rule table, G57 and G05 fail with their log lines",
  async () => {
    await withTempDir(async (dir) => {
      const r = await conform(
        "--qemu-trace",
        QEMU_LOG,
        "--report",
        "json,markdown,html",
        "--out",
        dir,
      );
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stdout,
        /^passive check of qemu-trace .*qemu-small\.log\.gz · profile virtio-1\.x/,
      );
      assert.match(
        r.stdout,
        /^G57 +MUST NOT +driver +FAIL +1 notification before DRIVER_OK \(queue 2\)$/m,
      );
      assert.match(r.stdout, /^ +log line 23, trace line \d+: \{"type":"notify","queue":2\}$/m);
      assert.match(
        r.stdout,
        /^S-07 +MUST NOT +driver +pass +\d+ deflate requests, each naming balloon pages$/m,
      );
      assert.match(
        r.stdout,
        /^S-09 +MUST +device +pass +4 hint and report buffers, each used with length 0$/m,
      );
      assert.match(r.stdout, /^rules: 13 pass, 2 fail, \d+ not observable · FAILED$/m);
      const json = JSON.parse(await Deno.readTextFile(`${dir}/passive.json`));
      assert.equal(json.ok, false);
      assert.deepEqual(json.unexpectedFailures, ["G05", "G57"]);
      const g05 = json.rules.find((x: { rule: string }) => x.rule === "G05");
      assert.match(g05.evidence[0].place, /^log line 24, trace line \d+$/);
      assert.match(
        await Deno.readTextFile(`${dir}/passive.md`),
        /^\| G57 \| MUST NOT \| driver \| fail \|/m,
      );
      assert.match(
        await Deno.readTextFile(`${dir}/passive.html`),
        /<tr class="fail" data-rule="G57" data-verdict="fail">/,
      );
    });
  },
);

cliTest(
  "--trace with the expected-failure list passes; a stale line in the list fails the run",
  async () => {
    await withTempDir(async (dir) => {
      const { importQemuTrace } = await import("../trace/qemu_log.ts");
      const { formatTrace } = await import("../trace/format.ts");
      const { readMaybeGzip } = await import("../trace/stream.ts");
      const trace = `${dir}/t.jsonl`;
      await Deno.writeTextFile(
        trace,
        formatTrace(importQemuTrace(await readMaybeGzip(QEMU_LOG)).trace),
      );
      const expect = `${dir}/expect.txt`;
      await Deno.writeTextFile(expect, "G57\nG05\n");
      const ok = await conform("--trace", trace, "--expect-fail", expect);
      assert.equal(ok.code, 0, ok.stdout);
      assert.match(ok.stdout, /^G57 +MUST NOT +driver +FAIL \(expected\)/m);
      assert.match(
        ok.stdout,
        /^rules: \d+ pass, 2 fail, \d+ not observable · 2 failures expected · OK$/m,
      );
      await Deno.writeTextFile(expect, "G57\nG05\nG02  # not broken\n");
      const stale = await conform("--trace", trace, "--expect-fail", expect);
      assert.equal(stale.code, 1);
      assert.match(
        stale.stdout,
        /expect\.txt:3: lists rule G02 as failing, but it is pass: remove the line/,
      );
      // the qemu-linux list applies to the qemu-linux target only
      const other = await conform("--trace", trace, "--expect-fail", EXPECTED);
      assert.equal(other.code, 1);
      assert.match(other.stdout, /^G57 +MUST NOT +driver +FAIL +1 notification/m);
      assert.match(other.stdout, /^rules: \d+ pass, 2 fail, \d+ not observable · FAILED$/m);
    });
  },
);

cliTest("passive mode: bad flags and files are named, exit code 2", async () => {
  await withTempDir(async (dir) => {
    const bad = `${dir}/bad.jsonl`;
    await Deno.writeTextFile(
      bad,
      '{"type":"header","format":"virtio-balloon-trace","version":1,"source":"x","profile":"virtio-1.x"}\n{"type":"used","t":1,"queue":0,"elem":"0x1"}\n',
    );
    const cases: [string[], RegExp][] = [
      [["--trace", `${dir}/missing.jsonl`], /--trace '.*missing\.jsonl': cannot read the file/],
      [
        ["--trace", bad],
        /--trace '.*bad\.jsonl': line 2: used event needs "len" to be a non-negative integer/,
      ],
      [
        ["--qemu-trace", QEMU_LOG, "--guest-pages", "lots"],
        /--guest-pages 'lots' is not valid: expected a positive integer/,
      ],
      [["--qemu-trace", QEMU_LOG, "--vdev", "balloon"], /--vdev 'balloon' is not valid/],
      [
        ["--trace", bad, "--qemu-trace", QEMU_LOG],
        /--trace and --qemu-trace: expected exactly one of/,
      ],
      [["--trace", bad, "--report", "xml"], /'xml' is not a format of passive mode/],
      [
        ["--trace", "/bin/ls"],
        /--trace '\/bin\/ls': line 1: not JSON \(Unexpected token '\\x7f', "\\x7fELF/,
      ],
      [["--qemu-trace", QEMU_LOG, "--profile", "v9"], /--profile 'v9' is not a profile/],
    ];
    for (const [args, re] of cases) {
      const r = await conform(...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}`);
      assert.match(r.stderr, re);
    }
  });
});

cliTest(
  "an output that cannot be written exits 4, active and passive, in one wording",
  async () => {
    await withTempDir(async (dir) => {
      const file = `${dir}/a-file`;
      await Deno.writeTextFile(file, "");
      for (
        const args of [
          ["--filter", "R-12a", "--out", `${file}/sub`],
          ["--qemu-trace", QEMU_LOG, "--out", `${file}/sub`],
        ]
      ) {
        const r = await conform(...args);
        assert.equal(r.code, 4, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, /--out '.*a-file\/sub': cannot create the directory \(/);
        assert.doesNotMatch(r.stderr, /os error/);
      }
    });
  },
);

cliTest(
  "passive mode writes the same report set as active mode by default, JUnit included",
  async () => {
    await withTempDir(async (dir) => {
      const r = await conform("--qemu-trace", QEMU_LOG, "--out", dir);
      const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assert.deepEqual(files.filter((f) => f.startsWith("passive.")), [
        "passive.html",
        "passive.json",
        "passive.junit.xml",
        "passive.md",
      ], r.stderr);
      const xml = await Deno.readTextFile(`${dir}/passive.junit.xml`);
      const failures = Number(/<testsuites[^>]* failures="(\d+)"/.exec(xml)?.[1]);
      assert.equal(failures > 0, r.code === 1, "the JUnit file fails exactly when the run does");
      assert.match(xml, /<testcase classname="[^"]+" name="G\d+[a-z]? \(MUST( NOT)?\)"/);
    });
  },
);

cliTest("messages that quote input escape its control bytes", async () => {
  const r = await conform("--target", "x\x1b[31my\x07");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--target 'x\\x1b\[31my\\x07' is not a target/);
  const raw = [...r.stderr].filter((c) =>
    c !== "\n" && ((c.codePointAt(0) ?? 0) < 0x20 || c === "\x7f")
  );
  assert.deepEqual(raw, [], "no raw control byte in the message");
});

/** Writes a module exporting targets built on this package, in a temporary directory. */
async function targetModule(dir: string, body: string): Promise<string> {
  const pkg = new URL("../mod.ts", import.meta.url).href;
  const file = `${dir}/my_impl.ts`;
  await Deno.writeTextFile(file, `import * as suite from "${pkg}";\n${body}\n`);
  return file;
}

cliTest(
  "--target ./module.ts runs the targets a module exports, with reports and working reruns",
  async () => {
    await withTempDir(async (dir) => {
      const file = await targetModule(
        dir,
        `export const mine = suite.referenceDriverTarget("my-driver", "mine, 512 PFNs a request", { deviations: ["pfn-array-512"] });
export const devices = [suite.referenceDeviceTarget("my-device", "mine")];`,
      );
      const r = await conform("--target", file, "--filter", "inflate.pfn.*", "--out", `${dir}/out`);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /^ {2}my-driver +\d+ pass +1 fail/m);
      assert.match(r.stderr, /note: my-device skipped: no selected case is a device case/);
      const rerun = /rerun: (deno task conform .*)$/m.exec(r.stdout)?.[1] ?? "";
      assert.ok(rerun.includes(`--target ${file}#my-driver`), rerun);
      const again = await conform(
        ...rerun.replace("deno task conform ", "").split(" ").map((a) => a.replace(/^'|'$/g, "")),
      );
      assert.equal(again.code, 1, again.stderr);
      assert.match(again.stdout, /^ {2}my-driver +0 pass +1 fail/m);
      const names = [...Deno.readDirSync(`${dir}/out`)].map((e) => e.name);
      assert.ok(names.includes("report.json"));
    });
  },
);

cliTest(
  "a bad --target module is one usage error naming the module and what is wrong",
  async () => {
    await withTempDir(async (dir) => {
      const noTarget = await targetModule(dir, "export const x = 1;");
      const cases: [string[], RegExp][] = [
        [[`${dir}/missing.ts`], /cannot read the module .*missing\.ts \(no such file\)/],
        [[noTarget], /the module exports no target/],
        [[`${noTarget}#nope`], /the module exports no target/],
      ];
      await Deno.writeTextFile(`${dir}/broken.ts`, "export const = ;\n");
      cases.push([[`${dir}/broken.ts`], /the module does not load/]);
      await Deno.writeTextFile(
        `${dir}/shape.ts`,
        'export const t = { kind: "driver", name: "x", description: "d", profile: "v3" };\n',
      );
      cases.push([[`${dir}/shape.ts`], /export t: a driver target needs create\(ctx\)/]);
      for (const [args, pattern] of cases) {
        const r = await conform("--target", ...args);
        assert.equal(r.code, 2, `${args}: ${r.stdout}`);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0] ?? "", pattern);
      }
    });
  },
);
