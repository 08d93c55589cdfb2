/** Linux exercise, reference: kernelPhysicalMappingInit from @mm386/paging/linux. */
import type { LinuxBootContext } from "@mm386/paging/linux";

export { kernelPhysicalMappingInit } from "@mm386/paging/linux";

/** `__va(phys)`. */
export function va(ctx: LinuxBootContext, phys: number): number {
  return ctx.pageOffset + phys;
}

/** `__pa(virt)`. */
export function pa(ctx: LinuxBootContext, virt: number): number {
  return virt - ctx.pageOffset;
}
