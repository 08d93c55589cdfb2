/** Exercise 5, reference: boot from @mm386/paging. */
import { boot as reference } from "@mm386/paging";
import type { BootExercise } from "../../src/exercise-api.js";

export const boot: BootExercise["boot"] = reference;
