/**
 * One wording for `node:util` parseArgs errors, shared by the suite's CLI and
 * its passive mode: the flag, what was wrong and what was expected.
 *
 * @module
 */

import { printable } from "../model/text.ts";

/**
 * The message for a parseArgs error.
 *
 * @param help where the user finds the flags, e.g. `--help`
 * @example
 * ```ts
 * import { flagErrorMessage } from "./flags.ts";
 * import assert from "node:assert/strict";
 * const e = Object.assign(new TypeError("Unknown option '--nope'"), { code: "ERR_PARSE_ARGS_UNKNOWN_OPTION" });
 * assert.equal(flagErrorMessage(e, ["--nope"]), "unknown flag '--nope': expected one of the flags in --help");
 * ```
 */
export function flagErrorMessage(e: unknown, args: readonly string[], help = "--help"): string {
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string }).code;
  const flag = printable(/'(-[^' ]*)/.exec(msg)?.[1] ?? "");
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    return `unknown flag '${flag}': expected one of the flags in ${help}`;
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const arg = printable(/'([^']*)'/.exec(msg)?.[1] ?? "");
    return `unexpected argument '${arg}': expected flags only (see ${help})`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/does not take an argument/.test(msg)) {
      return `${flag} takes no value: expected '${flag}' alone`;
    }
    const raw = args[args.findIndex((a) => printable(a) === flag) + 1];
    const next = raw === undefined ? undefined : printable(raw);
    if (/ambiguous/.test(msg) && next !== undefined) {
      return `${flag} '${next}' looks like a flag: expected a value after ${flag} (write ${flag}=${next} if you mean it)`;
    }
    return `${flag} needs a value: expected '${flag} VALUE' (see ${help})`;
  }
  return msg;
}
