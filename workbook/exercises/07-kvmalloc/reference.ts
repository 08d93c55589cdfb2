/** Exercise 7, reference: Kvmalloc from @mm386/kvmalloc. */
import { Kvmalloc } from "@mm386/kvmalloc";
import type { KvmallocExercise } from "../../src/exercise-api.js";

export const createKvmalloc: KvmallocExercise["createKvmalloc"] = (paging) => new Kvmalloc(paging);
