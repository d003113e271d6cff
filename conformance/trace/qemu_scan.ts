/**
 * The first pass over a QEMU trace log: which device is the balloon, which
 * queue pointer has which index, which threads are the guest's, and where
 * each RAMBlock sits in guest memory — what the second pass (`qemu_log.ts`)
 * needs before it can turn lines into events. It keeps counters and maps of
 * devices, queues and threads, never lines.
 *
 * Whose line is it: QEMU's log prefix names the thread. A thread that logs a
 * guest access (a queue notification, a read or write of the balloon's
 * configuration) is a vCPU thread: its status lines are the driver's writes.
 * Every other thread is QEMU's own — the main loop (which logs QMP balloon
 * requests, stats timers, the machine reset at start-up and the status it
 * re-applies when the VM stops or quits), the migration thread — and its
 * status lines are the host's.
 *
 * @module
 */

import { BALLOON_PAGE_SIZE } from "../../spec/mod.ts";
import type { InputProblem } from "./problems.ts";
import { hexNumber, splitQemuLine } from "./qemu_lines.ts";

/** A host-to-guest offset of one RAMBlock, with the guest addresses an inflate showed at it. */
export interface Offset {
  /** Host address minus guest address. */
  readonly delta: number;
  /** Lowest guest address seen at it. */
  min: number;
  /** Highest guest address seen at it. */
  max: number;
}

/** A host range QEMU discarded: its RAMBlock, host address and length. */
export interface Discard {
  /** RAMBlock name. */
  readonly block: string;
  /** Host virtual address (undefined: too large to place). */
  readonly hva: number | undefined;
  /** Bytes. */
  readonly length: number;
}

/**
 * The log cannot be imported as one balloon's trace (several virtio devices
 * and no way to tell which is the balloon, a `vdev` that is not there, or no
 * sign of a balloon at all).
 */
export class QemuImportError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "QemuImportError";
  }
}

/** What the first pass learnt. */
export interface Attribution {
  /** The balloon's vdev pointer (undefined: the log names no device). */
  readonly vdev: string | undefined;
  /** Virtio devices with status lines. */
  readonly devices: readonly string[];
  /** Queue index of each queue pointer (from notifications). */
  readonly vqIndex: ReadonlyMap<string, number>;
  /** Device of each queue pointer (from notifications). */
  readonly vqVdev: ReadonlyMap<string, string>;
  /** Queues virtio_balloon_handle_output ran on (enough of it), whatever their device. */
  readonly balloonVqs: ReadonlySet<string>;
  /** Threads that log guest accesses (vCPUs). */
  readonly guestThreads: ReadonlySet<number>;
  /** Threads that log host requests (the main loop). */
  readonly hostThreads: ReadonlySet<number>;
  /** RAMBlock offsets, by block name. */
  readonly offsets: ReadonlyMap<string, readonly Offset[]>;
  /** Problems the first pass found (a --vdev nothing confirms). */
  readonly problems: readonly InputProblem[];
}

/** Whether a queue is the balloon's: true, false, or undefined when the log cannot tell. */
export function balloonQueue(att: Attribution, vq: string): boolean | undefined {
  const d = att.vqVdev.get(vq);
  if (d !== undefined) return d === att.vdev;
  if (att.balloonVqs.has(vq) || att.devices.length <= 1) return true;
  return undefined;
}

/** Feeds every line of the log, then asks {@link QemuScan.finish} for what it learnt. */
export class QemuScan {
  readonly #vqIndex = new Map<string, number>();
  readonly #vqVdev = new Map<string, string>();
  /** Devices with status lines, and the first line of each. */
  readonly #statusVdevs = new Map<string, number>();
  /** virtio_balloon_handle_output lines seen while an element of each queue was open. */
  readonly #openHits = new Map<string, number>();
  /** virtio_balloon_handle_output lines seen right after a pop of each queue. */
  readonly #outputHits = new Map<string, number>();
  readonly #openPops = new Map<string, string>();
  /** The queues of the open elements, kept as they change (handle_output lines read it). */
  #openVqs: string[] = [];
  #lastPop: string | undefined;
  readonly #guest = new Set<number>();
  readonly #host = new Set<number>();
  #balloonLines = 0;
  /**
   * The guest address of a handle_output line, until its thread's next line: of the
   * last such line (most often the next line is its thread's), else per thread.
   */
  #lastGpa: [number, number] | undefined;
  readonly #pendingGpa = new Map<number, number>();
  readonly #offsets = new Map<string, Offset[]>();

  /** Sees line `n`. */
  line(raw: string, n: number): void {
    const s = splitQemuLine(raw.trimEnd());
    if (s.kind !== "line") return;
    const { tid, name, a } = s;
    if (s.guest) this.#guest.add(tid);
    if (s.host) this.#host.add(tid);
    if (s.balloon) this.#balloonLines++;
    let pending: number | undefined;
    const last = this.#lastGpa;
    if (last !== undefined) {
      this.#lastGpa = undefined;
      if (last[0] === tid) pending = last[1];
      else this.#pendingGpa.set(last[0], last[1]);
    }
    if (pending === undefined && this.#pendingGpa.size > 0) {
      pending = this.#pendingGpa.get(tid);
      this.#pendingGpa.delete(tid);
    }
    switch (name) {
      case "virtio_set_status":
        if (!this.#statusVdevs.has(a[1] as string)) this.#statusVdevs.set(a[1] as string, n);
        break;
      case "virtio_queue_notify":
        this.#vqIndex.set(a[3] as string, Number(a[2]));
        this.#vqVdev.set(a[3] as string, a[1] as string);
        break;
      case "virtqueue_pop":
        this.#openPops.set(`${a[1]}/${a[2]}`, a[1] as string);
        this.#openVqs = [...new Set(this.#openPops.values())];
        this.#lastPop = a[1];
        break;
      case "virtqueue_fill":
        if (this.#openPops.delete(`${a[1]}/${a[2]}`)) {
          this.#openVqs = [...new Set(this.#openPops.values())];
        }
        break;
      case "virtio_balloon_handle_output": {
        for (const vq of this.#openVqs) {
          this.#openHits.set(vq, (this.#openHits.get(vq) ?? 0) + 1);
        }
        if (this.#lastPop !== undefined) {
          this.#outputHits.set(this.#lastPop, (this.#outputHits.get(this.#lastPop) ?? 0) + 1);
        }
        const gpa = hexNumber(a[2] as string);
        if (gpa !== undefined) this.#lastGpa = [tid, gpa];
        break;
      }
      case "ram_block_discard_range": {
        // an inflated page and its discard, the next line of the same thread: the
        // block's host-to-guest offset
        const gpa = pending;
        const hva = hexNumber((a[2] as string).slice(2));
        if (gpa === undefined || hva === undefined) break;
        if (hexNumber((a[3] as string).slice(2)) !== BALLOON_PAGE_SIZE) break;
        const block = a[1] as string;
        const delta = hva - gpa;
        const list = this.#offsets.get(block) ?? [];
        const o = list.find((x) => x.delta === delta);
        if (o === undefined) list.push({ delta, min: gpa, max: gpa });
        else {
          if (gpa < o.min) o.min = gpa;
          if (gpa > o.max) o.max = gpa;
        }
        this.#offsets.set(block, list);
        break;
      }
    }
  }

  /** What the log shows; throws a {@link QemuImportError} when it cannot tell the balloon. */
  finish(vdev?: string): Attribution {
    const devices = [...this.#statusVdevs.keys()];
    if (vdev !== undefined && devices.length > 0 && !this.#statusVdevs.has(vdev)) {
      throw new QemuImportError(
        `vdev ${vdev} does not appear in the log; its virtio devices are ${devices.join(", ")}`,
      );
    }
    // Lines of threads running at once may interleave: a pop of another device between
    // a balloon pop and its handle_output must not make that device the balloon. The
    // balloon is the device whose queues had elements open at the most handle_output
    // lines (then: right before the most); a queue of no known device counts as the
    // balloon's with at least a tenth of the top queue's handle_output lines right
    // after its pops.
    const top = Math.max(0, ...this.#outputHits.values());
    const hitsOf = new Map<string, [number, number]>();
    for (const vq of new Set([...this.#openHits.keys(), ...this.#outputHits.keys()])) {
      const d = this.#vqVdev.get(vq);
      if (d === undefined) continue;
      const [o, l] = hitsOf.get(d) ?? [0, 0];
      hitsOf.set(d, [o + (this.#openHits.get(vq) ?? 0), l + (this.#outputHits.get(vq) ?? 0)]);
    }
    const problems: InputProblem[] = [];
    let balloon = vdev;
    const ranked = [...hitsOf].sort((x, y) => y[1][0] - x[1][0] || y[1][1] - x[1][1]);
    if (balloon === undefined) {
      const [first, second] = ranked;
      const ahead = (x: [number, number], y: [number, number]) =>
        x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
      if (first !== undefined && (second === undefined || ahead(first[1], second[1]))) {
        balloon = first[0];
      } else if (devices.length === 1 && this.#balloonLines > 0) balloon = devices[0];
      else if (devices.length === 1) {
        throw new QemuImportError(
          `the log's one virtio device (${
            devices[0]
          }) is not shown to be a balloon: no virtio_balloon_* line in the log`,
        );
      } else if (devices.length > 1) {
        throw new QemuImportError(
          `the log has ${devices.length} virtio devices (${
            devices.join(", ")
          }) and none of them is shown to be the balloon (by virtio_balloon_handle_output on one of its queues): pass --vdev`,
        );
      }
    } else if (devices.length > 0) {
      // confirmed by handle_output on its queues; not contradicted by handle_output on
      // queues of no known device (their notify is not in the log); else a problem
      const [o, l] = hitsOf.get(balloon) ?? [0, 0];
      const shown = ranked.find(([d]) => d !== balloon);
      const untied = [...this.#outputHits].some(([vq]) => !this.#vqVdev.has(vq));
      if (o + l === 0 && (shown !== undefined || !untied)) {
        problems.push({
          line: this.#statusVdevs.get(balloon) ?? 0,
          message: `--vdev ${balloon}: no virtio_balloon_handle_output line ran on its queues, ${
            shown === undefined
              ? "and the log has none on any device's: nothing confirms it is the balloon"
              : `${shown[1][0] + shown[1][1]} did on device ${
                shown[0]
              }'s: it does not look like the balloon`
          }`,
          affects: "all",
        });
      }
    }
    const balloonVqs = new Set(
      [...this.#outputHits].filter(([vq, n]) =>
        n * 10 >= top &&
        (this.#vqVdev.get(vq) === undefined || this.#vqVdev.get(vq) === balloon)
      ).map(([vq]) => vq),
    );
    return {
      vdev: balloon,
      devices,
      vqIndex: this.#vqIndex,
      vqVdev: this.#vqVdev,
      balloonVqs,
      guestThreads: this.#guest,
      hostThreads: this.#host,
      offsets: this.#offsets,
      problems,
    };
  }
}

/**
 * x86 PC machines (pc, q35) map guest RAM contiguously from guest address 0
 * up to at least 2 GiB; above that the RAMBlock may be split around the PCI
 * hole, at another offset.
 */
const CONTIGUOUS_LOW_RAM = 2 ** 31;

/**
 * The guest address of a discarded host range, when an offset confirms it:
 * the range must lie between the lowest and the highest guest page an inflate
 * showed at that offset (or, for a guest of at most 2 GiB with one offset,
 * inside its RAM), and exactly one offset of the RAMBlock may fit.
 */
export function guestAddress(
  d: Discard,
  where: { readonly offsets: readonly Offset[]; readonly guestBytes: number | undefined },
): number | undefined {
  const { offsets, guestBytes } = where;
  const hva = d.hva;
  if (hva === undefined) return undefined;
  const small = guestBytes !== undefined && guestBytes <= CONTIGUOUS_LOW_RAM &&
    offsets.length === 1;
  const fits = offsets.filter((o) => {
    const gpa = hva - o.delta;
    const end = gpa + d.length;
    // one block from address 0 (a small guest), or inside what this offset's inflates spanned
    return small
      ? gpa >= 0 && end <= (guestBytes as number)
      : gpa >= o.min && end <= o.max + BALLOON_PAGE_SIZE;
  });
  return fits.length === 1 ? hva - (fits[0] as Offset).delta : undefined;
}
