/**
 * Getting QEMU, a Debian guest kernel and busybox when they are missing,
 * into a cache directory, and building the guest's initramfs.
 *
 * @module
 */

import { cpioArchive, type CpioEntry } from "./cpio.ts";
import { apt, exists, run } from "../qemu/setup.ts";

/** Where the guest's pieces are. */
export interface GuestAssets {
  /** qemu-system-x86_64 binary. */
  readonly qemu: string;
  /** QEMU version line. */
  readonly qemuVersion: string;
  /** Kernel image. */
  readonly kernel: string;
  /** Kernel release (e.g. 6.1.0-50-amd64) and package version. */
  readonly kernelVersion: string;
  /** The initramfs (uncompressed newc cpio). */
  readonly initrd: string;
  /** busybox package version. */
  readonly busyboxVersion: string;
}

/** Modules to load, in dependency order (the package ships no modules.dep). */
export const BALLOON_MODULES: readonly string[] = [
  "virtio_ring",
  "virtio",
  "virtio_pci_modern_dev",
  "virtio_pci_legacy_dev",
  "virtio_pci",
  "virtio_balloon",
];

/** The marker the guest prints when the balloon driver is loaded and it waits for commands. */
export const READY_MARKER = "BALLOON-READY";

/** The guest's /init: load the modules, then run commands read from the second serial port. */
export const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /mnt/fill /bin /sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox --install -s /bin
for m in ${BALLOON_MODULES.join(" ")}; do
  insmod /lib/modules/$m.ko || echo "INSMOD-FAILED $m"
done
mount -t tmpfs -o size=95% tmpfs /mnt/fill
stty -F /dev/ttyS1 raw -echo 2>/dev/null
echo ${READY_MARKER}
n=0
while true; do
  if read -r cmd arg < /dev/ttyS1; then
    case "$cmd" in
      dirty)
        n=$((n + 1))
        dd if=/dev/zero of=/mnt/fill/f$n bs=1M count="$arg" 2>/dev/null
        echo "DONE dirty $(grep MemAvailable /proc/meminfo | tr -s ' ')"
        ;;
      free)
        rm -f /mnt/fill/*
        echo 3 > /proc/sys/vm/drop_caches
        echo "DONE free"
        ;;
      meminfo)
        grep -E 'MemTotal|MemFree|MemAvailable' /proc/meminfo | tr -s ' ' | tr '\\n' ' '
        echo "DONE meminfo"
        ;;
      *)
        echo "DONE unknown $cmd"
        ;;
    esac
  fi
done
`;

/** The Debian package of the kernel that linux-image-amd64 depends on. */
async function kernelPackage(log: (s: string) => void): Promise<string> {
  const deps = await apt("apt-cache", ["depends", "linux-image-amd64"], { log });
  const m = /Depends:\s+(linux-image-[0-9][^\s]*)/.exec(deps);
  if (m === null) {
    throw new Error(`Cannot find the kernel package linux-image-amd64 depends on: ${deps.trim()}`);
  }
  return m[1] as string;
}

/** The default cache: `$XDG_CACHE_HOME` or `~/.cache`, then `virtio-balloon-conformance`. */
export function defaultCacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME");
  const base = xdg !== undefined && xdg !== ""
    ? xdg
    : home !== undefined && home !== ""
    ? `${home}/.cache`
    : ".cache";
  return `${base}/virtio-balloon-conformance`;
}

/**
 * Makes sure the cache holds an unpacked kernel and busybox and a built
 * initramfs; downloads the Debian packages with apt-get download when missing.
 */
export async function ensureGuestAssets(
  cacheDir: string,
  log: (s: string) => void,
): Promise<Omit<GuestAssets, "qemu" | "qemuVersion">> {
  await Deno.mkdir(cacheDir, { recursive: true });
  const debs = `${cacheDir}/debs`;
  await Deno.mkdir(debs, { recursive: true });
  const have = [...Deno.readDirSync(debs)].map((e) => e.name);
  let kernelDeb = have.find((n) => /^linux-image-[0-9].*\.deb$/.test(n));
  let busyboxDeb = have.find((n) => /^busybox-static_.*\.deb$/.test(n));
  if (kernelDeb === undefined || busyboxDeb === undefined) {
    const wanted = [
      ...(kernelDeb === undefined ? [await kernelPackage(log)] : []),
      ...(busyboxDeb === undefined ? ["busybox-static"] : []),
    ];
    log(`downloading ${wanted.join(", ")} from Debian's archive into ${debs}`);
    await apt("apt-get", ["download", ...wanted], { log, cwd: debs });
    const now = [...Deno.readDirSync(debs)].map((e) => e.name);
    kernelDeb = now.find((n) => /^linux-image-[0-9].*\.deb$/.test(n));
    busyboxDeb = now.find((n) => /^busybox-static_.*\.deb$/.test(n));
    if (kernelDeb === undefined || busyboxDeb === undefined) {
      throw new Error("apt-get download did not produce the packages");
    }
  }
  const root = `${cacheDir}/root`;
  if (!(await exists(`${root}/boot`))) {
    log("unpacking the kernel and busybox packages");
    await Deno.mkdir(root, { recursive: true });
    await run("dpkg-deb", ["-x", `${debs}/${kernelDeb}`, root]);
    await run("dpkg-deb", ["-x", `${debs}/${busyboxDeb}`, root]);
  }
  const vmlinuz = [...Deno.readDirSync(`${root}/boot`)].find((e) => e.name.startsWith("vmlinuz-"))
    ?.name;
  if (vmlinuz === undefined) throw new Error(`No vmlinuz in ${root}/boot`);
  const release = vmlinuz.replace(/^vmlinuz-/, "");
  const modDir = `${root}/lib/modules/${release}/kernel/drivers/virtio`;
  const entries: CpioEntry[] = [
    { path: "bin", kind: "dir" },
    { path: "sbin", kind: "dir" },
    { path: "lib", kind: "dir" },
    { path: "lib/modules", kind: "dir" },
    { path: "proc", kind: "dir" },
    { path: "sys", kind: "dir" },
    { path: "dev", kind: "dir" },
    { path: "mnt", kind: "dir" },
    { path: "bin/busybox", kind: "file", data: await Deno.readFile(`${root}/bin/busybox`) },
    { path: "bin/sh", kind: "symlink", data: "busybox" },
    { path: "init", kind: "file", data: INIT_SCRIPT },
  ];
  for (const m of BALLOON_MODULES) {
    const file = `${modDir}/${m}.ko`;
    if (!(await exists(file))) {
      throw new Error(
        (await exists(`${file}.xz`))
          ? `${m}.ko is xz-compressed in this kernel package; the initramfs builder needs plain .ko files`
          : `${file} is missing from the kernel package`,
      );
    }
    entries.push({
      path: `lib/modules/${m}.ko`,
      kind: "file",
      mode: 0o644,
      data: await Deno.readFile(file),
    });
  }
  const initrd = `${cacheDir}/initrd.img`;
  await Deno.writeFile(initrd, cpioArchive(entries));
  return {
    kernel: `${root}/boot/${vmlinuz}`,
    kernelVersion: `${release} (${kernelDeb.split("_")[1] ?? "?"})`,
    initrd,
    busyboxVersion: busyboxDeb.split("_")[1]?.replace(/%3a/g, ":") ?? "?",
  };
}
