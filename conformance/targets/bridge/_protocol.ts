/**
 * Private: the messages between {@link ProcessBridge} (main thread) and its
 * worker. Requests go by `postMessage` with their payload in a shared request
 * area; replies come back in a shared reply area, announced by storing the
 * request's sequence number in a control word the main thread waits on with
 * `Atomics.wait` (it cannot receive messages while it blocks).
 *
 * Layout of the control buffer (Int32 words): {@link CTL_SEQ} the sequence
 * number of the last reply written, {@link CTL_HEADER} the byte length of its
 * JSON header, {@link CTL_PAYLOAD} the byte length of its payload. The reply
 * area holds the header, then the payload.
 *
 * A `stdio` channel the main thread reads and writes itself (through named
 * pipes, see `_direct_stdio.ts`) has no requests on the hot path: the worker
 * is its watchdog. Before a blocking read or write the main thread arms a
 * deadline in the watchdog words ({@link WD_STATE}, {@link WD_DEADLINE});
 * when it passes, or the process exits, while armed, the worker marks the
 * state fired (a compare-and-swap, so exactly one of the two threads decides)
 * and unblocks the main thread: a read by writing a wake-up token into the
 * pipe it reads, a write by reading the pipe it writes.
 *
 * @module
 */

/** Control word: sequence number of the last reply. */
export const CTL_SEQ = 0;
/** Control word: header bytes of the last reply. */
export const CTL_HEADER = 1;
/** Control word: payload bytes of the last reply. */
export const CTL_PAYLOAD = 2;
/** Control words in the control buffer. */
export const CTL_WORDS = 4;

/** Watchdog word: generation of the current arming (upper bits) and its state (low 3 bits). */
export const WD_STATE = 0;
/** Watchdog word: deadline of the current arming, ms after {@link DirectSpec.epoch}. */
export const WD_DEADLINE = 1;
/** Watchdog word: sequence number of the last large write the worker finished. */
export const WD_WRITE_SEQ = 2;
/** Watchdog word: 1 when that write failed (the process closed its stdin). */
export const WD_WRITE_FAILED = 3;
/** Watchdog words in the watchdog buffer. */
export const WD_WORDS = 4;
/** Watchdog state: nothing armed. */
export const WD_IDLE = 0;
/** Watchdog state: the main thread is (about to be) blocked reading. */
export const WD_READ = 1;
/** Watchdog state: the main thread is (about to be) blocked writing. */
export const WD_WRITE = 2;
/** Watchdog state: the deadline passed (the worker woke the main thread). */
export const WD_TIMEOUT = 3;
/** Watchdog state: the process exited (the worker woke the main thread). */
export const WD_EXIT = 4;
/** Bits of {@link WD_STATE} below the generation. */
export const WD_GEN_SHIFT = 3;
/** Generations wrap at this mask. */
export const WD_GEN_MASK = (1 << 28) - 1;

/** Bytes of a wake-up token: `\0 ESC`, 16 random hex digits, kind, 8 hex digits, `\0`. */
export const TOKEN_BYTES = 28;
/** Bytes of a token's fixed prefix (`\0 ESC` and the random digits). */
export const TOKEN_PREFIX_BYTES = 18;

/**
 * A wake-up token: `kind` "W" (the watchdog fired for generation `n`) or "D"
 * (the end of what a drain reads, request `n`). No process can write one by
 * chance: its digits are random per bridge.
 */
export function wakeToken(prefix: Uint8Array, kind: "W" | "D", n: number): Uint8Array {
  const t = new Uint8Array(TOKEN_BYTES);
  t.set(prefix);
  t[TOKEN_PREFIX_BYTES] = kind.charCodeAt(0);
  const digits = (n >>> 0).toString(16).padStart(8, "0");
  for (let i = 0; i < 8; i++) t[TOKEN_PREFIX_BYTES + 1 + i] = digits.charCodeAt(i);
  t[TOKEN_BYTES - 1] = 0;
  return t;
}

/** The main thread's own reads and writes of the `stdio` channel, through two named pipes. */
export interface DirectSpec {
  /** The named pipe that is the process's stdin. */
  readonly stdin: string;
  /** The named pipe that is the process's stdout. */
  readonly stdout: string;
  /** The fixed prefix of this bridge's wake-up tokens ({@link TOKEN_PREFIX_BYTES} bytes). */
  readonly tokenPrefix: Uint8Array;
  /** The watchdog words. */
  readonly watchdog: SharedArrayBuffer;
  /** Epoch ms that {@link WD_DEADLINE} counts from. */
  readonly epoch: number;
}

/** How a channel reaches the process. */
export type ChannelSpec =
  /** The process's stdin (written) and stdout (read). */
  | { readonly name: string; readonly kind: "stdio" }
  /** A unix socket the worker listens on and the process connects to (once). */
  | { readonly name: string; readonly kind: "unix-listen"; readonly path: string };

/** What a `call` reads after writing. */
export type ReadSpec =
  /** Nothing: the write is acknowledged once it is done. */
  | { readonly kind: "none" }
  /** The next `count` lines that are not notices. */
  | { readonly kind: "lines"; readonly count: number }
  /** Exactly `count` bytes. */
  | { readonly kind: "bytes"; readonly count: number };

/** Starts the process. */
export interface OpenRequest {
  /** Request kind. */
  readonly op: "open";
  /** Sequence number. */
  readonly seq: number;
  /** Program. */
  readonly command: string;
  /** Arguments. */
  readonly args: readonly string[];
  /** Extra environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Working directory. */
  readonly cwd: string | undefined;
  /** Channels to the process. */
  readonly channels: readonly ChannelSpec[];
  /** When the main thread speaks the stdio channel itself: its pipes and watchdog. */
  readonly direct?: DirectSpec;
  /** Line prefixes that mark asynchronous notices, per channel. */
  readonly noticePrefixes: Readonly<Record<string, readonly string[]>>;
  /** How long the process may take to connect every unix channel. */
  readonly readyTimeoutMs: number;
  /** Bytes of stderr kept. */
  readonly stderrBytes: number;
  /** Shared areas: control words, request payload, reply. */
  readonly control: SharedArrayBuffer;
  /** Request payload area. */
  readonly request: SharedArrayBuffer;
  /** Reply area. */
  readonly reply: SharedArrayBuffer;
}

/** Writes a payload to a channel, then reads. */
export interface CallRequest {
  /** Request kind. */
  readonly op: "call";
  /** Sequence number. */
  readonly seq: number;
  /** Channel name. */
  readonly channel: string;
  /** Bytes of the payload in the request area (0: write nothing). */
  readonly length: number;
  /** What to read after the write. */
  readonly read: ReadSpec;
}

/** Notices and complete lines already received, without waiting. */
export interface DrainRequest {
  /** Request kind. */
  readonly op: "drain";
  /** Sequence number. */
  readonly seq: number;
  /** Channel name. */
  readonly channel: string;
}

/** Process state and stderr tail. */
export interface StatusRequest {
  /** Request kind. */
  readonly op: "status";
  /** Sequence number. */
  readonly seq: number;
}

/** Stops the process by its pid: SIGTERM (and SIGCONT), then SIGKILL after `graceMs`. */
export interface StopRequest {
  /** Request kind. */
  readonly op: "stop";
  /** Sequence number. */
  readonly seq: number;
  /** Grace period before SIGKILL. */
  readonly graceMs: number;
}

/** Sends a signal to the process by its pid (tests: SIGSTOP, SIGCONT). */
export interface SignalRequest {
  /** Request kind. */
  readonly op: "signal";
  /** Sequence number. */
  readonly seq: number;
  /** Signal. */
  readonly signal: Deno.Signal;
}

/** Abandons the pending read of request `seq` (its reply will not be written). */
export interface CancelRequest {
  /** Request kind. */
  readonly op: "cancel";
  /** The request to abandon. */
  readonly seq: number;
}

/**
 * Direct stdio: writes the payload to the process's stdin from the worker, for
 * a payload too large for the main thread to write while it cannot read;
 * done (or failed) is announced in {@link WD_WRITE_SEQ}, not by a reply.
 */
export interface WriteRequest {
  /** Request kind. */
  readonly op: "write";
  /** Sequence number. */
  readonly seq: number;
  /** Bytes of the payload in the request area. */
  readonly length: number;
}

/** Direct stdio: writes drain token `seq` into the process's stdout pipe (no reply). */
export interface TokenRequest {
  /** Request kind. */
  readonly op: "token";
  /** Sequence number (the token's number). */
  readonly seq: number;
}

/** Direct stdio: the process state once its exit status and stderr are in (bounded waits). */
export interface SettleRequest {
  /** Request kind. */
  readonly op: "settle";
  /** Sequence number. */
  readonly seq: number;
}

/** Any request. */
export type BridgeRequest =
  | OpenRequest
  | CallRequest
  | DrainRequest
  | StatusRequest
  | StopRequest
  | SignalRequest
  | CancelRequest
  | WriteRequest
  | TokenRequest
  | SettleRequest;

/** The process as the worker sees it. */
export interface ProcessStatus {
  /** Process id (0 before it started). */
  readonly pid: number;
  /** Whether it has exited. */
  readonly exited: boolean;
  /** Exit code, once exited. */
  readonly code?: number;
  /** Signal that ended it, if any. */
  readonly signal?: string;
  /** The last bytes of its stderr, decoded. */
  readonly stderrTail: string;
}

/** The JSON header of a reply. */
export type ReplyHeader =
  | {
    /** Request answered. */
    readonly seq: number;
    /** Success. */
    readonly ok: true;
    /** Lines in the payload (`lines` reads and drains), joined with newlines. */
    readonly lines?: number;
    /** Notices received since the last reply. */
    readonly notices: readonly string[];
    /** Process state (open, status, stop). */
    readonly status?: ProcessStatus;
    /** Stop: whether the worker is clean to serve another bridge. */
    readonly reusable?: boolean;
  }
  | {
    /** Request answered. */
    readonly seq: number;
    /** Failure. */
    readonly ok: false;
    /** The error kind (a {@link TargetErrorKind}). */
    readonly kind: string;
    /** What happened. */
    readonly message: string;
    /** Partial data received before the failure. */
    readonly received?: string;
    /** Notices received since the last reply. */
    readonly notices: readonly string[];
    /** Process state. */
    readonly status: ProcessStatus;
  };
