/**
 * The hobby kernel's allocation.c: ppalloc/ppfree for physical pages,
 * vpcreate/vpalloc/vpfree for virtual pages, each a run of consecutive pages.
 *
 * ```
 *  physical frames 0 .. top (from the e820 map)
 *  [ first MiB | kernel image | usable ... | hole | usable ... ]
 *    reserved     reserved                reserved
 *
 *  kernel virtual pages 0xC0000000 .. 4 GiB      one vpallocator, no argument needed
 *  user virtual pages, per address space         vpcreate(start, size) each
 * ```
 *
 * Every allocator is a {@link PageRangeAllocator}: page numbers in a
 * {@link RangeAllocator} (the swap point), addresses outside. Frames and
 * virtual pages are bookkeeping kept in TypeScript, as the kernel keeps them
 * outside the memory it manages; nothing here touches simulated memory.
 *
 * @module
 */
import { E820, hex32, pageOffset, type MemoryRegion } from "@mm386/hw-i386";
import {
  ALLOCATION_ERROR,
  AllocationError,
  type AllocationErrorCode,
  type ByteRange,
  PAGE_SIZE,
  type PageAllocatorsOptions,
  type PageRanges,
  type PageRangesFactory,
  type PageRun,
  type RangeAllocator,
  type RangeAllocatorFactory,
  UNIT_STATE,
} from "./api.js";
import { buddyRanges } from "./range-buddy.js";
import { sparseRanges } from "./range-sparse.js";
import { describeValue } from "./values.js";

const SPACE = 2 ** 32;

function isCode(code: unknown): code is AllocationErrorCode {
  return Object.values(ALLOCATION_ERROR).includes(code as AllocationErrorCode);
}

/** The methods every {@link RangeAllocator} must have. */
const RANGE_ALLOCATOR_METHODS = ["allocRun", "free", "reserve", "states", "check"] as const;

/**
 * What a supplied factory made, checked once here: a factory of the wrong
 * shape (`() => 4096`) would otherwise surface much later as a bare
 * TypeError (`this.ranges.reserve is not a function`) from the middle of a
 * call, with no code and maybe half of the work done.
 */
function checkRangeAllocator(made: unknown, label: string): RangeAllocator {
  const missing =
    typeof made !== "object" || made === null
      ? "is not an object"
      : RANGE_ALLOCATOR_METHODS.filter(
          (m) => typeof (made as Record<string, unknown>)[m] !== "function",
        ).map((m) => `has no ${m}()`)[0];
  if (missing !== undefined) {
    throw new AllocationError(
      ALLOCATION_ERROR.BAD_CONFIG,
      `${label}: the range allocator factory made ${describeValue(made)}, which ${missing}`,
    );
  }
  return made as RangeAllocator;
}

/** Runs of pages in one range of addresses, over a {@link RangeAllocator} of page numbers. */
export class PageRangeAllocator implements PageRanges {
  /** The page numbers, in the swapped-in range allocator. */
  declare readonly ranges: RangeAllocator;

  constructor(
    /** What this allocator is, for messages: `"physical"`, `"kernel virtual"`, ... */
    readonly label: string,
    /** First address managed. */
    readonly start: number,
    /** Bytes managed. */
    readonly size: number,
    factory: RangeAllocatorFactory,
  ) {
    this.ranges = checkRangeAllocator(factory(start / PAGE_SIZE, size / PAGE_SIZE), label);
  }

  /** Pages that can still be handed out. */
  get freePages(): number {
    return this.ranges.freeUnits;
  }

  /** Between `min` and `max` consecutive pages, as many as possible; null if not even `min` are free in one run. */
  alloc(min: number, max: number): PageRun | null {
    // Checked one by one, not in a loop over [name, value] pairs: every
    // kvmalloc and kvresize comes here twice, and the pairs were garbage.
    if (!Number.isSafeInteger(min) || min < 1) this.badCount("min", min);
    if (!Number.isSafeInteger(max) || max < 1) this.badCount("max", max);
    if (min > max)
      throw new AllocationError(
        ALLOCATION_ERROR.BAD_ARGUMENT,
        `${this.label}: min ${min} is more than max ${max}`,
      );
    const run = this.ranges.allocRun(min, max);
    return run === null ? null : { start: run.start * PAGE_SIZE, pages: run.count };
  }

  /** Refuse `v`, given as `name` (min or max), which is not a positive number of pages. */
  private badCount(name: string, v: unknown): never {
    throw new AllocationError(
      ALLOCATION_ERROR.BAD_ARGUMENT,
      `${this.label}: ${name} ${describeValue(v)} must be a positive number of pages`,
    );
  }

  /** Give back `pages` pages from address `start` (any allocated pages: whole runs or parts). */
  free(start: number, pages: number): void {
    const first = this.pageOf(start, pages, "free");
    this.delegate(() => this.ranges.free(first, pages), start, pages, "free");
  }

  /** Take the pages overlapping `[start, start + length)` out of service. */
  reserveBytes(range: ByteRange): void {
    checkRange(range, `${this.label}: reserved range`, ALLOCATION_ERROR.BAD_ARGUMENT);
    // An empty range holds no byte, so it touches no page, wherever it starts
    // (rounding an unaligned start down and its end up would make it one page).
    if (range.length === 0) return;
    const lo = Math.max(this.start, Math.floor(range.start / PAGE_SIZE) * PAGE_SIZE);
    const hi = Math.min(
      this.start + this.size,
      Math.ceil((range.start + range.length) / PAGE_SIZE) * PAGE_SIZE,
    );
    if (hi <= lo) return;
    const pages = (hi - lo) / PAGE_SIZE;
    this.delegate(() => this.ranges.reserve(lo / PAGE_SIZE, pages), lo, pages, "reserve");
  }

  /** True if `address` is in this allocator's range. */
  contains(address: number): boolean {
    if (typeof address !== "number")
      throw new AllocationError(
        ALLOCATION_ERROR.BAD_ARGUMENT,
        `${this.label}: ${describeValue(address)} is not an address`,
      );
    return address >= this.start && address < this.start + this.size;
  }

  private pageOf(start: number, pages: number, what: string): number {
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new AllocationError(
        ALLOCATION_ERROR.BAD_ARGUMENT,
        `${this.label}: cannot ${what} address ${describeValue(start)}`,
      );
    }
    if (!Number.isSafeInteger(pages) || pages < 1) {
      throw new AllocationError(
        ALLOCATION_ERROR.BAD_ARGUMENT,
        `${this.label}: cannot ${what} ${describeValue(pages)} pages`,
      );
    }
    if (pageOffset(start) !== 0) {
      throw new AllocationError(
        ALLOCATION_ERROR.UNALIGNED,
        `${this.label}: address ${hex32(start)} is not page-aligned`,
      );
    }
    if (start < this.start || start + pages * PAGE_SIZE > this.start + this.size) {
      throw new AllocationError(
        ALLOCATION_ERROR.FOREIGN,
        `${this.label}: [${hex32(start)}, ${hex32(start + pages * PAGE_SIZE)}) is not inside [${hex32(this.start)}, ${hex32(this.start + this.size)})`,
      );
    }
    return start / PAGE_SIZE;
  }

  /** Run a range-allocator call; turn what it refuses into an AllocationError that names addresses. */
  private delegate(call: () => void, start: number, pages: number, what: string): void {
    try {
      call();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (!isCode(code)) throw e;
      // Name the first page that made the call fail, by address.
      const states = this.ranges.states();
      const first = start / PAGE_SIZE - this.ranges.base;
      let bad = start;
      for (let i = 0; i < pages; i++) {
        const s = states[first + i];
        if (what === "free" ? s !== UNIT_STATE.ALLOCATED : s === UNIT_STATE.ALLOCATED) {
          bad = start + i * PAGE_SIZE;
          break;
        }
      }
      const why =
        code === ALLOCATION_ERROR.DOUBLE_FREE
          ? "is already free (double free)"
          : code === ALLOCATION_ERROR.NOT_ALLOCATED
            ? "was never allocated"
            : code === ALLOCATION_ERROR.OVERLAPS_ALLOCATION
              ? "is allocated"
              : (e as Error).message;
      throw new AllocationError(
        code,
        `${this.label}: cannot ${what} ${pages} page(s) at ${hex32(start)}: page ${hex32(bad)} ${why}`,
      );
    }
  }
}

/** A virtual page allocator made by {@link PageAllocators.vpcreate} (the source design's `vpa`). */
export type VirtualPageAllocator = PageRanges;

/** The default {@link PageRangesFactory}: a {@link PageRangeAllocator}. */
export const pageRangeAllocator: PageRangesFactory = (label, start, size, factory) =>
  new PageRangeAllocator(label, start, size, factory);

/** The kernel's page allocators: physical pages and the kernel half of virtual space. */
export class PageAllocators {
  /** Physical frames, from the memory map. */
  declare readonly physical: PageRanges;
  /** The kernel part of virtual space (the vpallocator that needs no argument). */
  declare readonly kernel: VirtualPageAllocator;
  /** Physical pages that were usable at start-up (before anything was allocated). */
  declare readonly usablePages: number;
  declare private readonly factory: RangeAllocatorFactory;
  declare private readonly pageRanges: PageRangesFactory;

  /** Use {@link createPageAllocators}. @internal */
  constructor(
    physical: PageRanges,
    kernel: VirtualPageAllocator,
    /** The range allocator under each {@link vpcreate} region. */
    regionFactory: RangeAllocatorFactory,
    pageRanges: PageRangesFactory = pageRangeAllocator,
  ) {
    this.pageRanges = pageRanges;
    this.physical = physical;
    this.kernel = kernel;
    this.factory = regionFactory;
    this.usablePages = physical.freePages;
  }

  /** Between `minPages` and `maxPages` consecutive physical pages, as many as possible; null if not even `minPages`. */
  ppalloc(minPages: number, maxPages: number): PageRun | null {
    return this.physical.alloc(minPages, maxPages);
  }

  /** Give back physical pages. */
  ppfree(start: number, pages: number): void {
    this.physical.free(start, pages);
  }

  /** A virtual page allocator for `[start, start + size)` (page-aligned), e.g. one per user address space. */
  vpcreate(start: number, size: number): VirtualPageAllocator {
    for (const [name, v] of [
      ["start", start],
      ["size", size],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 0)
        throw new AllocationError(
          ALLOCATION_ERROR.BAD_ARGUMENT,
          `vpcreate: ${name} ${describeValue(v)} is not an address`,
        );
      if (v % PAGE_SIZE !== 0)
        throw new AllocationError(
          ALLOCATION_ERROR.UNALIGNED,
          `vpcreate: ${name} ${hex32(v)} is not page-aligned`,
        );
    }
    if (size === 0 || start + size > SPACE) {
      throw new AllocationError(
        ALLOCATION_ERROR.BAD_ARGUMENT,
        `vpcreate: [${hex32(start)}, +${hex32(size)}) is empty or runs past 4 GiB`,
      );
    }
    return this.pageRanges(`vpa ${hex32(start)}`, start, size, this.factory);
  }

  /** Kernel virtual pages: between `min` and `max` consecutive pages of the kernel region. */
  vpalloc(min: number, max: number): PageRun | null;
  /** Virtual pages of the region of `vpa`. */
  vpalloc(vpa: VirtualPageAllocator, min: number, max: number): PageRun | null;
  vpalloc(a: VirtualPageAllocator | number, b: number, c?: number): PageRun | null {
    return typeof a === "number" ? this.kernel.alloc(a, b) : vpaOf(a, "vpalloc").alloc(b, c!);
  }

  /** Give back kernel virtual pages. */
  vpfree(start: number, pages: number): void;
  /** Give back virtual pages of the region of `vpa`. */
  vpfree(vpa: VirtualPageAllocator, start: number, pages: number): void;
  vpfree(a: VirtualPageAllocator | number, b: number, c?: number): void {
    if (typeof a === "number") this.kernel.free(a, b);
    else vpaOf(a, "vpfree").free(b, c!);
  }
}

/**
 * `a` as a vpallocator, or E_BAD_ARGUMENT naming it. The first argument of
 * vpalloc/vpfree is a page count (kernel region) or a vpa; anything else
 * (null, a boolean, a BigInt, a string) would otherwise end in a TypeError
 * on `a.alloc`. A vpa is recognised by shape, since `pageRanges` may be any
 * implementation of {@link PageRanges}.
 */
function vpaOf(a: unknown, what: string): VirtualPageAllocator {
  if (
    typeof a !== "object" ||
    a === null ||
    typeof (a as Partial<PageRanges>).alloc !== "function" ||
    typeof (a as Partial<PageRanges>).free !== "function"
  ) {
    throw new AllocationError(
      ALLOCATION_ERROR.BAD_ARGUMENT,
      `${what}: ${describeValue(a)} is neither a page count nor a vpa made by vpcreate`,
    );
  }
  return a as VirtualPageAllocator;
}

/** Refuse a range that is not an object of two safe integers inside 4 GiB (code `code`, default E_BAD_CONFIG). */
function checkRange(
  r: ByteRange,
  what: string,
  code: AllocationErrorCode = ALLOCATION_ERROR.BAD_CONFIG,
): void {
  if (typeof r !== "object" || r === null)
    throw new AllocationError(code, `${what} ${describeValue(r)} is not a { start, length } range`);
  if (
    !Number.isSafeInteger(r.start) ||
    !Number.isSafeInteger(r.length) ||
    r.start < 0 ||
    r.length < 0 ||
    r.start + r.length > SPACE
  ) {
    throw new AllocationError(
      code,
      `${what} [${describeValue(r.start)}, +${describeValue(r.length)}) is not inside 4 GiB`,
    );
  }
}

/** Frames `[first, end)` fully inside usable RAM, merged and sorted. */
function usableFrames(map: readonly MemoryRegion[]): [number, number][] {
  const spans = map
    .filter((r) => r.type === E820.USABLE)
    .map((r): [number, number] => [
      Math.ceil(r.base / PAGE_SIZE),
      Math.floor((r.base + r.length) / PAGE_SIZE),
    ])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const [a, b] of spans) {
    const last = merged[merged.length - 1];
    if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

/** Refuse options whose shape is wrong (E_BAD_CONFIG naming the option) before anything is built. */
function checkOptions(options: PageAllocatorsOptions): void {
  const bad = (what: string, v: unknown): never => {
    throw new AllocationError(
      ALLOCATION_ERROR.BAD_CONFIG,
      `${what} ${describeValue(v)} is not usable`,
    );
  };
  if (typeof options !== "object" || options === null) bad("options", options);
  if (!Array.isArray(options.memoryMap)) bad("memoryMap", options.memoryMap);
  for (const key of ["reserved", "reservedVirtual"] as const)
    if (options[key] !== undefined && !Array.isArray(options[key])) bad(key, options[key]);
  for (const key of ["rangeAllocator", "regionRangeAllocator", "pageRanges"] as const)
    if (options[key] !== undefined && typeof options[key] !== "function") bad(key, options[key]);
  if (options.lowMemoryEnd !== undefined && !Number.isSafeInteger(options.lowMemoryEnd))
    bad("lowMemoryEnd", options.lowMemoryEnd);
  // Only undefined means "the default": a null range is a mistake (a lookup
  // that found nothing, say), and silently using the default range would hide it.
  for (const key of ["kernelImage", "kernelVirtual"] as const) {
    const v: unknown = options[key];
    if (v !== undefined && (typeof v !== "object" || v === null)) bad(key, v);
  }
}

/**
 * Build the page allocators from the memory map: only usable RAM is handed
 * out; the first MiB, the kernel image, every non-usable region and whatever
 * the boot code names are reserved.
 */
export function createPageAllocators(options: PageAllocatorsOptions): PageAllocators {
  checkOptions(options);
  const factory = options.rangeAllocator ?? buddyRanges;
  // A user region is 3 GiB of which a process uses little: by default it gets
  // the sparse allocator, whose memory grows with what it holds (a buddy over
  // a user half is about 8 MiB of host memory). An explicit rangeAllocator is
  // an experiment or a student's solution, so it is used everywhere.
  const regionFactory = options.regionRangeAllocator ?? options.rangeAllocator ?? sparseRanges;
  const make = options.pageRanges ?? pageRangeAllocator;
  for (const [i, r] of options.memoryMap.entries()) {
    if (typeof r !== "object" || r === null)
      throw new AllocationError(
        ALLOCATION_ERROR.BAD_CONFIG,
        `memory map entry ${i} is ${describeValue(r)}, not a region`,
      );
    checkRange({ start: r.base, length: r.length }, `memory map entry ${i}`);
  }
  const usable = usableFrames(options.memoryMap);
  const top = usable.length === 0 ? 0 : usable[usable.length - 1]![1];
  if (top === 0)
    throw new AllocationError(ALLOCATION_ERROR.BAD_CONFIG, "the memory map has no usable page");
  const physical = make("physical", 0, top * PAGE_SIZE, factory);
  // Everything between the usable spans is a hole.
  let at = 0;
  for (const [a, b] of usable) {
    if (a > at) physical.reserveBytes({ start: at * PAGE_SIZE, length: (a - at) * PAGE_SIZE });
    at = b;
  }
  // Non-usable regions win over usable ones where a map overlaps itself.
  for (const r of options.memoryMap)
    if (r.type !== E820.USABLE) physical.reserveBytes({ start: r.base, length: r.length });
  const lowEnd = options.lowMemoryEnd ?? 0x10_0000;
  checkRange({ start: 0, length: lowEnd }, "lowMemoryEnd");
  physical.reserveBytes({ start: 0, length: lowEnd });
  const image = options.kernelImage ?? { start: 0x10_0000, length: 0x10_0000 };
  checkRange(image, "kernel image");
  physical.reserveBytes(image);
  for (const r of options.reserved ?? []) {
    checkRange(r, "reserved range");
    physical.reserveBytes(r);
  }
  const kv = options.kernelVirtual ?? { start: 0xc000_0000, length: 0x4000_0000 };
  checkRange(kv, "kernel virtual range");
  if (kv.start % PAGE_SIZE !== 0 || kv.length % PAGE_SIZE !== 0 || kv.length === 0) {
    throw new AllocationError(
      ALLOCATION_ERROR.UNALIGNED,
      `kernel virtual range ${hex32(kv.start)} + ${hex32(kv.length)} is not whole pages`,
    );
  }
  const kernel = make("kernel virtual", kv.start, kv.length, factory);
  for (const r of options.reservedVirtual ?? []) {
    checkRange(r, "reserved virtual range");
    kernel.reserveBytes(r);
  }
  return new PageAllocators(physical, kernel, regionFactory, make);
}
