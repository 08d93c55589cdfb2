import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeRangeAllocatorConformance } from "../src/conformance.js";
import {
  BuddyRangeAllocator,
  FirstFitBitmapAllocator,
  SparseRangeAllocator,
  buddyRanges,
  firstFitRanges,
  sparseRanges,
} from "../src/index.js";

describeRangeAllocatorConformance("buddy", buddyRanges);
describeRangeAllocatorConformance("first-fit bitmap", firstFitRanges);

describe("the two range allocators differ where they should", () => {
  it("first fit finds a run across what would be two buddy blocks; buddy does not", () => {
    // Free units 3..4 only: a run of 2 that is not one aligned buddy block.
    const setUp = <
      T extends { allocRun(a: number, b: number): unknown; free(s: number, n: number): void },
    >(
      a: T,
    ) => {
      a.allocRun(8, 8);
      a.free(3, 2);
      return a;
    };
    expect(setUp(new FirstFitBitmapAllocator(0, 8)).allocRun(2, 2)).toEqual({ start: 3, count: 2 });
    expect(setUp(new BuddyRangeAllocator(0, 8)).allocRun(2, 2)).toBeNull();
  });

  it("first fit takes max from the first run long enough, else the longest run", () => {
    const a = new FirstFitBitmapAllocator(0, 64);
    a.allocRun(64, 64);
    a.free(2, 3); // run of 3 at 2
    a.free(10, 6); // run of 6 at 10
    a.free(20, 4); // run of 4 at 20
    expect(a.allocRun(4, 4)).toEqual({ start: 10, count: 4 }); // first run with 4
    expect(a.allocRun(1, 10)).toEqual({ start: 20, count: 4 }); // none has 10: the longest (4 at 20)
  });

  it("buddy gives as many as its largest free block allows", () => {
    const a = new BuddyRangeAllocator(0, 64);
    a.allocRun(32, 32);
    expect(a.allocRun(1, 100)).toEqual({ start: 32, count: 32 });
  });
});

describeRangeAllocatorConformance("sparse first-fit", sparseRanges);

describe("the sparse allocator", () => {
  type Call = ["alloc", number, number] | ["free", number, number] | ["reserve", number, number];
  const outcome = (f: () => unknown): unknown => {
    try {
      return { ok: f() ?? null };
    } catch (e) {
      return { code: (e as { code?: unknown }).code };
    }
  };

  it("answers every call exactly as the first-fit bitmap does (same runs, same refusals)", () => {
    // The bitmap is an independent implementation of the same first-fit policy: a differential model.
    const call: fc.Arbitrary<Call> = fc.oneof(
      fc.tuple(fc.constant("alloc" as const), fc.integer({ min: 1, max: 9 }), fc.nat({ max: 12 })),
      fc.tuple(fc.constant("free" as const), fc.nat({ max: 140 }), fc.integer({ min: 1, max: 9 })),
      fc.tuple(
        fc.constant("reserve" as const),
        fc.nat({ max: 140 }),
        fc.integer({ min: 1, max: 5 }),
      ),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 130 }),
        fc.array(call, { maxLength: 120 }),
        (count, calls) => {
          const sparse = new SparseRangeAllocator(10, count);
          const bitmap = new FirstFitBitmapAllocator(10, count);
          for (const [kind, a, b] of calls) {
            const run = (x: SparseRangeAllocator | FirstFitBitmapAllocator) =>
              kind === "alloc"
                ? outcome(() => x.allocRun(a, a + b))
                : kind === "free"
                  ? outcome(() => x.free(a, b))
                  : outcome(() => x.reserve(a, b));
            expect(run(sparse)).toEqual(run(bitmap));
            expect(sparse.states()).toEqual(bitmap.states());
            expect(sparse.freeUnits).toBe(bitmap.freeUnits);
            sparse.check();
          }
        },
      ),
      { numRuns: process.env.MM386_DEEP ? 2000 : 60 },
    );
  });

  it("holds a user half (786,431 pages) in a few intervals, not per-page arrays", () => {
    const a = new SparseRangeAllocator(1, 0xc0000 - 1);
    const runs = [];
    for (let i = 0; i < 100; i++) runs.push(a.allocRun(4, 4)!);
    expect(runs[99]).toEqual({ start: 1 + 99 * 4, count: 4 });
    // free: one interval (the rest); ever: one merged interval; nothing reserved.
    expect(a.intervals).toBe(2);
    for (let i = 0; i < 100; i += 2) a.free(runs[i]!.start, 4);
    expect(a.intervals).toBe(51 + 1);
    a.check();
  });
});
