/** Exercise 4, reference: PageRangeAllocator of @mm386/allocation. */
import { pageRangeAllocator } from "@mm386/allocation";
import type { PageRangesExercise } from "../../src/exercise-api.js";

export const pageRanges: PageRangesExercise["pageRanges"] = pageRangeAllocator;
