/**
 * The conformance suite's data model: cases, scenarios, targets, findings
 * and verdicts.
 *
 * A **scenario** is a scripted interaction (steps) with one target; a
 * **case** checks one thing (citing rule ids) in the result of one scenario,
 * so several cases share one run of a scenario. Cases and scenarios are
 * plain data; checks are named functions in a registry.
 *
 * @module
 */

import type { FeatureName, Level, PageSet, ProfileId, QueueName } from "../../spec/mod.ts";
import type { DeviceModel, GuestEnv, TaskBody, Transport } from "../../impl/mod.ts";
import type { DevicePort, Observation } from "./ports.ts";

/** Which side is under test. */
export type RoleUnderTest = "driver" | "device";

/** A verdict for one case against one target. */
export type Verdict = "pass" | "fail" | "warn" | "unsupported" | "error";

/** A region of bytes to point at in a hexdump. */
export interface Annotation {
  /** Offset of the region. */
  readonly offset: number;
  /** Length of the region. */
  readonly length: number;
  /** Label (field name and value). */
  readonly label: string;
  /** Marks the offending region. */
  readonly bad?: boolean;
}

/** Bytes shown with a failure. */
export interface Evidence {
  /** What the bytes are (e.g. "inflateq chain, head 3"). */
  readonly title: string;
  /** The bytes. */
  readonly bytes: Uint8Array;
  /** Regions to annotate. */
  readonly annotations: readonly Annotation[];
  /** Each label on a line of its own, with its offset (many short regions, e.g. recorded writes). */
  readonly labelLines?: boolean;
}

/** One observation made by a check. */
export interface Finding {
  /** Rule the observation is about. */
  readonly rule: string;
  /** Whether the target kept the rule here. */
  readonly ok: boolean;
  /** What was observed. */
  readonly message: string;
  /** What the rule expects. */
  readonly expected?: string;
  /** What the target did. */
  readonly actual?: string;
  /** Bytes to show. */
  readonly evidence?: Evidence;
  /** What the finding rests on, when the target could offer a choice (device cases). */
  readonly observation?: Observation;
  /**
   * The root observation behind a failing finding, when several cases can
   * fail on the same one (e.g. "the driver never wrote actual"): reports
   * group the failures that share it.
   */
  readonly root?: string;
}

/** A case: one check, citing rules, on the result of one scenario. */
export interface CaseDef {
  /** Stable, human-readable id (`inflate.bitmap.header.page_shift`). */
  readonly id: string;
  /** One-line description. */
  readonly title: string;
  /** Area it belongs to, for grouping: its rule family (see `CASE_FAMILIES`). */
  readonly area: string;
  /** Rule ids it checks. */
  readonly rules: readonly string[];
  /** Profile. */
  readonly profile: ProfileId;
  /** Side under test. */
  readonly role: RoleUnderTest;
  /** Scenario id whose result it checks. */
  readonly scenario: string;
  /** Check id in the registry. */
  readonly check: string;
  /** Parameters of the check (plain JSON). */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Whether the row was generated from the spec tables (else written by hand). */
  readonly generated: boolean;
  /**
   * Features the run must negotiate for the case to be judged (from its
   * scenario, what it sends, and its check); a run that negotiates fewer
   * makes the case `unsupported`.
   */
  readonly needs?: readonly FeatureName[];
  /** Features the other side must offer for the case to be judged (the suite's device, or the device under test). */
  readonly needsOffer?: readonly FeatureName[];
  /**
   * Device cases: the observations the case can rest on (any one suffices);
   * a target that provides none of them makes the case `unsupported`.
   */
  readonly observes?: readonly Observation[];
  /** Device cases of what only the modern interface has: unsupported over a legacy one. */
  readonly needsModern?: boolean;
}

/** A step of a driver scenario (the suite plays the device and the host). */
export type DriverStep =
  | { readonly do: "probe" }
  | { readonly do: "target"; readonly pages: number }
  | { readonly do: "oom" }
  | { readonly do: "stats" }
  | {
    readonly do: "unused";
    readonly param?: string;
    readonly cmd?: number;
    readonly usedLength?: number;
    readonly snapshot?: boolean;
  }
  | { readonly do: "hold"; readonly queues: readonly QueueName[] }
  | { readonly do: "release" }
  | { readonly do: "alloc"; readonly pages: number }
  | { readonly do: "hog"; readonly keepFree: readonly (readonly [number, number])[] }
  | { readonly do: "remove" }
  | { readonly do: "freeze" }
  | { readonly do: "restore" }
  | { readonly do: "migrate-page" }
  | { readonly do: "migrate"; readonly useHints: boolean; readonly dirty?: number }
  | { readonly do: "wait"; readonly ms: number }
  | { readonly do: "hint-start"; readonly stopAfter?: number }
  | { readonly do: "hint-stop" }
  | { readonly do: "hint-done" }
  | { readonly do: "free"; readonly pages?: number };

/** A driver scenario. */
export interface DriverScenario {
  /** Stable id. */
  readonly id: string;
  /** Always "driver". */
  readonly role: "driver";
  /** Profile. */
  readonly profile: ProfileId;
  /** What it exercises. */
  readonly title: string;
  /** Guest RAM in 4 KiB pages. */
  readonly guestPages: number;
  /** Features the suite's device offers. */
  readonly offer: readonly FeatureName[];
  /**
   * Features the scenario exists to exercise: when the run does not
   * negotiate one of them, its cases are `unsupported` (the driver declined
   * it), not judged.
   */
  readonly needs?: readonly FeatureName[];
  /** Queue size the device offers (default 256). */
  readonly queueSize?: number;
  /** Guest byte order (legacy conversations). */
  readonly guestEndian?: "le" | "be";
  /** The guest writes every page the balloon gives back at once. */
  readonly touchOnFree?: boolean;
  /** The value the guest initialises its free pages to (page poisoning), if it does. */
  readonly pagePoison?: number;
  /** Fault injection: bitmaps the driver can get (forces several misc windows). */
  readonly bitmapLimit?: number;
  /** Fault injection: the probe-time bitmap allocation fails. */
  readonly failBitmapAllocation?: boolean;
  /** The device refuses FEATURES_OK. */
  readonly refuseFeatures?: boolean;
  /** Steps. */
  readonly steps: readonly DriverStep[];
}

/** How the suite builds a chain for a device scenario. */
export type ChainSpec =
  | { readonly pfns: readonly number[]; readonly cut?: number }
  | {
    readonly bitmap: {
      /** Pages as [start, length] runs. */
      readonly runs: readonly (readonly [number, number])[];
      /** start_pfn (default: the lowest page rounded down to 64). */
      readonly startPfn?: number;
      /** bmap_len in bytes (default: enough for the highest page, rounded up to 8). */
      readonly bmapLen?: number;
      /** Header fields to override (64-bit ones as decimal strings). */
      readonly header?: Readonly<Record<string, number | string>>;
      /** Bytes to drop from the end of the chain. */
      readonly cut?: number;
    };
  }
  | { readonly stats: readonly { readonly tag: number; readonly val: string }[] }
  | { readonly hex: string }
  | {
    /** A free_page_vq out buffer: the id the config shows now, STOP, or an id never issued. */
    readonly cmdId: "current" | "stop" | "stale";
    /** Its length in bytes (default 4; anything else is malformed on purpose). */
    readonly bytes?: number;
  }
  | { readonly none: true };

/** A step of a device scenario (the suite plays the driver and the host). */
export type DeviceStep =
  | { readonly do: "negotiate"; readonly driverOk?: boolean }
  | { readonly do: "driver-ok" }
  | {
    readonly do: "send";
    readonly label: string;
    readonly queue: QueueName;
    readonly chain: ChainSpec;
    readonly writable?: readonly number[];
    /** Device-writable descriptors pointing at guest pages, one per [first PFN, count] run (hints, reports). */
    readonly pages?: readonly (readonly [number, number])[];
    readonly indirect?: boolean;
    /**
     * With `indirect`: VIRTQ_DESC_F_WRITE set on the descriptor that points to
     * the table, which the device must ignore (G38).
     */
    readonly indirectWriteFlag?: boolean;
    /** Make the chain available without notifying the device (a later `kick` does). */
    readonly kick?: false;
  }
  | { readonly do: "kick"; readonly queue: QueueName }
  | {
    readonly do: "suppress";
    readonly queue: QueueName;
    /** Ask for no used-buffer notifications (true) or for them again (false). */
    readonly on: boolean;
  }
  | {
    readonly do: "write-actual";
    readonly label: string;
    readonly value: number;
    /** One byte at a time, least significant first (a legacy driver may). */
    readonly bytewise?: boolean;
  }
  | { readonly do: "post-request-buffer" }
  | { readonly do: "target"; readonly pages: number }
  | { readonly do: "stats" }
  | { readonly do: "unused"; readonly param: string }
  | {
    readonly do: "reply";
    readonly label: string;
    readonly flag: number;
    readonly startPfn: number;
  }
  | { readonly do: "write-guest"; readonly pfn: number }
  | { readonly do: "write-config"; readonly field: string; readonly value: number }
  | { readonly do: "hint-start" }
  | { readonly do: "hint-stop" }
  | { readonly do: "hint-done" }
  | {
    /** The suite fills guest pages with a 32-bit value (the guest's data, or its poison). */
    readonly do: "fill-guest";
    readonly runs: readonly (readonly [number, number])[];
    readonly value: number;
  }
  | {
    /** The suite reads guest pages back and compares them with what it last wrote there. */
    readonly do: "check-guest";
    readonly label: string;
    readonly runs: readonly (readonly [number, number])[];
  };

/** A device scenario. */
export interface DeviceScenario {
  /** Stable id. */
  readonly id: string;
  /** Always "device". */
  readonly role: "device";
  /** Profile. */
  readonly profile: ProfileId;
  /** What it exercises. */
  readonly title: string;
  /** Guest RAM in 4 KiB pages. */
  readonly guestPages: number;
  /** Features the suite's driver accepts (when offered). */
  readonly accept: readonly FeatureName[];
  /** Guest byte order (legacy conversations). */
  readonly guestEndian?: "le" | "be";
  /** Queue size the suite sets up (default: the device's largest). */
  readonly queueSize?: number;
  /** Steps. */
  readonly steps: readonly DeviceStep[];
}

/** Any scenario. */
export type Scenario = DriverScenario | DeviceScenario;

/** What a driver under test must provide (the reference BalloonDriver does). */
export interface DriverUnderTest {
  /** Probe: negotiate, set up queues, DRIVER_OK (a task). */
  probe(): TaskBody<boolean>;
  /** Remove: deflate everything, reset (a task). */
  remove?(): TaskBody<void>;
  /** Freeze (a task). */
  freeze?(): TaskBody<void>;
  /** Restore (a task). */
  restore?(): TaskBody<boolean>;
  /** Migrate one balloon page (a task). */
  migratePage?(pfn: number): TaskBody<boolean>;
}

/** What the suite gives a driver under test. */
export interface DriverContext {
  /** The guest (memory, allocator, scheduler, OOM notifiers). */
  readonly guest: GuestEnv;
  /** The transport to the suite's device. */
  readonly transport: Transport;
  /** Fault injection requested by the scenario. */
  readonly faults: { readonly bitmapLimit?: number; readonly failBitmapAllocation?: boolean };
  /** The scenario's id (names transcripts of drivers in other processes). */
  readonly scenario?: string;
}

/** Host-side controls of a device under test. */
export interface DeviceHostControls {
  /** Sets num_pages and notifies the driver. */
  setTarget(pages: number): void;
  /** Asks for fresh stats; false if no stats buffer is held. */
  requestStats(): boolean;
  /** Issues GET_UNUSED_PAGES; undefined if no request buffer is available. */
  requestUnusedPages(options: { param?: bigint }): object | undefined;
  /** The 4 KiB pages the host holds in the balloon. */
  readonly ballooned: PageSet;
  /** The latest stats the host kept (unknown tags dropped), if any. */
  readonly lastStats: readonly { readonly tag: number; readonly val: bigint }[] | undefined;
  /** The `actual` the host took from the driver, if the device keeps one (observation `host-actual`). */
  readonly actual?: number;
  /** Starts a free-page-hint round (FREE_PAGE_HINT devices). */
  startHinting?(): object;
  /** Sets the free-page-hint command id to STOP. */
  stopHinting?(): void;
  /** Sets the free-page-hint command id to DONE. */
  finishHinting?(): void;
  /** Free-page-hint rounds, oldest first, with the pages hinted in each. */
  readonly hintRounds?: readonly { readonly hints: PageSet }[];
  /** Every page named by a well-formed report. */
  readonly reported?: PageSet;
}

/** A device under test: a virtio device model plus host controls. */
export type DeviceUnderTest = DeviceModel & DeviceHostControls;

/** A driver target. */
export interface DriverTarget {
  /** "driver". */
  readonly kind: "driver";
  /** Name used on the command line and in reports. */
  readonly name: string;
  /** One line about it. */
  readonly description: string;
  /** Profile it implements. */
  readonly profile: ProfileId;
  /** Features it declares it does not implement: cases needing them are `unsupported`. */
  readonly unsupported?: readonly FeatureName[];
  /** Seed defects it reproduces (for the spec-review table). */
  readonly defects?: readonly string[];
  /** The guest's byte order when a scenario does not ask for one (default little-endian). */
  readonly guestEndian?: "le" | "be";
  /** Builds a fresh driver for one scenario. */
  create(ctx: DriverContext): DriverUnderTest;
  /** How `--target` names it when not by its name (a target loaded from a module: `path#name`). */
  readonly rerunAs?: string;
}

/** A device target. */
export interface DeviceTarget {
  /** "device". */
  readonly kind: "device";
  /** Name. */
  readonly name: string;
  /** One line about it. */
  readonly description: string;
  /** Profile. */
  readonly profile: ProfileId;
  /** Features it declares it does not implement. */
  readonly unsupported?: readonly FeatureName[];
  /**
   * Builds a fresh in-process device for one scenario; the suite puts it
   * behind its own transport. A target provides this or {@link open}.
   */
  create?(ctx: { readonly guestPages: number }): DeviceUnderTest;
  /** Opens a fresh device under test behind its own transport (QEMU, another process). */
  open?(ctx: DeviceOpenContext): DevicePort;
  /** How `--target` names it when not by its name (a target loaded from a module: `path#name`). */
  readonly rerunAs?: string;
}

/** What the suite tells a device target when it opens a device for a scenario. */
export interface DeviceOpenContext {
  /** Guest RAM in 4 KiB pages. */
  readonly guestPages: number;
  /** The guest's byte order (legacy conversations). */
  readonly guestEndian?: "le" | "be";
  /** The scenario's profile. */
  readonly profile: ProfileId;
  /** The scenario's id (for a target's logs and transcripts). */
  readonly scenario?: string;
}

/** Any target. */
export type Target = DriverTarget | DeviceTarget;

/** The result of one case on one target. */
export interface CaseResult {
  /** Case id. */
  readonly case: string;
  /** Target name. */
  readonly target: string;
  /** Verdict. */
  readonly verdict: Verdict;
  /** The strictest level among the broken rules (or the case's level). */
  readonly level: Level;
  /** The findings behind the verdict (the failing ones first). */
  readonly findings: readonly Finding[];
  /** Error message for `error` verdicts, or why it is `unsupported`. */
  readonly message?: string;
  /** Seed defects the failure comes from (targets that reproduce them). */
  readonly defects?: readonly string[];
  /** A command that reruns just this case. */
  readonly rerun: string;
  /** Milliseconds spent (scenario time is shared between its cases). */
  readonly ms: number;
}
