/**
 * Planted mistake: maps only the kernel at the split and forgets the
 * identity table (PD[0]). With paging on, the very next instruction fetch,
 * still at the low physical address, would fault.
 */
import { boot as reference } from "@mm386/paging";
import type { BootExercise } from "../../../src/exercise-api.js";

export const boot: BootExercise["boot"] = (machine, options) => {
  const info = reference(machine, options);
  machine.ram.write32(info.pageDirectory, 0);
  machine.mmu.loadCr3(info.pageDirectory); // drop any translation the PDE gave
  return info;
};
