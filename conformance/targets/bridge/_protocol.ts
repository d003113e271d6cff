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

/** Any request. */
export type BridgeRequest =
  | OpenRequest
  | CallRequest
  | DrainRequest
  | StatusRequest
  | StopRequest
  | SignalRequest
  | CancelRequest;

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
