/**
 * Free page hinting (VIRTIO_BALLOON_F_FREE_PAGE_HINT), as Linux does it: a
 * config change makes the driver read `free_page_hint_cmd_id`; a new id ≥ 2
 * starts a round — one 4-byte out buffer holding the id (B37, B38, B39),
 * then free blocks the driver takes from the allocator, one device-writable
 * descriptor each, while the id stays current (B40, B41), then an out
 * buffer holding STOP (B42). The driver keeps the hinted blocks until the
 * device says DONE and then gives them all back (B46); under memory pressure
 * it gives some back earlier, initialised first (B43, B45).
 *
 * @module
 */

import {
  enumValue,
  fieldOf,
  PageSet,
  readScalar,
  VIRTIO_BALLOON_HINT_BLOCK_ORDER,
} from "../../spec/mod.ts";
import type { TaskBody } from "../scheduler.ts";
import type { DriverCore } from "./core.ts";
import { PAGE, SCRATCH } from "./layout.ts";
import type { DriverQueueUse, PageBlock } from "./seams.ts";
import { queueWork } from "./works.ts";

/** VIRTIO_BALLOON_CMD_ID_STOP. */
export const CMD_ID_STOP: number = enumValue("free_page_hint_cmd_id", "VIRTIO_BALLOON_CMD_ID_STOP");
/** VIRTIO_BALLOON_CMD_ID_DONE. */
export const CMD_ID_DONE: number = enumValue("free_page_hint_cmd_id", "VIRTIO_BALLOON_CMD_ID_DONE");

const CMD_ID = fieldOf("virtio_balloon_config", "free_page_hint_cmd_id");

/** The pages of a block. */
export function blockPages(b: PageBlock): PageSet {
  const p = new PageSet();
  p.addRange(b.pfn, 2 ** b.order);
  return p;
}

/** Reads free_page_hint_cmd_id (little-endian, legacy too: B07). */
function readCmdId(vb: DriverCore): number {
  const view = new DataView(vb.transport.readConfig(CMD_ID.offset, 4).buffer);
  return Number(readScalar(view, 0, CMD_ID.type, "v1"));
}

/** Config change with FREE_PAGE_HINT: note the id the device announces and run the hint work. */
export function hintConfigChanged(vb: DriverCore): void {
  vb.cmdIdReceived = readCmdId(vb);
  queueWork(vb, "hint");
}

/** The hint work (Linux `report_free_page_func`): DONE gives hinted pages back, a new id starts a round. */
export function* hintWork(vb: DriverCore): TaskBody<void> {
  const id = vb.cmdIdReceived;
  if (id === CMD_ID_DONE) {
    if (vb.seams.releasesOnDone()) returnHints(vb, { pages: Infinity, when: "done" });
    return;
  }
  if (id === CMD_ID_STOP || id === vb.hintActive) return;
  const index = vb.roles.get("free_page_vq");
  const q = index === undefined ? undefined : vb.queues.get(index);
  if (index === undefined || q === undefined) return;
  yield* hintRound(vb, { index, q, id });
}

/** Makes an out buffer holding `cmdId` available at a scratch offset (not waited for). */
function sendCmdId(
  vb: DriverCore,
  q: { readonly index: number; readonly q: DriverQueueUse },
  at: { readonly offset: number; readonly cmdId: number },
): void {
  drain(q.q);
  const bytes = vb.seams.hintCmdBytes(at.cmdId);
  const addr = vb.scratch + at.offset;
  vb.write(addr, bytes);
  q.q.vq.add([{ addr, len: bytes.length }], [], "hint-cmd");
  vb.kick(q.index);
}

/** Detaches every used buffer (the device uses hints without writing anything back). */
function drain(q: DriverQueueUse): void {
  while (q.vq.getUsed() !== undefined);
}

/** One round: the start id, free blocks while the id is current, then STOP. */
function* hintRound(
  vb: DriverCore,
  round: { readonly index: number; readonly q: DriverQueueUse; readonly id: number },
): TaskBody<void> {
  const { index, q, id } = round;
  vb.hintActive = id;
  for (let i = 0; i < vb.seams.startIdsPerRound(); i++) {
    sendCmdId(vb, { index, q }, { offset: SCRATCH.hintStart, cmdId: id });
  }
  while (vb.seams.hintsPages() && (!vb.seams.stopsOnNewId() || vb.cmdIdReceived === id)) {
    drain(q);
    // no retry and no reclaim: a failed allocation means the free memory is all hinted
    const pfn = vb.guest.alloc.allocBlock(VIRTIO_BALLOON_HINT_BLOCK_ORDER, "MOVABLE");
    if (pfn === undefined) break;
    const block = { pfn, order: VIRTIO_BALLOON_HINT_BLOCK_ORDER };
    // one entry stays free for the stop id
    if (q.vq.numFree > 1) {
      const segments = [...vb.seams.hintPages(block).runs()].map((r) => ({
        addr: r.start * PAGE,
        len: r.length * PAGE,
      }));
      q.vq.add([], segments, "hint");
      vb.kick(index);
      vb.hintBlocks.push(block);
    } else {
      vb.guest.alloc.freeBlock(block.pfn, block.order);
    }
    yield { yield: true };
  }
  if (vb.seams.sendsStop()) {
    sendCmdId(vb, { index, q }, { offset: SCRATCH.hintStop, cmdId: CMD_ID_STOP });
  }
}

/**
 * Gives hinted blocks back to the guest, newest first, until at least
 * `pages` pages are back: all of them once the device said DONE (B46), or
 * as many as memory pressure asks for before that, each initialised first
 * (B45). Returns the pages given back.
 */
export function returnHints(
  vb: DriverCore,
  options: { readonly pages: number; readonly when: "done" | "reclaim" },
): number {
  let freed = 0;
  while (freed < options.pages) {
    const b = vb.hintBlocks.pop();
    if (b === undefined) break;
    const pages = blockPages(b);
    if (options.when === "reclaim") vb.seams.poisonFill(pages, "hint");
    vb.guest.alloc.freeBlock(b.pfn, b.order);
    vb.guest.pagesReturned(pages, "hint");
    freed += pages.size;
  }
  return freed;
}

/** The hint shrinker, as an OOM notifier: gives back up to oomPages hinted pages (a task). */
// deno-lint-ignore require-yield
export function* hintShrinker(vb: DriverCore): TaskBody<number> {
  return returnHints(vb, { pages: vb.oomPages, when: "reclaim" });
}
