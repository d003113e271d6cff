/**
 * A minimal writer of "newc" cpio archives, the format Linux unpacks as an
 * initramfs. Enough for a busybox init: directories, regular files, symlinks.
 *
 * @module
 */

/** One archive entry. */
export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  readonly path: string;
  /** File type and permissions. */
  readonly kind: "dir" | "file" | "symlink";
  /** Permission bits (default 0o755 for dirs and files). */
  readonly mode?: number;
  /** File contents, or the link target for a symlink. */
  readonly data?: Uint8Array | string;
}

const TYPE: Readonly<Record<CpioEntry["kind"], number>> = {
  dir: 0o040000,
  file: 0o100000,
  symlink: 0o120000,
};

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/**
 * Builds a newc archive (uncompressed; the kernel accepts it as is).
 *
 * @example
 * ```ts
 * import { cpioArchive } from "./cpio.ts";
 * import assert from "node:assert/strict";
 * const a = cpioArchive([{ path: "init", kind: "file", data: "#!/bin/sh\n" }]);
 * assert.equal(new TextDecoder().decode(a.subarray(0, 6)), "070701");
 * assert.equal(a.length % 4, 0);
 * ```
 */
export function cpioArchive(entries: readonly CpioEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let ino = 1;
  const add = (name: string, mode: number, data: Uint8Array) => {
    const nameBytes = enc.encode(name + "\0");
    const header = "070701" + hex8(ino++) + hex8(mode) + hex8(0) + hex8(0) + hex8(1) + hex8(0) +
      hex8(data.length) + hex8(0) + hex8(0) + hex8(0) + hex8(0) + hex8(nameBytes.length) + hex8(0);
    const h = enc.encode(header);
    parts.push(h, nameBytes, new Uint8Array(pad4(h.length + nameBytes.length)));
    parts.push(data, new Uint8Array(pad4(data.length)));
  };
  for (const e of entries) {
    const data = typeof e.data === "string" ? enc.encode(e.data) : e.data ?? new Uint8Array();
    add(
      e.path.replace(/^\/+/, ""),
      TYPE[e.kind] | (e.mode ?? (e.kind === "symlink" ? 0o777 : 0o755)),
      e.kind === "dir" ? new Uint8Array() : data,
    );
  }
  add("TRAILER!!!", 0, new Uint8Array());
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total + pad4(total));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
