/** Planted mistake: hands out pointers 4 bytes past an 8-aligned payload (alignment 4, not 8). */
import { Malloc } from "@mm386/malloc";
import type { MallocExercise } from "../../../src/exercise-api.js";

export const createMalloc: MallocExercise["createMalloc"] = (kv) => {
  const heap = new Malloc(kv);
  const out = (p: number | null) => (p === null ? null : p + 4);
  return {
    name: "planted misaligned",
    malloc: (n) => out(heap.malloc(n + 4)),
    free: (p) => heap.free(p - 4),
    realloc: (p, n) => (p === 0 ? out(heap.malloc(n + 4)) : out(heap.realloc(p - 4, n + 4))),
  };
};
