/**
 * kvmalloc(n): n physical frames, n consecutive kernel virtual pages, mapped.
 *
 * ```
 *  kernel virtual:  [ page 0 | page 1 | page 2 ][ guard ]   one vpalloc run
 *                       |        |        |       (unmapped: an overrun faults here)
 *  physical:        [ f7 ]   [ f2 | f3 ]           frames need not be consecutive:
 *                    run 1     run 2                taken with ppalloc(1, remaining)
 * ```
 *
 * All or nothing: out of memory at any step gives back everything taken so
 * far and returns null; a refusal half-way (mapMem throwing, e.g. E_PAST_RAM
 * for a frame the memory map promised but RAM does not have) gives back the
 * same and rethrows. Kernel page tables made on the way stay: paging never
 * frees one (every pagedir shares it). kvfree(addr, n) unmaps, gives every frame back (found through the
 * page tables) and the virtual range. The live allocations are kept in tables
 * by page (allocator bookkeeping, as the source design keeps vpallocator state), so a
 * free of something kvmalloc never returned, or with the wrong size, is a
 * typed error that changes nothing.
 *
 * @module
 */
import { ENTRIES_PER_TABLE, PAGE_SIZE, hex32, type Mmu } from "@mm386/hw-i386";
import type { PageSource } from "@mm386/paging";
import { Paging, PTE_PRESENT, PTE_WRITE, describeValue } from "@mm386/paging";
import type { KernelPageAllocator } from "./api.js";

/** Codes carried by {@link KvmallocError}. */
export const KVMALLOC_ERROR = {
  /** A page count that is not a positive integer. */
  BAD_ARGUMENT: "E_BAD_ARGUMENT",
  /** kvfree of an address kvmalloc did not return (or already freed). */
  NOT_ALLOCATED: "E_NOT_ALLOCATED",
  /** kvfree with a page count other than the one allocated. */
  WRONG_SIZE: "E_WRONG_SIZE",
} as const;

/** One of the {@link KVMALLOC_ERROR} codes. */
export type KvmallocErrorCode = (typeof KVMALLOC_ERROR)[keyof typeof KVMALLOC_ERROR];

/** A refused kvmalloc/kvfree. Nothing changed. */
export class KvmallocError extends Error {
  /** Always `"KvmallocError"`. */
  override readonly name = "KvmallocError";
  constructor(
    /** Machine-readable reason. */
    readonly code: KvmallocErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Options of {@link Kvmalloc}. */
export interface KvmallocOptions {
  /** Leave an unmapped page after every allocation, so an overrun faults at a precise address. */
  readonly guardPages?: boolean;
}

/** The keys a {@link KvmallocOptions} may have. */
const KVMALLOC_OPTION_KEYS: readonly string[] = ["guardPages"] satisfies (keyof KvmallocOptions)[];

/** Pages in the 32-bit address space: what {@link keyOf} returns is below it. */
const PAGES = 2 ** 32 / PAGE_SIZE;

/** The key of `addr` in the live and span tables: its page number (-1, which no key is, for anything but a page address). */
function keyOf(addr: unknown): number {
  if (typeof addr !== "number") return -1;
  const page = addr / PAGE_SIZE;
  return page >= 0 && page < PAGES && (page | 0) === page ? page | 0 : -1;
}

/**
 * A number for each virtual page (0 until set), in 1024-page tables made on
 * first use. Kvmalloc's bookkeeping: a Map from page number to page count
 * cost about 60 ns a set or a delete, and a kvmalloc/kvfree pair made eight
 * of them.
 */
class PageNumbers {
  private readonly tables = new Array<Int32Array | undefined>(PAGES / ENTRIES_PER_TABLE);
  /** The number of page `page` (a {@link keyOf}; -1 has 0). */
  get(page: number): number {
    const t = page < 0 ? undefined : this.tables[page >>> 10];
    return t === undefined ? 0 : t[page & (ENTRIES_PER_TABLE - 1)]!;
  }
  /** Set the number of page `page`, a valid page number. */
  set(page: number, value: number): void {
    const t = (this.tables[page >>> 10] ??= new Int32Array(ENTRIES_PER_TABLE));
    t[page & (ENTRIES_PER_TABLE - 1)] = value;
  }
}

/** The kernel's page-granular allocator. */
export class Kvmalloc implements KernelPageAllocator {
  /** Always `"kvmalloc"`. */
  readonly name = "kvmalloc";
  /** The paging it maps with (the hobby kernel's own; not part of the {@link KernelPageAllocator} seam). */
  declare readonly paging: Paging;
  /** The MMU its pages are reached through: `paging.mmu`. */
  declare readonly mmu: Mmu;
  /** Whether every allocation is followed by an unmapped guard page. */
  declare readonly guardPages: boolean;
  /** Pages of each live allocation, by its first page number (0: none starts there). */
  private readonly live = new PageNumbers();
  /** Virtual pages set aside for each live allocation (its `reserve`, guard page not counted), by first page number. */
  private readonly spans = new PageNumbers();
  /** Live allocations. */
  private liveCount = 0;
  private pagesHeld = 0;

  constructor(paging: Paging, options: KvmallocOptions = {}) {
    if (!(paging instanceof Paging))
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `${describeValue(paging)} is not a Paging (startPaging's result)`,
      );
    // An options object or nothing: `null`, a number or an array is a
    // mistake, and so is a key this class does not know (a typo such as
    // `guardPage: true` would otherwise silently give the default).
    if (typeof options !== "object" || options === null || Array.isArray(options))
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `options ${describeValue(options)} must be an object { guardPages? }`,
      );
    const unknown = Object.keys(options).find((k) => !KVMALLOC_OPTION_KEYS.includes(k));
    if (unknown !== undefined)
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `unknown option ${describeValue(unknown)} (known: ${KVMALLOC_OPTION_KEYS.join(", ")})`,
      );
    const guard: unknown = options.guardPages;
    if (guard !== undefined && typeof guard !== "boolean")
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `guardPages ${describeValue(guard)} must be true or false`,
      );
    this.paging = paging;
    this.mmu = paging.mmu;
    this.guardPages = guard ?? false;
  }

  /** Pages currently handed out (guard pages not counted). */
  get pages(): number {
    return this.pagesHeld;
  }

  /** Number of live allocations. */
  get allocations(): number {
    return this.liveCount;
  }

  /**
   * n pages of kernel memory, writable and supervisor-only; the virtual
   * address, or null when out of memory. `reserve` (default n) virtual pages
   * are set aside so that {@link Kvmalloc.kvresize} can grow the allocation in
   * place; only n are mapped.
   */
  kvmalloc(n: number, reserve: number = n): number | null {
    if (!Number.isSafeInteger(n) || n < 1)
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `page count ${describeValue(n)} must be a positive integer`,
      );
    if (!Number.isSafeInteger(reserve) || reserve < n)
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `reserve ${describeValue(reserve)} must be an integer of at least the page count ${n}`,
      );
    const span = reserve + (this.guardPages ? 1 : 0);
    const virt = this.paging.allocators.vpalloc(span, span);
    if (virt === null) return null;
    try {
      if (!this.mapFrames(virt.start, 0, n)) {
        this.paging.allocators.vpfree(virt.start, span);
        return null;
      }
    } catch (e) {
      this.paging.allocators.vpfree(virt.start, span);
      throw e;
    }
    const key = keyOf(virt.start);
    this.live.set(key, n);
    this.spans.set(key, reserve);
    this.liveCount++;
    this.pagesHeld += n;
    return virt.start;
  }

  /**
   * Map pages `from` to `to` - 1 of the virtual run at `virt` to fresh frames
   * (any frames: ppalloc(1, remaining) as often as needed). All or nothing:
   * false when frames run out, and a throw when mapMem refuses, each with
   * every page mapped here unmapped and every frame taken here given back.
   */
  private mapFrames(virt: number, from: number, to: number): boolean {
    const { allocators } = this.paging;
    // Frame runs taken here, as start and page count pairs, for the undo.
    // Most calls take one run (a heap's page or a few): no array for it.
    let firstStart = -1;
    let firstPages = 0;
    let more: number[] | null = null;
    let mapped = from;
    try {
      while (mapped < to) {
        const run = allocators.ppalloc(1, to - mapped);
        if (run === null) {
          this.undoMap(virt, from, mapped, firstStart, firstPages, more);
          return false;
        }
        if (firstStart < 0) {
          firstStart = run.start;
          firstPages = run.pages;
        } else (more ??= []).push(run.start, run.pages);
        if (
          !this.paging.mapMem(
            null,
            run.start,
            virt + mapped * PAGE_SIZE,
            run.pages,
            PTE_PRESENT | PTE_WRITE,
          )
        ) {
          this.undoMap(virt, from, mapped, firstStart, firstPages, more);
          return false;
        }
        mapped += run.pages;
      }
    } catch (e) {
      // A refusal half-way (mapMem throwing, say E_PAST_RAM for a frame past the end of RAM):
      // undo everything, then let the caller see why. Unmap every page of the range, not only
      // those counted as mapped: a mapMem that threw may have mapped part of its run, and no
      // one else has mappings in a virtual run that is still ours.
      this.undoMap(virt, from, to, firstStart, firstPages, more);
      throw e;
    }
    return true;
  }

  /**
   * {@link Kvmalloc.mapFrames}' undo: unmap pages `from` to `upTo` - 1 of the
   * run at `virt` and give back every frame run it took (the first, then the
   * pairs in `more`).
   */
  private undoMap(
    virt: number,
    from: number,
    upTo: number,
    firstStart: number,
    firstPages: number,
    more: readonly number[] | null,
  ): void {
    const { allocators } = this.paging;
    if (upTo > from) this.paging.mapMem(null, 0, virt + from * PAGE_SIZE, upTo - from, 0);
    if (firstStart >= 0) allocators.ppfree(firstStart, firstPages);
    if (more !== null)
      for (let i = 0; i < more.length; i += 2) allocators.ppfree(more[i]!, more[i + 1]!);
  }

  /** The frames behind `n` pages from `addr`, in page order (found through the page tables). */
  private framesOf(addr: number, n: number): number[] {
    const frames: number[] = [];
    for (let i = 0; i < n; i++) frames.push(this.paging.kernelPhysOf(addr + i * PAGE_SIZE)!);
    return frames;
  }

  /** Call `each(first, count)` for every run of consecutive frames in `frames`. */
  private static runs(frames: readonly number[], each: (index: number, count: number) => void) {
    let i = 0;
    while (i < frames.length) {
      let j = i + 1;
      while (j < frames.length && frames[j] === frames[j - 1]! + PAGE_SIZE) j++;
      each(i, j - i);
      i = j;
    }
  }

  /** The page count of the live allocation at `addr`, or a typed error naming it. */
  private held(addr: number, n: number): number {
    const held = this.live.get(keyOf(addr));
    if (held === 0)
      throw new KvmallocError(
        KVMALLOC_ERROR.NOT_ALLOCATED,
        `${typeof addr === "number" && Number.isSafeInteger(addr) && addr >= 0 ? hex32(addr) : describeValue(addr)} is not an address kvmalloc returned (or it was freed already)`,
      );
    if (n !== held)
      throw new KvmallocError(
        KVMALLOC_ERROR.WRONG_SIZE,
        `${hex32(addr)} holds ${held} page(s), not ${describeValue(n)}`,
      );
    return held;
  }

  /** Give back n pages at `addr`, as kvmalloc(n) returned them: unmap, free the frames and the virtual range. */
  kvfree(addr: number, n: number): void {
    this.held(addr, n);
    const { allocators } = this.paging;
    if (n === 1) {
      // The common case (a heap's page), without the frame list and its closure.
      const frame = this.paging.kernelPhysOf(addr)!;
      this.paging.mapMem(null, 0, addr, 1, 0);
      allocators.ppfree(frame, 1);
    } else {
      const frames = this.framesOf(addr, n);
      this.paging.mapMem(null, 0, addr, n, 0);
      Kvmalloc.runs(frames, (i, count) => allocators.ppfree(frames[i]!, count));
    }
    const key = keyOf(addr);
    allocators.vpfree(addr, this.spans.get(key) + (this.guardPages ? 1 : 0));
    this.live.set(key, 0);
    this.spans.set(key, 0);
    this.liveCount--;
    this.pagesHeld -= n;
  }

  /**
   * Resize the n pages at `addr` to m pages, keeping the contents: shrink in
   * place, grow in place within the pages reserved by `kvmalloc(n, reserve)`,
   * else (with `mayMove`) remap the same frames to a new virtual run, as
   * mremap does, with half as much again reserved for the next growth. Null
   * when out of memory or when it would have to move and may not; the
   * allocation is then as it was.
   */
  kvresize(addr: number, n: number, m: number, mayMove: boolean): number | null {
    this.held(addr, n);
    if (!Number.isSafeInteger(m) || m < 1)
      throw new KvmallocError(
        KVMALLOC_ERROR.BAD_ARGUMENT,
        `page count ${describeValue(m)} must be a positive integer`,
      );
    const { allocators } = this.paging;
    const key = keyOf(addr);
    if (m <= n) {
      const frames = this.framesOf(addr + m * PAGE_SIZE, n - m);
      if (n > m) this.paging.mapMem(null, 0, addr + m * PAGE_SIZE, n - m, 0);
      Kvmalloc.runs(frames, (i, count) => allocators.ppfree(frames[i]!, count));
      this.live.set(key, m);
      this.pagesHeld -= n - m;
      return addr;
    }
    const reserve = this.spans.get(key);
    if (m <= reserve) {
      if (!this.mapFrames(addr, n, m)) return null;
      this.live.set(key, m);
      this.pagesHeld += m - n;
      return addr;
    }
    if (!mayMove) return null;
    // mremap: the frames move, not the bytes. Headroom is only virtual space.
    const newReserve = m + (m >> 1);
    const guard = this.guardPages ? 1 : 0;
    const virt = allocators.vpalloc(newReserve + guard, newReserve + guard);
    if (virt === null) return null;
    const frames = this.framesOf(addr, n);
    try {
      Kvmalloc.runs(frames, (i, count) =>
        this.paging.mapMem(
          null,
          frames[i]!,
          virt.start + i * PAGE_SIZE,
          count,
          PTE_PRESENT | PTE_WRITE,
        ),
      );
      if (!this.mapFrames(virt.start, n, m)) {
        this.paging.mapMem(null, 0, virt.start, n, 0);
        allocators.vpfree(virt.start, newReserve + guard);
        return null;
      }
    } catch (e) {
      this.paging.mapMem(null, 0, virt.start, n, 0);
      allocators.vpfree(virt.start, newReserve + guard);
      throw e;
    }
    this.paging.mapMem(null, 0, addr, n, 0);
    allocators.vpfree(addr, reserve + guard);
    const newKey = keyOf(virt.start);
    this.live.set(key, 0);
    this.spans.set(key, 0);
    this.live.set(newKey, m);
    this.spans.set(newKey, newReserve);
    this.pagesHeld += m - n;
    return virt.start;
  }

  /** This allocator as paging's page source: kvmalloc(1) and kvfree(va, 1). */
  asPageSource(): PageSource {
    return {
      name: "kvmalloc",
      allocPage: () => this.kvmalloc(1),
      freePage: (va: number) => this.kvfree(va, 1),
    };
  }
}
