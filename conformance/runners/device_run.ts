/**
 * What a device scenario's run produced: per chain sent (`SendResult`), per
 * write of `actual` (`HostActualWrite`) and for the whole run (`DeviceRun`),
 * as the device checks read it. Written by `device.ts`.
 *
 * @module
 */

import type { ByteOrder, PageSet, QueueName } from "../../spec/mod.ts";
import type { GuestEnv, LoggedEvent, RingLayout } from "../../impl/mod.ts";
import type { DevicePort } from "../model/ports.ts";
import type { ChainSpec, DeviceScenario } from "../model/types.ts";
import type { SelfReport } from "../targets/reference/device_port.ts";
import type { ReadBack } from "./device_standard.ts";

/** A descriptor the suite placed for a chain: where it sits and what it describes. */
export interface PlacedDescriptor {
  /** In the queue's descriptor table, or in the chain's indirect table. */
  readonly table: "ring" | "indirect";
  /** Guest address of that table. */
  readonly tableAddr: number;
  /** Its index in that table. */
  readonly index: number;
  /** The address it holds. */
  readonly addr: number;
  /** The length it holds. */
  readonly len: number;
  /** The flags it holds (VIRTQ_DESC_F_*). */
  readonly flags: number;
}

/** A queue the suite set up (a reset and a new negotiation set up new ones). */
export interface RingRecord {
  /** The queue. */
  readonly queue: QueueName;
  /** Its index. */
  readonly index: number;
  /** Where its rings are. */
  readonly layout: RingLayout;
  /** Whether EVENT_IDX was negotiated for it. */
  readonly eventIdx: boolean;
  /** How many device writes the port had recorded when it was set up (observation `device-writes`). */
  readonly writesBefore: number;
}

/** What happened to one chain the suite sent. */
export interface SendResult {
  /** The step's label. */
  readonly label: string;
  /** Queue. */
  readonly queue: QueueName;
  /** The chain's readable bytes. */
  readonly bytes: Uint8Array;
  /** Pages the chain names when read as the tables define (undefined when malformed on purpose). */
  readonly pages: PageSet | undefined;
  /** Whether the device used the buffer by the end of the step. */
  used: boolean;
  /** The used length. */
  len: number;
  /** Host balloon before the send. */
  readonly before: PageSet;
  /** Host balloon at the end of the step. */
  after: PageSet;
  /** Whether the change was already visible in the host view when the buffer was used. */
  appliedAtUse: boolean | undefined;
  /** Trace sequence number of the use, if used (in-process self-report). */
  usedSeq: number | undefined;
  /**
   * Guest pages the suite marked before an inflate and read back after it
   * (observation `guest-memory`): the pages the chain names and their
   * neighbours. Undefined when the target has no guest-memory observation.
   */
  readonly watched: PageSet | undefined;
  /** Of the watched pages, those that read as zeros when the suite saw the buffer used. */
  discardedAtUse: PageSet | undefined;
  /** Of the watched pages, those that read as zeros at the end of the step. */
  discarded: PageSet | undefined;
  /** Whether the suite saw the buffer used before it set DRIVER_OK. */
  usedBeforeDriverOk: boolean;
  /** Whether the host (host view or guest memory) had changed by the end of the send step. */
  changedAtSend: boolean;
  /** Whether DRIVER_OK was set when the chain was sent. */
  readonly sentAfterDriverOk: boolean;
  /** What the scenario asked to send. */
  readonly chain: ChainSpec | undefined;
  /** The descriptors the suite placed for it, in chain order (empty when it could not be placed). */
  descriptors: readonly PlacedDescriptor[];
  /** How many device writes the port had recorded when the chain was made available (observation `device-writes`). */
  readonly writesBefore: number;
  /** Stats buffers: the statistics the host reported after the next stats request. */
  statsAfter: readonly { readonly tag: number; readonly val: bigint }[] | undefined;
  /** Used-buffer notifications of its queue from when it was made available to the end of its step. */
  interrupts: number;
  /** The pages the host said it took as hints and reports before the send (observation `host-view`). */
  readonly hostBefore: { readonly hinted: PageSet; readonly reported: PageSet } | undefined;
  /** The same at the end of the step. */
  hostAfter: { readonly hinted: PageSet; readonly reported: PageSet } | undefined;
}

/** What the host reported after the suite wrote `actual`. */
export interface HostActualWrite {
  /** The step's label. */
  readonly label: string;
  /** The value written. */
  readonly value: number;
  /** The host's `actual` before the first write (observation `host-actual`). */
  readonly before: number | undefined;
  /** The host's `actual` after each write (four with `bytewise`, else one). */
  readonly after: readonly (number | undefined)[];
}

/** Everything a device scenario produced. */
export interface DeviceRun {
  /** The scenario. */
  readonly scenario: DeviceScenario;
  /** The target. */
  readonly target: string;
  /** The device port the run went through. */
  readonly port: DevicePort;
  /** What an in-process device reported about itself (absent for devices in other processes). */
  readonly selfReport: SelfReport | undefined;
  /** The in-process trace (transport and device events), empty without a self-report. */
  readonly trace: readonly LoggedEvent[];
  /** Byte order of `virtio*` fields in the conversation (after negotiation). */
  readonly byteOrder: ByteOrder;
  /** The guest model the suite drives (its allocator places rings and buffers). */
  readonly guest: GuestEnv;
  /** Features offered by the device. */
  readonly offered: bigint;
  /** Features the suite wrote. */
  readonly written: bigint;
  /** Whether FEATURES_OK stuck. */
  readonly featuresOk: boolean;
  /** Whether the conversation used the legacy interface. */
  readonly legacy: boolean;
  /** Features negotiated: what the suite wrote, if the device kept FEATURES_OK (or the interface is legacy). */
  readonly negotiated: bigint;
  /** Results per send label. */
  readonly sends: ReadonlyMap<string, SendResult>;
  /** The queues the suite set up, in order. */
  readonly rings: readonly RingRecord[];
  /** Used length of each misc request, in order. */
  readonly requestLens: readonly number[];
  /** Bytes the device wrote into each misc request buffer. */
  readonly requestBytes: readonly Uint8Array[];
  /** Whether dirty logging was on when each request was issued. */
  readonly dirtyAtRequest: readonly boolean[];
  /** Whether each stats request gave the stats buffer back. */
  readonly statsReturned: readonly boolean[];
  /** Config bytes after each target step. */
  readonly configAfterTarget: readonly Uint8Array[];
  /** The suite's writes of `actual`, and what the host made of them. */
  readonly actualWrites: readonly HostActualWrite[];
  /** free_page_hint_cmd_id as the suite read it after each hint step, in order. */
  readonly cmdIds: readonly {
    readonly step: "hint-start" | "hint-stop" | "hint-done";
    readonly value: number;
  }[];
  /** Guest pages read back, per check-guest label. */
  readonly guestChecks: ReadonlyMap<string, ReadBack>;
  /** Errors (exceptions from the device). */
  readonly errors: readonly string[];
  /** Milliseconds. */
  readonly ms: number;
}
