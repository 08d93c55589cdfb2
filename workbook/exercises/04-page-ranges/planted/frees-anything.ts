/**
 * Planted mistake: free does not check that the pages are inside its range
 * (E_FOREIGN) before handing them to the range allocator.
 */
import { pageRangeAllocator } from "@mm386/allocation";
import type { PageRangesExercise } from "../../../src/exercise-api.js";

export const pageRanges: PageRangesExercise["pageRanges"] = (label, start, size, factory) => {
  const inner = pageRangeAllocator(label, start, size, factory);
  return new Proxy(inner, {
    get(target, key) {
      if (key === "free")
        return (at: number, pages: number) => {
          // Out of range: quietly does nothing instead of refusing.
          if (at < target.start || at + pages * 4096 > target.start + target.size) return;
          target.free(at, pages);
        };
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
};
