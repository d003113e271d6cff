/**
 * The error both sides of a split virtqueue throw: it names the queue, the
 * chain head, the descriptor, the field, the value found, what was expected
 * and the rule that was broken.
 *
 * @module
 */

/** Machine-readable kind of a {@link VirtqueueError}. */
export type VirtqueueErrorCode =
  | "bad-segment"
  | "empty-chain"
  | "queue-full"
  | "chain-too-long"
  | "chain-too-large"
  | "loop"
  | "index-out-of-range"
  | "indirect-not-negotiated"
  | "indirect-with-next"
  | "nested-indirect"
  | "bad-indirect-length"
  | "write-before-read"
  | "outside-ram"
  | "bad-avail-idx"
  | "bad-used-idx"
  | "bad-used-id"
  | "bad-avail-flags"
  | "not-notified";

/**
 * One ring struct as a side of the queue read it from guest memory, kept as
 * evidence of the error it led to: a descriptor (of the ring's table or of an
 * indirect table), or the head of the available or used ring.
 */
export interface RingRead {
  /** Which struct of the spec tables the bytes hold. */
  readonly struct: "virtq_desc" | "virtq_avail_hdr" | "virtq_used_hdr";
  /** Where it was read, as text: `desc[3]`, `desc[0] table[2]`, `avail`, `used`. */
  readonly where: string;
  /** Its guest physical address. */
  readonly addr: number;
  /** Its bytes, as read. */
  readonly bytes: Uint8Array;
  /** The field of it that broke the rule, if one did. */
  readonly bad?: string;
}

/** Fields of a {@link VirtqueueError}. */
export interface VirtqueueErrorInit {
  /** Kind of error. */
  readonly code: VirtqueueErrorCode;
  /** What was being done, as a verb phrase (`pop a chain`, `add a chain`). */
  readonly action: string;
  /** Queue index, when the queue was given one. */
  readonly queue?: number;
  /** Head descriptor index of the chain at fault. */
  readonly head?: number;
  /** Index of the descriptor at fault (in the ring's table, or in `indirectOf`'s table). */
  readonly descriptor?: number;
  /** When set, `descriptor` is an entry of the indirect table this ring descriptor points to. */
  readonly indirectOf?: number;
  /** Field at fault (`flags`, `next`, `addr`, `len`, `idx`, `id`, …). */
  readonly field: string;
  /** The value found, as text. */
  readonly value: string;
  /** What was expected, as text. */
  readonly expected: string;
  /** Rule id broken, when one applies. */
  readonly rule?: string;
  /** The ring structs read on the way to the error (the last ones are at fault), as evidence. */
  readonly seen?: readonly RingRead[];
}

function where(init: VirtqueueErrorInit): string {
  const parts: string[] = [];
  if (init.head !== undefined) parts.push(`chain at head ${init.head}`);
  if (init.descriptor !== undefined) {
    parts.push(
      init.indirectOf === undefined
        ? `descriptor ${init.descriptor}`
        : `indirect entry ${init.descriptor} of descriptor ${init.indirectOf}`,
    );
  }
  return parts.length === 0 ? "" : parts.join(", ") + ": ";
}

/**
 * A chain or ring state that breaks the split-virtqueue rules, or a request
 * the queue cannot satisfy.
 *
 * @example
 * ```ts
 * import { VirtqueueError } from "./virtqueue_error.ts";
 * import assert from "node:assert/strict";
 * const e = new VirtqueueError({
 *   code: "indirect-with-next", action: "pop a chain", queue: 0, head: 3, descriptor: 3,
 *   field: "flags", value: "0x5", expected: "INDIRECT without NEXT", rule: "G37",
 * });
 * assert.equal(
 *   e.message,
 *   "Cannot pop a chain on queue 0: chain at head 3, descriptor 3: flags is 0x5, expected INDIRECT without NEXT (rule G37)",
 * );
 * assert.ok(e instanceof RangeError);
 * ```
 */
export class VirtqueueError extends RangeError {
  /** Kind of error. */
  readonly code: VirtqueueErrorCode;
  /** What was being done. */
  readonly action: string;
  /** Queue index, when the queue was given one. */
  readonly queue?: number;
  /** Head descriptor index of the chain at fault. */
  readonly head?: number;
  /** Index of the descriptor at fault. */
  readonly descriptor?: number;
  /** Ring descriptor whose indirect table holds `descriptor`. */
  readonly indirectOf?: number;
  /** Field at fault. */
  readonly field: string;
  /** The value found. */
  readonly value: string;
  /** What was expected. */
  readonly expected: string;
  /** Rule id broken, if any. */
  readonly rule: string | undefined;
  /** The ring structs read on the way to the error, as evidence (not part of the message). */
  readonly seen?: readonly RingRead[];

  /** Builds the error and its message from its fields. */
  constructor(init: VirtqueueErrorInit) {
    const queue = init.queue === undefined ? "" : ` on queue ${init.queue}`;
    const rule = init.rule === undefined ? "" : ` (rule ${init.rule})`;
    super(
      `Cannot ${init.action}${queue}: ${
        where(init)
      }${init.field} is ${init.value}, expected ${init.expected}${rule}`,
    );
    this.name = "VirtqueueError";
    this.code = init.code;
    this.action = init.action;
    if (init.queue !== undefined) this.queue = init.queue;
    if (init.head !== undefined) this.head = init.head;
    if (init.descriptor !== undefined) this.descriptor = init.descriptor;
    if (init.indirectOf !== undefined) this.indirectOf = init.indirectOf;
    this.field = init.field;
    this.value = init.value;
    this.expected = init.expected;
    this.rule = init.rule;
    if (init.seen !== undefined) this.seen = init.seen;
  }

  /** The error as plain data (for reports). */
  toJSON(): VirtqueueErrorInit {
    return {
      code: this.code,
      action: this.action,
      ...(this.queue === undefined ? {} : { queue: this.queue }),
      ...(this.head === undefined ? {} : { head: this.head }),
      ...(this.descriptor === undefined ? {} : { descriptor: this.descriptor }),
      ...(this.indirectOf === undefined ? {} : { indirectOf: this.indirectOf }),
      field: this.field,
      value: this.value,
      expected: this.expected,
      ...(this.rule === undefined ? {} : { rule: this.rule }),
    };
  }
}
