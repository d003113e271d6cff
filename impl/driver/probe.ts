/**
 * virtballoon_probe: the status sequence and feature negotiation (G55a,
 * ), the queues the negotiated features give, the first
 * stats buffer and the misc request buffer before DRIVER_OK (R-04, B26), and
 * the first notifications after it (G57).
 *
 * @module
 */

import {
  featureMask,
  featureNames,
  hasFeature,
  queueLayout,
  VIRTBALLOON_OOM_NOTIFY_PRIORITY,
} from "../../spec/mod.ts";
import { GuestMemory } from "../memory.ts";
import { type TaskBody, WaitQueue } from "../scheduler.ts";
import { STATUS } from "../transport.ts";
import { DriverQueue, ringBytes, ringLayout } from "../virtqueue.ts";
import { oomNotify, towardsTarget } from "./balloon.ts";
import { extendBitmaps } from "./bitmaps.ts";
import type { DriverCore } from "./core.ts";
import { PAGE } from "./layout.ts";
import { postRequestBuffer } from "./misc.ts";
import type { DriverToken } from "./seams.ts";
import { hintShrinker } from "./hints.ts";
import { writePoisonVal } from "./poison.ts";
import { requestReporting } from "./reporting.ts";
import { primeStats } from "./stats.ts";
import { interruptHandlers, queueWork } from "./works.ts";

/** Probes the device: negotiate, set up queues, prime statsq/miscq, DRIVER_OK. */
export function* probe(vb: DriverCore): TaskBody<boolean> {
  const t = vb.transport;
  t.writeStatus(0);
  yield { yield: true }; // let a reset settle before the status sequence
  t.writeStatus(STATUS.ACKNOWLEDGE);
  t.writeStatus(STATUS.ACKNOWLEDGE | STATUS.DRIVER);
  const offered = t.readDeviceFeatures();
  const features = vb.seams.driverFeatures(offered & featureMask(vb.profile, vb.accept));
  t.writeDriverFeatures(features);
  vb.seams.afterFeaturesWritten(features);
  if (vb.seams.setsFeaturesOk()) {
    t.writeStatus(STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK);
    if (!(t.readStatus() & STATUS.FEATURES_OK) && vb.seams.failsWhenRefused()) {
      t.writeStatus(STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FAILED);
      return false;
    }
  }
  vb.seams.afterNegotiation(features);
  vb.negotiated = features;
  vb.features = vb.seams.featuresInUse(features);
  // page_bitmap[0] at probe, for bitmap inflates and for misc replies (as the seed's probe does)
  if (vb.seams.usesBitmaps() || vb.has("MISC_VQ")) extendBitmaps(vb, 1);
  if (!setUpQueues(vb)) return false;
  // scratch pages for headers, PFN arrays, stats, requests and indirect tables
  const scratch = vb.guest.alloc.allocBlock(1, "UNMOVABLE");
  if (scratch === undefined) {
    throw new RangeError("Cannot allocate driver buffers: out of guest memory");
  }
  vb.scratch = GuestMemory.addressOf(scratch);
  t.setInterruptHandlers(interruptHandlers(vb));
  // prime statsq and miscq before DRIVER_OK (R-04, B26), notify after it (G57)
  const statsIdx = vb.roles.get("statsq");
  if (statsIdx !== undefined) primeStats(vb, statsIdx);
  const miscIdx = vb.roles.get("miscq");
  if (miscIdx !== undefined) postRequestBuffer(vb, miscIdx, false);
  vb.unregisterOom = vb.guest.registerOomNotifier(
    "virtio_balloon",
    VIRTBALLOON_OOM_NOTIFY_PRIORITY,
    () => oomNotify(vb),
  );
  // the standard profile: poison_val before DRIVER_OK (B55), hinted pages reclaimable
  // (a shrinker: it runs before the OOM notifiers), reporting after DRIVER_OK (B61)
  if (vb.has("PAGE_POISON") && vb.seams.writesPoisonAtProbe()) {
    writePoisonVal(vb, vb.seams.poisonValue());
  }
  if (vb.has("FREE_PAGE_HINT")) {
    vb.unregisterStandard.push(
      vb.guest.registerOomNotifier(
        "virtio_balloon_free_page_hint",
        VIRTBALLOON_OOM_NOTIFY_PRIORITY + 1,
        () => hintShrinker(vb),
      ),
    );
  }
  t.writeStatus(t.status | STATUS.DRIVER_OK);
  vb.ready = true;
  vb.seams.afterDriverOk();
  for (const i of [statsIdx, miscIdx]) if (i !== undefined) vb.kick(i);
  if (towardsTarget(vb) !== 0) queueWork(vb, "update");
  if (vb.has("PAGE_REPORTING")) {
    vb.unregisterStandard.push(vb.guest.onFree((pages) => {
      // freed again since it was reported: it was allocated meanwhile, so no longer reported
      vb.reported.subtract(pages);
      requestReporting(vb);
    }));
    requestReporting(vb);
  }
  return true;
}

/** Sets up the queues the features in use give; false (and FAILED) when one is missing. */
function setUpQueues(vb: DriverCore): boolean {
  const t = vb.transport;
  const layout = queueLayout(
    vb.profile,
    new Set(featureNames(vb.profile, vb.features)),
    vb.seams.queueIndexModel(),
  );
  const count = vb.seams.queueCount(layout.length);
  const eventIdx = hasFeature(vb.profile, vb.negotiated, "EVENT_IDX");
  const indirect = hasFeature(vb.profile, vb.negotiated, "INDIRECT_DESC");
  for (let n = 0; n < count; n++) {
    const i = layout[n]?.index ?? n;
    const size = t.device.queueMaxSize(i);
    if (size === 0) {
      t.writeStatus(t.status | STATUS.FAILED);
      return false;
    }
    const bytes = ringBytes(size);
    const order = Math.ceil(Math.log2(Math.ceil(bytes / PAGE)));
    const pfn = vb.guest.alloc.allocBlock(order, "UNMOVABLE");
    if (pfn === undefined) throw new RangeError("Cannot allocate a ring: out of guest memory");
    vb.ringBlocks.push({ pfn, order });
    const rl = ringLayout(GuestMemory.addressOf(pfn), size);
    const features = { order: vb.order, eventIdx, indirect };
    t.setupQueue(i, rl, features);
    // a queue the layout does not name (a deviation set up one too many) has no role
    const slot = layout[n] as (typeof layout)[number] | undefined;
    vb.queues.set(i, {
      name: slot?.name ?? "unused",
      vq: new DriverQueue<DriverToken>(
        vb.seams.queueMemory(vb.guest.mem, rl),
        rl,
        vb.seams.queueFeatures(features),
      ),
      acked: new WaitQueue(`acked:${i}`),
    });
    if (slot !== undefined) vb.roles.set(slot.name, i);
  }
  return true;
}
