/**
 * The slab allocator's vocabulary: the page-source port it consumes, the
 * slab's word layout in simulated memory, options, statistics and errors.
 *
 * ```
 *  a slab (pagesPerSlab pages from the page source, at S):
 *
 *   S+0   magic "SLAB"             S+16  next slab on its list (0 = end)
 *   S+4   cache id                 S+20  previous slab on its list (0 = none)
 *   S+8   objects in use           S+24  first object (S + header + colour)
 *   S+12  first free object (0)    S+28  reserved (0)
 *   S+32  allocation bitmap: bit i set = object i is handed out
 *   ...   colour (a multiple of the colour step, different per slab)
 *   first object ... | object | object | ...  each `slotSize` bytes
 *
 *  a free object: its link word (the first word, or the word after the
 *  object when the cache has a constructor) holds the next free object's
 *  address, 0 at the end of the list.
 * ```
 *
 * @module
 */
import type { Mmu } from "@mm386/hw-i386";

/**
 * The slab's swap point: where its pages come from. Each kernel design
 * implements it in its own way: the hobby kernel with kvmalloc/kvfree
 * ({@link kvPageSource}), Whitix with VirtMapPhysRange in
 * 0xC0000000-0xD0000000, Linux with `__va` of `allocPages`. Tested by
 * `describePageSourceConformance` from `@mm386/malloc/slab/conformance`.
 */
export interface SlabPageSource {
  /** A short human-readable name, e.g. `"kvmalloc"`. */
  readonly name: string;
  /**
   * `n` consecutive kernel virtual pages, mapped writable and
   * supervisor-only: the page-aligned address of the first, or null when out
   * of memory (all or nothing).
   */
  allocPages(n: number): number | null;
  /** Give back the `n` pages at `va`, exactly as `allocPages(n)` returned them. */
  freePages(va: number, n: number): void;
}

/** First word of every slab ("SLAB" in ASCII, little-endian). */
export const SLAB_MAGIC = 0x4241_4c53;

/** Byte offsets of the words of a slab's header (see the module diagram). */
export const SLAB_HEADER = {
  /** {@link SLAB_MAGIC}. */
  MAGIC: 0,
  /** The id of the cache the slab belongs to. */
  CACHE: 4,
  /** Objects handed out. */
  INUSE: 8,
  /** Address of the first free object, 0 when the slab is full. */
  FREE: 12,
  /** Next slab on the cache's list (full, partial or empty), 0 at the end. */
  NEXT: 16,
  /** Previous slab on that list, 0 at the head. */
  PREV: 20,
  /** Address of object 0 (after the header, the bitmap and the colour). */
  FIRST: 24,
  /** Reserved, 0. */
  RESERVED: 28,
  /** Start of the allocation bitmap, one bit per object. */
  BITMAP: 32,
} as const;

/** Options of a cache (`SlabAllocator.createCache`). */
export interface CacheOptions {
  /** Bytes of every object: an integer in [1, 65536]. */
  readonly size: number;
  /** Alignment of every object: a power of two in [4, 4096] (default 8). */
  readonly align?: number;
  /**
   * Called once on every object when a slab is made, with the object's
   * address (Bonwick's constructor): objects keep their constructed state
   * while free, so a freed object must be given back in that state. A cache
   * with a constructor keeps its free-list link after the object, not in it.
   */
  readonly ctor?: (va: number) => void;
  /** Give successive slabs different start offsets (default true). */
  readonly colour?: boolean;
  /** Empty slabs kept when objects are freed; more go back to the page source (default 1). */
  readonly reserve?: number;
  /** A name for dumps and errors (default `"cache-<size>"`). */
  readonly name?: string;
}

/** One cache's counters. */
export interface CacheStats {
  /** Objects handed out. */
  readonly live: number;
  /** Slabs on the full list. */
  readonly full: number;
  /** Slabs on the partial list. */
  readonly partial: number;
  /** Slabs on the empty list. */
  readonly empty: number;
  /** Pages the cache holds (slabs times pages per slab). */
  readonly pages: number;
}

/** Codes carried by {@link SlabError}. */
export const SLAB_ERROR = {
  /** An argument or option that is not a legal value. */
  BAD_ARGUMENT: "E_BAD_ARGUMENT",
  /** A free of an address this cache (or kmalloc) never handed out. */
  FOREIGN: "E_FOREIGN",
  /** A free of an object that is free already. */
  DOUBLE_FREE: "E_DOUBLE_FREE",
  /** A free of an address inside an object, not at its start. */
  INTERIOR: "E_INTERIOR",
  /** Destroying a cache that still has objects handed out. */
  BUSY: "E_BUSY",
  /** A slab word that cannot be right (found by alloc, free or the checker). */
  CORRUPT: "E_CORRUPT",
} as const;

/** One of the {@link SLAB_ERROR} codes. */
export type SlabErrorCode = (typeof SLAB_ERROR)[keyof typeof SLAB_ERROR];

/** A refused slab call or a failed check. A refused call changes nothing. */
export class SlabError extends Error {
  /** Always `"SlabError"`. */
  override readonly name = "SlabError";
  constructor(
    /** Machine-readable reason. */
    readonly code: SlabErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/**
 * What an object cache does, and all the workbook's slab exercise asks for:
 * objects of one size from slabs whose free list lives inside the slab.
 */
export interface ObjectCache {
  /** Bytes of every object. */
  readonly objectSize: number;
  /** An object's address, or null when the page source is out of memory. */
  alloc(): number | null;
  /** Give back an object `alloc` returned; anything else is a typed error, nothing changed. */
  free(va: number): void;
}

/**
 * Makes an {@link ObjectCache} of `objectSize`-byte objects on pages from
 * `pages`, reached through `mmu`: the shape of the workbook's slab exercise
 * and of `describeCacheConformance`.
 */
export type ObjectCacheFactory = (
  pages: SlabPageSource,
  mmu: Mmu,
  objectSize: number,
) => ObjectCache;
