/**
 * The paging interface every kernel design implements: the hobby kernel
 * ({@link Paging}), Whitix and Linux on i386 answer the same questions
 * (address spaces, map and unmap, inspection, the fault path) in their own
 * way, and one conformance suite (`@mm386/paging/conformance`) checks them
 * all through this interface only.
 *
 * ```
 *  caller (tests, stack-snapshot, viewer, experiments)
 *     |  createAddressSpace / switchTo / destroyAddressSpace
 *     |  map / unmap (user: one space; kernel: space = null)
 *     |  translate / dump / explain          (read-only inspection)
 *     |  read32 / write32 (va, cpl)          (the CPU: fault -> handler -> retry)
 *     v
 *  PagingDesign  --- how the kernel reaches its page tables is its own:
 *     hobby: vpde/kvpd addresses    Whitix: PDE 1023 -> the directory itself
 *     Linux: __va(phys) through the direct map
 *     ...always through the MMU at CPL 0 once paging is on.
 * ```
 *
 * What the interface leaves to the design, and what the conformance suite
 * therefore does not check: which flush instruction is used (invlpg, a CR3
 * reload, a CR4.PGE toggle), only that no stale translation is ever visible;
 * where kernel mappings may go (the design hands out a free region); whether
 * a kernel mapping reaches other address spaces at once or lazily through a
 * fault (Linux's vmalloc area), only that an access through
 * {@link PagingDesign.read32} sees it everywhere.
 *
 * @module
 */
import type { Cpl, Machine, WalkExplanation } from "@mm386/hw-i386";
import type { MappedRange } from "./api.js";

/**
 * One address space of a design: a page directory and whatever the design
 * keeps beside it. Opaque to callers except for what CR3 holds while it is
 * current. Only the design that made it accepts it back.
 */
export interface AddressSpace {
  /** Physical address of its page directory: what CR3 holds while it is current. */
  readonly cr3: number;
}

/** Names of the kernel designs mm386 knows. */
export const DESIGN_NAMES = ["hobby", "whitix", "linux"] as const;

/** One of {@link DESIGN_NAMES}. */
export type DesignName = (typeof DESIGN_NAMES)[number];

/**
 * A booted kernel design's paging, as the conformance suite, stack-snapshot,
 * the viewer and the experiments see it. Every call validates its arguments
 * first: bad input is a typed error (a `PagingError` or the design's own
 * error with a `code`) naming the value, and changes nothing. Out of memory is
 * a null or false result, never a half-made mapping.
 *
 * @typeParam S - the design's address-space type.
 */
export interface PagingDesign<S extends AddressSpace = AddressSpace> {
  /** The design's name: `"hobby"`, `"whitix"`, `"linux"` or one of your own. */
  readonly name: string;
  /** The machine it runs on. */
  readonly machine: Machine;
  /** The user/kernel boundary: user addresses are below it, kernel ones at or above. */
  readonly split: number;
  /**
   * The first virtual address user mappings may use: 0x1000 for the hobby
   * kernel (page 0 catches null pointers), 8 MiB for Whitix (its identity map
   * sits below), 0 for Linux. User mappings go in `[userStart, split)`.
   */
  readonly userStart: number;
  /**
   * The design's reference directory, whose kernel half is the master copy:
   * the hobby kernel's first pagedir, Whitix's kernel directory, Linux's
   * swapper_pg_dir. It is never destroyed.
   */
  readonly reference: S;
  /** The address space loaded in CR3. */
  readonly current: S;
  /** Every live address space, the reference first. */
  addressSpaces(): S[];
  /** A new address space with an empty user half and the shared kernel half; null when out of memory. */
  createAddressSpace(): S | null;
  /** Load `space` into CR3 (and whatever else the design does on a switch). */
  switchTo(space: S): void;
  /**
   * Give back every page table and the directory of `space`, and whatever
   * user frames the design itself allocated for it (demand paging). Frames a
   * caller mapped with {@link PagingDesign.map} stay the caller's. Refused for
   * the reference and for the current space.
   */
  destroyAddressSpace(space: S): void;
  /**
   * Map `nPages` pages from `virt` to the frames from `phys` with PTE `flags`
   * (PTE_PRESENT required). User addresses (`[userStart, split)`) in `space`,
   * which need not be current; kernel addresses (at or above the split, in a
   * region from {@link PagingDesign.allocKernelRegion}) with `space` null.
   * Page tables are made on demand. False, with nothing changed, when memory
   * for a page table runs out. After it returns, no access anywhere sees an
   * old translation of these pages.
   */
  map(space: S | null, virt: number, phys: number, nPages: number, flags: number): boolean;
  /** Unmap `nPages` pages from `virt` (unmapped pages are skipped); the frames stay the caller's. */
  unmap(space: S | null, virt: number, nPages: number): void;
  /** `n` consecutive free frames from the design's physical allocator (start address), or null. */
  allocFrames(n: number): number | null;
  /** Give back frames {@link PagingDesign.allocFrames} returned. */
  freeFrames(phys: number, n: number): void;
  /**
   * `nPages` consecutive kernel virtual pages nothing else uses, for mappings
   * made with `map(null, ...)`: the design decides where (the hobby kernel's
   * vpalloc, Whitix's 0xC0000000-0xD0000000, Linux's vmalloc area). Null
   * when there is no such run.
   */
  allocKernelRegion(nPages: number): number | null;
  /** Give back a region {@link PagingDesign.allocKernelRegion} returned (its pages must be unmapped). */
  freeKernelRegion(start: number, nPages: number): void;
  /** What the page tables of `space` (default: current) say about `va`; changes nothing. */
  translate(va: number, space?: S): WalkExplanation;
  /**
   * Every mapping of `space` (default: current) as coalesced runs, user half
   * then kernel half, as the design's own bookkeeping sees them (read through
   * the MMU). A recursive window (Whitix's self-map) is left out: it differs
   * per space and maps page tables, not memory.
   */
  dump(space?: S): MappedRange[];
  /** {@link PagingDesign.translate} told as a person would, with how this design reaches the table. */
  explain(va: number, space?: S): string;
  /**
   * Read 32 bits at `va` in the current address space as the CPU does: on a
   * page fault the design's fault handler runs (demand paging, a lazy
   * kernel-PDE sync...) and the access is retried, as the CPU re-executes
   * the instruction. A fault the design does not resolve is thrown (a
   * `PageFault`, or the design's own typed fault).
   */
  read32(va: number, cpl: Cpl): number;
  /** Write 32 bits at `va` in the current address space, with the same fault path as {@link PagingDesign.read32}. */
  write32(va: number, value: number, cpl: Cpl): void;
}
