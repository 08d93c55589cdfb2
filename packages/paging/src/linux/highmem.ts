/**
 * Highmem on Linux i386: the pages above max_low_pfn have no permanent
 * kernel address, so the kernel maps them for a while when it must touch
 * them (mm/highmem.c, arch/i386/mm/highmem.c).
 *
 * ```
 *  PKMAP_BASE (0xFF800000)                       one page table, 1024 PTEs
 *  [ slot 0 | slot 1 | ... | slot 1023 ]         kmap / kunmap: may "sleep"
 *      pkmap_count[nr]: 0 free, 1 mapped but unused (stale until the next
 *      wrap), n > 1: n - 1 users. On wrap (last_pkmap_nr back to 0),
 *      flushAllZeroPkmaps clears every slot at 1 and flushes the whole TLB
 *      once, globals included (__flush_tlb_all: the CR4.PGE toggle).
 *
 *  FIXADDR_TOP (0xFFFFF000) = FIX_HOLE, then one page per km_type, growing down
 *  [ ... | KM_SOFTIRQ1 0xFFFF2000 | ... | KM_BOUNCE_READ 0xFFFFE000 | hole ]
 *      kmap_atomic / kunmap_atomic: never sleeps; the slot of its type is
 *      set and invlpg'd (one page, so no whole-TLB flush).
 * ```
 *
 * A "page" here is the frame's physical address (the model has no
 * `struct page`): lowmem pages are their `__va` and use no slot at all.
 *
 * @module
 */
import { LINUX_ERROR, LinuxMmError } from "@mm386/allocation/linux";
import { describeValue } from "@mm386/allocation";
import { hex32, type Machine, PAGE_SIZE, PTE, pteIndex } from "@mm386/hw-i386";
import { flushTlbAll, show } from "./boot.js";
import {
  kmapAtomicAddr,
  kmTypeName,
  LINUX_FLAGS,
  LINUX_LAYOUT,
  type LinuxLayout,
} from "./layout.js";

/** What {@link Highmem} needs from the booted kernel. */
export interface HighmemContext {
  /** The machine (its MMU edits the tables at their `__va`). */
  readonly machine: Machine;
  /** PAGE_OFFSET. */
  readonly pageOffset: number;
  /** One past the last low page. */
  readonly maxLowPfn: number;
  /** One past the last page of RAM. */
  readonly maxPfn: number;
  /** The layout (PKMAP_BASE, the fixmap). */
  readonly layout: LinuxLayout;
  /** Whether kernel mappings are global (PGE). */
  readonly pge: boolean;
  /** Kernel virtual address of `pkmap_page_table`. */
  readonly pkmapPageTable: number;
  /** Kernel virtual address of the fixmap's page table. */
  readonly fixmapPageTable: number;
}

/** Counters of the highmem mappings. */
export interface HighmemStats {
  /** `kmap` calls that mapped a highmem page into a new pkmap slot. */
  readonly kmapNew: number;
  /** `flush_all_zero_pkmaps` runs (each one whole-TLB flush, globals included). */
  readonly pkmapFlushes: number;
  /** `kmap_atomic` calls that set a fixmap slot (each one invlpg). */
  readonly atomicMaps: number;
}

/** One slot's state, for inspection: which page and `pkmap_count`. */
export interface PkmapSlot {
  /** Slot number (0..LAST_PKMAP-1). */
  readonly nr: number;
  /** Its address, `PKMAP_ADDR(nr)`. */
  readonly vaddr: number;
  /** The frame mapped there (null when the slot is free). */
  readonly page: number | null;
  /** `pkmap_count[nr]`: 0 free, 1 mapped without users, n users + 1. */
  readonly count: number;
}

/** The persistent kmap area and the kmap_atomic slots of the one CPU. */
export class Highmem {
  /** `pkmap_count`: 0 free, 1 mapped but unused, n + 1 with n users. */
  private readonly pkmapCount = new Uint16Array(LINUX_LAYOUT.LAST_PKMAP);
  /** The frame in each slot (valid while its count is not 0). */
  private readonly slotPage = new Array<number>(LINUX_LAYOUT.LAST_PKMAP).fill(0);
  /** `page_address()` of kmapped highmem pages: frame -> slot. */
  private readonly pageSlot = new Map<number, number>();
  /** `last_pkmap_nr`: where the search for a free slot goes on. */
  private lastPkmapNr = 0;
  /** The frame in each kmap_atomic slot, by type (null: free). */
  private readonly atomic: (number | null)[] = new Array<number | null>(
    LINUX_LAYOUT.KM_TYPE_NR,
  ).fill(null);
  private kmapNewCount = 0;
  private flushCount = 0;
  private atomicCount = 0;

  /** Made by `LinuxPaging`. @internal */
  constructor(private readonly k: HighmemContext) {}

  /** Counters since boot. */
  get stats(): HighmemStats {
    return {
      kmapNew: this.kmapNewCount,
      pkmapFlushes: this.flushCount,
      atomicMaps: this.atomicCount,
    };
  }

  /** `PageHighMem`: whether frame `page` is above the direct map. */
  isHighmem(page: number): boolean {
    this.checkPage(page, "PageHighMem");
    return this.high(page);
  }

  /** isHighmem for a checked page. */
  private high(page: number): boolean {
    return page >= this.k.maxLowPfn * PAGE_SIZE;
  }

  /** The slots that are not free, lowest first. */
  pkmapSlots(): PkmapSlot[] {
    const out: PkmapSlot[] = [];
    for (let nr = 0; nr < LINUX_LAYOUT.LAST_PKMAP; nr++)
      if (this.pkmapCount[nr] !== 0)
        out.push({
          nr,
          vaddr: this.k.layout.pkmapBase + nr * PAGE_SIZE,
          page: this.slotPage[nr]!,
          count: this.pkmapCount[nr]!,
        });
    return out;
  }

  /** `PKMAP_ADDR(nr)`: slot `nr`'s address (nr in 0..LAST_PKMAP-1). */
  pkmapAddr(nr: number): number {
    if (!Number.isSafeInteger(nr) || nr < 0 || nr >= LINUX_LAYOUT.LAST_PKMAP)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `pkmap slot ${describeValue(nr)} is not in 0..${LINUX_LAYOUT.LAST_PKMAP - 1}`,
      );
    return this.k.layout.pkmapBase + nr * PAGE_SIZE;
  }

  /** `page_address(page)` for a highmem page: its pkmap address, or null when it has none. */
  pageAddress(page: number): number | null {
    this.checkPage(page, "page_address");
    const nr = this.pageSlot.get(page);
    return nr === undefined ? null : this.pkmapAddr(nr);
  }

  /**
   * `kmap(page)`: a lowmem page is its `__va`; a highmem page keeps the
   * pkmap slot it has (one more user) or gets a free one, mapped global
   * (with PGE) and writable. Null when every slot has users: the kernel
   * would sleep until a kunmap, a single-threaded model cannot.
   */
  kmap(page: number): number | null {
    this.checkPage(page, "kmap");
    if (!this.high(page)) return this.k.pageOffset + page;
    let nr = this.pageSlot.get(page);
    if (nr === undefined) {
      const got = this.mapNewVirtual(page);
      if (got === null) return null;
      nr = got;
    }
    this.pkmapCount[nr]!++;
    return this.pkmapAddr(nr);
  }

  /**
   * `kunmap(page)`: one user less. The mapping stays (count 1) until the
   * next wrap clears it: lazy, so a page kmapped again soon costs nothing.
   * A highmem page without users: E_NOT_MAPPED, nothing changed.
   */
  kunmap(page: number): void {
    this.checkPage(page, "kunmap");
    if (!this.high(page)) return;
    const nr = this.pageSlot.get(page);
    if (nr === undefined || this.pkmapCount[nr]! < 2)
      throw new LinuxMmError(
        LINUX_ERROR.NOT_MAPPED,
        `kunmap(${hex32(page)}): the page is not kmapped (no user holds it)`,
      );
    this.pkmapCount[nr]!--;
  }

  /**
   * `flush_all_zero_pkmaps`: every slot mapped without users (count 1) is
   * cleared and freed, then the whole TLB is flushed once, global entries
   * too: pkmap PTEs are global with PGE, so a CR3 reload would leave them.
   */
  flushAllZeroPkmaps(): void {
    const { mmu } = this.k.machine;
    for (let nr = 0; nr < LINUX_LAYOUT.LAST_PKMAP; nr++) {
      if (this.pkmapCount[nr] !== 1) continue;
      this.pkmapCount[nr] = 0;
      mmu.write32(this.k.pkmapPageTable + 4 * nr, 0);
      this.pageSlot.delete(this.slotPage[nr]!);
    }
    flushTlbAll(this.k.machine);
    this.flushCount++;
  }

  /**
   * `kmap_atomic(page, type)`: a lowmem page is its `__va` (no slot used);
   * a highmem page takes the fixmap slot of `type`, whose PTE is set and
   * invlpg'd. A type whose slot already holds a page: E_BUSY, nothing
   * changed (the kernel would silently overwrite it, the bug this catches).
   */
  kmapAtomic(page: number, type: number): number {
    this.checkPage(page, "kmap_atomic");
    this.checkType(type, "kmap_atomic");
    if (!this.high(page)) return this.k.pageOffset + page;
    const held = this.atomic[type];
    if (held !== null && held !== undefined)
      throw new LinuxMmError(
        LINUX_ERROR.BUSY,
        `kmap_atomic(${hex32(page)}, ${kmTypeName(type)}): the slot at ${hex32(kmapAtomicAddr(type))} already maps ${hex32(held)}`,
      );
    const vaddr = kmapAtomicAddr(type);
    const { mmu } = this.k.machine;
    mmu.write32(this.fixPte(vaddr), page | this.kmapProt());
    mmu.invlpg(vaddr);
    this.atomic[type] = page;
    this.atomicCount++;
    return vaddr;
  }

  /**
   * `kunmap_atomic(addr, type)`: a direct-map address needs nothing; a
   * fixmap address must be the slot of `type` in use, whose PTE is cleared
   * and invlpg'd (as with CONFIG_DEBUG_HIGHMEM: no stale slot stays
   * readable). Anything else: a typed error, nothing changed.
   */
  kunmapAtomic(addr: number, type: number): void {
    this.checkType(type, "kunmap_atomic");
    if (!Number.isSafeInteger(addr) || addr < 0 || addr >= 2 ** 32)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `kunmap_atomic(${show(addr)}): not an address`,
      );
    const vaddr = addr - (addr % PAGE_SIZE);
    if (vaddr < this.k.layout.fixaddrStart) {
      if (addr < this.k.pageOffset || addr >= this.k.layout.highMemory)
        throw new LinuxMmError(
          LINUX_ERROR.BAD_ARGUMENT,
          `kunmap_atomic(${hex32(addr)}): neither a direct-map address nor a kmap_atomic slot`,
        );
      return;
    }
    const slot = kmapAtomicAddr(type);
    if (vaddr !== slot)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `kunmap_atomic(${hex32(addr)}, ${kmTypeName(type)}): that type's slot is ${hex32(slot)}`,
      );
    if (this.atomic[type] === null)
      throw new LinuxMmError(
        LINUX_ERROR.NOT_MAPPED,
        `kunmap_atomic(${hex32(addr)}, ${kmTypeName(type)}): the slot is not in use`,
      );
    const { mmu } = this.k.machine;
    mmu.write32(this.fixPte(vaddr), 0);
    mmu.invlpg(vaddr);
    this.atomic[type] = null;
  }

  /** The frame in the kmap_atomic slot of `type`, or null when free. */
  atomicSlot(type: number): number | null {
    this.checkType(type, "atomicSlot");
    return this.atomic[type]!;
  }

  /** `map_new_virtual`: the next free slot after last_pkmap_nr, flushing on wrap; null when none. */
  private mapNewVirtual(page: number): number | null {
    let count = LINUX_LAYOUT.LAST_PKMAP;
    for (;;) {
      this.lastPkmapNr = (this.lastPkmapNr + 1) % LINUX_LAYOUT.LAST_PKMAP;
      if (this.lastPkmapNr === 0) {
        this.flushAllZeroPkmaps();
        count = LINUX_LAYOUT.LAST_PKMAP;
      }
      if (this.pkmapCount[this.lastPkmapNr] === 0) break;
      if (--count === 0) return null; // every slot has users: the kernel sleeps here
    }
    const nr = this.lastPkmapNr;
    // The slot is free, so its PTE is clear and (flushed at the last wrap) in no TLB.
    this.k.machine.mmu.write32(this.k.pkmapPageTable + 4 * nr, page | this.kmapProt());
    this.pkmapCount[nr] = 1;
    this.slotPage[nr] = page;
    this.pageSlot.set(page, nr);
    this.kmapNewCount++;
    return nr;
  }

  /** `kmap_prot`: PAGE_KERNEL, global with PGE. */
  private kmapProt(): number {
    return LINUX_FLAGS.PAGE_KERNEL | (this.k.pge ? PTE.G : 0);
  }

  /** Kernel virtual address of the fixmap PTE of `vaddr` (`kmap_pte - idx`). */
  private fixPte(vaddr: number): number {
    return this.k.fixmapPageTable + 4 * pteIndex(vaddr);
  }

  /** `page` must be a page-aligned frame of RAM. */
  private checkPage(page: number, what: string): void {
    if (!Number.isSafeInteger(page) || page < 0)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `${what}(${describeValue(page)}): a page is a frame's physical address`,
      );
    if (page % PAGE_SIZE !== 0)
      throw new LinuxMmError(LINUX_ERROR.UNALIGNED, `${what}(${hex32(page)}): not page-aligned`);
    if (page >= this.k.maxPfn * PAGE_SIZE)
      throw new LinuxMmError(
        LINUX_ERROR.OUT_OF_RANGE,
        `${what}(${hex32(page)}): past the end of RAM at ${hex32(this.k.maxPfn * PAGE_SIZE)}`,
      );
  }

  /** `type` must be a {@link KM_TYPE} value. */
  private checkType(type: number, what: string): void {
    if (!Number.isSafeInteger(type) || type < 0 || type >= LINUX_LAYOUT.KM_TYPE_NR)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `${what}: type ${describeValue(type)} is not a km_type (0..${LINUX_LAYOUT.KM_TYPE_NR - 1})`,
      );
  }
}
