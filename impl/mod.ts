/**
 * The reference implementation: guest memory and page allocator, split
 * virtqueue, transport, balloon driver and device.
 *
 * Not built yet (issue #3); this entry point exports only the version of the
 * spec tables it will follow.
 *
 * @module
 */

/** Profiles the reference implementation is being built for. */
export const IMPL_PROFILES: readonly string[] = ["v3"];
