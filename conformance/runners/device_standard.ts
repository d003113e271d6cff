/**
 * What the device runner needs for the standard profile's queues: the bytes
 * of a free_page_vq out buffer (the command id the device shows, STOP, or an
 * id it never issued), device-writable descriptors pointing at guest pages
 * (hints and reports name pages, not buffers), and guest pages the suite
 * fills and reads back (observation `guest-memory`).
 *
 * @module
 */

import {
  type ByteOrder,
  enumValue,
  fieldOf,
  PageSet,
  readScalar,
  structSize,
  VIRTIO_BALLOON_PFN_SHIFT,
  writeScalar,
} from "../../spec/mod.ts";
import type { Segment } from "../../impl/mod.ts";
import type { DevicePort } from "../model/ports.ts";

const PAGE = 1 << VIRTIO_BALLOON_PFN_SHIFT;
const CMD_ID = fieldOf("virtio_balloon_config", "free_page_hint_cmd_id");
const CMD_BYTES = structSize("free_page_hint_cmd");
const CMD_FIELD = fieldOf("free_page_hint_cmd", "cmd_id");
const STOP = enumValue("free_page_hint_cmd_id", "VIRTIO_BALLOON_CMD_ID_STOP");
/** What a "stale" id adds to the current one: an id the device has not issued. */
const STALE_OFFSET = 1000;
/** Bytes the suite samples at the start and at the end of a page it reads back. */
const SAMPLE = 8;

/** Reads free_page_hint_cmd_id as the driver sees it (little-endian: B07). */
export function readCmdId(port: DevicePort): number {
  const b = port.readConfig(CMD_ID.offset, 4);
  return Number(readScalar(new DataView(b.buffer, b.byteOffset), 0, CMD_ID.type, "v1"));
}

/** The bytes of a free_page_vq out buffer: `bytes` long, the id in virtio byte order at its start. */
export function cmdIdBytes(
  port: DevicePort,
  spec: { readonly cmdId: "current" | "stop" | "stale"; readonly bytes?: number },
  order: ByteOrder,
): Uint8Array {
  const id = spec.cmdId === "stop"
    ? STOP
    : (readCmdId(port) + (spec.cmdId === "stale" ? STALE_OFFSET : 0)) >>> 0;
  const out = new Uint8Array(Math.max(CMD_BYTES, spec.bytes ?? CMD_BYTES));
  writeScalar(new DataView(out.buffer), 0, CMD_FIELD.type, order, id);
  return out.subarray(0, spec.bytes ?? CMD_BYTES);
}

/** One device-writable descriptor per [first PFN, count] run. */
export function pageSegments(runs: readonly (readonly [number, number])[]): Segment[] {
  return runs.map(([pfn, n]) => ({ addr: pfn * PAGE, len: n * PAGE }));
}

/** The pages of [first PFN, count] runs. */
export function runPages(runs: readonly (readonly [number, number])[]): PageSet {
  const out = new PageSet();
  for (const [pfn, n] of runs) out.addRange(pfn, n);
  return out;
}

/** Guest pages read back: those still holding what the suite wrote, those reading zeros, the rest. */
export interface ReadBack {
  /** The pages read. */
  readonly pages: PageSet;
  /** Pages that still hold what the suite last wrote there. */
  readonly kept: PageSet;
  /** Pages that read as zeros (and held something else). */
  readonly zeroed: PageSet;
  /** Pages that hold neither. */
  readonly other: PageSet;
}

/** What the suite wrote into guest pages, so that it can tell later whether the device changed them. */
export class GuestContents {
  #port: DevicePort;
  #value = new Map<number, number>();

  /** Tracks writes through a port's guest memory. */
  constructor(port: DevicePort) {
    this.#port = port;
  }

  /** Fills whole pages with a 32-bit value (little-endian words, as guest data). */
  fill(runs: readonly (readonly [number, number])[], value: number): void {
    const page = new Uint8Array(PAGE);
    const v = new DataView(page.buffer);
    for (let i = 0; i < PAGE; i += 4) v.setUint32(i, value >>> 0, true);
    for (const pfn of runPages(runs)) {
      this.#port.memory.write(pfn * PAGE, page, "driver");
      this.#value.set(pfn, value >>> 0);
    }
  }

  /** Reads pages back (8 bytes at each end of each page) and sorts them. */
  readBack(runs: readonly (readonly [number, number])[]): ReadBack {
    const pages = runPages(runs);
    const kept = new PageSet();
    const zeroed = new PageSet();
    const other = new PageSet();
    for (const pfn of pages) {
      const head = this.#port.memory.read(pfn * PAGE, SAMPLE);
      const tail = this.#port.memory.read(pfn * PAGE + PAGE - SAMPLE, SAMPLE);
      const want = this.#value.get(pfn) ?? 0;
      const words = [head, tail].flatMap((b) => {
        const v = new DataView(b.buffer, b.byteOffset);
        return [v.getUint32(0, true), v.getUint32(4, true)];
      });
      if (words.every((w) => w === want)) kept.add(pfn);
      else if (words.every((w) => w === 0)) zeroed.add(pfn);
      else other.add(pfn);
    }
    return { pages, kept, zeroed, other };
  }
}
