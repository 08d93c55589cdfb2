/**
 * The vocabulary of the hobby kernel's paging: flags, options, the page
 * source port, and errors.
 *
 * ```
 *  virtual space, default split 0xC0000000:
 *  0x00000000                        0xC0000000                 0xFFFFFFFF
 *  [ user half: 768 PDEs, one pagedir each ][ kernel half: 256 PDEs, shared ]
 *        vpde[r] = kernel VA of page table r      kvpd[r] = kernel VA of table r
 * ```
 *
 * @module
 */
import { PTE } from "@mm386/hw-i386";
import type { Pagedir } from "./paging.js";

/** PTE flag: the page is mapped. Without it, mapMem unmaps. */
export const PTE_PRESENT = PTE.P;
/** PTE flag: writes allowed. */
export const PTE_WRITE = PTE.RW;
/** PTE flag: user mode (CPL 3) may access the page. Refused on kernel addresses. */
export const PTE_USER = PTE.US;
/**
 * PTE flag: the translation survives CR3 loads while CR4.PGE=1. Kernel
 * addresses only: the kernel half is the same in every address space, a user
 * page is not, so a global user translation would outlive the switch and let
 * the next address space read another's frame (mapMem refuses it,
 * E_GLOBAL_ON_USER).
 */
export const PTE_GLOBAL = PTE.G;

/** The default user/kernel boundary: 3 GiB user, 1 GiB kernel. */
export const DEFAULT_SPLIT = 0xc000_0000;

/** Options of {@link boot}. */
export interface BootOptions {
  /** First kernel virtual address; a multiple of 4 MiB. Default 0xC0000000. */
  readonly split?: number;
  /** Physical address the kernel image is loaded at, and what virtual `split` maps. Default 0x00100000. */
  readonly kernelLoad?: number;
  /** Size of the kernel image in bytes. Default 1 MiB. */
  readonly kernelSize?: number;
}

/** A range of bytes `[start, start + length)`. */
export interface Range {
  /** First byte. */
  readonly start: number;
  /** Length in bytes. */
  readonly length: number;
}

/** What the boot code did, for the allocators and for createInitPagedir. */
export interface BootInfo {
  /** The user/kernel boundary. */
  readonly split: number;
  /** Physical address of the kernel image. */
  readonly kernelLoad: number;
  /** Size of the kernel image. */
  readonly kernelSize: number;
  /** Physical address of the boot page directory (what CR3 holds). */
  readonly pageDirectory: number;
  /** Physical address of the kernel's boot page table (the split's PDE): virtual `split + x` is physical `kernelLoad + x`. */
  readonly pageTable: number;
  /**
   * Physical address of the identity boot table (PDE 0: the first 4 MiB 1:1,
   * so the boot code keeps running when paging comes on; removed by paging
   * right after). Optional for boot code written before it existed.
   */
  readonly identityTable?: number;
  /** End of the boot mapping: physical `[kernelLoad, mappedBytes)` is mapped at `split`. */
  readonly mappedBytes: number;
  /** The kernel virtual page paging uses as a window onto frames that have no address yet. */
  readonly windowVa: number;
  /** Physical ranges the boot code used: reserve them in the physical allocator. */
  readonly reservedPhysical: readonly Range[];
  /** Kernel virtual ranges already in use: reserve them in the kernel vpallocator. */
  readonly reservedVirtual: readonly Range[];
}

/**
 * The port through which paging gets pages for user page tables and page
 * directories: the inverted call to the source design's `kvmalloc(1)`. The
 * default implementation takes a frame with ppalloc, a kernel page with
 * vpalloc, and maps them; `@mm386/kvmalloc` supplies its own.
 */
export interface PageSource {
  /** A short human-readable name. */
  readonly name: string;
  /** A kernel virtual address of one page, mapped writable and supervisor-only (contents arbitrary); null when out of memory. */
  allocPage(): number | null;
  /** Give back a page that `allocPage` returned. */
  freePage(va: number): void;
}

/**
 * What a {@link MapMem} is handed: the few operations mapMem needs, and
 * nothing it could use to reach around paging (no allocators object, no
 * writable `kvpd`/`vpde` arrays, no Paging). Paging builds one per paging.
 *
 * ```
 *  user region r of pd:  PDE in pd only (P|RW|US),     table at userTable(pd, r)
 *  kernel region r:      PDE in every pagedir (P|RW),  table at kernelTable(r),
 *                        or window(kernelTablePhys(r)) while it has no address
 * ```
 */
export interface MapMemContext {
  /** The MMU's accesses: every page-table read and write goes through these, at CPL 0. */
  readonly mmu: {
    /** Read 32 bits at a kernel virtual address (CPL 0). */
    read32(va: number): number;
    /** Write 32 bits at a kernel virtual address (CPL 0). */
    write32(va: number, value: number): void;
    /** Drop the TLB entry of the page holding `va`. */
    invlpg(va: number): void;
  };
  /** The user/kernel boundary. */
  readonly split: number;
  /** Number of user PDEs (split / 4 MiB). */
  readonly userPdes: number;
  /** The address space loaded in CR3 (changes made to it must be invalidated). */
  readonly current: Pagedir;
  /** Every live pagedir, the first one first (a new kernel table goes into each). */
  pagedirs(): readonly Pagedir[];
  /** The kernel virtual address of user page table r of `pd` (its vpde entry), or null. */
  userTable(pd: Pagedir, r: number): number | null;
  /** Record the kernel virtual address of user page table r of `pd` (null: none). */
  setUserTable(pd: Pagedir, r: number, va: number | null): void;
  /** The kernel virtual address of kernel page table r (r >= userPdes; its kvpd entry), or null. */
  kernelTable(r: number): number | null;
  /** Record the kernel virtual address of kernel page table r (r >= userPdes). */
  setKernelTable(r: number, va: number): void;
  /** Physical address of kernel page table r (from the first pagedir), or null. */
  kernelTablePhys(r: number): number | null;
  /** Where PTE `index` of kernel region r can be read and written now (its table, or the window), or null. */
  kernelPteVa(r: number, index: number): number | null;
  /** The physical address a kernel virtual address maps to, or null. */
  kernelPhysOf(va: number): number | null;
  /** Point the window at frame `phys`; its kernel virtual address (valid until the next call). */
  window(phys: number): number;
  /** One free frame (ppalloc(1, 1)), or null. */
  allocFrame(): number | null;
  /** Give a frame back (ppfree). */
  freeFrame(phys: number): void;
  /** One free kernel virtual page (vpalloc(1, 1)), or null. */
  allocKernelPage(): number | null;
  /** Give a kernel virtual page back (vpfree). */
  freeKernelPage(va: number): void;
  /** A mapped, writable kernel page for a user page table, from the page source; null when out of memory. */
  allocTablePage(): number | null;
  /** Remove user table r of `pd` (PDE cleared, entry forgotten, page back to the page source). */
  freeUserTable(pd: Pagedir, r: number): void;
  /** paging's own mapMem (validated), for mapping a new kernel table's page. */
  mapMem(pd: Pagedir | null, phys: number, virt: number, nPages: number, flags: number): boolean;
}

/**
 * The mapMem swap point: the algorithm behind `Paging.mapMem`. Paging
 * validates the arguments first (so an implementation sees only good input)
 * and then calls `map` with a {@link MapMemContext}. An implementation keeps
 * the bookkeeping itself:
 *
 * - a user page table for region r of `pd`: its PDE in `pd` only
 *   (P|RW|US), its kernel virtual address recorded with `setUserTable`;
 * - a kernel page table for region r: its PDE in **every** pagedir
 *   (`k.pagedirs()`), its kernel virtual address recorded with
 *   `setKernelTable`; until it has one, reach it with `k.window(phys)`;
 * - every page table read and written through the MMU at a kernel virtual
 *   address; invlpg for each page whose old PTE was present, when the change
 *   is visible in the current address space (kernel pages always are).
 *
 * Workbook exercise 6 is writing one; `@mm386/paging/conformance` checks it.
 */
export interface MapMem {
  /** A short human-readable name. */
  readonly name: string;
  /**
   * Map `nPages` pages from `virt` to the frames from `phys` with `flags`, or
   * unmap them when `flags` lacks PTE_PRESENT. `pd` is null for kernel
   * addresses. Return false, with no mapping changed, when memory for a page
   * table runs out: give back the user tables made for the call; kernel
   * tables made on the way may stay (shared by every pagedir, they are never
   * freed; see `Paging.mapMem`).
   */
  map(
    k: MapMemContext,
    pd: Pagedir | null,
    phys: number,
    virt: number,
    nPages: number,
    flags: number,
  ): boolean;
}

/** One coalesced run of mappings in an address-space dump. */
export interface MappedRange {
  /** First virtual address. */
  readonly virt: number;
  /** Physical address it maps to. */
  readonly phys: number;
  /** Number of pages, each mapping the next frame. */
  readonly pages: number;
  /** PTE flags common to all of them (A and D excluded). */
  readonly flags: number;
}

/** Codes carried by {@link PagingError}. */
export const PAGING_ERROR = {
  /** A number that is not an integer, a page count below 1. */
  BAD_ARGUMENT: "E_BAD_ARGUMENT",
  /** An address that is not page-aligned. */
  UNALIGNED: "E_UNALIGNED",
  /** A range with pages on both sides of the split. */
  CROSSES_SPLIT: "E_CROSSES_SPLIT",
  /** A range that runs past 4 GiB. */
  WRAPS: "E_WRAPS",
  /** PTE_USER asked for on a kernel address. */
  USER_ON_KERNEL: "E_USER_ON_KERNEL",
  /**
   * PTE_GLOBAL asked for on a user address: with CR4.PGE on, the translation
   * would survive the CR3 load of a switch, and the next address space would
   * read this one's frame (even after it is freed and reused).
   */
  GLOBAL_ON_USER: "E_GLOBAL_ON_USER",
  /** Physical pages past the end of RAM. */
  PAST_RAM: "E_PAST_RAM",
  /** Flags outside the low 12 bits of a PTE. */
  BAD_FLAGS: "E_BAD_FLAGS",
  /** A user address without a pagedir. */
  NO_PAGEDIR: "E_NO_PAGEDIR",
  /** Something given as a pagedir that is not one of this paging's pagedirs. */
  NOT_PAGEDIR: "E_NOT_PAGEDIR",
  /** A pagedir that was destroyed. */
  DESTROYED: "E_DESTROYED",
  /** Destroying the address space that is loaded in CR3. */
  CURRENT: "E_CURRENT",
  /** Destroying the first pagedir (the kernel's template). */
  INIT_PAGEDIR: "E_INIT_PAGEDIR",
  /** Options that cannot describe a machine (a split that is not a multiple of 4 MiB...). */
  BAD_CONFIG: "E_BAD_CONFIG",
} as const;

/** One of the {@link PAGING_ERROR} codes. */
export type PagingErrorCode = (typeof PAGING_ERROR)[keyof typeof PAGING_ERROR];

/** A refused call. Page tables, allocators and TLB are as they were before it. */
export class PagingError extends Error {
  /** Always `"PagingError"`. */
  override readonly name = "PagingError";
  constructor(
    /** Machine-readable reason. */
    readonly code: PagingErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
