/** Whitix exercise, reference: the window as @mm386/paging/whitix computes it, and a VirtMemMapPage. */
import { PDE, PTE } from "@mm386/hw-i386";
import { type Whitix, windowPdeVa, windowPteVa, windowTableVa } from "@mm386/paging/whitix";

export const pteVa = windowPteVa;
export const pdeVa = windowPdeVa;
export const tableVa = windowTableVa;

/** Whitix's VirtMemMapPage, written out against the design's public calls. */
export function virtMemMapPage(w: Whitix, va: number, pa: number, flags: number): boolean {
  const { mmu } = w;
  const r = va >>> 22;
  if ((mmu.read32(pdeVa(va)) & PDE.P) === 0) {
    const frame = w.allocFrames(1);
    if (frame === null) return false;
    const kernel = va >= w.split;
    const pde = frame | PDE.P | PDE.RW | (kernel ? 0 : PDE.US);
    mmu.write32(pdeVa(va), pde);
    mmu.invlpg(tableVa(r)); // the window page may still hold what PDE r showed before
    for (let i = 0; i < 1024; i++) mmu.write32(tableVa(r) + 4 * i, 0);
    if (kernel)
      for (const s of w.addressSpaces()) {
        if (s === w.current) continue;
        const dir = w.VirtAllocateTemp(s.cr3)!;
        mmu.write32(dir + 4 * r, pde);
        w.VirtFreeTemp(dir);
      }
  }
  const old = mmu.read32(pteVa(va));
  mmu.write32(pteVa(va), pa | flags);
  if ((old & PTE.P) !== 0) mmu.invlpg(va);
  return true;
}
