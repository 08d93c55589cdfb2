/**
 * Planted mistake: supervisor writes ignore R/W even with CR0.WP=1 (the
 * walk forgets that WP makes the kernel obey read-only pages).
 */
import { CR0 } from "@mm386/hw-i386";
import type { PageWalkExercise } from "../../../src/exercise-api.js";
import { walk as reference } from "../reference.js";

export const walk: PageWalkExercise["walk"] = (read, regs, va, access) =>
  reference(read, { ...regs, cr0: regs.cr0 & ~CR0.WP }, va, access);
