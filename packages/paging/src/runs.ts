/**
 * The one coalescing rule every design's `dump` uses: mappings visited in
 * address order join the last run when they continue it virtually and
 * physically with the same flags (accessed and dirty left out: the CPU sets
 * them, the kernel did not choose them).
 *
 * @module
 */
import { PAGE_SIZE, PTE } from "@mm386/hw-i386";
import type { MappedRange } from "./api.js";

/** A run while it is being built. */
export type RunInProgress = { -readonly [K in keyof MappedRange]: MappedRange[K] };

/** The flags of a PTE (or 4 MiB PDE) as a dump reports them: the low 12 bits without A, D and `also`. */
export function runFlags(entry: number, also = 0): number {
  return entry & 0xfff & ~(PTE.A | PTE.D | also);
}

/** Add `pages` pages from `virt` -> `phys` with `flags` to `out`, extending its last run when they continue it. */
export function addRun(
  out: RunInProgress[],
  virt: number,
  phys: number,
  pages: number,
  flags: number,
): void {
  const last = out[out.length - 1];
  if (
    last !== undefined &&
    last.virt + last.pages * PAGE_SIZE === virt &&
    last.phys + last.pages * PAGE_SIZE === phys &&
    last.flags === flags
  )
    last.pages += pages;
  else out.push({ virt, phys, pages, flags });
}
