/**
 * `--target ./path/to/module.ts[#name]`: targets of your own, from a module
 * that exports them (named exports, arrays of targets, or the default
 * export). Each target loaded this way reruns as `--target path#name`.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { printable } from "../model/text.ts";
import type { Target } from "../model/types.ts";

/** Whether a `--target` value names a module rather than a built-in target. */
export function isModuleTarget(value: string): boolean {
  const path = value.split("#")[0] ?? "";
  return /^(\.{1,2}\/|\/)/.test(path) || /\.(ts|js|mjs|mts)$/.test(path);
}

/** A `--target` module that cannot be used: the message names the module and what is wrong. */
export class ModuleTargetError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ModuleTargetError";
  }
}

function problem(t: Record<string, unknown>): string | undefined {
  if (t["kind"] !== "driver" && t["kind"] !== "device") return undefined;
  for (const field of ["name", "description", "profile"]) {
    if (typeof t[field] !== "string" || t[field] === "") {
      return `its ${field} is ${JSON.stringify(t[field])}, expected a non-empty string`;
    }
  }
  if (t["kind"] === "driver" && typeof t["create"] !== "function") {
    return "a driver target needs create(ctx)";
  }
  if (
    t["kind"] === "device" && typeof t["create"] !== "function" && typeof t["open"] !== "function"
  ) {
    return "a device target needs create(ctx) or open(ctx)";
  }
  return "";
}

function targetsIn(value: unknown, found: Map<string, Target>, bad: string[], where: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => targetsIn(v, found, bad, `${where}[${i}]`));
    return;
  }
  if (value === null || typeof value !== "object") return;
  const p = problem(value as Record<string, unknown>);
  if (p === undefined) return;
  if (p !== "") {
    bad.push(`${where}: ${p}`);
    return;
  }
  const t = value as Target;
  found.set(t.name, t);
}

/** Loads the targets a module exports; `#name` picks one of them. */
export async function loadModuleTargets(value: string): Promise<Target[]> {
  const [path = "", name] = value.split("#");
  const file = isAbsolute(path) ? path : resolve(Deno.cwd(), path);
  try {
    await Deno.stat(file);
  } catch {
    throw new ModuleTargetError(
      `--target '${printable(value)}': cannot read the module ${printable(file)} (no such file)`,
    );
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    const first = (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "";
    throw new ModuleTargetError(
      `--target '${printable(value)}': the module does not load: ${printable(first, { max: 300 })}`,
    );
  }
  const found = new Map<string, Target>();
  const bad: string[] = [];
  for (const [key, v] of Object.entries(mod)) targetsIn(v, found, bad, `export ${key}`);
  if (bad.length > 0) {
    throw new ModuleTargetError(
      `--target '${printable(value)}': ${bad[0]}${
        bad.length > 1 ? ` (and ${bad.length - 1} more)` : ""
      }`,
    );
  }
  if (found.size === 0) {
    throw new ModuleTargetError(
      `--target '${
        printable(value)
      }': the module exports no target: expected objects with kind "driver" or "device", name, description, profile and create() (or open())`,
    );
  }
  const chosen = name === undefined
    ? [...found.values()]
    : [found.get(name)].filter((t) => t !== undefined) as Target[];
  if (chosen.length === 0) {
    throw new ModuleTargetError(
      `--target '${printable(value)}': the module has no target named '${
        printable(name ?? "")
      }': expected one of ${[...found.keys()].join(", ")}`,
    );
  }
  return chosen.map((t) => ({ ...t, rerunAs: `${path}#${t.name}` }));
}
