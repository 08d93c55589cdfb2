/**
 * kmalloc, kfree and ksize on slab caches, as Linux builds them: one cache
 * per power-of-two size class from 32 bytes to a page, and requests larger
 * than a page as whole pages straight from the page source.
 *
 * ```
 *  kmalloc(size)   size <= 4096: the cache of the smallest class >= size
 *                   32  64  128  256  512  1024  2048  4096
 *                  size >  4096: ceil(size / 4096) pages from the page source
 * ```
 *
 * It implements the malloc package's heap contract (`HeapAllocator`), so
 * the heap conformance suite and the trace driver run on it.
 *
 * @module
 */
import { PAGE_SIZE, type Mmu, hex32 } from "@mm386/hw-i386";
import type { KernelPageAllocator } from "@mm386/kvmalloc";
import { describeValue } from "@mm386/paging";
import type { HeapAllocator, HeapAllocatorFactory } from "../api.js";
import { SLAB_ERROR, SlabError, type SlabPageSource } from "./api.js";
import { type SlabCache, SlabAllocator } from "./cache.js";
import { kvPageSource } from "./port.js";

/** kmalloc's size classes, as exponents of two. */
export const KMALLOC_CLASSES = {
  /** Smallest class: 2^5 = 32 bytes. */
  MIN_SHIFT: 5,
  /** Largest class: 2^12 = one page; anything larger is whole pages. */
  MAX_SHIFT: 12,
} as const;

/** Largest request kmalloc takes: what 32-bit addresses can hold. */
const MAX_REQUEST = 0xffff_ffff;

/** Options of {@link Kmalloc}. */
export interface KmallocOptions {
  /** Empty slabs each size-class cache keeps (default 1). */
  readonly reserve?: number;
  /** Colour the size-class caches' slabs (default true). */
  readonly colour?: boolean;
}

/** kmalloc/kfree/ksize on slab caches; also a {@link HeapAllocator}. */
export class Kmalloc implements HeapAllocator {
  /** `"kmalloc (slab)"`. */
  readonly name = "kmalloc (slab)";
  /** The slab allocator holding the size-class caches. */
  declare readonly slab: SlabAllocator;
  /** The size-class caches, smallest first (32, 64, ... 4096 bytes). */
  declare readonly caches: readonly SlabCache[];
  declare private readonly mmu: Mmu;
  /** Large allocations: first page number to pages. */
  private readonly large = new Map<number, number>();
  private largePages = 0;

  /** kmalloc on pages from `pages`, reached through `mmu`. */
  constructor(pages: SlabPageSource, mmu: Mmu, options: KmallocOptions = {}) {
    if (typeof options !== "object" || options === null || Array.isArray(options))
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `kmalloc options ${describeValue(options)} must be an object`,
      );
    const unknown = Object.keys(options).find((k) => k !== "reserve" && k !== "colour");
    if (unknown !== undefined)
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `unknown kmalloc option ${describeValue(unknown)} (known: reserve, colour)`,
      );
    this.slab = new SlabAllocator(pages, mmu);
    this.mmu = mmu;
    const caches: SlabCache[] = [];
    for (let s = KMALLOC_CLASSES.MIN_SHIFT; s <= KMALLOC_CLASSES.MAX_SHIFT; s++)
      caches.push(
        this.slab.createCache({
          size: 1 << s,
          // 8 is what the heap contract asks; more would spend header bytes on padding.
          align: 8,
          name: `kmalloc-${1 << s}`,
          ...(options.reserve === undefined ? {} : { reserve: options.reserve }),
          ...(options.colour === undefined ? {} : { colour: options.colour }),
        }),
      );
    this.caches = caches;
  }

  /** `size` bytes (aligned to 8); null when out of memory. kmalloc(0) returns a unique 32-byte object. */
  kmalloc(size: number): number | null {
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_REQUEST)
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `kmalloc(${describeValue(size)}): size must be an integer in [0, ${hex32(MAX_REQUEST)}]`,
      );
    if (size <= PAGE_SIZE) return this.caches[classIndex(size)]!.alloc();
    const pages = Math.ceil(size / PAGE_SIZE);
    const va = this.slab.pages.allocPages(pages);
    if (va === null) return null;
    this.large.set(va >>> 12, pages);
    this.largePages += pages;
    return va;
  }

  /**
   * Give back what kmalloc returned. An address it never returned
   * (E_FOREIGN), one freed already (E_DOUBLE_FREE) or one inside an object
   * (E_INTERIOR) is refused, naming the address, and nothing changes.
   */
  kfree(va: number): void {
    const owner = this.slab.slabOf(va);
    if (owner !== undefined) {
      owner.cache.free(va);
      return;
    }
    const pages = this.largeAt(va, "kfree");
    this.slab.pages.freePages(va, pages);
    this.large.delete(va >>> 12);
    this.largePages -= pages;
  }

  /** The usable size of the object at `va`: its class, or its pages times 4096. Errors as {@link kfree}. */
  ksize(va: number): number {
    const owner = this.slab.slabOf(va);
    if (owner !== undefined) {
      if (!owner.cache.isAllocated(va))
        throw new SlabError(SLAB_ERROR.DOUBLE_FREE, `ksize(${hex32(va)}): the object is free`);
      return owner.cache.objectSize;
    }
    return this.largeAt(va, "ksize") * PAGE_SIZE;
  }

  /**
   * Resize: in place while the new size keeps the same class (or the same
   * number of pages), otherwise a new block, the contents copied, the old
   * one freed. `krealloc(0, n)` is `kmalloc(n)`; `krealloc(va, 0)` frees and
   * returns null. Null when out of memory, the old block untouched.
   */
  krealloc(va: number, size: number): number | null {
    if (va === 0) return this.kmalloc(size);
    const old = this.ksize(va); // refuses a bad pointer before anything changes
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_REQUEST)
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `krealloc(${hex32(va)}, ${describeValue(size)}): size must be an integer in [0, ${hex32(MAX_REQUEST)}]`,
      );
    if (size === 0) {
      this.kfree(va);
      return null;
    }
    // Linux keeps the block whenever it is big enough; shrinking a page-sized
    // object to a few bytes in place would keep the page, so a smaller class
    // moves.
    if (usable(size) === old) return va;
    const to = this.kmalloc(size);
    if (to === null) return null;
    this.mmu.copyWords(to, va, Math.min(old, usable(size)) / 4, 0);
    this.kfree(va);
    return to;
  }

  /** Pages held: slabs of every class plus large allocations. */
  get pagesHeld(): number {
    return this.slab.pagesHeld + this.largePages;
  }

  /** Walk every slab through the MMU and the large allocations; throws E_CORRUPT. */
  check(): void {
    this.slab.check();
    for (const page of this.large.keys())
      if (this.slab.slabOf(page * PAGE_SIZE) !== undefined)
        throw new SlabError(
          SLAB_ERROR.CORRUPT,
          `large allocation ${hex32(page * PAGE_SIZE)} is also recorded as a slab`,
        );
  }

  /** {@link kmalloc}, for the heap contract. */
  malloc(size: number): number | null {
    return this.kmalloc(size);
  }

  /** {@link kfree}, for the heap contract. */
  free(va: number): void {
    this.kfree(va);
  }

  /** {@link krealloc}, for the heap contract. */
  realloc(va: number, size: number): number | null {
    return this.krealloc(va, size);
  }

  /** The pages of the large allocation at `va`, or the error `verb` gets. */
  private largeAt(va: number, verb: string): number {
    if (typeof va !== "number" || !Number.isSafeInteger(va) || va < 0 || va > 0xffff_ffff)
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `${verb}(${describeValue(va)}): not a 32-bit address`,
      );
    const pages = va % PAGE_SIZE === 0 ? this.large.get(va >>> 12) : undefined;
    if (pages !== undefined) return pages;
    // The error path only: which large block holds va, if any.
    const page = Math.floor(va / PAGE_SIZE);
    for (const [start, n] of this.large)
      if (page >= start && page < start + n)
        throw new SlabError(
          SLAB_ERROR.INTERIOR,
          `${verb}(${hex32(va)}): inside the ${n}-page block at ${hex32(start * PAGE_SIZE)}`,
        );
    throw new SlabError(
      SLAB_ERROR.FOREIGN,
      `${verb}(${hex32(va)}): kmalloc did not return this address (or it was freed)`,
    );
  }
}

/** The size-class index for a request of `size` <= 4096 bytes (0 for 32 bytes). */
function classIndex(size: number): number {
  if (size <= 1 << KMALLOC_CLASSES.MIN_SHIFT) return 0;
  // Smallest s with 2^s >= size: 32 - clz32(size - 1).
  return 32 - Math.clz32(size - 1) - KMALLOC_CLASSES.MIN_SHIFT;
}

/** Bytes kmalloc(size) gives: its class, or whole pages. */
function usable(size: number): number {
  return size <= PAGE_SIZE
    ? 1 << (classIndex(size) + KMALLOC_CLASSES.MIN_SHIFT)
    : Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * The slab heap on a kvmalloc, as a heap factory: what `createStack({ malloc })`,
 * the trace driver and `malloc-trace --heap slab` use.
 */
export const slabHeap: HeapAllocatorFactory = (kv: KernelPageAllocator) =>
  new Kmalloc(kvPageSource(kv), kv.mmu);
