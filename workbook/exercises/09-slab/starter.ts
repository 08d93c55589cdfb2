/**
 * Exercise 9: a slab cache. Read README.md first.
 * The free list lives in the free objects, in simulated memory: use read/write,
 * which go through the MMU at CPL 0.
 */
import { PAGE_SIZE, type Mmu, hex32 } from "@mm386/hw-i386";
import type { ObjectCache, ObjectCacheFactory, SlabPageSource } from "@mm386/malloc/slab";

/** A refused free: `code` is E_FOREIGN, E_INTERIOR or E_DOUBLE_FREE; the message names the address (hex32). */
export class SlabCacheError extends Error {
  constructor(
    readonly code: "E_FOREIGN" | "E_INTERIOR" | "E_DOUBLE_FREE",
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

class StudentCache implements ObjectCache {
  /** Slab start for each page a slab covers: page number (va >>> 12) -> slab address. */
  private readonly slabOfPage = new Map<number, number>();

  constructor(
    private readonly pages: SlabPageSource,
    private readonly mmu: Mmu,
    readonly objectSize: number,
  ) {}

  /** The word at kernel virtual address va. */
  private read(va: number): number {
    return this.mmu.read32(va, 0);
  }

  /** Write the word at kernel virtual address va. */
  private write(va: number, value: number): void {
    this.mmu.write32(va, value, 0);
  }

  alloc(): number | null {
    // TODO: pop the first free object of a slab that has one; none: make a slab with
    // this.pages.allocPages(1) (null: return null), thread its free list, then pop.
    void [this.pages, this.slabOfPage, PAGE_SIZE];
    void this.read;
    void this.write;
    return null;
  }

  free(va: number): void {
    // TODO: find va's slab (E_FOREIGN), check it is an object's start (E_INTERIOR) and
    // handed out (E_DOUBLE_FREE), then push it on the slab's free list.
    void [va, hex32, SlabCacheError];
  }
}

export const createCache: ObjectCacheFactory = (pages, mmu, objectSize) =>
  new StudentCache(pages, mmu, objectSize);
