/**
 * The alternative range allocator: a bitmap, first fit.
 *
 * One bit per unit says "in use" (allocated or reserved); a second bitmap
 * says which of those are reserved, a third which units were ever handed out
 * (to tell a double free from a free of never-allocated units).
 *
 * ```
 *  word i of `used`:  bit b = unit base + 32*i + b
 *  allocRun(min, max): scan from the start, whole free or full words at a time;
 *    take max units from the first run that has max free units,
 *    else all of the longest run that has at least min.
 * ```
 *
 * Allocation is O(count / 32); in exchange it finds every free run
 * (`complete`), where the buddy allocator only sees single blocks.
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
import { checkUnitRange, describeValue, hex } from "./values.js";
import { checkMinMax } from "./range-buddy.js";

/** A first-fit {@link RangeAllocator} over a bitmap. */
export class FirstFitBitmapAllocator implements RangeAllocator {
  readonly name = "first-fit bitmap";
  readonly complete = true;
  declare readonly base: number;
  declare readonly count: number;
  declare private readonly used: Uint32Array;
  declare private readonly reserved: Uint32Array;
  declare private readonly ever: Uint32Array;
  declare private free_: number;

  constructor(base: number, count: number) {
    if (
      !Number.isSafeInteger(base) ||
      !Number.isSafeInteger(count) ||
      count < 1 ||
      count > 2 ** 28
    ) {
      throw new AllocationError(
        ALLOCATION_ERROR.BAD_ARGUMENT,
        `range ${describeValue(base)} + ${describeValue(count)} is not a valid unit range`,
      );
    }
    this.base = base;
    this.count = count;
    const words = Math.ceil(count / 32);
    this.used = new Uint32Array(words);
    this.reserved = new Uint32Array(words);
    this.ever = new Uint32Array(words);
    // Units past the end of the last word are permanently in use.
    const tail = count % 32;
    if (tail !== 0) this.used[words - 1] = ~((1 << tail) - 1) >>> 0;
    this.free_ = count;
  }

  get freeUnits(): number {
    return this.free_;
  }

  allocRun(min: number, max: number): UnitRun | null {
    checkMinMax(min, max);
    let bestStart = -1;
    let bestLen = 0;
    let runStart = -1;
    const used = this.used;
    for (let w = 0; w < used.length; w++) {
      const word = used[w]!;
      if (word === 0xffff_ffff) {
        if (runStart >= 0) {
          const len = w * 32 - runStart;
          if (len > bestLen) [bestStart, bestLen] = [runStart, len];
          runStart = -1;
        }
        continue;
      }
      if (word === 0) {
        if (runStart < 0) runStart = w * 32;
        if (w * 32 + 32 - runStart >= max) return this.take(runStart, max);
        continue;
      }
      for (let b = 0; b < 32; b++) {
        const u = w * 32 + b;
        if ((word >>> b) & 1) {
          if (runStart >= 0) {
            const len = u - runStart;
            if (len > bestLen) [bestStart, bestLen] = [runStart, len];
            runStart = -1;
          }
        } else {
          if (runStart < 0) runStart = u;
          if (u + 1 - runStart >= max) return this.take(runStart, max);
        }
      }
    }
    if (runStart >= 0) {
      const len = used.length * 32 - runStart;
      if (len > bestLen) [bestStart, bestLen] = [runStart, len];
    }
    return bestLen >= min ? this.take(bestStart, Math.min(bestLen, max)) : null;
  }

  free(start: number, n: number): void {
    const o = this.offset(start, n, "free");
    for (let u = o; u < o + n; u++) {
      if (!this.bit(this.used, u) || this.bit(this.reserved, u)) {
        const unit = hex(this.base + u);
        const range = `[${hex(start)}, ${hex(start + n)})`;
        if (this.bit(this.reserved, u))
          throw new AllocationError(
            ALLOCATION_ERROR.NOT_ALLOCATED,
            `cannot free ${range}: unit ${unit} is reserved`,
          );
        if (this.bit(this.ever, u))
          throw new AllocationError(
            ALLOCATION_ERROR.DOUBLE_FREE,
            `cannot free ${range}: unit ${unit} is already free (double free)`,
          );
        throw new AllocationError(
          ALLOCATION_ERROR.NOT_ALLOCATED,
          `cannot free ${range}: unit ${unit} was never allocated`,
        );
      }
    }
    this.setBits(this.used, o, n, false);
    this.free_ += n;
  }

  reserve(start: number, n: number): void {
    const o = this.offset(start, n, "reserve");
    let newly = 0;
    for (let u = o; u < o + n; u++) {
      if (this.bit(this.used, u) && !this.bit(this.reserved, u)) {
        throw new AllocationError(
          ALLOCATION_ERROR.OVERLAPS_ALLOCATION,
          `cannot reserve [${hex(start)}, ${hex(start + n)}): unit ${hex(this.base + u)} is allocated`,
        );
      }
      if (!this.bit(this.used, u)) newly++;
    }
    this.setBits(this.used, o, n, true);
    this.setBits(this.reserved, o, n, true);
    this.free_ -= newly;
  }

  states(): Uint8Array {
    const out = new Uint8Array(this.count);
    for (let u = 0; u < this.count; u++) {
      out[u] = this.bit(this.reserved, u)
        ? UNIT_STATE.RESERVED
        : this.bit(this.used, u)
          ? UNIT_STATE.ALLOCATED
          : UNIT_STATE.FREE;
    }
    return out;
  }

  check(): void {
    let inUse = 0;
    for (let u = 0; u < this.count; u++) {
      if (this.bit(this.reserved, u) && !this.bit(this.used, u)) {
        throw new AllocationError(
          ALLOCATION_ERROR.INVARIANT,
          `unit ${hex(this.base + u)} is reserved but not in use`,
        );
      }
      if (this.bit(this.used, u)) inUse++;
    }
    if (inUse + this.free_ !== this.count) {
      throw new AllocationError(
        ALLOCATION_ERROR.INVARIANT,
        `${inUse} units in use + ${this.free_} free != ${this.count}`,
      );
    }
  }

  private take(o: number, n: number): UnitRun {
    this.setBits(this.used, o, n, true);
    this.setBits(this.ever, o, n, true);
    this.free_ -= n;
    return { start: this.base + o, count: n };
  }

  private offset(start: number, n: number, what: string): number {
    checkUnitRange(this.base, this.count, start, n, what);
    return start - this.base;
  }

  private bit(map: Uint32Array, u: number): boolean {
    return ((map[u >>> 5]! >>> (u & 31)) & 1) === 1;
  }

  private setBits(map: Uint32Array, o: number, n: number, on: boolean): void {
    let u = o;
    const end = o + n;
    while (u < end) {
      const w = u >>> 5;
      const lo = u & 31;
      const hi = Math.min(32, lo + (end - u));
      const mask = (hi === 32 ? 0xffff_ffff : (1 << hi) - 1) & ~((1 << lo) - 1);
      map[w] = on ? (map[w]! | mask) >>> 0 : (map[w]! & ~mask) >>> 0;
      u += hi - lo;
    }
  }
}

/** A {@link RangeAllocatorFactory} for {@link FirstFitBitmapAllocator}. */
export const firstFitRanges = (base: number, count: number): RangeAllocator =>
  new FirstFitBitmapAllocator(base, count);
