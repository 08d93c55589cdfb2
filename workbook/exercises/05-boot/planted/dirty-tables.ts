/**
 * Planted mistake: takes the three boot frames as they are, without zeroing
 * them, and writes only the entries it means to use. Whatever was in RAM
 * stays in the other entries: KT[1023], the window entry, may map garbage.
 */
import { PAGE_SIZE } from "@mm386/hw-i386";
import { boot as reference } from "@mm386/paging";
import type { BootExercise } from "../../../src/exercise-api.js";

export const boot: BootExercise["boot"] = (machine, options) => {
  // Where the reference will put the tables: right after the image.
  const load = options.kernelLoad ?? 0x0010_0000;
  const size = options.kernelSize ?? 0x0010_0000;
  const pd = Math.ceil((load + size) / PAGE_SIZE) * PAGE_SIZE;
  const words = pd + 3 * PAGE_SIZE <= machine.ram.installedBytes ? 3 * 1024 : 0;
  const before = Array.from({ length: words }, (_, i) => machine.ram.read32(pd + 4 * i));
  const info = reference(machine, options);
  // Put back what the reference's zeroing wiped out: the entries it did not mean to write.
  before.forEach((old, i) => {
    if (old !== 0 && machine.ram.read32(pd + 4 * i) === 0) machine.ram.write32(pd + 4 * i, old);
  });
  return info;
};
