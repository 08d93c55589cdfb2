/**
 * Exercise 1, reference: `@mm386/hw-i386`'s read-only walk (explainWalk) and
 * the error code its permissions give (faultFor).
 */
import { explainWalk, faultFor } from "@mm386/hw-i386";
import type { PageWalkExercise } from "../../src/exercise-api.js";

export const walk: PageWalkExercise["walk"] = (read, regs, va, access) => {
  const w = explainWalk({ read32: read }, regs, va);
  const error = faultFor(w, regs, { write: access.write, cpl: access.user ? 3 : 0 });
  return error === null ? { ok: true, pa: w.pa!, large: w.large } : { ok: false, errorCode: error };
};
