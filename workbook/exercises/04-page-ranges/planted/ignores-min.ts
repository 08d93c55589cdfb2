/**
 * Planted mistake: when no run of `min` pages is free (memory is
 * fragmented), hands out a shorter run instead of null. ppalloc(4, 4) then
 * returns fewer pages than its caller needs (kvmalloc would be blamed).
 */
import { type RangeAllocatorFactory, pageRangeAllocator } from "@mm386/allocation";
import type { PageRangesExercise } from "../../../src/exercise-api.js";

export const pageRanges: PageRangesExercise["pageRanges"] = (label, start, size, factory) => {
  const takeWhatFits: RangeAllocatorFactory = (base, count) => {
    const inner = factory(base, count);
    return new Proxy(inner, {
      get(target, key) {
        if (key === "allocRun")
          return (min: number, max: number) => {
            for (let m = min; m >= 1; m--) {
              const run = target.allocRun(m, max);
              if (run) return run;
            }
            return null;
          };
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
  return pageRangeAllocator(label, start, size, takeWhatFits);
};
