/** Exercise 6, reference: hobbyMapMem from @mm386/paging. */
import { hobbyMapMem } from "@mm386/paging";
import type { MapMemExercise } from "../../src/exercise-api.js";

export const mapMem: MapMemExercise["mapMem"] = hobbyMapMem;
