/**
 * Exercise 3's checks: the RangeAllocator conformance suite, buddy-specific
 * behaviour worked out by hand, and a booted stack on the allocator.
 */
import { describeRangeAllocatorConformance } from "@mm386/allocation/conformance";
import { createStack } from "@mm386/malloc";
import { describe, expect, it } from "vitest";
import type { BuddyExercise } from "../../src/exercise-api.js";
import { earlierLayers, implLabel, loadExercise } from "../../src/kit.js";

const { buddyRanges } = await loadExercise<BuddyExercise>(3);
const layers = await earlierLayers(3);

describeRangeAllocatorConformance(`exercise 3 (${implLabel(3)})`, buddyRanges);

describe(`exercise 3, buddy behaviour (${implLabel(3)})`, () => {
  it("splits as the README's picture shows: after one unit, the free blocks are 1, 2, 4 and 8", () => {
    const a = buddyRanges(100, 16);
    expect(a.allocRun(1, 1)).toEqual({ start: 100, count: 1 });
    // The free halves left by the split, largest first: each request is served by one exactly.
    expect(a.allocRun(8, 8)).toEqual({ start: 108, count: 8 });
    expect(a.allocRun(4, 4)).toEqual({ start: 104, count: 4 });
    expect(a.allocRun(2, 2)).toEqual({ start: 102, count: 2 });
    expect(a.allocRun(1, 1)).toEqual({ start: 101, count: 1 });
    expect(a.allocRun(1, 1)).toBeNull();
  });

  it("hands out power-of-two runs aligned to their size (offsets from base)", () => {
    const a = buddyRanges(3, 64);
    a.allocRun(1, 1);
    a.allocRun(3, 3);
    for (const n of [4, 8, 2, 16]) {
      const r = a.allocRun(n, n)!;
      expect((r.start - 3) % n, `a run of ${n}`).toBe(0);
    }
    a.check();
  });

  it("coalesces: 64 single units freed in a scrambled order give one 64-unit block back", () => {
    const a = buddyRanges(0, 64);
    const units = Array.from({ length: 64 }, () => a.allocRun(1, 1)!.start);
    for (let i = 0; i < 64; i++) a.free(units[(i * 37) % 64]!, 1);
    a.check();
    expect(a.allocRun(64, 64)).toEqual({ start: 0, count: 64 });
  });

  it("gives the unused tail of an exact-size run back at once", () => {
    const a = buddyRanges(0, 16);
    expect(a.allocRun(5, 5)).toEqual({ start: 0, count: 5 });
    expect(a.freeUnits).toBe(11);
    expect(a.allocRun(8, 8)).toEqual({ start: 8, count: 8 });
    expect(a.allocRun(2, 2)).toEqual({ start: 6, count: 2 });
    expect(a.allocRun(1, 1)).toEqual({ start: 5, count: 1 });
  });
});

describe(`exercise 3 in a booted stack (${implLabel(3)})`, () => {
  it("runs ppalloc, vpalloc, address spaces, kvmalloc and malloc", () => {
    const s = createStack({ ...layers, rangeAllocator: buddyRanges, ramBytes: 16 * 1024 * 1024 });
    const run = s.allocators.ppalloc(4, 4)!;
    expect(run.pages).toBe(4);
    expect(run.start % (4 * 4096)).toBe(0);
    const as = s.paging.createAddressSpace()!;
    expect(s.paging.mapMem(as, run.start, 0x0040_0000, 4, 7)).toBe(true);
    const p = s.heap.malloc(5000)!;
    s.mmu.write32(p + 4996, 42);
    expect(s.mmu.read32(p + 4996)).toBe(42);
    s.allocators.ppfree(run.start, 4);
  });
});
