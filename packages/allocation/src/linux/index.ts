/**
 * `@mm386/allocation/linux`: the physical page allocators of Linux on i386.
 * {@link Bootmem}, the boot-time bitmap allocator over low memory, and
 * {@link Zones}, the DMA, NORMAL and HIGHMEM zones, each a buddy allocator
 * from `@mm386/buddy`, with `allocPages` and the kernel's fallback order.
 *
 * @packageDocumentation
 */
export * from "./api.js";
export { Bootmem, type BootmemOptions, type PfnRun } from "./bootmem.js";
export { Zone, Zones, type ZonesOptions } from "./zones.js";
export { findMaxPfn, usableRegions } from "./e820.js";
