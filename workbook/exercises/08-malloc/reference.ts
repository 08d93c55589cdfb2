/** Exercise 8, reference: Malloc from @mm386/malloc (segregated fits). */
import { Malloc } from "@mm386/malloc";
import type { MallocExercise } from "../../src/exercise-api.js";

export const createMalloc: MallocExercise["createMalloc"] = (kv) => new Malloc(kv);
