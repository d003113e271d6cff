/**
 * The error every decoder throws: it names the struct, field, byte offset,
 * the value found, what was expected and the rule that was broken.
 *
 * @module
 */

/** Machine-readable kind of a protocol error. */
export type ProtocolErrorCode =
  | "short-buffer"
  | "illegal-value"
  | "length-mismatch"
  | "out-of-range"
  | "trailing-bytes";

/** Fields of a {@link ProtocolError}. */
export interface ProtocolErrorInit {
  /** Kind of error. */
  readonly code: ProtocolErrorCode;
  /** Struct or payload being decoded (`balloon_bmap_hdr`, `pfn_array`, `bitmap`, …). */
  readonly struct: string;
  /** Field at fault. */
  readonly field: string;
  /** Byte offset of the field from the start of the decoded buffer. */
  readonly offset: number;
  /** The value found, as text (numbers in decimal). */
  readonly value: string;
  /** What was expected, as text. */
  readonly expected: string;
  /** Rule id broken, when one applies. */
  readonly rule?: string;
}

/**
 * A malformed or illegal protocol message.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new ProtocolError({
 *   code: "illegal-value", struct: "balloon_bmap_hdr", field: "page_shift",
 *   offset: 2, value: "16", expected: "12", rule: "R-15",
 * });
 * assert.equal(e.message, "Cannot decode balloon_bmap_hdr: page_shift at byte 2 is 16, expected 12 (rule R-15)");
 * ```
 */
export class ProtocolError extends RangeError {
  /** Kind of error. */
  readonly code: ProtocolErrorCode;
  /** Struct or payload being decoded. */
  readonly struct: string;
  /** Field at fault. */
  readonly field: string;
  /** Byte offset of the field. */
  readonly offset: number;
  /** The value found. */
  readonly value: string;
  /** What was expected. */
  readonly expected: string;
  /** Rule id broken, if any. */
  readonly rule: string | undefined;

  /** Builds the error and its message from its fields. */
  constructor(init: ProtocolErrorInit) {
    const rule = init.rule === undefined ? "" : ` (rule ${init.rule})`;
    super(
      `Cannot decode ${init.struct}: ${init.field} at byte ${init.offset} is ${init.value}, expected ${init.expected}${rule}`,
    );
    this.name = "ProtocolError";
    this.code = init.code;
    this.struct = init.struct;
    this.field = init.field;
    this.offset = init.offset;
    this.value = init.value;
    this.expected = init.expected;
    this.rule = init.rule;
  }

  /** The error as plain data (used by vectors and reports). */
  toJSON(): ProtocolErrorInit {
    return {
      code: this.code,
      struct: this.struct,
      field: this.field,
      offset: this.offset,
      value: this.value,
      expected: this.expected,
      ...(this.rule === undefined ? {} : { rule: this.rule }),
    };
  }
}
