/** Planted mistake: free checks the pointer but never makes the block available again. */
import { Malloc } from "@mm386/malloc";
import type { MallocExercise } from "../../../src/exercise-api.js";

export const createMalloc: MallocExercise["createMalloc"] = (kv) => {
  const heap = new Malloc(kv);
  const live = new Set<number>();
  return {
    name: "planted never-reuses",
    malloc: (n) => {
      const p = heap.malloc(n);
      if (p !== null) live.add(p);
      return p;
    },
    free: (p) => {
      // Refuses what the reference refuses (it frees nothing we still hold), then leaks.
      if (!live.has(p)) return heap.free(p);
      live.delete(p);
    },
    realloc: (p, n) => {
      live.delete(p);
      const q = heap.realloc(p, n);
      if (q !== null) live.add(q);
      return q;
    },
  };
};
