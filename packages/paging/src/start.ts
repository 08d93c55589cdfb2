/**
 * The default way up: boot, the page allocators from the memory map (with
 * what boot used reserved), then createInitPagedir.
 *
 * @module
 */
import { type RangeAllocatorFactory, createPageAllocators } from "@mm386/allocation";
import type { Machine } from "@mm386/hw-i386";
import type { BootOptions, PageSource } from "./api.js";
import { boot } from "./boot.js";
import { type Paging, createInitPagedir } from "./paging.js";

/** Options of {@link startPaging}. */
export interface StartPagingOptions extends BootOptions {
  /** The range allocator under ppalloc and vpalloc (default: buddy). */
  readonly rangeAllocator?: RangeAllocatorFactory;
  /** Where user page tables and directories come from (default: ppalloc + vpalloc + mapMem). */
  readonly pageSource?: (paging: Paging) => PageSource;
}

/** Boot `machine`, build its page allocators, and create the first pagedir. */
export function startPaging(machine: Machine, options: StartPagingOptions = {}): Paging {
  const info = boot(machine, options);
  const allocators = createPageAllocators({
    memoryMap: machine.ram.memoryMap,
    kernelImage: { start: info.kernelLoad, length: info.kernelSize },
    reserved: info.reservedPhysical,
    kernelVirtual: { start: info.split, length: 2 ** 32 - info.split },
    reservedVirtual: info.reservedVirtual,
    ...(options.rangeAllocator ? { rangeAllocator: options.rangeAllocator } : {}),
  });
  return createInitPagedir(
    machine,
    info,
    allocators,
    options.pageSource ? { pageSource: options.pageSource } : {},
  );
}
