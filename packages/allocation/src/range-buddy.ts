/**
 * The default range allocator: `@mm386/buddy` behind the {@link RangeAllocator}
 * interface. A run comes from one buddy block, so "as many as possible" is
 * bounded by the largest free block, even where two free blocks happen to be
 * adjacent; that is the price of O(log n) allocation.
 *
 * @module
 */
import { BLOCK_KIND, BuddyAllocator } from "@mm386/buddy";
import {
  ALLOCATION_ERROR,
  AllocationError,
  type RangeAllocator,
  UNIT_STATE,
  type UnitRun,
} from "./api.js";
import { describeValue } from "./values.js";

/** Refuse a min/max pair that is not 1 <= min <= max (shared by the range allocators). @internal */
export function checkMinMax(min: number, max: number): void {
  if (!Number.isSafeInteger(min) || min < 1) {
    throw new AllocationError(
      ALLOCATION_ERROR.BAD_ARGUMENT,
      `min ${describeValue(min)} must be a positive integer`,
    );
  }
  if (!Number.isSafeInteger(max) || max < min) {
    throw new AllocationError(
      ALLOCATION_ERROR.BAD_ARGUMENT,
      `max ${describeValue(max)} must be an integer >= min (${min})`,
    );
  }
}

/** A {@link RangeAllocator} backed by a {@link BuddyAllocator}. */
export class BuddyRangeAllocator implements RangeAllocator {
  readonly name = "buddy";
  readonly complete = false;
  /** The buddy allocator underneath (for its dump and free lists). */
  declare readonly buddy: BuddyAllocator;

  constructor(base: number, count: number) {
    this.buddy = new BuddyAllocator({ base, count });
  }

  get base(): number {
    return this.buddy.base;
  }
  get count(): number {
    return this.buddy.count;
  }
  get freeUnits(): number {
    return this.buddy.unitsFree;
  }

  allocRun(min: number, max: number): UnitRun | null {
    checkMinMax(min, max);
    const n = Math.min(max, this.buddy.largestFree);
    if (n < min) return null;
    const start = this.buddy.alloc(n);
    return start === null ? null : { start, count: n };
  }

  free(start: number, n: number): void {
    this.buddy.free(start, n);
  }

  reserve(start: number, n: number): void {
    this.buddy.reserve(start, n);
  }

  states(): Uint8Array {
    const out = new Uint8Array(this.count);
    for (const b of this.buddy.blocks()) {
      const s =
        b.kind === BLOCK_KIND.FREE
          ? UNIT_STATE.FREE
          : b.kind === BLOCK_KIND.ALLOCATED
            ? UNIT_STATE.ALLOCATED
            : UNIT_STATE.RESERVED;
      out.fill(s, b.start - this.base, b.start - this.base + 2 ** b.order);
    }
    return out;
  }

  check(): void {
    this.buddy.check();
  }
}

/** The default {@link RangeAllocatorFactory}. */
export const buddyRanges = (base: number, count: number): RangeAllocator =>
  new BuddyRangeAllocator(base, count);
