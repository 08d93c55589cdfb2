/**
 * The range allocator's conformance property can fail, and its
 * counterexamples shrink to a few steps a person can read: sequences have no
 * minimum length, so fast-check can drop every step that does not matter.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rangeAllocatorModelProperty } from "../src/conformance.js";
import { FirstFitBitmapAllocator, type UnitRun } from "../src/index.js";

describe("the range allocator model property", () => {
  it("catches an allocator that hands out fewer than min units when fragmented, in <= 5 steps", () => {
    // The planted bug (issue 19's wrong version of exercise 4): when no run
    // of min units is free, hand out the longest shorter one.
    class Short extends FirstFitBitmapAllocator {
      override allocRun(min: number, max: number): UnitRun | null {
        return super.allocRun(min, max) ?? (min > 1 ? super.allocRun(1, max) : null);
      }
    }
    const out = fc.check(
      rangeAllocatorModelProperty((b, n) => new Short(b, n)),
      {
        numRuns: 200,
        seed: 1,
      },
    );
    expect(out.failed).toBe(true);
    expect(out.counterexample![2].length).toBeLessThanOrEqual(5);
  });

  it("catches an allocator whose free of part of a run frees the whole run, in <= 5 steps", () => {
    class Whole extends FirstFitBitmapAllocator {
      private readonly runs = new Map<number, number>();
      override allocRun(min: number, max: number): UnitRun | null {
        const r = super.allocRun(min, max);
        if (r !== null) this.runs.set(r.start, r.count);
        return r;
      }
      override free(start: number, count: number): void {
        const whole = this.runs.get(start);
        if (whole !== undefined && whole > count) {
          this.runs.delete(start);
          super.free(start, whole);
        } else super.free(start, count);
      }
    }
    const out = fc.check(
      rangeAllocatorModelProperty((b, n) => new Whole(b, n)),
      {
        numRuns: 200,
        seed: 2,
      },
    );
    expect(out.failed).toBe(true);
    expect(out.counterexample![2].length).toBeLessThanOrEqual(5);
  });
});
