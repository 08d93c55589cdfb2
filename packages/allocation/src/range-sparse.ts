/**
 * A range allocator that costs what it holds: first fit over sorted lists of
 * intervals, for ranges that are huge and mostly untouched (a user address
 * space's 3 GiB half: 786,431 pages, of which a process uses a few hundred).
 *
 * The buddy allocator keeps per-unit arrays, about 10 bytes a unit: 8 MiB for
 * one user half, 830 MiB of host memory for 100 address spaces. The bitmap
 * allocator keeps 3 bits a unit. This one keeps three interval lists:
 *
 * ```
 *  free:      [s0, e0) [s1, e1) ...   sorted, disjoint, never touching (merged)
 *  reserved:  [s, e) ...              taken out of service
 *  ever:      [s, e) ...              units handed out at least once (to tell a
 *                                     double free from a free of units never
 *                                     handed out); merged, so it stays short
 *  allocated = the range minus free minus reserved
 * ```
 *
 * Its memory is proportional to the number of intervals, not of units.
 * `allocRun` is first fit like {@link FirstFitBitmapAllocator} (take `max`
 * from the first free interval that has `max`, else all of the longest one
 * that has at least `min`), so it is `complete` and hands out exactly what
 * the bitmap would: O(intervals) per call, and frees are O(log intervals) to
 * find plus a splice.
 *
 * @module
 */
import {
  ALLOCATION_ERROR,
  AllocationError,
  type RangeAllocator,
  UNIT_STATE,
  type UnitRun,
} from "./api.js";
import { checkMinMax } from "./range-buddy.js";
import { checkUnitRange, describeValue, hex } from "./values.js";

/** Sorted, disjoint, non-touching half-open intervals `[start, end)` of integers. */
class IntervalSet {
  readonly starts: number[] = [];
  readonly ends: number[] = [];

  get length(): number {
    return this.starts.length;
  }

  /** Index of the first interval whose end is past `x` (the one holding x, or the next). */
  after(x: number): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** The first integer of `[s, e)` in the set, or -1. */
  firstIn(s: number, e: number): number {
    const i = this.after(s);
    return i < this.starts.length && this.starts[i]! < e ? Math.max(this.starts[i]!, s) : -1;
  }

  /** The end of the interval holding `x`, or -1 if `x` is not in the set. */
  endOf(x: number): number {
    const i = this.after(x);
    return i < this.starts.length && this.starts[i]! <= x ? this.ends[i]! : -1;
  }

  /** How many integers of `[s, e)` are in the set. */
  countIn(s: number, e: number): number {
    let n = 0;
    for (let i = this.after(s); i < this.starts.length && this.starts[i]! < e; i++) {
      n += Math.min(this.ends[i]!, e) - Math.max(this.starts[i]!, s);
    }
    return n;
  }

  /** Add `[s, e)`, merging with every interval it overlaps or touches. */
  add(s: number, e: number): void {
    const i = this.after(s - 1); // first interval ending at or after s: touches or overlaps
    let j = i;
    while (j < this.starts.length && this.starts[j]! <= e) j++;
    const ns = i < j ? Math.min(s, this.starts[i]!) : s;
    const ne = i < j ? Math.max(e, this.ends[j - 1]!) : e;
    this.starts.splice(i, j - i, ns);
    this.ends.splice(i, j - i, ne);
  }

  /** Remove `[s, e)`, splitting the intervals it cuts. */
  remove(s: number, e: number): void {
    const i = this.after(s);
    let j = i;
    while (j < this.starts.length && this.starts[j]! < e) j++;
    if (i === j) return;
    const starts: number[] = [];
    const ends: number[] = [];
    if (this.starts[i]! < s) {
      starts.push(this.starts[i]!);
      ends.push(s);
    }
    if (this.ends[j - 1]! > e) {
      starts.push(e);
      ends.push(this.ends[j - 1]!);
    }
    this.starts.splice(i, j - i, ...starts);
    this.ends.splice(i, j - i, ...ends);
  }

  /** Throw E_INVARIANT unless sorted, non-empty, non-touching and inside `[lo, hi)`. */
  check(what: string, lo: number, hi: number): void {
    for (let i = 0; i < this.starts.length; i++) {
      const s = this.starts[i]!;
      const e = this.ends[i]!;
      const next = this.starts[i + 1];
      if (!(s < e) || s < lo || e > hi || (next !== undefined && !(e < next))) {
        throw new AllocationError(
          ALLOCATION_ERROR.INVARIANT,
          `${what} interval ${i} [${hex(s)}, ${hex(e)}) is empty, outside [${hex(lo)}, ${hex(hi)}), or not before the next`,
        );
      }
    }
  }
}

/** A first-fit {@link RangeAllocator} whose memory grows with the runs it holds, not with its range. */
export class SparseRangeAllocator implements RangeAllocator {
  readonly name = "sparse first-fit";
  readonly complete = true;
  declare readonly base: number;
  declare readonly count: number;
  private readonly freeSet = new IntervalSet();
  private readonly reservedSet = new IntervalSet();
  private readonly everSet = new IntervalSet();
  declare private free_: number;

  constructor(base: number, count: number) {
    if (
      !Number.isSafeInteger(base) ||
      !Number.isSafeInteger(count) ||
      count < 1 ||
      count > 2 ** 32 ||
      !Number.isSafeInteger(base + count)
    ) {
      throw new AllocationError(
        ALLOCATION_ERROR.BAD_ARGUMENT,
        `range ${describeValue(base)} + ${describeValue(count)} is not a valid unit range`,
      );
    }
    this.base = base;
    this.count = count;
    this.freeSet.add(base, base + count);
    this.free_ = count;
  }

  get freeUnits(): number {
    return this.free_;
  }

  /** Intervals held in the three lists: what this allocator's memory grows with. */
  get intervals(): number {
    return this.freeSet.length + this.reservedSet.length + this.everSet.length;
  }

  allocRun(min: number, max: number): UnitRun | null {
    checkMinMax(min, max);
    const { starts, ends } = this.freeSet;
    let best = -1;
    let bestLen = 0;
    for (let i = 0; i < starts.length; i++) {
      const len = ends[i]! - starts[i]!;
      if (len >= max) return this.take(starts[i]!, max);
      if (len > bestLen) [best, bestLen] = [i, len];
    }
    return bestLen >= min ? this.take(starts[best]!, bestLen) : null;
  }

  free(start: number, n: number): void {
    const end = this.checkRange(start, n, "free");
    const f = this.freeSet.firstIn(start, end);
    const r = this.reservedSet.firstIn(start, end);
    const bad = f < 0 ? r : r < 0 ? f : Math.min(f, r);
    if (bad >= 0) {
      const range = `[${hex(start)}, ${hex(end)})`;
      if (bad === r)
        throw new AllocationError(
          ALLOCATION_ERROR.NOT_ALLOCATED,
          `cannot free ${range}: unit ${hex(bad)} is reserved`,
        );
      if (this.everSet.endOf(bad) >= 0)
        throw new AllocationError(
          ALLOCATION_ERROR.DOUBLE_FREE,
          `cannot free ${range}: unit ${hex(bad)} is already free (double free)`,
        );
      throw new AllocationError(
        ALLOCATION_ERROR.NOT_ALLOCATED,
        `cannot free ${range}: unit ${hex(bad)} was never allocated`,
      );
    }
    this.freeSet.add(start, end);
    this.free_ += n;
  }

  reserve(start: number, n: number): void {
    const end = this.checkRange(start, n, "reserve");
    // Every unit must be free or reserved already: walk the two lists, which never overlap.
    for (let x = start; x < end;) {
      const next = Math.max(this.freeSet.endOf(x), this.reservedSet.endOf(x));
      if (next < 0) {
        throw new AllocationError(
          ALLOCATION_ERROR.OVERLAPS_ALLOCATION,
          `cannot reserve [${hex(start)}, ${hex(end)}): unit ${hex(x)} is allocated`,
        );
      }
      x = next;
    }
    const newly = this.freeSet.countIn(start, end);
    this.freeSet.remove(start, end);
    this.reservedSet.add(start, end);
    this.free_ -= newly;
  }

  states(): Uint8Array {
    const out = new Uint8Array(this.count).fill(UNIT_STATE.ALLOCATED);
    for (const [set, state] of [
      [this.freeSet, UNIT_STATE.FREE],
      [this.reservedSet, UNIT_STATE.RESERVED],
    ] as const) {
      for (let i = 0; i < set.length; i++)
        out.fill(state, set.starts[i]! - this.base, set.ends[i]! - this.base);
    }
    return out;
  }

  check(): void {
    const lo = this.base;
    const hi = this.base + this.count;
    this.freeSet.check("free", lo, hi);
    this.reservedSet.check("reserved", lo, hi);
    this.everSet.check("ever allocated", lo, hi);
    let free = 0;
    for (let i = 0; i < this.freeSet.length; i++) {
      const s = this.freeSet.starts[i]!;
      const e = this.freeSet.ends[i]!;
      free += e - s;
      const r = this.reservedSet.firstIn(s, e);
      if (r >= 0)
        throw new AllocationError(
          ALLOCATION_ERROR.INVARIANT,
          `unit ${hex(r)} is both free and reserved`,
        );
    }
    if (free !== this.free_) {
      throw new AllocationError(
        ALLOCATION_ERROR.INVARIANT,
        `the free intervals hold ${free} units, the counter says ${this.free_}`,
      );
    }
  }

  private take(start: number, n: number): UnitRun {
    this.freeSet.remove(start, start + n);
    this.everSet.add(start, start + n);
    this.free_ -= n;
    return { start, count: n };
  }

  private checkRange(start: number, n: number, what: string): number {
    checkUnitRange(this.base, this.count, start, n, what);
    return start + n;
  }
}

/** A {@link RangeAllocatorFactory} for {@link SparseRangeAllocator}: the default under `vpcreate` regions. */
export const sparseRanges = (base: number, count: number): RangeAllocator =>
  new SparseRangeAllocator(base, count);
