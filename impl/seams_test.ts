import assert from "node:assert/strict";
import { BalloonDevice, type DeviceSeamOverride } from "./device.ts";
import {
  DEVICE_DEVIATIONS,
  type DeviceDeviation,
  DRIVER_DEVIATIONS,
  type DriverDeviation,
} from "./deviations.ts";
import { DEVICE_DEVIATION_SEAMS, DRIVER_DEVIATION_SEAMS } from "./deviations/mod.ts";
import { BalloonDriver, type DriverSeamOverride } from "./driver.ts";
import { GuestEnv } from "./guest.ts";
import { type QuirkId, QUIRKS } from "./quirks.ts";
import { QUIRK_SEAMS } from "./quirks/mod.ts";
import { composeSeams, pick, type SeamOverrides, seamTable } from "./seams.ts";
import { Testbed } from "./testbed.ts";
import { Transport } from "./transport.ts";

interface Toy {
  value(): number;
  label(): string;
}

Deno.test("composeSeams() wraps in order, each override seeing the one before it", () => {
  const reference: Toy = { value: () => 1, label: () => "ref" };
  const plusOne: SeamOverrides<Toy> = { value: (base) => () => base() + 1 };
  const double: SeamOverrides<Toy> = { value: (base) => () => base() * 2 };
  assert.equal(composeSeams(reference, [plusOne, double]).value(), 4);
  assert.equal(composeSeams(reference, [double, plusOne]).value(), 3);
  assert.equal(composeSeams(reference, [plusOne]).label(), "ref", "other seams stay");
  assert.equal(reference.value(), 1, "the reference object is not changed");
});

Deno.test("seamTable() names the catalogue entry that is missing, doubled or unknown", () => {
  const names = ["a", "b"] as const;
  assert.throws(() => seamTable("toy", names, [{ a: 1 }]), {
    name: "TypeError",
    message: "Cannot build the toy table: no seams for b",
  });
  assert.throws(() => seamTable("toy", names, [{ a: 1, b: 2 }, { b: 3 }]), {
    message: "Cannot build the toy table: b is provided twice",
  });
  assert.throws(
    () => seamTable("toy", names, [{ a: 1, b: 2, c: 3 } as Partial<Record<"a" | "b", number>>]),
    { message: "Cannot build the toy table: c is not in the catalogue" },
  );
});

Deno.test("every deviation and quirk of the catalogues has seams, in catalogue order", () => {
  assert.deepEqual(Object.keys(DRIVER_DEVIATION_SEAMS), Object.keys(DRIVER_DEVIATIONS));
  assert.deepEqual(Object.keys(DEVICE_DEVIATION_SEAMS), Object.keys(DEVICE_DEVIATIONS));
  assert.deepEqual(Object.keys(QUIRK_SEAMS), Object.keys(QUIRKS));
});

Deno.test("pick() rejects an unknown name, naming the option, the value and the choices", () => {
  const table: Record<"a" | "b", number> = { a: 1, b: 2 };
  assert.throws(() => pick(table, ["z" as "a"], "deviations"), {
    name: "TypeError",
    message: 'Invalid deviations: unknown name "z", expected one of a, b',
  });
});

Deno.test("the driver and the device reject unknown quirk and deviation names", () => {
  const guest = new GuestEnv({ pages: 4096 });
  const device = new BalloonDevice({ guestPages: 4096 });
  const t = new Transport(guest.mem, guest.sched, device);
  assert.throws(() => new BalloonDriver(guest, t, { quirks: ["D-99" as QuirkId] }), {
    name: "TypeError",
    message: /^Invalid quirks: unknown name "D-99", expected one of D-01, /,
  });
  assert.throws(
    () => new BalloonDriver(guest, t, { deviations: ["typo" as DriverDeviation] }),
    /Invalid deviations: unknown name "typo"/,
  );
  assert.throws(
    () => new BalloonDevice({ guestPages: 4096, deviations: ["typo" as DeviceDeviation] }),
    /Invalid deviations: unknown name "typo"/,
  );
});

Deno.test("a mutant of one's own plugs into the seams and behaves as the built-in one", () => {
  const keepPages: DeviceSeamOverride = () => ({ giveBack: () => () => {} });
  const run = (device: ConstructorParameters<typeof Testbed>[0]["device"]) => {
    const tb = new Testbed({ pages: 65_536, log: false, ...(device ? { device } : {}) });
    assert.equal(tb.probe(), true);
    tb.setTarget(300);
    tb.setTarget(100);
    return tb.device.ballooned.size;
  };
  assert.equal(run(undefined), 100);
  assert.equal(run({ seams: [keepPages] }), 300, "the host never gives pages back");
  assert.equal(run({ deviations: ["deflate-keeps-pages"] }), 300);
});

Deno.test("overrides are built once per driver, so state of their own is not shared", () => {
  let built = 0;
  // actual is exact the first time, one above after that
  const lateOffByOne: DriverSeamOverride = () => {
    built++;
    let first = true;
    return {
      actualValue: (base) => (n) => {
        const v = first ? base(n) : base(n) + 1;
        first = false;
        return v;
      },
    };
  };
  const [a, b] = [0, 1].map(() =>
    new Testbed({ pages: 65_536, log: false, driver: { seams: [lateOffByOne] } })
  ) as [Testbed, Testbed];
  assert.equal(built, 2);
  assert.equal(a.probe() && b.probe(), true);
  a.setTarget(64);
  b.setTarget(64);
  assert.deepEqual([a.device.actual, b.device.actual], [64, 64], "each driver's first write");
  a.setTarget(32);
  assert.equal(a.device.actual, 33);
});

/** The files of the reference driver and device (not the deviation and quirk modules). */
async function referenceFiles(): Promise<string[]> {
  const out = ["driver.ts", "device.ts", "transport.ts"];
  for (const dir of ["driver", "device"]) {
    for await (const e of Deno.readDir(new URL(dir, import.meta.url))) {
      if (e.isFile && e.name.endsWith(".ts")) out.push(`${dir}/${e.name}`);
    }
  }
  return out.sort();
}

Deno.test("the reference driver and device name no deviation or quirk", async () => {
  const names = [
    ...Object.keys(DRIVER_DEVIATIONS),
    ...Object.keys(DEVICE_DEVIATIONS),
    ...Object.keys(QUIRKS),
  ];
  const pattern = new RegExp(
    `(?<![\\w-])(${names.join("|")})(?![\\w-])|quirks\\.has|deviations\\.has|#dev\\(`,
    "g",
  );
  const files = await referenceFiles();
  assert.ok(files.length >= 15, `found ${files.length} reference files`);
  const hits: string[] = [];
  for (const f of files) {
    const text = await Deno.readTextFile(new URL(f, import.meta.url));
    for (const [i, line] of text.split("\n").entries()) {
      for (const m of line.matchAll(pattern)) hits.push(`${f}:${i + 1}: ${m[0]}`);
    }
  }
  assert.deepEqual(hits, []);
  // the guard itself sees a name where one is, and not inside a longer word
  const probe = new RegExp(pattern.source);
  assert.match('if (this.#dev("oom-double")) return;', probe);
  assert.match("(differs only with quirk D-10)", probe);
  assert.doesNotMatch("an oom-double-check", probe);
});
