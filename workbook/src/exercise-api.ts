/**
 * The interfaces the exercises ask for, one per exercise. Each starter file
 * implements one of these; so does each reference adapter. They are plain
 * types on purpose: what a student writes is a module with these exports.
 *
 * ```
 *  exercise            module exports                 plugs into the stack as
 *  01 page walk        walk(read, regs, va, access)   a checker on every MMU walk
 *  02 TLB              createTlb()                    StackOptions.tlb
 *  03 buddy            buddyRanges(base, count)       StackOptions.rangeAllocator
 *  04 page ranges      pageRanges(label, start, ...)  StackOptions.pageRanges
 *  05 boot             boot(machine, options)         StackOptions.boot
 *  06 mapMem           mapMem: MapMem                 StackOptions.mapMem
 *  07 kvmalloc         createKvmalloc(paging)         StackOptions.kvmalloc
 *  08 malloc           createMalloc(kv)               StackOptions.malloc
 * ```
 *
 * @module
 */
import type { PageRangesFactory, RangeAllocatorFactory } from "@mm386/allocation";
import type { Machine, Tlb } from "@mm386/hw-i386";
import type { KernelPageAllocator } from "@mm386/kvmalloc";
import type { HeapAllocator } from "@mm386/malloc";
import type { BootInfo, BootOptions, MapMem, Paging } from "@mm386/paging";

/** The registers a page walk depends on. */
export interface WalkRegs {
  /** CR0: WP (bit 16) decides whether supervisor writes honour R/W. */
  readonly cr0: number;
  /** CR3: bits 31:12 are the page directory's physical address. */
  readonly cr3: number;
  /** CR4: PSE (bit 4) lets a PDE with PS=1 map a 4 MiB page. */
  readonly cr4: number;
}

/** The kind of access being translated. */
export interface WalkAccess {
  /** A write (else a read). */
  readonly write: boolean;
  /** From user mode, CPL 3 (else supervisor, CPL 0). */
  readonly user: boolean;
}

/** What a walk finds: a physical address, or the #PF error code. */
export type WalkResult = WalkHit | WalkFault;

/** The access may happen: it reaches `pa`. */
export interface WalkHit {
  /** Always true. */
  readonly ok: true;
  /** The physical address reached. */
  readonly pa: number;
  /** True if a 4 MiB page (PDE.PS with CR4.PSE) translated it. */
  readonly large: boolean;
}

/** The access raises a page fault. */
export interface WalkFault {
  /** Always false. */
  readonly ok: false;
  /** The #PF error code: P (bit 0), W/R (1), U/S (2), RSVD (3). */
  readonly errorCode: number;
}

/** Reads one 32-bit word of physical memory. */
export type ReadPhys = (pa: number) => number;

/** Exercise 1: a software page walk. */
export interface PageWalkExercise {
  /** Translate `va` for `access` through the tables at CR3, reading memory with `read`; no side effects. */
  readonly walk: (read: ReadPhys, regs: WalkRegs, va: number, access: WalkAccess) => WalkResult;
}

/** Exercise 2: a TLB. */
export interface TlbExercise {
  /** A new, empty TLB. */
  readonly createTlb: () => Tlb;
}

/** Exercise 3: a buddy allocator behind the RangeAllocator swap point. */
export interface BuddyExercise {
  /** Makes a buddy allocator over units `[base, base + count)`. */
  buddyRanges: RangeAllocatorFactory;
}

/** Exercise 4: runs of pages by address over a range allocator (what ppalloc and vpalloc are). */
export interface PageRangesExercise {
  /** Makes the page-run allocator for one range of addresses. */
  pageRanges: PageRangesFactory;
}

/** Exercise 5: the boot page table. */
export interface BootExercise {
  /** Build the boot page directory and table, load CR3, turn paging on; report what was used. */
  readonly boot: (machine: Machine, options: BootOptions) => BootInfo;
}

/** Exercise 6: mapMem with vpde bookkeeping and kernel-half synchronisation. */
export interface MapMemExercise {
  /** The implementation paging calls after validating the arguments. */
  mapMem: MapMem;
}

/** Exercise 7: kvmalloc / kvfree. */
export interface KvmallocExercise {
  /** A kvmalloc on top of `paging`. */
  readonly createKvmalloc: (paging: Paging) => KernelPageAllocator;
}

/** Exercise 8: malloc / free / realloc. */
export interface MallocExercise {
  /** A heap on top of `kv`. */
  readonly createMalloc: (kv: KernelPageAllocator) => HeapAllocator;
}
