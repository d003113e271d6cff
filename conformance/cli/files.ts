/**
 * One wording for every file the CLI reads or writes, shared by the suite's
 * CLI and its passive mode: `FLAG 'PATH': cannot read the file (REASON)`,
 * with the path escaped and the reason in plain words (not Deno's
 * "(os error 2)" text). An input file that cannot be read is a usage error
 * (exit 2); a report or export that cannot be written is an
 * {@link OutputError} (exit {@link EXIT_OUTPUT}): the run itself may have
 * been fine.
 *
 * @module
 */

import { printable } from "../model/text.ts";
import { type ExpectList, ExpectListError, parseExpectList } from "../run/expect.ts";

/** The exit code of a run whose reports or exports could not be written. */
export const EXIT_OUTPUT = 4;

/** A report, export or directory that could not be written. */
export class OutputError extends Error {
  /** @param message what could not be written, and why */
  constructor(message: string) {
    super(message);
    this.name = "OutputError";
  }
}

/**
 * Why a file operation failed, in plain words.
 *
 * @example
 * ```ts
 * import { fileReason } from "./files.ts";
 * import assert from "node:assert/strict";
 * assert.equal(fileReason(new Deno.errors.NotFound("x (os error 2)")), "no such file or directory");
 * ```
 */
export function fileReason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file or directory";
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
    return "permission denied";
  }
  if (e instanceof Deno.errors.IsADirectory) return "it is a directory";
  if (e instanceof Deno.errors.AlreadyExists) return "a file of that name is in the way";
  if (e instanceof Deno.errors.NotADirectory) return "a part of the path is not a directory";
  const text = e instanceof Error ? e.message : String(e);
  return printable(text.replace(/\s*\(os error \d+\)/, ""));
}

/** Whether an error is the file system's (missing, unreadable, a directory). */
export function isFileError(e: unknown): e is Error {
  return Object.values(Deno.errors).some((c) => e instanceof c);
}

/**
 * The message for an input file that cannot be read.
 *
 * @example
 * ```ts
 * import { unreadable } from "./files.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   unreadable("--trace", "/no/such", new Deno.errors.NotFound("")),
 *   "--trace '/no/such': cannot read the file (no such file or directory)",
 * );
 * ```
 */
export function unreadable(flag: string, path: string, e: unknown): string {
  return `${flag} '${printable(path)}': cannot read the file (${fileReason(e)})`;
}

/** Writes a report or export; an {@link OutputError} names the flag, the path and why. */
export async function writeOutput(flag: string, path: string, text: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, text);
  } catch (e) {
    throw new OutputError(`${flag} '${printable(path)}': cannot write the file (${fileReason(e)})`);
  }
}

/** Creates an output directory (and its parents); an {@link OutputError} names the flag and why. */
export async function makeOutputDir(flag: string, dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new OutputError(
      `${flag} '${printable(dir)}': cannot create the directory (${fileReason(e)})`,
    );
  }
}

/**
 * Reads and parses an `--expect-fail` file; an unreadable or malformed file
 * is a usage error of the caller's kind (`usage` builds it from the message).
 */
export async function readExpectFile(
  file: string,
  usage: (message: string) => Error,
): Promise<ExpectList> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw usage(unreadable("--expect-fail", file, e));
  }
  try {
    return parseExpectList(text, file);
  } catch (e) {
    if (e instanceof ExpectListError) throw usage(`--expect-fail: ${e.message}`);
    throw e;
  }
}
