/**
 * Exercise 5: the boot page table. Read README.md first.
 *
 * Paging is off while this runs: write the tables physically with
 * machine.ram.write32, then load CR3 and set CR0.PG.
 */
import { CR0, PAGE_SIZE as PAGE, PDE, PTE, hex32 } from "@mm386/hw-i386";
import { DEFAULT_SPLIT, PAGING_ERROR, PagingError, checkSplit } from "@mm386/paging";
import type { BootExercise } from "../../src/exercise-api.js";

const FOUR_MIB = 4 * 1024 * 1024;

export const boot: BootExercise["boot"] = (machine, options) => {
  const split = options.split ?? DEFAULT_SPLIT;
  const kernelLoad = options.kernelLoad ?? 0x10_0000;
  const kernelSize = options.kernelSize ?? 0x10_0000;
  checkSplit(split);
  // TODO 1: refuse a bad kernelLoad or kernelSize (E_BAD_CONFIG).
  // TODO 2: place the directory, the kernel table and the identity table after the image;
  //         refuse what does not fit.
  // TODO 3: clear the three frames, fill both tables, write PDE 0 and PDE split >> 22.
  // TODO 4: load CR3, set CR0.PG, return the BootInfo.
  void [
    machine,
    kernelLoad,
    kernelSize,
    CR0,
    PDE,
    PTE,
    hex32,
    PAGING_ERROR,
    PagingError,
    PAGE,
    FOUR_MIB,
  ];
  throw new PagingError(PAGING_ERROR.BAD_CONFIG, "exercise 5: boot is not written yet");
};
