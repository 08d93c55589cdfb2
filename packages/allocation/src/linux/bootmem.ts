/**
 * bootmem: Linux's boot-time page allocator (mm/bootmem.c), the allocator
 * the kernel has before the zones exist.
 *
 * One bit per page of low memory, `[0, max_low_pfn)`: 1 = reserved, 0 =
 * free. `init_bootmem` starts with every page reserved; the boot code frees
 * the usable e820 ranges (`registerBootmemLowPages`) and reserves again what
 * it uses (page 0, the kernel image with head.S's tables, the bitmap itself).
 * Allocation is first fit, page aligned, and the pages are zeroed, as
 * `alloc_bootmem_low_pages` does. `freeAllBootmem` hands every page still
 * free to the zones' buddy allocators and retires bootmem for good: a later
 * call is a typed error, where the kernel would use freed memory.
 *
 * ```
 *  bitmap (one bit a page)    1 1 1 1 0 0 0 0 1 1 0 0 ...
 *                             ^page 0 ^image   ^a page table
 *  allocBootmemLowPages(2) -> first run of two 0 bits, set to 1, zeroed
 * ```
 *
 * The bitmap is host data (DESIGN §2 lets allocator bookkeeping live
 * outside simulated memory), but the boot code still reserves the pages it
 * would occupy after the image, so the frames the kernel could use are the
 * same as in Linux.
 *
 * @module
 */
import { hex32, type Machine, PAGE_SIZE } from "@mm386/hw-i386";
import { describeValue } from "../values.js";
import { LINUX_ERROR, LinuxMmError, PAGE_SHIFT } from "./api.js";
import { isRegionList } from "./e820.js";
import { Zones } from "./zones.js";

/** Options of {@link Bootmem}. */
export interface BootmemOptions {
  /** The machine whose low memory bootmem hands out. */
  readonly machine: Machine;
  /** PAGE_OFFSET: bootmem returns `PAGE_OFFSET + phys`, as `alloc_bootmem` returns a kernel pointer. */
  readonly pageOffset: number;
  /** Pages `[0, maxLowPfn)` are bootmem's: low memory. */
  readonly maxLowPfn: number;
}

/** A run of page frames `[start, end)`. */
export interface PfnRun {
  /** First page frame number. */
  readonly start: number;
  /** One past the last. */
  readonly end: number;
}

/** An address in hex when it is a non-negative integer, else the value named as what it is. */
function show(v: unknown): string {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? hex32(v) : describeValue(v);
}

/** The boot-time bitmap allocator over low memory. */
export class Bootmem {
  /** The machine. */
  declare readonly machine: Machine;
  /** PAGE_OFFSET: a page at `phys` is returned as `pageOffset + phys`. */
  declare readonly pageOffset: number;
  /** Number of pages managed: `[0, maxLowPfn)`. */
  declare readonly maxLowPfn: number;
  /** Bit `pfn` set = page reserved (or allocated). */
  declare private readonly bits: Uint32Array;
  private freeCount = 0;
  private retiredFlag = false;

  /** `init_bootmem`: every page starts reserved. */
  constructor(options: BootmemOptions) {
    if (typeof options !== "object" || options === null)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_CONFIG,
        `bootmem options ${describeValue(options)} are not an object`,
      );
    const { machine, pageOffset, maxLowPfn } = options;
    if (typeof machine !== "object" || machine === null || typeof machine.mmu !== "object")
      throw new LinuxMmError(
        LINUX_ERROR.BAD_CONFIG,
        `${describeValue(machine)} is not a machine (createMachine's result)`,
      );
    if (
      !Number.isSafeInteger(pageOffset) ||
      pageOffset <= 0 ||
      pageOffset >= 2 ** 32 ||
      pageOffset % PAGE_SIZE !== 0
    )
      throw new LinuxMmError(
        LINUX_ERROR.BAD_CONFIG,
        `PAGE_OFFSET ${show(pageOffset)} is not a page-aligned kernel address`,
      );
    if (!Number.isSafeInteger(maxLowPfn) || maxLowPfn < 1 || maxLowPfn > 2 ** 20)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_CONFIG,
        `max_low_pfn ${describeValue(maxLowPfn)} must be an integer in [1, 2^20]`,
      );
    this.machine = machine;
    this.pageOffset = pageOffset;
    this.maxLowPfn = maxLowPfn;
    this.bits = new Uint32Array(Math.ceil(maxLowPfn / 32)).fill(0xffff_ffff);
  }

  /** Bytes the kernel's bitmap takes in memory (`bootmem_bootmap_pages`), for the boot code to reserve. */
  get bitmapBytes(): number {
    return Math.ceil(Math.ceil(this.maxLowPfn / 8) / 4) * 4;
  }

  /** Pages free now. */
  get freePages(): number {
    return this.freeCount;
  }

  /** True once {@link Bootmem.freeAllBootmem} handed the pages to the zones. */
  get retired(): boolean {
    return this.retiredFlag;
  }

  /** True if page `pfn` is reserved or allocated. */
  isReserved(pfn: number): boolean {
    this.checkLive("isReserved");
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn >= this.maxLowPfn)
      throw new LinuxMmError(
        LINUX_ERROR.OUT_OF_RANGE,
        `page frame ${describeValue(pfn)} is not below max_low_pfn ${this.maxLowPfn}`,
      );
    return this.bit(pfn);
  }

  /** The free pages as runs, lowest first. */
  freeRuns(): PfnRun[] {
    const out: PfnRun[] = [];
    let start = -1;
    for (let pfn = 0; pfn < this.maxLowPfn; pfn++) {
      // Whole words at once: boot memory is mostly long runs.
      if ((pfn & 31) === 0 && pfn + 32 <= this.maxLowPfn) {
        const w = this.bits[pfn >>> 5]!;
        if (w === 0 && start >= 0) {
          pfn += 31;
          continue;
        }
        if (w === 0xffff_ffff && start < 0) {
          pfn += 31;
          continue;
        }
      }
      const free = !this.bit(pfn);
      if (free && start < 0) start = pfn;
      else if (!free && start >= 0) {
        out.push({ start, end: pfn });
        start = -1;
      }
    }
    if (start >= 0) out.push({ start, end: this.maxLowPfn });
    return out;
  }

  /**
   * `free_bootmem(phys, size)`: mark the whole pages inside `[phys, phys +
   * size)` free (a partial page at either end stays reserved, as the kernel
   * rounds inwards). Freeing a page that is free already is refused, where
   * the kernel BUG()s.
   */
  freeBootmem(phys: number, size: number): void {
    this.checkLive("freeBootmem");
    this.checkRange(phys, size, "free");
    const start = Math.ceil(phys / PAGE_SIZE);
    const end = Math.floor((phys + size) / PAGE_SIZE);
    for (let pfn = start; pfn < end; pfn++)
      if (!this.bit(pfn))
        throw new LinuxMmError(
          LINUX_ERROR.NOT_ALLOCATED,
          `free_bootmem(${hex32(phys)}, ${hex32(size)}): page ${hex32(pfn * PAGE_SIZE)} is free already`,
        );
    for (let pfn = start; pfn < end; pfn++) this.clear(pfn);
  }

  /**
   * `reserve_bootmem(phys, size)`: mark every page that `[phys, phys + size)`
   * touches reserved (rounding outwards). Reserving a reserved page changes
   * nothing.
   */
  reserveBootmem(phys: number, size: number): void {
    this.checkLive("reserveBootmem");
    this.checkRange(phys, size, "reserve");
    const start = Math.floor(phys / PAGE_SIZE);
    const end = Math.ceil((phys + size) / PAGE_SIZE);
    for (let pfn = start; pfn < end; pfn++) this.set(pfn);
  }

  /**
   * `register_bootmem_low_pages`: free the whole pages of every usable
   * `[base, base + length)` range below max_low_pfn (the e820 map's RAM,
   * as `usableRegions` gives it). Pages already free stay free. A
   * list that is not an array of integer `{ base, length }` is refused
   * (E_BAD_ARGUMENT) before any page changes.
   */
  registerBootmemLowPages(usable: readonly { base: number; length: number }[]): void {
    this.checkLive("registerBootmemLowPages");
    if (!isRegionList(usable))
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `register_bootmem_low_pages: ${describeValue(usable)} is not an array of { base, length } ranges`,
      );
    for (const r of usable) {
      const start = Math.ceil(r.base / PAGE_SIZE);
      const end = Math.min(this.maxLowPfn, Math.floor((r.base + r.length) / PAGE_SIZE));
      this.clearRun(start, end);
    }
  }

  /**
   * `alloc_bootmem_low_pages(n * PAGE_SIZE)`: the first run of `nPages` free
   * pages, marked reserved and zeroed, as a kernel virtual address
   * (`PAGE_OFFSET + phys`). Null when no run is long enough (the kernel
   * panics; here the caller decides). Zeroing goes through the MMU once
   * paging is on, so the pages must be mapped already, as in the kernel.
   */
  allocBootmemLowPages(nPages: number): number | null {
    this.checkLive("allocBootmemLowPages");
    if (!Number.isSafeInteger(nPages) || nPages < 1 || nPages > this.maxLowPfn)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `page count ${describeValue(nPages)} must be an integer in [1, ${this.maxLowPfn}]`,
      );
    const start = this.findFree(nPages);
    if (start < 0) return null;
    const { mmu, ram } = this.machine;
    // Zero before marking, so a fault while zeroing (an unmapped page: a
    // kernel bug) leaves bootmem as it was.
    if (mmu.pagingEnabled) {
      // memset as `rep movsd` can do it: one zero word, then an overlapping
      // ascending copy one word up carries it through every page.
      const va = this.pageOffset + start * PAGE_SIZE;
      mmu.write32(va, 0);
      mmu.copyWords(va + 4, va, (nPages * PAGE_SIZE) / 4 - 1);
    } else {
      for (let pfn = start; pfn < start + nPages; pfn++) ram.clearFrame(pfn);
    }
    for (let pfn = start; pfn < start + nPages; pfn++) this.set(pfn);
    return this.pageOffset + (start << PAGE_SHIFT);
  }

  /**
   * `free_all_bootmem`: hand every free page to ZONE_DMA and ZONE_NORMAL and
   * retire bootmem (every later bootmem call is an E_BOOTMEM_RETIRED
   * error). Pages still reserved (page 0, the image, the tables bootmem gave
   * out, firmware ranges) stay out of the zones for good, as PageReserved
   * pages do. Returns the number of pages handed over.
   */
  freeAllBootmem(zones: Zones): number {
    this.checkLive("freeAllBootmem");
    if (!(zones instanceof Zones))
      throw new LinuxMmError(LINUX_ERROR.BAD_ARGUMENT, `${describeValue(zones)} is not a Zones`);
    if (zones.maxLowPfn !== this.maxLowPfn)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_CONFIG,
        `zones end low memory at page ${zones.maxLowPfn}, bootmem at ${this.maxLowPfn}`,
      );
    const runs = this.freeRuns();
    zones.populateLowmem(runs);
    this.retiredFlag = true;
    return runs.reduce((n, r) => n + r.end - r.start, 0);
  }

  // --------------------------------------------------------------- internals

  private bit(pfn: number): boolean {
    return (this.bits[pfn >>> 5]! & (1 << (pfn & 31))) !== 0;
  }

  private set(pfn: number): void {
    if (!this.bit(pfn)) {
      this.bits[pfn >>> 5]! |= 1 << (pfn & 31);
      this.freeCount--;
    }
  }

  private clear(pfn: number): void {
    if (this.bit(pfn)) {
      this.bits[pfn >>> 5]! &= ~(1 << (pfn & 31));
      this.freeCount++;
    }
  }

  /** Clear the bits of `[start, end)`, whole words at a time where it can (RAM is mostly long runs). */
  private clearRun(start: number, end: number): void {
    let pfn = start;
    for (; pfn < end && (pfn & 31) !== 0; pfn++) this.clear(pfn);
    for (; pfn + 32 <= end; pfn += 32) {
      const w = this.bits[pfn >>> 5]!;
      if (w === 0) continue;
      // Each set bit was a reserved page that becomes free.
      let n = w;
      let c = 0;
      while (n !== 0) {
        n &= n - 1;
        c++;
      }
      this.freeCount += c;
      this.bits[pfn >>> 5] = 0;
    }
    for (; pfn < end; pfn++) this.clear(pfn);
  }

  /** First pfn of the first run of n free pages, or -1. Skips whole reserved words. */
  private findFree(n: number): number {
    let run = 0;
    for (let pfn = 0; pfn < this.maxLowPfn; pfn++) {
      if ((pfn & 31) === 0 && this.bits[pfn >>> 5] === 0xffff_ffff) {
        run = 0;
        pfn += 31;
        continue;
      }
      if (this.bit(pfn)) run = 0;
      else if (++run === n) return pfn - n + 1;
    }
    return -1;
  }

  private checkLive(what: string): void {
    if (this.retiredFlag)
      throw new LinuxMmError(
        LINUX_ERROR.BOOTMEM_RETIRED,
        `${what}: bootmem was retired by free_all_bootmem; its pages belong to the zones now`,
      );
  }

  private checkRange(phys: number, size: number, what: string): void {
    if (!Number.isSafeInteger(phys) || phys < 0)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `${what}_bootmem: address ${show(phys)} is not a non-negative integer`,
      );
    if (!Number.isSafeInteger(size) || size < 1)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `${what}_bootmem: size ${show(size)} must be a positive integer`,
      );
    if (phys + size > this.maxLowPfn * PAGE_SIZE)
      throw new LinuxMmError(
        LINUX_ERROR.OUT_OF_RANGE,
        `${what}_bootmem: [${hex32(phys)}, ${hex32(phys + size)}) goes past low memory's end ${hex32(this.maxLowPfn * PAGE_SIZE)}`,
      );
  }
}
