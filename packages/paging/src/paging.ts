/**
 * The hobby kernel's paging after boot: pagedirs with their vpde arrays, the
 * shared kernel half (kvpd), mapMem, and address spaces.
 *
 * Once paging is on, every page-table and page-directory access below goes
 * through the MMU at CPL 0, at the table's kernel virtual address: `vpde[r]`
 * for user table r of a pagedir, `kvpd[r]` for kernel table r, `pd.virt` for
 * a directory. That is why the bookkeeping exists, and why a missing invlpg
 * here shows up as a stale translation, as on real hardware.
 *
 * A new kernel page table needs a kernel virtual address, whose mapping may
 * need another new kernel page table, and so on. The chain ends because a
 * table counts as present as soon as its PDE is installed: until it has an
 * address of its own, paging reaches it through a window page (the boot
 * table's last entry, a "fixmap"), so the recursion only ever creates tables
 * for other regions, of which there are at most 256.
 *
 * @module
 */
import {
  type Cpl,
  type Machine,
  type Mmu,
  ENTRIES_PER_TABLE,
  PAGE_SIZE,
  PDE,
  PTE,
  pdeIndex,
  pteIndex,
  explainWalk,
  formatWalk,
  hex32,
  type WalkExplanation,
} from "@mm386/hw-i386";
import { describeValue, type PageAllocators, type VirtualPageAllocator } from "@mm386/allocation";
import {
  type BootInfo,
  type MapMem,
  type MapMemContext,
  type MappedRange,
  PAGING_ERROR,
  type PageSource,
  PagingError,
} from "./api.js";

import { checkMachine, checkSplit } from "./boot.js";
import type { PagingDesign } from "./design.js";
import { checkMapArgs } from "./map-args.js";
import { type RunInProgress, addRun, runFlags } from "./runs.js";
import { hobbyMapMem } from "./map-mem.js";

const SPACE = 2 ** 32;

/** An address in hex when it is one, else the value named as what it is (`5n`, `Symbol(x)`, `null`). */
function show(v: unknown): string {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? hex32(v) : describeValue(v);
}

// This module's writers of a Pagedir's private bookkeeping (set in its static block).
let setVpde: (pd: Pagedir, r: number, va: number | null) => void;
let readVpde: (pd: Pagedir, r: number) => number | null;
let linkAfter: (pd: Pagedir, prev: Pagedir) => void;
let unlink: (pd: Pagedir) => void;

/** One address space of the hobby kernel: a page directory and its bookkeeping. */
export class Pagedir {
  /** Physical address of the directory: what CR3 holds while it is current. */
  declare readonly phys: number;
  /** The same as {@link Pagedir.phys}: the design interface's name for it. */
  get cr3(): number {
    return this.phys;
  }
  /** Kernel virtual address of the directory page. */
  declare readonly virt: number;
  // Written only by this module (through the writers set up in the static
  // block below): a MapMem or anyone else holding a Pagedir can read these but
  // not rewrite the bookkeeping behind paging's back.
  readonly #vpde: (number | null)[];
  #next: Pagedir;
  #prev: Pagedir;
  #destroyed = false;
  private vpaCache: VirtualPageAllocator | null = null;
  declare private readonly makeVpa: () => VirtualPageAllocator;

  static {
    setVpde = (pd, r, va) => {
      pd.#vpde[r] = va;
    };
    readVpde = (pd, r) => pd.#vpde[r] ?? null;
    linkAfter = (pd, prev) => {
      pd.#prev = prev;
      pd.#next = prev.#next;
      prev.#next.#prev = pd;
      prev.#next = pd;
    };
    unlink = (pd) => {
      pd.#prev.#next = pd.#next;
      pd.#next.#prev = pd.#prev;
      pd.#destroyed = true;
    };
  }

  /** For each user PDE: the kernel virtual address of its page table, or null (a frozen copy). */
  get vpde(): readonly (number | null)[] {
    return Object.freeze(this.#vpde.slice());
  }
  /** Next pagedir in the list of all pagedirs (circular). */
  get next(): Pagedir {
    return this.#next;
  }
  /** Previous pagedir in the list of all pagedirs (circular). */
  get prev(): Pagedir {
    return this.#prev;
  }
  /** Set once destroyed; a destroyed pagedir is refused everywhere. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * The virtual page allocator of this address space's user half, from page 1
   * up to the split (page 0 stays unmapped to catch null pointers). Made on
   * first use. By default it is the sparse allocator, whose host memory grows
   * with the runs it holds (a buddy over a 3 GiB half would be about 8 MiB).
   */
  get vpa(): VirtualPageAllocator {
    this.vpaCache ??= this.makeVpa();
    return this.vpaCache;
  }

  /** Made by {@link createInitPagedir} and {@link Paging.createAddressSpace}. @internal */
  constructor(phys: number, virt: number, userPdes: number, makeVpa: () => VirtualPageAllocator) {
    this.phys = phys;
    this.virt = virt;
    this.#vpde = new Array<number | null>(userPdes).fill(null);
    this.makeVpa = makeVpa;
    this.#next = this;
    this.#prev = this;
  }
}

/** Options of {@link createInitPagedir}. */
export interface InitPagedirOptions {
  /** Where user page tables and page directories come from. Default: {@link kernelPageSource}. */
  readonly pageSource?: (paging: Paging) => PageSource;
  /** The mapMem implementation (the swap point of workbook exercise 6). Default: {@link hobbyMapMem}. */
  readonly mapMem?: MapMem;
}

/**
 * The default {@link PageSource}: a frame from ppalloc, a kernel page from
 * vpalloc, mapped with mapMem (the inverted `kvmalloc(1)`).
 */
export function kernelPageSource(paging: Paging): PageSource {
  const { allocators } = paging;
  return {
    name: "ppalloc + vpalloc",
    allocPage(): number | null {
      const frame = allocators.ppalloc(1, 1);
      if (frame === null) return null;
      const page = allocators.vpalloc(1, 1);
      if (page === null) {
        allocators.ppfree(frame.start, 1);
        return null;
      }
      if (!paging.mapMem(null, frame.start, page.start, 1, PTE.P | PTE.RW)) {
        allocators.ppfree(frame.start, 1);
        allocators.vpfree(page.start, 1);
        return null;
      }
      return page.start;
    },
    freePage(va: number): void {
      const phys = paging.kernelPhysOf(va);
      if (phys === null || va % PAGE_SIZE !== 0)
        throw new PagingError(
          PAGING_ERROR.BAD_ARGUMENT,
          `kernel page ${show(va)} is not a mapped kernel page`,
        );
      paging.mapMem(null, 0, va, 1, 0);
      allocators.ppfree(phys, 1);
      allocators.vpfree(va, 1);
    },
  };
}

/**
 * The paging state of a booted hobby kernel, and the hobby kernel's
 * {@link PagingDesign}. Make it with {@link createInitPagedir} (or
 * `startPaging`).
 */
export class Paging implements PagingDesign<Pagedir> {
  /** The design's name. */
  readonly name = "hobby";
  /** User mappings start at page 1: page 0 stays unmapped to catch null pointers. */
  readonly userStart = PAGE_SIZE;
  /** The machine it runs on. */
  declare readonly machine: Machine;
  /** The machine's MMU (all table accesses go through it). */
  declare readonly mmu: Mmu;
  /** ppalloc/vpalloc. */
  declare readonly allocators: PageAllocators;
  /** The user/kernel boundary. */
  declare readonly split: number;
  /** Number of user PDEs (split / 4 MiB; 768 by default). */
  declare readonly userPdes: number;
  readonly #kvpd: (number | null)[];
  /** For each kernel PDE (index r - userPdes): the kernel virtual address of its page table, or null (a frozen copy). */
  get kvpd(): readonly (number | null)[] {
    return Object.freeze(this.#kvpd.slice());
  }
  /** The first pagedir, built from the boot tables; the template of the kernel half. */
  declare readonly init: Pagedir;
  /** Where user page tables and directories come from. */
  declare readonly pageSource: PageSource;
  declare private currentPd: Pagedir;
  /** The mapMem implementation in use. */
  declare readonly mapper: MapMem;
  declare private readonly windowVa: number;
  declare private readonly windowPteVa: number;
  private windowFrame = -1;
  declare private readonly ramEnd: number;
  /** Every pagedir this paging made (destroyed ones too), to refuse anything else given as one. */
  private readonly owned = new WeakSet<Pagedir>();
  /** What the mapper is handed (see makeContext). */
  readonly #context: MapMemContext;

  /** Use {@link createInitPagedir}. @internal */
  constructor(
    machine: Machine,
    bootInfo: BootInfo,
    allocators: PageAllocators,
    options: InitPagedirOptions,
  ) {
    this.machine = machine;
    this.mmu = machine.mmu;
    this.allocators = allocators;
    this.split = bootInfo.split;
    this.userPdes = bootInfo.split >>> 22;
    this.ramEnd = machine.ram.installedBytes;
    const kernelPdes = ENTRIES_PER_TABLE - this.userPdes;
    this.#kvpd = new Array<number | null>(kernelPdes).fill(null);
    // The boot table maps [kernelLoad, mappedBytes) at split, so the boot frames have kernel addresses there.
    const bootVa = (phys: number) => this.split + phys - bootInfo.kernelLoad;
    const bootTableVa = bootVa(bootInfo.pageTable);
    this.#kvpd[0] = bootTableVa;
    this.windowVa = bootInfo.windowVa;
    this.windowPteVa = bootTableVa + 4 * pteIndex(bootInfo.windowVa);
    const makeVpa = () => allocators.vpcreate(PAGE_SIZE, this.split - PAGE_SIZE);
    this.init = new Pagedir(
      bootInfo.pageDirectory,
      bootVa(bootInfo.pageDirectory),
      this.userPdes,
      makeVpa,
    );
    this.owned.add(this.init);
    this.currentPd = this.init;
    // Remove the identity map: it sits in the would-be user half.
    this.mmu.write32(this.init.virt, 0);
    this.mmu.loadCr3(this.init.phys);
    this.mapper = options.mapMem ?? hobbyMapMem;
    this.#context = this.makeContext();
    this.pageSource = (options.pageSource ?? kernelPageSource)(this);
  }

  /** The address space loaded in CR3. */
  get current(): Pagedir {
    return this.currentPd;
  }

  /** Every live pagedir, starting with the first one. */
  pagedirs(): Pagedir[] {
    const out: Pagedir[] = [];
    let pd = this.init;
    do {
      out.push(pd);
      pd = pd.next;
    } while (pd !== this.init);
    return out;
  }

  // ------------------------------------------------------------------ mapMem

  /**
   * Map `nPages` pages from `virt` to the frames from `phys` with `flags`, or,
   * without PTE_PRESENT, unmap them. `pd` is ignored for kernel addresses.
   * Creates page tables on demand. Invalidates the TLB entry of every page
   * whose old mapping was present, when the change is visible to the current
   * address space (kernel pages always are). Returns false, changing no
   * mapping, when memory for a page table runs out: the user page tables made
   * for the call are given back, but kernel page tables made on the way stay
   * (empty, installed in every pagedir, one frame and at most one kernel page
   * each). That is deliberate, as in Linux and the hobby kernel, which never
   * free a kernel page table once made: every pagedir shares it, so freeing
   * it means clearing its PDE in every pagedir and flushing it from every
   * TLB, and the next kernel mapping in that 4 MiB would make it again. There
   * are at most `1024 - userPdes` of them. Bad input (a `pd` that is not one
   * of this paging's pagedirs, PTE_GLOBAL on a user address...) is a
   * {@link PagingError} and changes nothing.
   */
  mapMem(pd: Pagedir | null, phys: number, virt: number, nPages: number, flags: number): boolean {
    this.checkMap(pd, phys, virt, nPages, flags);
    return this.mapper.map(this.#context, pd, phys, virt, nPages, flags);
  }

  /** What the mapper is handed: a few operations, each checking what it is given. */
  private makeContext(): MapMemContext {
    const mmu = this.mmu;
    const userRegion = (pd: Pagedir, r: number) => {
      this.checkPagedir(pd);
      if (!Number.isSafeInteger(r) || r < 0 || r >= this.userPdes)
        throw new PagingError(
          PAGING_ERROR.BAD_ARGUMENT,
          `${describeValue(r)} is not a user region (0..${this.userPdes - 1})`,
        );
    };
    const allocators = this.allocators;
    const current = () => this.currentPd;
    return {
      mmu: {
        read32: (va) => mmu.read32(va, 0),
        write32: (va, value) => mmu.write32(va, value, 0),
        invlpg: (va) => mmu.invlpg(va),
      },
      split: this.split,
      userPdes: this.userPdes,
      get current() {
        return current();
      },
      pagedirs: () => this.pagedirs(),
      userTable: (pd, r) => {
        userRegion(pd, r);
        return readVpde(pd, r);
      },
      setUserTable: (pd, r, va) => {
        userRegion(pd, r);
        if (va !== null && this.kernelPhysOf(va) === null)
          throw new PagingError(
            PAGING_ERROR.BAD_ARGUMENT,
            `user table address ${show(va)} is not a mapped kernel page`,
          );
        setVpde(pd, r, va);
      },
      kernelTable: (r) => {
        this.checkKernelRegion(r, 0);
        return this.#kvpd[r - this.userPdes] ?? null;
      },
      setKernelTable: (r, va) => {
        this.checkKernelRegion(r, 0);
        if (this.kernelPhysOf(va) === null)
          throw new PagingError(
            PAGING_ERROR.BAD_ARGUMENT,
            `kernel table address ${show(va)} is not a mapped kernel page`,
          );
        this.#kvpd[r - this.userPdes] = va;
      },
      kernelTablePhys: (r) => this.kernelTablePhys(r),
      kernelPteVa: (r, index) => this.kernelPteVa(r, index),
      kernelPhysOf: (va) => this.kernelPhysOf(va),
      window: (phys) => this.window(phys),
      allocFrame: () => allocators.ppalloc(1, 1)?.start ?? null,
      freeFrame: (phys) => allocators.ppfree(phys, 1),
      allocKernelPage: () => allocators.vpalloc(1, 1)?.start ?? null,
      freeKernelPage: (va) => allocators.vpfree(va, 1),
      allocTablePage: () => this.pageSource.allocPage(),
      freeUserTable: (pd, r) => this.freeUserTable(pd, r),
      mapMem: (pd, phys, virt, nPages, flags) => this.mapMem(pd, phys, virt, nPages, flags),
    };
  }

  /**
   * Physical address of the kernel page table for PDE `r` (r >= userPdes), or
   * null when there is none. Read from the first pagedir, the kernel half's
   * template, through the MMU.
   */
  kernelTablePhys(r: number): number | null {
    this.checkKernelRegion(r, 0);
    const pde = this.mmu.read32(this.init.virt + 4 * r);
    return (pde & PDE.P) === 0 ? null : (pde & 0xffff_f000) >>> 0;
  }

  /**
   * The kernel virtual address through which PTE `index` of kernel region `r`
   * can be read or written now: in the table's own page (`kvpd`), or through
   * the window while it has none. Null if the region has no table.
   */
  kernelPteVa(r: number, index: number): number | null {
    this.checkKernelRegion(r, index);
    const table = this.#kvpd[r - this.userPdes];
    if (table !== null && table !== undefined) return table + 4 * index;
    const phys = this.kernelTablePhys(r);
    return phys === null ? null : this.window(phys) + 4 * index;
  }

  /**
   * Remove user page table r of `pd` (PDE cleared, vpde forgotten, page given
   * back to the page source). Only for a table no TLB can hold entries of:
   * one just made (out-of-memory rollback) or one of a pagedir not in CR3.
   */
  freeUserTable(pd: Pagedir, r: number): void {
    this.checkPagedirShape(pd);
    const va = Number.isSafeInteger(r) && r >= 0 && r < this.userPdes ? readVpde(pd, r) : null;
    if (va === null || va === undefined)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `user region ${describeValue(r)} of pagedir ${hex32(pd.phys)} has no page table`,
      );
    this.mmu.write32(pd.virt + 4 * r, 0);
    setVpde(pd, r, null);
    this.pageSource.freePage(va);
  }

  /**
   * Point the window page at frame `phys` and return the window's kernel
   * virtual address: how a page table that has no kernel address of its own
   * yet is read and written. Valid until the next call.
   */
  window(phys: number): number {
    if (!Number.isSafeInteger(phys) || phys < 0 || phys % PAGE_SIZE !== 0 || phys >= SPACE)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `window: ${show(phys)} is not the physical address of a frame`,
      );
    if (this.windowFrame !== phys) {
      this.mmu.write32(this.windowPteVa, phys | PTE.P | PTE.RW);
      this.mmu.invlpg(this.windowVa);
      this.windowFrame = phys;
    }
    return this.windowVa;
  }

  /** The physical address `va` maps to in the kernel half, or null. */
  kernelPhysOf(va: number): number | null {
    if (!Number.isSafeInteger(va) || va < this.split || va >= SPACE) return null;
    const pte = this.readKernelPte(pdeIndex(va), pteIndex(va));
    return pte === null || (pte & PTE.P) === 0 ? null : ((pte & 0xffff_f000) | (va & 0xfff)) >>> 0;
  }

  // ------------------------------------------------------- design interface

  /** The first pagedir: the kernel half's template (the design interface's reference directory). */
  get reference(): Pagedir {
    return this.init;
  }

  /** Every live pagedir, the first one first (the design interface's name for {@link Paging.pagedirs}). */
  addressSpaces(): Pagedir[] {
    return this.pagedirs();
  }

  /**
   * {@link Paging.mapMem} in the design interface's argument order, for
   * mappings only (PTE_PRESENT required; `space` is ignored for kernel addresses).
   */
  map(space: Pagedir | null, virt: number, phys: number, nPages: number, flags: number): boolean {
    if (!Number.isSafeInteger(flags) || (flags & PTE.P) === 0)
      throw new PagingError(
        PAGING_ERROR.BAD_FLAGS,
        `flags ${show(flags)} lack PTE_PRESENT: use unmap to remove mappings`,
      );
    return this.mapMem(space, phys, virt, nPages, flags);
  }

  /** Unmap `nPages` pages from `virt` in `space` (ignored for kernel addresses); the frames stay the caller's. */
  unmap(space: Pagedir | null, virt: number, nPages: number): void {
    this.mapMem(space, 0, virt, nPages, 0);
  }

  /** `n` consecutive frames from ppalloc, or null. */
  allocFrames(n: number): number | null {
    return this.allocators.ppalloc(n, n)?.start ?? null;
  }

  /** Give frames back to ppfree. */
  freeFrames(phys: number, n: number): void {
    this.allocators.ppfree(phys, n);
  }

  /** `nPages` kernel virtual pages from vpalloc, or null. */
  allocKernelRegion(nPages: number): number | null {
    return this.allocators.vpalloc(nPages, nPages)?.start ?? null;
  }

  /** Give kernel virtual pages back to vpfree. */
  freeKernelRegion(start: number, nPages: number): void {
    this.allocators.vpfree(start, nPages);
  }

  /** Read through the MMU; the hobby kernel has no fault handler, so a fault is thrown as it is. */
  read32(va: number, cpl: Cpl): number {
    this.checkCpl(cpl);
    return this.mmu.read32(va, cpl);
  }

  /** Write through the MMU; a fault is thrown as it is. */
  write32(va: number, value: number, cpl: Cpl): void {
    this.checkCpl(cpl);
    this.mmu.write32(va, value, cpl);
  }

  // ---------------------------------------------------------- address spaces

  /** A new address space: an empty user half and the shared kernel half. Null when out of memory. */
  createAddressSpace(): Pagedir | null {
    const virt = this.pageSource.allocPage();
    if (virt === null) return null;
    const phys = this.kernelPhysOf(virt);
    if (phys === null)
      throw new PagingError(
        PAGING_ERROR.BAD_CONFIG,
        `page source returned unmapped page ${hex32(virt)}`,
      );
    const makeVpa = () => this.allocators.vpcreate(PAGE_SIZE, this.split - PAGE_SIZE);
    for (let r = 0; r < ENTRIES_PER_TABLE; r++) {
      this.mmu.write32(
        virt + 4 * r,
        r < this.userPdes ? 0 : this.mmu.read32(this.init.virt + 4 * r),
      );
    }
    const pd = new Pagedir(phys, virt, this.userPdes, makeVpa);
    this.owned.add(pd);
    linkAfter(pd, this.init.prev);
    return pd;
  }

  /** Load `pd` into CR3. */
  switchTo(pd: Pagedir): void {
    this.checkPagedir(pd);
    this.mmu.loadCr3(pd.phys);
    this.currentPd = pd;
  }

  /**
   * Give every user page table and the directory of `pd` back. The frames its
   * pages mapped belong to whoever mapped them and are not freed.
   */
  destroyAddressSpace(pd: Pagedir): void {
    this.checkPagedir(pd);
    if (pd === this.init)
      throw new PagingError(
        PAGING_ERROR.INIT_PAGEDIR,
        `the first pagedir (${hex32(pd.phys)}) holds the kernel half's template`,
      );
    if (pd === this.currentPd)
      throw new PagingError(
        PAGING_ERROR.CURRENT,
        `pagedir ${hex32(pd.phys)} is loaded in CR3; switch away first`,
      );
    for (let r = 0; r < this.userPdes; r++) if (readVpde(pd, r) !== null) this.freeUserTable(pd, r);
    unlink(pd);
    this.pageSource.freePage(pd.virt);
  }

  // -------------------------------------------------------------- inspection

  /** Every mapping of `pd` (user half) and of the kernel half, coalesced into runs. */
  dump(pd: Pagedir = this.currentPd): MappedRange[] {
    this.checkPagedir(pd);
    const out: RunInProgress[] = [];
    for (let r = 0; r < ENTRIES_PER_TABLE; r++) {
      const kernel = r >= this.userPdes;
      if (kernel ? this.kernelTablePhys(r) === null : readVpde(pd, r) === null) continue;
      for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
        const pte = kernel ? this.readKernelPte(r, i)! : this.readUserPte(pd, r, i)!;
        if ((pte & PTE.P) === 0) continue;
        addRun(
          out,
          (r * ENTRIES_PER_TABLE + i) * PAGE_SIZE,
          (pte & 0xffff_f000) >>> 0,
          1,
          runFlags(pte),
        );
      }
    }
    return out;
  }

  /** {@link dump} as text, one line per run. */
  formatDump(pd: Pagedir = this.currentPd): string {
    const names = (f: number) =>
      [
        f & PTE.P ? "P" : "",
        f & PTE.RW ? "RW" : "RO",
        f & PTE.US ? "US" : "S",
        f & PTE.G ? "G" : "",
      ]
        .filter(Boolean)
        .join(" ");
    return this.dump(pd)
      .map(
        (m) =>
          `${hex32(m.virt)}-${hex32(m.virt + m.pages * PAGE_SIZE - 1)} -> ${hex32(m.phys)}  ${String(m.pages).padStart(6)} page(s)  ${names(m.flags)}`,
      )
      .join("\n");
  }

  /** What the page tables of `pd` say about `va` (read-only; the TLB may still hold something else). */
  translate(va: number, pd: Pagedir = this.currentPd): WalkExplanation {
    this.checkVa(va);
    this.checkPagedir(pd);
    return explainWalk(
      this.machine.ram,
      { cr0: this.mmu.cr0, cr3: pd.phys, cr4: this.mmu.cr4 },
      va,
    );
  }

  /** {@link translate} told as a person would, with the vpde/kvpd address of the table. */
  explain(va: number, pd: Pagedir = this.currentPd): string {
    this.checkVa(va);
    this.checkPagedir(pd);
    const w = this.translate(va, pd);
    const r = va >>> 22;
    const tableVa = r >= this.userPdes ? this.#kvpd[r - this.userPdes] : readVpde(pd, r);
    const where = r >= this.userPdes ? `kvpd[${r - this.userPdes}]` : `vpde[${r}]`;
    return `${formatWalk(w)}\n${where} = ${tableVa === null || tableVa === undefined ? "none" : hex32(tableVa)} (the table's kernel virtual address)`;
  }

  /**
   * Read `va` through the MMU in `pd`, as user or kernel; switches CR3 if
   * needed and back. For tests and tools. Every argument is checked before
   * CR3 is touched: a refused probe must not flush the TLB it is probing.
   */
  probe(va: number, cpl: Cpl, pd: Pagedir = this.currentPd): number {
    this.checkVa(va);
    this.checkCpl(cpl);
    this.checkPagedir(pd);
    const saved = this.currentPd;
    if (pd !== saved) this.switchTo(pd);
    try {
      return this.mmu.read32(va, cpl);
    } finally {
      if (pd !== saved) this.switchTo(saved);
    }
  }

  // --------------------------------------------------------------- internals

  /** `pd` must be a pagedir this paging made, and not destroyed. */
  private checkPagedir(pd: Pagedir): void {
    this.checkPagedirShape(pd);
    this.checkLive(pd);
  }

  /** `pd` must be a pagedir this paging made (destroyed or not). */
  private checkPagedirShape(pd: Pagedir): void {
    if (!(pd instanceof Pagedir) || !this.owned.has(pd))
      throw new PagingError(
        PAGING_ERROR.NOT_PAGEDIR,
        `${describeValue(pd)} is not a pagedir of this paging`,
      );
  }

  /** A privilege level the design interface takes: 0 or 3, given explicitly. */
  private checkCpl(cpl: Cpl): void {
    if (cpl !== 0 && cpl !== 3)
      throw new PagingError(PAGING_ERROR.BAD_ARGUMENT, `CPL ${describeValue(cpl)} is not 0 or 3`);
  }

  private checkVa(va: number): void {
    if (!Number.isSafeInteger(va) || va < 0 || va >= SPACE)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `virtual address ${show(va)} is not inside 4 GiB`,
      );
  }

  /** `r` a kernel region (userPdes..1023) and `index` a PTE index (0..1023). */
  private checkKernelRegion(r: number, index: number): void {
    if (!Number.isSafeInteger(r) || r < this.userPdes || r > 1023)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `${describeValue(r)} is not a kernel region (${this.userPdes}..1023)`,
      );
    if (!Number.isSafeInteger(index) || index < 0 || index > 1023)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `${describeValue(index)} is not a page-table index (0..1023)`,
      );
  }

  private checkLive(pd: Pagedir): void {
    if (pd.destroyed)
      throw new PagingError(PAGING_ERROR.DESTROYED, `pagedir ${hex32(pd.phys)} was destroyed`);
  }

  private checkMap(
    pd: Pagedir | null,
    phys: number,
    virt: number,
    nPages: number,
    flags: number,
  ): void {
    // null for kernel addresses (undefined is taken as null); anything else must be one of ours.
    if (pd !== null && pd !== undefined) this.checkPagedirShape(pd);
    const { kernel, present } = checkMapArgs(this.split, phys, virt, nPages, flags);
    if (present && phys + nPages * PAGE_SIZE > this.ramEnd) {
      throw new PagingError(
        PAGING_ERROR.PAST_RAM,
        `physical [${hex32(phys)}, +${nPages} pages) runs past the end of RAM at ${hex32(this.ramEnd)}`,
      );
    }
    if (!kernel) {
      if (pd === null || pd === undefined)
        throw new PagingError(
          PAGING_ERROR.NO_PAGEDIR,
          `user address ${hex32(virt)} needs a pagedir`,
        );
      this.checkLive(pd);
    }
  }

  private readUserPte(pd: Pagedir, r: number, index: number): number | null {
    const table = readVpde(pd, r);
    return table === null ? null : this.mmu.read32(table + 4 * index);
  }

  private readKernelPte(r: number, index: number): number | null {
    const va = this.kernelPteVa(r, index);
    return va === null ? null : this.mmu.read32(va);
  }
}

/**
 * Refuse swap points of the wrong shape (E_BAD_CONFIG naming the option)
 * before anything is built: a mapMem without a `map` method would otherwise
 * be accepted and fail with a bare TypeError on the first mapping, long after
 * paging was turned on. Only undefined means "the default".
 */
export function checkInitPagedirOptions(options: InitPagedirOptions): void {
  const bad = (what: string, v: unknown): never => {
    throw new PagingError(PAGING_ERROR.BAD_CONFIG, `${what} ${describeValue(v)} is not usable`);
  };
  if (typeof options !== "object" || options === null) bad("paging options", options);
  const { mapMem, pageSource } = options;
  if (
    mapMem !== undefined &&
    (typeof mapMem !== "object" ||
      mapMem === null ||
      // An array has a map method too (Array.prototype.map), but not this one.
      Array.isArray(mapMem) ||
      typeof (mapMem as { map?: unknown }).map !== "function")
  )
    bad("mapMem (an object with a map method)", mapMem);
  if (pageSource !== undefined && typeof pageSource !== "function")
    bad("pageSource (a function of the paging)", pageSource);
}

/**
 * Build the first pagedir from the boot tables: record the boot kernel page
 * table in kvpd, remove the identity map from the user half (touching a low
 * address now faults) and flush it from the TLB.
 */
export function createInitPagedir(
  machine: Machine,
  bootInfo: BootInfo,
  allocators: PageAllocators,
  options: InitPagedirOptions = {},
): Paging {
  checkMachine(machine);
  if (typeof bootInfo !== "object" || bootInfo === null)
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `boot info ${describeValue(bootInfo)} is not what boot returned`,
    );
  checkSplit(bootInfo.split);
  checkInitPagedirOptions(options);
  return new Paging(machine, bootInfo, allocators, options);
}
