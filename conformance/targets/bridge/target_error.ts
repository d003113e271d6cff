/**
 * The one error a process target raises: what was sent, what came back (or
 * that nothing did within how long), and the last lines the process wrote to
 * its stderr. A run turns it into an `error` verdict, never a pass or a fail.
 *
 * @module
 */

import { TargetFailure } from "../../model/ports.ts";

/** What went wrong talking to a target process. */
export type TargetErrorKind =
  /** The process could not be started (missing binary, permission, bad arguments). */
  | "spawn"
  /** The process did not connect or say it was ready in time. */
  | "not-ready"
  /** No (complete) reply within the timeout. */
  | "timeout"
  /** The process exited while a reply was awaited (or before the request). */
  | "exited"
  /** The channel closed while a reply was awaited, the process still running. */
  | "closed"
  /** The peer answered with an error (qtest `ERR …` or `FAIL …`, a QMP error). */
  | "refused"
  /** The peer answered, but not what the protocol allows there. */
  | "bad-reply"
  /** A request or reply larger than the bridge can carry. */
  | "overflow"
  /** The bridge was closed, or broken by an earlier timeout. */
  | "unusable"
  /** The bridge's worker thread failed or did not answer. */
  | "worker";

/** Fields of a {@link TargetError}. */
export interface TargetErrorInit {
  /** What went wrong. */
  readonly kind: TargetErrorKind;
  /** Who: the program (and its pid once known). */
  readonly target: string;
  /** One sentence, sentence case, no trailing period. */
  readonly message: string;
  /** The request that was sent (shortened), if any. */
  readonly sent?: string;
  /** What came back (shortened), if anything. */
  readonly received?: string;
  /** The timeout that expired, in ms. */
  readonly timeoutMs?: number;
  /** The last lines of the process's stderr ("" when it wrote nothing). */
  readonly stderrTail?: string;
  /** Process id, once started. */
  readonly pid?: number;
  /** Exit code, if it exited. */
  readonly exitCode?: number;
  /** Signal that ended it, if any. */
  readonly signal?: string;
}

/** Longest request or reply quoted in an error. */
const QUOTE_MAX = 160;

/** Shortens a quoted request or reply for an error message. */
export function quote(text: string): string {
  const one = text.replace(/\n/g, "\\n");
  return one.length <= QUOTE_MAX ? one : `${one.slice(0, QUOTE_MAX)}… (${one.length} characters)`;
}

/**
 * A failure of a target process, with everything a reader needs to see what
 * happened without rerunning it.
 *
 * @example
 * ```ts
 * import { TargetError } from "./target_error.ts";
 * import assert from "node:assert/strict";
 * const e = new TargetError({
 *   kind: "refused",
 *   target: "qemu-system-x86_64 (pid 42)",
 *   message: "QEMU refused the command",
 *   sent: "readl 0x10000000000000000",
 *   received: "ERR invalid address",
 *   stderrTail: "",
 * });
 * assert.match(e.message, /^QEMU refused the command; sent "readl .*"; received "ERR invalid address"; qemu-system-x86_64 \(pid 42\) wrote nothing to stderr$/);
 * assert.equal(e.kind, "refused");
 * ```
 */
export class TargetError extends TargetFailure {
  /** What went wrong. */
  readonly kind: TargetErrorKind;
  /** Who. */
  readonly target: string;
  /** The request, if any (full text). */
  readonly sent: string | undefined;
  /** The reply, if any (full text). */
  readonly received: string | undefined;
  /** The timeout that expired. */
  readonly timeoutMs: number | undefined;
  /** The last lines of stderr. */
  readonly stderrTail: string | undefined;
  /** Process id. */
  readonly pid: number | undefined;
  /** Exit code. */
  readonly exitCode: number | undefined;
  /** Signal. */
  readonly signal: string | undefined;

  /** Builds the message from the parts: what, sent, received, stderr tail. */
  constructor(init: TargetErrorInit) {
    const parts = [init.message];
    if (init.sent !== undefined) parts.push(`sent "${quote(init.sent)}"`);
    if (init.received !== undefined) parts.push(`received "${quote(init.received)}"`);
    if (init.stderrTail !== undefined) {
      const tail = init.stderrTail.trim();
      parts.push(
        tail === ""
          ? `${init.target} wrote nothing to stderr`
          : `last lines of ${init.target}'s stderr:\n${tail}`,
      );
    }
    super(parts.join("; "));
    this.name = "TargetError";
    this.kind = init.kind;
    this.target = init.target;
    this.sent = init.sent;
    this.received = init.received;
    this.timeoutMs = init.timeoutMs;
    this.stderrTail = init.stderrTail;
    this.pid = init.pid;
    this.exitCode = init.exitCode;
    this.signal = init.signal;
  }
}
