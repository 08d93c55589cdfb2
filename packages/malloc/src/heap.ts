/**
 * malloc, calloc, realloc and free for small kernel objects, on kvmalloc pages.
 *
 * Blocks carry boundary tags: a header on every block, a footer on free ones,
 * and a PREV_ALLOC bit so that an allocated block needs no footer. Freeing
 * merges with a free neighbour on either side (the footer of the one before
 * says where it starts). The heap grows by chunks of kvmalloc pages; a chunk
 * whose blocks are all free again goes back with kvfree, except the last
 * chunk held, so that a malloc/free pair on an empty heap does not map and
 * unmap pages every time. Requests of `largeThreshold` bytes or more get
 * pages of their own.
 *
 * Which free block a request gets is the placement policy's business (the
 * swap point); everything here goes through the MMU at CPL 0.
 *
 * Besides the words in simulated memory, the heap keeps shadow bookkeeping
 * in TypeScript, the way a debugging allocator does: the chunks held, the
 * pointers handed out, and the size of each block handed out. It never
 * decides placement; it lets a bad free be refused before anything changes
 * (a header overwritten with a plausible size would otherwise make free
 * swallow the live block after it), and the checker compare the two views.
 *
 * @module
 */
import { PAGE_SIZE, hex32 } from "@mm386/hw-i386";
import type { KernelPageAllocator } from "@mm386/kvmalloc";
import { describeValue } from "@mm386/paging";
import {
  type HeapAllocator,
  ALLOC,
  CHUNK_MAGIC,
  type HeapMemory,
  type HeapStats,
  LARGE,
  LARGE_MAGIC,
  MALLOC_ERROR,
  MIN_BLOCK,
  MallocError,
  type MallocOptions,
  type PlacementPolicy,
  PREV_ALLOC,
} from "./api.js";
import { segregatedFits } from "./policies.js";

/** The keys a {@link MallocOptions} may have. */
const MALLOC_OPTION_KEYS: readonly string[] = [
  "policy",
  "align",
  "largeThreshold",
  "chunkPages",
] satisfies (keyof MallocOptions)[];

/**
 * Key of a pointer in the shadow maps: bp / 8, exact for aligned pointers and
 * always below 2^29, so V8 keeps it a small integer (addresses >= 2^31 would
 * be boxed doubles, which makes every Map and Set operation slow).
 */
function key(bp: number): number {
  return bp / 8;
}

interface Chunk {
  readonly start: number;
  readonly pages: number;
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

/** One block of the heap, for dumps and tests. */
export interface HeapBlock {
  /** The pointer malloc returns for it. */
  readonly bp: number;
  /** Bytes, header included. */
  readonly size: number;
  /** Allocated (true) or free. */
  readonly allocated: boolean;
  /** A large block with pages of its own. */
  readonly large: boolean;
}

/** A heap in simulated kernel memory. */
export class Malloc implements HeapAllocator {
  /** The page allocator the heap grows with. */
  readonly kv: KernelPageAllocator;
  /** `"malloc (<policy name>)"`. */
  readonly name: string;
  /** The placement policy. */
  readonly policy: PlacementPolicy;
  /** Alignment of every pointer returned. */
  readonly align: 8 | 16;
  /** Requests of this many bytes or more get pages of their own. */
  readonly largeThreshold: number;
  /** Pages the heap grows by at least. */
  readonly chunkPages: number;
  private readonly mem: HeapMemory;
  private readonly control: number;
  private readonly chunks: Chunk[] = [];
  private readonly larges = new Map<number, number>();
  /** Live pointers (by {@link key}) to the bytes requested. */
  private readonly live = new Map<number, number>();
  /** Live chunk blocks (by {@link key}) to their size, header included, as the heap made them. */
  private readonly blockSize = new Map<number, number>();
  private readonly returned = new Set<number>();
  private livePayload = 0;
  private peakPayload = 0;
  private footprint = 1;
  private peakFootprint = 1;

  /**
   * A heap on `kv`, with its control page (the policy's list heads) taken
   * from it. Bad options or a policy that is not one are a
   * {@link MallocError} E_BAD_ARGUMENT; no page for the control page is
   * E_OUT_OF_MEMORY. A refused construction holds no page.
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
      typeof kv.paging?.mmu !== "object"
    )
      throw new MallocError(
        MALLOC_ERROR.BAD_ARGUMENT,
        `kv ${describeValue(kv)} is not a kvmalloc (an object with kvmalloc, kvfree and paging)`,
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
    this.largeThreshold = options.largeThreshold === undefined ? 16 * 1024 : options.largeThreshold;
    this.chunkPages = options.chunkPages === undefined ? 4 : options.chunkPages;
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
    const mmu = kv.paging.mmu;
    this.mem = { read: (va) => mmu.read32(va, 0), write: (va, value) => mmu.write32(va, value, 0) };
    this.policy = makePolicy(options.policy === undefined ? segregatedFits : options.policy);
    this.name = `malloc (${this.policy.name})`;
    const control = kv.kvmalloc(1);
    // Exhaustion, not a bad argument: the constructor cannot return null, so it says so by code.
    if (control === null)
      throw new MallocError(
        MALLOC_ERROR.OUT_OF_MEMORY,
        "no free page for the heap's control page (kvmalloc(1) returned null)",
      );
    this.control = control;
    try {
      for (let i = 0; i < this.policy.controlWords; i++) this.mem.write(control + 4 * i, 0);
      this.policy.attach(this.mem, control);
    } catch (e) {
      // Nothing else refers to the page yet: give it back, so a refused heap holds nothing.
      kv.kvfree(control, 1);
      throw new MallocError(
        MALLOC_ERROR.BAD_ARGUMENT,
        `policy "${this.policy.name}": attach threw (${e instanceof Error ? e.message : describeValue(e)})`,
        { cause: e },
      );
    }
  }

  /** Sizes and peaks. */
  get stats(): HeapStats {
    return {
      livePayload: this.livePayload,
      peakPayload: this.peakPayload,
      footprintPages: this.footprint,
      peakFootprintPages: this.peakFootprint,
      allocations: this.live.size,
      chunks: this.chunks.length,
    };
  }

  /** `size` bytes, aligned; null when out of memory. malloc(0) returns a unique pointer. */
  malloc(size: number): number | null {
    this.checkSize(size, "size");
    if (size >= this.largeThreshold) return this.mallocLarge(size);
    const asize = this.adjust(size);
    let bp = this.policy.find(asize);
    if (bp === 0) {
      bp = this.grow(asize);
      if (bp === 0) return null;
    }
    this.place(bp, asize);
    this.track(bp, size);
    return bp;
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
    if (bp !== null) for (let i = 0; i < total; i += 4) this.mem.write(bp + i, 0);
    return bp;
  }

  /** Give back a block malloc returned. A pointer it never returned, a double free or a corrupted header is refused, and nothing changes. */
  free(bp: number): void {
    const pages = this.validate(bp, "free");
    this.untrack(bp);
    if (pages > 0) {
      this.larges.delete(key(bp));
      this.kv.kvfree(bp - this.align, pages);
      this.footprint -= pages;
      return;
    }
    this.release(bp);
  }

  /**
   * Resize the block at `bp` to `size` bytes, keeping its contents: in place
   * when it shrinks or the next block is free and big enough, else by moving.
   * realloc(0, size) is malloc; realloc(bp, 0) frees and returns null. Null
   * when out of memory (the block is then untouched).
   */
  realloc(bp: number, size: number): number | null {
    if (bp === 0) return this.malloc(size);
    this.checkSize(size, "size");
    const pages = this.validate(bp, "realloc");
    if (size === 0) {
      this.free(bp);
      return null;
    }
    const old = this.live.get(key(bp))!;
    if (pages > 0) {
      if (size <= pages * PAGE_SIZE - this.align && size >= this.largeThreshold)
        return this.resize(bp, old, size);
      return this.move(bp, old, size);
    }
    if (size >= this.largeThreshold) return this.move(bp, old, size);
    const asize = this.adjust(size);
    const h = this.mem.read(bp - 4);
    const csize = h & ~7;
    const prev = h & PREV_ALLOC;
    if (asize <= csize) {
      if (csize - asize >= MIN_BLOCK) {
        this.mem.write(bp - 4, asize | prev | ALLOC);
        this.blockSize.set(key(bp), asize);
        const rb = bp + asize;
        this.mem.write(rb - 4, (csize - asize) | PREV_ALLOC | ALLOC);
        this.release(rb);
      }
      return this.resize(bp, old, size);
    }
    const nb = bp + csize;
    const nh = this.mem.read(nb - 4);
    if ((nh & ALLOC) === 0 && csize + (nh & ~7) >= asize) {
      const total = csize + (nh & ~7);
      this.policy.remove(nb, nh & ~7);
      if (total - asize >= MIN_BLOCK) {
        this.mem.write(bp - 4, asize | prev | ALLOC);
        this.blockSize.set(key(bp), asize);
        const rb = bp + asize;
        const rsize = total - asize;
        this.mem.write(rb - 4, rsize | PREV_ALLOC);
        this.mem.write(rb + rsize - 8, rsize | PREV_ALLOC);
        this.policy.insert(rb, rsize);
      } else {
        this.mem.write(bp - 4, total | prev | ALLOC);
        this.blockSize.set(key(bp), total);
        this.mem.write(bp + total - 4, this.mem.read(bp + total - 4) | PREV_ALLOC);
      }
      return this.resize(bp, old, size);
    }
    return this.move(bp, old, size);
  }

  /** True if `[bp, bp + size)` lies inside the heap's memory (a chunk's blocks or a large block's pages). */
  contains(bp: number, size: number): boolean {
    const pages = this.larges.get(key(bp));
    if (pages !== undefined) return bp + size <= bp - this.align + pages * PAGE_SIZE;
    const c = this.chunkOf(bp);
    return (
      c !== null && bp >= c.start + this.align && bp + size <= c.start + c.pages * PAGE_SIZE - 4
    );
  }

  /** Every block of every chunk, and the large blocks, walking the heap through the MMU. */
  blocks(): HeapBlock[] {
    const out = this.chunks.flatMap((c) => this.chunkBlocks(c));
    for (const [k, pages] of this.larges)
      out.push({ bp: k * 8, size: pages * PAGE_SIZE - this.align, allocated: true, large: true });
    return out;
  }

  /** The blocks of one chunk, in address order, read through the MMU. */
  private chunkBlocks(c: Chunk): HeapBlock[] {
    const out: HeapBlock[] = [];
    for (let bp = c.start + this.align; ;) {
      const h = this.mem.read(bp - 4);
      const size = h & ~7;
      if (size === 0) return out;
      out.push({ bp, size, allocated: (h & ALLOC) !== 0, large: false });
      bp += size;
    }
  }

  /**
   * Walk the whole heap through the MMU and check every header, footer and
   * free-list link; throws a {@link MallocError} (E_CORRUPT) naming the first
   * address where something is wrong.
   */
  check(): void {
    const bad = (va: number, what: string): never => {
      throw new MallocError(MALLOC_ERROR.CORRUPT, `${hex32(va)}: ${what}`);
    };
    const free = new Set<number>();
    const allocated = new Set<number>();
    for (const c of this.chunks) {
      if (this.mem.read(c.start) !== CHUNK_MAGIC) bad(c.start, "chunk magic is gone");
      const end = c.start + c.pages * PAGE_SIZE;
      let prevAlloc = true;
      let prevFree = false;
      for (let bp = c.start + this.align; ;) {
        const h = this.mem.read(bp - 4);
        const size = h & ~7;
        if (((h & PREV_ALLOC) !== 0) !== prevAlloc)
          bad(
            bp - 4,
            `PREV_ALLOC bit says ${(h & PREV_ALLOC) !== 0}, the block before is ${prevAlloc ? "allocated" : "free"}`,
          );
        if (size === 0) {
          if (bp - 4 !== end - 4 || (h & ALLOC) === 0) bad(bp - 4, "epilogue header out of place");
          break;
        }
        if (size % this.align !== 0 || size < MIN_BLOCK || bp - 4 + size > end - 4)
          bad(bp - 4, `block size ${size} is impossible here`);
        if ((h & LARGE) !== 0) bad(bp - 4, "LARGE bit inside a chunk");
        if ((h & ALLOC) === 0) {
          if (prevFree) bad(bp - 4, "two free blocks in a row (not coalesced)");
          if (this.mem.read(bp + size - 8) !== h)
            bad(
              bp + size - 8,
              `footer ${hex32(this.mem.read(bp + size - 8))} does not match header ${hex32(h)}`,
            );
          free.add(bp);
        } else {
          allocated.add(bp);
          if (!this.live.has(key(bp))) bad(bp, "allocated block that malloc did not hand out");
          if (size - 4 < this.live.get(key(bp))!)
            bad(bp, `block of ${size} bytes holds a ${this.live.get(key(bp))!}-byte request`);
          if (this.blockSize.get(key(bp)) !== size)
            bad(bp - 4, `block of ${size} bytes, malloc made it ${this.blockSize.get(key(bp))}`);
        }
        prevAlloc = (h & ALLOC) !== 0;
        prevFree = !prevAlloc;
        bp += size;
      }
    }
    for (const [k, pages] of this.larges) {
      const bp = k * 8;
      if (this.mem.read(bp - this.align) !== LARGE_MAGIC)
        bad(bp - this.align, "large block magic is gone");
      if (
        this.mem.read(bp - 4) !==
        ((pages * PAGE_SIZE - this.align) | LARGE | ALLOC | PREV_ALLOC) >>> 0
      )
        bad(bp - 4, "large block header changed");
      allocated.add(bp);
    }
    for (const k of this.live.keys())
      if (!allocated.has(k * 8))
        bad(k * 8, "a pointer malloc handed out is not an allocated block");
    let listed = 0;
    this.policy.forEachFree((bp) => {
      if (++listed > free.size)
        bad(bp, "the free lists hold more blocks than the heap (a cycle, or a block listed twice)");
      if (!free.has(bp)) bad(bp, "on a free list but not a free block");
    });
    if (listed !== free.size)
      bad(this.control, `${free.size} free blocks in the heap, ${listed} on the free lists`);
  }

  /** A readable picture of the heap: chunks, blocks, large blocks, totals. */
  dump(): string {
    const s = this.stats;
    const lines = [
      `heap (${this.policy.name}, align ${this.align}): ${s.allocations} live allocation(s), ${s.livePayload} payload bytes, ${s.footprintPages} page(s) held`,
    ];
    for (const c of this.chunks) {
      lines.push(`chunk ${hex32(c.start)} (${c.pages} page(s))`);
      for (const b of this.chunkBlocks(c)) {
        lines.push(
          `  ${hex32(b.bp)} ${String(b.size).padStart(6)} B  ${b.allocated ? `allocated (${this.live.get(key(b.bp))} requested)` : "free"}`,
        );
      }
    }
    for (const [k, pages] of this.larges)
      lines.push(`large ${hex32(k * 8)} ${pages} page(s), ${this.live.get(k)} requested`);
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

  /** Block size for a request: payload plus header, aligned, at least MIN_BLOCK. */
  private adjust(size: number): number {
    const a = this.align;
    return Math.max(MIN_BLOCK, Math.ceil((size + 4) / a) * a);
  }

  private track(bp: number, size: number): void {
    this.live.set(key(bp), size);
    this.returned.add(key(bp));
    this.livePayload += size;
    if (this.livePayload > this.peakPayload) this.peakPayload = this.livePayload;
    if (this.footprint > this.peakFootprint) this.peakFootprint = this.footprint;
  }

  private untrack(bp: number): void {
    this.livePayload -= this.live.get(key(bp))!;
    this.live.delete(key(bp));
    this.blockSize.delete(key(bp));
  }

  private resize(bp: number, old: number, size: number): number {
    this.livePayload += size - old;
    this.live.set(key(bp), size);
    if (this.livePayload > this.peakPayload) this.peakPayload = this.livePayload;
    return bp;
  }

  private move(bp: number, old: number, size: number): number | null {
    const to = this.malloc(size);
    if (to === null) return null;
    // Word by word through the MMU, as rep movsd would (one translation per page).
    this.kv.paging.mmu.copyWords(to, bp, Math.ceil(Math.min(old, size) / 4), 0);
    this.free(bp);
    return to;
  }

  /** Check `bp` is a live block with a sane header; returns its page count if large, else 0. */
  private validate(bp: number, what: string): number {
    if (!Number.isSafeInteger(bp))
      throw new MallocError(
        MALLOC_ERROR.BAD_ARGUMENT,
        `${what}(${describeValue(bp)}): not an address`,
      );
    if (!this.live.has(key(bp))) {
      if (this.returned.has(key(bp)))
        throw new MallocError(
          MALLOC_ERROR.DOUBLE_FREE,
          `${what}(${hex32(bp)}): the block was freed already`,
        );
      throw new MallocError(
        MALLOC_ERROR.NOT_ALLOCATED,
        `${what}(${hex32(bp)}): malloc never returned this address`,
      );
    }
    const h = this.mem.read(bp - 4);
    const pages = this.larges.get(key(bp));
    if (pages !== undefined) {
      if (h !== ((pages * PAGE_SIZE - this.align) | LARGE | ALLOC | PREV_ALLOC) >>> 0)
        throw new MallocError(
          MALLOC_ERROR.CORRUPT,
          `${what}(${hex32(bp)}): large block header ${hex32(h)} was overwritten`,
        );
      return pages;
    }
    // A chunk block: its header must say what the heap made (the host-side
    // record, not the header, is the truth), and the neighbours a free would
    // merge with must really be free, or the merge would swallow live memory.
    const corrupt = (why: string): never => {
      throw new MallocError(MALLOC_ERROR.CORRUPT, `${what}(${hex32(bp)}): ${why}`);
    };
    const size = this.blockSize.get(key(bp))!;
    if ((h & ~PREV_ALLOC) >>> 0 !== (size | ALLOC))
      corrupt(
        `header ${hex32(h)} is corrupted (malloc made this an allocated block of ${size} bytes, header ${hex32(size | ALLOC)})`,
      );
    const c = this.chunkOf(bp)!;
    const end = c.start + c.pages * PAGE_SIZE;
    const nb = bp + size;
    const nh = this.mem.read(nb - 4);
    if ((nh & PREV_ALLOC) === 0)
      corrupt(`the next header ${hex32(nh)} at ${hex32(nb - 4)} says this block is free`);
    if ((nh & ALLOC) === 0) {
      const nsize = nh & ~7;
      if (this.live.has(key(nb)))
        corrupt(
          `the next block ${hex32(nb)} is live, but its header ${hex32(nh)} at ${hex32(nb - 4)} says free`,
        );
      if (
        nsize < MIN_BLOCK ||
        nsize % this.align !== 0 ||
        nb - 4 + nsize > end - 4 ||
        this.mem.read(nb + nsize - 8) !== nh
      )
        corrupt(`the next block's header ${hex32(nh)} at ${hex32(nb - 4)} is corrupted`);
    }
    if ((h & PREV_ALLOC) === 0) {
      const f = this.mem.read(bp - 8);
      const psize = f & ~7;
      const pb = bp - psize;
      if (
        (f & ALLOC) !== 0 ||
        psize < MIN_BLOCK ||
        psize % this.align !== 0 ||
        pb < c.start + this.align ||
        this.live.has(key(pb)) ||
        this.mem.read(pb - 4) !== f
      )
        corrupt(
          `header ${hex32(h)} says the block before is free, but the footer ${hex32(f)} at ${hex32(bp - 8)} is not that of a free block`,
        );
    }
    return 0;
  }

  private chunkOf(va: number): Chunk | null {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = this.chunks[mid]!;
      if (va < c.start) hi = mid - 1;
      else if (va >= c.start + c.pages * PAGE_SIZE) lo = mid + 1;
      else return c;
    }
    return null;
  }

  /** A new chunk holding one free block of at least `asize` bytes; returns that block, or 0. */
  private grow(asize: number): number {
    const pages = Math.max(this.chunkPages, Math.ceil((asize + this.align) / PAGE_SIZE));
    const start = this.kv.kvmalloc(pages);
    if (start === null) return 0;
    const mem = this.mem;
    mem.write(start, CHUNK_MAGIC);
    for (let i = 4; i < this.align - 4; i += 4) mem.write(start + i, 0);
    const bp = start + this.align;
    const size = pages * PAGE_SIZE - this.align;
    mem.write(bp - 4, size | PREV_ALLOC);
    mem.write(bp + size - 8, size | PREV_ALLOC);
    mem.write(start + pages * PAGE_SIZE - 4, ALLOC); // epilogue; the block before it is free
    const at = this.chunks.findIndex((c) => c.start > start);
    this.chunks.splice(at < 0 ? this.chunks.length : at, 0, { start, pages });
    this.footprint += pages;
    this.policy.insert(bp, size);
    return bp;
  }

  private mallocLarge(size: number): number | null {
    const pages = Math.ceil((size + this.align) / PAGE_SIZE);
    const start = this.kv.kvmalloc(pages);
    if (start === null) return null;
    this.mem.write(start, LARGE_MAGIC);
    const bp = start + this.align;
    this.mem.write(bp - 4, ((pages * PAGE_SIZE - this.align) | LARGE | ALLOC | PREV_ALLOC) >>> 0);
    this.larges.set(key(bp), pages);
    this.footprint += pages;
    this.track(bp, size);
    return bp;
  }

  /** Take the free block bp for a request of asize bytes, splitting off the rest if it can stand alone. */
  private place(bp: number, asize: number): void {
    const mem = this.mem;
    const h = mem.read(bp - 4);
    const csize = h & ~7;
    const prev = h & PREV_ALLOC;
    this.policy.remove(bp, csize);
    if (csize - asize >= MIN_BLOCK) {
      mem.write(bp - 4, asize | prev | ALLOC);
      this.blockSize.set(key(bp), asize);
      const rb = bp + asize;
      const rsize = csize - asize;
      mem.write(rb - 4, rsize | PREV_ALLOC);
      mem.write(rb + rsize - 8, rsize | PREV_ALLOC);
      this.policy.insert(rb, rsize);
    } else {
      mem.write(bp - 4, csize | prev | ALLOC);
      this.blockSize.set(key(bp), csize);
      mem.write(bp + csize - 4, mem.read(bp + csize - 4) | PREV_ALLOC);
    }
  }

  /** Make the allocated block bp free, merging with free neighbours; a chunk that is all free goes back. */
  private release(bp: number): void {
    const mem = this.mem;
    const h = mem.read(bp - 4);
    let size = h & ~7;
    let prev = h & PREV_ALLOC;
    const nh = mem.read(bp + size - 4);
    if ((nh & ALLOC) === 0) {
      this.policy.remove(bp + size, nh & ~7);
      size += nh & ~7;
    }
    if (prev === 0) {
      const psize = mem.read(bp - 8) & ~7;
      bp -= psize;
      this.policy.remove(bp, psize);
      size += psize;
      prev = mem.read(bp - 4) & PREV_ALLOC;
    }
    mem.write(bp - 4, size | prev);
    mem.write(bp + size - 8, size | prev);
    mem.write(bp + size - 4, mem.read(bp + size - 4) & ~PREV_ALLOC);
    const c = this.chunkOf(bp)!;
    if (
      bp === c.start + this.align &&
      size === c.pages * PAGE_SIZE - this.align &&
      this.chunks.length > 1
    ) {
      this.chunks.splice(this.chunks.indexOf(c), 1);
      this.kv.kvfree(c.start, c.pages);
      this.footprint -= c.pages;
      return;
    }
    this.policy.insert(bp, size);
  }
}
