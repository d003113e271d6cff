/**
 * Generated driver sequences: fast-check arbitraries that draw a device
 * scenario (features to accept, queue size, guest byte order and a list of
 * steps) from the spec tables — the feature table for what the driver
 * accepts, the `balloon_bmap_hdr` field checks for legal and illegal header
 * values, the `stats_tag` enum for statistics, the `virtio_balloon_config`
 * fields for config writes, `balloon_flag` for misc replies — never from
 * hand-written lists of cases.
 *
 * A sequence is an ordinary {@link DeviceScenario}: the runner runs it as it
 * runs a scripted one, and a reproducer is that scenario as JSON.
 *
 * @module
 */

import fc from "fast-check";
import {
  BALLOON_BMAP_ALIGN_BITS,
  checksFor,
  enumValues,
  type FeatureName,
  featuresOf,
  fieldsOf,
  isLegal,
  PFNS_PER_BMAP,
  type ProfileId,
  structSize,
  VIRTIO_BALLOON_ARRAY_PFNS_MAX,
} from "../../spec/mod.ts";
import type { ChainSpec, DeviceScenario, DeviceStep } from "../model/types.ts";

/** Bytes of a free-page-hint command id buffer (`free_page_hint_cmd`, from the table). */
const FREE_PAGE_HINT_CMD_BYTES = structSize("free_page_hint_cmd");

/** Guest RAM of a generated sequence: 256 MiB in 4 KiB pages (small enough for one QEMU per sequence). */
export const ADVERSARIAL_GUEST_PAGES = 65_536;
/**
 * The pages sequences inflate and deflate: above the low megabytes (ROM and
 * holes on a PC), below the runner's decoy PFNs (12 345 on) and far below the
 * top of RAM, where the suite's allocator places rings and buffers.
 */
export const POOL = { start: 4_096, end: 12_288 } as const;

/** What a target lets a sequence vary. */
export interface SequenceOptions {
  /** The profile of the target. */
  readonly profile: ProfileId;
  /** Guest RAM in pages (default {@link ADVERSARIAL_GUEST_PAGES}). */
  readonly guestPages?: number;
  /**
   * VERSION_1: "any" (the target can be driven both ways), "always" (a
   * modern-only port), "never" (a legacy-only device).
   */
  readonly version1?: "any" | "always" | "never";
  /** Whether a big-endian guest is possible (in-process targets). */
  readonly bigEndian?: boolean;
  /** The most actions after the first negotiation (default 12). */
  readonly maxActions?: number;
  /**
   * The largest statistic value the host side can report exactly (default
   * 2^64 - 1; QEMU's QMP prints JSON numbers, exact up to 2^53 - 1).
   */
  readonly statsMax?: bigint;
}

/** The feature names of a profile, from the feature table. */
function featureList(profile: ProfileId): FeatureName[] {
  return featuresOf(profile).map((f) => f.name);
}

/** A header field's values drawn from its table checks: legal ones and illegal ones. */
function illegalHeaderValue(): fc.Arbitrary<{ field: string; value: string }> {
  const fields = fieldsOf("balloon_bmap_hdr").filter((f) =>
    checksFor(f, "inflate").length > 0 && f.name !== "start_pfn" && f.name !== "bmap_len"
  );
  return fc.constantFrom(...fields).chain((f) => {
    const checks = checksFor(f, "inflate");
    const max = f.type.endsWith("64")
      ? 2n ** 64n - 1n
      : f.type.endsWith("32")
      ? 2n ** 32n - 1n
      : 2n ** 16n - 1n;
    return fc.oneof(fc.bigInt({ min: 0n, max: 64n }), fc.bigInt({ min: 0n, max }))
      .filter((v) => checks.some((c) => !isLegal(c.legal, v)))
      .map((v) => ({ field: f.name, value: v.toString() }));
  });
}

/** A run of pool pages: [first PFN, count]. */
function poolRun(maxLen: number): fc.Arbitrary<[number, number]> {
  return fc.integer({ min: 1, max: maxLen }).chain((n) =>
    fc.integer({ min: POOL.start, max: POOL.end - n }).map((s): [number, number] => [s, n])
  );
}

/** PFN-array entries: a few scattered pool pages, or a run (sometimes past the 256 the driver sends at most). */
function pfnList(): fc.Arbitrary<number[]> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.uniqueArray(fc.integer({ min: POOL.start, max: POOL.end - 1 }), {
        minLength: 1,
        maxLength: 8,
      }),
    },
    {
      weight: 2,
      arbitrary: poolRun(4 * VIRTIO_BALLOON_ARRAY_PFNS_MAX + 100).map(([s, n]) =>
        Array.from({ length: n }, (_, i) => s + i)
      ),
    },
  );
}

/** A PFN-array chain: well-formed, cut short, naming a page past RAM, or with device-writable parts. */
function pfnChain(guestPages: number): fc.Arbitrary<{ chain: ChainSpec; writable?: number[] }> {
  return fc.oneof(
    { weight: 6, arbitrary: pfnList().map((pfns) => ({ chain: { pfns } })) },
    {
      weight: 1,
      arbitrary: fc.tuple(pfnList(), fc.integer({ min: 1, max: 3 })).map(([pfns, cut]) => ({
        chain: { pfns, cut },
      })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(pfnList(), fc.integer({ min: guestPages, max: 2 ** 32 - 1 })).map((
        [pfns, far],
      ) => ({ chain: { pfns: [...pfns, far] } })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(pfnList(), fc.integer({ min: 1, max: 4 })).map(([pfns, n]) => ({
        chain: { pfns },
        writable: [4 * n],
      })),
    },
  );
}

/** Runs of pages for a bitmap, within the pool. */
function bitmapRuns(): fc.Arbitrary<[number, number][]> {
  return fc.array(poolRun(300), { minLength: 1, maxLength: 3 });
}

/** A bitmap chain: well-formed, an illegal header field (from the table), a short chain, a window past RAM. */
function bitmapChain(guestPages: number): fc.Arbitrary<{ chain: ChainSpec }> {
  const align = BALLOON_BMAP_ALIGN_BITS;
  return fc.oneof(
    { weight: 6, arbitrary: bitmapRuns().map((runs) => ({ chain: { bitmap: { runs } } })) },
    {
      weight: 3,
      arbitrary: fc.tuple(bitmapRuns(), illegalHeaderValue()).map(([runs, h]) => ({
        chain: { bitmap: { runs, header: { [h.field]: h.value } } },
      })),
    },
    {
      // bmap_len past the chain, or not a multiple of 8
      weight: 1,
      arbitrary: fc.tuple(bitmapRuns(), fc.integer({ min: 1, max: 64 })).map(([runs, extra]) => ({
        chain: {
          bitmap: { runs, header: { bmap_len: String(roundUp(span(runs), align) / 8 + extra) } },
        },
      })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(bitmapRuns(), fc.integer({ min: 1, max: 40 })).map(([runs, cut]) => ({
        chain: { bitmap: { runs, cut } },
      })),
    },
    {
      // start_pfn not aligned
      weight: 1,
      arbitrary: fc.tuple(bitmapRuns(), fc.integer({ min: 1, max: align - 1 })).map((
        [runs, off],
      ) => ({
        chain: {
          bitmap: {
            runs,
            header: {
              start_pfn: String(Math.floor(minPage(runs) / align) * align + off),
            },
          },
        },
      })),
    },
    {
      // a window that straddles the end of RAM with bits set past it
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 128 }).map((n) => ({
        chain: { bitmap: { runs: [[guestPages - align, align + n]] as [number, number][] } },
      })),
    },
  );
}

function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}
function minPage(runs: readonly (readonly [number, number])[]): number {
  return Math.min(...runs.map((r) => r[0]));
}
/** Pages from the window start (rounded down) to the highest page. */
function span(runs: readonly (readonly [number, number])[]): number {
  const start = Math.floor(minPage(runs) / BALLOON_BMAP_ALIGN_BITS) * BALLOON_BMAP_ALIGN_BITS;
  return Math.max(...runs.map((r) => r[0] + r[1])) - start;
}

/** Stats entries: tags of the `stats_tag` table and tags it does not define, in any order. */
function statsEntries(
  profile: ProfileId,
  max: bigint,
): fc.Arbitrary<{ tag: number; val: string }[]> {
  const known = enumValues("stats_tag", profile).map((t) => t.value);
  // at least one tag a spec defines (the standard profile's table also lists Linux's newer ones)
  const spec = enumValues("stats_tag", profile).filter((t) => !t.nonStandard).map((t) => t.value);
  const unknown = fc.integer({ min: 0, max: 0xffff }).filter((t) => !known.includes(t));
  return fc.uniqueArray(
    fc.record({
      tag: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, {
        weight: 1,
        arbitrary: unknown,
      }),
      val: fc.bigInt({ min: 0n, max }).map(String),
    }),
    { minLength: 1, maxLength: 6, selector: (e) => e.tag },
  ).filter((es) => es.some((e) => spec.includes(e.tag)));
}

/**
 * One generated action: the steps it becomes, given whether the sequence
 * accepts PAGE_BITMAP (chains take the format the driver negotiates, and one
 * in ten the other one), with labels filled in later.
 */
type Action = (bitmap: boolean) => readonly DeviceStep[];

/** Either chain format, by the sequence's PAGE_BITMAP (one in ten the other way). */
function balloonChain(guestPages: number): fc.Arbitrary<
  (bitmap: boolean) => { chain: ChainSpec; writable?: number[] }
> {
  return fc.tuple(pfnChain(guestPages), bitmapChain(guestPages), fc.integer({ min: 0, max: 9 }))
    .map(([p, b, other]) => (bitmap: boolean) => (bitmap !== (other === 0) ? b : p));
}

const SEND_QUEUES = ["inflateq", "deflateq"] as const;

/** Chains made available before DRIVER_OK: inflates and deflates of either format. */
function earlySends(o: Required<SequenceOptions>): fc.Arbitrary<Action>[] {
  return SEND_QUEUES.map((queue) =>
    balloonChain(o.guestPages).map((c): Action => (bitmap) => [{
      do: "send",
      label: "",
      queue,
      chain: c(bitmap).chain,
    }])
  );
}

function actions(o: Required<SequenceOptions>): fc.Arbitrary<Action>[] {
  const { profile, guestPages } = o;
  const driverFields = fieldsOf("virtio_balloon_config", profile);
  const balloon = (queue: "inflateq" | "deflateq") =>
    balloonChain(guestPages).map((f): Action => (bitmap) => {
      const c = f(bitmap);
      return [{
        do: "send",
        label: "",
        queue,
        chain: c.chain,
        ...(c.writable !== undefined ? { writable: c.writable } : {}),
      }];
    });
  const flags = enumValues("balloon_flag").map((f) => f.value);
  const done = enumValues("balloon_flag").find((f) => f.name.endsWith("DONE"))?.value ?? 1;
  const windows = Math.max(1, Math.floor(guestPages / PFNS_PER_BMAP));
  const list: fc.Arbitrary<Action>[] = [
    ...SEND_QUEUES.map((q) => balloon(q)),
    balloon("inflateq"),
    // several inflates made available, then one notification
    fc.array(fc.tuple(pfnList(), bitmapRuns()), { minLength: 2, maxLength: 4 }).map(
      (ls): Action => (bitmap) => [
        ...ls.map(([pfns, runs]): DeviceStep => ({
          do: "send",
          label: "",
          queue: "inflateq",
          chain: bitmap ? { bitmap: { runs } } : { pfns },
          kick: false,
        })),
        { do: "kick", queue: "inflateq" },
      ],
    ),
    // a stats buffer, then the host's request
    statsEntries(profile, o.statsMax).map((stats): Action => () => [
      { do: "send", label: "", queue: "statsq", chain: { stats } },
      { do: "stats" },
    ]),
    fc.integer({ min: 0, max: guestPages }).map((pages): Action => () => [{ do: "target", pages }]),
    fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.boolean()).map(
      ([value, b]): Action => () => [{
        do: "write-actual",
        label: "",
        value,
        ...(b ? { bytewise: true } : {}),
      }],
    ),
    fc.tuple(fc.constantFrom(...SEND_QUEUES), fc.boolean()).map(([queue, on]): Action => () => [{
      do: "suppress",
      queue,
      on,
    }]),
    // config writes of the driver's fields (and of the device's, which it must not take)
    fc.tuple(
      fc.constantFrom(...driverFields.map((f) => f.name).filter((n) => n !== "actual")),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    )
      .map(([field, value]): Action => () => [{ do: "write-config", field, value }]),
    // a reset and a new negotiation
    fc.constant<Action>(() => [{ do: "negotiate" }]),
  ];
  // a misc round, where the profile has a misc queue (the feature table says which)
  if (featuresOf(profile).some((f) => f.queues.includes("miscq"))) {
    list.push(
      // a misc round: the request buffer, the host's request, reply chunks (the last one DONE)
      fc.tuple(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.array(fc.constantFrom(...flags), { maxLength: 2 }),
      ).map(([param, more]): Action => () => [
        { do: "post-request-buffer" },
        { do: "unused", param: param.toString() },
        ...[...more, done].map((flag, i): DeviceStep => ({
          do: "reply",
          label: "",
          flag,
          startPfn: (i % windows) * PFNS_PER_BMAP,
        })),
      ]),
    );
  }
  // free page hinting and reporting, where the feature table has their queues
  const hasQueue = (q: string) => featuresOf(profile).some((f) => f.queues.includes(q as never));
  const runs = fc.array(poolRun(1024), { minLength: 1, maxLength: 2 });
  if (hasQueue("free_page_vq")) {
    list.push(
      fc.constantFrom<Action>(
        () => [{ do: "hint-start" }],
        () => [{ do: "hint-stop" }],
        () => [{ do: "hint-done" }],
      ),
      // a hint round: the id, pages, STOP; or a command id buffer that is not 4 bytes, or stale
      fc.tuple(runs, fc.boolean()).map(([pages, stop]): Action => () => [
        { do: "hint-start" },
        { do: "send", label: "", queue: "free_page_vq", chain: { cmdId: "current" } },
        { do: "send", label: "", queue: "free_page_vq", chain: { none: true }, pages },
        ...(stop
          ? [{ do: "send", label: "", queue: "free_page_vq", chain: { cmdId: "stop" } } as const]
          : []),
      ]),
      fc.tuple(
        fc.constantFrom("current", "stop", "stale") as fc.Arbitrary<"current" | "stop" | "stale">,
        fc.integer({ min: 0, max: 12 }),
      ).map(([cmdId, bytes]): Action => () => [{
        do: "send",
        label: "",
        queue: "free_page_vq",
        chain: bytes === FREE_PAGE_HINT_CMD_BYTES ? { cmdId } : { cmdId, bytes },
      }]),
    );
  }
  if (hasQueue("reporting_vq")) {
    list.push(
      // a report of whole pages; or one with a device-readable part, or a range not whole pages
      fc.tuple(runs, fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 4095 })).map(
        ([pages, kind, odd]): Action => () => [{
          do: "send",
          label: "",
          queue: "reporting_vq",
          ...(kind === 0
            ? { chain: { hex: "00000000" }, pages }
            : kind === 1
            ? { chain: { none: true }, writable: [odd] }
            : { chain: { none: true }, pages }),
        }],
      ),
    );
  }
  return list;
}

/** The features a sequence accepts: any subset of the table, VERSION_1 as the target allows. */
function acceptArb(o: Required<SequenceOptions>): fc.Arbitrary<FeatureName[]> {
  const all = featureList(o.profile);
  const rest = all.filter((f) => f !== "VERSION_1");
  return fc.tuple(fc.subarray(rest), fc.boolean()).map(([sub, v1]) => {
    const version1 = o.version1 === "always" || (o.version1 === "any" && v1);
    return version1 ? [...sub, "VERSION_1" as FeatureName] : sub;
  });
}

/** Labels each send, write-actual and reply `s<step>` (unique), so checks can name them. */
function labelled(steps: readonly DeviceStep[]): DeviceStep[] {
  return steps.map((s, i) =>
    s.do === "send" || s.do === "write-actual" || s.do === "reply"
      ? { ...s, label: `s${i + 1}` }
      : s
  );
}

/** Builds a scenario from its generated parts (also what a reproducer holds). */
export function sequenceScenario(
  profile: ProfileId,
  parts: {
    readonly accept: readonly FeatureName[];
    readonly queueSize?: number;
    readonly guestEndian?: "le" | "be";
    readonly guestPages: number;
    readonly steps: readonly DeviceStep[];
  },
): DeviceScenario {
  return {
    id: "adversarial",
    role: "device",
    profile,
    title: "A generated driver sequence (adversarial mode)",
    guestPages: parts.guestPages,
    accept: parts.accept,
    ...(parts.queueSize === undefined ? {} : { queueSize: parts.queueSize }),
    ...(parts.guestEndian === undefined ? {} : { guestEndian: parts.guestEndian }),
    steps: labelled(parts.steps),
  };
}

/**
 * The arbitrary of sequences against a target: the first step negotiates
 * (DRIVER_OK at once or later), then up to `maxActions` actions.
 */
export function sequenceArbitrary(options: SequenceOptions): fc.Arbitrary<DeviceScenario> {
  const o: Required<SequenceOptions> = {
    guestPages: ADVERSARIAL_GUEST_PAGES,
    version1: "any",
    bigEndian: false,
    maxActions: 12,
    statsMax: 2n ** 64n - 1n,
    ...options,
  };
  return fc.record({
    accept: acceptArb(o),
    // a queue size only the modern interface can set; small ones wrap soon
    queueSize: fc.option(fc.constantFrom(4, 8, 16), { nil: undefined }),
    be: o.bigEndian ? fc.boolean() : fc.constant(false),
    // or DRIVER_OK only after a few buffers were made available
    early: fc.option(fc.array(fc.oneof(...earlySends(o)), { minLength: 1, maxLength: 3 }), {
      nil: undefined,
    }),
    actions: fc.array(fc.oneof(...actions(o)), { maxLength: o.maxActions }),
  }).map((r) => {
    const version1 = r.accept.includes("VERSION_1");
    const bitmap = r.accept.includes("PAGE_BITMAP");
    return sequenceScenario(o.profile, {
      accept: r.accept,
      guestPages: o.guestPages,
      ...(version1 && r.queueSize !== undefined ? { queueSize: r.queueSize } : {}),
      ...(!version1 && r.be ? { guestEndian: "be" as const } : {}),
      steps: [
        ...(r.early === undefined ? [{ do: "negotiate" } as const] : [
          { do: "negotiate", driverOk: false } as const,
          ...r.early.flatMap((a) => a(bitmap)),
          {
            do: "driver-ok",
          } as const,
        ]),
        ...r.actions.flatMap((a) => a(bitmap)),
      ],
    });
  });
}
