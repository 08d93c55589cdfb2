/**
 * Reading the e820 map as Linux's setup code does (`find_max_pfn`,
 * `register_bootmem_low_pages`).
 *
 * @module
 */
import { E820, type MemoryRegion, PAGE_SIZE } from "@mm386/hw-i386";

/** The usable (RAM) regions of `memoryMap`, lowest first. */
export function usableRegions(memoryMap: readonly MemoryRegion[]): MemoryRegion[] {
  return memoryMap
    .filter((r) => r.type === E820.USABLE && r.length > 0)
    .sort((a, b) => a.base - b.base);
}

/** `find_max_pfn`: one past the last whole page of RAM in `memoryMap`. */
export function findMaxPfn(memoryMap: readonly MemoryRegion[]): number {
  let max = 0;
  for (const r of usableRegions(memoryMap))
    max = Math.max(max, Math.floor((r.base + r.length) / PAGE_SIZE));
  return max;
}
