/**
 * Linux exercise: the direct map. Read README.md first. `ctx` is the boot
 * context after head.S and setupMemory (`@mm386/paging/linux`):
 * ctx.machine.mmu (read32, write32), ctx.pageOffset, ctx.maxLowPfn, ctx.pse,
 * ctx.pge, ctx.head.swapperPgDir, ctx.bootmem.allocBootmemLowPages(1).
 * Paging is on: every page-table access goes through the MMU at __va.
 */
import { PTE } from "@mm386/hw-i386";
import type { LinuxBootContext } from "@mm386/paging/linux";

/** `__va(phys)`: the kernel virtual address of a low-memory physical address. */
export function va(ctx: LinuxBootContext, phys: number): number {
  // TODO 1: the direct map is linear.
  void [ctx, phys];
  return 0;
}

/** `__pa(virt)`: the physical address of a direct-map address. */
export function pa(ctx: LinuxBootContext, virt: number): number {
  // TODO 2: the inverse of va.
  void [ctx, virt];
  return 0;
}

/**
 * `kernel_physical_mapping_init`: map every page below ctx.maxLowPfn at
 * PAGE_OFFSET + phys in swapper_pg_dir, rewriting it in place.
 */
export function kernelPhysicalMappingInit(ctx: LinuxBootContext): void {
  // TODO 3: for each PDE from pageOffset >>> 22 while pfn < maxLowPfn:
  //   with ctx.pse and a whole 4 MiB left: one PDE, phys | PAGE_KERNEL | G? | PS (0x80);
  //   else the PDE's table: keep a present one (pg0, pg1), or take one from bootmem
  //   (already zeroed; it returns a kernel virtual address) and write the PDE
  //   (__pa(table) | 0x067); then its 1024 PTEs: phys | 0x063 (| G with ctx.pge), 0 past maxLowPfn.
  // Every read and write with ctx.machine.mmu, at va(...) addresses.
  void [ctx, PTE];
  throw new Error("linux exercise: kernelPhysicalMappingInit is not written yet");
}
