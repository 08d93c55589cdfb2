/**
 * The hobby kernel's map_mem: the default {@link MapMem}.
 *
 * For each 4 MiB region the range touches, make sure a page table exists
 * (creating it on demand), then write one PTE per page through the table's
 * kernel virtual address and invlpg every page whose old entry was present
 * and visible to the current address space.
 *
 * ```
 *  user region r of pd:   PDE in pd only,        table reached at k.userTable(pd, r)   (vpde)
 *  kernel region r:       PDE in EVERY pagedir,  table reached at k.kernelTable(r)     (kvpd)
 *                         (or through the window while it has no address yet)
 * ```
 *
 * A new kernel table is installed in every pagedir before it gets an address
 * of its own, so mapping its address (which may need another new table) never
 * recurses into the same region: the chain ends after at most 256 tables.
 *
 * @module
 */
import { ENTRIES_PER_TABLE, PAGE_SIZE, PDE, PTE, hex32, pteIndex } from "@mm386/hw-i386";
import { type MapMem, type MapMemContext, PAGING_ERROR, PagingError } from "./api.js";
import type { Pagedir } from "./paging.js";

/** A new, zeroed kernel page table for region r, installed in every pagedir; false when out of frames. */
function createKernelTable(k: MapMemContext, r: number): boolean {
  const frame = k.allocFrame();
  if (frame === null) return false;
  const win = k.window(frame);
  for (let i = 0; i < ENTRIES_PER_TABLE; i++) k.mmu.write32(win + 4 * i, 0);
  const pde = frame | PDE.P | PDE.RW;
  for (const pd of k.pagedirs()) k.mmu.write32(pd.virt + 4 * r, pde);
  // From here the table exists (reached through the window) even without an address of its own.
  const page = k.allocKernelPage();
  if (page === null) return true; // still usable through the window; that only costs speed
  if (!k.mapMem(null, frame, page, 1, PTE.P | PTE.RW)) {
    k.freeKernelPage(page);
    return true;
  }
  k.setKernelTable(r, page);
  return true;
}

/** A new, zeroed user page table for region r of pd; false when the page source is empty. */
function createUserTable(k: MapMemContext, pd: Pagedir, r: number): boolean {
  const va = k.allocTablePage();
  if (va === null) return false;
  const phys = k.kernelPhysOf(va);
  if (phys === null)
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `page source returned unmapped page ${hex32(va)}`,
    );
  for (let i = 0; i < ENTRIES_PER_TABLE; i++) k.mmu.write32(va + 4 * i, 0);
  k.mmu.write32(pd.virt + 4 * r, phys | PDE.P | PDE.RW | PDE.US);
  k.setUserTable(pd, r, va);
  return true;
}

/** The hobby kernel's mapMem: tables on demand, vpde/kvpd bookkeeping, invlpg for visible changes. */
export const hobbyMapMem: MapMem = {
  name: "hobby kernel",
  map(k, pd, phys, virt, nPages, flags) {
    const kernel = virt >= k.split;
    const present = (flags & PTE.P) !== 0;
    const end = virt + nPages * PAGE_SIZE;
    if (present) {
      const created: number[] = [];
      for (let r = virt >>> 22; r <= (end - 1) >>> 22; r++) {
        if (kernel ? k.kernelTablePhys(r) !== null : k.userTable(pd!, r) !== null) continue;
        const ok = kernel ? createKernelTable(k, r) : createUserTable(k, pd!, r);
        if (!ok) {
          // Out of memory: give back the user tables made for this call. Kernel tables stay,
          // empty: every pagedir shares them, and (as in Linux and the hobby kernel) a kernel
          // table is never freed once made; the next mapping in the region reuses it.
          for (const c of created) k.freeUserTable(pd!, c);
          return false;
        }
        if (!kernel) created.push(r);
      }
    }
    const visible = kernel || pd === k.current;
    // Where the current region's PTE 0 is read and written: looked up once per region.
    let region = -1;
    let pte0: number | null = null;
    for (let i = 0; i < nPages; i++) {
      const va = virt + i * PAGE_SIZE;
      const r = va >>> 22;
      if (r !== region) {
        region = r;
        pte0 = kernel ? k.kernelPteVa(r, 0) : k.userTable(pd!, r);
      }
      if (pte0 === null) continue; // unmapping where there is no table
      const pteVa = pte0 + 4 * pteIndex(va);
      const old = k.mmu.read32(pteVa);
      k.mmu.write32(pteVa, present ? (phys + i * PAGE_SIZE) | flags : 0);
      if ((old & PTE.P) !== 0 && visible) k.mmu.invlpg(va);
    }
    return true;
  },
};
