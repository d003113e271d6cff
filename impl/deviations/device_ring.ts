/**
 * Device deviations in how the rings are served and the config space read:
 * chains left available, ring wrap, notification suppression ignored, and
 * `actual` not followed (S-05, G43a, G43b, G44a, G44b, S-12, B24).
 *
 * @module
 */

import { VIRTIO_BALLOON_ARRAY_PFNS_MAX } from "../../spec/mod.ts";
import type { DeviceDeviation } from "../deviations.ts";
import type { DeviceSeamOverride } from "../device/seams.ts";
import { PageSet } from "../../spec/mod.ts";

/** Bytes of one PFN entry. */
const PFN_BYTES = 4;

/** Overrides of the ring and config deviations. */
export const DEVICE_RING_DEVIATIONS: Readonly<
  Partial<Record<DeviceDeviation, DeviceSeamOverride>>
> = {
  "ignore-actual": () => ({ takesActual: () => () => false }),
  "actual-before-msb": () => ({
    takesActual: () => (write) => write.size > 0,
  }),
  // a cap on PFN arrays that acknowledges what it skips (cloud-hypervisor before PR #8177)
  "pfn-cap-256": () => ({
    decodePfns: (base) => (data) =>
      data.length / PFN_BYTES > VIRTIO_BALLOON_ARRAY_PFNS_MAX ? new PageSet() : base(data),
  }),
  "one-chain-per-notify": () => ({
    keepsPopping: (base) => (popped) => popped.now < 1 && base(popped),
  }),
  "stops-at-ring-wrap": () => ({
    keepsPopping: (base) => (popped) => popped.total < popped.size && base(popped),
  }),
  // still ask the ring, so its suppression state moves on as the reference's does
  "notify-always": () => ({
    notifies: (base) => (queue) => {
      base(queue);
      return true;
    },
  }),
  "notify-never": () => ({
    notifies: (base) => (queue) => {
      base(queue);
      return false;
    },
  }),
};
