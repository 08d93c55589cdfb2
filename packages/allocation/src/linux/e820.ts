/**
 * Reading the e820 map as Linux's setup code does: `sanitize_e820_map`
 * first, then `find_max_pfn` and `register_bootmem_low_pages` over its RAM.
 *
 * The BIOS may list regions unsorted, overlapping or empty. Linux rewrites
 * the map so that each byte has one type, the highest-numbered type of the
 * regions that cover it: every other type (reserved, ACPI, bad) beats RAM
 * (E820_RAM is 1). So RAM that a reserved region overlaps is not RAM.
 *
 * ```
 *  map     RAM [0 ........ 0x10000)   RAM [0x8000 ..... 0x18000)
 *                  reserved [0x4000, 0x5000)
 *  RAM     [0, 0x4000)  [0x5000 ................. 0x18000)
 * ```
 *
 * @module
 */
import { E820, type MemoryRegion, PAGE_SIZE } from "@mm386/hw-i386";

/**
 * The RAM of `memoryMap` after `sanitize_e820_map`: usable regions merged
 * where they overlap or touch, every non-RAM region cut out of them, empty
 * regions dropped, lowest first. New region objects, all of type USABLE.
 */
export function usableRegions(memoryMap: readonly MemoryRegion[]): MemoryRegion[] {
  const spans = memoryMap
    .filter((r) => r.type === E820.USABLE && r.length > 0)
    .map((r): [number, number] => [r.base, r.base + r.length])
    .sort((x, y) => x[0] - y[0]);
  let ram: [number, number][] = [];
  for (const [a, b] of spans) {
    const last = ram[ram.length - 1];
    // Touching RAM merges too, as sanitize_e820_map joins same-type neighbours.
    if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b);
    else ram.push([a, b]);
  }
  for (const r of memoryMap) {
    if (r.type === E820.USABLE || r.length <= 0) continue;
    const [c, d] = [r.base, r.base + r.length];
    // What is left of each span below c and above d.
    const left: [number, number][] = [];
    for (const [a, b] of ram) {
      if (Math.min(b, c) > a) left.push([a, Math.min(b, c)]);
      if (b > Math.max(a, d)) left.push([Math.max(a, d), b]);
    }
    ram = left;
  }
  return ram.map(([a, b]) => ({ base: a, length: b - a, type: E820.USABLE }));
}

/**
 * True if `map` is an array of objects whose `base` and `length` are
 * non-negative safe integers (e820 fields are unsigned): what the Linux
 * calls that read a memory map check before they change anything (a bad
 * entry would otherwise end in a TypeError half-way, or free pages below 0).
 * @internal
 */
export function isRegionList(map: unknown): map is readonly { base: number; length: number }[] {
  return (
    Array.isArray(map) &&
    map.every(
      (r: unknown) =>
        typeof r === "object" &&
        r !== null &&
        Number.isSafeInteger((r as MemoryRegion).base) &&
        (r as MemoryRegion).base >= 0 &&
        Number.isSafeInteger((r as MemoryRegion).length) &&
        (r as MemoryRegion).length >= 0,
    )
  );
}

/**
 * `find_max_pfn`: one past the last whole page of RAM in `memoryMap` (after
 * sanitising it). A region that holds no whole page counts for nothing, as
 * in the kernel (`if (start >= end) continue`).
 */
export function findMaxPfn(memoryMap: readonly MemoryRegion[]): number {
  let max = 0;
  for (const r of usableRegions(memoryMap)) {
    const start = Math.ceil(r.base / PAGE_SIZE);
    const end = Math.floor((r.base + r.length) / PAGE_SIZE);
    if (start < end) max = Math.max(max, end);
  }
  return max;
}
