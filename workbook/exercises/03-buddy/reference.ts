/** Exercise 3, reference: the buddy range allocator of @mm386/allocation. */
import { buddyRanges as reference } from "@mm386/allocation";
import type { BuddyExercise } from "../../src/exercise-api.js";

export const buddyRanges: BuddyExercise["buddyRanges"] = reference;
