/**
 * `@mm386/paging/whitix`: the Whitix design (seed: Whitix virt.c). The
 * recursive page directory (PDE 1023 points at the directory itself, so the
 * PTE of `va` is at 0xFFC00000 + (va >>> 12) * 4 and the directory at
 * 0xFFFFF000), page tables made on demand through that window, a kernel
 * half equal in every address space, VirtAllocateTemp for the tables of a
 * space that is not loaded, and VirtMapPhysRange over the kernel heap at
 * 0xC0000000-0xD0000000.
 *
 * ```ts
 * import { createMachine } from "@mm386/hw-i386";
 * import { VirtMemManagerInit, WHITIX } from "@mm386/paging/whitix";
 * const w = VirtMemManagerInit(createMachine({ ramBytes: 64 * 1024 * 1024 }));
 * const va = w.VirtMapPhysRange(WHITIX.HEAP_START, WHITIX.HEAP_END, 4, 0x3)!;
 * w.write32(va, 42, 0); // and the PTE of va is at 0xFFC00000 + (va >>> 12) * 4
 * ```
 *
 * @packageDocumentation
 */
export {
  WHITIX,
  WHITIX_ERROR,
  WhitixError,
  type WhitixErrorCode,
  type WhitixOptions,
  type WhitixPageSource,
} from "./api.js";
export {
  VirtMemManagerInit,
  Whitix,
  WhitixSpace,
  bootWhitix,
  whitixPageSource,
  windowPdeVa,
  windowPteVa,
  windowTableVa,
} from "./whitix.js";
export { RegionSet } from "./regions.js";
export { whitixTour } from "./tour.js";
