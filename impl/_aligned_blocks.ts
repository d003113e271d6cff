/**
 * Decomposition of a PFN range into maximal naturally aligned power-of-two
 * blocks, the shape the buddy allocator keeps free memory in.
 *
 * @module
 */

/**
 * Calls `emit(pfn, order, count)` for the maximal naturally aligned blocks of
 * order at most `maxOrder` that tile `[start, end)`, in ascending order.
 * Consecutive blocks of `maxOrder` come as one call with `count` > 1, so a
 * 1 TiB range costs a handful of calls.
 */
export function forEachAlignedBlock(
  start: number,
  end: number,
  maxOrder: number,
  emit: (pfn: number, order: number, count: number) => void,
): void {
  const maxSize = 2 ** maxOrder;
  let p = start;
  while (p < end) {
    let k = 0;
    while (k < maxOrder && p % (2 ** (k + 1)) === 0) k++;
    while (p + 2 ** k > end) k--;
    if (k === maxOrder) {
      const n = Math.floor((end - p) / maxSize);
      emit(p, k, n);
      p += n * maxSize;
    } else {
      emit(p, k, 1);
      p += 2 ** k;
    }
  }
}
