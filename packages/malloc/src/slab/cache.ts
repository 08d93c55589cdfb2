/**
 * Object caches on slabs (Bonwick's slab allocator, as Linux and Whitix use
 * it): a cache hands out objects of one size from slabs, runs of pages taken
 * from a {@link SlabPageSource} and carved into objects.
 *
 * Everything a slab needs to know about itself lives inside it, in simulated
 * memory reached through the MMU at CPL 0: its header (magic, owner, count,
 * list links), an allocation bitmap and the free-object list threaded through
 * the free objects. Each cache keeps its slabs on three lists, full, partial
 * and empty, linked through the slab headers; alloc takes from a partial slab
 * first, so that memory fills up slab by slab and empty slabs can go back.
 *
 * What stays in TypeScript is what a kernel keeps outside the slabs: the
 * cache descriptors (list heads and counters) and which page belongs to
 * which slab (Linux's `struct page`, Whitix's page table walk), so that a
 * free can find an object's slab from its address and refuse an address no
 * slab owns.
 *
 * @module
 */
import { PAGE_SIZE, type Mmu, hex32 } from "@mm386/hw-i386";
import { describeValue } from "@mm386/paging";
import {
  type CacheOptions,
  type CacheStats,
  type ObjectCache,
  SLAB_ERROR,
  SLAB_HEADER as H,
  SLAB_MAGIC,
  SlabError,
  type SlabPageSource,
} from "./api.js";

/** Limits of a cache's geometry. */
const LIMITS = {
  /** Largest object a cache takes. */
  MAX_SIZE: 65536,
  /** Largest alignment. */
  MAX_ALIGN: PAGE_SIZE,
  /** Most pages in one slab. */
  MAX_SLAB_PAGES: 64,
  /** A slab may waste at most 1/WASTE_DIVISOR of its bytes (Linux's rule of thumb is 1/8). */
  WASTE_DIVISOR: 8,
  /** Colour offsets step by at least one i486 cache line. */
  CACHE_LINE: 32,
} as const;

/** Indices of a cache's three lists. */
const LIST = { FULL: 0, PARTIAL: 1, EMPTY: 2 } as const;
type ListIndex = (typeof LIST)[keyof typeof LIST];
const LIST_NAMES = ["full", "partial", "empty"] as const;

/** The keys a {@link CacheOptions} may have. */
const CACHE_OPTION_KEYS: readonly string[] = [
  "size",
  "align",
  "ctor",
  "colour",
  "reserve",
  "name",
] satisfies (keyof CacheOptions)[];

/** The page-owner record of one slab: which cache, and where the slab starts. */
interface SlabRef {
  readonly cache: SlabCache;
  readonly va: number;
}

/** Round `n` up to a multiple of `to` (a power of two). */
function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Bytes before object 0 of a slab of `n` objects, colour excluded: the header and bitmap, aligned. */
function headerBytes(n: number, align: number): number {
  return roundUp(H.BITMAP + 4 * Math.ceil(n / 32), align);
}

/** How a cache lays out its slabs: fixed when the cache is made. */
export interface SlabGeometry {
  /** Bytes from one object to the next. */
  readonly slotSize: number;
  /** Offset of the free-list link inside a free object (0, or after the object with a constructor). */
  readonly linkOffset: number;
  /** Pages per slab. */
  readonly pagesPerSlab: number;
  /** Objects per slab. */
  readonly objectsPerSlab: number;
  /** Offset of object 0 without colour (header and bitmap, aligned). */
  readonly firstOffset: number;
  /** Bytes of colour step. */
  readonly colourStep: number;
  /** Distinct colours (1 without colouring). */
  readonly colours: number;
}

/**
 * The layout of a cache's slabs: the fewest pages (1, 2, 4, ...) whose
 * leftover is at most an eighth of the slab, and as many objects as fit
 * after the header and bitmap. The leftover bytes become colour: each new
 * slab starts its objects one colour step further, so that the same object
 * in different slabs falls on different cache lines.
 */
export function slabGeometry(
  size: number,
  align: number,
  hasCtor: boolean,
  colour: boolean,
): SlabGeometry {
  // Without a constructor the link overwrites the free object's first word;
  // with one it must not (the object keeps its constructed state), so it
  // goes in a word after the object, as SLUB does.
  const linkOffset = hasCtor ? roundUp(size, 4) : 0;
  const slotSize = roundUp(Math.max(hasCtor ? linkOffset + 4 : size, 4), align);
  let pages = 1;
  let n: number;
  for (;;) {
    const bytes = pages * PAGE_SIZE;
    n = Math.floor((bytes - H.BITMAP) / slotSize);
    while (n > 0 && headerBytes(n, align) + n * slotSize > bytes) n--;
    const waste = n === 0 ? bytes : bytes - headerBytes(n, align) - n * slotSize;
    if ((n > 0 && waste * LIMITS.WASTE_DIVISOR <= bytes) || pages >= LIMITS.MAX_SLAB_PAGES) break;
    pages *= 2;
  }
  const firstOffset = headerBytes(n, align);
  const leftover = pages * PAGE_SIZE - firstOffset - n * slotSize;
  const colourStep = Math.max(align, LIMITS.CACHE_LINE);
  return {
    slotSize,
    linkOffset,
    pagesPerSlab: pages,
    objectsPerSlab: n,
    firstOffset,
    colourStep,
    colours: colour ? Math.floor(leftover / colourStep) + 1 : 1,
  };
}

/** Which slab a page belongs to: what `SlabAllocator.slabOf` answers. */
export interface SlabLocation {
  /** The cache the slab belongs to. */
  readonly cache: SlabCache;
  /** The slab's first address. */
  readonly slab: number;
}

/** Where an object is: what `SlabCache.locate` answers. */
export interface ObjectLocation {
  /** The slab's first address. */
  readonly slab: number;
  /** The object's index in the slab (0 is the first object). */
  readonly index: number;
}

/** Is `v` a 32-bit address (an integer in [0, 2^32))? */
function isAddress(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

/**
 * The slab allocator: the caches, the page source they grow with, and the
 * record of which page belongs to which slab.
 */
export class SlabAllocator {
  /** Where slabs come from. */
  declare readonly pages: SlabPageSource;
  /** The MMU every slab word is read and written through (CPL 0). */
  declare readonly mmu: Mmu;
  /** Caches by id (a destroyed cache leaves a hole, so ids are never reused). */
  private readonly caches: (SlabCache | undefined)[] = [];
  /** Page number (va >>> 12) to the slab it belongs to. */
  private readonly owners = new Map<number, SlabRef>();

  /** Slabs on pages from `pages`, reached through `mmu`. */
  constructor(pages: SlabPageSource, mmu: Mmu) {
    if (
      typeof pages !== "object" ||
      pages === null ||
      typeof pages.allocPages !== "function" ||
      typeof pages.freePages !== "function"
    )
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `page source ${describeValue(pages)} is not a SlabPageSource (allocPages, freePages)`,
      );
    if (typeof mmu !== "object" || mmu === null || typeof mmu.read32 !== "function")
      throw new SlabError(SLAB_ERROR.BAD_ARGUMENT, `mmu ${describeValue(mmu)} is not an Mmu`);
    this.pages = pages;
    this.mmu = mmu;
  }

  /** A new, empty cache. Bad options: E_BAD_ARGUMENT, and no cache is made. */
  createCache(options: CacheOptions): SlabCache {
    if (typeof options !== "object" || options === null || Array.isArray(options))
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `cache options ${describeValue(options)} must be an object`,
      );
    const unknown = Object.keys(options).find((k) => !CACHE_OPTION_KEYS.includes(k));
    if (unknown !== undefined)
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `unknown cache option ${describeValue(unknown)} (known: ${CACHE_OPTION_KEYS.join(", ")})`,
      );
    const { size } = options;
    if (!Number.isSafeInteger(size) || size < 1 || size > LIMITS.MAX_SIZE)
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `object size ${describeValue(size)} must be an integer in [1, ${LIMITS.MAX_SIZE}]`,
      );
    // Only undefined means "the default": an explicit null is refused like any
    // other value that is not a legal one.
    const align: unknown = options.align === undefined ? 8 : options.align;
    if (
      typeof align !== "number" ||
      !Number.isSafeInteger(align) ||
      align < 4 ||
      align > LIMITS.MAX_ALIGN ||
      (align & (align - 1)) !== 0
    )
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `alignment ${describeValue(align)} must be a power of two in [4, ${LIMITS.MAX_ALIGN}]`,
      );
    if (options.ctor !== undefined && typeof options.ctor !== "function")
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `constructor ${describeValue(options.ctor)} is not a function`,
      );
    const reserve: unknown = options.reserve === undefined ? 1 : options.reserve;
    if (
      typeof reserve !== "number" ||
      !Number.isSafeInteger(reserve) ||
      reserve < 0 ||
      reserve > 1024
    )
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `reserve ${describeValue(reserve)} must be an integer in [0, 1024]`,
      );
    if (options.colour !== undefined && typeof options.colour !== "boolean")
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `colour ${describeValue(options.colour)} must be a boolean`,
      );
    if (options.name !== undefined && typeof options.name !== "string")
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `name ${describeValue(options.name)} must be a string`,
      );
    const geometry = slabGeometry(size, align, options.ctor !== undefined, options.colour ?? true);
    const id = this.caches.length + 1; // 0 is never a cache id, so a zeroed page is never a slab
    const cache = new SlabCache(this, id, {
      name: options.name ?? `cache-${size}`,
      objectSize: size,
      align,
      reserve,
      geometry,
      ctor: options.ctor,
    });
    this.caches.push(cache);
    return cache;
  }

  /** The live caches, oldest first. */
  get allCaches(): readonly SlabCache[] {
    return this.caches.filter((c): c is SlabCache => c !== undefined);
  }

  /** The slab (cache and start address) that owns the page holding `va`, if any. */
  slabOf(va: number): SlabLocation | undefined {
    // Not a number: no slab (a BigInt or a Symbol would throw a TypeError at `>>>`).
    if (typeof va !== "number") return undefined;
    const ref = this.owners.get(va >>> 12);
    return ref === undefined ? undefined : { cache: ref.cache, slab: ref.va };
  }

  /** Pages held by all caches. */
  get pagesHeld(): number {
    return this.owners.size;
  }

  /**
   * One line per cache, in the spirit of Linux's `/proc/slabinfo`: name,
   * objects in use and held, object size, objects and pages per slab, and
   * the slabs on each list. From the counters; reads no simulated memory.
   *
   * ```
   * # name        active  total  size  per-slab  pages  full  partial  empty
   * kmalloc-32        3    126    32       126      1     0        1      0
   * ```
   */
  slabinfo(): string {
    const rows = this.allCaches.map((c) => {
      const s = c.stats;
      const g = c.geometry;
      return [
        c.name,
        s.live,
        (s.full + s.partial + s.empty) * g.objectsPerSlab,
        c.objectSize,
        g.objectsPerSlab,
        g.pagesPerSlab,
        s.full,
        s.partial,
        s.empty,
      ].map(String);
    });
    const head = [
      "# name",
      "active",
      "total",
      "size",
      "per-slab",
      "pages",
      "full",
      "partial",
      "empty",
    ];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    return [head, ...rows]
      .map((r) =>
        r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join("  "),
      )
      .join("\n");
  }

  /** Walk every slab of every cache through the MMU; throws E_CORRUPT at the first thing wrong. */
  check(): void {
    const seen = new Set<number>();
    for (const c of this.allCaches) for (const s of c.checkSlabs()) seen.add(s);
    for (const [page, ref] of this.owners)
      if (!seen.has(ref.va))
        throw new SlabError(
          SLAB_ERROR.CORRUPT,
          `page ${hex32(page * PAGE_SIZE)} is recorded for slab ${hex32(ref.va)} of ${ref.cache.name}, which is on none of its lists`,
        );
  }

  /** @internal Record the pages of a new slab. */
  adopt(cache: SlabCache, va: number, pages: number): void {
    const ref = { cache, va };
    for (let i = 0; i < pages; i++) this.owners.set((va >>> 12) + i, ref);
  }

  /** @internal Forget the pages of a slab given back. */
  release(va: number, pages: number): void {
    for (let i = 0; i < pages; i++) this.owners.delete((va >>> 12) + i);
  }

  /** @internal Forget a destroyed cache. */
  forget(cache: SlabCache): void {
    this.caches[cache.id - 1] = undefined;
  }
}

interface CacheSetup {
  readonly name: string;
  readonly objectSize: number;
  readonly align: number;
  readonly reserve: number;
  readonly geometry: SlabGeometry;
  readonly ctor: ((va: number) => void) | undefined;
}

/** One object cache. Made by {@link SlabAllocator.createCache}. */
export class SlabCache implements ObjectCache {
  /** The cache's name. */
  declare readonly name: string;
  /** Bytes of every object. */
  declare readonly objectSize: number;
  /** Alignment of every object. */
  declare readonly align: number;
  /** Empty slabs kept when objects are freed. */
  declare readonly reserve: number;
  /** The layout of this cache's slabs. */
  declare readonly geometry: SlabGeometry;
  /** @internal Written into every slab header, so that a slab names its cache. */
  declare readonly id: number;
  declare private readonly owner: SlabAllocator;
  declare private readonly ctor: ((va: number) => void) | undefined;
  declare private readonly mmu: Mmu;
  /** First slab of each list (full, partial, empty), 0 if none. */
  private readonly heads = [0, 0, 0];
  /** Slabs on each list. */
  private readonly counts = [0, 0, 0];
  private nextColour = 0;
  private liveObjects = 0;
  private destroyed = false;

  /** @internal Use {@link SlabAllocator.createCache}. */
  constructor(owner: SlabAllocator, id: number, setup: CacheSetup) {
    this.owner = owner;
    this.mmu = owner.mmu;
    this.id = id;
    this.name = setup.name;
    this.objectSize = setup.objectSize;
    this.align = setup.align;
    this.reserve = setup.reserve;
    this.geometry = setup.geometry;
    this.ctor = setup.ctor;
  }

  /** Counters of this cache. */
  get stats(): CacheStats {
    const [full, partial, empty] = this.counts as [number, number, number];
    return {
      live: this.liveObjects,
      full,
      partial,
      empty,
      pages: (full + partial + empty) * this.geometry.pagesPerSlab,
    };
  }

  /** An object's address, or null when the page source has no pages for a new slab. */
  alloc(): number | null {
    this.alive("alloc");
    let list: ListIndex = LIST.PARTIAL;
    let slab = this.heads[LIST.PARTIAL]!;
    if (slab === 0) {
      list = LIST.EMPTY;
      slab = this.heads[LIST.EMPTY]!;
      if (slab === 0) {
        slab = this.grow();
        if (slab === 0) return null;
      }
    }
    const m = this.mmu;
    const g = this.geometry;
    const obj = m.read32(slab + H.FREE);
    const first = m.read32(slab + H.FIRST);
    // Check what the free list says before anything changes: a corrupt link
    // is refused here rather than handing out a header or a live object.
    const index = (obj - first) / g.slotSize;
    if (obj === 0 || !Number.isInteger(index) || index < 0 || index >= g.objectsPerSlab)
      throw this.corrupt(slab, `free list head ${hex32(obj)} is not an object of the slab`);
    const bitAddr = slab + H.BITMAP + 4 * (index >>> 5);
    const bits = m.read32(bitAddr);
    const bit = 1 << (index & 31);
    if ((bits & bit) !== 0) throw this.corrupt(slab, `free object ${hex32(obj)} is marked in use`);
    const next = m.read32(obj + g.linkOffset);
    const nextIndex = (next - first) / g.slotSize;
    if (
      next !== 0 &&
      (!Number.isInteger(nextIndex) || nextIndex < 0 || nextIndex >= g.objectsPerSlab)
    )
      throw this.corrupt(
        slab,
        `free object ${hex32(obj)} links to ${hex32(next)}, not an object of the slab`,
      );
    const inuse = m.read32(slab + H.INUSE) + 1;
    m.write32(slab + H.FREE, next);
    m.write32(slab + H.INUSE, inuse);
    m.write32(bitAddr, (bits | bit) >>> 0);
    if (inuse === g.objectsPerSlab) this.move(slab, list, LIST.FULL);
    else if (list === LIST.EMPTY) this.move(slab, LIST.EMPTY, LIST.PARTIAL);
    this.liveObjects++;
    return obj;
  }

  /**
   * Give back an object. An address of no slab of this cache (E_FOREIGN), an
   * object that is free (E_DOUBLE_FREE) or an address inside an object
   * (E_INTERIOR) is refused, naming the address, and nothing changes.
   */
  free(va: number): void {
    this.alive("free");
    const { slab, index } = this.locate(va, "free");
    const m = this.mmu;
    const g = this.geometry;
    const bitAddr = slab + H.BITMAP + 4 * (index >>> 5);
    const bits = m.read32(bitAddr);
    const bit = 1 << (index & 31);
    if ((bits & bit) === 0)
      throw new SlabError(
        SLAB_ERROR.DOUBLE_FREE,
        `free(${hex32(va)}): object ${index} of slab ${hex32(slab)} in ${this.name} is free already`,
      );
    const inuse = m.read32(slab + H.INUSE);
    if (inuse < 1 || inuse > g.objectsPerSlab)
      throw this.corrupt(slab, `objects in use ${inuse} is not in [1, ${g.objectsPerSlab}]`);
    m.write32(va + g.linkOffset, m.read32(slab + H.FREE));
    m.write32(slab + H.FREE, va);
    m.write32(bitAddr, (bits & ~bit) >>> 0);
    m.write32(slab + H.INUSE, inuse - 1);
    this.liveObjects--;
    const from: ListIndex = inuse === g.objectsPerSlab ? LIST.FULL : LIST.PARTIAL;
    const to: ListIndex = inuse === 1 ? LIST.EMPTY : LIST.PARTIAL;
    if (from !== to) this.move(slab, from, to);
    // Past the reserve, an empty slab goes back at once: a few are kept so
    // that an alloc/free pair at a slab boundary does not map and unmap pages.
    if (to === LIST.EMPTY && this.counts[LIST.EMPTY]! > this.reserve) this.giveBack(slab);
  }

  /**
   * The slab and index of the object at `va`, or the typed error a free of
   * it gets (foreign or interior; a double free is the caller's check).
   * Reads the slab's header, changes nothing.
   */
  locate(va: number, verb: string): ObjectLocation {
    if (!isAddress(va))
      throw new SlabError(
        SLAB_ERROR.BAD_ARGUMENT,
        `${verb}(${describeValue(va)}): not a 32-bit address`,
      );
    const ref = this.owner.slabOf(va);
    if (ref === undefined || ref.cache !== this)
      throw new SlabError(
        SLAB_ERROR.FOREIGN,
        `${verb}(${hex32(va)}): not an object of ${this.name}${ref === undefined ? "" : ` (it is in a slab of ${ref.cache.name})`}`,
      );
    const slab = ref.slab;
    const m = this.mmu;
    if (m.read32(slab + H.MAGIC) !== SLAB_MAGIC || m.read32(slab + H.CACHE) !== this.id)
      throw this.corrupt(
        slab,
        `its header does not name ${this.name} (magic or cache id overwritten)`,
      );
    const first = m.read32(slab + H.FIRST);
    const g = this.geometry;
    const offset = va - first;
    if (offset < 0 || offset >= g.objectsPerSlab * g.slotSize)
      throw new SlabError(
        SLAB_ERROR.FOREIGN,
        `${verb}(${hex32(va)}): in slab ${hex32(slab)} of ${this.name} but outside its objects (${hex32(first)}..${hex32(first + g.objectsPerSlab * g.slotSize)})`,
      );
    const index = Math.floor(offset / g.slotSize);
    if (offset !== index * g.slotSize)
      throw new SlabError(
        SLAB_ERROR.INTERIOR,
        `${verb}(${hex32(va)}): inside object ${hex32(first + index * g.slotSize)} of ${this.name}, ${offset - index * g.slotSize} bytes from its start`,
      );
    return { slab, index };
  }

  /** Is the object at `va` (a legal object address of this cache) handed out? */
  isAllocated(va: number): boolean {
    const { slab, index } = this.locate(va, "isAllocated");
    return (this.mmu.read32(slab + H.BITMAP + 4 * (index >>> 5)) & (1 << (index & 31))) !== 0;
  }

  /** Give every empty slab back to the page source, the reserve too; returns the pages given back. */
  shrink(): number {
    this.alive("shrink");
    let pages = 0;
    while (this.heads[LIST.EMPTY] !== 0) {
      this.giveBack(this.heads[LIST.EMPTY]!);
      pages += this.geometry.pagesPerSlab;
    }
    return pages;
  }

  /**
   * Give every slab back and retire the cache. Refused with E_BUSY while
   * objects are handed out (nothing changes); any later call on the cache is
   * E_BAD_ARGUMENT.
   */
  destroy(): void {
    this.alive("destroy");
    if (this.liveObjects > 0)
      throw new SlabError(
        SLAB_ERROR.BUSY,
        `destroy ${this.name}: ${this.liveObjects} object(s) still handed out`,
      );
    this.shrink();
    this.destroyed = true;
    this.owner.forget(this);
  }

  /**
   * @internal The checker's walk of this cache: every slab on every list,
   * through the MMU. Returns the slabs seen; throws E_CORRUPT.
   */
  checkSlabs(): number[] {
    const m = this.mmu;
    const g = this.geometry;
    const all: number[] = [];
    let live = 0;
    for (const list of [LIST.FULL, LIST.PARTIAL, LIST.EMPTY] as const) {
      const name = LIST_NAMES[list];
      let prev = 0;
      let count = 0;
      for (let slab = this.heads[list]!; slab !== 0; slab = m.read32(slab + H.NEXT)) {
        const bad = (what: string) => this.corrupt(slab, `(${name} list) ${what}`);
        if (++count > this.counts[list]!)
          throw bad(
            `the ${name} list has more than the ${this.counts[list]} slabs counted (a cycle?)`,
          );
        const ref = this.owner.slabOf(slab);
        if (ref === undefined || ref.cache !== this || ref.slab !== slab)
          throw bad("is not recorded as a slab of this cache");
        if (m.read32(slab + H.MAGIC) !== SLAB_MAGIC) throw bad("magic overwritten");
        if (m.read32(slab + H.CACHE) !== this.id)
          throw bad(`cache id ${m.read32(slab + H.CACHE)} is not ${this.id}`);
        if (m.read32(slab + H.PREV) !== prev)
          throw bad(
            `previous-slab link ${hex32(m.read32(slab + H.PREV))} should be ${hex32(prev)}`,
          );
        const first = m.read32(slab + H.FIRST);
        const colour = first - slab - g.firstOffset;
        if (colour < 0 || colour % g.colourStep !== 0 || colour / g.colourStep >= g.colours)
          throw bad(`first object ${hex32(first)} is not at a colour offset`);
        const inuse = m.read32(slab + H.INUSE);
        const want =
          list === LIST.FULL
            ? inuse === g.objectsPerSlab
            : list === LIST.EMPTY
              ? inuse === 0
              : inuse > 0 && inuse < g.objectsPerSlab;
        if (!want)
          throw bad(
            `${inuse} of ${g.objectsPerSlab} objects in use does not belong on the ${name} list`,
          );
        let marked = 0;
        const words = Math.ceil(g.objectsPerSlab / 32);
        for (let w = 0; w < words; w++) {
          let bits = m.read32(slab + H.BITMAP + 4 * w);
          const valid = Math.min(32, g.objectsPerSlab - 32 * w);
          if (valid < 32 && bits >>> valid !== 0)
            throw bad(`bitmap word ${w} marks objects past the last`);
          for (; bits !== 0; bits &= bits - 1) marked++;
        }
        if (marked !== inuse)
          throw bad(`bitmap marks ${marked} objects in use, the header says ${inuse}`);
        const onList = new Set<number>();
        for (let obj = m.read32(slab + H.FREE); obj !== 0; obj = m.read32(obj + g.linkOffset)) {
          const index = (obj - first) / g.slotSize;
          if (!Number.isInteger(index) || index < 0 || index >= g.objectsPerSlab)
            throw bad(`free list reaches ${hex32(obj)}, not an object of the slab`);
          if (onList.has(obj)) throw bad(`free list visits ${hex32(obj)} twice`);
          if ((m.read32(slab + H.BITMAP + 4 * (index >>> 5)) & (1 << (index & 31))) !== 0)
            throw bad(`free list holds ${hex32(obj)}, which the bitmap marks in use`);
          onList.add(obj);
        }
        if (onList.size + inuse !== g.objectsPerSlab)
          throw bad(`${onList.size} free + ${inuse} in use is not ${g.objectsPerSlab} objects`);
        live += inuse;
        all.push(slab);
        prev = slab;
      }
      if (count !== this.counts[list])
        throw new SlabError(
          SLAB_ERROR.CORRUPT,
          `${this.name}: the ${name} list has ${count} slabs, ${this.counts[list]} counted`,
        );
    }
    if (live !== this.liveObjects)
      throw new SlabError(
        SLAB_ERROR.CORRUPT,
        `${this.name}: slabs hold ${live} objects in use, ${this.liveObjects} handed out`,
      );
    return all;
  }

  /** A new slab on the empty list: its address, or 0 when the page source is out of pages. */
  private grow(): number {
    const g = this.geometry;
    const slab = this.owner.pages.allocPages(g.pagesPerSlab);
    if (slab === null) return 0;
    const m = this.mmu;
    const first = slab + g.firstOffset + this.nextColour * g.colourStep;
    try {
      // Bonwick: construct once, when the slab is made; frees keep the state.
      if (this.ctor) for (let i = 0; i < g.objectsPerSlab; i++) this.ctor(first + i * g.slotSize);
    } catch (e) {
      this.owner.pages.freePages(slab, g.pagesPerSlab);
      throw e;
    }
    this.nextColour = (this.nextColour + 1) % g.colours;
    m.write32(slab + H.MAGIC, SLAB_MAGIC);
    m.write32(slab + H.CACHE, this.id);
    m.write32(slab + H.INUSE, 0);
    m.write32(slab + H.FREE, first);
    m.write32(slab + H.FIRST, first);
    m.write32(slab + H.RESERVED, 0);
    for (let w = 0; w < Math.ceil(g.objectsPerSlab / 32); w++)
      m.write32(slab + H.BITMAP + 4 * w, 0);
    for (let i = 0; i < g.objectsPerSlab; i++) {
      const obj = first + i * g.slotSize;
      m.write32(obj + g.linkOffset, i + 1 < g.objectsPerSlab ? obj + g.slotSize : 0);
    }
    this.push(slab, LIST.EMPTY);
    this.owner.adopt(this, slab, g.pagesPerSlab);
    return slab;
  }

  /** Take the empty slab off its list and give its pages back. */
  private giveBack(slab: number): void {
    this.unlink(slab, LIST.EMPTY);
    // A stale pointer into pages that stay mapped (Linux's direct map) must
    // not find a slab header here.
    this.mmu.write32(slab + H.MAGIC, 0);
    this.owner.release(slab, this.geometry.pagesPerSlab);
    this.owner.pages.freePages(slab, this.geometry.pagesPerSlab);
  }

  private move(slab: number, from: ListIndex, to: ListIndex): void {
    this.unlink(slab, from);
    this.push(slab, to);
  }

  private push(slab: number, list: ListIndex): void {
    const m = this.mmu;
    const head = this.heads[list]!;
    m.write32(slab + H.NEXT, head);
    m.write32(slab + H.PREV, 0);
    if (head !== 0) m.write32(head + H.PREV, slab);
    this.heads[list] = slab;
    this.counts[list]!++;
  }

  private unlink(slab: number, list: ListIndex): void {
    const m = this.mmu;
    const next = m.read32(slab + H.NEXT);
    const prev = m.read32(slab + H.PREV);
    if (prev === 0) this.heads[list] = next;
    else m.write32(prev + H.NEXT, next);
    if (next !== 0) m.write32(next + H.PREV, prev);
    this.counts[list]!--;
  }

  private corrupt(slab: number, what: string): SlabError {
    return new SlabError(SLAB_ERROR.CORRUPT, `slab ${hex32(slab)} of ${this.name}: ${what}`);
  }

  private alive(verb: string): void {
    if (this.destroyed)
      throw new SlabError(SLAB_ERROR.BAD_ARGUMENT, `${verb}: ${this.name} was destroyed`);
  }
}
