/**
 * Whitix exercise: the recursive window, then VirtMemMapPage through it.
 * Read README.md first. `w` is a booted Whitix (`@mm386/paging/whitix`):
 * w.mmu (read32, write32, invlpg), w.allocFrames(1), w.addressSpaces(),
 * w.current, w.split, w.VirtAllocateTemp(phys) / w.VirtFreeTemp(va).
 */
import { PDE, PTE } from "@mm386/hw-i386";
import type { Whitix } from "@mm386/paging/whitix";

/** Where the PTE of `va` is seen through the window (PDE 1023 points at the directory). */
export function pteVa(va: number): number {
  // TODO: 0xFFC00000 plus the index of va's page times 4.
  void va;
  return 0;
}

/** Where the PDE of `va` is seen: the directory's own page, 0xFFFFF000. */
export function pdeVa(va: number): number {
  // TODO
  void va;
  return 0;
}

/** Where page table `r` of the current address space is seen. */
export function tableVa(r: number): number {
  // TODO
  void r;
  return 0;
}

/**
 * Map `va` to frame `pa` with PTE `flags` in the current address space (a
 * kernel address: in every address space). Make the page table if it is
 * missing (false, changing nothing, if there is no frame for it).
 */
export function virtMemMapPage(w: Whitix, va: number, pa: number, flags: number): boolean {
  // TODO 1: is the PDE at pdeVa(va) present? If not: a frame, the PDE (user: P|RW|US,
  //         kernel: P|RW), invlpg the window page that now shows the table, zero it there.
  //         A kernel table also goes into every other address space (VirtAllocateTemp).
  // TODO 2: the PTE at pteVa(va); invlpg(va) if the old one was present.
  void [w, va, pa, flags, PDE, PTE];
  return false;
}
