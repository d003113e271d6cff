/**
 * The QEMU plumbing without a guest: a QEMU that cannot boot is an error
 * that carries what QEMU said, never a hang; the initramfs archive holds
 * what Linux's newc reader expects.
 *
 * The boot test needs qemu-system-x86_64; without it the test is reported
 * as ignored (never as passed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { cpioArchive } from "./cpio.ts";
import { Vm } from "./vm.ts";

const QEMU = ["/usr/bin/qemu-system-x86_64", "/usr/local/bin/qemu-system-x86_64"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

Deno.test({
  name: "a QEMU that cannot load its kernel is an error with QEMU's own words, not a hang",
  ignore: QEMU === undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "vm-test-" });
    try {
      const kernel = `${dir}/not-a-kernel`;
      await Deno.writeTextFile(kernel, "this is not a bzImage\n");
      await assert.rejects(
        Vm.start({
          qemu: QEMU as string,
          qemuVersion: "test",
          kernel,
          kernelVersion: "none",
          initrd: kernel,
          busyboxVersion: "none",
        }, { memMiB: 64, balloon: {}, dir: `${dir}/vm`, bootTimeoutMs: 60_000 }),
        (e: Error) => {
          assert.match(e.message, /QEMU exited before/);
          assert.match(e.message, /--- QEMU stderr ---\n.*(kernel|linux|load)/is);
          assert.match(e.message, /--- console \(last 40 lines\) ---/);
          return true;
        },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("cpio: newc headers, names, contents and the trailer, each 4-byte aligned", () => {
  const archive = cpioArchive([
    { path: "bin", kind: "dir" },
    { path: "/init", kind: "file", data: "#!/bin/sh\necho hi\n", mode: 0o700 },
    { path: "bin/sh", kind: "symlink", data: "busybox" },
  ]);
  const text = new TextDecoder("latin1").decode(archive);
  const entries: { name: string; mode: number; data: string }[] = [];
  let off = 0;
  for (;;) {
    assert.equal(text.slice(off, off + 6), "070701", `magic at ${off}`);
    const field = (i: number) => parseInt(text.slice(off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameAt = off + 110;
    const name = text.slice(nameAt, nameAt + nameSize - 1);
    assert.equal(text[nameAt + nameSize - 1], "\0");
    const dataAt = Math.ceil((nameAt + nameSize) / 4) * 4;
    entries.push({ name, mode, data: text.slice(dataAt, dataAt + size) });
    off = Math.ceil((dataAt + size) / 4) * 4;
    if (name === "TRAILER!!!") break;
  }
  assert.equal(archive.length % 4, 0);
  assert.deepEqual(entries.map((e) => e.name), ["bin", "init", "bin/sh", "TRAILER!!!"]);
  assert.equal(entries[0]?.mode, 0o040755);
  assert.equal(entries[1]?.mode, 0o100700);
  assert.equal(entries[1]?.data, "#!/bin/sh\necho hi\n");
  assert.equal(entries[2]?.mode, 0o120777);
  assert.equal(entries[2]?.data, "busybox");
});
