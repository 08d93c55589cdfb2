/**
 * The vocabulary of the page allocators: the range-allocator swap point, page
 * runs, options, and errors.
 *
 * The hobby kernel's allocation.c hands out pages in runs: `ppalloc(min, max)`
 * gives between min and max consecutive physical pages, as many as it can;
 * `vpalloc(vpa, min, max)` does the same in one region of virtual space.
 * Underneath, both are a {@link RangeAllocator} over page numbers, and that
 * is the swap point: buddy by default, a first-fit bitmap as the alternative.
 *
 * @module
 */
import { PAGE_SIZE as HW_PAGE_SIZE, type MemoryRegion } from "@mm386/hw-i386";

/**
 * Size of a page, in bytes: hw-i386's `PAGE_SIZE`, re-exported for those who
 * use this layer alone.
 */
export const PAGE_SIZE = HW_PAGE_SIZE;

/** A run of consecutive units handed out by a {@link RangeAllocator}. */
export interface UnitRun {
  /** First unit. */
  readonly start: number;
  /** Number of units (at least 1). */
  readonly count: number;
}

/** What each unit of a range allocator is, in {@link RangeAllocator.states}. */
export const UNIT_STATE = {
  /** Can be handed out. */
  FREE: 0,
  /** Handed out. */
  ALLOCATED: 1,
  /** Never handed out (a hole, the kernel image). */
  RESERVED: 2,
} as const;

/**
 * The swap point under `ppalloc` and `vpalloc`: an allocator of runs of
 * consecutive integers in `[base, base + count)`.
 *
 * Contract (checked by `describeRangeAllocatorConformance` in
 * `@mm386/allocation/conformance`):
 * - `allocRun(min, max)` returns a run of n free units, min <= n <= max, as
 *   long as this allocator can give in one piece, and marks them allocated;
 *   or null. It must succeed for `min = 1` whenever any unit is free. An
 *   allocator that finds every free run (first-fit) says so with `complete`.
 * - `free(start, n)` frees any allocated units, whole runs or parts of them.
 * - Refused calls throw an `Error` with a `code` property (`E_DOUBLE_FREE`,
 *   `E_NOT_ALLOCATED`, `E_OUT_OF_RANGE`, `E_OVERLAPS_ALLOCATION`,
 *   `E_BAD_ARGUMENT`) and change nothing.
 */
export interface RangeAllocator {
  /** A short human-readable name, e.g. `"buddy"`. */
  readonly name: string;
  /** First unit managed. */
  readonly base: number;
  /** Number of units managed. */
  readonly count: number;
  /** True if `allocRun` finds a run of `min` free units whenever one exists. */
  readonly complete: boolean;
  /** Units free now. */
  readonly freeUnits: number;
  /** Hand out between `min` and `max` consecutive units, as many as possible; null if not even `min`. */
  allocRun(min: number, max: number): UnitRun | null;
  /** Free `n` allocated units from `start`. */
  free(start: number, n: number): void;
  /** Take `n` units from `start` out of service; refused if any is allocated. */
  reserve(start: number, n: number): void;
  /** The state of every unit ({@link UNIT_STATE}), for inspection and tests. */
  states(): Uint8Array;
  /** Throw (code `E_INVARIANT`) if the allocator's own invariants are broken. */
  check(): void;
}

/** Makes a {@link RangeAllocator} over `[base, base + count)`. */
export type RangeAllocatorFactory = (base: number, count: number) => RangeAllocator;

/** A run of pages handed out by ppalloc or vpalloc. */
export interface PageRun {
  /** Address of the first page (physical for ppalloc, virtual for vpalloc). */
  readonly start: number;
  /** Number of pages. */
  readonly pages: number;
}

/** A range of bytes `[start, start + length)`. */
export interface ByteRange {
  /** First byte. */
  readonly start: number;
  /** Length in bytes. */
  readonly length: number;
}

/** Options of {@link createPageAllocators}. */
export interface PageAllocatorsOptions {
  /** The firmware memory map (hw-i386's `ram.memoryMap`): only usable RAM is handed out. */
  readonly memoryMap: readonly MemoryRegion[];
  /** Physical bytes below this are never handed out. Default 0x100000 (the first MiB). */
  readonly lowMemoryEnd?: number;
  /** The kernel image in physical memory. Default 1 MiB from 0x00100000. */
  readonly kernelImage?: ByteRange;
  /** Further physical ranges the boot code names (its page tables, a ramdisk). */
  readonly reserved?: readonly ByteRange[];
  /** The kernel's part of virtual space, managed by the kernel vpallocator. Default [0xC0000000, 4 GiB). */
  readonly kernelVirtual?: ByteRange;
  /** Virtual ranges of the kernel part that are already in use (the kernel image's mapping). */
  readonly reservedVirtual?: readonly ByteRange[];
  /** The range allocator under the physical and kernel page allocators, and by default under every vpcreate region. Default: buddy. */
  readonly rangeAllocator?: RangeAllocatorFactory;
  /**
   * The range allocator under each `vpcreate` region (one per user address
   * space). Default: `rangeAllocator` when one is given, else the sparse
   * first-fit allocator (`sparseRanges`), whose host memory grows with the
   * runs it holds rather than with the 3 GiB it manages.
   */
  readonly regionRangeAllocator?: RangeAllocatorFactory;
  /** How runs of pages are made from a range allocator (the swap point of workbook exercise 4). Default: {@link PageRangeAllocator}. */
  readonly pageRanges?: PageRangesFactory;
}

/**
 * Runs of pages in one range of addresses: what ppalloc, vpalloc and every
 * `vpa` are. It turns byte addresses into page numbers for a
 * {@link RangeAllocator} and back, and turns what the range allocator refuses
 * into {@link AllocationError}s that name addresses in hex.
 *
 * ```
 *  addresses  start                         start + size
 *             [ page 0 | page 1 | ... | page size/4096 - 1 ]
 *  units      start/4096 ...                (base of the range allocator)
 * ```
 */
export interface PageRanges {
  /** What this allocator is, for messages: `"physical"`, `"kernel virtual"`, `"vpa 0x00001000"`. */
  readonly label: string;
  /** First address managed (page-aligned). */
  readonly start: number;
  /** Bytes managed (whole pages). */
  readonly size: number;
  /** Pages that can still be handed out. */
  readonly freePages: number;
  /**
   * Between `min` and `max` consecutive pages, as many as the range allocator
   * gives; null if not even `min` are free in one run. `min`/`max` that are
   * not positive integers, or `min > max`: E_BAD_ARGUMENT.
   */
  alloc(min: number, max: number): PageRun | null;
  /**
   * Give back `pages` pages from address `start`. E_BAD_ARGUMENT, E_UNALIGNED,
   * E_FOREIGN (outside this range), E_DOUBLE_FREE, E_NOT_ALLOCATED; nothing
   * changes on error.
   */
  free(start: number, pages: number): void;
  /** Take every page overlapping `range` (clipped to this allocator) out of service. */
  reserveBytes(range: ByteRange): void;
  /** True if `address` is in `[start, start + size)`. */
  contains(address: number): boolean;
}

/** Makes a {@link PageRanges} over `[start, start + size)` with range allocators from `factory`. */
export type PageRangesFactory = (
  label: string,
  start: number,
  size: number,
  factory: RangeAllocatorFactory,
) => PageRanges;

/** Codes carried by {@link AllocationError}. */
export const ALLOCATION_ERROR = {
  /** min = 0, min > max, a number that is not an integer. */
  BAD_ARGUMENT: "E_BAD_ARGUMENT",
  /** An address that is not a multiple of the page size. */
  UNALIGNED: "E_UNALIGNED",
  /** Pages outside the allocator's range. */
  FOREIGN: "E_FOREIGN",
  /** Units outside a range allocator's range (what a {@link RangeAllocator} throws). */
  OUT_OF_RANGE: "E_OUT_OF_RANGE",
  /** Freeing pages that were allocated once and are free again. */
  DOUBLE_FREE: "E_DOUBLE_FREE",
  /** Freeing pages that were never handed out (or are reserved). */
  NOT_ALLOCATED: "E_NOT_ALLOCATED",
  /** Reserving pages that are allocated. */
  OVERLAPS_ALLOCATION: "E_OVERLAPS_ALLOCATION",
  /** A memory map or option that cannot describe a machine. */
  BAD_CONFIG: "E_BAD_CONFIG",
  /** The allocator's invariants are broken (a bug). */
  INVARIANT: "E_INVARIANT",
} as const;

/** One of the {@link ALLOCATION_ERROR} codes. */
export type AllocationErrorCode = (typeof ALLOCATION_ERROR)[keyof typeof ALLOCATION_ERROR];

/** A refused call. The allocators are exactly as they were before it. */
export class AllocationError extends Error {
  /** Always `"AllocationError"`. */
  override readonly name = "AllocationError";
  constructor(
    /** Machine-readable reason. */
    readonly code: AllocationErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
