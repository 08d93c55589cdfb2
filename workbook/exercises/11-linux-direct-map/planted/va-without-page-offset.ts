/** Planted mistake: __va and __pa forget PAGE_OFFSET (a physical address used as a virtual one). */
import type { LinuxBootContext } from "@mm386/paging/linux";

export { kernelPhysicalMappingInit } from "@mm386/paging/linux";

/** `__va(phys)`, wrongly: the identity. */
export function va(_ctx: LinuxBootContext, phys: number): number {
  return phys;
}

/** `__pa(virt)`, wrongly: the identity. */
export function pa(_ctx: LinuxBootContext, virt: number): number {
  return virt;
}
