/**
 * The interface of the kmap exercise: what the kernel gives the student's
 * code (KmapKernel) and what it must return (Pkmap).
 */
import type { Mmu } from "@mm386/hw-i386";

/** What the booted Linux gives kmap. */
export interface KmapKernel {
  /** The MMU: the pkmap table is written through it at its __va. */
  readonly mmu: Mmu;
  /** PAGE_OFFSET: a lowmem page's address is pageOffset + page. */
  readonly pageOffset: number;
  /** One past the last low page frame: pages at or above maxLowPfn * 4096 are highmem. */
  readonly maxLowPfn: number;
  /** PKMAP_BASE: slot nr is at pkmapBase + nr * 4096. */
  readonly pkmapBase: number;
  /** Kernel virtual address of the pkmap page table (PTE of slot nr at + 4 * nr). */
  readonly pkmapPageTable: number;
  /** kmap_prot: the PTE flags of a slot (PAGE_KERNEL, global with PGE). */
  readonly kmapProt: number;
  /** __flush_tlb_all: every TLB entry, global ones too (CR4.PGE toggled). */
  flushTlbAll(): void;
}

/** One busy slot, as {@link Pkmap.slots} lists it. */
export interface PkmapSlotView {
  /** Slot number. */
  readonly nr: number;
  /** The frame mapped there. */
  readonly page: number;
  /** pkmap_count[nr] (1: mapped without users). */
  readonly count: number;
}

/** The persistent kmap area the student builds. */
export interface Pkmap {
  /** The page's kernel address (lowmem: __va; highmem: its slot), or null when every slot has a user. */
  kmap(page: number): number | null;
  /** One user less (lowmem: nothing); throws for a page without a user. */
  kunmap(page: number): void;
  /** Free every slot at count 1, then one whole-TLB flush. */
  flushAllZeroPkmaps(): void;
  /** The slots whose count is not 0, lowest first. */
  slots(): PkmapSlotView[];
  /** How many times flushAllZeroPkmaps ran. */
  flushes(): number;
}
