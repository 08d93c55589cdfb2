/**
 * Planted mistake: a new page table is zeroed through the window without an
 * invlpg of the window page, which may still show what the PDE pointed at
 * before (here: the window page of another region the same call just read).
 */
import { PDE, PTE } from "@mm386/hw-i386";
import type { Whitix } from "@mm386/paging/whitix";
import { pdeVa, pteVa, tableVa } from "../reference.js";

export { pdeVa, pteVa, tableVa };

export function virtMemMapPage(w: Whitix, va: number, pa: number, flags: number): boolean {
  const { mmu } = w;
  const r = va >>> 22;
  if ((mmu.read32(pdeVa(va)) & PDE.P) === 0) {
    // Touch the window page first, as code that just probed the table would: now it is cached.
    void mmu.read32(pdeVa(va));
    try {
      void mmu.read32(tableVa(r));
    } catch {
      // not present yet: nothing cached
    }
    const frame = w.allocFrames(1);
    if (frame === null) return false;
    mmu.write32(pdeVa(va), frame | PDE.P | PDE.RW | (va >= w.split ? 0 : PDE.US));
    for (let i = 0; i < 1024; i++) mmu.write32(tableVa(r) + 4 * i, 0);
  }
  mmu.write32(pteVa(va), pa | flags);
  // No invlpg anywhere: neither the window page nor the mapped page.
  void PTE;
  return true;
}
