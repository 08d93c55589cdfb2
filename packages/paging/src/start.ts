/**
 * The default way up: boot, the page allocators from the memory map (with
 * what boot used reserved), then createInitPagedir.
 *
 * @module
 */
import {
  type PageRangesFactory,
  type RangeAllocatorFactory,
  createPageAllocators,
  describeValue,
} from "@mm386/allocation";
import type { Machine } from "@mm386/hw-i386";
import {
  type BootInfo,
  type BootOptions,
  type MapMem,
  PAGING_ERROR,
  type PageSource,
  PagingError,
} from "./api.js";
import { boot, checkMachine } from "./boot.js";
import { type Paging, checkInitPagedirOptions, createInitPagedir } from "./paging.js";

/** Options of {@link startPaging}. */
export interface StartPagingOptions extends BootOptions {
  /** The range allocator under ppalloc and vpalloc (default: buddy). */
  readonly rangeAllocator?: RangeAllocatorFactory;
  /** Where user page tables and directories come from (default: ppalloc + vpalloc + mapMem). */
  readonly pageSource?: (paging: Paging) => PageSource;
  /** How runs of pages are made from the range allocator (workbook exercise 4). Default: PageRangeAllocator. */
  readonly pageRanges?: PageRangesFactory;
  /** The boot code (workbook exercise 5). Default: {@link boot}. */
  readonly boot?: (machine: Machine, options: BootOptions) => BootInfo;
  /** The mapMem implementation (workbook exercise 6). Default: hobbyMapMem. */
  readonly mapMem?: MapMem;
}

/** Boot `machine`, build its page allocators, and create the first pagedir. */
export function startPaging(machine: Machine, options: StartPagingOptions = {}): Paging {
  checkMachine(machine);
  if (typeof options !== "object" || options === null)
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `startPaging options ${describeValue(options)} are not an object`,
    );
  // Checked before boot turns paging on, so a refused call leaves the machine as it was.
  if (options.boot !== undefined && typeof options.boot !== "function")
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `boot ${describeValue(options.boot)} is not a function`,
    );
  const initOptions = {
    ...(options.pageSource === undefined ? {} : { pageSource: options.pageSource }),
    ...(options.mapMem === undefined ? {} : { mapMem: options.mapMem }),
  };
  checkInitPagedirOptions(initOptions);
  const info = (options.boot ?? boot)(machine, {
    ...(options.split === undefined ? {} : { split: options.split }),
    ...(options.kernelLoad === undefined ? {} : { kernelLoad: options.kernelLoad }),
    ...(options.kernelSize === undefined ? {} : { kernelSize: options.kernelSize }),
  });
  const allocators = createPageAllocators({
    memoryMap: machine.ram.memoryMap,
    kernelImage: { start: info.kernelLoad, length: info.kernelSize },
    reserved: info.reservedPhysical,
    kernelVirtual: { start: info.split, length: 2 ** 32 - info.split },
    reservedVirtual: info.reservedVirtual,
    // Passed on whenever given (not only when truthy), so that
    // createPageAllocators refuses a null or 0 instead of it meaning "default".
    ...(options.rangeAllocator === undefined ? {} : { rangeAllocator: options.rangeAllocator }),
    ...(options.pageRanges === undefined ? {} : { pageRanges: options.pageRanges }),
  });
  return createInitPagedir(machine, info, allocators, initOptions);
}
