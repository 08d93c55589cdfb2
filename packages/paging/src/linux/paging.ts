/**
 * Linux on i386's paging after boot, as the {@link PagingDesign} every
 * mm386 design implements.
 *
 * How the kernel reaches a page table: `__va(phys)`, PAGE_OFFSET + phys,
 * through the direct map, with ordinary MMU accesses at CPL 0. There is no
 * vpde, no recursive slot, no window: every page table this design makes
 * comes from low memory (GFP_KERNEL), which is mapped for good.
 *
 * ```
 *  swapper_pg_dir (init_mm.pgd, the reference)      a process's pgd (pgdAlloc)
 *  [ user: empty       ][ kernel PDEs ]  --copy-->  [ user PDEs   ][ kernel PDEs ]
 *                           ^ vmalloc tables are made here only;
 *                             another pgd gets the PDE on its first fault (vmallocFault)
 * ```
 *
 * A new kernel page table's PDE also goes in the current pgd at once (the
 * conformance suite reads a kernel mapping raw in the space that made it);
 * Linux leaves that to the fault of the first touch, which comes right
 * after in any real use.
 *
 * Kernel mappings go in the vmalloc area, `[VMALLOC_START, VMALLOC_END)`,
 * in regions from a first-fit list with a guard page after each. Unmapping a
 * kernel page flushes the whole TLB, global entries included, as `vfree`
 * does; user pages of the current address space are flushed with invlpg.
 *
 * @module
 */
import { LINUX_ERROR, LinuxMmError, GFP, type Zones, type Bootmem } from "@mm386/allocation/linux";
import { describeValue } from "@mm386/allocation";
import {
  CR4,
  type Cpl,
  ENTRIES_PER_TABLE,
  explainWalk,
  formatWalk,
  hex32,
  type Machine,
  type Mmu,
  PAGE_SIZE,
  PageFault,
  PDE,
  PF_ERROR,
  PTE,
  pteIndex,
  type WalkExplanation,
} from "@mm386/hw-i386";
import { type MappedRange, PAGING_ERROR, PagingError } from "../api.js";
import type { AddressSpace, PagingDesign } from "../design.js";
import { checkMapArgs } from "../map-args.js";
import { type RunInProgress, addRun, runFlags } from "../runs.js";
import { flushTlbAll, type LinuxBootContext, show } from "./boot.js";
import { KM_TYPE, kmapAtomicAddr, LINUX_FLAGS, type LinuxLayout } from "./layout.js";
import { Highmem } from "./highmem.js";
import {
  type FaultContext,
  PROT,
  type UserFaultHandler,
  type VmArea,
  linuxUserFault,
} from "./fault.js";

const SPACE = 2 ** 32;

/**
 * Turn off stack capture for the access about to be made, returning the old
 * limit. A demand fault is the normal path here, and the MMU's PageFault,
 * like every Error, records a stack trace when made: that alone was most of
 * the cost of a fault (about 60 of 90 us). Callers restore the limit at once.
 */
function quietFaults(): number {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  return limit;
}

/** Give an error made while stack capture was off the current stack (from the design's access entry up) before it is thrown on. */
function withStack(e: unknown): unknown {
  if (e instanceof Error && typeof Error.captureStackTrace === "function") {
    const stack = e.stack;
    Error.captureStackTrace(e, withStack);
    if (e.stack === undefined) e.stack = stack;
  }
  return e;
}

/** The area of `mm` holding `addr`, if any. */
function findArea(mm: MmStruct, addr: number): VmArea | undefined {
  return mm.areas.find((a) => a.start <= addr && addr < a.end);
}

/** `prot` must be a combination of {@link PROT} bits. */
function checkProt(prot: unknown): void {
  if (typeof prot !== "number" || !Number.isSafeInteger(prot) || prot < 0 || prot > 7)
    throw new PagingError(
      PAGING_ERROR.BAD_FLAGS,
      `protection ${describeValue(prot)} is not a combination of PROT_READ (1), PROT_WRITE (2), PROT_EXEC (4)`,
    );
}

/** The CPU has two privilege levels here; the MMU would take a missing one as 0, the design does not. */
function checkCpl(cpl: unknown): void {
  if (cpl !== 0 && cpl !== 3)
    throw new PagingError(PAGING_ERROR.BAD_ARGUMENT, `CPL ${describeValue(cpl)} is not 0 or 3`);
}

/** One address space of Linux: the part of `mm_struct` paging needs. */
export class MmStruct implements AddressSpace {
  /** Kernel virtual address of the page directory (`mm->pgd`, a pointer in the direct map). */
  declare readonly pgd: number;
  /** Physical address of the page directory: what CR3 holds while it is current (`__pa(mm->pgd)`). */
  declare readonly cr3: number;
  private destroyedFlag = false;
  /** The areas (`vm_area_struct`s), sorted, non-overlapping. @internal */
  readonly areas: VmArea[] = [];
  /** Frames the fault handler gave this space, by virtual page number (the zero page is not one). @internal */
  readonly demandPages = new Map<number, number>();

  /** Made by {@link LinuxPaging.pgdAlloc} (and once for init_mm). @internal */
  constructor(pgd: number, cr3: number) {
    this.pgd = pgd;
    this.cr3 = cr3;
  }

  /** True once its directory was given back. */
  get destroyed(): boolean {
    return this.destroyedFlag;
  }

  /** @internal */
  markDestroyed(): void {
    this.destroyedFlag = true;
  }
}

/** Codes of {@link SegmentationFault}. */
export const SEGV = {
  /** The fault's code. */
  CODE: "E_SEGV",
} as const;

/**
 * SIGSEGV: a user access the fault handler does not resolve (outside every
 * area, a write to a read-only area, any access to a PROT_NONE area, a user
 * access to a kernel address). Carries the address and the error code.
 */
export class SegmentationFault extends Error {
  /** Always `"SegmentationFault"`. */
  override readonly name = "SegmentationFault";
  /** Always `"E_SEGV"`. */
  readonly code = SEGV.CODE;
  constructor(
    /** The faulting linear address (CR2). */
    readonly address: number,
    /** The page fault's error code ({@link PF_ERROR} bits). */
    readonly errorCode: number,
    why: string,
  ) {
    super(
      `${SEGV.CODE}: segmentation fault at ${hex32(address)} (error code ${errorCode}): ${why}`,
    );
  }
}

/** A software bit of a not-present PTE: the page keeps its frame but its area is PROT_NONE. */
const PTE_PROTNONE = 0x200;

/** One vmalloc-area region handed out by {@link LinuxPaging.allocKernelRegion}. */
export interface VmRegion {
  /** First virtual address. */
  readonly start: number;
  /** Pages usable; a guard page follows. */
  readonly pages: number;
}

/** Counters of what the design did. */
export interface LinuxPagingStats {
  /** PDEs copied from swapper_pg_dir by the vmalloc fault path. */
  readonly vmallocFaults: number;
  /** Whole-TLB flushes (`__flush_tlb_all`) after kernel unmaps. */
  readonly flushAlls: number;
  /** Page tables made after boot (user and kernel). */
  readonly tablesMade: number;
  /** User faults the handler resolved (a frame or the zero page mapped, a zero page copied). */
  readonly minorFaults: number;
  /** `flush_all_zero_pkmaps` runs (each a whole-TLB flush, globals included). */
  readonly pkmapFlushes: number;
  /** Live vmalloc areas. */
  readonly vmallocs: number;
  /** Read faults answered with the shared zero page, read-only. */
  readonly zeroPageMaps: number;
  /** Writes to the zero page that took a frame of their own (copy on write). */
  readonly zeroPageCopies: number;
}

/** A booted Linux on i386: the direct map, the zones, address spaces and the vmalloc area. */
export class LinuxPaging implements PagingDesign<MmStruct> {
  /** The design's name. */
  readonly name = "linux";
  /** Linux lets user mappings start at 0 (mmap_min_addr did not exist in 2.6's first releases). */
  readonly userStart = 0;
  /** The machine it runs on. */
  declare readonly machine: Machine;
  /** The machine's MMU. */
  declare readonly mmu: Mmu;
  /** PAGE_OFFSET: the split. */
  declare readonly split: number;
  /** PAGE_OFFSET (the kernel's name for the split). */
  declare readonly pageOffset: number;
  /** One past the last page of RAM. */
  declare readonly maxPfn: number;
  /** One past the last page of low memory (the direct map's end). */
  declare readonly maxLowPfn: number;
  /** The layout: high_memory, the vmalloc area, pkmap, fixmap. */
  declare readonly layout: LinuxLayout;
  /** Whether the direct map uses 4 MiB pages. */
  declare readonly pse: boolean;
  /** Whether kernel mappings are global. */
  declare readonly pge: boolean;
  /** The zones' page allocator. */
  declare readonly zones: Zones;
  /** The boot allocator (retired). */
  declare readonly bootmem: Bootmem;
  /** init_mm: swapper_pg_dir, the reference directory. */
  declare readonly reference: MmStruct;
  /** What the boot did, for the story and tests. */
  declare readonly boot: Readonly<LinuxBootContext>;
  /** How user-range faults are resolved (the swap point of the workbook's fault-handler exercise). */
  declare readonly faultHandler: UserFaultHandler;
  /**
   * CONFIG_HIGHPTE in effect: user page tables come from highmem first and
   * are edited through `kmapAtomic(KM_PTE0)` (asked at boot, default on, and
   * only meaningful when there is highmem).
   */
  declare readonly highpte: boolean;
  /** The pkmap area and the kmap_atomic slots (kmap, kmapAtomic and friends are also methods here). */
  declare readonly highmem: Highmem;
  /** vmalloc'd areas: start -> their frames (`vm_struct.pages`). */
  private readonly vmallocAreas = new Map<number, number[]>();
  declare private currentMm: MmStruct;
  private readonly spaces: MmStruct[] = [];
  private readonly owned = new WeakSet<MmStruct>();
  /** vmalloc regions, sorted by start. */
  private readonly vmlist: VmRegion[] = [];
  private vmallocFaultCount = 0;
  private flushAllCount = 0;
  private tablesMadeCount = 0;
  private minorFaultCount = 0;
  private zeroPageMapCount = 0;
  private zeroPageCopyCount = 0;
  /** `empty_zero_page`: one zeroed low frame, mapped read-only wherever a read faults first; made on first need. */
  private zeroPageFrame: number | null = null;

  /** Use {@link bootLinux}. @internal */
  constructor(ctx: LinuxBootContext) {
    this.machine = ctx.machine;
    this.mmu = ctx.machine.mmu;
    this.split = ctx.pageOffset;
    this.pageOffset = ctx.pageOffset;
    this.maxPfn = ctx.maxPfn;
    this.maxLowPfn = ctx.maxLowPfn;
    this.layout = ctx.layout!;
    this.pse = ctx.pse;
    this.pge = ctx.pge;
    this.zones = ctx.zones!;
    this.bootmem = ctx.bootmem!;
    this.boot = ctx;
    this.faultHandler = ctx.faultHandler ?? linuxUserFault;
    // kmap and kmapAtomic write these tables at their __va: without them a kmap would write at 0.
    if (ctx.pkmapPageTable === 0 || ctx.fixmapPageTable === 0)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_CONFIG,
        "the boot made no fixmap or pkmap page table: run fixrangeInit and permanentKmapsInit (pagingInit does) before memInit",
      );
    this.highpte = ctx.highpte && ctx.maxPfn > ctx.maxLowPfn;
    this.highmem = new Highmem({
      machine: ctx.machine,
      pageOffset: ctx.pageOffset,
      maxLowPfn: ctx.maxLowPfn,
      maxPfn: ctx.maxPfn,
      layout: ctx.layout!,
      pge: ctx.pge,
      pkmapPageTable: ctx.pkmapPageTable,
      fixmapPageTable: ctx.fixmapPageTable,
    });
    const swapper = ctx.head.swapperPgDir;
    this.reference = new MmStruct(this.pageOffset + swapper, swapper);
    this.owned.add(this.reference);
    this.spaces.push(this.reference);
    this.currentMm = this.reference;
  }

  /** The address space loaded in CR3. */
  get current(): MmStruct {
    return this.currentMm;
  }

  /** Counters since boot. */
  get stats(): LinuxPagingStats {
    return {
      vmallocFaults: this.vmallocFaultCount,
      flushAlls: this.flushAllCount,
      tablesMade: this.tablesMadeCount,
      minorFaults: this.minorFaultCount,
      pkmapFlushes: this.highmem.stats.pkmapFlushes,
      vmallocs: this.vmallocAreas.size,
      zeroPageMaps: this.zeroPageMapCount,
      zeroPageCopies: this.zeroPageCopyCount,
    };
  }

  /** The vmalloc regions handed out, lowest first. */
  vmRegions(): VmRegion[] {
    return this.vmlist.map((r) => ({ ...r }));
  }

  // ------------------------------------------------------------ __va / __pa

  /** `__va(phys)`: the direct map's kernel virtual address of a low-memory physical address. */
  va(phys: number): number {
    if (!Number.isSafeInteger(phys) || phys < 0 || phys >= this.maxLowPfn * PAGE_SIZE)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `__va(${show(phys)}): not low memory (below ${hex32(this.maxLowPfn * PAGE_SIZE)}); highmem has no permanent mapping`,
      );
    return this.pageOffset + phys;
  }

  /** `__pa(va)`: the physical address of a direct-map address. */
  pa(va: number): number {
    if (!Number.isSafeInteger(va) || va < this.pageOffset || va >= this.layout.highMemory)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `__pa(${show(va)}): not in the direct map [${hex32(this.pageOffset)}, ${hex32(this.layout.highMemory)})`,
      );
    return va - this.pageOffset;
  }

  // ------------------------------------------------------- address spaces

  /** Every live address space, swapper_pg_dir first. */
  addressSpaces(): MmStruct[] {
    return [...this.spaces];
  }

  /**
   * `pgd_alloc`: a page from ZONE_NORMAL/DMA for the directory; user PDEs
   * cleared, kernel PDEs copied from swapper_pg_dir (`clone_pgd_range`).
   * Null when no low page is free.
   */
  pgdAlloc(): MmStruct | null {
    const phys = this.zones.allocPages(GFP.KERNEL, 0);
    if (phys === null) return null;
    const pgd = this.va(phys);
    const user = this.pageOffset >>> 22;
    for (let r = 0; r < user; r++) this.mmu.write32(pgd + 4 * r, 0);
    this.mmu.copyWords(pgd + 4 * user, this.reference.pgd + 4 * user, ENTRIES_PER_TABLE - user);
    const mm = new MmStruct(pgd, phys);
    this.owned.add(mm);
    this.spaces.push(mm);
    return mm;
  }

  /** A new address space ({@link LinuxPaging.pgdAlloc}); null when out of memory. */
  createAddressSpace(): MmStruct | null {
    return this.pgdAlloc();
  }

  /** `switch_mm`: load the pgd into CR3. */
  switchTo(space: MmStruct): void {
    this.checkSpace(space);
    this.mmu.loadCr3(space.cr3);
    this.currentMm = space;
  }

  /**
   * `pgd_free` after the user page tables (`free_pgtables`): every user page
   * table and the directory go back to the zones. Frames mapped with
   * {@link LinuxPaging.map} stay the caller's. Refused for swapper_pg_dir and
   * for the current space.
   */
  destroyAddressSpace(space: MmStruct): void {
    this.checkSpace(space);
    if (space === this.reference)
      throw new PagingError(
        PAGING_ERROR.INIT_PAGEDIR,
        `swapper_pg_dir (${hex32(space.cr3)}) is init_mm's directory, the kernel half's master copy`,
      );
    if (space === this.currentMm)
      throw new PagingError(
        PAGING_ERROR.CURRENT,
        `pgd ${hex32(space.cr3)} is loaded in CR3; switch away first`,
      );
    for (const frame of space.demandPages.values()) this.zones.freePages(frame, 0);
    space.demandPages.clear();
    space.areas.length = 0;
    for (let r = 0; r < this.pageOffset >>> 22; r++) {
      const pde = this.mmu.read32(space.pgd + 4 * r);
      if ((pde & PDE.P) !== 0) this.zones.freePages((pde & 0xffff_f000) >>> 0, 0);
    }
    this.zones.freePages(space.cr3, 0);
    this.spaces.splice(this.spaces.indexOf(space), 1);
    space.markDestroyed();
  }

  // ------------------------------------------------------------- mappings

  /**
   * Map `nPages` pages from `virt` to the frames from `phys`. User addresses
   * (below PAGE_OFFSET) in `space`; kernel addresses only in the vmalloc area
   * (space null), their page tables made in swapper_pg_dir alone. Page tables
   * come from the zones (GFP_KERNEL); false, with nothing changed, when none
   * is free.
   */
  map(space: MmStruct | null, virt: number, phys: number, nPages: number, flags: number): boolean {
    if (!Number.isSafeInteger(flags) || (flags & PTE.P) === 0)
      throw new PagingError(
        PAGING_ERROR.BAD_FLAGS,
        `flags ${show(flags)} lack PTE_PRESENT: use unmap to remove mappings`,
      );
    const mm = this.checkRange(space, virt, nPages, flags, phys);
    this.checkNoArea(mm, virt, nPages);
    this.checkNoVmalloc(virt, nPages);
    return this.setPtes(mm, virt, nPages, (i) => (phys + i * PAGE_SIZE) | flags);
  }

  /** Unmap `nPages` pages from `virt` (pages without a table or mapping are skipped); frames stay the caller's. */
  unmap(space: MmStruct | null, virt: number, nPages: number): void {
    const mm = this.checkRange(space, virt, nPages, 0, 0);
    this.checkNoArea(mm, virt, nPages);
    this.checkNoVmalloc(virt, nPages);
    this.setPtes(mm, virt, nPages, null);
  }

  /**
   * One frame for user memory (GFP_HIGHUSER: HIGHMEM, then NORMAL, then DMA),
   * or null: what a user page gets when the caller needs no kernel address for
   * it. Give it back with {@link LinuxPaging.freeFrames}.
   */
  allocUserFrame(): number | null {
    return this.zones.allocPages(GFP.HIGHUSER, 0);
  }

  /** `n` consecutive low-memory frames (GFP_KERNEL: NORMAL, then DMA), or null. */
  allocFrames(n: number): number | null {
    return this.zones.allocPagesExact(GFP.KERNEL, n);
  }

  /** Give back frames {@link LinuxPaging.allocFrames} returned. */
  freeFrames(phys: number, n: number): void {
    this.zones.freePagesExact(phys, n);
  }

  /**
   * `get_vm_area`: the first gap of the vmalloc area that holds `nPages`
   * pages plus a guard page. Null when there is none.
   */
  allocKernelRegion(nPages: number): number | null {
    if (!Number.isSafeInteger(nPages) || nPages < 1)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `page count ${describeValue(nPages)} must be a positive integer`,
      );
    const size = (nPages + 1) * PAGE_SIZE;
    let addr = this.layout.vmallocStart;
    let i = 0;
    for (; i < this.vmlist.length; i++) {
      const r = this.vmlist[i]!;
      if (addr + size <= r.start) break;
      addr = r.start + (r.pages + 1) * PAGE_SIZE;
    }
    if (addr + size > this.layout.vmallocEnd) return null;
    this.vmlist.splice(i, 0, { start: addr, pages: nPages });
    return addr;
  }

  /** Give back a vmalloc region: `start` and `nPages` as handed out, every page unmapped. */
  freeKernelRegion(start: number, nPages: number): void {
    const i = this.vmlist.findIndex((r) => r.start === start);
    const r = this.vmlist[i];
    if (r === undefined)
      throw new LinuxMmError(
        LINUX_ERROR.NOT_VMALLOC,
        `${show(start)} is not the start of a vmalloc region`,
      );
    if (nPages !== r.pages)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `the vmalloc region at ${hex32(start)} has ${r.pages} pages, not ${describeValue(nPages)}`,
      );
    for (let p = 0; p < nPages; p++) {
      const pte = this.readPte(this.reference, start + p * PAGE_SIZE);
      if (pte !== null && (pte & PTE.P) !== 0)
        throw new LinuxMmError(
          LINUX_ERROR.BUSY,
          `the vmalloc region at ${hex32(start)} still maps ${hex32(start + p * PAGE_SIZE)}`,
        );
    }
    this.vmlist.splice(i, 1);
  }

  // ------------------------------------------------------------- vmalloc

  /**
   * `vmalloc(size)`: `size` bytes rounded up to whole pages, each page a
   * frame from any zone (GFP_KERNEL | __GFP_HIGHMEM: highmem first), mapped
   * PAGE_KERNEL at consecutive addresses of a new vmalloc-area region (a
   * guard page after it). The page tables are made in swapper_pg_dir only:
   * every other pgd, the current one included, gets the PDE on its first
   * kernel fault there (vmallocFault). Null, with nothing taken, when the
   * area, the frames or a page table run out.
   */
  vmalloc(size: number): number | null {
    if (!Number.isSafeInteger(size) || size < 1)
      throw new LinuxMmError(
        LINUX_ERROR.BAD_ARGUMENT,
        `vmalloc(${show(size)}): the size must be a positive integer`,
      );
    // Bigger than the whole area: no region can hold it (and the page count would be huge).
    if (size > this.layout.vmallocEnd - this.layout.vmallocStart) return null;
    const n = Math.ceil(size / PAGE_SIZE);
    const addr = this.allocKernelRegion(n);
    if (addr === null) return null;
    const frames: number[] = [];
    const giveBack = () => {
      for (const f of frames) this.zones.freePages(f, 0);
      this.vmlist.splice(
        this.vmlist.findIndex((r) => r.start === addr),
        1,
      );
      return null;
    };
    for (let i = 0; i < n; i++) {
      const f = this.zones.allocPages(GFP.KERNEL | GFP.HIGHMEM, 0);
      if (f === null) return giveBack();
      frames.push(f);
    }
    const flags = LINUX_FLAGS.PAGE_KERNEL | (this.pge ? PTE.G : 0);
    if (!this.setPtes(this.reference, addr, n, (i) => frames[i]! | flags, false)) return giveBack();
    this.vmallocAreas.set(addr, frames);
    return addr;
  }

  /**
   * `vfree(addr)`: unmap a vmalloc area (one whole-TLB flush, globals
   * included, as `unmap_vm_area` does), give its frames and its region back.
   * An address vmalloc did not return: E_NOT_VMALLOC, nothing changed (the
   * kernel's `vfree(NULL)` no-op is refused too: 0 is never a vmalloc address).
   */
  vfree(addr: number): void {
    const frames = this.vmallocAreas.get(addr);
    if (frames === undefined)
      throw new LinuxMmError(
        LINUX_ERROR.NOT_VMALLOC,
        `vfree(${show(addr)}): not an address vmalloc returned`,
      );
    this.vmallocAreas.delete(addr);
    this.setPtes(this.reference, addr, frames.length, null);
    for (const f of frames) this.zones.freePages(f, 0);
    this.vmlist.splice(
      this.vmlist.findIndex((r) => r.start === addr),
      1,
    );
  }

  /** The pages of the vmalloc area at `addr`, or null when vmalloc did not return it. */
  vmallocPages(addr: number): number | null {
    return this.vmallocAreas.get(addr)?.length ?? null;
  }

  /** map/unmap must not touch a vmalloc'd area: its pages are vmalloc's (vfree unmaps them). */
  private checkNoVmalloc(virt: number, nPages: number): void {
    const end = virt + nPages * PAGE_SIZE;
    for (const [start, frames] of this.vmallocAreas)
      if (start < end && virt < start + frames.length * PAGE_SIZE)
        throw new LinuxMmError(
          LINUX_ERROR.BUSY,
          `[${hex32(virt)}, ${hex32(end)}) overlaps the vmalloc area at ${hex32(start)}: vfree it`,
        );
  }

  // ------------------------------------------------------------- highmem

  /** `kmap(page)` ({@link Highmem.kmap}): the page's kernel address, or null when every pkmap slot has users. */
  kmap(page: number): number | null {
    return this.highmem.kmap(page);
  }

  /** `kunmap(page)` ({@link Highmem.kunmap}). */
  kunmap(page: number): void {
    this.highmem.kunmap(page);
  }

  /** `kmap_atomic(page, type)` ({@link Highmem.kmapAtomic}). */
  kmapAtomic(page: number, type: number): number {
    return this.highmem.kmapAtomic(page, type);
  }

  /** `kunmap_atomic(addr, type)` ({@link Highmem.kunmapAtomic}). */
  kunmapAtomic(addr: number, type: number): void {
    this.highmem.kunmapAtomic(addr, type);
  }

  // ------------------------------------------------------- the CPU's view

  /** Read 32 bits at `va` as the CPU does: a fault the kernel resolves (vmallocFault, demand paging) is retried. */
  read32(va: number, cpl: Cpl): number {
    checkCpl(cpl);
    for (let tries = 0; ; tries++) {
      const limit = quietFaults();
      try {
        return this.mmu.read32(va, cpl);
      } catch (e) {
        Error.stackTraceLimit = limit;
        if (!(e instanceof PageFault) || tries >= 3 || !this.handleFault(e, cpl))
          throw withStack(e);
      } finally {
        Error.stackTraceLimit = limit;
      }
    }
  }

  /** Write 32 bits at `va` with the same fault path as {@link LinuxPaging.read32}. */
  write32(va: number, value: number, cpl: Cpl): void {
    checkCpl(cpl);
    for (let tries = 0; ; tries++) {
      const limit = quietFaults();
      try {
        this.mmu.write32(va, value, cpl);
        return;
      } catch (e) {
        Error.stackTraceLimit = limit;
        if (!(e instanceof PageFault) || tries >= 3 || !this.handleFault(e, cpl))
          throw withStack(e);
      } finally {
        Error.stackTraceLimit = limit;
      }
    }
  }

  /**
   * `do_page_fault`'s kernel part: a not-present fault at CPL 0 on a kernel
   * address whose PDE is present in swapper_pg_dir but missing in the
   * current directory is `vmalloc_fault`: copy the PDE, and the access is
   * retried. True if the fault was resolved.
   */
  handleFault(fault: PageFault, cpl: Cpl): boolean {
    const addr = fault.cr2;
    if (addr >= this.pageOffset) {
      if (cpl === 0 && (fault.errorCode & (PF_ERROR.P | PF_ERROR.U)) === 0)
        return this.vmallocFault(addr);
      if (cpl === 3)
        throw new SegmentationFault(addr, fault.errorCode, "a user access to a kernel address");
      return false;
    }
    return this.userFault(addr, fault.errorCode, cpl);
  }

  /**
   * `handle_mm_fault` for an anonymous private area: a not-present read maps
   * the shared zero page read-only; a not-present write, or a write to the
   * zero page, takes a frame of its own (GFP_HIGHUSER: highmem first),
   * zeroed by copying the zero page into it through the user address. Outside
   * every area, or against the area's protection: a {@link SegmentationFault}
   * at CPL 3; at CPL 0 the fault is left unresolved (a kernel bug).
   */
  private userFault(addr: number, errorCode: number, cpl: Cpl): boolean {
    this.checkPte0Free(`the page fault at ${hex32(addr)}`);
    const result = this.faultHandler.handle(this.faultContext, addr, errorCode);
    if (result === true) {
      this.minorFaultCount++;
      return true;
    }
    if (cpl === 3) throw new SegmentationFault(addr, errorCode, String(result));
    return false;
  }

  /** The services a fault handler gets, on whatever space is current when it runs. */
  private readonly faultContext: FaultContext = {
    findArea: (addr) => findArea(this.currentMm, addr),
    pte: (page) => this.readPte(this.currentMm, page),
    setPte: (page, pte) => this.installUserPte(this.currentMm, page, pte),
    allocUserFrame: () => this.zones.allocPages(GFP.HIGHUSER, 0),
    freeUserFrame: (frame) => this.zones.freePages(frame, 0),
    zeroPage: () => this.zeroPage(),
    clearUserPage: (page) => {
      // clear_user_highpage: the frame may be highmem (no __va), so it is
      // zeroed through the user address, by copying the zero page in.
      this.mmu.copyWords(page, this.pageOffset + this.zeroPage(), PAGE_SIZE / 4, 0);
    },
    ownFrame: (page, frame) => {
      this.currentMm.demandPages.set(Math.floor(page / PAGE_SIZE), frame);
    },
    count: (what) => {
      if (what === "zeroPageMap") this.zeroPageMapCount++;
      else this.zeroPageCopyCount++;
    },
  };

  /** The zero page's frame, taken from the zones (and zeroed) on first need. */
  private zeroPage(): number {
    if (this.zeroPageFrame === null) {
      const f = this.zones.allocPages(GFP.KERNEL, 0);
      if (f === null)
        throw new LinuxMmError(LINUX_ERROR.NO_MEMORY, "out of memory for the zero page");
      for (let a = this.pageOffset + f; a < this.pageOffset + f + PAGE_SIZE; a += 4)
        this.mmu.write32(a, 0);
      this.zeroPageFrame = f;
    }
    return this.zeroPageFrame;
  }

  /** Set the PTE of user page `va` in `mm`, making its table (setPtes invalidates an old present entry). False if no table could be made. */
  private installUserPte(mm: MmStruct, va: number, pte: number): boolean {
    return this.setPtes(mm, va, 1, () => pte);
  }

  // ------------------------------------------------- demand-paged user memory

  /**
   * `mmap(start, length, prot)`, anonymous, private and fixed: a new area of
   * `space` at `start` (page-aligned, below PAGE_OFFSET), `length` bytes
   * rounded up to whole pages. Nothing is mapped until touched. Refused
   * (nothing changed) if it overlaps an area or a page mapped with
   * {@link LinuxPaging.map}. Returns `start`.
   */
  mmap(space: MmStruct, start: number, length: number, prot: number): number {
    const [mm, end] = this.checkArea(space, start, length, "mmap");
    checkProt(prot);
    this.checkPte0Free("mmap");
    if (mm.areas.some((a) => a.start < end && start < a.end))
      throw new LinuxMmError(
        LINUX_ERROR.BUSY,
        `mmap [${hex32(start)}, ${hex32(end)}) overlaps an area of pgd ${hex32(mm.cr3)}`,
      );
    for (let va = start; va < end; va += PAGE_SIZE) {
      const pte = this.readPte(mm, va);
      if (pte === null) {
        va =
          (Math.floor(va / (PAGE_SIZE * ENTRIES_PER_TABLE)) + 1) * PAGE_SIZE * ENTRIES_PER_TABLE -
          PAGE_SIZE;
        continue;
      }
      if ((pte & PTE.P) !== 0)
        throw new LinuxMmError(
          LINUX_ERROR.BUSY,
          `mmap [${hex32(start)}, ${hex32(end)}): ${hex32(va)} is mapped already`,
        );
    }
    mm.areas.push({ start, end, prot });
    mm.areas.sort((a, b) => a.start - b.start);
    return start;
  }

  /**
   * `munmap(start, length)`: remove `[start, start + length)` from every area
   * of `space` (splitting areas), unmap its pages, give their frames back
   * (highmem ones too) and invalidate them. Pages outside every area are left
   * alone, as the kernel does.
   */
  munmap(space: MmStruct, start: number, length: number): void {
    const [mm, end] = this.checkArea(space, start, length, "munmap");
    this.checkPte0Free("munmap");
    const kept: VmArea[] = [];
    for (const a of mm.areas) {
      if (a.end <= start || a.start >= end) {
        kept.push(a);
        continue;
      }
      if (a.start < start) kept.push({ ...a, end: start });
      if (a.end > end) kept.push({ ...a, start: end });
      const from = Math.max(a.start, start);
      const to = Math.min(a.end, end);
      this.dropPages(mm, from, to);
    }
    mm.areas.splice(0, mm.areas.length, ...kept);
  }

  /**
   * `mprotect(start, length, prot)`: every page of the range must lie in an
   * area (else E_NOT_MAPPED, nothing changed); the areas are split at the
   * range's ends, given `prot`, and the pages already present get PTEs to
   * match (a zero-page mapping stays read-only), with the TLB invalidated.
   */
  mprotect(space: MmStruct, start: number, length: number, prot: number): void {
    const [mm, end] = this.checkArea(space, start, length, "mprotect");
    checkProt(prot);
    this.checkPte0Free("mprotect");
    let covered = start;
    for (const a of mm.areas) if (a.start <= covered && a.end > covered) covered = a.end;
    if (covered < end)
      throw new LinuxMmError(
        LINUX_ERROR.NOT_MAPPED,
        `mprotect [${hex32(start)}, ${hex32(end)}): ${hex32(covered)} is in no area`,
      );
    const next: VmArea[] = [];
    for (const a of mm.areas) {
      if (a.end <= start || a.start >= end) {
        next.push(a);
        continue;
      }
      if (a.start < start) next.push({ ...a, end: start });
      next.push({ start: Math.max(a.start, start), end: Math.min(a.end, end), prot });
      if (a.end > end) next.push({ ...a, start: end });
    }
    mm.areas.splice(0, mm.areas.length, ...next);
    for (let va = start; va < end; va += PAGE_SIZE) {
      const pte = this.readPte(mm, va);
      if (pte === null || (pte & (PTE.P | PTE_PROTNONE)) === 0) continue;
      const frame = (pte & 0xffff_f000) >>> 0;
      const writable = (prot & PROT.WRITE) !== 0 && frame !== this.zeroPageFrame;
      const now =
        prot === PROT.NONE
          ? frame | PTE_PROTNONE
          : frame | PTE.P | PTE.US | (writable ? PTE.RW : 0);
      this.setPtes(mm, va, 1, () => now);
    }
  }

  /** The areas of `space`, lowest first. */
  vmAreas(space: MmStruct): VmArea[] {
    this.checkSpace(space);
    return space.areas.map((a) => ({ ...a }));
  }

  /** Unmap the pages of `[from, to)` in `mm` and free the frames the fault handler gave them. */
  private dropPages(mm: MmStruct, from: number, to: number): void {
    for (let va = from; va < to; va += PAGE_SIZE) {
      const pte = this.readPte(mm, va);
      if (pte === null) {
        va =
          (Math.floor(va / (PAGE_SIZE * ENTRIES_PER_TABLE)) + 1) * PAGE_SIZE * ENTRIES_PER_TABLE -
          PAGE_SIZE;
        continue;
      }
      if (pte === 0) continue;
      // setPtes invalidates a present entry of the current space; PROT_NONE ones are not cached.
      this.setPtes(mm, va, 1, null);
      const frame = mm.demandPages.get(va / PAGE_SIZE);
      if (frame !== undefined) {
        mm.demandPages.delete(va / PAGE_SIZE);
        this.zones.freePages(frame, 0);
      }
    }
  }

  /** Check an mmap/munmap/mprotect range; returns the space and the page-rounded end. */
  private checkArea(
    space: MmStruct,
    start: number,
    length: number,
    what: string,
  ): [MmStruct, number] {
    this.checkSpace(space);
    if (space === this.reference)
      throw new PagingError(
        PAGING_ERROR.INIT_PAGEDIR,
        `${what}: swapper_pg_dir (init_mm) has no user areas`,
      );
    if (!Number.isSafeInteger(start) || start < 0)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `${what}: start ${describeValue(start)} is not a non-negative integer`,
      );
    if (start % PAGE_SIZE !== 0)
      throw new PagingError(
        PAGING_ERROR.UNALIGNED,
        `${what}: start ${hex32(start)} is not page-aligned`,
      );
    if (!Number.isSafeInteger(length) || length < 1)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `${what}: length ${describeValue(length)} must be a positive integer`,
      );
    const end = start + Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
    if (end > this.pageOffset)
      throw new PagingError(
        PAGING_ERROR.CROSSES_SPLIT,
        `${what}: [${hex32(start)}, ${hex32(end)}) goes past PAGE_OFFSET ${hex32(this.pageOffset)}`,
      );
    return [space, end];
  }

  /** map/unmap are for pages the caller owns: not inside an mmap area, whose pages belong to the fault handler. */
  private checkNoArea(mm: MmStruct, virt: number, nPages: number): void {
    const end = virt + nPages * PAGE_SIZE;
    const a = mm.areas.find((x) => x.start < end && virt < x.end);
    if (a !== undefined)
      throw new LinuxMmError(
        LINUX_ERROR.BUSY,
        `[${hex32(virt)}, ${hex32(end)}) overlaps the mmap area [${hex32(a.start)}, ${hex32(a.end)}): its pages are the fault handler's`,
      );
  }

  /** Copy the PDE of `addr` from swapper_pg_dir into the current pgd if it is missing there. */
  private vmallocFault(addr: number): boolean {
    const r = addr >>> 22;
    const cur = this.currentMm;
    if (cur === this.reference) return false;
    const k = this.mmu.read32(this.reference.pgd + 4 * r);
    if ((k & PDE.P) === 0) return false;
    if ((this.mmu.read32(cur.pgd + 4 * r) & PDE.P) !== 0) return false;
    this.mmu.write32(cur.pgd + 4 * r, k);
    this.vmallocFaultCount++;
    return true;
  }

  // ----------------------------------------------------------- inspection

  /** What the page tables of `space` (default: current) say about `va`. */
  translate(va: number, space: MmStruct = this.currentMm): WalkExplanation {
    this.checkVa(va);
    this.checkSpace(space);
    return explainWalk(
      this.machine.ram,
      { cr0: this.mmu.cr0, cr3: space.cr3, cr4: this.mmu.cr4 },
      va,
    );
  }

  /** {@link LinuxPaging.translate} in words, with the `__va` through which the kernel reaches the table. */
  explain(va: number, space: MmStruct = this.currentMm): string {
    const w = this.translate(va, space);
    const r = va >>> 22;
    const pde = this.mmu.read32(space.pgd + 4 * r);
    const lines = [
      formatWalk(w),
      `pgd entry ${r} read at ${hex32(space.pgd + 4 * r)} = __va(${hex32(space.cr3)}) + ${4 * r}`,
    ];
    const large = (pde & PDE.PS) !== 0 && (this.mmu.cr4 & CR4.PSE) !== 0;
    if ((pde & PDE.P) !== 0 && !large) {
      const t = (pde & 0xffff_f000) >>> 0;
      lines.push(
        t < this.maxLowPfn * PAGE_SIZE
          ? `page table at ${hex32(t)}, reached by the kernel at __va(${hex32(t)}) = ${hex32(this.pageOffset + t)}`
          : `page table at ${hex32(t)} in highmem (HIGHPTE): no __va, the kernel maps it with kmap_atomic(KM_PTE0) at ${hex32(kmapAtomicAddr(KM_TYPE.PTE0))}`,
      );
    } else if ((pde & PDE.P) !== 0) lines.push("a 4 MiB page (PSE): no page table");
    else if (va >= this.pageOffset && (this.mmu.read32(this.reference.pgd + 4 * r) & PDE.P) !== 0)
      lines.push(
        "not in this pgd yet, but in swapper_pg_dir: a kernel access here is a vmalloc fault that copies it",
      );
    return lines.join("\n");
  }

  /**
   * Every mapping of `space` (default: current), user half from its pgd and
   * kernel half from swapper_pg_dir, as coalesced runs, read through the MMU
   * at `__va` of each table. A 4 MiB page counts as 1024 pages.
   */
  dump(space: MmStruct = this.currentMm): MappedRange[] {
    this.checkSpace(space);
    const out: RunInProgress[] = [];
    const add = (virt: number, phys: number, pages: number, flags: number) =>
      addRun(out, virt, phys, pages, flags);
    const userPdes = this.pageOffset >>> 22;
    for (let r = 0; r < ENTRIES_PER_TABLE; r++) {
      const dir = r < userPdes ? space : this.reference;
      const pde = this.mmu.read32(dir.pgd + 4 * r);
      if ((pde & PDE.P) === 0) continue;
      if ((pde & PDE.PS) !== 0 && (this.mmu.cr4 & CR4.PSE) !== 0) {
        add(
          r * ENTRIES_PER_TABLE * PAGE_SIZE,
          (pde & 0xffc0_0000) >>> 0,
          ENTRIES_PER_TABLE,
          runFlags(pde, PDE.PS),
        );
        continue;
      }
      const ptes = this.withTable((pde & 0xffff_f000) >>> 0, (table) =>
        Array.from({ length: ENTRIES_PER_TABLE }, (_, i) => this.mmu.read32(table + 4 * i)),
      );
      for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
        const pte = ptes[i]!;
        if ((pte & PTE.P) === 0) continue;
        add((r * ENTRIES_PER_TABLE + i) * PAGE_SIZE, (pte & 0xffff_f000) >>> 0, 1, runFlags(pte));
      }
    }
    return out;
  }

  // ------------------------------------------------------------ internals

  /** `space` must be a live address space of this design. */
  private checkSpace(space: MmStruct): void {
    if (!(space instanceof MmStruct) || !this.owned.has(space))
      throw new PagingError(
        PAGING_ERROR.NOT_PAGEDIR,
        `${describeValue(space)} is not an address space of this Linux`,
      );
    if (space.destroyed)
      throw new PagingError(PAGING_ERROR.DESTROYED, `pgd ${hex32(space.cr3)} was destroyed`);
  }

  private checkVa(va: number): void {
    if (!Number.isSafeInteger(va) || va < 0 || va >= SPACE)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `virtual address ${show(va)} is not inside 4 GiB`,
      );
  }

  /**
   * Check a map/unmap range and return the directory whose tables it edits
   * (the space for user addresses, swapper_pg_dir for kernel ones).
   */
  private checkRange(
    space: MmStruct | null,
    virt: number,
    nPages: number,
    flags: number,
    phys: number,
  ): MmStruct {
    if (space !== null && space !== undefined) this.checkSpace(space);
    const { end, kernel, present } = checkMapArgs(
      this.pageOffset,
      phys,
      virt,
      nPages,
      flags,
      "PAGE_OFFSET",
    );
    if (kernel) {
      if (virt < this.layout.vmallocStart || end > this.layout.vmallocEnd)
        throw new LinuxMmError(
          LINUX_ERROR.NOT_VMALLOC,
          `kernel range [${hex32(virt)}, ${hex32(end)}) is outside the vmalloc area [${hex32(this.layout.vmallocStart)}, ${hex32(this.layout.vmallocEnd)}): the direct map is fixed`,
        );
    } else {
      if (space === null || space === undefined)
        throw new PagingError(
          PAGING_ERROR.NO_PAGEDIR,
          `user address ${hex32(virt)} needs an address space`,
        );
    }
    if (present && phys + nPages * PAGE_SIZE > this.maxPfn * PAGE_SIZE)
      throw new PagingError(
        PAGING_ERROR.PAST_RAM,
        `physical [${hex32(phys)}, +${nPages} pages) runs past the end of RAM at ${hex32(this.maxPfn * PAGE_SIZE)}`,
      );
    return kernel ? this.reference : (space as MmStruct);
  }

  /** The PTE of `va` in `mm` (kernel addresses: swapper_pg_dir), or null without a page table. */
  private readPte(mm: MmStruct, va: number): number | null {
    const pde = this.mmu.read32(mm.pgd + 4 * (va >>> 22));
    if ((pde & PDE.P) === 0 || (pde & PDE.PS) !== 0) return null;
    return this.withTable((pde & 0xffff_f000) >>> 0, (table) =>
      this.mmu.read32(table + 4 * pteIndex(va)),
    );
  }

  /**
   * Run `fn` with a kernel address of the page table at physical `t`:
   * `__va(t)` for a low table; for a highmem one (HIGHPTE) the KM_PTE0
   * fixmap slot, `pte_offset_map`'s kmapAtomic, given back right after.
   */
  /**
   * With HIGHPTE the user page tables are edited through the KM_PTE0 slot:
   * a caller holding it would make the edit fail half-way, so user-half
   * edits check first (E_BUSY, nothing changed).
   */
  private checkPte0Free(what: string): void {
    if (!this.highpte) return;
    const held = this.highmem.atomicSlot(KM_TYPE.PTE0);
    if (held !== null)
      throw new LinuxMmError(
        LINUX_ERROR.BUSY,
        `${what}: KM_PTE0 holds ${hex32(held)}, and HIGHPTE edits user page tables through it; kunmapAtomic it first`,
      );
  }

  private withTable<T>(t: number, fn: (table: number) => T): T {
    if (t < this.maxLowPfn * PAGE_SIZE) return fn(this.pageOffset + t);
    const table = this.highmem.kmapAtomic(t, KM_TYPE.PTE0);
    try {
      return fn(table);
    } finally {
      this.highmem.kunmapAtomic(table, KM_TYPE.PTE0);
    }
  }

  /**
   * Write the PTEs of `nPages` pages from `virt` in `mm`: `pte(i)` for a
   * mapping, or clear them (null). Missing page tables are made first, all
   * of them before any PTE changes, so running out of pages changes nothing.
   */
  private setPtes(
    mm: MmStruct,
    virt: number,
    nPages: number,
    pte: ((i: number) => number) | null,
    syncCurrent = true,
  ): boolean {
    const { mmu } = this;
    if (virt < this.pageOffset) this.checkPte0Free("editing user page tables");
    const first = virt >>> 22;
    const last = (virt + (nPages - 1) * PAGE_SIZE) >>> 22;
    if (pte !== null) {
      const missing: number[] = [];
      for (let r = first; r <= last; r++)
        if ((mmu.read32(mm.pgd + 4 * r) & PDE.P) === 0) missing.push(r);
      const frames: number[] = [];
      // pte_alloc_one: with HIGHPTE a user table may come from highmem.
      const gfp = this.highpte && virt < this.pageOffset ? GFP.HIGHUSER : GFP.KERNEL;
      for (let j = 0; j < missing.length; j++) {
        const f = this.zones.allocPages(gfp, 0);
        if (f === null) {
          for (const g of frames) this.zones.freePages(g, 0);
          return false;
        }
        frames.push(f);
      }
      missing.forEach((r, j) => {
        const t = frames[j]!;
        this.withTable(t, (tva) => {
          for (let a = tva; a < tva + PAGE_SIZE; a += 4) mmu.write32(a, 0);
        });
        mmu.write32(mm.pgd + 4 * r, t | LINUX_FLAGS.PAGE_TABLE);
        // A kernel table goes in swapper_pg_dir; the current pgd gets the PDE
        // too, as the vmalloc fault of the caller's first touch would give it.
        // Every other pgd stays lazy (vmallocFault).
        if (
          syncCurrent &&
          mm === this.reference &&
          this.currentMm !== this.reference &&
          r >= this.pageOffset >>> 22
        )
          mmu.write32(this.currentMm.pgd + 4 * r, t | LINUX_FLAGS.PAGE_TABLE);
        this.tablesMadeCount++;
      });
    }
    const kernel = virt >= this.pageOffset;
    const visible = kernel || mm === this.currentMm;
    let flushAll = false;
    // One 4 MiB chunk (one page table) at a time, so a highmem table is kmapped once per chunk.
    for (let i = 0; i < nPages;) {
      const va0 = virt + i * PAGE_SIZE;
      const inTable = Math.min(nPages - i, ENTRIES_PER_TABLE - pteIndex(va0));
      const pde = mmu.read32(mm.pgd + 4 * (va0 >>> 22));
      // Unmapping where there is no table: nothing mapped; skip the chunk.
      if ((pde & PDE.P) !== 0) {
        const from = i;
        this.withTable((pde & 0xffff_f000) >>> 0, (table) => {
          for (let j = from; j < from + inTable; j++) {
            const va = virt + j * PAGE_SIZE;
            const at = table + 4 * pteIndex(va);
            const old = mmu.read32(at);
            const now = pte === null ? 0 : pte(j);
            if (old === now) continue;
            mmu.write32(at, now);
            if ((old & PTE.P) !== 0 && visible) {
              // Kernel entries may be global and cached by every space: vfree's flush_tlb_all.
              if (kernel) flushAll = true;
              else mmu.invlpg(va);
            }
          }
        });
      }
      i += inTable;
    }
    if (flushAll) {
      flushTlbAll(this.machine);
      this.flushAllCount++;
    }
    return true;
  }
}
