/**
 * The vocabulary of Linux on i386's physical memory: page frame numbers, the
 * GFP mask, the zones and the error every Linux part throws.
 *
 * ```
 *  physical memory (pfn = phys >> 12)
 *  0          16 MiB                    max_low_pfn               max_pfn
 *  [ ZONE_DMA ][        ZONE_NORMAL        ][      ZONE_HIGHMEM       ]
 *  <----------- low memory: direct-mapped at PAGE_OFFSET -------->
 * ```
 *
 * @module
 */
import { PAGE_SIZE } from "@mm386/hw-i386";

/** log2 of the page size: `pfn = phys >> PAGE_SHIFT`. */
export const PAGE_SHIFT = 12;

/** The end of ZONE_DMA: the ISA DMA controller reaches only the first 16 MiB. */
export const MAX_DMA_ADDRESS = 16 * 1024 * 1024;

/**
 * The buddy allocator's orders are `0 .. MAX_ORDER - 1`: the largest block
 * `alloc_pages` hands out is 2^10 pages (4 MiB), as in Linux 2.6.
 */
export const MAX_ORDER = 11;

/**
 * The GFP ("get free pages") mask bits that choose a zone, and the usual
 * combinations, with Linux 2.6's values. Only `DMA` and `HIGHMEM` change
 * where a page comes from here: the others (may sleep, may do I/O...) are
 * accepted and recorded for the caller's information, since this model has
 * no reclaim.
 */
export const GFP = {
  /** `__GFP_DMA`: the page must come from ZONE_DMA (below 16 MiB). */
  DMA: 0x01,
  /** `__GFP_HIGHMEM`: the page may come from ZONE_HIGHMEM (not direct-mapped). */
  HIGHMEM: 0x02,
  /** `__GFP_WAIT`: the caller may sleep. */
  WAIT: 0x10,
  /** `__GFP_HIGH`: the caller may dip into the emergency pools. */
  HIGH: 0x20,
  /** `__GFP_IO`: the allocator may start disk I/O. */
  IO: 0x40,
  /** `__GFP_FS`: the allocator may call into the filesystems. */
  FS: 0x80,
  /** `GFP_ATOMIC`: may not sleep; low memory. */
  ATOMIC: 0x20,
  /** `GFP_KERNEL`: the ordinary kernel allocation; low memory (NORMAL, then DMA). */
  KERNEL: 0xd0,
  /** `GFP_USER`: a page for user space that the kernel also reaches directly. */
  USER: 0xd0,
  /** `GFP_HIGHUSER`: a page for user space; highmem preferred. */
  HIGHUSER: 0xd2,
} as const;

/** Every GFP bit this model knows; any other bit is refused. */
export const GFP_KNOWN_BITS = 0xf3;

/** The zone names, in the kernel's order (lowest first). */
export const ZONE_NAMES = ["DMA", "NORMAL", "HIGHMEM"] as const;

/** One of {@link ZONE_NAMES}. */
export type ZoneName = (typeof ZONE_NAMES)[number];

/** Codes carried by {@link LinuxMmError}. */
export const LINUX_ERROR = {
  /** A number that is not an integer, an order out of range, an unknown GFP bit. */
  BAD_ARGUMENT: "E_BAD_ARGUMENT",
  /** Options that cannot describe a machine or a boot. */
  BAD_CONFIG: "E_BAD_CONFIG",
  /** An address that is not page-aligned (or not aligned to its order). */
  UNALIGNED: "E_UNALIGNED",
  /** Pages outside the memory the allocator manages (or across two zones). */
  OUT_OF_RANGE: "E_OUT_OF_RANGE",
  /** Freeing pages that are not allocated (free already, never handed out, or reserved). */
  NOT_ALLOCATED: "E_NOT_ALLOCATED",
  /** Freeing a block with another order than it was allocated with. */
  WRONG_SIZE: "E_WRONG_SIZE",
  /** A bootmem call after `freeAllBootmem` handed its pages to the zones. */
  BOOTMEM_RETIRED: "E_BOOTMEM_RETIRED",
  /** A zone handed its pages twice (memInit run twice). */
  ALREADY_DONE: "E_ALREADY_DONE",
  /** A kernel mapping outside the vmalloc area, or a region that is not one. */
  NOT_VMALLOC: "E_NOT_VMALLOC",
  /** A region that still has mapped pages, or a range that overlaps one in use. */
  BUSY: "E_BUSY",
  /** A range that is not (wholly) inside memory areas. */
  NOT_MAPPED: "E_NOT_MAPPED",
  /** No memory for what a fault needs (a frame, a page table): the kernel would call the OOM killer. */
  NO_MEMORY: "E_NO_MEMORY",
} as const;

/** One of the {@link LINUX_ERROR} codes. */
export type LinuxErrorCode = (typeof LINUX_ERROR)[keyof typeof LINUX_ERROR];

/** A refused call of a Linux part. Everything is exactly as it was before the call. */
export class LinuxMmError extends Error {
  /** Always `"LinuxMmError"`. */
  override readonly name = "LinuxMmError";
  constructor(
    /** Machine-readable reason. */
    readonly code: LinuxErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Physical address of page frame `pfn`. */
export function pfnPhys(pfn: number): number {
  return pfn * PAGE_SIZE;
}

/** Page frame holding physical address `phys` (`PFN_DOWN`). */
export function physPfn(phys: number): number {
  return Math.floor(phys / PAGE_SIZE);
}
