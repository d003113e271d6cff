/**
 * The trace format for passive checking: JSON lines, one event per line,
 * the first line a header. Any driver or device that can log what it does in
 * this form can be checked with `deno task conform --trace FILE`.
 *
 * Version 1. Numbers are JSON numbers; feature masks are hex strings.
 * Pages are 4 KiB PFNs, given as `[start, length]` runs in the order named
 * (repeats kept). A `queue` is an index, or -1 when the source cannot tell.
 * A `chain` is a buffer the device took from a queue, when it took it.
 *
 * | type          | fields                                                                 |
 * | ------------- | ---------------------------------------------------------------------- |
 * | `header`      | `format`, `version`, `source`, `profile`, optional `guestPages`, `versions` |
 * | `features`    | `offered`, `negotiated`, `accepted` (driver's write) (hex), `queues`   |
 * | `status`      | `value` (a write of the device status), optional `by` (`driver`, the default, or `host`) |
 * | `config-read` | `num_pages`, `actual` (what the driver read)                           |
 * | `config-write`| `field` (`actual`, …), `value`, optional `old`                          |
 * | `notify`      | `queue` (available-buffer notification from the driver)               |
 * | `chain`       | `queue`, `elem`, `readable`, `writable` (descriptor counts), optional `pages` (runs named) |
 * | `used`        | `queue`, `elem`, `len`                                                  |
 * | `discard`     | `length` bytes, optional `pfn` (first page) or `hva`                   |
 * | `report`      | `queue`, `elem`, `pages` (runs of reported free pages)                 |
 * | `host`        | `action` (`set-target`, `request-stats`, …), optional `pages`, `bytes`  |
 *
 * Every event but the header has `t` (seconds) and may have `line` (the line
 * of the source log it came from, for evidence).
 *
 * A `status` with `by: "host"` is one the host set or re-applied itself (QEMU
 * logs the status again when the VM stops, quits, resets or migrates): it
 * tells the device's state (a 0 is a reset) but is no write of the driver's.
 *
 * @module
 */

import { QUEUES } from "../../spec/mod.ts";

/** Format name in the header. */
export const TRACE_FORMAT = "virtio-balloon-trace";
/** Format version. */
export const TRACE_VERSION = 1;

/** A run of pages: `[first PFN, count]`. */
export type PageRun = readonly [number, number];

/** The first line of a trace. */
export interface TraceHeader {
  /** "header". */
  readonly type: "header";
  /** {@link TRACE_FORMAT}. */
  readonly format: string;
  /** {@link TRACE_VERSION}. */
  readonly version: number;
  /** Who wrote it (e.g. "qemu-trace", "suite"). */
  readonly source: string;
  /** Profile the rules are checked under. */
  readonly profile: "v3" | "virtio-1.x";
  /** Guest RAM in 4 KiB pages, when known. */
  readonly guestPages?: number;
  /** Versions of the software that produced it. */
  readonly versions?: Readonly<Record<string, string>>;
}

/** Fields every trace event has. */
export interface TraceEventBase {
  /** Seconds (any origin; only the order matters). */
  readonly t: number;
  /** Line of the source log, for evidence. */
  readonly line?: number;
}

/** One trace event. */
export type TraceEvent =
  | TraceEventBase & {
    readonly type: "features";
    /** What the device offered. */
    readonly offered?: string;
    /** What is in effect after negotiation (the device may have masked the driver's write). */
    readonly negotiated?: string;
    /** The bits the driver wrote, when the source knows them. */
    readonly accepted?: string;
    readonly queues?: Readonly<Record<string, string>>;
  }
  | TraceEventBase & {
    readonly type: "status";
    readonly value: number;
    /** Who set it: the driver (default), or the host on its own (stop, quit, reset, migration). */
    readonly by?: "driver" | "host";
  }
  | TraceEventBase & {
    readonly type: "config-read";
    readonly num_pages: number;
    readonly actual: number;
  }
  | TraceEventBase & {
    readonly type: "config-write";
    readonly field: string;
    readonly value: number;
    readonly old?: number;
  }
  | TraceEventBase & { readonly type: "notify"; readonly queue: number }
  | TraceEventBase & {
    readonly type: "chain";
    readonly queue: number;
    readonly elem: string;
    readonly readable: number;
    readonly writable: number;
    readonly pages?: readonly PageRun[];
  }
  | TraceEventBase & {
    readonly type: "used";
    readonly queue: number;
    readonly elem: string;
    readonly len: number;
  }
  | TraceEventBase & {
    readonly type: "discard";
    readonly length: number;
    readonly pfn?: number;
    readonly hva?: string;
  }
  | TraceEventBase & {
    readonly type: "report";
    readonly queue: number;
    readonly elem: string;
    readonly pages: readonly PageRun[];
  }
  | TraceEventBase & {
    readonly type: "host";
    readonly action: string;
    readonly pages?: number;
    readonly bytes?: number;
  };

/** A whole trace. */
export interface Trace {
  /** Header. */
  readonly header: TraceHeader;
  /** Events in order. */
  readonly events: readonly TraceEvent[];
}

/** A problem in a trace file, with its line number. */
export class TraceFormatError extends TypeError {
  /** 1-based line number. */
  readonly lineNumber: number;

  /** Builds the error. */
  constructor(lineNumber: number, message: string) {
    super(`line ${lineNumber}: ${message}`);
    this.name = "TraceFormatError";
    this.lineNumber = lineNumber;
  }
}

type Kind =
  | "uint"
  | "queue"
  | "number"
  | "string"
  | "hex"
  | "runs"
  | "queues"
  | "strings"
  | "by";

/** Who a status write is by. */
const BY = ["driver", "host"] as const;

/** Fields of each event type: kind, and whether it is required. */
const FIELDS: Readonly<Record<TraceEvent["type"], Readonly<Record<string, [Kind, boolean]>>>> = {
  "features": {
    offered: ["hex", false],
    negotiated: ["hex", false],
    accepted: ["hex", false],
    queues: ["queues", false],
  },
  "status": { value: ["uint", true], by: ["by", false] },
  "config-read": { num_pages: ["uint", true], actual: ["uint", true] },
  "config-write": { field: ["string", true], value: ["uint", true], old: ["uint", false] },
  "notify": { queue: ["queue", true] },
  "chain": {
    queue: ["queue", true],
    elem: ["string", true],
    readable: ["uint", true],
    writable: ["uint", true],
    pages: ["runs", false],
  },
  "used": { queue: ["queue", true], elem: ["string", true], len: ["uint", true] },
  "discard": { length: ["uint", true], pfn: ["uint", false], hva: ["hex", false] },
  "report": { queue: ["queue", true], elem: ["string", true], pages: ["runs", true] },
  "host": { action: ["string", true], pages: ["uint", false], bytes: ["uint", false] },
};

const HEADER_FIELDS: Readonly<Record<string, [Kind, boolean]>> = {
  source: ["string", true],
  guestPages: ["uint", false],
  versions: ["strings", false],
};

const KIND_TEXT: Readonly<Record<Kind, string>> = {
  uint: "a non-negative integer",
  queue: "a queue index (a non-negative integer, or -1 when unknown)",
  number: "a number",
  string: "a string",
  hex: 'a hex string such as "0x1f"',
  runs: "a list of [first PFN, count] runs of non-negative integers, count at least 1",
  queues: `an object from queue index to one of ${QUEUES.map((q) => q.name).join(", ")}`,
  strings: "an object of strings",
  by: BY.map((b) => `"${b}"`).join(" or "),
};

const isUint = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const HEX = /^0x[0-9a-fA-F]+$/;

function fits(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case "uint":
      return isUint(v);
    case "queue":
      return isUint(v) || v === -1;
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "string":
      return typeof v === "string";
    case "hex":
      return typeof v === "string" && HEX.test(v);
    case "runs":
      return Array.isArray(v) &&
        v.every((r) =>
          Array.isArray(r) && r.length === 2 && isUint(r[0]) && isUint(r[1]) && r[1] >= 1
        );
    case "queues":
      return typeof v === "object" && v !== null && !Array.isArray(v) &&
        Object.entries(v).every(([k, q]) => /^\d+$/.test(k) && QUEUES.some((d) => d.name === q));
    case "strings":
      return typeof v === "object" && v !== null && !Array.isArray(v) &&
        Object.values(v).every((x) => typeof x === "string");
    case "by":
      return BY.some((b) => b === v);
  }
}

/** A field table as a list, made once per table (a trace has millions of lines to check). */
const LISTS = new WeakMap<object, readonly (readonly [string, Kind, boolean])[]>();

function listOf(
  fields: Readonly<Record<string, [Kind, boolean]>>,
): readonly (readonly [string, Kind, boolean])[] {
  let l = LISTS.get(fields);
  if (l === undefined) {
    l = Object.entries(fields).map(([name, [kind, required]]) => [name, kind, required] as const);
    LISTS.set(fields, l);
  }
  return l;
}

/** Fields every event has. */
const EVENT_FIELDS: Readonly<Record<string, [Kind, boolean]>> = {
  t: ["number", true],
  line: ["uint", false],
};

function checkFields(
  line: number,
  what: string,
  obj: Record<string, unknown>,
  fields: Readonly<Record<string, [Kind, boolean]>>,
): void {
  for (const [name, kind, required] of listOf(fields)) {
    const v = obj[name];
    if (v === undefined && !required) continue;
    if (!fits(kind, v)) {
      throw new TraceFormatError(
        line,
        `${what}${what === "the header" ? "" : " event"} needs ${
          required ? "" : "(if present) "
        }"${name}" to be ${KIND_TEXT[kind]}, got ${
          v === undefined ? "nothing" : JSON.stringify(v)?.slice(0, 60)
        }`,
      );
    }
  }
}

const KIND_SCHEMA: Readonly<Record<Kind, Record<string, unknown>>> = {
  uint: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  queue: { type: "integer", minimum: -1, maximum: Number.MAX_SAFE_INTEGER },
  number: { type: "number" },
  string: { type: "string" },
  hex: { type: "string", pattern: "^0x[0-9a-fA-F]+$" },
  runs: {
    type: "array",
    items: {
      type: "array",
      prefixItems: [
        { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
      ],
      items: false,
      minItems: 2,
    },
  },
  queues: {
    type: "object",
    patternProperties: { "^[0-9]+$": { enum: QUEUES.map((q) => q.name) } },
    additionalProperties: false,
  },
  strings: { type: "object", additionalProperties: { type: "string" } },
  by: { enum: [...BY] },
};

function objectSchema(
  fixed: Record<string, unknown>,
  fields: Readonly<Record<string, [Kind, boolean]>>,
): Record<string, unknown> {
  return {
    type: "object",
    properties: {
      ...fixed,
      ...Object.fromEntries(Object.entries(fields).map(([k, [kind]]) => [k, KIND_SCHEMA[kind]])),
    },
    required: [
      ...Object.keys(fixed),
      ...Object.entries(fields).filter(([, [, req]]) => req).map(([k]) => k),
    ],
  };
}

/**
 * The JSON Schema (draft 2020-12) of one line of a trace: the header, or one
 * event. Built from the same field table {@link parseTrace} checks, so that
 * other languages can validate their traces before running the suite.
 *
 * @example
 * ```ts
 * import { traceLineSchema } from "./format.ts";
 * import assert from "node:assert/strict";
 * const s = traceLineSchema() as { oneOf: unknown[] };
 * assert.equal(s.oneOf.length, 11); // the header and ten event types
 * ```
 */
export function traceLineSchema(): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://github.com/virtio-balloon/conformance/trace.schema.json",
    title:
      `${TRACE_FORMAT} version ${TRACE_VERSION}: one line (JSON lines; the first is the header)`,
    oneOf: [
      objectSchema({
        type: { const: "header" },
        format: { const: TRACE_FORMAT },
        version: { const: TRACE_VERSION },
        profile: { enum: ["v3", "virtio-1.x"] },
      }, HEADER_FIELDS),
      ...Object.entries(FIELDS).map(([type, fields]) =>
        objectSchema({ type: { const: type }, t: KIND_SCHEMA.number }, {
          line: ["uint", false],
          ...fields,
        })
      ),
    ],
  };
}

/**
 * Parses a trace one line at a time, checking each line: the first non-blank
 * line must be the header. Throws a {@link TraceFormatError} naming the line.
 */
export class TraceParser {
  #header: TraceHeader | undefined;

  /** The header, once its line was parsed. */
  get header(): TraceHeader | undefined {
    return this.#header;
  }

  /** Parses line `n`: the event, or undefined for the header and blank lines. */
  line(text: string, n: number): TraceEvent | undefined {
    const raw = text.trim();
    if (raw === "") return undefined;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      throw new TraceFormatError(n, `not JSON (${(e as Error).message})`);
    }
    if (typeof obj !== "object" || obj === null || typeof obj["type"] !== "string") {
      throw new TraceFormatError(n, `expected an object with a string "type"`);
    }
    if (this.#header === undefined) {
      this.#header = parseHeader(obj, raw, n);
      return undefined;
    }
    const type = obj["type"] as TraceEvent["type"];
    const fields = Object.hasOwn(FIELDS, type) ? FIELDS[type] : undefined;
    if (fields === undefined) {
      throw new TraceFormatError(n, `unknown event type "${obj["type"]}"`);
    }
    checkFields(n, type, obj, EVENT_FIELDS);
    checkFields(n, type, obj, fields);
    return obj as unknown as TraceEvent;
  }

  /** The header, after the last line; throws when there was none. */
  finish(): TraceHeader {
    if (this.#header === undefined) {
      throw new TraceFormatError(1, "the trace is empty: expected a header line");
    }
    return this.#header;
  }
}

function parseHeader(obj: Record<string, unknown>, raw: string, n: number): TraceHeader {
  if (obj["type"] !== "header" || obj["format"] !== TRACE_FORMAT) {
    throw new TraceFormatError(
      n,
      `expected a header with format "${TRACE_FORMAT}", got ${raw.slice(0, 80)}`,
    );
  }
  if (obj["version"] !== TRACE_VERSION) {
    throw new TraceFormatError(
      n,
      `trace format version ${obj["version"]} is not supported, expected ${TRACE_VERSION}`,
    );
  }
  if (obj["profile"] !== "v3" && obj["profile"] !== "virtio-1.x") {
    throw new TraceFormatError(
      n,
      `profile ${JSON.stringify(obj["profile"])}, expected "v3" or "virtio-1.x"`,
    );
  }
  checkFields(n, "the header", obj, HEADER_FIELDS);
  return obj as unknown as TraceHeader;
}

/**
 * Parses a trace held in a string, checking each line; throws a
 * {@link TraceFormatError} naming the line.
 *
 * @example
 * ```ts
 * import { parseTrace } from "./format.ts";
 * import assert from "node:assert/strict";
 * const t = parseTrace('{"type":"header","format":"virtio-balloon-trace","version":1,"source":"x","profile":"virtio-1.x"}\n{"type":"status","t":0,"value":1}\n');
 * assert.equal(t.events.length, 1);
 * assert.throws(() => parseTrace('{"type":"header","format":"virtio-balloon-trace","version":1,"source":"x","profile":"virtio-1.x"}\n{"type":"status","t":0}\n'), /line 2: status event needs "value" to be a non-negative integer, got nothing/);
 * ```
 */
export function parseTrace(text: string): Trace {
  const p = new TraceParser();
  const events: TraceEvent[] = [];
  text.split("\n").forEach((line, i) => {
    const e = p.line(line, i + 1);
    if (e !== undefined) events.push(e);
  });
  return { header: p.finish(), events };
}

/** Serialises a trace as JSON lines. */
export function formatTrace(trace: Trace): string {
  return [trace.header, ...trace.events].map((e) => JSON.stringify(e)).join("\n") + "\n";
}
