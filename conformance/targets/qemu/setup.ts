/**
 * Setting up QEMU on a machine: finding `qemu-system-x86_64`, installing
 * Debian's `qemu-system-x86` when it is missing (as root), and the small
 * command helpers the QEMU targets share (a command with a timeout, apt with
 * one retry after `apt-get update`). Used by `qemu-linux/` (a booted guest)
 * and `qemu-device/` (the device driven over qtest).
 *
 * @module
 */

/** Longest a setup command (apt, dpkg, qemu --version) may take. */
const SETUP_TIMEOUT_MS = 10 * 60_000;

/**
 * Runs a setup command to completion (at most ten minutes) and returns its
 * stdout; a failure names the command, its exit code and its last stderr lines.
 */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string } = {},
): Promise<string> {
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
export async function apt(
  cmd: string,
  args: string[],
  options: { readonly log: (s: string) => void; readonly cwd?: string },
): Promise<string> {
  const { log } = options;
  try {
    return await run(cmd, args, options.cwd === undefined ? {} : { cwd: options.cwd });
  } catch (first) {
    log(`${(first as Error).message}; refreshing the package lists with apt-get update`);
    await run("apt-get", ["update"]);
    return await run(cmd, args, options.cwd === undefined ? {} : { cwd: options.cwd });
  }
}

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
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
  await apt("apt-get", ["install", "-y", "--no-install-recommends", options.package], {
    log: options.log,
  }).catch((e) => {
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
