/**
 * `@mm386/paging/linux`: Linux on i386 (non-PAE) as an mm386 paging design.
 * head.S's boot tables, bootmem, `pagingInit` and
 * `kernelPhysicalMappingInit` (4 KiB or PSE pages), the direct map with
 * `__va`/`__pa`, `zapLowMappings`, the zones, `pgdAlloc`, the vmalloc area
 * with its lazy PDE sync and `vmalloc`/`vfree`, highmem through `kmap` and
 * `kmapAtomic`, all behind the `PagingDesign` interface.
 *
 * ```ts
 * const linux = bootLinux(createMachine({ ramBytes: 64 * 1024 * 1024 }));
 * linux.va(0x00345000);            // 0xc0345000: the direct map
 * linux.zones.freeCounts();        // { DMA, NORMAL, HIGHMEM }
 * ```
 *
 * @packageDocumentation
 */
export * from "./layout.js";
export {
  checkLinuxBootOptions,
  fixrangeInit,
  flushTlbAll,
  headS,
  kernelPhysicalMappingInit,
  memInit,
  onePageTableInit,
  pagingInit,
  permanentKmapsInit,
  setupMemory,
  startLinuxBoot,
  zapLowMappings,
  type CheckedLinuxBootOptions,
  type HeadInfo,
  type LinuxBootContext,
  type LinuxBootOptions,
} from "./boot.js";
export {
  LinuxPaging,
  MmStruct,
  SEGV,
  SegmentationFault,
  type LinuxPagingStats,
  type VmRegion,
} from "./paging.js";
export { bootLinux } from "./start.js";
export { Highmem, type HighmemContext, type HighmemStats, type PkmapSlot } from "./highmem.js";
export {
  PROT,
  checkFaultHandler,
  linuxUserFault,
  type FaultContext,
  type FaultResult,
  type UserFaultHandler,
  type VmArea,
} from "./fault.js";
export { linuxStory, type LinuxStoryOptions } from "./story.js";
