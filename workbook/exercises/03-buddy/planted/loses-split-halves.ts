/**
 * Planted mistake: splitting a block forgets its upper halves, which are
 * then neither free nor allocated (the starter completed, takeBlock wrong).
 */
import {
  ALLOCATION_ERROR,
  AllocationError,
  type RangeAllocator,
  UNIT_STATE,
  type UnitRun,
} from "@mm386/allocation";
import type { BuddyExercise } from "../../../src/exercise-api.js";

const { FREE, ALLOCATED, RESERVED } = UNIT_STATE;

class StudentBuddy implements RangeAllocator {
  readonly name = "student buddy";
  readonly complete = false;
  /** Largest order: the biggest block holds 2^maxOrder units. */
  readonly maxOrder: number;
  /** lists[k] = offsets (from base) of the free blocks of order k. */
  readonly lists: Set<number>[];
  /** Per unit: FREE, ALLOCATED or RESERVED. */
  private readonly state: Uint8Array;
  /** Per unit: 1 once it has been allocated (tells a double free from a stray one). */
  private readonly ever: Uint8Array;
  private freeCount: number;

  constructor(
    readonly base: number,
    readonly count: number,
  ) {
    this.maxOrder = Math.floor(Math.log2(count));
    this.lists = Array.from({ length: this.maxOrder + 1 }, () => new Set<number>());
    this.state = new Uint8Array(count);
    this.ever = new Uint8Array(count);
    this.freeCount = count;
    // Cover [0, count) with the largest aligned blocks that fit.
    for (let o = 0; o < count;) {
      let k = this.maxOrder;
      while (o % (1 << k) !== 0 || o + (1 << k) > count) k--;
      this.lists[k]!.add(o);
      o += 1 << k;
    }
  }

  /**
   * Take a free block of exactly `order` off the free lists, splitting a
   * larger one if needed (the unused halves go on the lists). Its offset, or
   * null if no free block of `order` or larger exists.
   */
  private takeBlock(order: number): number | null {
    let k = order;
    while (k <= this.maxOrder && this.lists[k]!.size === 0) k++;
    if (k > this.maxOrder) return null;
    const o = this.lists[k]!.values().next().value!;
    this.lists[k]!.delete(o);
    // The mistake: the upper halves of the split never go back on the lists.
    return o;
  }

  /**
   * Put the free block at offset `o` of `order` back on the free lists,
   * merging it with its buddy as long as the buddy is a free block of the
   * same order.
   */
  private giveBlock(o: number, order: number): void {
    let k = order;
    while (k < this.maxOrder) {
      const b = o ^ (1 << k);
      if (!this.lists[k]!.has(b)) break;
      this.lists[k]!.delete(b);
      o = Math.min(o, b);
      k++;
    }
    this.lists[k]!.add(o);
  }

  // ---------------------------------------------------------------- given

  get freeUnits(): number {
    return this.freeCount;
  }

  allocRun(min: number, max: number): UnitRun | null {
    if (!Number.isSafeInteger(min) || min < 1 || !Number.isSafeInteger(max) || max < min)
      throw new AllocationError(
        ALLOCATION_ERROR.BAD_ARGUMENT,
        `bad run size min ${min} max ${max}`,
      );
    const k = Math.ceil(Math.log2(min));
    if (k > this.maxOrder) return null;
    const o = this.takeBlock(k);
    if (o === null) return null;
    const n = Math.min(max, 1 << k);
    this.state.fill(ALLOCATED, o, o + n);
    this.ever.fill(1, o, o + n);
    this.freeCount -= n;
    // The unused tail goes back at once, unit by unit.
    for (let u = o + n; u < o + (1 << k); u++) this.giveBlock(u, 0);
    return { start: this.base + o, count: n };
  }

  free(start: number, n: number): void {
    const o = this.offset(start, n);
    for (let u = o; u < o + n; u++) {
      if (this.state[u] !== ALLOCATED) {
        const code =
          this.state[u] === FREE && this.ever[u] === 1
            ? ALLOCATION_ERROR.DOUBLE_FREE
            : ALLOCATION_ERROR.NOT_ALLOCATED;
        throw new AllocationError(code, `unit ${this.base + u} is not allocated`);
      }
    }
    for (let u = o; u < o + n; u++) {
      this.state[u] = FREE;
      this.giveBlock(u, 0);
    }
    this.freeCount += n;
  }

  reserve(start: number, n: number): void {
    const o = this.offset(start, n);
    for (let u = o; u < o + n; u++)
      if (this.state[u] === ALLOCATED)
        throw new AllocationError(
          ALLOCATION_ERROR.OVERLAPS_ALLOCATION,
          `unit ${this.base + u} is allocated`,
        );
    for (let u = o; u < o + n; u++) {
      if (this.state[u] !== FREE) continue;
      this.carve(u);
      this.state[u] = RESERVED;
      this.freeCount--;
    }
  }

  states(): Uint8Array {
    return this.state.slice();
  }

  check(): void {
    let listed = 0;
    for (let k = 0; k <= this.maxOrder; k++) {
      for (const o of this.lists[k]!) {
        if (o % (1 << k) !== 0 || o + (1 << k) > this.count)
          throw new AllocationError(
            ALLOCATION_ERROR.INVARIANT,
            `block ${o} of order ${k} is misplaced`,
          );
        for (let u = o; u < o + (1 << k); u++)
          if (this.state[u] !== FREE)
            throw new AllocationError(
              ALLOCATION_ERROR.INVARIANT,
              `free block ${o} holds a used unit ${u}`,
            );
        if (k < this.maxOrder && this.lists[k]!.has(o ^ (1 << k)))
          throw new AllocationError(
            ALLOCATION_ERROR.INVARIANT,
            `buddies ${o} and ${o ^ (1 << k)} were not merged`,
          );
        listed += 1 << k;
      }
    }
    const free = this.state.reduce((a, s) => a + (s === FREE ? 1 : 0), 0);
    if (listed !== free || free !== this.freeCount)
      throw new AllocationError(
        ALLOCATION_ERROR.INVARIANT,
        `free lists hold ${listed} units, ${free} units are free, the count says ${this.freeCount}`,
      );
  }

  /** Remove unit u from the free block that holds it, keeping the rest of the block free. */
  private carve(u: number): void {
    let k = 0;
    while (!this.lists[k]!.has(u & ~((1 << k) - 1))) k++;
    let o = u & ~((1 << k) - 1);
    this.lists[k]!.delete(o);
    while (k > 0) {
      k--;
      const upper = o + (1 << k);
      if (u >= upper) {
        this.lists[k]!.add(o);
        o = upper;
      } else this.lists[k]!.add(upper);
    }
  }

  private offset(start: number, n: number): number {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(n) || n < 1)
      throw new AllocationError(ALLOCATION_ERROR.BAD_ARGUMENT, `bad range ${start} + ${n}`);
    const o = start - this.base;
    if (o < 0 || o + n > this.count)
      throw new AllocationError(
        ALLOCATION_ERROR.OUT_OF_RANGE,
        `[${start}, ${start + n}) is outside [${this.base}, ${this.base + this.count})`,
      );
    return o;
  }
}

export const buddyRanges: BuddyExercise["buddyRanges"] = (base, count) =>
  new StudentBuddy(base, count);
