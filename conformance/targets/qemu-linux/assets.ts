/**
 * Getting QEMU, a Debian guest kernel and busybox when they are missing,
 * into a cache directory, and building the guest's initramfs.
 *
 * @module
 */

import { cpioArchive, type CpioEntry } from "./cpio.ts";

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

/** Longest a setup command (apt, dpkg, qemu --version) may take. */
const SETUP_TIMEOUT_MS = 10 * 60_000;

async function run(cmd: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  const signal = AbortSignal.timeout(SETUP_TIMEOUT_MS);
  const late = () =>
    new Error(
      `${cmd} ${args.join(" ")} did not finish within ${
        SETUP_TIMEOUT_MS / 60_000
      } minutes (stopped)`,
    );
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).output().catch((e: unknown) => {
    throw signal.aborted ? late() : new Error(`Cannot run ${cmd}: ${(e as Error).message}`);
  });
  if (signal.aborted) throw late();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}): ${err}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Runs an apt command; when it fails (on a fresh machine the package lists
 * are often empty), refreshes the lists with `apt-get update` and tries once
 * more.
 */
async function apt(
  cmd: string,
  args: string[],
  log: (s: string) => void,
  options: { cwd?: string } = {},
): Promise<string> {
  try {
    return await run(cmd, args, options);
  } catch (first) {
    log(`${(first as Error).message}; refreshing the package lists with apt-get update`);
    await run("apt-get", ["update"]);
    return await run(cmd, args, options);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** False when /proc says we are not root (Deno.uid() would need --allow-sys). */
async function mayBeRoot(): Promise<boolean> {
  try {
    const status = await Deno.readTextFile("/proc/self/status");
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    return uid === undefined || uid === "0";
  } catch {
    return true; // no /proc: let apt-get say
  }
}

/**
 * Finds a program at the first of `paths` that exists; when none does and we
 * are root, installs Debian's `options.package` (`apt-get install -y
 * --no-install-recommends`, refreshing the package lists and trying once more
 * when that fails; every apt command has a timeout) and looks again. Throws
 * an error that says how to install it by hand when it cannot be had.
 */
export async function ensureDebianProgram(
  paths: readonly string[],
  options: { readonly package: string; readonly log: (s: string) => void },
): Promise<string> {
  const find = async () => {
    for (const p of paths) if (await exists(p)) return p;
    return undefined;
  };
  const found = await find();
  if (found !== undefined) return found;
  const name = paths[0] ?? options.package;
  const byHand = `apt-get install -y --no-install-recommends ${options.package}`;
  if (!(await mayBeRoot())) {
    throw new Error(`${name} is missing and only root can install it: run ${byHand}`);
  }
  options.log(`${name} is missing: installing Debian's ${options.package}`);
  await apt("apt-get", ["install", "-y", "--no-install-recommends", options.package], options.log)
    .catch((e) => {
      throw new Error(`${(e as Error).message}. Install it yourself: ${byHand}`);
    });
  const path = await find();
  if (path === undefined) {
    throw new Error(`${name} is still missing after installing ${options.package}`);
  }
  return path;
}

/** Finds qemu-system-x86_64, installing Debian's package when it is missing and we may (root). */
export async function ensureQemu(
  log: (s: string) => void,
): Promise<{ path: string; version: string }> {
  const path = await ensureDebianProgram(
    ["/usr/bin/qemu-system-x86_64", "/usr/local/bin/qemu-system-x86_64"],
    { package: "qemu-system-x86", log },
  );
  const version = (await run(path, ["--version"])).split("\n")[0]?.trim() ?? "unknown";
  return { path, version };
}

/** The Debian package of the kernel that linux-image-amd64 depends on. */
async function kernelPackage(log: (s: string) => void): Promise<string> {
  const deps = await apt("apt-cache", ["depends", "linux-image-amd64"], log);
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
    await apt("apt-get", ["download", ...wanted], log, { cwd: debs });
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
