/**
 * The vocabulary of malloc: the heap's word layout, the placement-policy swap
 * point, options and errors.
 *
 * Every header, footer and free-list word lives in simulated memory and is
 * read and written through the MMU at CPL 0, at kernel virtual addresses.
 *
 * ```
 *  a block (bp = the address malloc returns, aligned to 8 or 16):
 *
 *   bp-4        bp                                     bp+size-4
 *  +--------+--------------------------------------+
 *  | header |  payload ...                          |   allocated: header only
 *  +--------+--------+--------+------------+--------+
 *  | header |  next  |  prev  |   ...      | footer |   free: links + footer
 *  +--------+--------+--------+------------+--------+
 *   header = size | PREV_ALLOC (bit 1) | ALLOC (bit 0); size counts the header
 *
 *  a region (n pages from kvmalloc at C, with more virtual pages reserved
 *  after them so that it grows and shrinks in place, a page at a time):
 *  [ magic "HEAP" | (pad) | block | block | ... | epilogue header 0|ALLOC ]
 *  the first region holds the control words (the policy's list heads, then
 *  the size-class list heads) between the magic and the first block:
 *  [ magic "HEAP" | control words ... | (pad) | block | ... | epilogue ]
 *  a large block (requests >= the threshold, or that fill whole pages; its
 *  own kvmalloc): no header, the payload from the first page's first byte
 *  [ payload ............................................. ]  n pages
 *  (its page count is in the heap's record of that page, as Linux keeps a
 *  large kmalloc's order in its struct page)
 *  a size-class slab (k pages of objects of one size, no header per object):
 *  [ magic "SLAB" | size | free | bump | live | next | prev | 0 | object | object | ... ]
 *    free: the first free object (its first word links to the next), 0 if none
 *    bump: the first object never handed out, 0 once every one has been
 *    next, prev: the class's list of slabs with room, 0 for none
 *  a tiny run (a region block holding 32 objects of 8 or 16 bytes, no header each):
 *  [ header | bitmap | next | (pad to the alignment) | object | object | ... ]
 *    bitmap: bit k set = object k is live; next: the size's next run with room, 0 for none
 * ```
 *
 * @module
 */
import type { KernelPageAllocator } from "@mm386/kvmalloc";

/** Header bit: the block is allocated. */
export const ALLOC = 1;
/** Header bit: the block before this one is allocated (so it has no footer to read). */
export const PREV_ALLOC = 2;
/**
 * Header bit once used by large blocks.
 * @deprecated Large blocks have no header any more; no header has this bit
 * (the checker reports one that does). Kept for code that imports it.
 */
export const LARGE = 4;
/** First word of a chunk ("HEAP" in ASCII). */
export const CHUNK_MAGIC = 0x5041_4548;
/**
 * First word of a large block's pages ("LRGE" in ASCII), when they had one.
 * @deprecated Large blocks have no magic or header any more: the payload
 * starts at the first page. Kept for code that imports it.
 */
export const LARGE_MAGIC = 0x4547_524c;
/** Smallest block: header, two links and a footer. */
export const MIN_BLOCK = 16;
/** First word of a size-class slab ("SLAB" in ASCII). */
export const SLAB_MAGIC = 0x4241_4c53;
/** The bits of a header or footer word that hold the size (the low three are flags). */
export const SIZE_MASK = ~7;

/**
 * Byte offsets of a block's words from `bp`, the pointer malloc returns
 * (`FOOTER` from the block's end, `bp + size`), and of a slab's header words
 * from its start. Every header, footer and link access of the heap and the
 * shipped policies goes through these and the helpers below.
 */
export const LAYOUT = {
  /** The header word, just before the payload. */
  HEADER: -4,
  /** A free block's first link (next), in its payload. */
  NEXT: 0,
  /** A free block's second link (prev). */
  PREV: 4,
  /** A free block's footer, from the end of the block (`bp + size`). */
  FOOTER: -8,
  /** Slab header: the magic word. */
  SLAB_MAGIC: 0,
  /** Slab header: the object size in bytes. */
  SLAB_SIZE: 4,
  /** Slab header: the first free object, 0 for none. */
  SLAB_FREE: 8,
  /** Slab header: the first object never handed out, 0 once all have been. */
  SLAB_BUMP: 12,
  /** Slab header: the number of live objects. */
  SLAB_LIVE: 16,
  /** Slab header: the next slab of the class with room, 0 for none. */
  SLAB_NEXT: 20,
  /** Slab header: the previous slab of the class with room, 0 for none. */
  SLAB_PREV: 24,
  /** Bytes of a slab's header: its first object starts here (a multiple of 8 and 16). */
  SLAB_HEADER: 32,
  /** Tiny run (a region block, from its `bp`): the occupancy bitmap, bit k for object k. */
  RUN_BITMAP: 0,
  /** Tiny run: the next run of its object size with a free object, 0 for none. */
  RUN_NEXT: 4,
  /** Tiny run: its first object, with 8-byte alignment (16 with `align: 16`). */
  RUN_OBJECTS: 8,
} as const;

/** Address of the header word of the block at `bp`. */
export function headerOf(bp: number): number {
  return bp + LAYOUT.HEADER;
}

/** Address of the footer word of the free block at `bp` of `size` bytes. */
export function footerOf(bp: number, size: number): number {
  return bp + size + LAYOUT.FOOTER;
}

/** The size field of a header or footer word (header included, flags stripped). */
export function sizeOf(word: number): number {
  return word & SIZE_MASK;
}

/**
 * Words of simulated memory, reached through the MMU at CPL 0. The heap
 * hands its policy addresses as int32 (`va | 0`: a kernel address
 * 0xc0000000 and up is negative), which V8 keeps as small integers, and its
 * `read` returns words in the same form, so that a link read back equals the
 * `bp` it was written from.
 */
export interface HeapMemory {
  /** The 32-bit word at kernel virtual address `va` (either form), as an int32. */
  read(va: number): number;
  /** Store a 32-bit word at kernel virtual address `va`. */
  write(va: number, value: number): void;
}

/**
 * The placement policy: how free blocks are organised and which one a request
 * gets. The swap point of malloc, tested by `describePolicyConformance` from
 * `@mm386/malloc/conformance`.
 *
 * The heap core owns headers, footers, splitting and coalescing; a policy
 * owns the free lists, which it must keep in simulated memory: the link words
 * inside free blocks (`bp` and `bp + 4`) and `controlWords` words of its own
 * at `control` (zeroed before `attach`). Blocks are named by `bp`, an int32
 * (see {@link HeapMemory}: two kernel addresses compare by order as int32
 * as they do unsigned, all being negative); their size includes the header.
 */
export interface PlacementPolicy {
  /** A short name, e.g. `"segregated fits"`. */
  readonly name: string;
  /** Words of control memory the policy needs (list heads). */
  readonly controlWords: number;
  /**
   * Called before any other call, with `control` zeroed: the lists start
   * empty. Called again, with new zeroed words, when the heap has given back
   * every region (nothing was left on the lists) and makes its first region
   * anew: a policy keeps no state but what `attach` sets up.
   */
  attach(memory: HeapMemory, control: number): void;
  /** Add the free block `bp` of `size` bytes to the free lists. */
  insert(bp: number, size: number): void;
  /** Take the free block `bp` of `size` bytes off the free lists. */
  remove(bp: number, size: number): void;
  /** A free block of at least `size` bytes, still on the lists, or 0 if none. */
  find(size: number): number;
  /** Call `visit` for every free block on the lists (for the heap checker). */
  forEachFree(visit: (bp: number) => void): void;
}

/** Makes a fresh {@link PlacementPolicy}. */
export type PolicyFactory = () => PlacementPolicy;

/** Options of {@link Malloc}. */
export interface MallocOptions {
  /** The placement policy. Default: segregated fits. */
  readonly policy?: PolicyFactory;
  /** Alignment of every returned pointer: 8 (default) or 16. */
  readonly align?: 8 | 16;
  /**
   * Requests of this many bytes or more go straight to kvmalloc. Default 64
   * KiB. A block that realloc must move to 4 KiB or more (or to this
   * threshold, if lower) gets pages of its own too, resized from then on by
   * remapping.
   */
  readonly largeThreshold?: number;
  /** Pages the heap grows by at least. Default 1: the footprint grows a page at a time. */
  readonly chunkPages?: number;
  /**
   * Put small requests of a size that is in use many times over on pages of
   * their own (slabs, one object size each, no header per object), so that
   * freeing every block of one size gives whole pages back. Default true.
   */
  readonly sizeClasses?: boolean;
  /**
   * Keep small freed region blocks (up to 256 bytes, at most 8 of a size)
   * unmerged on quick lists, for the next request of their size: a free and
   * a malloc of a small size cost 8 MMU accesses instead of 20 or more. They
   * are merged before the heap takes a page, when a request finds no free
   * block, and when nothing is live. Default true; false gives textbook
   * boundary tags, every free merging at once (the workbook's quiz).
   */
  readonly quickLists?: boolean;
}

/** What the heap holds now, and its peaks. */
export interface HeapStats {
  /** Bytes of payload asked for by the live allocations. */
  readonly livePayload: number;
  /** The largest `livePayload` seen. */
  readonly peakPayload: number;
  /** Kernel pages the heap holds (regions, large blocks, slabs; the control words live in the first region). */
  readonly footprintPages: number;
  /** The largest `footprintPages` seen. */
  readonly peakFootprintPages: number;
  /** Live allocations. */
  readonly allocations: number;
  /** Regions held (each a run of pages that grows and shrinks in place). */
  readonly chunks: number;
  /** Size-class slabs held. */
  readonly slabs: number;
}

/** Codes carried by {@link MallocError}. */
export const MALLOC_ERROR = {
  /** A size that is not a non-negative integer. */
  BAD_ARGUMENT: "E_BAD_ARGUMENT",
  /** calloc(n, size) whose product does not fit. */
  OVERFLOW: "E_OVERFLOW",
  /** free/realloc of an address malloc never returned. */
  NOT_ALLOCATED: "E_NOT_ALLOCATED",
  /** free/realloc of an address that was freed already. */
  DOUBLE_FREE: "E_DOUBLE_FREE",
  /** A header or free-list word that cannot be right (found by a free or by the checker). */
  CORRUPT: "E_CORRUPT",
  /**
   * No memory for what cannot answer null: the heap's control page in the
   * `Malloc` constructor (malloc, calloc and realloc return null instead).
   */
  OUT_OF_MEMORY: "E_OUT_OF_MEMORY",
} as const;

/** One of the {@link MALLOC_ERROR} codes. */
export type MallocErrorCode = (typeof MALLOC_ERROR)[keyof typeof MALLOC_ERROR];

/** A refused call or a failed heap check. A refused call changes nothing. */
export class MallocError extends Error {
  /** Always `"MallocError"`. */
  override readonly name = "MallocError";
  constructor(
    /** Machine-readable reason. */
    readonly code: MallocErrorCode,
    message: string,
    /** `cause`: the error this one reports (e.g. what a policy's `attach` threw). */
    options?: ErrorOptions,
  ) {
    super(`${code}: ${message}`, options);
  }
}

/**
 * What the trace driver, the stack and the workbook need of a malloc: the
 * shipped {@link Malloc} and every student's (workbook exercise 8) have it.
 * Pointers are kernel virtual addresses, reached through the MMU.
 */
export interface HeapAllocator {
  /** A short human-readable name. */
  readonly name: string;
  /** `size` bytes, aligned to 8 (or more); null when out of memory. */
  malloc(size: number): number | null;
  /** Give back a block malloc or realloc returned. Anything else: an error with a code. */
  free(bp: number): void;
  /**
   * Resize the block at `bp` to `size` bytes, keeping its first
   * min(old, size) bytes; it may move. realloc(0, n) is malloc(n);
   * realloc(bp, 0) frees and returns null. Null when out of memory, with
   * the old block untouched.
   */
  realloc(bp: number, size: number): number | null;
  /** Optional: throw if the heap's invariants do not hold (the trace driver calls it after a run). */
  check?(): void;
  /** Optional: the alignment of every pointer (the trace driver checks it; default 8). */
  readonly align?: number;
  /** Optional: true if `[bp, bp + size)` lies in the heap's memory (the trace driver checks every block with it). */
  contains?(bp: number, size: number): boolean;
  /** Optional: the placement policy, whose name the trace driver reports instead of the heap's. */
  readonly policy?: {
    /** The policy's name, e.g. `"segregated fits"`. */
    readonly name: string;
  };
}

/** Makes a heap on top of a kvmalloc. */
export type HeapAllocatorFactory = (kv: KernelPageAllocator) => HeapAllocator;
