/**
 * Wire types and byte orders. `le*` fields are always little-endian;
 * `virtio*` fields are little-endian when VERSION_1 is negotiated and
 * guest-native (little- or big-endian) for the legacy interface.
 *
 * @module
 */

/** A scalar wire type of a struct field. */
export type WireType = "u8" | "le16" | "le32" | "le64" | "virtio16" | "virtio32" | "virtio64";

/**
 * The byte order of a conversation: VERSION_1 (always little-endian), or
 * legacy with a little- or big-endian guest.
 */
export type ByteOrder = "v1" | "legacy-le" | "legacy-be";

/** All byte orders, in the order vectors and docs list them. */
export const BYTE_ORDERS: readonly ByteOrder[] = ["v1", "legacy-le", "legacy-be"];

/** Size in bytes of a wire type. */
export function wireSize(type: WireType): 1 | 2 | 4 | 8 {
  switch (type) {
    case "u8":
      return 1;
    case "le16":
    case "virtio16":
      return 2;
    case "le32":
    case "virtio32":
      return 4;
    case "le64":
    case "virtio64":
      return 8;
  }
}

/**
 * Whether a field of this type is little-endian under the given byte order.
 *
 * @example
 * ```ts
 * import { isLittleEndian } from "./wire.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isLittleEndian("le32", "legacy-be"), true);
 * assert.equal(isLittleEndian("virtio32", "legacy-be"), false);
 * assert.equal(isLittleEndian("virtio32", "v1"), true);
 * ```
 */
export function isLittleEndian(type: WireType, order: ByteOrder): boolean {
  if (type.startsWith("le") || type === "u8") return true;
  return order !== "legacy-be";
}

/** Byte order from negotiation facts: VERSION_1 negotiated, and the guest's native endianness. */
export function byteOrderOf(version1: boolean, guestEndian: "le" | "be"): ByteOrder {
  if (version1) return "v1";
  return guestEndian === "le" ? "legacy-le" : "legacy-be";
}

/** Reads an unsigned scalar; 64-bit values come back as bigint. Caller checks bounds. */
export function readScalar(
  view: DataView,
  offset: number,
  type: WireType,
  order: ByteOrder,
): number | bigint {
  const le = isLittleEndian(type, order);
  switch (wireSize(type)) {
    case 1:
      return view.getUint8(offset);
    case 2:
      return view.getUint16(offset, le);
    case 4:
      return view.getUint32(offset, le);
    case 8:
      return view.getBigUint64(offset, le);
  }
}

/** Largest value a wire type can hold. */
export function wireMax(type: WireType): bigint {
  return (1n << BigInt(8 * wireSize(type))) - 1n;
}

/** Writes an unsigned scalar. Throws a RangeError if the value does not fit. */
export function writeScalar(
  view: DataView,
  offset: number,
  type: WireType,
  order: ByteOrder,
  value: number | bigint,
): void {
  const size = wireSize(type);
  const le = isLittleEndian(type, order);
  if (typeof value === "number" && size <= 4) {
    // fast path: no bigint for 8-, 16- and 32-bit fields
    if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * size)) {
      throw new RangeError(
        Number.isInteger(value)
          ? `Cannot encode ${type}: ${value} is outside 0..${2 ** (8 * size) - 1}`
          : `Cannot encode ${type}: ${value} is not an integer`,
      );
    }
    if (size === 1) view.setUint8(offset, value);
    else if (size === 2) view.setUint16(offset, value, le);
    else view.setUint32(offset, value, le);
    return;
  }
  if (typeof value === "number" && !Number.isInteger(value)) {
    throw new RangeError(`Cannot encode ${type}: ${value} is not an integer`);
  }
  const big = typeof value === "bigint" ? value : BigInt(value);
  if (big < 0n || big > wireMax(type)) {
    throw new RangeError(`Cannot encode ${type}: ${value} is outside 0..${wireMax(type)}`);
  }
  switch (size) {
    case 1:
      view.setUint8(offset, Number(big));
      return;
    case 2:
      view.setUint16(offset, Number(big), le);
      return;
    case 4:
      view.setUint32(offset, Number(big), le);
      return;
    case 8:
      view.setBigUint64(offset, big, le);
      return;
  }
}
