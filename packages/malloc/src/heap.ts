/**
 * malloc, calloc, realloc and free for small kernel objects, on kvmalloc pages.
 *
 * Three kinds of memory, all reached through the MMU at CPL 0:
 *
 * - **Regions** of boundary-tagged blocks: a header on every block, a footer
 *   on free ones, and a PREV_ALLOC bit so that an allocated block needs no
 *   footer. Freeing merges with a free neighbour on either side. A region is
 *   a kvmalloc run with virtual pages reserved after it, so it grows and
 *   shrinks in place a page at a time (`kvresize`): a block at its end grows
 *   with it, and a free tail goes back. The first region also holds the
 *   control words (the policy's list heads; the slab list heads are a block
 *   of it made with the first slab), so a heap with a few KiB of payload
 *   holds a page or two, not a control page plus a 16 KiB chunk.
 * - **Slabs** (size-class pages): once a small size is live many times over
 *   (a slab's worth), further blocks of that size come from pages holding
 *   only that size, without a header each. When every block of one size is
 *   freed, its slabs are whole free pages again and go back, so a larger
 *   size asked for next gets them (boundary tags could only offer holes the
 *   size of the old blocks).
 * - **Large blocks** (`largeThreshold` bytes or more, a page or more
 *   once realloc had to move them, or a request that fills whole pages) on
 *   pages of their own, with no header: the payload starts at the first
 *   page's first byte, and the block's page count is in the page's shadow
 *   record, which plays Linux's `struct page` here (as it says which slab
 *   an object is in). A 4095-byte request then takes one page, not two;
 *   realloc resizes them with `kvresize`, which moves frames rather than
 *   bytes (as mremap does).
 *
 * Which free block of a region a request gets is the placement policy's
 * business (the swap point).
 *
 * Besides the words in simulated memory, the heap keeps shadow bookkeeping
 * in TypeScript, the way a debugging allocator does: the regions, slabs and
 * large blocks held, and for every pointer handed out the bytes requested
 * and the block size it made. It never decides placement; it lets a bad free
 * be refused before anything changes (a header overwritten with a plausible
 * size would otherwise make free swallow the live block after it), and the
 * checker compare the two views. Each page the heap holds has a PageInfo
 * (its region or slab), in tables by page number; the record of each pointer
 * is in one open-addressing table of int32s keyed by the pointer
 * (`Malloc.recs`), because a Map lookup costs about as much as three MMU
 * accesses and every call makes several.
 *
 * Inside the heap an address is an int32 (`va | 0`): kernel addresses are
 * 0xc0000000 and up, which JavaScript holds as doubles (boxed whenever they
 * cross a call V8 does not inline), while an int32 stays a small integer.
 * The MMU takes either form; words read back that hold addresses (links,
 * list heads) are made int32 with `| 0`, and so is what kvmalloc returns.
 * The public methods take and return the unsigned address (malloc, realloc,
 * blocks, extents; messages print it in hex), and the heap never compares
 * two addresses by order, only offsets from a region's or slab's start.
 * On the lab fixtures this alone took the heap from 2.18 to 2.42 M
 * operations a second (same machine, same hour).
 *
 * @module
 */
import { ENTRIES_PER_TABLE, type Mmu, PAGE_SIZE, hex32 as hexU32 } from "@mm386/hw-i386";
import { type KernelPageAllocator, resizeKernelPages } from "@mm386/kvmalloc";
import { describeValue } from "@mm386/paging";
import {
  ALLOC,
  CHUNK_MAGIC,
  type HeapAllocator,
  type HeapMemory,
  type HeapStats,
  LAYOUT,
  MALLOC_ERROR,
  MIN_BLOCK,
  MallocError,
  type MallocOptions,
  type PlacementPolicy,
  PREV_ALLOC,
  SLAB_MAGIC,
  footerOf,
  headerOf,
  sizeOf,
} from "./api.js";
import { segregatedFits } from "./policies.js";

/** A page's index in its table of `pagesInfo`: `vpn & TABLE_MASK`. */
const TABLE_MASK = ENTRIES_PER_TABLE - 1;

/** `n` (an address as the heap holds it, an int32, or a header word) in hex, as an unsigned word. */
function hex32(n: number): string {
  return hexU32(n >>> 0);
}

/** The keys a {@link MallocOptions} may have. */
const MALLOC_OPTION_KEYS: readonly string[] = [
  "policy",
  "align",
  "largeThreshold",
  "chunkPages",
  "sizeClasses",
  "quickLists",
] satisfies (keyof MallocOptions)[];

/** Tuning of the heap, in one place. */
const TUNING = {
  /** Default `largeThreshold`: requests this big or more get pages of their own. */
  LARGE_THRESHOLD: 64 * 1024,
  /**
   * A block that realloc must move to this many bytes or more gets pages of
   * its own, resized from then on by remapping (see `move`).
   */
  REALLOC_LARGE: 4096,
  /**
   * Virtual pages reserved after a block realloc moves to pages of its own,
   * in times its pages (see mallocLarge).
   */
  LARGE_RESERVE: 8,
  /**
   * A request that fills whole pages (a large block has no header) but for
   * at most 1/64 of them gets pages of its own,
   * below `largeThreshold` too (see pageShaped). 1/32 gave more on the
   * generated realloc2 traces (0.75 -> 0.90) but took own pages for the
   * 4000- and 8000-byte blocks of the coalescing fixture, which then
   * mapped and unmapped pages at every operation (5x slower); 1/64 keeps
   * the 4072-byte blocks of the classic short1 trace (two live ones fit in
   * 2 pages, not 3), and the 84 generated traces went 0.8560 -> 0.8565.
   */
  PAGE_SHAPED_WASTE_SHIFT: 6,
  /** Default `chunkPages`: the footprint grows a page at a time. */
  CHUNK_PAGES: 1,
  /**
   * Virtual pages reserved after a region (16 MiB), so it grows in place.
   * Only virtual space: frames are taken as the region grows. Halved until
   * kvmalloc finds a run that long.
   */
  REGION_RESERVE_PAGES: 4096,
  /**
   * A region's free tail goes back on free once this many whole pages of it
   * are free (64 KiB, as glibc's trim threshold is 128 KiB). Smaller tails
   * go back only when the heap takes pages for something else (a slab, a
   * large block, a region), so they never count in a peak, and a malloc/free
   * pair at the end of a region does not map and unmap a page each time.
   */
  TRIM_PAGES: 16,
  /**
   * Most pages of the page run (see runAlloc). A free page in its middle
   * cannot go back until a block takes it again, so it is kept small: at
   * most 3 pages held for nothing. 2 is enough for the classic coalescing
   * trace; 1, 2, 4 gave the same utilisation on the 21 lab fixtures and the
   * 84 generated traces, 16 and more lost 0.0003 (random: 0.878 -> 0.874).
   * Past 4 live page-shaped blocks, each more has pages of its own (a
   * freed one is kept for the next request of its size: see idleLarge).
   */
  RUN_PAGES: 4,
  /**
   * Freed large blocks kept for reuse at most (see idleLarge). slab.bench's
   * 256 live blocks of 4096 bytes, freed and allocated in turn: 0.46 M
   * pairs a second without, 2.1 M with 4 kept. The classic program traces
   * (amptjp, cccp, cp-decl, expr: hundreds of live 4072-byte blocks, freed
   * and asked for in bursts) made a kvmalloc and a kvfree for a third of
   * their operations with 4 kept, given back before any page was taken;
   * kept up to the peak footprint, expr went 0.4-0.8 -> 1.5-2.6 M ops/s
   * with the same utilisation.
   */
  IDLE_LARGE: 1024,
  /** Largest freed large block, in pages, kept for reuse (see idleLarge). */
  IDLE_LARGE_PAGES: 16,
  /** Largest object size served by slabs. */
  SLAB_MAX: 512,
  /**
   * Live blocks of a size, in slabs' worth, from which a new slab is made
   * even though the wilderness could hold the block (see allocate). 4 did
   * best on the lab fixtures (2 and 4 within 0.1%; without the rule the
   * program-like traces lost 3-6 points).
   */
  SLAB_BULK: 4,
  /** Entries of the shadow record table of a new heap (a power of two; 16 bytes each). */
  RECORDS_MIN: 1024,
  /** Most pages in one slab. */
  SLAB_PAGES_MAX: 8,
  /** A slab may waste at most this fraction of its bytes (header and tail): 1/32. */
  SLAB_WASTE_SHIFT: 5,
  /**
   * Freed region blocks of this many bytes or fewer (16 to 256: one quick
   * list per size, 31 words) go on a quick list, unmerged, for the next
   * request of their exact size (see `quick`). On the classic-shaped lab
   * fixtures, 56, 128, 256 and 512 gave the same mean utilisation within
   * 0.004 and 9.6, 9.6, 9.4, 9.4 MMU accesses an operation (10.4 without
   * quick lists).
   */
  QUICK_MAX: 256,
  /**
   * Blocks a quick list holds at most (glibc's tcache keeps 7); a free
   * beyond it merges as usual. 8 and 16 measured the same.
   */
  QUICK_DEPTH: 8,
  /**
   * Bytes of objects in a tiny run (at most 32 objects: one bitmap word).
   * A run of 8-byte objects is a 272-byte region block (header, bitmap,
   * link, 32 * 8 bytes, a spare word): half a byte of overhead an object,
   * where a region block of its own costs 8 (a 16-byte block for an 8-byte
   * payload). 256 (16-byte objects 16 to a run) gave more on the 84
   * generated traces (0.8630 against 0.8616) but lost the cp-decl fixture a
   * page (0.901 -> 0.859).
   */
  RUN_BYTES: 512,
  /** Largest object size in tiny runs (8 and 16 bytes with align 8; 16 with align 16). */
  RUN_MAX: 16,
  /**
   * Live blocks of a tiny size from which its new blocks go to tiny runs
   * (a run with room is used whatever the count): below it, a run of 32
   * objects would hold a few and cost more than their headers.
   */
  RUN_FROM: 16,
} as const;

/** Quick lists: one per block size from 16 to {@link TUNING.QUICK_MAX} bytes, by 8. */
const QUICK_LISTS = (TUNING.QUICK_MAX - MIN_BLOCK) / 8 + 1;

/** Where one part of the heap is: see {@link Malloc.extents}. */
export interface HeapExtent {
  /**
   * A region of boundary-tagged blocks, a large block, a size-class slab, or
   * a tiny run (a block of a region holding tiny objects without headers).
   */
  readonly kind: "region" | "large" | "slab" | "run";
  /** Its first byte (the magic word; a run's: its block's header). */
  readonly start: number;
  /** Pages it holds now (0 for a run: it lies inside its region's pages). */
  readonly pages: number;
  /** The first block's pointer (a region's, the large block's, the slab's or run's first object). */
  readonly first: number;
  /** A run's object size (8 or 16), absent for the others. */
  readonly objectSize?: number;
  /** A run's bytes (its region block, header included), absent for the others. */
  readonly bytes?: number;
}

/** A run of pages of boundary-tagged blocks that grows and shrinks in place. */
interface Region {
  readonly start: number;
  /** Pages mapped now. */
  pages: number;
  /** Virtual pages reserved for it (at least `pages`). */
  readonly reserve: number;
  /** The first block's pointer. */
  readonly first: number;
}

/**
 * The page run: one kvmalloc run, grown and shrunk in place at its end,
 * that page-shaped blocks are cut from a whole number of pages at a time
 * (see runAlloc). `used` marks the pages of live blocks.
 */
interface PageRun {
  readonly start: number;
  /** Pages mapped now. */
  pages: number;
  /** Virtual pages reserved for it (at least `pages`). */
  readonly reserve: number;
  /** One byte per reserved page: 1 while a live block holds it. */
  readonly used: Uint8Array;
}

/** A slab: `pages` pages of objects of one size. */
interface Slab {
  readonly start: number;
  readonly pages: number;
  readonly cls: number;
  readonly size: number;
}

/** Shadow bookkeeping of one kernel page (see the module comment). */
interface PageInfo {
  /**
   * The page's generation: the records of its pointers carry it, so that
   * records made while the heap held this page before are not read as its
   * own (see {@link Malloc.recs}).
   */
  readonly gen: number;
  region: Region | null;
  slab: Slab | null;
}

/** The third flag bit of a header, which no block uses (large blocks had it, `LARGE`, when they had a header). */
const UNUSED_FLAG = 4;

/** A shadow record's first number for a freed block on a quick list (see {@link Malloc.recs}). */
const QUICK_REC = -2;

/**
 * A shadow record's first number for a tiny run's region block (its second
 * is the block size, as for any region block). Never handed out: free and
 * realloc of it are refused as E_NOT_ALLOCATED. The objects of a run have
 * records of their own, whose second number is odd (see {@link runKind}).
 */
const RUN_REC = -3;

/**
 * The second number of a tiny-run object's shadow record: bit 0 set (no
 * region block size, slab object or large block is odd and positive), the
 * object size (a multiple of 8 below 4096) in bits 3-11, and the object's
 * index in its run from bit 12. The object's run is found from these alone,
 * as a slab object's page says which slab it is in.
 */
function runKind(index: number, objectSize: number): number {
  return (index << 12) | objectSize | 1;
}

/** The object size of a tiny-run object whose record's second number is `kind`. */
function runKindSize(kind: number): number {
  return kind & 0xff8;
}

/** Fibonacci hashing's multiplier (2^32 / the golden ratio), for {@link Malloc.recs}. */
const REC_HASH = 0x9e37_79b1;

/**
 * Where the search for pointer `key` starts in a record table whose hash
 * shift is `shift` (32 - log2 of its entries) and whose last entry's index is
 * `mask`: a place for its page (hashed), then its slot in that page (offset /
 * 8), so that the records of one page lie side by side, as they did when
 * each page had its own. Hashing the whole pointer scattered a heap of small
 * blocks over the table: a trace of 40,000 freed 24-byte blocks ran a third
 * slower.
 */
function recHome(key: number, shift: number, mask: number): number {
  return (((Math.imul(key >>> 12, REC_HASH) >>> shift) + ((key & 0xfff) >>> 3)) << 2) & mask;
}

/** Words of one page: the most control words a policy can ask for. */
const CONTROL_WORDS_MAX = PAGE_SIZE / 4;

/** The methods every {@link PlacementPolicy} has. */
const POLICY_METHODS = ["attach", "insert", "remove", "find", "forEachFree"] as const;

/**
 * Call the policy factory and check that what it made is a policy, so that a
 * wrong option is one typed error here rather than a TypeError deep inside
 * the first malloc.
 */
function makePolicy(factory: unknown): PlacementPolicy {
  const bad = (what: string, cause?: unknown): never => {
    throw new MallocError(
      MALLOC_ERROR.BAD_ARGUMENT,
      what,
      cause === undefined ? undefined : { cause },
    );
  };
  if (typeof factory !== "function")
    bad(`policy ${describeValue(factory)} is not a function (a PolicyFactory that makes a policy)`);
  let p: unknown;
  try {
    p = (factory as () => unknown)();
  } catch (e) {
    bad(`the policy factory threw (${e instanceof Error ? e.message : describeValue(e)})`, e);
  }
  if (typeof p !== "object" || p === null)
    return bad(`the policy factory returned ${describeValue(p)}, not a policy object`);
  const policy = p as Record<string, unknown>;
  if (typeof policy.name !== "string")
    bad(`the policy's name ${describeValue(policy.name)} is not a string`);
  const cw = policy.controlWords;
  if (!Number.isSafeInteger(cw) || (cw as number) < 0 || (cw as number) > CONTROL_WORDS_MAX)
    bad(
      `policy "${String(policy.name)}": controlWords ${describeValue(cw)} must be an integer in [0, ${CONTROL_WORDS_MAX}] (one control page)`,
    );
  for (const m of POLICY_METHODS)
    if (typeof policy[m] !== "function")
      bad(`policy "${String(policy.name)}": ${m} is ${describeValue(policy[m])}, not a function`);
  return p as PlacementPolicy;
}

/**
 * The policy's view of simulated memory: words through the MMU at CPL 0,
 * read back as int32. A class, so that every heap's policy calls the same
 * two functions (an object of two closures per heap was a new call target
 * for the policy with each heap the trace driver made).
 */
class MmuWords implements HeapMemory {
  declare private readonly mmu: Mmu;
  constructor(mmu: Mmu) {
    this.mmu = mmu;
  }
  read(va: number): number {
    return this.mmu.read32(va, 0) | 0;
  }
  write(va: number, value: number): void {
    this.mmu.write32(va, value, 0);
  }
}

/** One block of the heap, for dumps and tests. */
export interface HeapBlock {
  /** The pointer malloc returns for it. */
  readonly bp: number;
  /** Bytes, header included (a slab object's size: it has no header). */
  readonly size: number;
  /** Allocated (true) or free. */
  readonly allocated: boolean;
  /** A large block with pages of its own. */
  readonly large: boolean;
  /**
   * A tiny run's region block: the size of its objects (each live one is
   * listed too, with `inRun`). Absent on other blocks.
   */
  readonly runOf?: number;
  /** A live object of a tiny run: the run block's pointer. Absent on other blocks. */
  readonly inRun?: number;
}

/** Pages and objects of a slab of `size`-byte objects: the fewest pages that waste little. */
function slabShape(size: number): { pages: number; capacity: number } {
  let best = { pages: 1, capacity: 0, waste: Infinity };
  for (let pages = 1; pages <= TUNING.SLAB_PAGES_MAX; pages++) {
    const bytes = pages * PAGE_SIZE;
    const capacity = Math.floor((bytes - LAYOUT.SLAB_HEADER) / size);
    const waste = (bytes - capacity * size) / bytes;
    if (bytes - capacity * size <= bytes >>> TUNING.SLAB_WASTE_SHIFT) return { pages, capacity };
    if (waste < best.waste) best = { pages, capacity, waste };
  }
  return { pages: best.pages, capacity: best.capacity };
}

/** A heap in simulated kernel memory. */
export class Malloc implements HeapAllocator {
  /** The page allocator the heap grows with. */
  declare readonly kv: KernelPageAllocator;
  /** `"malloc (<policy name>)"`. */
  declare readonly name: string;
  /** The placement policy. */
  declare readonly policy: PlacementPolicy;
  /** Alignment of every pointer returned. */
  declare readonly align: 8 | 16;
  /** Requests of this many bytes or more get pages of their own. */
  declare readonly largeThreshold: number;
  /** A block resized by realloc to this many bytes or more gets pages of its own if it must move (and keeps them while it stays this big). */
  declare private readonly reallocLarge: number;
  /** Pages the heap grows by at least. */
  declare readonly chunkPages: number;
  /** Whether small sizes in use many times over get slabs of their own. */
  declare readonly sizeClasses: boolean;
  /** Whether small freed blocks go on quick lists (see {@link MallocOptions.quickLists}). */
  declare readonly quickLists: boolean;
  /** Blocks a quick list holds at most: TUNING.QUICK_DEPTH, 0 without quick lists. */
  declare private readonly quickDepth: number;
  /** The policy's view of simulated memory (the heap itself calls the MMU directly: one call less per word). */
  declare private readonly mem: HeapMemory;
  /** The MMU every word of the heap is read and written through, at CPL 0 (the default). */
  declare private readonly mmu: Mmu;
  /** The first control word (in the first region). */
  declare private control: number;
  /**
   * The quick lists' heads, one word per block size from 16 to QUICK_MAX
   * bytes, 0 until the first small block is freed: the heads are then made
   * as a block of a region (never freed, never handed out, as the slab
   * list heads are), if one fits without a page more. A heap that never
   * frees a small block does not carry them, and the first page keeps its
   * room for blocks. A small region block that is freed
   * goes on its size's list as it is (its header still says allocated,
   * its first word links to the next), and the next request of that block
   * size takes it back: a push or a pop is three words, where a free that
   * merges and a malloc that splits take 10-20. Programs free and allocate
   * the same small sizes over and over (glibc's tcache and fastbins). The
   * lists are bounded (QUICK_DEPTH each) and merged into the free lists
   * (`flushQuick`) before the heap takes a page or grows a block in place,
   * or when a request finds no free block, so they never add a page to
   * the footprint that merging would have saved.
   */
  private quick = 0;
  /** Blocks on each quick list (host-side bookkeeping: the lists are in simulated memory). */
  private readonly quickCount = new Int32Array(QUICK_LISTS);
  /** Blocks on all quick lists. */
  private quickTotal = 0;
  /**
   * The first slab list head (one word per slab class), 0 until the first
   * slab: the heads are a block of the first region made then (a heap that
   * never uses slabs does not carry 65 words of them), never freed, and
   * never handed out (it has no shadow record, so free and realloc refuse it).
   */
  private slabHeads = 0;
  /** Regions by address; `regions[0]`'s place is fixed for the heap's life. */
  private readonly regions: Region[] = [];
  /**
   * The first region, which holds the control words; null while the heap
   * holds no region (see releaseHome), until a request needs one again.
   */
  declare private home: Region | null;
  /** Live blocks handed out from regions (not slab objects, not large blocks). */
  private regionLive = 0;
  /** The region made last: the one that grows (the first region until there is another). */
  declare private top: Region;
  /** The end of `top` (its epilogue is the word before). */
  private topEnd = 0;
  /**
   * The wilderness: the free block at the end of `top`, 0 if none. It is a
   * free block like any other in memory (header, footer), but is kept off
   * the policy's lists and used only when no listed block fits, so that the
   * block before it can grow in place (dlmalloc's top chunk): otherwise a
   * small malloc after a realloc lands right after the grown block, which
   * must then move next time and leave a hole.
   */
  private wild = 0;
  /** The block free() validated, with the header and the next header validate read (-1: none). */
  private checkedBp = -1;
  private checkedH = 0;
  private checkedNH = 0;
  /** Large blocks (page-run blocks too), by pointer: their pages. */
  private readonly larges = new Map<number, number>();
  /**
   * Freed large blocks kept mapped for the next request of as many pages:
   * `idleLarge[n]` holds those of n pages (at most TUNING.IDLE_LARGE_PAGES;
   * TUNING.IDLE_LARGE blocks in all). They are given back only as far as
   * the heap must before it takes pages, so that they never raise the peak
   * footprint (see releaseHeld); a program that frees page-sized blocks and
   * asks for them again maps nothing.
   */
  private readonly idleLarge: number[][] = Array.from(
    { length: TUNING.IDLE_LARGE_PAGES + 1 },
    () => [],
  );
  /** Blocks in idleLarge. */
  private idleCount = 0;
  /** Pages of the blocks in idleLarge. */
  private idlePages = 0;
  /** The page run page-shaped blocks come from, null until the first (and after it is given back). */
  private run: PageRun | null = null;
  private readonly slabs = new Set<Slab>();
  /** Empty slabs kept for reuse, each its class's only slab (see slabFree). */
  private readonly idle = new Set<Slab>();
  /**
   * Shadow records by page: a directory of 1024-page tables made on first
   * use (a flat array over the kernel's 262144 pages cost more to make than
   * a small heap's whole life).
   */
  private readonly pagesInfo = new Array<(PageInfo | undefined)[] | undefined>(ENTRIES_PER_TABLE);
  /**
   * The shadow record of every pointer the heap handed out on a page it
   * still holds: an open-addressing table (linear probing), four numbers an
   * entry:
   *
   * ```
   *  +0 key     the pointer (an int32; 0: an empty entry)
   *  +1 gen     its page's PageInfo.gen when the record was made
   *  +2 first   the bytes requested + 1 (0: never handed out, -1: freed,
   *             QUICK_REC, RUN_REC)
   *  +3 second  what the pointer is: a block size (> 0) in a region, 0 for a
   *             slab object, minus the page count of a large block, odd for a
   *             tiny-run object (runKind)
   * ```
   *
   * A record is never removed on its own: freed, it says so (a second free
   * is then a double free). A page given back takes its records with it by
   * its generation: a page held again has a new PageInfo, and an entry of
   * another generation reads as none and is made anew in place. Stale
   * entries go when the table is rebuilt. Kept to half full.
   *
   * Why a table and not records by page and offset (two numbers for each
   * 8-byte offset of a page, as before): a heap of large blocks spread over
   * 15 MB made 4 KiB of records for each page with a block start, zeroed,
   * for one or two records in use, and each look-up then missed the host's
   * caches; this table holds only the pointers handed out.
   */
  private recs = new Int32Array(4 * TUNING.RECORDS_MIN);
  /** `recs`' entries minus 1, times 4: the index of the last entry. */
  private recMask = 4 * TUNING.RECORDS_MIN - 4;
  /** 32 minus log2 of `recs`' entries: the hash's shift. */
  private recShift = 32 - Math.log2(TUNING.RECORDS_MIN);
  /** Entries of `recs` with a key, stale ones included. */
  private recUsed = 0;
  /** True once a page was given back since `recs` was last rebuilt: some entries may be stale. */
  private recsStale = false;
  /** The generation the next PageInfo gets. */
  private nextGen = 1;
  /** The index in `recs` of the record of the block `validate` last passed (good until a record is made). */
  private validRec = -1;
  /** Live blocks of each small size (slab class), wherever they are: what decides slab or region. */
  declare private readonly classLive: Int32Array;
  declare private readonly classShape: { pages: number; capacity: number }[];
  /**
   * Live blocks of a class from which its blocks go to slabs: a slab's
   * worth, so that a slab is never mostly empty from the start. (The break
   * even between a half-empty slab and a header per block, n >= c * s /
   * (s + o) for c objects of s bytes and o bytes of overhead in a region,
   * did no better on the generated traces: the small ones lost what the
   * binary ones gained.) A class that has a slab with room uses it.
   */
  declare private readonly slabFrom: Int32Array;
  /** The size of the block regionAlloc placed last. */
  private placed = 0;
  /**
   * Tiny runs: slab classes (1 to `runClasses`) whose objects of
   * `class * align` bytes (8 or 16) go to runs once RUN_FROM are live; 0
   * without size classes.
   */
  declare private readonly runClasses: number;
  /** Offset of a run's first object from its `bp`: LAYOUT.RUN_OBJECTS aligned. */
  declare private readonly runStart: number;
  /**
   * Per class, the first run with a free object (0: none); the rest follow
   * through each run's RUN_NEXT word in simulated memory. Host-side as
   * `wild` is: a run list head is one word per class, and the first
   * region has no room to spare for it (its control words are the policy's).
   */
  declare private readonly runHead: Int32Array;
  /** Tiny runs held: block pointer -> object size (for extents, and check's count). */
  private readonly runs = new Map<number, number>();
  /**
   * Runs with no live object, kept (on their class list) until the heap is
   * about to take a page or a region block would need the wilderness
   * (`releaseEmptyRuns`): a malloc/free pair at a run's edge makes and
   * breaks nothing, and an empty run never adds to a peak.
   */
  private emptyRuns = 0;
  /** The bitmap validate read for the run object `checkedBp`. */
  private checkedMap = 0;
  private liveCount = 0;
  private livePayload = 0;
  private peakPayload = 0;
  private footprint = 0;
  private peakFootprint = 0;

  /**
   * A heap on `kv`, its control words in its first region, taken from `kv`
   * now. Bad options or a policy that is not one are a {@link MallocError}
   * E_BAD_ARGUMENT; no page for the first region is E_OUT_OF_MEMORY. A
   * refused construction holds no page.
   */
  constructor(kv: KernelPageAllocator, options: MallocOptions = {}) {
    // An options object or nothing: `null` or an array is a mistake, and so
    // is a key this class does not know (a typo such as `chunkpages` would
    // otherwise silently give the default).
    if (typeof options !== "object" || options === null || Array.isArray(options))
      throw new MallocError(
        MALLOC_ERROR.BAD_ARGUMENT,
        `options ${describeValue(options)} must be an object`,
      );
    const unknown = Object.keys(options).find((k) => !MALLOC_OPTION_KEYS.includes(k));
    if (unknown !== undefined)
      throw new MallocError(
        MALLOC_ERROR.BAD_ARGUMENT,
        `unknown option ${describeValue(unknown)} (known: ${MALLOC_OPTION_KEYS.join(", ")})`,
      );
    if (
      typeof kv !== "object" ||
      kv === null ||
      typeof kv.kvmalloc !== "function" ||
      typeof kv.kvfree !== "function" ||
      typeof kv.mmu !== "object" ||
      kv.mmu === null
    )
      throw new MallocError(
        MALLOC_ERROR.BAD_ARGUMENT,
        `kv ${describeValue(kv)} is not a kvmalloc (an object with kvmalloc, kvfree and mmu)`,
      );
    this.kv = kv;
    // Only undefined means "the default": an explicit null is refused like
    // any other value that is not a legal one.
    const align: unknown = options.align === undefined ? 8 : options.align;
    if (align !== 8 && align !== 16)
      throw new MallocError(
        MALLOC_ERROR.BAD_ARGUMENT,
        `alignment ${describeValue(align)} must be 8 or 16`,
      );
    this.align = align;
    this.largeThreshold =
      options.largeThreshold === undefined ? TUNING.LARGE_THRESHOLD : options.largeThreshold;
    this.chunkPages = options.chunkPages === undefined ? TUNING.CHUNK_PAGES : options.chunkPages;
    // Bounded by the 32-bit address space: a threshold of 4 GiB or a chunk
    // of more pages than the space holds describes no request that can exist.
    for (const [name, v, max] of [
      ["largeThreshold", this.largeThreshold, 0xffff_ffff],
      ["chunkPages", this.chunkPages, 2 ** 32 / PAGE_SIZE],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 1 || v > max)
        throw new MallocError(
          MALLOC_ERROR.BAD_ARGUMENT,
          `${name} ${describeValue(v)} must be an integer in [1, ${max}]`,
        );
    }
    this.reallocLarge = Math.min(this.largeThreshold, TUNING.REALLOC_LARGE);
    const sizeClasses: unknown = options.sizeClasses === undefined ? true : options.sizeClasses;
    if (typeof sizeClasses !== "boolean")
      throw new MallocError(
        MALLOC_ERROR.BAD_ARGUMENT,
        `sizeClasses ${describeValue(sizeClasses)} must be true or false`,
      );
    this.sizeClasses = sizeClasses;
    const quickLists: unknown = options.quickLists === undefined ? true : options.quickLists;
    if (typeof quickLists !== "boolean")
      throw new MallocError(
        MALLOC_ERROR.BAD_ARGUMENT,
        `quickLists ${describeValue(quickLists)} must be true or false`,
      );
    this.quickLists = quickLists;
    this.quickDepth = quickLists ? TUNING.QUICK_DEPTH : 0;
    const mmu = (this.mmu = kv.mmu);
    // Words come back as int32 (`| 0`), as the heap holds addresses: see the module comment.
    this.mem = new MmuWords(mmu);
    this.policy = makePolicy(options.policy === undefined ? segregatedFits : options.policy);
    this.name = `malloc (${this.policy.name})`;
    const classes = sizeClasses ? TUNING.SLAB_MAX / align : 0;
    this.classLive = new Int32Array(classes + 1);
    this.classShape = Array.from({ length: classes + 1 }, (_, c) =>
      slabShape(Math.max(c, 1) * align),
    );
    this.slabFrom = Int32Array.from(this.classShape, ({ capacity }) => capacity);
    this.runClasses = sizeClasses ? TUNING.RUN_MAX / align : 0;
    this.runStart = this.alignUp(LAYOUT.RUN_OBJECTS);
    this.runHead = new Int32Array(this.runClasses + 1);
    // The first region: magic, the control words, then the first block.
    let made: boolean;
    try {
      made = this.makeHome();
    } catch (e) {
      throw new MallocError(
        MALLOC_ERROR.BAD_ARGUMENT,
        `policy "${this.policy.name}": attach threw (${e instanceof Error ? e.message : describeValue(e)})`,
        { cause: e },
      );
    }
    // Exhaustion, not a bad argument: the constructor cannot return null, so it says so by code.
    if (!made)
      throw new MallocError(
        MALLOC_ERROR.OUT_OF_MEMORY,
        `no free page for the heap's first region, which holds its control words (kvmalloc(${this.homePages()}) returned null)`,
      );
    this.peakFootprint = this.footprint;
  }

  /** Bytes before the first region's first block: magic, the control words, a header. */
  private homeFirst(): number {
    return this.alignUp(4 + 4 * this.policy.controlWords + 4);
  }

  /** Pages of a first region. */
  private homePages(): number {
    return Math.max(this.chunkPages, Math.ceil((this.homeFirst() + MIN_BLOCK) / PAGE_SIZE));
  }

  /**
   * Map a first region (at construction, and again after releaseHome gave it
   * back): the control words are zeroed and the policy attached to them (anew:
   * its lists were empty, no region was left). False when out of memory; if
   * zeroing or attaching throws, the pages go back before the error does.
   */
  private makeHome(): boolean {
    const first = this.homeFirst();
    const pages = this.homePages();
    this.releaseHeld(false, pages); // taking pages: what is held for reuse goes first if it would add to a peak
    const got = this.mapRegion(pages);
    if (got === null) return false;
    this.control = got.start + 4;
    try {
      for (let va = this.control; va < got.start + first - 4; va += 4) this.mmu.write32(va, 0);
      this.policy.attach(this.mem, this.control);
    } catch (e) {
      // Nothing else refers to the pages yet: give them back, so a refused heap holds nothing.
      this.kv.kvfree(got.start >>> 0, pages);
      throw e;
    }
    this.home = this.addRegion(got.start, pages, got.reserve, got.start + first);
    return true;
  }

  /**
   * Before the heap takes a page for a slab or a large block: if no block of
   * the regions is live, give every region page back, the first region's
   * control words too (the quick lists merged, their heads and the slab
   * list heads dropped when no slab is left). A program whose live blocks
   * are all page-sized then holds only their pages: two live 4072-byte
   * blocks fit in 2 pages, not 3 (the classic short1 trace's peak). The
   * first region is made again by the next request that needs one.
   */
  private releaseHome(): void {
    const home = this.home!;
    if (this.quick !== 0) {
      if (this.quickTotal !== 0) this.flushQuick();
      const heads = this.quick;
      this.quick = 0;
      this.freeInRegion(heads, home);
    }
    if (this.idle.size !== 0) this.releaseIdle();
    if (this.slabs.size !== 0) return;
    this.slabHeads = 0;
    this.home = null;
    this.wild = 0;
    this.topEnd = 0;
    this.regions.length = 0;
    this.forgetPages(home.start, home.reserve);
    this.kv.kvfree(home.start >>> 0, home.pages);
    this.pagesChanged(-home.pages);
  }

  /** Sizes and peaks. */
  get stats(): HeapStats {
    return {
      livePayload: this.livePayload,
      peakPayload: this.peakPayload,
      footprintPages: this.footprint,
      peakFootprintPages: this.peakFootprint,
      allocations: this.liveCount,
      chunks: this.regions.length,
      slabs: this.slabs.size,
    };
  }

  /**
   * Give back every page the heap holds without a live block in it, as
   * `malloc_trim(0)` does: freed large blocks kept for reuse, the page
   * run's free end, empty slabs kept for reuse, the top region's free whole
   * pages, and the first region if no block of the regions is live. (The
   * heap keeps these only while they fit under its peak footprint, and
   * gives them back itself before they would raise it.) A region gives back
   * only the free pages at its end: pages before a block still in use (a
   * live block, or the region block holding the quick lists' heads while any
   * block is live) stay. Returns the number of pages given back.
   */
  trim(): number {
    const before = this.footprint;
    this.trimTop();
    return before - this.footprint;
  }

  /** `size` bytes, aligned; null when out of memory. malloc(0) returns a unique pointer. */
  malloc(size: number): number | null {
    this.checkSize(size, "size");
    const bp = this.allocate(size);
    if (bp === 0) return null;
    this.payloadChanged(size);
    return bp >>> 0;
  }

  /** `n * size` zeroed bytes; a product that does not fit in 32 bits is refused. */
  calloc(n: number, size: number): number | null {
    this.checkSize(n, "element count");
    this.checkSize(size, "element size");
    const total = n * size;
    if (total > 0xffff_ffff)
      throw new MallocError(
        MALLOC_ERROR.OVERFLOW,
        `calloc(${n}, ${size}): ${n} * ${size} does not fit in 32 bits`,
      );
    const bp = this.malloc(total);
    if (bp !== null) for (let i = 0; i < total; i += 4) this.mmu.write32(bp + i, 0);
    return bp;
  }

  /** Give back a block malloc returned. A pointer it never returned, a double free or a corrupted header is refused, and nothing changes. */
  free(va: number): void {
    const info = this.validate(va, "free");
    const bp = va | 0;
    const r = this.validRec;
    const kind = this.recs[r + 3]!;
    this.untrack(r);
    // Nothing changed in memory since validate read the header and the next one: no need to read them again.
    this.checkedBp = bp;
    this.release(bp, info, kind);
    this.checkedBp = -1;
    // The last live block gone: a heap with nothing live is all merged,
    // its (empty) tiny runs and the quick lists' heads too (made again with the next).
    if (this.liveCount === 0 && this.emptyRuns !== 0) this.releaseEmptyRuns();
    if (this.liveCount === 0 && this.quick !== 0) {
      this.flushQuick();
      const heads = this.quick;
      this.quick = 0;
      this.freeInRegion(heads, this.infoOf(heads)!.region!);
    }
  }

  /**
   * Resize the block at `bp` to `size` bytes, keeping its contents: in place
   * when it shrinks, when the next block is free and big enough, or when it
   * is the last block of its region (the region grows); a large block is
   * resized by its pages (moved by remapping if it must move); else by
   * moving. realloc(0, size) is malloc; realloc(bp, 0) frees and returns
   * null. Null when out of memory (the block is then untouched).
   */
  realloc(va: number, size: number): number | null {
    if (va === 0) return this.malloc(size);
    this.checkSize(size, "size");
    const info = this.validate(va, "realloc");
    if (size === 0) {
      this.free(va);
      return null;
    }
    const bp = va | 0;
    const old = this.recs[this.validRec + 2]! - 1;
    const kind = this.recs[this.validRec + 3]!;
    let to = 0;
    if (kind < 0)
      // A large block stays large while it is a page or more; a page-run block stays while it
      // is page-shaped on as many pages (resizeLarge moves it otherwise).
      to =
        size >= this.reallocLarge || (this.inRun(bp) && this.pageShaped(size))
          ? this.resizeLarge(bp, -kind, size)
          : 0;
    else if (kind === 0) {
      // A slab object stays if the new size is of its class.
      if (size < this.largeThreshold && this.classOf(size) === info.slab!.cls) to = bp;
    } else if ((kind & 1) !== 0) {
      // A tiny-run object stays if the new size is of its size's class.
      if (size < this.largeThreshold && this.classOf(size) * this.align === runKindSize(kind))
        to = bp;
    } else if (size < this.largeThreshold) to = this.resizeInRegion(bp, info, kind, size);
    if (to === 0) return this.move(bp, info, old, size);
    if (to === -1) return null;
    this.reclass(old, size);
    this.recs[this.find(this.infoOf(to)!, to) + 2] = size + 1;
    this.payloadChanged(size - old);
    return to >>> 0;
  }

  /** True if `[bp, bp + size)` lies inside the block `bp` (a live or freed block's memory). */
  contains(bp: number, size: number): boolean {
    const info = this.infoOf(bp);
    if (info === undefined || !Number.isSafeInteger(bp) || bp % this.align !== 0) return false;
    const r = this.find(info, bp);
    if (r < 0 || this.recs[r + 2] === 0) return false;
    const kind = this.recs[r + 3]!;
    if (kind < 0) return size <= -kind * PAGE_SIZE;
    if (kind === 0) return bp + size <= bp + info.slab!.size;
    if ((kind & 1) !== 0) return bp + size <= bp + runKindSize(kind);
    return bp + size <= bp + kind + LAYOUT.HEADER;
  }

  /**
   * Where the heap's pages are, from its shadow records alone (no MMU access,
   * so an inspector can call it without touching the TLB): each region with
   * its first block's pointer, each large block and each slab.
   */
  extents(): HeapExtent[] {
    const out: HeapExtent[] = this.regions.map((r) => ({
      kind: "region" as const,
      start: r.start >>> 0,
      pages: r.pages,
      first: r.first >>> 0,
    }));
    for (const [bp, pages] of this.larges)
      out.push({ kind: "large", start: bp >>> 0, pages, first: bp >>> 0 });
    for (const sl of this.slabs)
      out.push({
        kind: "slab",
        start: sl.start >>> 0,
        pages: sl.pages,
        first: (sl.start + LAYOUT.SLAB_HEADER) >>> 0,
      });
    for (const [bp, objectSize] of this.runs)
      out.push({
        kind: "run",
        start: headerOf(bp) >>> 0,
        pages: 0,
        first: (bp + this.runStart) >>> 0,
        objectSize,
        bytes: this.recs[this.find(this.infoOf(bp)!, bp) + 3]!,
      });
    return out.sort((a, b) => a.start - b.start || a.pages - b.pages);
  }

  /** Every block of every region, the large blocks and the live slab objects, walking the heap through the MMU. */
  blocks(): HeapBlock[] {
    const quick = this.quickBlocks((va, what) => {
      throw new MallocError(MALLOC_ERROR.CORRUPT, `${hex32(va)}: ${what}`);
    });
    // A block on a quick list is free to its callers, though its header still says allocated.
    const out: HeapBlock[] = [];
    for (const b of this.regions.flatMap((r) => this.regionBlocks(r))) {
      const os = this.runs.get(b.bp);
      if (os === undefined) {
        out.push({ ...b, bp: b.bp >>> 0, allocated: b.allocated && !quick.has(b.bp) });
        continue;
      }
      // A tiny run: its block, then each live object (headerless, as a slab's).
      out.push({ ...b, bp: b.bp >>> 0, runOf: os });
      for (const obj of this.runObjects(b.bp, os))
        out.push({ bp: obj >>> 0, size: os, allocated: true, large: false, inRun: b.bp >>> 0 });
    }
    for (const [k, pages] of this.larges)
      out.push({
        bp: k >>> 0,
        size: pages * PAGE_SIZE,
        allocated: true,
        large: true,
      });
    for (const s of this.slabs)
      for (const bp of this.slabObjects(s).live)
        out.push({ bp: bp >>> 0, size: s.size, allocated: true, large: false });
    return out;
  }

  /**
   * Walk the whole heap through the MMU and check every header, footer,
   * free-list link and slab word against each other and against the
   * shadow records; throws a {@link MallocError} (E_CORRUPT) naming the first
   * address where something is wrong.
   */
  check(): void {
    const bad = (va: number, what: string): never => {
      throw new MallocError(MALLOC_ERROR.CORRUPT, `${hex32(va)}: ${what}`);
    };
    const free = new Set<number>();
    let live = 0;
    const quick = this.quickBlocks(bad);
    let quickSeen = 0;
    let runSeen = 0;
    for (const r of this.regions) {
      if (this.mmu.read32(r.start) !== CHUNK_MAGIC) bad(r.start, "region magic is gone");
      const end = r.start + r.pages * PAGE_SIZE;
      let prevAlloc = true;
      let prevFree = false;
      for (let bp = r.first; ;) {
        const h = this.mmu.read32(headerOf(bp));
        const size = sizeOf(h);
        if (((h & PREV_ALLOC) !== 0) !== prevAlloc)
          bad(
            headerOf(bp),
            `PREV_ALLOC bit says ${(h & PREV_ALLOC) !== 0}, the block before is ${prevAlloc ? "allocated" : "free"}`,
          );
        if (size === 0) {
          if (bp !== end || (h & ALLOC) === 0) bad(headerOf(bp), "epilogue header out of place");
          break;
        }
        if (size % this.align !== 0 || size < MIN_BLOCK || bp + size - r.start > end - r.start)
          bad(headerOf(bp), `block size ${size} is impossible here`);
        if ((h & UNUSED_FLAG) !== 0)
          bad(headerOf(bp), `header bit ${hex32(UNUSED_FLAG)} is set, which no block uses`);
        const rec = this.record(bp);
        if (bp === this.slabHeads) {
          if ((h & ALLOC) === 0 || size < 4 * this.classLive.length - LAYOUT.HEADER)
            bad(headerOf(bp), `the slab list heads' block header ${hex32(h)} is corrupted`);
        } else if (bp === this.quick) {
          if ((h & ALLOC) === 0 || size < 4 * QUICK_LISTS - LAYOUT.HEADER)
            bad(headerOf(bp), `the quick list heads' block header ${hex32(h)} is corrupted`);
        } else if ((h & ALLOC) === 0) {
          if (prevFree) bad(headerOf(bp), "two free blocks in a row (not coalesced)");
          if (this.mmu.read32(footerOf(bp, size)) !== h)
            bad(
              footerOf(bp, size),
              `footer ${hex32(this.mmu.read32(footerOf(bp, size)))} does not match header ${hex32(h)}`,
            );
          if (rec !== null && rec.requested >= 0)
            bad(bp, "a free block that malloc handed out and nobody freed");
          free.add(bp);
        } else if (quick.has(bp)) {
          if (rec!.kind !== size)
            bad(
              headerOf(bp),
              `block of ${size} bytes on the quick list of ${rec!.kind}-byte blocks`,
            );
          quickSeen++;
        } else if (this.runs.has(bp)) {
          live += this.checkRun(bp, size, bad);
          runSeen++;
        } else {
          if (rec === null || rec.requested < 0)
            bad(bp, "allocated block that malloc did not hand out");
          if (size + LAYOUT.HEADER < rec!.requested)
            bad(bp, `block of ${size} bytes holds a ${rec!.requested}-byte request`);
          if (rec!.kind !== size)
            bad(headerOf(bp), `block of ${size} bytes, malloc made it ${rec!.kind}`);
          live++;
        }
        prevAlloc = (h & ALLOC) !== 0;
        prevFree = !prevAlloc;
        bp += size;
      }
    }
    if (runSeen !== this.runs.size)
      bad(this.control, `${this.runs.size - runSeen} tiny run(s) are not blocks of a region`);
    this.checkRunLists(bad);
    if (quickSeen !== quick.size)
      bad(
        this.quick,
        `${quick.size - quickSeen} block(s) on the quick lists are not blocks of a region`,
      );
    let runUsed = 0;
    for (const [bp, pages] of this.larges) {
      // No words of its own to check (no header): its first page must be its own.
      const info = this.infoOf(bp);
      if (info === undefined || info.region !== null || info.slab !== null)
        bad(bp, `the large block's first page is not its own`);
      if (this.inRun(bp)) {
        const first = (bp - this.run!.start) / PAGE_SIZE;
        if (
          first + pages > this.run!.pages ||
          this.run!.used.subarray(first, first + pages).includes(0)
        )
          bad(bp, `the page run does not mark the ${pages} page(s) of this block as used`);
        runUsed += pages;
      }
      const rec = this.record(bp);
      if (rec === null || rec.requested < 0 || rec.kind !== -pages)
        bad(bp, "large block that malloc did not hand out");
      live++;
    }
    for (const bp of this.idleLarge.flat())
      if (this.larges.has(bp) || this.inRun(bp) || this.isLive(bp))
        bad(bp, "a large block kept for reuse is also in use");
    if (this.run !== null && this.run.used.reduce((a, b) => a + b, 0) !== runUsed)
      bad(this.run.start, `the page run marks pages used that no block holds`);
    const partial = new Set<Slab>();
    for (let c = 1; c < (this.slabHeads === 0 ? 0 : this.classLive.length); c++) {
      let prev = 0;
      for (let s = this.mmu.read32(this.slabHeads + 4 * c) | 0; s !== 0;) {
        const slab = this.infoOf(s)?.slab;
        if (slab?.start !== s || slab.cls !== c || partial.has(slab))
          bad(this.slabHeads + 4 * c, `class ${c}'s slab list holds ${hex32(s)}, not a slab of it`);
        if ((this.mmu.read32(s + LAYOUT.SLAB_PREV) | 0) !== prev)
          bad(s + LAYOUT.SLAB_PREV, "slab list prev link is wrong");
        partial.add(slab!);
        prev = s;
        s = this.mmu.read32(s + LAYOUT.SLAB_NEXT) | 0;
      }
    }
    for (const s of this.slabs) {
      if (this.mmu.read32(s.start) !== SLAB_MAGIC) bad(s.start, "slab magic is gone");
      if (this.mmu.read32(s.start + LAYOUT.SLAB_SIZE) !== s.size)
        bad(s.start + LAYOUT.SLAB_SIZE, `slab object size is not ${s.size}`);
      const objs = this.slabObjects(s); // throws on a bad free list
      const cap = this.classShape[s.cls]!.capacity;
      if (this.mmu.read32(s.start + LAYOUT.SLAB_LIVE) !== objs.live.length)
        bad(s.start + LAYOUT.SLAB_LIVE, `live count is not ${objs.live.length}`);
      for (const bp of objs.live) {
        const rec = this.record(bp);
        if (rec === null || rec.requested < 0 || rec.kind !== 0)
          bad(bp, "slab object in use that malloc did not hand out");
      }
      if (objs.live.length + objs.free + objs.unused !== cap)
        bad(s.start, "slab objects are neither live, free nor unused");
      if (objs.live.length < cap !== partial.has(s))
        bad(
          s.start,
          `slab with ${cap - objs.live.length} free objects is ${partial.has(s) ? "" : "not "}on its class list`,
        );
      live += objs.live.length;
    }
    if (live !== this.liveCount)
      bad(this.control, `${live} live blocks in the heap, ${this.liveCount} handed out`);
    if (this.wild !== 0) {
      const size = free.has(this.wild) ? sizeOf(this.mmu.read32(headerOf(this.wild))) : -1;
      if (this.wild + size !== this.topEnd)
        bad(this.wild, "the wilderness is not the free block at the end of the top region");
      free.delete(this.wild);
    } else if (this.home !== null && (this.mmu.read32(headerOf(this.topEnd)) & PREV_ALLOC) === 0)
      bad(this.topEnd - 4, "the top region ends with a free block that is not the wilderness");
    let listed = 0;
    // (Without a region the control words are gone: no list to walk.)
    if (this.home !== null)
      this.policy.forEachFree((bp) => {
        if (++listed > free.size)
          bad(
            bp,
            "the free lists hold more blocks than the heap (a cycle, or a block listed twice)",
          );
        if (!free.has(bp)) bad(bp, "on a free list but not a free block");
      });
    if (listed !== free.size)
      bad(this.control, `${free.size} free blocks in the heap, ${listed} on the free lists`);
  }

  /**
   * The blocks on the quick lists, read through the MMU; `bad` is called on
   * a list longer than its count (a cycle), or a block that is not a freed
   * region block of the list's size.
   */
  private quickBlocks(bad: (va: number, what: string) => never): Set<number> {
    const out = new Set<number>();
    for (let q = 0; q < (this.quick === 0 ? 0 : QUICK_LISTS); q++) {
      const size = MIN_BLOCK + 8 * q;
      let n = 0;
      for (
        let bp = this.mmu.read32(this.quick + 4 * q) | 0;
        bp !== 0;
        bp = this.mmu.read32(bp) | 0
      ) {
        const rec = this.record(bp);
        if (++n > this.quickCount[q]! || out.has(bp))
          bad(
            this.quick + 4 * q,
            `the quick list of ${size}-byte blocks holds more than its ${this.quickCount[q]} block(s)`,
          );
        if (
          rec === null ||
          rec.requested !== QUICK_REC - 1 ||
          rec.kind !== size ||
          this.infoOf(bp)?.region == null
        )
          bad(
            bp,
            `on the quick list of ${size}-byte blocks, but not a freed ${size}-byte region block`,
          );
        out.add(bp);
      }
      if (n !== this.quickCount[q])
        bad(
          this.quick + 4 * q,
          `the quick list of ${size}-byte blocks holds ${n} block(s), not ${this.quickCount[q]}`,
        );
    }
    return out;
  }

  /** A readable picture of the heap: regions, blocks, large blocks, slabs, totals. */
  dump(): string {
    const s = this.stats;
    const quick = this.quickBlocks((va, what) => {
      throw new MallocError(MALLOC_ERROR.CORRUPT, `${hex32(va)}: ${what}`);
    });
    const lines = [
      `heap (${this.policy.name}, align ${this.align}): ${s.allocations} live allocation(s), ${s.livePayload} payload bytes, ${s.footprintPages} page(s) held`,
    ];
    for (const r of this.regions) {
      lines.push(`region ${hex32(r.start)} (${r.pages} page(s))`);
      for (const b of this.regionBlocks(r)) {
        const what =
          b.bp === this.slabHeads
            ? "slab list heads"
            : b.bp === this.quick
              ? "quick list heads"
              : quick.has(b.bp)
                ? "free (quick list)"
                : this.runs.has(b.bp)
                  ? `run of ${this.runs.get(b.bp)}-byte objects: ${this.runObjects(b.bp, this.runs.get(b.bp)!).length} live of ${this.runCount(this.runs.get(b.bp)!)}`
                  : b.allocated
                    ? `allocated (${this.record(b.bp)?.requested} requested)`
                    : "free";
        lines.push(`  ${hex32(b.bp)} ${String(b.size).padStart(6)} B  ${what}`);
      }
    }
    for (const [bp, pages] of this.larges)
      lines.push(`large ${hex32(bp)} ${pages} page(s), ${this.record(bp)?.requested} requested`);
    for (const sl of [...this.slabs].sort((a, b) => a.start - b.start)) {
      const o = this.slabObjects(sl);
      lines.push(
        `slab ${hex32(sl.start)} (${sl.pages} page(s)) of ${sl.size}-byte objects: ${o.live.length} live, ${o.free} free, ${o.unused} unused`,
      );
    }
    return lines.join("\n");
  }

  // --------------------------------------------------------------- internals

  private checkSize(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > 0xffff_ffff)
      throw new MallocError(
        MALLOC_ERROR.BAD_ARGUMENT,
        `${what} ${describeValue(n)} must be an integer in [0, 2^32)`,
      );
  }

  private alignUp(n: number): number {
    // A mask below 2^30 (every block size of a region), a division above, where `&` would wrap.
    return n < 0x4000_0000
      ? (n + this.align - 1) & -this.align
      : Math.ceil(n / this.align) * this.align;
  }

  /** Block size in a region for a request: payload plus header, aligned, at least MIN_BLOCK. */
  private adjust(size: number): number {
    return Math.max(MIN_BLOCK, this.alignUp(size - LAYOUT.HEADER));
  }

  /**
   * True if `size` bytes fill their pages but for at most 1/64
   * (PAGE_SHAPED_WASTE_SHIFT), as a 4095-byte request fills one page: pages
   * of its own (a large block has no header) then cost no more than a region
   * block would, and go back whole when it is freed. Part of
   * `sizeClasses` (storage shaped by size): without it, every request
   * below `largeThreshold` is a region block.
   */
  private pageShaped(size: number): boolean {
    if (!this.sizeClasses) return false;
    const waste = -size & 0xfff;
    return size >= PAGE_SIZE >>> 1 && waste <= (size + waste) >>> TUNING.PAGE_SHAPED_WASTE_SHIFT;
  }

  /** The slab class of a request (0 for none: too big, or slabs are off). */
  private classOf(size: number): number {
    if (size > TUNING.SLAB_MAX || this.classLive.length === 1) return 0;
    return size <= this.align ? 1 : (size + this.align - 1) >>> (this.align === 8 ? 3 : 4);
  }

  /** A block for `size` bytes, tracked as live; 0 when out of memory. */
  private allocate(size: number): number {
    if (size >= this.largeThreshold) return this.mallocLarge(size);
    const cls = this.classOf(size);
    const asize = this.adjust(size);
    if (size >= PAGE_SIZE >>> 1 && this.pageShaped(size)) return this.allocPageShaped(size, asize);
    if (asize <= TUNING.QUICK_MAX && this.quickTotal !== 0) {
      const q = (asize >>> 3) - 2;
      if (this.quickCount[q] !== 0) {
        const head = this.quick + 4 * q;
        const bp = this.mmu.read32(head) | 0;
        this.mmu.write32(head, this.mmu.read32(bp) | 0);
        this.quickCount[q]!--;
        this.quickTotal--;
        if (cls !== 0) this.classLive[cls]!++;
        this.track(bp, size, asize, null);
        return bp;
      }
    }
    let found = -1;
    if (cls !== 0) {
      // A slab with room of the class first. A new slab once the size is
      // live a slab's worth of times, but only when no free block of the
      // regions fits: a new slab is a page with one object in it, and a
      // heap's peak is often the moment one is made, while a hole or the
      // wilderness costs no page. A size live in bulk (SLAB_BULK slabs'
      // worth) skips the wilderness, so that its blocks are not strewn
      // among the others' (the pattern slabs are for: all of one size
      // freed, then a larger size).
      const n = ++this.classLive[cls]!;
      // The class's first slab with room (0: none), read once: slabAlloc takes it.
      const room = this.slabHeads === 0 ? 0 : this.mmu.read32(this.slabHeads + 4 * cls) | 0;
      let slab = room !== 0;
      if (!slab && n > this.slabFrom[cls]! && this.home === null)
        slab = true; // no region: no free block fits
      else if (!slab && n > this.slabFrom[cls]!) {
        found = this.policy.find(asize);
        if (found === 0 && this.quickTotal !== 0) {
          this.flushQuick();
          found = this.policy.find(asize);
        }
        const w = this.wild;
        slab =
          found === 0 &&
          (n > TUNING.SLAB_BULK * this.slabFrom[cls]! ||
            w === 0 ||
            sizeOf(this.mmu.read32(headerOf(w))) < asize);
      }
      if (slab) {
        const bp = this.slabAlloc(cls, size, room);
        if (bp !== 0) return bp;
        found = -1;
      }
    }
    if (cls !== 0 && cls <= this.runClasses) {
      // A tiny size: a run with room, or a new run once the size is live
      // RUN_FROM times (see tinyAlloc).
      if (this.runHead[cls] !== 0 || this.classLive[cls]! >= TUNING.RUN_FROM) {
        // Before a new run, a hole the block fills (see snugHole).
        const snug = this.runHead[cls] === 0 ? this.snugHole(asize) : 0;
        if (snug !== 0) found = snug;
        else {
          const bp = this.tinyAlloc(cls, size);
          if (bp !== 0) return bp;
          found = -1; // (a failed run may have merged blocks: find again)
        }
      }
    }
    const bp = this.regionAlloc(asize, found);
    if (bp === 0) {
      if (cls !== 0) this.classLive[cls]!--;
      return 0;
    }
    this.track(bp, size, this.placed, null);
    return bp;
  }

  /**
   * A page-shaped request (see pageShaped): pages of its own unless a free
   * block of the regions fits (a hole reused costs no page: always taking
   * pages lost 2 points on the generated random2 traces). Apart from
   * allocate, which runs on every malloc, so that it stays small.
   */
  private allocPageShaped(size: number, asize: number): number {
    const found = this.home === null ? 0 : this.policy.find(asize);
    if (found === 0) return this.runAlloc(size);
    const bp = this.regionAlloc(asize, found);
    if (bp !== 0) this.track(bp, size, this.placed, null);
    return bp;
  }

  /**
   * An allocated region block of at least `asize` bytes (not tracked; its
   * size in `placed`), 0 when out of memory. `found`: what the policy's
   * find answered for `asize` just before, if the caller asked it (-1: not).
   */
  private regionAlloc(asize: number, found = -1): number {
    if (this.home === null && !this.makeHome()) return 0;
    let bp = found === -1 ? this.policy.find(asize) : found;
    if (bp === 0 && this.quickTotal !== 0) {
      this.flushQuick();
      bp = this.policy.find(asize);
    }
    if (bp === 0) {
      const w = this.wild;
      bp = w !== 0 && sizeOf(this.mmu.read32(headerOf(w))) >= asize ? w : this.growOrReuse(asize);
    }
    if (bp !== 0) this.placed = this.place(bp, asize);
    return bp;
  }

  /**
   * No listed block nor the wilderness fits `asize`: empty tiny runs go back
   * to the regions first (merged, they may make a block that fits), then
   * the heap grows. A free block still on the lists (or the wilderness), or 0.
   */
  private growOrReuse(asize: number): number {
    if (this.emptyRuns !== 0) {
      this.releaseEmptyRuns();
      const bp = this.policy.find(asize);
      if (bp !== 0) return bp;
      const w = this.wild;
      if (w !== 0 && sizeOf(this.mmu.read32(headerOf(w))) >= asize) return w;
    }
    return this.grow(asize);
  }

  // ---------------------------------------------------------------- shadow

  private infoOf(va: number): PageInfo | undefined {
    const table = this.pagesInfo[va >>> 22];
    return table === undefined ? undefined : table[(va >>> 12) & TABLE_MASK];
  }

  /** Set the shadow record of the page of `va`. */
  private setInfo(va: number, info: PageInfo | undefined): void {
    let table = this.pagesInfo[va >>> 22];
    if (table === undefined) {
      if (info === undefined) return;
      this.pagesInfo[va >>> 22] = table = new Array<PageInfo | undefined>(ENTRIES_PER_TABLE);
    }
    table[(va >>> 12) & TABLE_MASK] = info;
  }

  /** The index in `recs` of the record of `bp`, on the page `info`, or -1 if it has none. */
  private find(info: PageInfo, bp: number): number {
    bp |= 0;
    const recs = this.recs;
    const mask = this.recMask;
    for (let h = recHome(bp, this.recShift, mask); ; h = (h + 4) & mask) {
      const key = recs[h]!;
      if (key === bp) return recs[h + 1] === info.gen ? h : -1;
      if (key === 0) return -1;
    }
  }

  /**
   * The index in `recs` of the record of `bp`, on the page `info`, made
   * (both numbers 0: never handed out) if it has none. May rebuild the
   * table: an index found before this call is no longer good after it.
   */
  private recordAt(info: PageInfo, bp: number): number {
    bp |= 0;
    const recs = this.recs;
    const mask = this.recMask;
    let h = recHome(bp, this.recShift, mask);
    for (; ; h = (h + 4) & mask) {
      const key = recs[h]!;
      if (key === bp) {
        if (recs[h + 1] !== info.gen) {
          recs[h + 1] = info.gen;
          recs[h + 2] = recs[h + 3] = 0;
        }
        return h;
      }
      if (key === 0) break;
    }
    if (2 * (this.recUsed + 1) > (mask >>> 2) + 1) {
      this.rebuildRecords();
      return this.recordAt(info, bp);
    }
    this.recUsed++;
    recs[h] = bp;
    recs[h + 1] = info.gen;
    recs[h + 2] = recs[h + 3] = 0;
    return h;
  }

  /**
   * Rebuild `recs` without its stale entries (of pages given back), twice
   * as large if it would still be over a quarter full.
   */
  private rebuildRecords(): void {
    const old = this.recs;
    // Only a page given back leaves stale entries: until one is, every entry
    // is current and the rebuild need not look up each key's page (a heap of
    // 40,000 small blocks, made afresh, rebuilt six times on its way up).
    const stale = this.recsStale;
    let live = stale ? 0 : this.recUsed;
    if (stale)
      for (let h = 0; h < old.length; h += 4) {
        const key = old[h]!;
        if (key !== 0 && this.infoOf(key)?.gen === old[h + 1]) live++;
      }
    let entries = old.length >>> 2;
    while (4 * (live + 1) > entries) entries *= 2;
    const recs = new Int32Array(4 * entries);
    const mask = 4 * entries - 4;
    const shift = 32 - Math.log2(entries);
    for (let h = 0; h < old.length; h += 4) {
      const key = old[h]!;
      if (key === 0 || (stale && this.infoOf(key)?.gen !== old[h + 1])) continue;
      let at = recHome(key, shift, mask);
      while (recs[at] !== 0) at = (at + 4) & mask;
      recs[at] = key;
      recs[at + 1] = old[h + 1]!;
      recs[at + 2] = old[h + 2]!;
      recs[at + 3] = old[h + 3]!;
    }
    this.recs = recs;
    this.recMask = mask;
    this.recShift = shift;
    this.recUsed = live;
    this.recsStale = false;
  }

  /** True if `bp` is a block malloc handed out and nobody freed (no object made: validate's hot path). */
  private isLive(bp: number): boolean {
    const info = this.infoOf(bp);
    const r = info === undefined ? -1 : this.find(info, bp);
    return r >= 0 && this.recs[r + 2]! > 0;
  }

  /** The shadow record of `bp`, or null if malloc never handed it out. */
  private record(bp: number): { requested: number; kind: number } | null {
    const info = this.infoOf(bp);
    const r = info === undefined ? -1 : this.find(info, bp);
    if (r < 0 || this.recs[r + 2] === 0) return null;
    return { requested: this.recs[r + 2]! - 1, kind: this.recs[r + 3]! };
  }

  private track(bp: number, size: number, kind: number, slab: Slab | null): void {
    let info = this.infoOf(bp);
    if (info === undefined) this.setInfo(bp, (info = { gen: this.nextGen++, region: null, slab }));
    const r = this.recordAt(info, bp);
    this.recs[r + 2] = size + 1;
    this.recs[r + 3] = kind;
    this.liveCount++;
    if (kind > 0) this.regionLive++;
  }

  /** Mark the live block whose record is at `r` freed, and count it gone. */
  private untrack(r: number): void {
    const recs = this.recs;
    const size = recs[r + 2]! - 1;
    recs[r + 2] = -1;
    this.liveCount--;
    if (recs[r + 3]! > 0) this.regionLive--;
    this.reclass(size, -1);
    this.payloadChanged(-size);
  }

  /** Move a live block from the slab class of `from` bytes to that of `to` bytes (-1: none). */
  private reclass(from: number, to: number): void {
    const a = from < 0 ? 0 : this.classOf(from);
    const b = to < 0 ? 0 : this.classOf(to);
    if (a !== b) {
      if (a !== 0) this.classLive[a]!--;
      if (b !== 0) this.classLive[b]!++;
    }
  }

  private payloadChanged(delta: number): void {
    this.livePayload += delta;
    if (this.livePayload > this.peakPayload) this.peakPayload = this.livePayload;
  }

  private pagesChanged(delta: number): void {
    this.footprint += delta;
    if (this.footprint > this.peakFootprint) this.peakFootprint = this.footprint;
  }

  /** Forget every shadow record of `pages` pages from `start`: they are no longer the heap's. */
  private forgetPages(start: number, pages: number): void {
    // Their records go with their PageInfo: a record of another generation reads as none.
    for (let p = 0; p < pages; p++) this.setInfo(start + p * PAGE_SIZE, undefined);
    if (pages > 0) this.recsStale = true;
  }

  /** Mark `pages` pages from `start` as belonging to a region or a slab. */
  private ownPages(start: number, pages: number, region: Region | null, slab: Slab | null): void {
    for (let p = 0; p < pages; p++) {
      const va = start + p * PAGE_SIZE;
      const info = this.infoOf(va);
      if (info === undefined) this.setInfo(va, { gen: this.nextGen++, region, slab });
      else {
        info.region = region;
        info.slab = slab;
      }
    }
  }

  // ---------------------------------------------------------------- checks

  /**
   * Check `bp` is a live block with sane memory around it; returns its
   * page's shadow bookkeeping, and leaves the index of its record in
   * `validRec`.
   */
  private validate(bp: number, what: string): PageInfo {
    if (!Number.isSafeInteger(bp))
      throw new MallocError(
        MALLOC_ERROR.BAD_ARGUMENT,
        `${what}(${describeValue(bp)}): not an address`,
      );
    const info = bp >= 0 && bp <= 0xffff_ffff && (bp & 7) === 0 ? this.infoOf(bp) : undefined;
    const at = info === undefined ? -1 : this.find(info, bp);
    const v = at < 0 ? 0 : this.recs[at + 2]!;
    if (v <= 0) {
      // (A run's own block has a record too, RUN_REC: malloc never returned it.)
      if (v < 0 && v !== RUN_REC)
        throw new MallocError(
          MALLOC_ERROR.DOUBLE_FREE,
          `${what}(${hex32(bp)}): the block was freed already`,
        );
      throw new MallocError(
        MALLOC_ERROR.NOT_ALLOCATED,
        `${what}(${bp >= 0 && bp <= 0xffff_ffff ? hex32(bp) : describeValue(bp)}): malloc never returned this address`,
      );
    }
    bp |= 0; // the heap's own form of an address from here on (see the module comment)
    // (A method, not a closure: validate runs on every free and realloc.)
    const corrupt = this.corrupt;
    this.validRec = at;
    const kind = this.recs[at + 3]!;
    if (kind === 0) {
      const s = info!.slab!;
      if (
        this.mmu.read32(s.start) !== SLAB_MAGIC ||
        this.mmu.read32(s.start + LAYOUT.SLAB_SIZE) !== s.size
      )
        corrupt(what, bp, `the header of its slab ${hex32(s.start)} was overwritten`);
      return info!;
    }
    // A large block has no header to check: its shadow record is all there is.
    if (kind < 0) return info!;
    if ((kind & 1) !== 0) {
      this.validateRunObject(bp, kind, what);
      return info!;
    }
    const h = this.mmu.read32(headerOf(bp));
    // A region block: its header must say what the heap made (the shadow
    // record, not the header, is the truth), and the neighbours a free would
    // merge with must really be free, or the merge would swallow live memory.
    const size = kind;
    if ((h & ~PREV_ALLOC) >>> 0 !== (size | ALLOC))
      corrupt(
        what,
        bp,
        `header ${hex32(h)} is corrupted (malloc made this an allocated block of ${size} bytes, header ${hex32(size | ALLOC)})`,
      );
    const r = info!.region!;
    const nb = bp + size;
    const nh = this.mmu.read32(headerOf(nb));
    this.checkedH = h;
    this.checkedNH = nh;
    if ((nh & PREV_ALLOC) === 0)
      corrupt(
        what,
        bp,
        `the next header ${hex32(nh)} at ${hex32(headerOf(nb))} says this block is free`,
      );
    if ((nh & ALLOC) === 0) {
      const nsize = sizeOf(nh);
      if (this.isLive(nb))
        corrupt(
          what,
          bp,
          `the next block ${hex32(nb)} is live, but its header ${hex32(nh)} at ${hex32(headerOf(nb))} says free`,
        );
      if (
        nsize < MIN_BLOCK ||
        nsize % this.align !== 0 ||
        nb + nsize - r.start > r.pages * PAGE_SIZE ||
        this.mmu.read32(footerOf(nb, nsize)) !== nh
      )
        corrupt(
          what,
          bp,
          `the next block's header ${hex32(nh)} at ${hex32(headerOf(nb))} is corrupted`,
        );
    }
    if ((h & PREV_ALLOC) === 0) {
      const f = this.mmu.read32(bp + LAYOUT.FOOTER);
      const psize = sizeOf(f);
      const pb = bp - psize;
      if (
        (f & ALLOC) !== 0 ||
        psize < MIN_BLOCK ||
        psize % this.align !== 0 ||
        pb - r.first < 0 ||
        this.isLive(pb) ||
        this.mmu.read32(headerOf(pb)) !== f
      )
        corrupt(
          what,
          bp,
          `header ${hex32(h)} says the block before is free, but the footer ${hex32(f)} at ${hex32(bp + LAYOUT.FOOTER)} is not that of a free block`,
        );
    }
    return info!;
  }

  /** Refuse `what(bp)`: the memory around the block is not what the heap made (E_CORRUPT). */
  private corrupt(this: void, what: string, bp: number, why: string): never {
    throw new MallocError(MALLOC_ERROR.CORRUPT, `${what}(${hex32(bp)}): ${why}`);
  }

  // --------------------------------------------------------------- regions

  /** kvmalloc `pages` pages with as much virtual space reserved after them as can be had. */
  private mapRegion(pages: number): { start: number; reserve: number } | null {
    for (let reserve = Math.max(pages, TUNING.REGION_RESERVE_PAGES); ; reserve >>= 1) {
      if (reserve < pages) reserve = pages;
      const start = this.kv.kvmalloc(pages, reserve);
      if (start !== null) return { start: start | 0, reserve };
      if (reserve === pages) return null;
    }
  }

  private addRegion(start: number, pages: number, reserve: number, first: number): Region {
    const r: Region = { start, pages, reserve, first };
    const mmu = this.mmu;
    mmu.write32(start, CHUNK_MAGIC);
    for (let va = start + 4; va < first + LAYOUT.HEADER && start !== this.control - 4; va += 4)
      mmu.write32(va, 0);
    const size = start + pages * PAGE_SIZE - first;
    mmu.write32(headerOf(first), size | PREV_ALLOC);
    mmu.write32(footerOf(first, size), size | PREV_ALLOC);
    mmu.write32(headerOf(first + size), ALLOC); // epilogue; the block before it is free
    const at = this.regions.findIndex((c) => c.start >>> 0 > start >>> 0);
    this.regions.splice(at < 0 ? this.regions.length : at, 0, r);
    this.ownPages(start, pages, r, null);
    this.pagesChanged(pages);
    this.policy.insert(first, size);
    this.setTop(r);
    return r;
  }

  /** Put the free block bp on the free lists, or make it the wilderness if it ends `top`. */
  private list(bp: number, size: number): void {
    if (bp + size === this.topEnd) this.wild = bp;
    else this.policy.insert(bp, size);
  }

  /** Take the free block bp off the free lists (or out of the wilderness). */
  private unlist(bp: number, size: number): void {
    if (bp === this.wild) this.wild = 0;
    else this.policy.remove(bp, size);
  }

  /** Make `r` the region that grows: the old wilderness goes on the lists, `r`'s free tail becomes it. */
  private setTop(r: Region): void {
    if (this.wild !== 0) {
      const w = this.wild;
      this.wild = 0;
      this.policy.insert(w, sizeOf(this.mmu.read32(headerOf(w))));
    }
    this.top = r;
    this.topEnd = r.start + r.pages * PAGE_SIZE;
    const epi = this.mmu.read32(headerOf(this.topEnd));
    if ((epi & PREV_ALLOC) === 0) {
      const size = sizeOf(this.mmu.read32(this.topEnd + LAYOUT.FOOTER));
      this.policy.remove(this.topEnd - size, size);
      this.wild = this.topEnd - size;
    }
  }

  /** The blocks of one region, in address order, read through the MMU. */
  private regionBlocks(r: Region): HeapBlock[] {
    const out: HeapBlock[] = [];
    for (let bp = r.first; ;) {
      const h = this.mmu.read32(headerOf(bp));
      const size = sizeOf(h);
      if (size === 0) return out;
      out.push({ bp, size, allocated: (h & ALLOC) !== 0, large: false });
      bp += size;
    }
  }

  /**
   * A free block of at least `asize` bytes made by growing a region in place
   * (its free tail, if any, becomes part of it), else in a new region;
   * returns it still on the free lists, or 0.
   */
  private grow(asize: number): number {
    const r = this.top;
    const end = r.start + r.pages * PAGE_SIZE;
    const epi = this.mmu.read32(headerOf(end));
    const tail = (epi & PREV_ALLOC) === 0 ? sizeOf(this.mmu.read32(end + LAYOUT.FOOTER)) : 0;
    const more = Math.max(this.chunkPages, Math.ceil((asize - tail) / PAGE_SIZE));
    if (r.pages + more <= r.reserve && this.resizeRegion(r, r.pages + more)) {
      const nend = end + more * PAGE_SIZE;
      return this.mmu.read32(headerOf(nend)) & PREV_ALLOC
        ? 0
        : nend - sizeOf(this.mmu.read32(nend + LAYOUT.FOOTER));
    }
    const pages = Math.max(this.chunkPages, Math.ceil((asize + this.align) / PAGE_SIZE));
    this.trimTop(false, pages);
    const got = this.mapRegion(pages);
    if (got === null) return 0;
    const nr = this.addRegion(got.start, pages, got.reserve, got.start + this.align);
    return nr.first;
  }

  /**
   * Grow or shrink region `r` in place to `pages` pages, keeping the free
   * lists right: growing turns the old epilogue into the header of a new
   * free block (merged with a free tail); shrinking cuts a free tail (the
   * caller made sure there is one, covering the pages that go). False if
   * kvmalloc could not.
   */
  private resizeRegion(r: Region, pages: number): boolean {
    const mmu = this.mmu;
    const end = r.start + r.pages * PAGE_SIZE;
    const nend = r.start + pages * PAGE_SIZE;
    const epi = mmu.read32(headerOf(end));
    let bp = end;
    let prev = epi & PREV_ALLOC;
    if (prev === 0) {
      // The free tail is merged into the new block (or cut).
      const tsize = sizeOf(mmu.read32(end + LAYOUT.FOOTER));
      bp = end - tsize;
      this.unlist(bp, tsize);
      prev = mmu.read32(headerOf(bp)) & PREV_ALLOC;
    }
    if (pages > r.pages && this.idle.size !== 0) this.releaseIdle();
    if (pages > r.pages) this.releaseHeld(false, pages - r.pages);
    if (resizeKernelPages(this.kv, r.start >>> 0, r.pages, pages, false) === null) {
      // Nothing was written: the tail goes back on the lists as it was.
      if (bp !== end) this.list(bp, end - bp);
      return false;
    }
    // Shrinking keeps the pages' shadow records: the virtual pages stay the
    // region's (reserved), only free blocks were there, and a region that
    // shrinks and grows again would otherwise make them anew each time.
    if (pages > r.pages) this.ownPages(end, pages - r.pages, r, null);
    this.pagesChanged(pages - r.pages);
    r.pages = pages;
    if (r === this.top) this.topEnd = nend;
    const size = nend - bp;
    if (size === 0) {
      mmu.write32(headerOf(nend), prev | ALLOC);
      return true;
    }
    mmu.write32(headerOf(bp), size | prev);
    mmu.write32(footerOf(bp, size), size | prev);
    mmu.write32(headerOf(nend), ALLOC);
    this.list(bp, size);
    return true;
  }

  /**
   * Take the free block bp (on the free lists) for a block of asize bytes,
   * splitting off the rest if it can stand alone; returns the block's size.
   */
  private place(bp: number, asize: number): number {
    const h = this.mmu.read32(headerOf(bp));
    const csize = sizeOf(h);
    this.unlist(bp, csize);
    return this.split(bp, csize, asize, h & PREV_ALLOC);
  }

  /**
   * Make `[bp, bp + csize)` an allocated block of `asize` bytes (or all of
   * it, if the rest could not stand alone) with PREV_ALLOC `prev`, the rest
   * a free block on the lists; returns the allocated block's size. The one
   * place that splits a free block: malloc and realloc's growth into a free
   * neighbour come here (realloc's shrink frees its tail as a block of its
   * own, so that it merges like any other).
   */
  private split(bp: number, csize: number, asize: number, prev: number): number {
    const mmu = this.mmu;
    if (csize - asize >= MIN_BLOCK) {
      mmu.write32(headerOf(bp), asize | prev | ALLOC);
      const rb = bp + asize;
      const rsize = csize - asize;
      // The block after was after a free block: its PREV_ALLOC is clear already.
      mmu.write32(headerOf(rb), rsize | PREV_ALLOC);
      mmu.write32(footerOf(rb, rsize), rsize | PREV_ALLOC);
      this.list(rb, rsize);
      return asize;
    }
    mmu.write32(headerOf(bp), csize | prev | ALLOC);
    const nb = bp + csize;
    mmu.write32(headerOf(nb), mmu.read32(headerOf(nb)) | PREV_ALLOC);
    return csize;
  }

  /**
   * realloc within a region: shrink in place, grow into a free next block,
   * or grow the region when the block is its last; returns bp, 0 if it must
   * move.
   */
  private resizeInRegion(bp: number, info: PageInfo, csize: number, size: number): number {
    const mmu = this.mmu;
    const asize = this.adjust(size);
    const prev = mmu.read32(headerOf(bp)) & PREV_ALLOC;
    if (asize <= csize) {
      if (csize - asize >= MIN_BLOCK) {
        // The tail becomes an allocated block, then is freed like any other: it merges and may trim.
        mmu.write32(headerOf(bp), asize | prev | ALLOC);
        mmu.write32(headerOf(bp + asize), (csize - asize) | PREV_ALLOC | ALLOC);
        this.recs[this.find(info, bp) + 3] = asize;
        this.freeInRegion(bp + asize, info.region!);
      }
      return bp;
    }
    const nb = bp + csize;
    let nh = mmu.read32(headerOf(nb));
    const r = info.region!;
    // The block after may be on a quick list: free in truth, and merged with
    // what follows it, room to grow into. Only that block is merged, not
    // every quick list (a flush of them all at each growth was 18% of the
    // time of a buffer grown again and again among small blocks).
    for (let at = nb, h = nh; this.quickTotal !== 0;) {
      if ((h & ALLOC) === 0) {
        // A free run from nb: enough already, or look at the block after it.
        if (csize + (at - nb) + sizeOf(h) >= asize) break;
        at += sizeOf(h);
        h = mmu.read32(headerOf(at));
      } else if (this.isQuick(at, h)) {
        this.unquick(at, sizeOf(h));
        this.freeInRegion(at, r, h); // merged with the free run before it, if any
        at = nb;
        h = nh = mmu.read32(headerOf(nb));
      } else break;
    }
    const end = r.start + r.pages * PAGE_SIZE;
    // The last block of its region (maybe before a free tail): grow the region under it.
    const need = asize - csize - ((nh & ALLOC) !== 0 ? 0 : sizeOf(nh));
    if (need > 0 && ((nh & ALLOC) !== 0 ? nb === end : nb + sizeOf(nh) === end)) {
      const more = Math.max(this.chunkPages, Math.ceil(need / PAGE_SIZE));
      if (r.pages + more > r.reserve || !this.resizeRegion(r, r.pages + more)) return 0;
      nh = mmu.read32(headerOf(nb));
    }
    if ((nh & ALLOC) === 0 && csize + sizeOf(nh) >= asize) {
      const nsize = sizeOf(nh);
      this.unlist(nb, nsize);
      const size = this.split(bp, csize + nsize, asize, prev);
      this.recs[this.find(info, bp) + 3] = size;
      return bp;
    }
    return 0;
  }

  /** Make the allocated region block bp free, merging with free neighbours; a free tail or a free region goes back. */
  private freeInRegion(
    bp: number,
    region: Region,
    h = this.mmu.read32(headerOf(bp)),
    nh = this.mmu.read32(headerOf(bp + sizeOf(h))),
  ): void {
    const mmu = this.mmu;
    let size = sizeOf(h);
    let prev = h & PREV_ALLOC;
    if ((nh & ALLOC) === 0) {
      this.unlist(bp + size, sizeOf(nh));
      size += sizeOf(nh);
    }
    if (prev === 0) {
      const psize = sizeOf(mmu.read32(bp + LAYOUT.FOOTER));
      bp -= psize;
      this.unlist(bp, psize);
      size += psize;
      prev = mmu.read32(headerOf(bp)) & PREV_ALLOC;
    }
    mmu.write32(headerOf(bp), size | prev);
    mmu.write32(footerOf(bp, size), size | prev);
    const nb = bp + size;
    const end = region.start + region.pages * PAGE_SIZE;
    if (nb !== end) {
      mmu.write32(headerOf(nb), mmu.read32(headerOf(nb)) & ~PREV_ALLOC);
      this.list(bp, size);
      return;
    }
    mmu.write32(headerOf(end), ALLOC);
    this.list(bp, size);
    if (bp === region.first && region !== this.home) {
      // A region all free: give it back whole.
      this.unlist(bp, size);
      this.regions.splice(this.regions.indexOf(region), 1);
      if (this.top === region) this.setTop(this.home!);
      this.forgetPages(region.start, region.pages);
      this.kv.kvfree(region.start >>> 0, region.pages);
      this.pagesChanged(-region.pages);
      return;
    }
    this.trimRegion(region, bp, TUNING.TRIM_PAGES);
  }

  /**
   * Give back the whole pages of region `r`'s free tail `bp` after its first
   * MIN_BLOCK bytes (all of it from a page boundary), if there are at least
   * `least` of them.
   */
  private trimRegion(r: Region, bp: number, least: number): void {
    const end = r.start + r.pages * PAGE_SIZE;
    const keep = (bp & 0xfff) === 0 ? bp : Math.ceil((bp + MIN_BLOCK) / PAGE_SIZE) * PAGE_SIZE;
    const pages = (end - keep) / PAGE_SIZE;
    if (pages >= least && pages > 0) this.resizeRegion(r, r.pages - pages);
  }

  /**
   * Make the quick lists' heads, a block of a region, if a free block or the
   * wilderness holds it (a free never takes a page); false if not.
   */
  private makeQuickHeads(): boolean {
    const asize = this.adjust(4 * QUICK_LISTS);
    let bp = this.policy.find(asize);
    if (bp === 0) {
      const w = this.wild;
      if (w === 0 || sizeOf(this.mmu.read32(headerOf(w))) < asize) return false;
      bp = w;
    }
    this.place(bp, asize);
    for (let q = 0; q < QUICK_LISTS; q++) this.mmu.write32(bp + 4 * q, 0);
    this.quick = bp;
    return true;
  }

  /** Free every block of the quick lists for real: merged with free neighbours and listed by the policy. */
  private flushQuick(): void {
    const mmu = this.mmu;
    for (let q = 0; q < QUICK_LISTS; q++) {
      if (this.quickCount[q] === 0) continue;
      const head = this.quick + 4 * q;
      let bp = mmu.read32(head) | 0;
      mmu.write32(head, 0);
      this.quickCount[q] = 0;
      while (bp !== 0) {
        const next = mmu.read32(bp) | 0;
        const info = this.infoOf(bp)!;
        this.recs[this.find(info, bp) + 2] = -1;
        this.freeInRegion(bp, info.region!);
        bp = next;
      }
    }
    this.quickTotal = 0;
  }

  /**
   * True if the region block `bp`, whose header is `h`, is on a quick list:
   * its header says allocated, and its shadow record says so (QUICK_REC,
   * which a block has only while on a quick list: a record of -1 may be a
   * stale one inside a live block that grew over freed ones), with its size.
   */
  private isQuick(bp: number, h: number): boolean {
    const size = sizeOf(h);
    if ((h & ALLOC) === 0 || size === 0 || size > TUNING.QUICK_MAX) return false;
    if (bp === this.quick || bp === this.slabHeads) return false;
    const info = this.infoOf(bp);
    if (info === undefined || info.region === null) return false;
    const r = this.find(info, bp);
    return r >= 0 && this.recs[r + 2] === QUICK_REC && this.recs[r + 3] === size;
  }

  /** Take the block `bp` of `size` bytes off its quick list (at most QUICK_DEPTH links walked). */
  private unquick(bp: number, size: number): void {
    const mmu = this.mmu;
    this.unquickRecord(bp);
    const q = (size >>> 3) - 2;
    let at = this.quick + 4 * q;
    for (let cur = mmu.read32(at) | 0; cur !== bp; cur = mmu.read32(cur) | 0) at = cur;
    mmu.write32(at, mmu.read32(bp) | 0);
    this.quickCount[q]!--;
    this.quickTotal--;
  }

  /**
   * Merge the quick-listed blocks at the end of the top region into its
   * free tail, so that trim gives back every page merging would: the only
   * pages the quick lists could hold back (a flush of every list before
   * each page taken cost a realloc-heavy trace a sixth of its time). A
   * quick block has no footer: it is found from the shadow records alone,
   * the one slot QUICK_MAX bytes or less before the end whose record says
   * "on a quick list" with the size that reaches the end (blocks do not
   * overlap, so at most one does).
   */
  private mergeQuickAtTop(): void {
    for (;;) {
      const r = this.top;
      const end = this.wild !== 0 ? this.wild : this.topEnd;
      let pb = 0;
      for (let size = MIN_BLOCK; size <= TUNING.QUICK_MAX && end - size - r.first >= 0; size += 8) {
        const info = this.infoOf(end - size);
        if (info === undefined) continue;
        const r = this.find(info, end - size);
        if (r >= 0 && this.recs[r + 2] === QUICK_REC && this.recs[r + 3] === size) {
          pb = end - size;
          break;
        }
      }
      if (pb === 0) return;
      this.unquick(pb, end - pb);
      this.freeInRegion(pb, r);
    }
  }

  /** The shadow record of `bp`, a block leaving a quick list unallocated: freed, as any other. */
  private unquickRecord(bp: number): void {
    this.recs[this.find(this.infoOf(bp)!, bp) + 2] = -1;
  }

  /** Before taking pages for anything but the top region: give back the wilderness's whole pages. */
  private trimTop(keepRun = false, need = Infinity): void {
    if (this.emptyRuns !== 0) this.releaseEmptyRuns();
    if (this.regionLive === 0 && this.home !== null && this.regions.length === 1)
      this.releaseHome();
    if (this.home !== null) {
      if (this.quickTotal !== 0) this.mergeQuickAtTop();
      if (this.idle.size !== 0) this.releaseIdle();
      if (this.wild !== 0) this.trimRegion(this.top, this.wild, 1);
    }
    this.releaseHeld(keepRun, need);
  }

  // ------------------------------------------------------------ large blocks

  /**
   * A large block of `size` bytes on pages of its own; `grows`: realloc is
   * moving a block there because it grew, so virtual pages are reserved
   * after it (TUNING.LARGE_RESERVE times its pages, only virtual space: the
   * footprint counts mapped pages) and its next growths map frames in place
   * instead of remapping the whole block each time.
   */
  private mallocLarge(size: number, grows = false): number {
    // malloc(0) still gets a page: every pointer handed out is unique.
    const pages = Math.max(1, Math.ceil(size / PAGE_SIZE));
    const idle = this.idleLarge[pages];
    if (!grows && idle !== undefined && idle.length !== 0) {
      const bp = idle.pop()!;
      this.idleCount--;
      this.idlePages -= pages;
      this.larges.set(bp, pages);
      this.track(bp, size, -pages, null);
      return bp;
    }
    this.trimTop(false, pages);
    const got =
      (grows ? this.kv.kvmalloc(pages, pages * TUNING.LARGE_RESERVE) : null) ??
      this.kv.kvmalloc(pages);
    if (got === null) return 0;
    const bp = got | 0;
    this.larges.set(bp, pages);
    this.pagesChanged(pages);
    this.track(bp, size, -pages, null);
    return bp;
  }

  /** realloc of a large block that stays large: its pages are resized (moved by remapping). Returns the new bp, or -1 when out of memory. */
  private resizeLarge(bp: number, pages: number, size: number): number {
    const want = Math.ceil(size / PAGE_SIZE);
    if (want === pages) return bp;
    if (this.inRun(bp)) return 0; // moved to pages of its own (see move)
    if (want > pages) this.trimTop(false, want - pages);
    const start = resizeKernelPages(this.kv, bp >>> 0, pages, want, true);
    // Shrinking in place may be beyond this kvmalloc: the block then keeps its pages.
    if (start === null) return want < pages ? bp : -1;
    const nbp = start | 0;
    const rec = this.record(bp)!;
    this.pagesChanged(want - pages);
    this.larges.delete(bp);
    if (nbp !== bp) this.forgetPages(bp, 1); // the old pages are no longer the heap's
    this.liveCount--;
    this.larges.set(nbp, want);
    this.track(nbp, rec.requested, -want, null);
    return nbp;
  }

  // --------------------------------------------------------------- page run

  /** True if `bp` is a block of the page run. */
  private inRun(bp: number): boolean {
    const run = this.run;
    return run !== null && (bp - run.start) >>> 0 < run.reserve * PAGE_SIZE;
  }

  /**
   * A page-shaped block of `size` bytes, headerless, from the page run: the
   * first free pages that hold it, else the run's end, grown in place (its
   * free last pages count towards it); pages of its own (mallocLarge) if the
   * run cannot grow. A program that frees page-shaped blocks and asks for
   * others (two 4095-byte blocks, then one of 8190) then reuses the same
   * pages instead of unmapping and mapping them at every call, and a free
   * page of the run counts in the footprint only until the heap next takes
   * pages (trimRun gives the run's free end back then).
   */
  private runAlloc(size: number): number {
    const k = Math.ceil(size / PAGE_SIZE);
    const run = this.run;
    if (k > TUNING.RUN_PAGES) return this.mallocLarge(size);
    if (run === null) {
      this.trimTop(false, k);
      let reserve: number = TUNING.RUN_PAGES;
      let got = this.kv.kvmalloc(k, reserve);
      if (got === null) got = this.kv.kvmalloc(k, (reserve = k));
      if (got === null) return 0;
      this.run = { start: got | 0, pages: k, reserve, used: new Uint8Array(reserve) };
      this.pagesChanged(k);
      return this.runTake(0, k, size);
    }
    const used = run.used;
    let free = 0;
    for (let i = 0; i < run.pages; i++) {
      free = used[i] === 0 ? free + 1 : 0;
      if (free === k) return this.runTake(i + 1 - k, k, size);
    }
    // The free pages at the end (`free` of them) and as many more as it takes.
    if (run.pages - free + k > run.reserve) return this.mallocLarge(size);
    const pages = run.pages - free + k;
    this.trimTop(true, pages - run.pages);
    if (resizeKernelPages(this.kv, run.start >>> 0, run.pages, pages, false) === null)
      return this.mallocLarge(size);
    this.pagesChanged(pages - run.pages);
    run.pages = pages;
    return this.runTake(pages - k, k, size);
  }

  /** Hand out pages `first` to `first + k - 1` of the run as a block of `size` bytes. */
  private runTake(first: number, k: number, size: number): number {
    const run = this.run!;
    run.used.fill(1, first, first + k);
    const bp = run.start + first * PAGE_SIZE;
    this.larges.set(bp, k);
    this.track(bp, size, -k, null);
    return bp;
  }

  /**
   * Before the heap takes `need` pages: give back the page run's free end
   * (`keepRun`: not the run's, which the caller is about to grow) and as
   * many freed large blocks kept for reuse as it takes for what is held
   * never to raise the peak footprint (all of them for `need` = Infinity).
   */
  private releaseHeld(keepRun = false, need = Infinity): void {
    if (this.run !== null && !keepRun) this.trimRun();
    // Without idle blocks the footprint would be `footprint - idlePages`, and
    // `+ need` once the pages are taken: give back idle blocks, the largest
    // first, until taking `need` pages leaves the footprint within the
    // larger of that and the peak so far (all of them for need = Infinity).
    let excess =
      need === Infinity
        ? this.idlePages
        : this.footprint +
          need -
          Math.max(this.peakFootprint, this.footprint - this.idlePages + need);
    for (let pages = TUNING.IDLE_LARGE_PAGES; pages > 0 && excess > 0; pages--) {
      const idle = this.idleLarge[pages]!;
      for (; idle.length !== 0 && excess > 0; excess -= pages) {
        this.kv.kvfree(idle.pop()! >>> 0, pages);
        this.idleCount--;
        this.idlePages -= pages;
        this.pagesChanged(-pages);
      }
    }
  }

  /** Give back the run's free pages at its end (all of it, if no block is left). */
  private trimRun(): void {
    const run = this.run!;
    let keep = run.pages;
    while (keep > 0 && run.used[keep - 1] === 0) keep--;
    if (keep === run.pages) return;
    if (keep === 0) {
      this.run = null;
      this.forgetPages(run.start, run.pages);
      this.kv.kvfree(run.start >>> 0, run.pages);
      this.pagesChanged(-run.pages);
      return;
    }
    // Shrinking in place may be beyond this kvmalloc: the run then keeps its pages.
    if (resizeKernelPages(this.kv, run.start >>> 0, run.pages, keep, false) === null) return;
    this.forgetPages(run.start + keep * PAGE_SIZE, run.pages - keep);
    this.pagesChanged(keep - run.pages);
    run.pages = keep;
  }

  // ------------------------------------------------------------------ slabs

  /** An object of slab class `cls`, from `room` (the class's first slab with room, as its list head says) or a new slab if 0; 0 when no page is left. */
  private slabAlloc(cls: number, requested: number, room: number): number {
    const mmu = this.mmu;
    if (this.slabHeads === 0) {
      // The first slab: its class needs a list head, so the heads are made now.
      const words = this.classLive.length;
      const bp = this.regionAlloc(this.adjust(4 * words));
      if (bp === 0) return 0;
      for (let w = 0; w < words; w++) mmu.write32(bp + 4 * w, 0);
      this.slabHeads = bp;
    }
    const head = this.slabHeads + 4 * cls;
    let s = room;
    if (s === 0) {
      s = this.newSlab(cls);
      if (s === 0) return 0;
    }
    let obj = mmu.read32(s + LAYOUT.SLAB_FREE) | 0;
    let free = 0;
    let bump: number;
    const size = cls * this.align;
    if (obj !== 0) {
      free = mmu.read32(obj) | 0;
      mmu.write32(s + LAYOUT.SLAB_FREE, free);
      bump = free === 0 ? mmu.read32(s + LAYOUT.SLAB_BUMP) | 0 : 1;
    } else {
      obj = mmu.read32(s + LAYOUT.SLAB_BUMP) | 0;
      const slab = this.infoOf(s)!.slab!;
      // Offsets from the slab, not addresses, compared: addresses are int32 here.
      bump = obj + 2 * size - s <= slab.pages * PAGE_SIZE ? obj + size : 0;
      mmu.write32(s + LAYOUT.SLAB_BUMP, bump);
    }
    const live = mmu.read32(s + LAYOUT.SLAB_LIVE);
    mmu.write32(s + LAYOUT.SLAB_LIVE, live + 1);
    if (live === 0 && this.idle.size !== 0) this.idle.delete(this.infoOf(s)!.slab!);
    if (free === 0 && bump === 0) {
      // Full: off the class's list (it is the head).
      const next = mmu.read32(s + LAYOUT.SLAB_NEXT) | 0;
      mmu.write32(head, next);
      if (next !== 0) mmu.write32(next + LAYOUT.SLAB_PREV, 0);
      mmu.write32(s + LAYOUT.SLAB_NEXT, 0);
    }
    const info = this.infoOf(obj)!;
    this.track(obj, requested, 0, info.slab);
    return obj;
  }

  /** A new empty slab of class `cls` at the head of its list; its address, or 0. */
  private newSlab(cls: number): number {
    const { pages } = this.classShape[cls]!;
    this.trimTop(false, pages);
    const got = this.kv.kvmalloc(pages);
    if (got === null) return 0;
    const s = got | 0;
    const size = cls * this.align;
    const mmu = this.mmu;
    const head = this.slabHeads + 4 * cls;
    const next = mmu.read32(head) | 0;
    mmu.write32(s + LAYOUT.SLAB_MAGIC, SLAB_MAGIC);
    mmu.write32(s + LAYOUT.SLAB_SIZE, size);
    mmu.write32(s + LAYOUT.SLAB_FREE, 0);
    mmu.write32(s + LAYOUT.SLAB_BUMP, s + LAYOUT.SLAB_HEADER);
    mmu.write32(s + LAYOUT.SLAB_LIVE, 0);
    mmu.write32(s + LAYOUT.SLAB_NEXT, next);
    mmu.write32(s + LAYOUT.SLAB_PREV, 0);
    mmu.write32(s + 28, 0);
    if (next !== 0) mmu.write32(next + LAYOUT.SLAB_PREV, s);
    mmu.write32(head, s);
    const slab: Slab = { start: s, pages, cls, size };
    this.slabs.add(slab);
    this.ownPages(s, pages, null, slab);
    this.pagesChanged(pages);
    return s;
  }

  /** Put a slab object back on its slab's free list; an empty slab goes back unless it is its class's only one with room. */
  private slabFree(obj: number, slab: Slab): void {
    const mmu = this.mmu;
    const s = slab.start;
    const free = mmu.read32(s + LAYOUT.SLAB_FREE) | 0;
    mmu.write32(obj, free);
    mmu.write32(s + LAYOUT.SLAB_FREE, obj);
    const live = mmu.read32(s + LAYOUT.SLAB_LIVE) - 1;
    mmu.write32(s + LAYOUT.SLAB_LIVE, live);
    const head = this.slabHeads + 4 * slab.cls;
    const wasFull = free === 0 && mmu.read32(s + LAYOUT.SLAB_BUMP) === 0;
    if (wasFull) {
      const first = mmu.read32(head) | 0;
      mmu.write32(s + LAYOUT.SLAB_NEXT, first);
      mmu.write32(s + LAYOUT.SLAB_PREV, 0);
      if (first !== 0) mmu.write32(first + LAYOUT.SLAB_PREV, s);
      mmu.write32(head, s);
    }
    if (live !== 0) return;
    // Keep the only slab of a class while it is empty, so that a malloc/free
    // pair does not map and unmap pages; it goes back as soon as the heap
    // takes a page for anything (releaseIdle), so it never adds to a peak.
    if (mmu.read32(s + LAYOUT.SLAB_PREV) === 0 && mmu.read32(s + LAYOUT.SLAB_NEXT) === 0)
      this.idle.add(slab);
    else this.dropSlab(slab);
  }

  /** Give back the empty slabs kept for reuse (before the heap takes pages). */
  private releaseIdle(): void {
    for (const slab of this.idle) this.dropSlab(slab);
    this.idle.clear();
  }

  /** Take the empty slab off its class's list and give its pages back. */
  private dropSlab(slab: Slab): void {
    const mmu = this.mmu;
    const s = slab.start;
    const next = mmu.read32(s + LAYOUT.SLAB_NEXT) | 0;
    const prev = mmu.read32(s + LAYOUT.SLAB_PREV) | 0;
    if (prev === 0) mmu.write32(this.slabHeads + 4 * slab.cls, next);
    else mmu.write32(prev + LAYOUT.SLAB_NEXT, next);
    if (next !== 0) mmu.write32(next + LAYOUT.SLAB_PREV, prev);
    this.slabs.delete(slab);
    this.forgetPages(s, slab.pages);
    this.kv.kvfree(s >>> 0, slab.pages);
    this.pagesChanged(-slab.pages);
  }

  /** The objects of a slab: live ones, and how many are free or never used. Throws E_CORRUPT on a bad free list. */
  private slabObjects(s: Slab): { live: number[]; free: number; unused: number } {
    const bad = (va: number, what: string): never => {
      throw new MallocError(MALLOC_ERROR.CORRUPT, `${hex32(va)}: ${what}`);
    };
    const base = s.start + LAYOUT.SLAB_HEADER;
    const cap = this.classShape[s.cls]!.capacity;
    // Offsets from the first object (addresses are int32 here, so not compared by order).
    const isObject = (va: number) =>
      va - base >= 0 && va - base < cap * s.size && (va - base) % s.size === 0;
    const bump = this.mmu.read32(s.start + LAYOUT.SLAB_BUMP) | 0;
    if (bump !== 0 && !isObject(bump))
      bad(s.start + LAYOUT.SLAB_BUMP, `bump ${hex32(bump)} is not an object of the slab`);
    const limit = bump === 0 ? base + cap * s.size : bump;
    const freeSet = new Set<number>();
    for (
      let o = this.mmu.read32(s.start + LAYOUT.SLAB_FREE) | 0;
      o !== 0;
      o = this.mmu.read32(o) | 0
    ) {
      if (!isObject(o) || o - base >= limit - base || freeSet.has(o))
        bad(o, `slab ${hex32(s.start)}'s free list holds ${hex32(o)}, not a free object of it`);
      freeSet.add(o);
    }
    const live: number[] = [];
    for (let o = base; o < limit; o += s.size) if (!freeSet.has(o)) live.push(o);
    return { live, free: freeSet.size, unused: (base + cap * s.size - limit) / s.size };
  }

  // -------------------------------------------------------------- tiny runs
  //
  // A tiny run is a region block holding RUN_BYTES of objects of one tiny
  // size (8 or 16 bytes) with no header each: [header | bitmap | next |
  // (pad) | objects], the bitmap's bit k set while object k is live. A
  // program that keeps hundreds of 8-byte blocks live (an expression tree:
  // the expr trace) pays 8 bytes of header and padding for each as a
  // region block, half its footprint's slack; in a run it pays half a
  // byte. Each object's shadow record says which run it is in (runKind),
  // so free finds the run without a header. A run with room is on its
  // class's list (runHead, then RUN_NEXT), and an empty one goes back to
  // its region, merged like any block, before the heap grows or takes a
  // page, or when nothing is live.

  /** The object size of tiny-run class `cls`. */
  private runObjectSize(cls: number): number {
    return cls * this.align;
  }

  /** Bytes of a run's region block of `os`-byte objects (header included). */
  private runBytes(os: number): number {
    return this.alignUp(-LAYOUT.HEADER + this.runStart + this.runCount(os) * os);
  }

  /** Objects in a run of `os`-byte objects: RUN_BYTES of them, at most 32 (the bitmap's bits). */
  private runCount(os: number): number {
    return Math.min(32, TUNING.RUN_BYTES / os);
  }

  /** The bitmap of a run of `os`-byte objects with every object live, as an int32. */
  private runFull(os: number): number {
    return this.runCount(os) === 32 ? -1 : (1 << this.runCount(os)) - 1;
  }

  /**
   * A free block of the lists that a tiny request's `asize`-byte block fills
   * with less than MIN_BLOCK left (so no split), or 0. Such a hole (16 to
   * 39 bytes) can serve only a request of a tiny size, and tiny sizes go
   * to runs once live RUN_FROM times: without this it stays empty until a
   * neighbour is freed. In the amptjp fixture 26 such holes (23 of 16,
   * 3 of 24 bytes: split remainders, freed small blocks) lay empty at the
   * moment its 128-byte size found no hole: it made its first slab there
   * and the peak took a page more (0.932 -> 0.904); filling them before a
   * new run keeps its 32 pages. Asked only when a run would be made (the
   * class has none with room): taking holes while a run has room lost
   * the cp-decl fixture a page (0.901 -> 0.880). Only "fits exactly"
   * (16 bytes for 8) did not keep amptjp's page.
   */
  private snugHole(asize: number): number {
    const bp = this.policy.find(asize);
    return bp !== 0 && sizeOf(this.mmu.read32(headerOf(bp))) - asize < MIN_BLOCK ? bp : 0;
  }

  /** An object of tiny-run class `cls` for a `requested`-byte request, tracked; 0 if no run could be made. */
  private tinyAlloc(cls: number, requested: number): number {
    const mmu = this.mmu;
    let run = this.runHead[cls]!;
    if (run === 0) {
      run = this.newRun(cls);
      if (run === 0) return 0;
    }
    const map = mmu.read32(run + LAYOUT.RUN_BITMAP) | 0;
    // The lowest free object: the lowest clear bit.
    const low = ~map & (map + 1);
    const k = 31 - Math.clz32(low);
    const nmap = map | low;
    mmu.write32(run + LAYOUT.RUN_BITMAP, nmap);
    if (map === 0) this.emptyRuns--;
    const os = this.runObjectSize(cls);
    if (nmap === this.runFull(os)) {
      // Full: off its class's list (it is the head).
      this.runHead[cls] = mmu.read32(run + LAYOUT.RUN_NEXT) | 0;
      mmu.write32(run + LAYOUT.RUN_NEXT, 0);
    }
    const obj = run + this.runStart + k * os;
    this.track(obj, requested, runKind(k, os), null);
    return obj;
  }

  /**
   * A new empty run of class `cls`, a block of a region, at the head of its
   * (empty) list; 0 when no free block nor the wilderness holds it: a run
   * never makes the heap take a page (the object then gets a region block
   * of its own), since a heap's peak is often the moment a page is taken
   * for one object.
   */
  private newRun(cls: number): number {
    const os = this.runObjectSize(cls);
    const bytes = this.runBytes(os);
    if (this.home === null) return 0;
    const found = this.policy.find(bytes);
    const w = this.wild;
    if (found === 0 && (w === 0 || sizeOf(this.mmu.read32(headerOf(w))) < bytes)) return 0;
    const run = this.regionAlloc(bytes, found);
    if (run === 0) return 0;
    this.mmu.write32(run + LAYOUT.RUN_BITMAP, 0);
    this.mmu.write32(run + LAYOUT.RUN_NEXT, this.runHead[cls]!);
    this.runHead[cls] = run;
    this.setRecord(run, RUN_REC, this.placed);
    this.runs.set(run, os);
    this.emptyRuns++;
    return run;
  }

  /** Set the shadow record of `bp` without counting a live block (a run's own). */
  private setRecord(bp: number, first: number, second: number): void {
    const info = this.infoOf(bp)!;
    const r = this.recordAt(info, bp);
    this.recs[r + 2] = first;
    this.recs[r + 3] = second;
  }

  /** The run's `bp` of the object `obj` whose record's second number is `kind`. */
  private runOf(obj: number, kind: number): number {
    return obj - this.runStart - (kind >>> 12) * runKindSize(kind);
  }

  /** The bitmap of the run that holds object `obj` (its record's second number `kind`), as an int32. */
  private runBitmap(obj: number, kind: number): number {
    return this.mmu.read32(this.runOf(obj, kind) + LAYOUT.RUN_BITMAP) | 0;
  }

  /**
   * Check that the live run object `obj` (record `kind`) is in a run whose
   * header and bitmap say so; its bitmap is kept for runFree. Two words
   * read: a free of a run object costs 3 MMU accesses, a region block's 5.
   */
  private validateRunObject(obj: number, kind: number, what: string): void {
    const run = this.runOf(obj, kind);
    const info = this.infoOf(run);
    const r = info === undefined ? -1 : this.find(info, run);
    const size = r < 0 ? 0 : this.recs[r + 3]!;
    if (r < 0 || this.recs[r + 2] !== RUN_REC || !this.runs.has(run))
      this.corrupt(what, obj, `its tiny run ${hex32(run)} is gone (a stale record)`);
    const h = this.mmu.read32(headerOf(run));
    if ((h & ~PREV_ALLOC) >>> 0 !== (size | ALLOC))
      this.corrupt(
        what,
        obj,
        `the header ${hex32(h)} of its tiny run ${hex32(run)} is corrupted (malloc made it an allocated block of ${size} bytes)`,
      );
    const map = this.mmu.read32(run + LAYOUT.RUN_BITMAP) | 0;
    const k = kind >>> 12;
    if ((map & (1 << k)) === 0)
      this.corrupt(
        what,
        obj,
        `the bitmap ${hex32(map)} of its tiny run ${hex32(run)} says object ${k} is free`,
      );
    this.checkedMap = map;
  }

  /** Clear the bit of the run object `obj` (record `kind`), its run's bitmap being `map`. */
  private runFree(obj: number, kind: number, map: number): void {
    const mmu = this.mmu;
    const run = this.runOf(obj, kind);
    const os = runKindSize(kind);
    const nmap = map & ~(1 << (kind >>> 12));
    mmu.write32(run + LAYOUT.RUN_BITMAP, nmap);
    if (map === this.runFull(os)) {
      // Room again: back on its class's list, at the head.
      const cls = os / this.align;
      mmu.write32(run + LAYOUT.RUN_NEXT, this.runHead[cls]!);
      this.runHead[cls] = run;
    }
    if (nmap === 0) this.emptyRuns++;
  }

  /** Give every empty tiny run back to its region (off its list, freed as a block). */
  private releaseEmptyRuns(): void {
    const mmu = this.mmu;
    for (let cls = 1; cls <= this.runClasses; cls++) {
      let at = 0; // the run before, 0: the head
      for (let run = this.runHead[cls]!; run !== 0;) {
        const next = mmu.read32(run + LAYOUT.RUN_NEXT) | 0;
        if ((mmu.read32(run + LAYOUT.RUN_BITMAP) | 0) !== 0) at = run;
        else {
          if (at === 0) this.runHead[cls] = next;
          else mmu.write32(at + LAYOUT.RUN_NEXT, next);
          this.runs.delete(run);
          const info = this.infoOf(run)!;
          this.recs[this.find(info, run) + 2] = -1;
          this.emptyRuns--;
          this.freeInRegion(run, info.region!);
        }
        run = next;
      }
    }
  }

  /** The live objects of the run `run` of `os`-byte objects, from its bitmap (read through the MMU). */
  private runObjects(run: number, os: number): number[] {
    const map = this.mmu.read32(run + LAYOUT.RUN_BITMAP) | 0;
    const out: number[] = [];
    for (let k = 0; k < this.runCount(os); k++)
      if ((map & (1 << k)) !== 0) out.push(run + this.runStart + k * os);
    return out;
  }

  /**
   * Check the tiny run at `run`, a region block of `size` bytes: its record,
   * its size, and its bitmap against its objects' records (a set bit is an
   * object malloc handed out, in this run, no bigger than it; a clear bit is
   * not); returns its live objects.
   */
  private checkRun(run: number, size: number, bad: (va: number, what: string) => never): number {
    const os = this.runs.get(run)!;
    const info = this.infoOf(run)!;
    const r = this.find(info, run);
    if (r < 0 || this.recs[r + 2] !== RUN_REC || this.recs[r + 3] !== size)
      bad(
        headerOf(run),
        `tiny run of ${size} bytes, malloc made it ${r < 0 ? "none" : this.recs[r + 3]}`,
      );
    if (size < this.runBytes(os) || size >= this.runBytes(os) + MIN_BLOCK)
      bad(
        headerOf(run),
        `a tiny run of ${os}-byte objects is ${size} bytes, not ${this.runBytes(os)}`,
      );
    const map = this.mmu.read32(run + LAYOUT.RUN_BITMAP) | 0;
    if ((map & ~this.runFull(os)) !== 0)
      bad(run + LAYOUT.RUN_BITMAP, `bitmap ${hex32(map)} has bits past the run's objects`);
    let live = 0;
    for (let k = 0; k < this.runCount(os); k++) {
      const off = this.runStart + k * os;
      const rec = this.record(run + off);
      const handedOut = rec !== null && rec.requested >= 0;
      if ((map & (1 << k)) === 0) {
        if (handedOut) bad(run + off, `live object ${k} of a tiny run, its bitmap bit clear`);
        continue;
      }
      if (!handedOut || rec.kind !== runKind(k, os))
        bad(
          run + off,
          `object ${k} of tiny run ${hex32(run)} is marked live, malloc did not hand it out`,
        );
      if (rec.requested > os)
        bad(run + off, `a ${rec.requested}-byte request in a ${os}-byte object`);
      live++;
    }
    return live;
  }

  /**
   * Walk the tiny runs' lists: each holds runs of its class with room, at
   * most once, and every run with room is on its list; empty runs number
   * `emptyRuns`.
   */
  private checkRunLists(bad: (va: number, what: string) => never): void {
    const seen = new Set<number>();
    let empty = 0;
    for (let cls = 1; cls <= this.runClasses; cls++)
      for (
        let run = this.runHead[cls]!;
        run !== 0;
        run = this.mmu.read32(run + LAYOUT.RUN_NEXT) | 0
      ) {
        if (this.runs.get(run) !== this.runObjectSize(cls) || seen.has(run))
          bad(
            run,
            `on the list of ${this.runObjectSize(cls)}-byte tiny runs, but not one of them (or twice)`,
          );
        seen.add(run);
        const map = this.mmu.read32(run + LAYOUT.RUN_BITMAP) | 0;
        if (map === this.runFull(this.runObjectSize(cls)))
          bad(run, "a full tiny run on its list of runs with room");
        if (map === 0) empty++;
      }
    for (const run of this.runs.keys())
      if (
        !seen.has(run) &&
        (this.mmu.read32(run + LAYOUT.RUN_BITMAP) | 0) !== this.runFull(this.runs.get(run)!)
      )
        bad(run, "a tiny run with room that is not on its list");
    if (empty !== this.emptyRuns)
      bad(this.control, `${empty} empty tiny run(s), the heap counts ${this.emptyRuns}`);
  }

  // --------------------------------------------------------- free and move

  /** Give back the memory of the live block bp (its shadow record is updated by the caller). */
  private release(bp: number, info: PageInfo, kind: number): void {
    if (kind < 0) {
      this.larges.delete(bp);
      if (this.inRun(bp)) {
        this.run!.used.fill(
          0,
          (bp - this.run!.start) / PAGE_SIZE,
          (bp - this.run!.start) / PAGE_SIZE - kind,
        );
        return;
      }
      if (this.idleCount < TUNING.IDLE_LARGE && -kind <= TUNING.IDLE_LARGE_PAGES) {
        this.idleLarge[-kind]!.push(bp);
        this.idleCount++;
        this.idlePages -= kind;
      } else {
        this.kv.kvfree(bp >>> 0, -kind);
        this.pagesChanged(kind);
      }
      // The first page's record stays (untrack marked it freed), so a second
      // free is a double free, and a large block made here again reuses it.
    } else if (kind === 0) this.slabFree(bp, info.slab!);
    else if ((kind & 1) !== 0)
      this.runFree(bp, kind, this.checkedBp === bp ? this.checkedMap : this.runBitmap(bp, kind));
    else if (
      kind <= TUNING.QUICK_MAX &&
      this.quickCount[(kind >>> 3) - 2]! < this.quickDepth &&
      (this.quick !== 0 || this.makeQuickHeads())
    ) {
      const q = (kind >>> 3) - 2;
      const head = this.quick + 4 * q;
      this.mmu.write32(bp, this.mmu.read32(head) | 0);
      this.recs[this.find(info, bp) + 2] = QUICK_REC;
      this.mmu.write32(head, bp);
      this.quickCount[q]!++;
      this.quickTotal++;
    } else if (this.checkedBp === bp)
      this.freeInRegion(bp, info.region!, this.checkedH, this.checkedNH);
    else this.freeInRegion(bp, info.region!);
  }

  private move(bp: number, info: PageInfo, old: number, size: number): number | null {
    // A block that must move and is a page or more goes to pages of its own:
    // copied once, then resized by remapping (a buffer grown again and
    // again, while other blocks sit after it, would otherwise be copied
    // every time: 300 MMU accesses an operation on the realloc-many traces).
    const to = size >= this.reallocLarge ? this.mallocLarge(size, true) : this.allocate(size);
    if (to === 0) return null;
    // Word by word through the MMU, as rep movsd would (one translation per page).
    this.kv.mmu.copyWords(to >>> 0, bp >>> 0, Math.ceil(Math.min(old, size) / 4), 0);
    this.payloadChanged(size);
    // Found again: the allocation above may have rebuilt the records.
    const r = this.find(info, bp);
    const kind = this.recs[r + 3]!;
    this.untrack(r);
    this.release(bp, info, kind);
    return to >>> 0;
  }
}
