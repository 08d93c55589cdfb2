/**
 * The zones: ZONE_DMA, ZONE_NORMAL and ZONE_HIGHMEM, each a buddy allocator
 * over its page frames (mm/page_alloc.c), and `alloc_pages` with the
 * kernel's fallback order.
 *
 * ```
 *  gfp mask           zonelist (tried in this order)
 *  GFP_DMA            DMA
 *  GFP_KERNEL         NORMAL -> DMA
 *  GFP_HIGHUSER       HIGHMEM -> NORMAL -> DMA
 * ```
 *
 * A zone holds no pages until it is populated: DMA and NORMAL by
 * `free_all_bootmem` (Bootmem.freeAllBootmem), HIGHMEM by
 * `set_highmem_pages_init` ({@link Zones.setHighmemPagesInit}). The kernel
 * frees those pages one at a time into the buddy lists; a buddy allocator's
 * state depends only on which pages are free (every free page coalesces as
 * far as it can), so here each zone is built with its free runs at once and
 * everything else reserved: the same free lists, without a million calls.
 *
 * Watermarks, per-CPU lists and reclaim are not modelled: a zone gives out
 * its last page, and an empty zonelist is a null result.
 *
 * @module
 */
import { BUDDY_ERROR, BuddyAllocator, BuddyError } from "@mm386/buddy";
import { hex32, type MemoryRegion, PAGE_SIZE } from "@mm386/hw-i386";
import { describeValue } from "../values.js";
import {
  GFP,
  GFP_KNOWN_BITS,
  LINUX_ERROR,
  LinuxMmError,
  MAX_DMA_ADDRESS,
  MAX_ORDER,
  type LinuxErrorCode,
  type ZoneName,
} from "./api.js";
import type { PfnRun } from "./bootmem.js";
import { isRegionList, usableRegions } from "./e820.js";

/** One zone: a range of page frames and, once populated, its buddy allocator. */
export class Zone {
  /** `"DMA"`, `"NORMAL"` or `"HIGHMEM"`. */
  declare readonly name: ZoneName;
  /** First page frame of the zone (`zone_start_pfn`). */
  declare readonly startPfn: number;
  /** Page frames the zone spans, holes included (`spanned_pages`). */
  declare readonly spannedPages: number;
  private buddyAllocator: BuddyAllocator | null = null;
  private present = 0;
  private populatedFlag = false;

  /** Made by {@link Zones}. @internal */
  constructor(name: ZoneName, startPfn: number, spannedPages: number) {
    this.name = name;
    this.startPfn = startPfn;
    this.spannedPages = spannedPages;
  }

  /**
   * The zone's buddy allocator over page frame numbers; null until the zone
   * is populated or if it is empty. Its range starts at the multiple of its
   * largest block at or below {@link Zone.startPfn}, the pages before the
   * zone reserved, so that its blocks are aligned in physical memory.
   */
  get buddy(): BuddyAllocator | null {
    return this.buddyAllocator;
  }

  /** True once its pages were handed over (even if there were none). */
  get populated(): boolean {
    return this.populatedFlag;
  }

  /** Pages handed to the zone at boot (`present_pages`). */
  get presentPages(): number {
    return this.present;
  }

  /** Pages free now (`free_pages`). */
  get freePages(): number {
    return this.buddyAllocator?.unitsFree ?? 0;
  }

  /** True if page frame `pfn` lies in the zone's span. */
  contains(pfn: number): boolean {
    return pfn >= this.startPfn && pfn < this.startPfn + this.spannedPages;
  }

  /** Build the buddy allocator with the pages of `runs` free and every other page reserved. @internal */
  populate(runs: readonly PfnRun[]): void {
    if (this.populatedFlag)
      throw new LinuxMmError(
        LINUX_ERROR.ALREADY_DONE,
        `zone ${this.name} was populated already: its pages were handed over once`,
      );
    this.populatedFlag = true;
    if (this.spannedPages === 0) return;
    const end = this.startPfn + this.spannedPages;
    const maxOrder = Math.min(MAX_ORDER - 1, 31 - Math.clz32(this.spannedPages));
    // Linux's buddy pairs blocks by page frame number, so a block of order k
    // lies on a multiple of 2^k pages in physical memory (free_pages checks
    // that). A zone that starts between such multiples (HIGHMEM at an odd
    // max_low_pfn) gets a buddy from the multiple below, with the pages
    // before the zone reserved in it for good.
    const base = this.startPfn - (this.startPfn % (1 << maxOrder));
    const b = new BuddyAllocator({ base, count: end - base, maxOrder });
    let at = base;
    const sorted = [...runs].sort((x, y) => x.start - y.start);
    for (const r of sorted) {
      const s = Math.max(r.start, this.startPfn);
      const e = Math.min(r.end, end);
      if (s >= e) continue;
      if (s > at) b.reserve(at, s - at);
      // Runs may overlap (the caller's list): count each page once.
      if (e > at) this.present += e - Math.max(s, at);
      at = Math.max(at, e);
    }
    if (at < end) b.reserve(at, end - at);
    this.buddyAllocator = b;
  }
}

/** Options of {@link Zones}. */
export interface ZonesOptions {
  /** End of low memory (`max_low_pfn`): DMA and NORMAL lie below it. */
  readonly maxLowPfn: number;
  /** End of RAM (`max_pfn`): HIGHMEM is `[maxLowPfn, maxPfn)`. */
  readonly maxPfn: number;
}

/** Where a free goes: `pfn` in `zone`. */
interface Located {
  readonly zone: Zone;
  readonly buddy: BuddyAllocator;
  readonly pfn: number;
}

/** The three zones of one node and the page allocator over them. */
export class Zones {
  /** Pages below 16 MiB. */
  declare readonly dma: Zone;
  /** Pages from 16 MiB to max_low_pfn. */
  declare readonly normal: Zone;
  /** Pages from max_low_pfn to max_pfn: not direct-mapped. */
  declare readonly highmem: Zone;
  /** End of low memory. */
  declare readonly maxLowPfn: number;
  /** End of RAM. */
  declare readonly maxPfn: number;

  /** `zone_sizes_init`: the zones' spans; no page is free until they are populated. */
  constructor(options: ZonesOptions) {
    if (typeof options !== "object" || options === null)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_CONFIG,
        `zone options ${describeValue(options)} are not an object`,
      );
    const { maxLowPfn, maxPfn } = options;
    if (!Number.isSafeInteger(maxPfn) || maxPfn < 1 || maxPfn > 2 ** 20)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_CONFIG,
        `max_pfn ${describeValue(maxPfn)} must be an integer in [1, 2^20]`,
      );
    if (!Number.isSafeInteger(maxLowPfn) || maxLowPfn < 1 || maxLowPfn > maxPfn)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_CONFIG,
        `max_low_pfn ${describeValue(maxLowPfn)} must be an integer in [1, max_pfn ${maxPfn}]`,
      );
    this.maxLowPfn = maxLowPfn;
    this.maxPfn = maxPfn;
    const dmaEnd = Math.min(MAX_DMA_ADDRESS / PAGE_SIZE, maxLowPfn);
    this.dma = new Zone("DMA", 0, dmaEnd);
    this.normal = new Zone("NORMAL", dmaEnd, maxLowPfn - dmaEnd);
    this.highmem = new Zone("HIGHMEM", maxLowPfn, maxPfn - maxLowPfn);
  }

  /** The three zones, lowest first. */
  get zones(): readonly Zone[] {
    return [this.dma, this.normal, this.highmem];
  }

  /** Free pages per zone. */
  freeCounts(): Record<ZoneName, number> {
    return {
      DMA: this.dma.freePages,
      NORMAL: this.normal.freePages,
      HIGHMEM: this.highmem.freePages,
    };
  }

  /** Hand the free runs of low memory to DMA and NORMAL (Bootmem.freeAllBootmem calls it). @internal */
  populateLowmem(runs: readonly PfnRun[]): void {
    if (this.dma.populated || this.normal.populated)
      throw new LinuxMmError(
        LINUX_ERROR.ALREADY_DONE,
        "low memory was handed to the zones already",
      );
    this.dma.populate(runs);
    this.normal.populate(runs);
  }

  /**
   * `set_highmem_pages_init`: free every RAM page above max_low_pfn (the
   * RAM of the e820 `memoryMap`, sanitised by {@link usableRegions}: each
   * page once, reserved regions cut out) into ZONE_HIGHMEM. Returns the
   * number of pages freed (`totalhigh_pages`).
   */
  setHighmemPagesInit(memoryMap: readonly MemoryRegion[]): number {
    if (!isRegionList(memoryMap))
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `memory map ${describeValue(memoryMap)} is not an array of e820 regions`,
      );
    const runs = usableRegions(memoryMap).map((r) => ({
      start: Math.ceil(r.base / PAGE_SIZE),
      end: Math.floor((r.base + r.length) / PAGE_SIZE),
    }));
    this.highmem.populate(runs);
    return this.highmem.presentPages;
  }

  /**
   * The zones a request with `gfpMask` may use, in the order tried:
   * `__GFP_DMA` only DMA; `__GFP_HIGHMEM` HIGHMEM, NORMAL, DMA; otherwise
   * NORMAL, DMA (`build_zonelists`).
   */
  zonelist(gfpMask: number): Zone[] {
    this.checkGfp(gfpMask);
    if (gfpMask & GFP.DMA) return [this.dma];
    if (gfpMask & GFP.HIGHMEM) return [this.highmem, this.normal, this.dma];
    return [this.normal, this.dma];
  }

  /**
   * `alloc_pages(gfpMask, order)`: 2^order physically contiguous pages from
   * the first zone of the zonelist that has them, as the physical address
   * of the first. Null, with nothing changed, when no zone has a free block
   * that large (and for order >= MAX_ORDER, as in the kernel).
   */
  allocPages(gfpMask: number, order: number): number | null {
    const list = this.zonelist(gfpMask);
    if (!Number.isSafeInteger(order) || order < 0 || order > 31)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `order ${describeValue(order)} must be an integer in [0, ${MAX_ORDER - 1}]`,
      );
    if (order >= MAX_ORDER) return null;
    for (const zone of list) {
      const b = zone.buddy;
      if (b === null || order > b.maxOrder) continue;
      const pfn = b.allocOrder(order);
      if (pfn !== null) return pfn * PAGE_SIZE;
    }
    return null;
  }

  /**
   * `__free_pages`: give back the 2^order pages at `phys` that
   * {@link Zones.allocPages} returned with that order. A double free, a
   * wrong order, a reserved page or a page no zone holds is refused with
   * nothing changed (the kernel would call `bad_page`).
   */
  freePages(phys: number, order: number): void {
    if (!Number.isSafeInteger(order) || order < 0 || order >= MAX_ORDER)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `order ${describeValue(order)} must be an integer in [0, ${MAX_ORDER - 1}]`,
      );
    const at = this.locate(phys, 1 << order, "free_pages");
    if (at.pfn % (1 << order) !== 0)
      throw new LinuxMmError(
        LINUX_ERROR.UNALIGNED,
        `free_pages(${hex32(phys)}, ${order}): not aligned to an order-${order} block`,
      );
    this.translated(phys, () => at.buddy.freeOrder(at.pfn, order));
  }

  /**
   * `n` contiguous pages (not only a power of two) from the zonelist of
   * `gfpMask`: the order that holds them, with the tail given straight back
   * (`alloc_pages_exact`). Physical address, or null.
   */
  allocPagesExact(gfpMask: number, n: number): number | null {
    const list = this.zonelist(gfpMask);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `page count ${describeValue(n)} must be a positive integer`,
      );
    if (n > 1 << (MAX_ORDER - 1)) return null;
    for (const zone of list) {
      const b = zone.buddy;
      if (b === null || n > 1 << b.maxOrder) continue;
      const pfn = b.alloc(n);
      if (pfn !== null) return pfn * PAGE_SIZE;
    }
    return null;
  }

  /** Give back `n` pages at `phys` (`free_pages_exact`): all of them must be allocated, in one zone. */
  freePagesExact(phys: number, n: number): void {
    if (!Number.isSafeInteger(n) || n < 1)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `page count ${describeValue(n)} must be a positive integer`,
      );
    const at = this.locate(phys, n, "free_pages_exact");
    this.translated(phys, () => at.buddy.free(at.pfn, n));
  }

  /** The zone holding page frame `pfn`, or null (past max_pfn). */
  zoneOfPfn(pfn: number): Zone | null {
    for (const z of this.zones) if (z.contains(pfn)) return z;
    return null;
  }

  // --------------------------------------------------------------- internals

  private checkGfp(gfpMask: number): void {
    // Checked as a number first: bit operators would see 2^32 as 0.
    if (
      !Number.isSafeInteger(gfpMask) ||
      gfpMask < 0 ||
      gfpMask > 0xff ||
      (gfpMask & ~GFP_KNOWN_BITS) !== 0
    )
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `gfp mask ${Number.isSafeInteger(gfpMask) && gfpMask >= 0 ? `0x${gfpMask.toString(16)}` : describeValue(gfpMask)} has bits this model does not know (known: 0x${GFP_KNOWN_BITS.toString(16)})`,
      );
    if ((gfpMask & GFP.DMA) !== 0 && (gfpMask & GFP.HIGHMEM) !== 0)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `gfp mask 0x${gfpMask.toString(16)} asks for both __GFP_DMA and __GFP_HIGHMEM`,
      );
  }

  /** Check `[phys, +n pages)` is page-aligned and inside one populated zone. */
  private locate(phys: number, n: number, what: string): Located {
    if (!Number.isSafeInteger(phys) || phys < 0)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `${what}: address ${describeValue(phys)} is not a non-negative integer`,
      );
    if (phys % PAGE_SIZE !== 0)
      throw new LinuxMmError(
        LINUX_ERROR.UNALIGNED,
        `${what}: address ${hex32(phys)} is not page-aligned`,
      );
    const pfn = phys / PAGE_SIZE;
    const zone = this.zoneOfPfn(pfn);
    const buddy = zone?.buddy ?? null;
    if (zone === null || buddy === null || !zone.contains(pfn + n - 1))
      throw new LinuxMmError(
        LINUX_ERROR.OUT_OF_RANGE,
        `${what}: [${hex32(phys)}, ${hex32(phys + n * PAGE_SIZE)}) is not inside one populated zone`,
      );
    return { zone, buddy, pfn };
  }

  /** Run a buddy call, turning its refusal into a LinuxMmError that names the physical address. */
  private translated(phys: number, f: () => void): void {
    try {
      f();
    } catch (e) {
      if (!(e instanceof BuddyError)) throw e;
      const code: LinuxErrorCode =
        e.code === BUDDY_ERROR.WRONG_SIZE
          ? LINUX_ERROR.WRONG_SIZE
          : e.code === BUDDY_ERROR.MISALIGNED
            ? LINUX_ERROR.UNALIGNED
            : e.code === BUDDY_ERROR.OUT_OF_RANGE
              ? LINUX_ERROR.OUT_OF_RANGE
              : LINUX_ERROR.NOT_ALLOCATED;
      throw new LinuxMmError(
        code,
        `page ${hex32(phys)}: ${e.message.replace(/^E_[A-Z_]+: /, "")} (page frame numbers)`,
      );
    }
  }
}
