/**
 * Planted mistake: a PDE with PS=1 maps a 4 MiB page even when CR4.PSE is 0
 * (the PS bit only means "large page" with PSE on).
 */
import { CR4 } from "@mm386/hw-i386";
import type { PageWalkExercise } from "../../../src/exercise-api.js";
import { walk as reference } from "../reference.js";

export const walk: PageWalkExercise["walk"] = (read, regs, va, access) =>
  reference(read, { ...regs, cr4: regs.cr4 | CR4.PSE }, va, access);
