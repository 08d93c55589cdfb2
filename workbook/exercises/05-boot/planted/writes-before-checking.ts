/**
 * Planted mistake: starts writing the page directory before it has checked
 * every option, so a refused configuration leaves a half-built directory in
 * RAM (the refusal must change nothing).
 */
import { PAGE_SIZE, PDE } from "@mm386/hw-i386";
import { boot as reference } from "@mm386/paging";
import type { BootExercise } from "../../../src/exercise-api.js";

export const boot: BootExercise["boot"] = (machine, options) => {
  const load = options.kernelLoad ?? 0x0010_0000;
  const size = options.kernelSize ?? 0x0010_0000;
  const pd = Math.ceil((load + size) / PAGE_SIZE) * PAGE_SIZE;
  try {
    return reference(machine, options);
  } catch (e) {
    // The identity PDE, written before the check that failed.
    if (Number.isSafeInteger(pd) && pd + 4 <= machine.ram.installedBytes)
      machine.ram.write32(pd, (pd + 2 * PAGE_SIZE) | PDE.P | PDE.RW);
    throw e;
  }
};
