/**
 * Ring mutants: the reference device as a testee process
 * (`reference_testee.ts`) with one deliberate mistake in how its split
 * virtqueue touches guest memory — a mistake a device with its own ring can
 * make, and an in-process device (whose ring is the suite's code) cannot.
 * Each is a pair of hooks on the testee's remote memory, knowing only the
 * rings the suite set up (`queue.setup`); the cases they must fail are judged
 * from the device's recorded writes (observation `device-writes`) or from
 * what the host did.
 *
 * They run as processes (`deno task testee ring:<deviation>`), so the
 * in-process mutant run of the self-tests does not include them;
 * `ring_mutants_test.ts` runs each and checks it fails every case it
 * declares, and the self-test that every case is failed by some mutant
 * counts those declarations.
 *
 * @module
 */

import {
  type ByteOrder,
  enumValue,
  fieldOf,
  type ProfileId,
  readScalar,
  structSize,
  wireSize,
  writeScalar,
} from "../../../spec/mod.ts";

/** The ring deviations, with what each does wrong. */
export const RING_DEVIATIONS = {
  "write-readable":
    "writes every buffer and descriptor table entry it reads outside the rings back where it read it (the same bytes)",
  "used-idx-first": "writes used.idx before the used element it publishes",
  "used-flags-no-notify":
    "sets used.flags to VIRTQ_USED_F_NO_NOTIFY whenever it publishes used elements, also with EVENT_IDX",
  "used-flags-undefined-bit":
    "sets bit 1 of used.flags, which no spec defines, whenever it publishes used elements",
  "indirect-write-honoured":
    "honours VIRTQ_DESC_F_WRITE on a descriptor pointing to an indirect table: takes every entry of the table for device-writable",
} as const;

/** A ring deviation's name. */
export type RingDeviation = keyof typeof RING_DEVIATIONS;

/** A queue the suite set up, as a ring deviation sees it. */
export interface RingSetup {
  /** Queue size. */
  readonly size: number;
  /** Descriptor table address. */
  readonly desc: number;
  /** Available ring address. */
  readonly avail: number;
  /** Used ring address. */
  readonly used: number;
  /** Byte order of the ring fields. */
  readonly order: ByteOrder;
}

/** Guest memory as a ring deviation reaches it: the testee's own reads and writes. */
export interface MemoryAccess {
  /** Reads guest memory. */
  read(addr: number, len: number): Uint8Array;
  /** Writes guest memory. */
  write(addr: number, data: Uint8Array): void;
}

/** What a deviation puts between the device and guest memory. */
export interface RingHooks {
  /** A read of the device, served through `base`. */
  read(addr: number, len: number, base: MemoryAccess): Uint8Array;
  /** A write of the device, made through `base`. */
  write(addr: number, data: Uint8Array, base: MemoryAccess): void;
}

const DESC_SIZE = structSize("virtq_desc");
const DESC_ADDR = fieldOf("virtq_desc", "addr");
const DESC_LEN = fieldOf("virtq_desc", "len");
const DESC_FLAGS = fieldOf("virtq_desc", "flags");
const USED_HDR = structSize("virtq_used_hdr");
const ELEM = structSize("virtq_used_elem");
const USED_FLAGS = fieldOf("virtq_used_hdr", "flags");
const USED_IDX = fieldOf("virtq_used_hdr", "idx");
const F_WRITE = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_WRITE");
const F_INDIRECT = enumValue("virtq_desc_flags", "VIRTQ_DESC_F_INDIRECT");
const NO_NOTIFY = enumValue("virtq_used_flags", "VIRTQ_USED_F_NO_NOTIFY");
const AVAIL_HDR = structSize("virtq_avail_hdr");
const ENTRY = 2;

function overlaps(a: number, len: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + len;
}

/** Bytes of a queue's descriptor table, available ring and used ring (with their event fields). */
function rings(q: RingSetup): [number, number][] {
  return [
    [q.desc, DESC_SIZE * q.size],
    [q.avail, AVAIL_HDR + ENTRY * q.size + ENTRY],
    [q.used, USED_HDR + ELEM * q.size + ENTRY],
  ];
}

function encode(type: typeof USED_FLAGS.type, value: number, order: ByteOrder): Uint8Array {
  const b = new Uint8Array(wireSize(type));
  writeScalar(new DataView(b.buffer), 0, type, order, value);
  return b;
}

/** The hooks of `deviation`, over the queues set up so far (the map fills as `queue.setup`s arrive). */
export function ringHooks(
  deviation: RingDeviation,
  queues: ReadonlyMap<number, RingSetup>,
): RingHooks {
  const plain: RingHooks = {
    read: (addr, len, base) => base.read(addr, len),
    write: (addr, data, base) => base.write(addr, data),
  };
  const usedIdxOf = (addr: number, len: number) =>
    [...queues.values()].find((q) =>
      overlaps(addr, len, q.used + USED_IDX.offset, wireSize(USED_IDX.type))
    );
  switch (deviation) {
    case "write-readable":
      return {
        ...plain,
        read: (addr, len, base) => {
          const b = base.read(addr, len);
          const inRings = [...queues.values()].some((q) =>
            rings(q).some(([at, n]) => overlaps(addr, len, at, n))
          );
          if (!inRings && len > 0) base.write(addr, b);
          return b;
        },
      };
    case "used-idx-first": {
      const held: [number, Uint8Array][] = [];
      return {
        ...plain,
        write: (addr, data, base) => {
          const elems = [...queues.values()].some((q) =>
            overlaps(addr, data.length, q.used + USED_HDR, ELEM * q.size)
          );
          if (elems) {
            held.push([addr, data]);
            return;
          }
          base.write(addr, data);
          if (usedIdxOf(addr, data.length) === undefined) return;
          for (const [at, d] of held.splice(0)) base.write(at, d);
        },
      };
    }
    case "used-flags-no-notify":
    case "used-flags-undefined-bit":
      return {
        ...plain,
        write: (addr, data, base) => {
          base.write(addr, data);
          const q = usedIdxOf(addr, data.length);
          if (q === undefined) return;
          const value = deviation === "used-flags-no-notify" ? NO_NOTIFY : NO_NOTIFY << 1;
          base.write(q.used + USED_FLAGS.offset, encode(USED_FLAGS.type, value, q.order));
        },
      };
    case "indirect-write-honoured": {
      // indirect tables whose descriptor carried WRITE: their entries are read as writable
      const tables: { addr: number; len: number; order: ByteOrder }[] = [];
      return {
        ...plain,
        read: (addr, len, base) => {
          const b = base.read(addr, len);
          if (len !== DESC_SIZE) return b;
          const view = new DataView(b.buffer, b.byteOffset, b.length);
          const field = (f: typeof DESC_FLAGS, order: ByteOrder) =>
            Number(readScalar(view, f.offset, f.type, order));
          const ring = [...queues.values()].find((q) =>
            overlaps(addr, len, q.desc, DESC_SIZE * q.size)
          );
          if (ring !== undefined) {
            const flags = field(DESC_FLAGS, ring.order);
            if ((flags & F_INDIRECT) !== 0 && (flags & F_WRITE) !== 0) {
              tables.push({
                addr: field(DESC_ADDR, ring.order),
                len: field(DESC_LEN, ring.order),
                order: ring.order,
              });
            }
            return b;
          }
          const t = tables.find((x) => addr >= x.addr && addr + len <= x.addr + x.len);
          if (t === undefined) return b;
          const out = b.slice();
          const flags = field(DESC_FLAGS, t.order) | F_WRITE;
          writeScalar(new DataView(out.buffer), DESC_FLAGS.offset, DESC_FLAGS.type, t.order, flags);
          return out;
        },
      };
    }
  }
}

/** A ring mutant: the reference device of a profile with one ring deviation, as a testee. */
export interface RingMutant {
  /** Name: `ring:<deviation>` (profile v3) or `v1x-ring:<deviation>` (virtio-1.x); `deno task testee <name>`. */
  readonly name: string;
  /** What is wrong with it. */
  readonly description: string;
  /** The deviation. */
  readonly deviation: RingDeviation;
  /** The profile of the reference device it deviates from. */
  readonly profile: ProfileId;
  /** Case ids (or prefixes ending in `*`) that must fail on it. */
  readonly kills: readonly string[];
}

const KILLS: Readonly<Record<ProfileId, Readonly<Record<RingDeviation, readonly string[]>>>> = {
  "v3": {
    "write-readable": ["device.ring.readable-not-written.*"],
    "used-idx-first": ["device.ring.used-len-before-idx"],
    "used-flags-no-notify": ["device.ring.used-flags.event-idx"],
    "used-flags-undefined-bit": ["device.ring.used-flags", "device.ring.used-flags.event-idx"],
    "indirect-write-honoured": ["device.ring.indirect-write-flag"],
  },
  "virtio-1.x": {
    "write-readable": [
      "v1x.device.ring.readable-not-written.*",
      "device.hint.readable-not-written",
      "device.report.readable-not-written",
    ],
    "used-idx-first": ["v1x.device.ring.used-len-before-idx"],
    "used-flags-no-notify": ["v1x.device.ring.used-flags.event-idx"],
    "used-flags-undefined-bit": [
      "v1x.device.ring.used-flags",
      "v1x.device.ring.used-flags.event-idx",
    ],
    "indirect-write-honoured": ["v1x.device.ring.indirect-write-flag"],
  },
};

/** Every ring mutant of both profiles. */
export const RING_MUTANTS: readonly RingMutant[] = (["v3", "virtio-1.x"] as const).flatMap((
  profile,
) =>
  (Object.keys(RING_DEVIATIONS) as RingDeviation[]).map((deviation) => ({
    name: `${profile === "v3" ? "ring" : "v1x-ring"}:${deviation}`,
    description: `Reference device (as a testee) that ${RING_DEVIATIONS[deviation]}${
      profile === "v3" ? "" : " (virtio-1.x)"
    }`,
    deviation,
    profile,
    kills: KILLS[profile][deviation],
  }))
);
