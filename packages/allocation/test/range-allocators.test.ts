import { describe, expect, it } from "vitest";
import { describeRangeAllocatorConformance } from "../src/conformance.js";
import {
  BuddyRangeAllocator,
  FirstFitBitmapAllocator,
  buddyRanges,
  firstFitRanges,
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
