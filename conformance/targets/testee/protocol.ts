/**
 * The testee protocol, as data: every message the suite and a testee (a
 * device in another process, in any language) exchange, with its fields.
 * The JSON Schema ({@link protocolSchema}), the message tables of
 * `docs/TESTEE-PROTOCOL.md` (`scripts/testee_doc.ts`) and the suite's check
 * of every line a testee sends ({@link checkTesteeLine}) are all built from
 * {@link MESSAGES}, so they cannot disagree.
 *
 * Wire rules: one JSON object per line (NDJSON) on the testee's stdin (from
 * the suite) and stdout (from the testee); stderr is the testee's log. 64-bit
 * values (features, addresses, `param`, statistics) are hex strings
 * (`"0x1f"`), bytes are base64 (RFC 4648, with padding).
 *
 * @module
 */

import { PageSet } from "../../../spec/mod.ts";

/** The protocol version a hello names; a testee that speaks another one must answer `errored`. */
export const PROTOCOL_VERSION = 1;

/** The type of a field. */
export type FieldType =
  | "hex64"
  | "uint"
  | "bool"
  | "base64"
  | "string"
  | "runs"
  | "stats"
  | "strings"
  | "role"
  | "endian"
  | "events";

/** One field of a message. */
export interface FieldDef {
  /** Name. */
  readonly name: string;
  /** Type. */
  readonly type: FieldType;
  /** Whether it must be present. */
  readonly required: boolean;
  /** What it means. */
  readonly doc: string;
}

/** Who sends a message and how it is answered. */
export type MessageKind =
  /** The suite asks, the testee answers with one reply carrying the same `seq`. */
  | "request"
  /** The testee asks for guest memory while it handles a request; the suite answers `mem.read` only. */
  | "memory"
  /**
   * A driver testee uses the suite's device, host or guest while it handles
   * a request; the suite answers the calls that have a result (with the
   * call's `id`), in order, and applies the others without an answer.
   */
  | "call"
  /** The testee raises an interrupt: a line of its own, never inside a reply. */
  | "event";

/** One message. */
export interface MessageDef {
  /** The `op` value. */
  readonly op: string;
  /** Kind. */
  readonly kind: MessageKind;
  /** What it does. */
  readonly doc: string;
  /** Fields besides `op` and `seq`. */
  readonly fields: readonly FieldDef[];
  /** Requests: the fields of `result` in a successful reply. `mem.read`: the fields of the suite's answer. */
  readonly result?: readonly FieldDef[];
  /**
   * Requests the suite may pipeline: it may send the next request before
   * reading this one's reply, so while handling it the testee may write
   * memory but must not read it or raise events.
   */
  readonly pipelined?: boolean;
  /** The role it belongs to; undefined: both. */
  readonly role?: "device" | "driver";
}

const f = (name: string, type: FieldType, doc: string, required = true): FieldDef => ({
  name,
  type,
  required,
  doc,
});

/** The `id` of a call that has an answer. */
const CALL_ID: FieldDef = f(
  "id",
  "uint",
  "the testee's number for this call, echoed in the answer",
);

/**
 * The transport requests to a device testee (status, features, config,
 * queues, notifications): a driver testee makes the same accesses as calls
 * (`dev.` and the op, {@link driverCall}).
 */
const TRANSPORT: readonly MessageDef[] = [
  {
    op: "status.read",
    role: "device",
    kind: "request",
    doc: "Reads the device status.",
    fields: [],
    result: [f("value", "uint", "device status")],
  },
  {
    op: "status.write",
    role: "device",
    kind: "request",
    pipelined: true,
    doc: "Writes the device status (0 resets the device).",
    fields: [f("value", "uint", "device status")],
    result: [],
  },
  {
    op: "features.read",
    role: "device",
    kind: "request",
    doc: "Reads the 64 feature bits the device offers.",
    fields: [],
    result: [f("value", "hex64", "device features")],
  },
  {
    op: "features.write",
    role: "device",
    kind: "request",
    pipelined: true,
    doc: "Writes the features the driver accepts.",
    fields: [f("value", "hex64", "driver features")],
    result: [],
  },
  {
    op: "config.read",
    role: "device",
    kind: "request",
    doc: "Reads device config bytes (one access).",
    fields: [f("offset", "uint", "byte offset"), f("length", "uint", "byte count")],
    result: [
      f("data", "base64", "the bytes"),
      f("generation", "uint", "config generation (modern interface)", false),
    ],
  },
  {
    op: "config.write",
    role: "device",
    kind: "request",
    pipelined: true,
    doc: "Writes device config bytes (one access).",
    fields: [f("offset", "uint", "byte offset"), f("data", "base64", "the bytes")],
    result: [],
  },
  {
    op: "queue.max",
    role: "device",
    kind: "request",
    doc: "The largest size of a queue, 0 when the device has no such queue.",
    fields: [f("queue", "uint", "queue index")],
    result: [f("size", "uint", "largest queue size, or 0")],
  },
  {
    op: "queue.setup",
    role: "device",
    kind: "request",
    pipelined: true,
    doc:
      "Sets a queue's size and ring addresses in guest memory and enables it (after FEATURES_OK, before DRIVER_OK).",
    fields: [
      f("queue", "uint", "queue index"),
      f("size", "uint", "queue size"),
      f("desc", "hex64", "descriptor table address"),
      f("avail", "hex64", "available ring address"),
      f("used", "hex64", "used ring address"),
      f("eventIdx", "bool", "EVENT_IDX negotiated"),
      f("indirect", "bool", "INDIRECT_DESC negotiated"),
    ],
    result: [],
  },
  {
    op: "notify",
    role: "device",
    kind: "request",
    doc:
      "Available-buffer notification. The testee reads the rings and buffers with `mem.*` messages, raises `event`s, and replies when it has done what it does now.",
    fields: [f("queue", "uint", "queue index")],
    result: [],
  },
];

/** What the driver role's calls say where the device request's text does not fit. */
const CALL_DOCS: Readonly<
  Record<string, { readonly doc: string; readonly omit?: readonly string[] }>
> = {
  "queue.setup": {
    doc:
      "Sets a queue's size and ring addresses in guest memory and enables it (after FEATURES_OK, before DRIVER_OK). EVENT_IDX and INDIRECT_DESC apply as negotiated.",
    omit: ["eventIdx", "indirect"],
  },
  notify: {
    doc:
      "Available-buffer notification: the suite's device handles the queue when the driver next waits (`wait`, `sleep`) or replies.",
  },
};

/**
 * The driver role's call for a transport request: the same fields and
 * result (a call with a result carries an `id`, echoed in the answer; one
 * without is not answered).
 */
function driverCall(m: MessageDef): MessageDef {
  const answered = (m.result ?? []).length > 0;
  const own = CALL_DOCS[m.op];
  return {
    op: `dev.${m.op}`,
    role: "driver",
    kind: "call",
    doc: own?.doc ?? m.doc,
    fields: [
      ...(answered
        ? [f("id", "uint", "the testee's number for this call, echoed in the answer")]
        : []),
      ...m.fields.filter((x) => !(own?.omit ?? []).includes(x.name)),
    ],
    ...(answered ? { result: m.result } : {}),
  };
}

/** Every message of protocol version {@link PROTOCOL_VERSION}, in the order the doc lists them. */
export const MESSAGES: readonly MessageDef[] = [
  {
    op: "hello",
    kind: "request",
    doc:
      "First line of every process. The testee answers with the version it speaks (it must equal the suite's), its role and what it can do.",
    fields: [
      f("protocol", "uint", "protocol version the suite speaks"),
      f("role", "role", "the side the suite tests (`device` or `driver`)"),
      f("profile", "string", "the profile of the cases (`v3`, `virtio-1.x`)"),
    ],
    result: [
      f("protocol", "uint", "protocol version the testee speaks"),
      f("role", "role", "what the testee is (`device` or `driver`)"),
      f("name", "string", "the implementation's name, for reports"),
      f(
        "host",
        "strings",
        "the optional operations it implements: a device, host operations (any of `unused`, `hint`, `state`); a driver, requests (any of `remove`, `freeze`, `restore`, `migrate-page`)",
      ),
      f(
        "unsupported",
        "strings",
        "feature names (as the spec tables spell them, e.g. `PAGE_BITMAP`) the implementation does not implement: the suite does not offer them to a driver, and cases that need them are `unsupported`",
        false,
      ),
      f(
        "synchronous",
        "bool",
        "true when the testee does all the work a request causes before it replies, so a `settle` could never change anything: the suite then sends none",
        false,
      ),
      f(
        "state",
        "strings",
        "what `host.state` reports: any of `ballooned`, `actual`, `stats`, `hinted`, `reported`; and `dirty-log` when `host.unused` says whether dirty logging was on",
        false,
      ),
      f(
        "endian",
        "endian",
        "a driver: the byte order of the guest it is built for, which the suite's guest takes when a scenario does not name one (default `le`; it matters in legacy conversations)",
        false,
      ),
    ],
  },
  {
    op: "reset",
    kind: "request",
    pipelined: true,
    doc:
      "Starts a scenario: a fresh device (as just plugged in) or a fresh driver (not yet probed: it forgets every queue, page and registration) on guest RAM of `pages` 4 KiB pages from address 0.",
    fields: [
      f("pages", "uint", "guest RAM in 4 KiB pages"),
      f("endian", "endian", "the guest's byte order (legacy conversations)"),
      f(
        "poison",
        "uint",
        "driver role: the value the guest initialises freed pages to (virtio-1.x PAGE_POISON), when it does",
        false,
      ),
    ],
    result: [],
  },
  ...TRANSPORT,
  {
    op: "settle",
    role: "device",
    kind: "request",
    doc:
      "A bounded wait: the testee may work for up to `ms` milliseconds (memory messages and events meanwhile), then replies.",
    fields: [f("ms", "uint", "longest wait")],
    result: [f("errors", "strings", "errors the device raised while it worked, if any", false)],
  },
  {
    op: "host.target",
    role: "device",
    kind: "request",
    doc:
      "The host sets the balloon target: num_pages changes and the device raises a config-change event.",
    fields: [f("pages", "uint", "target in 4 KiB pages")],
    result: [],
  },
  {
    op: "host.stats",
    role: "device",
    kind: "request",
    doc: "The host asks for fresh statistics (the device uses the stats buffer it holds).",
    fields: [],
    result: [f("held", "bool", "whether a stats buffer was held")],
  },
  {
    op: "host.unused",
    role: "device",
    kind: "request",
    doc: "v3 MISC_VQ: the host issues an unused-page request (host operation `unused`).",
    fields: [f("param", "hex64", "request parameter")],
    result: [
      f("issued", "bool", "whether a request buffer was available"),
      f(
        "dirtyLog",
        "bool",
        "whether the host logged dirty pages when it issued the request (hello `state` lists `dirty-log`)",
        false,
      ),
    ],
  },
  {
    op: "host.hint",
    role: "device",
    kind: "request",
    doc:
      "virtio-1.x FREE_PAGE_HINT: start a round, or set the command id to STOP or DONE (host operation `hint`).",
    fields: [f("action", "string", "`start`, `stop` or `done`")],
    result: [f("done", "bool", "whether it could (a round could start)")],
  },
  {
    op: "host.state",
    role: "device",
    kind: "request",
    doc:
      "What the host holds, as the implementation reports it (self-reported, host operation `state`): fields as listed in hello's `state`.",
    fields: [],
    result: [
      f("ballooned", "runs", "pages in the balloon", false),
      f("actual", "uint", "the actual the host read", false),
      f("stats", "stats", "statistics kept from the last stats buffer", false),
      f("hinted", "runs", "pages taken as hints in the current round", false),
      f("reported", "runs", "pages taken from reports", false),
    ],
  },
  {
    op: "probe",
    role: "driver",
    kind: "request",
    doc:
      "The guest probes the driver: it negotiates with the suite's device, sets up its queues and sets DRIVER_OK (with `dev.*` calls), then replies.",
    fields: [
      f(
        "bitmapLimit",
        "uint",
        "fault injection: the driver's page bitmaps may cover at most this many pages (answer `unsupported` if the driver cannot)",
        false,
      ),
      f(
        "failBitmapAllocation",
        "bool",
        "fault injection: the driver's bitmap allocation fails (answer `unsupported` if the driver cannot)",
        false,
      ),
    ],
    result: [f("ok", "bool", "whether the driver bound to the device")],
  },
  {
    op: "interrupt",
    role: "driver",
    kind: "request",
    doc:
      "The suite's device raised an interrupt while the driver was idle: `used` (a used-buffer notification of `queue`) or `config` (a configuration change). The driver handles it (and the work it starts) and replies; an interrupt raised while the driver handles a request is the answer to its next `wait` instead.",
    fields: [
      f("event", "string", "`used` or `config`"),
      f("queue", "uint", "queue index (`used` only)", false),
    ],
    result: [],
  },
  {
    op: "remove",
    role: "driver",
    kind: "request",
    doc:
      "The driver is unbound (optional request `remove`): it gives every page back to the guest, tells the device, resets it, and replies.",
    fields: [],
    result: [],
  },
  {
    op: "freeze",
    role: "driver",
    kind: "request",
    doc:
      "The guest suspends (optional request `freeze`): the driver quiesces and resets the device.",
    fields: [],
    result: [],
  },
  {
    op: "restore",
    role: "driver",
    kind: "request",
    doc: "The guest resumes (optional request `restore`): the driver sets the device up again.",
    fields: [],
    result: [f("ok", "bool", "whether it could")],
  },
  {
    op: "migrate-page",
    role: "driver",
    kind: "request",
    doc:
      "The guest moves balloon page `pfn` (optional request `migrate-page`): the driver takes a new page, tells the device (inflate the new, deflate the old) and frees the old one.",
    fields: [f("pfn", "uint", "a page in the balloon")],
    result: [f("ok", "bool", "whether it moved it")],
  },
  {
    op: "oom",
    role: "driver",
    kind: "request",
    doc:
      "The guest runs out of memory and calls the OOM notifier the driver registered (`guest.oom`): the driver deflates what it may and replies.",
    fields: [],
    result: [f("freed", "uint", "pages it gave back to the guest")],
  },
  {
    op: "freed",
    role: "driver",
    kind: "request",
    doc:
      "The guest's workload freed `pages` (sent only while the driver is registered with `guest.on-free`, and only when it is idle): the driver takes note (free page reporting schedules a pass) and replies.",
    fields: [f("pages", "runs", "the pages freed")],
    result: [],
  },
  {
    op: "mem.read",
    kind: "memory",
    doc:
      'The testee reads guest memory and waits for the answer `{"id": id, "data": base64}` (the only line the suite sends meanwhile); a read outside RAM ends the case with an error.',
    fields: [
      f("id", "uint", "the testee's number for this access, echoed in the answer"),
      f("addr", "hex64", "guest physical address"),
      f("len", "uint", "byte count (at most 1 MiB)"),
    ],
    result: [f("data", "base64", "the bytes")],
  },
  {
    op: "mem.write",
    kind: "memory",
    doc:
      "The testee writes guest memory. Not answered (lines are handled in order); a write outside RAM ends the case with an error.",
    fields: [f("addr", "hex64", "guest physical address"), f("data", "base64", "the bytes")],
  },
  {
    op: "mem.discard",
    role: "device",
    kind: "memory",
    doc:
      "The host discards whole pages (MADV_DONTNEED): they read as zeros from then on. Not answered.",
    fields: [f("pfn", "uint", "first 4 KiB page"), f("count", "uint", "pages")],
  },
  ...TRANSPORT.map(driverCall),
  {
    op: "guest.alloc",
    role: "driver",
    kind: "call",
    doc:
      "Takes pages from the guest's page allocator (fewer, or none, when memory runs short: a balloon never forces the guest into OOM).",
    fields: [
      CALL_ID,
      f("count", "uint", "pages wanted"),
      f(
        "contiguous",
        "bool",
        "one run of `count` consecutive pages starting on a multiple of the next power of two (rings, buffers), or none",
        false,
      ),
      f(
        "managed",
        "bool",
        "also take them off the guest's managed page count (Linux `adjust_managed_page_count`, done by a balloon without DEFLATE_ON_OOM)",
        false,
      ),
      f(
        "type",
        "string",
        "the migrate type asked for, which decides where the allocator takes the pages (Linux GFP flags): `MOVABLE` (the default: balloon pages, hinted blocks), `UNMOVABLE` (rings, buffers) or `RECLAIMABLE`",
        false,
      ),
    ],
    result: [f("pages", "runs", "the pages taken")],
  },
  {
    op: "guest.free",
    role: "driver",
    kind: "call",
    doc:
      "Gives pages back to the guest's page allocator, for the reason given (the guest may use deflated and hinted pages, write them, at once).",
    fields: [
      f(
        "pages",
        "runs",
        "pages the driver took with `guest.alloc` (or `guest.isolate`), freed run by run in this order",
      ),
      f("managed", "bool", "also put them back on the managed page count", false),
      f(
        "reason",
        "string",
        "why they go back: `deflate` (the default: balloon pages, which the guest may use at once), `hint` (hinted pages, the same), `report` (reported blocks: back on the free lists, not in the guest's hands) or `other` (the driver's own rings and buffers, or a block it took and did not use: back on the free lists, nothing else)",
        false,
      ),
    ],
  },
  {
    op: "guest.managed",
    role: "driver",
    kind: "call",
    doc:
      "Changes the guest's managed page count on its own (Linux `adjust_managed_page_count` after an allocation, for a driver that decides it after `guest.alloc`): takes `pages` off it, or puts them back with `add`.",
    fields: [
      f("pages", "uint", "how many pages"),
      f("add", "bool", "true puts them back, false takes them off"),
    ],
  },
  {
    op: "guest.free-pages",
    role: "driver",
    kind: "call",
    doc: "The pages on the guest allocator's free lists now (v3 MISC_VQ unused-page reports).",
    fields: [CALL_ID],
    result: [f("pages", "runs", "free pages")],
  },
  {
    op: "guest.free-blocks",
    role: "driver",
    kind: "call",
    doc:
      "The blocks on the guest allocator's buddy free lists of at least 2^`order` pages, in the allocator's list order (zone by zone, order by order, migrate type by migrate type, each list ascending): what free page reporting walks (virtio-1.x PAGE_REPORTING).",
    fields: [
      CALL_ID,
      f("order", "uint", "the smallest block order wanted (0 for every block)"),
    ],
    result: [
      f("blocks", "runs", "the free blocks, one run each (its count a power of two)"),
      f(
        "types",
        "strings",
        "the migrate type of each block's free list, in the same order (`UNMOVABLE`, `MOVABLE`, `RECLAIMABLE`)",
      ),
    ],
  },
  {
    op: "guest.isolate",
    role: "driver",
    kind: "call",
    doc:
      "Takes the free block of 2^`order` pages at `pfn` off its free list as it is, without splitting or merging (Linux `__isolate_free_page`, as free page reporting does): its pages are the driver's until it gives them back with `guest.free` (reason `report`).",
    fields: [
      CALL_ID,
      f("pfn", "uint", "the block's first page"),
      f("order", "uint", "the block's order (0 to 10)"),
    ],
    result: [f("ok", "bool", "false when no free block of that order starts at `pfn`")],
  },
  {
    op: "guest.stats",
    role: "driver",
    kind: "call",
    doc:
      "The guest's memory statistics now, by the tags of the stats table (what a stats buffer reports).",
    fields: [CALL_ID],
    result: [f("stats", "stats", "tag and value of each statistic the guest keeps")],
  },
  {
    op: "guest.oom",
    role: "driver",
    kind: "call",
    doc:
      "Registers (or unregisters) the driver's OOM notifier: when the guest runs out of memory the suite sends `oom`.",
    fields: [f("register", "bool", "true to register, false to unregister")],
  },
  {
    op: "guest.on-free",
    role: "driver",
    kind: "call",
    doc:
      "Registers (or unregisters) for the guest's frees (Linux `page_reporting_notify_free`, free page reporting): while registered, the suite sends `freed` when the guest's workload frees memory.",
    fields: [f("register", "bool", "true to register, false to unregister")],
  },
  {
    op: "wait",
    role: "driver",
    kind: "call",
    doc:
      "The driver waits for the device (it made buffers available and needs them back): the suite lets its device run and answers with the interrupts raised meanwhile, at least one (none only when `ms` passed first). A driver that waits without `ms` for what never comes hangs the step.",
    fields: [
      CALL_ID,
      f(
        "ms",
        "uint",
        "wait at most this many milliseconds of the guest's (virtual) clock (a driver whose timer runs meanwhile): the answer may then list no interrupt; 0 lets the device do only what it can at once (what the driver's last accesses started), as a driver task that yields does",
        false,
      ),
    ],
    result: [
      f("events", "events", "interrupts raised, in order"),
      f(
        "waited",
        "uint",
        "milliseconds of the guest's clock that passed (less than `ms` when an interrupt came first)",
      ),
    ],
  },
  {
    op: "sleep",
    role: "driver",
    kind: "call",
    doc:
      "The driver sleeps `ms` milliseconds of the guest's (virtual) clock, letting the device run; the answer lists the interrupts raised meanwhile.",
    fields: [CALL_ID, f("ms", "uint", "how long")],
    result: [f("events", "events", "interrupts raised, in order (maybe none)")],
  },
  {
    op: "event",
    role: "device",
    kind: "event",
    doc:
      "An interrupt: `used` (a used-buffer notification of `queue`) or `config` (a configuration change). Delivered to the suite's driver at its next wait.",
    fields: [
      f("event", "string", "`used` or `config`"),
      f("queue", "uint", "queue index (`used` only)", false),
    ],
  },
];

/** Reply shapes: exactly one of these fields besides `seq`. */
export const REPLY_OUTCOMES: readonly FieldDef[] = [
  f("result", "string", "success: an object with the request's result fields"),
  f(
    "unsupported",
    "string",
    "the testee does not implement this (a reason): the case is `unsupported`, never a pass",
  ),
  f("errored", "string", "the testee failed to handle it (a reason): the case is an `error`"),
];

/** The message definition of `op`. */
export function messageDef(op: string): MessageDef | undefined {
  return MESSAGES.find((m) => m.op === op);
}

/** Largest `mem.read` length. */
export const MEM_READ_MAX = 1 << 20;

const HEX64 = /^0x[0-9a-fA-F]{1,16}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function typeSchema(t: FieldType): Record<string, unknown> {
  switch (t) {
    case "hex64":
      return { type: "string", pattern: HEX64.source };
    case "uint":
      return { type: "integer", minimum: 0, maximum: 2 ** 32 - 1 };
    case "bool":
      return { type: "boolean" };
    case "base64":
      return { type: "string", pattern: BASE64.source };
    case "string":
      return { type: "string" };
    case "strings":
      return { type: "array", items: { type: "string" } };
    case "role":
      return { enum: ["device", "driver"] };
    case "endian":
      return { enum: ["le", "be"] };
    case "runs":
      return {
        type: "array",
        items: {
          type: "array",
          prefixItems: [{ type: "integer", minimum: 0 }, { type: "integer", minimum: 1 }],
          minItems: 2,
          maxItems: 2,
        },
      };
    case "events":
      return {
        type: "array",
        items: {
          type: "object",
          required: ["event"],
          properties: {
            event: { enum: ["used", "config"] },
            queue: { type: "integer", minimum: 0 },
          },
        },
      };
    case "stats":
      return {
        type: "array",
        items: {
          type: "object",
          required: ["tag", "val"],
          properties: {
            tag: { type: "integer", minimum: 0, maximum: 65535 },
            val: { type: "string", pattern: HEX64.source },
          },
        },
      };
  }
}

function objectSchema(fields: readonly FieldDef[], extra: Record<string, unknown> = {}) {
  return {
    type: "object",
    required: [...Object.keys(extra), ...fields.filter((x) => x.required).map((x) => x.name)],
    properties: {
      ...extra,
      ...Object.fromEntries(
        fields.map((x) => [x.name, { ...typeSchema(x.type), description: x.doc }]),
      ),
    },
  };
}

/** The JSON Schema (2020-12) of every line of the protocol, in either direction. */
export function protocolSchema(): Record<string, unknown> {
  const defs: Record<string, unknown> = {};
  for (const m of MESSAGES) {
    const key = m.op.replace(".", "_");
    const head = m.kind === "request"
      ? { op: { const: m.op }, seq: { type: "integer", minimum: 1 } }
      : { op: { const: m.op } };
    defs[key] = { description: m.doc, ...objectSchema(m.fields, head) };
    if (m.kind === "request") {
      defs[`${key}_reply`] = {
        description: `The testee's reply to ${m.op}.`,
        type: "object",
        required: ["seq"],
        properties: { seq: { type: "integer", minimum: 1 } },
        oneOf: [
          { required: ["result"], properties: { result: objectSchema(m.result ?? []) } },
          { required: ["unsupported"], properties: { unsupported: { type: "string" } } },
          { required: ["errored"], properties: { errored: { type: "string" } } },
        ],
      };
    } else if (m.result !== undefined) {
      defs[`${key}_answer`] = {
        description: `The suite's answer to ${m.op}.`,
        ...objectSchema(m.result, { id: { type: "integer", minimum: 0 } }),
      };
    }
  }
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: `https://virtio-balloon.invalid/testee-protocol/v${PROTOCOL_VERSION}.schema.json`,
    title: `virtio-balloon testee protocol, version ${PROTOCOL_VERSION}: one line`,
    oneOf: Object.keys(defs).map((k) => ({ $ref: `#/$defs/${k}` })),
    $defs: defs,
  };
}

/** A line from a testee that the protocol does not allow: names the message and the field. */
export class ProtocolViolation extends Error {
  /** Builds it; `message` names the message and the field. */
  constructor(message: string) {
    super(message);
    this.name = "ProtocolViolation";
  }
}

function describe(t: FieldType): string {
  switch (t) {
    case "hex64":
      return 'a hex string such as "0x1000" (at most 16 digits)';
    case "uint":
      return "an integer from 0 to 2^32-1";
    case "bool":
      return "true or false";
    case "base64":
      return "a base64 string";
    case "string":
      return "a string";
    case "strings":
      return "an array of strings";
    case "role":
      return '"device" or "driver"';
    case "endian":
      return '"le" or "be"';
    case "runs":
      return "an array of [first page, count] pairs";
    case "stats":
      return 'an array of {"tag": n, "val": "0x…"}';
    case "events":
      return 'an array of {"event": "used", "queue": n} or {"event": "config"}';
  }
}

function valid(t: FieldType, v: unknown): boolean {
  switch (t) {
    case "hex64":
      return typeof v === "string" && HEX64.test(v);
    case "uint":
      return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= 2 ** 32 - 1;
    case "bool":
      return typeof v === "boolean";
    case "base64":
      return typeof v === "string" && BASE64.test(v) && v.length % 4 === 0;
    case "string":
      return typeof v === "string";
    case "strings":
      return Array.isArray(v) && v.every((x) => typeof x === "string");
    case "role":
      return v === "device" || v === "driver";
    case "endian":
      return v === "le" || v === "be";
    case "runs":
      return Array.isArray(v) &&
        v.every((r) =>
          Array.isArray(r) && r.length === 2 && r.every((x) => Number.isSafeInteger(x) && x >= 0)
        );
    case "events":
      return Array.isArray(v) &&
        v.every((e) =>
          typeof e === "object" && e !== null &&
          (e.event === "config" ||
            (e.event === "used" && Number.isSafeInteger(e.queue) && e.queue >= 0))
        );
    case "stats":
      return Array.isArray(v) &&
        v.every((s) =>
          typeof s === "object" && s !== null && Number.isSafeInteger(s.tag) &&
          typeof s.val === "string" && HEX64.test(s.val)
        );
  }
}

/** Checks the fields of an object against their definitions; throws a {@link ProtocolViolation}. */
export function checkFields(
  what: string,
  obj: Record<string, unknown>,
  fields: readonly FieldDef[],
): void {
  for (const d of fields) {
    const v = obj[d.name];
    if (v === undefined) {
      if (d.required) {
        throw new ProtocolViolation(
          `${what} has no field '${d.name}' (expected ${describe(d.type)}: ${d.doc})`,
        );
      }
      continue;
    }
    if (!valid(d.type, v)) {
      throw new ProtocolViolation(
        `${what}: field '${d.name}' is ${short(JSON.stringify(v))}, expected ${describe(d.type)}`,
      );
    }
  }
}

function short(s: string | undefined): string {
  const t = s ?? "undefined";
  return t.length <= 60 ? t : `${t.slice(0, 60)}…`;
}

/** A line from a testee, parsed and checked. */
export type TesteeLine =
  | { readonly kind: "reply"; readonly seq: number; readonly outcome: ReplyOutcome }
  | {
    readonly kind: "memory" | "call" | "event";
    readonly op: string;
    readonly msg: Record<string, unknown>;
  };

/** What a reply said. */
export type ReplyOutcome =
  | { readonly result: Record<string, unknown> }
  | { readonly unsupported: string }
  | { readonly errored: string };

/**
 * Parses and checks one line a testee wrote, given the request awaited
 * (`op`, `seq`). Throws a {@link ProtocolViolation} naming the message and
 * the field for anything the protocol does not allow.
 */
export function checkTesteeLine(
  line: string,
  awaiting: { readonly op: string; readonly seq: number; readonly role?: "device" | "driver" },
): TesteeLine {
  const role = awaiting.role ?? "device";
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ProtocolViolation(
      `the testee wrote a line that is not JSON while the suite awaited the reply to ${awaiting.op} (seq ${awaiting.seq}): ${
        short(JSON.stringify(line))
      }`,
    );
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ProtocolViolation(
      `the testee wrote ${
        short(line)
      }, expected a JSON object (a reply, a mem.* message or an event)`,
    );
  }
  const o = v as Record<string, unknown>;
  if ("op" in o) {
    const def = typeof o.op === "string" ? messageDef(o.op) : undefined;
    if (
      def === undefined || def.kind === "request" || (def.role !== undefined && def.role !== role)
    ) {
      const allowed = MESSAGES.filter((m) =>
        m.kind !== "request" && (m.role === undefined || m.role === role)
      ).map((m) => m.op);
      throw new ProtocolViolation(
        `the testee sent op ${short(JSON.stringify(o.op))}, expected one of ${
          allowed.join(", ")
        } (a ${role}'s messages) or a reply with "seq"`,
      );
    }
    checkFields(`${def.op} from the testee`, o, def.fields);
    if (def.op === "event") {
      if (o.event !== "used" && o.event !== "config") {
        throw new ProtocolViolation(
          `event from the testee: field 'event' is ${
            short(JSON.stringify(o.event))
          }, expected "used" or "config"`,
        );
      }
      if (o.event === "used" && o.queue === undefined) {
        throw new ProtocolViolation(
          "event from the testee has no field 'queue' (expected an integer: the queue of a used event)",
        );
      }
    }
    return { kind: def.kind as "memory" | "call" | "event", op: def.op, msg: o };
  }
  if (o.seq !== awaiting.seq) {
    throw new ProtocolViolation(
      `the reply's field 'seq' is ${
        short(JSON.stringify(o.seq))
      }, expected ${awaiting.seq} (the seq of the ${awaiting.op} request awaited)`,
    );
  }
  const outcomes = REPLY_OUTCOMES.map((x) => x.name).filter((k) => k in o);
  if (outcomes.length !== 1) {
    throw new ProtocolViolation(
      `the reply to ${awaiting.op} (seq ${awaiting.seq}) has ${
        outcomes.length === 0 ? "none" : outcomes.join(" and ")
      } of result, unsupported, errored; expected exactly one`,
    );
  }
  const what = `the reply to ${awaiting.op}`;
  if ("result" in o) {
    const r = o.result;
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      throw new ProtocolViolation(
        `${what}: field 'result' is ${short(JSON.stringify(r))}, expected an object`,
      );
    }
    checkFields(
      `${what}'s result`,
      r as Record<string, unknown>,
      messageDef(awaiting.op)?.result ?? [],
    );
    return { kind: "reply", seq: awaiting.seq, outcome: { result: r as Record<string, unknown> } };
  }
  const key = outcomes[0] as "unsupported" | "errored";
  if (typeof o[key] !== "string" || (o[key] as string).trim() === "") {
    throw new ProtocolViolation(
      `${what}: field '${key}' is ${
        short(JSON.stringify(o[key]))
      }, expected a message (a non-empty string)`,
    );
  }
  return {
    kind: "reply",
    seq: awaiting.seq,
    outcome: key === "unsupported"
      ? { unsupported: o[key] as string }
      : { errored: o[key] as string },
  };
}

/** Pages as a `runs` field: `[first page, count]` pairs, ascending. */
export function runsOf(pages: PageSet | undefined): [number, number][] {
  return pages === undefined ? [] : [...pages.runs()].map((r) => [r.start, r.length]);
}

/** A `runs` field (checked by {@link checkFields}, or absent) as pages. */
export function pagesOf(runs: unknown): PageSet {
  const out = new PageSet();
  for (const [start, count] of (runs as [number, number][] | undefined) ?? []) {
    out.addRange(start, count);
  }
  return out;
}

/** Hex string of a 64-bit value. */
export function hex64(v: bigint | number): string {
  return `0x${BigInt(v).toString(16)}`;
}

interface Base64Codec {
  toBase64(): string;
}
interface Base64Static {
  fromBase64(s: string): Uint8Array;
}

/** Bytes as base64. */
export function toBase64(b: Uint8Array): string {
  return (b as unknown as Base64Codec).toBase64();
}

/** base64 to bytes. */
export function fromBase64(s: string): Uint8Array {
  return (Uint8Array as unknown as Base64Static).fromBase64(s);
}
