/**
 * The vocabulary of the Whitix design: its fixed addresses, its options,
 * its errors and the page source it offers a slab allocator.
 *
 * ```
 *  virtual space of every Whitix address space:
 *  0x00000000  0x00800000            0xC0000000   0xD0000000       0xFFBFC000 0xFFC00000  0xFFFFF000
 *  [ identity ][ user half ........ ][ kernel heap ][ kernel ....... ][ temp x4 ][ window ... ][ dir ]
 *   8 MiB, 1:1   own tables per space   VirtMapPhysRange               VirtAllocateTemp
 *   shared,      (PDE 2..767)           (PDE 768..831)                  slots      PDE 1023 -> the
 *   supervisor                                                                     directory itself
 * ```
 *
 * @module
 */
import { describeValue } from "@mm386/allocation";
import type { RangeAllocatorFactory } from "@mm386/allocation";
import { hex32 } from "@mm386/hw-i386";

const MiB = 1024 * 1024;

/**
 * Whitix's fixed virtual addresses. The recursive window is the heart of the
 * design: PDE 1023 points at the directory itself, so the MMU walks the
 * directory as if it were the page table of the top 4 MiB, and every page
 * table of the current address space shows up there.
 */
export const WHITIX = {
  /** Where the page tables appear: table r at `WINDOW + r * 4096`, the PTE of va at `WINDOW + (va >>> 12) * 4`. */
  WINDOW: 0xffc0_0000,
  /** The directory itself (table 1023 of the window): the PDE of va at `DIRECTORY + (va >>> 22) * 4`. */
  DIRECTORY: 0xffff_f000,
  /** The PDE that points at its own directory. */
  SELF_PDE: 1023,
  /** The identity map covers `[0, IDENTITY_END)`; user memory starts here. */
  IDENTITY_END: 8 * MiB,
  /** PDEs of the identity map (two shared page tables). */
  IDENTITY_PDES: 2,
  /** First address of the kernel heap that VirtMapPhysRange and allocKernelRegion hand out. */
  HEAP_START: 0xc000_0000,
  /** End (exclusive) of the kernel heap. */
  HEAP_END: 0xd000_0000,
  /** First VirtAllocateTemp slot; the slots run up to the window. */
  TEMP_BASE: 0xffbf_c000,
  /** Number of VirtAllocateTemp slots. */
  TEMP_SLOTS: 4,
  /**
   * Slots VirtAllocateTemp keeps for the kernel's own edits of other address
   * spaces (a directory and one table at a time): an outside caller can hold
   * at most `TEMP_SLOTS - TEMP_KEPT`.
   */
  TEMP_KEPT: 2,
  /** Where the kernel image is loaded, physically and virtually (identity map). */
  KERNEL_LOAD: 0x0010_0000,
  /** Default size of the kernel's code (read-only pages). */
  KERNEL_CODE: 0x0008_0000,
  /** Default size of the kernel's data (read/write pages, after the code). */
  KERNEL_DATA: 0x0008_0000,
} as const;

/** Options of {@link VirtMemManagerInit}. */
export interface WhitixOptions {
  /** Bytes of kernel code at 0x00100000 (page-aligned; mapped read-only). Default 512 KiB. */
  readonly kernelCode?: number;
  /** Bytes of kernel data after the code (mapped read/write). Default 512 KiB. */
  readonly kernelData?: number;
  /**
   * The range allocator under the physical page allocator. Default: buddy
   * (`buddyRanges`), as under the hobby kernel's ppalloc (see docs/whitix.md).
   */
  readonly rangeAllocator?: RangeAllocatorFactory;
}

/**
 * Pages for a kernel object allocator (the slab allocator of issue 14): runs
 * of `n` kernel pages, each backed by its own fresh frame, from the kernel
 * heap (VirtMapPhysRange in 0xC0000000-0xD0000000); given back with
 * VirtUnmapPhysPage, which frees the frames too.
 */
export interface WhitixPageSource {
  /** A short human-readable name. */
  readonly name: string;
  /** `n` consecutive mapped kernel pages (read/write, supervisor), or null when out of memory or heap. */
  allocPages(n: number): number | null;
  /** Unmap `n` pages from `va` and free their frames: exactly what allocPages handed out. */
  freePages(va: number, n: number): void;
}

/** Codes of {@link WhitixError}: what only the Whitix design refuses (the shared ones are `PagingError`s). */
export const WHITIX_ERROR = {
  /** An address Whitix keeps for itself: the identity map, the temp slots, the recursive window. */
  RESERVED_VA: "E_RESERVED_VA",
  /** freeKernelRegion of pages allocKernelRegion did not hand out (or that were freed already). */
  NOT_REGION: "E_NOT_REGION",
  /** freeKernelRegion of a region that still has mapped pages. */
  STILL_MAPPED: "E_STILL_MAPPED",
  /** VirtUnmapPhysPage or freePages of a page that is not mapped. */
  NOT_MAPPED: "E_NOT_MAPPED",
  /** VirtFreeTemp of an address that is not a temp mapping in use. */
  NOT_TEMP: "E_NOT_TEMP",
} as const;

/** One of the {@link WHITIX_ERROR} codes. */
export type WhitixErrorCode = (typeof WHITIX_ERROR)[keyof typeof WHITIX_ERROR];

/** A call refused for a reason only Whitix has. Page tables, allocators and TLB are as they were. */
export class WhitixError extends Error {
  /** Always `"WhitixError"`. */
  override readonly name = "WhitixError";
  constructor(
    /** Machine-readable reason. */
    readonly code: WhitixErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** An address in hex when it is one, else the value named as what it is (`5n`, `Symbol(x)`, `null`). */
export function show(v: unknown): string {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? hex32(v) : describeValue(v);
}
