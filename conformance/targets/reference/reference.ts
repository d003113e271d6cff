/**
 * Built-in targets: the reference driver and device, the seed's driver as
 * posted, and the mutants (see `mutants.ts`).
 *
 * @module
 */

import {
  AS_POSTED_V3,
  BalloonDevice,
  BalloonDriver,
  type DeviceDeviation,
  type DeviceSeamOverride,
  type DriverDeviation,
  type DriverSeamOverride,
  type GuestAbi,
  type QuirkId,
} from "../../../impl/mod.ts";
import type { FeatureName, ProfileId } from "../../../spec/mod.ts";
import type { DeviceTarget, DriverContext, DriverTarget } from "../../model/types.ts";

/** A driver target built from the reference driver with quirks and deviations. */
export function referenceDriverTarget(
  name: string,
  description: string,
  options: {
    quirks?: readonly QuirkId[];
    deviations?: readonly DriverDeviation[];
    abi?: Partial<GuestAbi>;
    guestEndian?: "le" | "be";
    unsupported?: readonly FeatureName[];
    /** Changes of your own to the reference's decisions (a legal variant, or a mutant). */
    seams?: readonly DriverSeamOverride[];
    profile?: ProfileId;
  } = {},
): DriverTarget {
  const profile = options.profile ?? "v3";
  return {
    kind: "driver",
    name,
    description,
    profile,
    ...(options.quirks && options.quirks.length > 0 ? { defects: [...options.quirks] } : {}),
    ...(options.guestEndian === undefined ? {} : { guestEndian: options.guestEndian }),
    ...(options.unsupported === undefined ? {} : { unsupported: options.unsupported }),
    create(ctx: DriverContext) {
      return new BalloonDriver(ctx.guest, ctx.transport, {
        profile,
        ...(options.abi ? { abi: options.abi } : {}),
        ...(options.quirks ? { quirks: options.quirks } : {}),
        ...(options.deviations ? { deviations: options.deviations } : {}),
        ...(options.seams ? { seams: options.seams } : {}),
        ...(ctx.faults.bitmapLimit === undefined ? {} : { bitmapLimit: ctx.faults.bitmapLimit }),
        ...(ctx.faults.failBitmapAllocation ? { failBitmapAllocation: true } : {}),
      });
    },
  };
}

/** A device target built from the reference device with deviations. */
export function referenceDeviceTarget(
  name: string,
  description: string,
  deviations: readonly DeviceDeviation[] = [],
  options: {
    readonly unsupported?: readonly FeatureName[];
    /** Changes of your own to the reference's decisions (a legal variant, or a mutant). */
    readonly seams?: readonly DeviceSeamOverride[];
    readonly profile?: ProfileId;
  } = {},
): DeviceTarget {
  const profile = options.profile ?? "v3";
  return {
    kind: "device",
    name,
    description,
    profile,
    ...(options.unsupported === undefined ? {} : { unsupported: options.unsupported }),
    create(ctx) {
      return new BalloonDevice({
        profile,
        guestPages: ctx.guestPages,
        deviations,
        ...(options.seams ? { seams: options.seams } : {}),
      });
    },
  };
}

/** The reference driver. */
export const REFERENCE_DRIVER: DriverTarget = referenceDriverTarget(
  "reference-driver",
  "The reference v3 driver (intended semantics)",
);

/** The reference device. */
export const REFERENCE_DEVICE: DeviceTarget = referenceDeviceTarget(
  "reference-device",
  "The reference v3 device",
);

/** The reference driver of the standard profile (virtio-1.x). */
export const REFERENCE_DRIVER_V1X: DriverTarget = referenceDriverTarget(
  "reference-driver-v1x",
  "The reference virtio-1.x driver (free page hinting, page poison, free page reporting)",
  { profile: "virtio-1.x" },
);

/** The reference device of the standard profile (virtio-1.x). */
export const REFERENCE_DEVICE_V1X: DeviceTarget = referenceDeviceTarget(
  "reference-device-v1x",
  "The reference virtio-1.x device (free page hinting, page poison, free page reporting)",
  [],
  { profile: "virtio-1.x" },
);

/** The seed's driver as posted: the reference driver with every quirk on. */
export const V3_AS_POSTED: DriverTarget = referenceDriverTarget(
  "v3-as-posted",
  "The reference driver with every seed quirk on (RESEND v3 as posted)",
  { quirks: [...AS_POSTED_V3] },
);
