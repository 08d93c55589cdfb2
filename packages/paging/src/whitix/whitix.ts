/**
 * Whitix's virtual memory manager (seed: Whitix virt.c) on the simulated
 * i386: the recursive page directory, page tables on demand, a kernel half
 * kept equal in every address space, and VirtAllocateTemp to reach the
 * tables of an address space that is not loaded.
 *
 * ```
 *  the current address space, as the kernel sees its own tables:
 *
 *  CR3 -> directory D:  PDE r    -> page table T_r
 *                       PDE 1023 -> D itself
 *
 *  va = 0xFFC00000 + r*4096 + i*4:  PDE 1023 -> D (used as a table), PTE r of "D" = PDE r -> T_r
 *                                   so the access lands on entry i of T_r: the PTE of (r << 22 | i << 12)
 *  va = 0xFFFFF000 + r*4:           PDE 1023 -> D, PTE 1023 of "D" -> D again: PDE r itself
 * ```
 *
 * After VirtMemManagerInit turns paging on, every page-table and directory
 * access below goes through the MMU at CPL 0: through the window for the
 * current address space (and for the kernel half, which every space shares),
 * and through a VirtAllocateTemp slot for another space's directory or user
 * tables. There is no vpde, no kvpd and no other table bookkeeping: the
 * tables are the only record of what is mapped.
 *
 * @module
 */
import { createPageAllocators, describeValue, type PageAllocators } from "@mm386/allocation";
import {
  CR0,
  type Cpl,
  ENTRIES_PER_TABLE,
  LARGE_PAGE_SIZE,
  explainWalk,
  formatWalk,
  hex32,
  type Machine,
  type Mmu,
  PAGE_SIZE,
  PDE,
  PTE,
  pdeIndex,
  pteIndex,
  type WalkExplanation,
} from "@mm386/hw-i386";
import { type MappedRange, PAGING_ERROR, PagingError } from "../api.js";
import { checkMapArgs } from "../map-args.js";
import { checkMachine } from "../boot.js";
import type { PagingDesign } from "../design.js";
import { type RunInProgress, addRun, runFlags } from "../runs.js";
import {
  show,
  WHITIX,
  WHITIX_ERROR,
  WhitixError,
  type WhitixOptions,
  type WhitixPageSource,
} from "./api.js";
import { RegionSet } from "./regions.js";

const SPACE = 2 ** 32;
const FRAME = 0xffff_f000;
const SPLIT = 0xc000_0000;
const USER_PDES = SPLIT >>> 22; // 768
const KERNEL_END = WHITIX.TEMP_BASE; // kernel mappings go below the temp slots
const TEMP_PDE = WHITIX.TEMP_BASE >>> 22; // 1022

/** The PTE of `va` seen through the recursive window. */
export function windowPteVa(va: number): number {
  return WHITIX.WINDOW + (va >>> 12) * 4;
}

/** The PDE of `va` seen through the directory's own page at 0xFFFFF000. */
export function windowPdeVa(va: number): number {
  return WHITIX.DIRECTORY + (va >>> 22) * 4;
}

/** Page table `r` of the current address space, seen through the window. */
export function windowTableVa(r: number): number {
  return WHITIX.WINDOW + r * PAGE_SIZE;
}

/** One Whitix address space: a directory whose PDE 1023 points at itself. */
export class WhitixSpace {
  /** Physical address of its directory: what CR3 holds while it is current. */
  declare readonly cr3: number;
  /** Set once destroyed; a destroyed space is refused everywhere. */
  get destroyed(): boolean {
    return this.dead;
  }
  private dead = false;

  /** Made by {@link VirtMemManagerInit} and {@link Whitix.createAddressSpace}. @internal */
  constructor(cr3: number) {
    this.cr3 = cr3;
  }

  /** Mark destroyed (only its Whitix calls this). @internal */
  kill(): void {
    this.dead = true;
  }
}

/** A page table made during one call, to give back if the call cannot finish. */
interface MadeTable {
  readonly r: number;
  readonly frame: number;
  /** The user space it was made in; null for a kernel table (installed everywhere). */
  readonly space: WhitixSpace | null;
}

/**
 * A booted Whitix kernel's virtual memory manager, and Whitix's
 * {@link PagingDesign}. Make it with {@link VirtMemManagerInit}.
 */
export class Whitix implements PagingDesign<WhitixSpace> {
  /** The design's name. */
  readonly name = "whitix";
  /** The machine it runs on. */
  declare readonly machine: Machine;
  /** The machine's MMU: every table access goes through it. */
  declare readonly mmu: Mmu;
  /** The user/kernel boundary (fixed in Whitix). */
  readonly split = SPLIT;
  /** User mappings start above the identity map of the first 8 MiB. */
  readonly userStart = WHITIX.IDENTITY_END;
  /** The physical page allocator (only `physical` is used: kernel virtual memory is found in the PTEs). */
  declare readonly allocators: PageAllocators;
  /** The kernel directory VirtMemManagerInit built: the master copy of the kernel half. */
  declare readonly reference: WhitixSpace;
  /** Kernel code `[start, end)`, mapped read-only. */
  declare readonly kernelCode: {
    /** First byte of the code (0x00100000). */
    readonly start: number;
    /** First byte after the code, where the data starts. */
    readonly end: number;
  };
  declare private cur: WhitixSpace;
  declare private readonly spaces: WhitixSpace[];
  private readonly owned = new WeakSet<WhitixSpace>();
  /** Physical frame held by each temp slot, or -1. */
  private readonly temp: number[] = new Array<number>(WHITIX.TEMP_SLOTS).fill(-1);
  /** Kernel regions reserved by allocKernelRegion (pages maybe not mapped yet). */
  private readonly regions = new RegionSet();
  declare private readonly ramEnd: number;

  /** Use {@link VirtMemManagerInit}. @internal */
  constructor(
    machine: Machine,
    allocators: PageAllocators,
    directory: number,
    kernelCode: { start: number; end: number },
  ) {
    this.machine = machine;
    this.mmu = machine.mmu;
    this.allocators = allocators;
    this.kernelCode = kernelCode;
    this.ramEnd = machine.ram.installedBytes;
    this.reference = new WhitixSpace(directory);
    this.owned.add(this.reference);
    this.spaces = [this.reference];
    this.cur = this.reference;
  }

  /** The address space loaded in CR3. */
  get current(): WhitixSpace {
    return this.cur;
  }

  /** Every live address space, the kernel directory first. */
  addressSpaces(): WhitixSpace[] {
    return [...this.spaces];
  }

  // ------------------------------------------------------ VirtAllocateTemp

  /**
   * Map frame `phys` at a temporary kernel address and return it: the seed's
   * way to reach a directory or table of an address space that is not
   * current (the window shows only the current one). One PTE write through
   * the window and one invlpg; {@link Whitix.VirtFreeTemp} undoes it. Null
   * when every slot an outside caller may hold is in use (two of the four
   * are kept for the kernel's own edits).
   */
  VirtAllocateTemp(phys: number): number | null {
    this.checkFrame(phys, "VirtAllocateTemp");
    const held = this.temp.filter((f) => f !== -1).length;
    if (held >= WHITIX.TEMP_SLOTS - WHITIX.TEMP_KEPT) return null;
    return this.allocTemp(phys);
  }

  /** Undo {@link Whitix.VirtAllocateTemp}: clear the slot's PTE and invlpg it. */
  VirtFreeTemp(va: number): void {
    const slot = Number.isSafeInteger(va) ? (va - WHITIX.TEMP_BASE) / PAGE_SIZE : -1;
    if (!Number.isInteger(slot) || slot < 0 || slot >= WHITIX.TEMP_SLOTS || this.temp[slot] === -1)
      throw new WhitixError(WHITIX_ERROR.NOT_TEMP, `${show(va)} is not a temporary mapping in use`);
    this.freeTemp(va);
  }

  private allocTemp(phys: number): number {
    const slot = this.temp.indexOf(-1);
    // Internal edits hold at most two slots and callers at most two: never full here.
    const va = WHITIX.TEMP_BASE + slot * PAGE_SIZE;
    this.temp[slot] = phys;
    this.mmu.write32(windowPteVa(va), phys | PTE.P | PTE.RW);
    this.mmu.invlpg(va);
    return va;
  }

  private freeTemp(va: number): void {
    this.temp[(va - WHITIX.TEMP_BASE) / PAGE_SIZE] = -1;
    this.mmu.write32(windowPteVa(va), 0);
    this.mmu.invlpg(va);
  }

  /** Run `f` with the directory of `space` mapped: the window for the current one, a temp slot otherwise. */
  private withDir<T>(space: WhitixSpace, f: (dirVa: number) => T): T {
    if (space === this.cur) return f(WHITIX.DIRECTORY);
    const va = this.allocTemp(space.cr3);
    try {
      return f(va);
    } finally {
      this.freeTemp(va);
    }
  }

  /**
   * Run `f` with table `r` of `space` mapped (its PDE, read at `dirVa`, must
   * be present). Shared tables (identity, kernel) and the current space's
   * are read through the window; another space's user table through a temp slot.
   */
  private withTable<T>(space: WhitixSpace, dirVa: number, r: number, f: (tableVa: number) => T): T {
    if (space === this.cur || r < WHITIX.IDENTITY_PDES || r >= USER_PDES)
      return f(windowTableVa(r));
    const va = this.allocTemp((this.mmu.read32(dirVa + 4 * r) & FRAME) >>> 0);
    try {
      return f(va);
    } finally {
      this.freeTemp(va);
    }
  }

  // ------------------------------------------------------------ page tables

  /** Zero the 1024 entries of a table (or directory) mapped at `va`. */
  private zero(va: number): void {
    for (let i = 0; i < ENTRIES_PER_TABLE; i++) this.mmu.write32(va + 4 * i, 0);
  }

  /**
   * A new, zeroed user page table for region r of `space`; null when out of
   * frames. In the current space: the PDE through 0xFFFFF000, invlpg of the
   * window page that now shows the table, then zeroed through it.
   */
  private makeUserTable(space: WhitixSpace, r: number): MadeTable | null {
    const frame = this.allocators.ppalloc(1, 1)?.start;
    if (frame === undefined) return null;
    if (space === this.cur) {
      this.mmu.write32(WHITIX.DIRECTORY + 4 * r, frame | PDE.P | PDE.RW | PDE.US);
      this.mmu.invlpg(windowTableVa(r));
      this.zero(windowTableVa(r));
    } else {
      // Zero first, then publish: the PDE never points at a table of garbage.
      const t = this.allocTemp(frame);
      this.zero(t);
      this.freeTemp(t);
      this.withDir(space, (d) => this.mmu.write32(d + 4 * r, frame | PDE.P | PDE.RW | PDE.US));
    }
    return { r, frame, space };
  }

  /** A new, zeroed kernel page table for region r, installed in every address space; null when out of frames. */
  private makeKernelTable(r: number): MadeTable | null {
    const frame = this.allocators.ppalloc(1, 1)?.start;
    if (frame === undefined) return null;
    this.mmu.write32(WHITIX.DIRECTORY + 4 * r, frame | PDE.P | PDE.RW);
    this.mmu.invlpg(windowTableVa(r));
    this.zero(windowTableVa(r));
    for (const s of this.spaces)
      if (s !== this.cur)
        this.withDir(s, (d) => this.mmu.write32(d + 4 * r, frame | PDE.P | PDE.RW));
    return { r, frame, space: null };
  }

  /** Take back tables made by a call that cannot finish (nothing was mapped through them). */
  private unmake(made: readonly MadeTable[]): void {
    for (const t of [...made].reverse()) {
      for (const s of t.space === null ? this.spaces : [t.space]) {
        this.withDir(s, (d) => this.mmu.write32(d + 4 * t.r, 0));
        if (s === this.cur) this.mmu.invlpg(windowTableVa(t.r));
      }
      this.allocators.ppfree(t.frame, 1);
    }
  }

  /**
   * Make the missing tables of `[virt, virt + n pages)` in `space` (kernel:
   * null); false, with none kept, when out of frames. The PDEs are read
   * through 0xFFFFF000 for the current space and the kernel half, through a
   * temp slot for another space.
   */
  private makeTables(space: WhitixSpace | null, virt: number, n: number): boolean {
    const target = space ?? this.cur;
    const first = virt >>> 22;
    const last = (virt + (n - 1) * PAGE_SIZE) >>> 22;
    const missing: number[] = [];
    const d = target === this.cur ? WHITIX.DIRECTORY : this.allocTemp(target.cr3);
    for (let r = first; r <= last; r++)
      if ((this.mmu.read32(d + 4 * r) & PDE.P) === 0) missing.push(r);
    if (d !== WHITIX.DIRECTORY) this.freeTemp(d);
    const made: MadeTable[] = [];
    for (const r of missing) {
      const t = space === null ? this.makeKernelTable(r) : this.makeUserTable(space, r);
      if (t === null) {
        this.unmake(made);
        return false;
      }
      made.push(t);
    }
    return true;
  }

  /**
   * Write the PTEs of `[virt, virt + n pages)` in `space` (kernel: null):
   * page i gets `frames[i] | flags` (or `phys + i * 4096 | flags` when
   * `frames` is null), or 0 when `flags` is 0 (unmap). Pages whose table is
   * missing are skipped. In the kernel half or the current space the PTEs are
   * reached through the window and every page whose old entry was present is
   * invlpg'd; another space's tables through temp slots, with no invlpg (its
   * translations cannot be in the TLB: the switch to it loads CR3).
   */
  private writePtes(
    space: WhitixSpace | null,
    virt: number,
    n: number,
    frames: readonly number[] | null,
    phys: number,
    flags: number,
  ): void {
    const target = space ?? this.cur;
    const mmu = this.mmu;
    // The current space (and the kernel half) through the window, with no
    // temp mapping: the common case, kept free of closures.
    const current = target === this.cur;
    const d = current ? WHITIX.DIRECTORY : this.allocTemp(target.cr3);
    try {
      let i = 0;
      while (i < n) {
        const va = virt + i * PAGE_SIZE;
        const r = va >>> 22;
        const index = pteIndex(va);
        const inTable = Math.min(n - i, ENTRIES_PER_TABLE - index);
        if ((mmu.read32(d + 4 * r) & PDE.P) !== 0) {
          const shared = r < WHITIX.IDENTITY_PDES || r >= USER_PDES;
          const t =
            current || shared
              ? windowTableVa(r)
              : this.allocTemp((mmu.read32(d + 4 * r) & FRAME) >>> 0);
          for (let k = 0; k < inTable; k++) {
            const at = t + 4 * (index + k);
            const old = mmu.read32(at);
            const j = i + k;
            mmu.write32(
              at,
              flags === 0 ? 0 : (frames === null ? phys + j * PAGE_SIZE : frames[j]!) | flags,
            );
            if (current && (old & PTE.P) !== 0) mmu.invlpg(va + k * PAGE_SIZE);
          }
          if (t !== windowTableVa(r)) this.freeTemp(t);
        }
        i += inTable;
      }
    } finally {
      if (!current) this.freeTemp(d);
    }
  }

  // ------------------------------------------------------ Whitix's own calls

  /**
   * Map `va` to frame `pa` with PTE `flags` in the current address space (the
   * kernel half: in all of them). The page table is made on demand, zeroed
   * through the window; a new kernel table goes into every address space;
   * invlpg after each change. False, with nothing changed, when there is no
   * frame for the page table.
   */
  VirtMemMapPage(va: number, pa: number, flags: number): boolean {
    this.checkMap(va, pa, 1, flags, "VirtMemMapPage");
    return this.mapChecked(va >= SPLIT ? null : this.cur, va, 1, null, pa, flags);
  }

  /**
   * Take a fresh frame from the physical page allocator and map it at `va`
   * in the current address space with `flags`: the frame's physical
   * address, or null (nothing kept) when there is no frame for it or for its
   * page table.
   */
  VirtMapPhysPage(va: number, flags: number): number | null {
    this.checkMap(va, 0, 1, flags, "VirtMapPhysPage");
    const frame = this.allocators.ppalloc(1, 1)?.start;
    if (frame === undefined) return null;
    if (!this.mapChecked(va >= SPLIT ? null : this.cur, va, 1, null, frame, flags)) {
      this.allocators.ppfree(frame, 1);
      return null;
    }
    return frame;
  }

  /**
   * Unmap `va` in the current address space (clear its PTE through the
   * window, invlpg) and give its frame back to the physical page allocator:
   * the undo of {@link Whitix.VirtMapPhysPage}. E_NOT_MAPPED if nothing is
   * mapped there; the allocator's E_NOT_ALLOCATED (nothing changed) if the
   * frame was not one it handed out.
   */
  VirtUnmapPhysPage(va: number): void {
    this.checkVirt(va, 1, "VirtUnmapPhysPage");
    const pte = this.currentPte(va);
    if (pte === null || (pte & PTE.P) === 0)
      throw new WhitixError(
        WHITIX_ERROR.NOT_MAPPED,
        `VirtUnmapPhysPage: ${hex32(va)} is not mapped`,
      );
    // Free first: if the allocator refuses, the mapping is still whole.
    this.allocators.ppfree((pte & FRAME) >>> 0, 1);
    this.mmu.write32(windowPteVa(va), 0);
    this.mmu.invlpg(va);
  }

  /**
   * Find `n` consecutive free PTEs in `[start, end)` of the current address
   * space (a PTE is free when it is not present and not in a region
   * allocKernelRegion reserved; a missing page table is 1024 free PTEs), map
   * each to a fresh frame with `flags`, and return the first address; or
   * null, with nothing mapped and no frame or page table kept, when there
   * is no such run or not enough frames. The scan reads the PTEs through the
   * window, first fit from `start`.
   */
  VirtMapPhysRange(start: number, end: number, n: number, flags: number): number | null {
    this.checkRange(start, end, n, flags, "VirtMapPhysRange");
    const at = this.findFree(start, end, n);
    if (at === null) return null;
    const frames: number[] = [];
    for (let i = 0; i < n; i++) {
      const f = this.allocators.ppalloc(1, 1)?.start;
      if (f === undefined) {
        for (const g of frames) this.allocators.ppfree(g, 1);
        return null;
      }
      frames.push(f);
    }
    if (!this.mapChecked(at >= SPLIT ? null : this.cur, at, n, frames, 0, flags)) {
      for (const g of frames) this.allocators.ppfree(g, 1);
      return null;
    }
    return at;
  }

  /** Load `space` into CR3: from now on the window shows its tables. */
  VirtSetCurrent(space: WhitixSpace): void {
    this.checkSpace(space);
    this.mmu.loadCr3(space.cr3);
    this.cur = space;
  }

  // ------------------------------------------------------- design interface

  /**
   * Map `nPages` pages from `virt` to the frames from `phys`: user addresses
   * in `space` (current or not), kernel addresses (`space` null, or any of
   * this design's spaces, ignored) in every space. All or nothing.
   */
  map(
    space: WhitixSpace | null,
    virt: number,
    phys: number,
    nPages: number,
    flags: number,
  ): boolean {
    this.checkMap(virt, phys, nPages, flags, "map");
    const target = this.targetOf(space, virt);
    return this.mapChecked(target, virt, nPages, null, phys, flags);
  }

  /** Unmap `nPages` pages from `virt` (pages not mapped are skipped); the frames stay the caller's. */
  unmap(space: WhitixSpace | null, virt: number, nPages: number): void {
    this.checkVirt(virt, nPages, "unmap");
    const target = this.targetOf(space, virt);
    this.writePtes(target, virt, nPages, null, 0, 0);
  }

  /** `n` consecutive frames from the physical page allocator, or null. */
  allocFrames(n: number): number | null {
    this.checkCount(n, "allocFrames");
    return this.allocators.ppalloc(n, n)?.start ?? null;
  }

  /** Give frames back to the physical page allocator. */
  freeFrames(phys: number, n: number): void {
    this.allocators.ppfree(phys, n);
  }

  /**
   * Reserve `nPages` consecutive free kernel pages in 0xC0000000-0xD0000000
   * (the same first-fit PTE scan as VirtMapPhysRange) for `map(null, ...)`;
   * null when there is no such run.
   */
  allocKernelRegion(nPages: number): number | null {
    this.checkCount(nPages, "allocKernelRegion");
    const at = this.findFree(WHITIX.HEAP_START, WHITIX.HEAP_END, nPages);
    if (at !== null) this.regions.add(at, at + nPages * PAGE_SIZE);
    return at;
  }

  /** Give back (part of) a region allocKernelRegion reserved; its pages must be unmapped. */
  freeKernelRegion(start: number, nPages: number): void {
    this.checkVirt(start, nPages, "freeKernelRegion");
    const end = start + nPages * PAGE_SIZE;
    if (!this.regions.covers(start, end))
      throw new WhitixError(
        WHITIX_ERROR.NOT_REGION,
        `[${hex32(start)}, ${hex32(end)}) is not a kernel region allocKernelRegion handed out`,
      );
    for (let va = start; va < end; va += PAGE_SIZE) {
      const pte = this.currentPte(va);
      if (pte !== null && (pte & PTE.P) !== 0)
        throw new WhitixError(
          WHITIX_ERROR.STILL_MAPPED,
          `kernel page ${hex32(va)} of [${hex32(start)}, ${hex32(end)}) is still mapped`,
        );
    }
    this.regions.remove(start, end);
  }

  /** The same as {@link Whitix.VirtSetCurrent}. */
  switchTo(space: WhitixSpace): void {
    this.VirtSetCurrent(space);
  }

  /**
   * A new address space: a zeroed directory (reached through a temp slot)
   * with the identity PDEs, the shared kernel PDEs copied from the current
   * directory, and PDE 1023 pointing at itself. Null when out of frames.
   */
  createAddressSpace(): WhitixSpace | null {
    const frame = this.allocators.ppalloc(1, 1)?.start;
    if (frame === undefined) return null;
    const d = this.allocTemp(frame);
    try {
      this.zero(d);
      this.mmu.copyWords(d, WHITIX.DIRECTORY, WHITIX.IDENTITY_PDES);
      this.mmu.copyWords(
        d + 4 * USER_PDES,
        WHITIX.DIRECTORY + 4 * USER_PDES,
        WHITIX.SELF_PDE - USER_PDES,
      );
      this.mmu.write32(d + 4 * WHITIX.SELF_PDE, frame | PDE.P | PDE.RW);
    } finally {
      this.freeTemp(d);
    }
    const s = new WhitixSpace(frame);
    this.owned.add(s);
    this.spaces.push(s);
    return s;
  }

  /**
   * Give back the user page tables and the directory of `space` (read
   * through a temp slot). The identity and kernel tables are shared and
   * stay; the frames its pages mapped stay whoever's they were.
   */
  destroyAddressSpace(space: WhitixSpace): void {
    this.checkSpace(space);
    if (space === this.reference)
      throw new PagingError(
        PAGING_ERROR.INIT_PAGEDIR,
        `the kernel directory (${hex32(space.cr3)}) holds the kernel half's master copy`,
      );
    if (space === this.cur)
      throw new PagingError(
        PAGING_ERROR.CURRENT,
        `address space ${hex32(space.cr3)} is loaded in CR3; switch away first`,
      );
    const tables = this.withDir(space, (d) => {
      const out: number[] = [];
      for (let r = WHITIX.IDENTITY_PDES; r < USER_PDES; r++) {
        const pde = this.mmu.read32(d + 4 * r);
        if ((pde & PDE.P) !== 0) out.push((pde & FRAME) >>> 0);
      }
      return out;
    });
    for (const t of tables) this.allocators.ppfree(t, 1);
    this.allocators.ppfree(space.cr3, 1);
    this.spaces.splice(this.spaces.indexOf(space), 1);
    space.kill();
  }

  /** Read through the MMU; Whitix resolves no faults here, so a fault is thrown as it is. */
  read32(va: number, cpl: Cpl): number {
    return this.mmu.read32(va, cpl);
  }

  /** Write through the MMU; a fault (the read-only kernel code: error code 3) is thrown as it is. */
  write32(va: number, value: number, cpl: Cpl): void {
    this.mmu.write32(va, value, cpl);
  }

  // -------------------------------------------------------------- inspection

  /** What the page tables of `space` (default: current) say about `va`; read physically, changes nothing. */
  translate(va: number, space: WhitixSpace = this.cur): WalkExplanation {
    this.checkVa(va);
    this.checkSpace(space);
    return explainWalk(
      this.machine.ram,
      { cr0: this.mmu.cr0, cr3: space.cr3, cr4: this.mmu.cr4 },
      va,
    );
  }

  /**
   * Every mapping of `space` (default: current) as coalesced runs, from
   * address 0 up: the identity map, the user half, the kernel half. The
   * recursive window is left out. Read through the MMU: the window for the
   * current space and the shared tables, temp slots for another space.
   */
  dump(space: WhitixSpace = this.cur): MappedRange[] {
    this.checkSpace(space);
    const out: RunInProgress[] = [];
    this.withDir(space, (d) => {
      for (let r = 0; r < WHITIX.SELF_PDE; r++) {
        if ((this.mmu.read32(d + 4 * r) & PDE.P) === 0) continue;
        this.withTable(space, d, r, (t) => {
          for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
            const pte = this.mmu.read32(t + 4 * i);
            if ((pte & PTE.P) === 0) continue;
            const virt = (r * ENTRIES_PER_TABLE + i) * PAGE_SIZE;
            // The temp slots are transient (this very dump may hold one), like the window not memory.
            if (virt >= WHITIX.TEMP_BASE) break;
            addRun(out, virt, (pte & FRAME) >>> 0, 1, runFlags(pte));
          }
        });
      }
    });
    return out;
  }

  /** {@link Whitix.translate} told as a person would, with where Whitix itself reads the PDE and PTE. */
  explain(va: number, space: WhitixSpace = this.cur): string {
    const w = this.translate(va, space);
    const r = va >>> 22;
    const shared = r < WHITIX.IDENTITY_PDES || r >= USER_PDES;
    const how =
      space === this.cur
        ? `Whitix reads this PDE at ${hex32(windowPdeVa(va))} and the PTE at ${hex32(windowPteVa(va))} (the recursive window of the current space)`
        : shared
          ? `a shared table: Whitix reads the PTE at ${hex32(windowPteVa(va))} in any space; the PDE of this space through VirtAllocateTemp of its directory ${hex32(space.cr3)}`
          : `not the current space: Whitix reaches its directory ${hex32(space.cr3)} and this table through VirtAllocateTemp`;
    return `${formatWalk(w)}\n${how}`;
  }

  /**
   * Read `va` through the MMU in `space`, as user or kernel; switches CR3 if
   * needed and back. For tests and tools.
   */
  probe(va: number, cpl: Cpl, space: WhitixSpace = this.cur): number {
    this.checkVa(va);
    if (cpl !== 0 && cpl !== 3)
      throw new PagingError(PAGING_ERROR.BAD_ARGUMENT, `CPL ${describeValue(cpl)} is not 0 or 3`);
    this.checkSpace(space);
    const saved = this.cur;
    if (space !== saved) this.VirtSetCurrent(space);
    try {
      return this.mmu.read32(va, cpl);
    } finally {
      if (space !== saved) this.VirtSetCurrent(saved);
    }
  }

  /** The kernel regions allocKernelRegion reserved and that are not given back, as `[start, end)`. */
  kernelRegions(): [number, number][] {
    return this.regions.intervals();
  }

  // --------------------------------------------------------------- internals

  /** Map checked arguments: tables first (all or nothing), then the PTEs. */
  private mapChecked(
    space: WhitixSpace | null,
    virt: number,
    n: number,
    frames: readonly number[] | null,
    phys: number,
    flags: number,
  ): boolean {
    if (!this.makeTables(space, virt, n)) return false;
    this.writePtes(space, virt, n, frames, phys, flags);
    return true;
  }

  /** The PTE of `va` in the current space through the window, or null when its table is missing. */
  private currentPte(va: number): number | null {
    if ((this.mmu.read32(windowPdeVa(va)) & PDE.P) === 0) return null;
    return this.mmu.read32(windowPteVa(va));
  }

  /**
   * First fit: the first `n` consecutive free PTEs in `[start, end)` of the
   * current space. A missing table counts as 1024 free PTEs without reading
   * any; a reserved region is skipped whole.
   */
  private findFree(start: number, end: number, n: number): number | null {
    let run = start;
    let len = 0;
    let va = start;
    while (va < end) {
      const reserved = this.regions.atOrAfter(va);
      if (reserved !== null && reserved[0] <= va) {
        va = reserved[1];
        run = va;
        len = 0;
        continue;
      }
      const stop = Math.min(end, reserved?.[0] ?? end);
      if ((this.mmu.read32(windowPdeVa(va)) & PDE.P) === 0) {
        const tableEnd = Math.min(stop, (pdeIndex(va) + 1) * LARGE_PAGE_SIZE);
        const free = (tableEnd - va) / PAGE_SIZE;
        if (len + free >= n) return run;
        len += free;
        va = tableEnd;
        continue;
      }
      if ((this.mmu.read32(windowPteVa(va)) & PTE.P) === 0) {
        if (++len >= n) return run;
      } else {
        run = va + PAGE_SIZE;
        len = 0;
      }
      va += PAGE_SIZE;
    }
    return null;
  }

  /** The space a user range is mapped in; null for a kernel range (space must then be null or one of ours). */
  private targetOf(space: WhitixSpace | null, virt: number): WhitixSpace | null {
    if (space !== null && space !== undefined) this.checkSpace(space);
    if (virt >= SPLIT) return null;
    if (space === null || space === undefined)
      throw new PagingError(
        PAGING_ERROR.NO_PAGEDIR,
        `user address ${hex32(virt)} needs an address space`,
      );
    return space;
  }

  private checkSpace(space: WhitixSpace): void {
    if (!(space instanceof WhitixSpace) || !this.owned.has(space))
      throw new PagingError(
        PAGING_ERROR.NOT_PAGEDIR,
        `${describeValue(space)} is not an address space of this Whitix`,
      );
    if (space.destroyed)
      throw new PagingError(
        PAGING_ERROR.DESTROYED,
        `address space ${hex32(space.cr3)} was destroyed`,
      );
  }

  private checkVa(va: number): void {
    if (!Number.isSafeInteger(va) || va < 0 || va >= SPACE)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `virtual address ${show(va)} is not inside 4 GiB`,
      );
  }

  private checkFrame(phys: number, what: string): void {
    if (!Number.isSafeInteger(phys) || phys < 0 || phys >= SPACE)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `${what}: ${show(phys)} is not a physical address`,
      );
    if (phys % PAGE_SIZE !== 0)
      throw new PagingError(
        PAGING_ERROR.UNALIGNED,
        `${what}: physical address ${hex32(phys)} is not page-aligned`,
      );
    if (phys >= this.ramEnd)
      throw new PagingError(
        PAGING_ERROR.PAST_RAM,
        `${what}: frame ${hex32(phys)} is past the end of RAM at ${hex32(this.ramEnd)}`,
      );
  }

  private checkCount(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 1)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `${what}: page count ${describeValue(n)} must be a positive integer`,
      );
  }

  /**
   * `[virt, virt + n pages)`: the rules every design shares (map-args.ts:
   * aligned, inside 4 GiB, on one side of the split), then outside what
   * Whitix keeps. Every message starts with `what`, the call refused.
   */
  private checkVirt(virt: number, n: number, what: string): void {
    const { end } = checkMapArgs(SPLIT, 0, virt, n, 0, { caller: what });
    this.checkReserved(virt, end, what);
  }

  /** Whitix's own part of a range's rules: the identity map below, the temp slots and the window above. */
  private checkReserved(virt: number, end: number, what: string): void {
    if (virt < WHITIX.IDENTITY_END)
      throw new WhitixError(
        WHITIX_ERROR.RESERVED_VA,
        `${what}: ${hex32(virt)} is in the identity map of the first 8 MiB (user memory starts at ${hex32(WHITIX.IDENTITY_END)})`,
      );
    if (end > KERNEL_END)
      throw new WhitixError(
        WHITIX_ERROR.RESERVED_VA,
        `${what}: [${hex32(virt)}, ${hex32(end)}) reaches the temp slots and the recursive window from ${hex32(KERNEL_END)}`,
      );
  }

  /** Whitix maps only: flags without PTE_PRESENT are refused, not taken as an unmap. */
  private checkPresent(flags: number, what: string): void {
    if ((flags & PTE.P) === 0)
      throw new PagingError(
        PAGING_ERROR.BAD_FLAGS,
        `${what}: flags ${hex32(flags)} lack PTE_PRESENT: use unmap to remove mappings`,
      );
  }

  /** A mapping of `n` pages: the shared rules with `what` in the messages, then Whitix's own. */
  private checkMap(virt: number, phys: number, n: number, flags: number, what: string): void {
    const { end } = checkMapArgs(SPLIT, phys, virt, n, flags, { caller: what });
    this.checkReserved(virt, end, what);
    this.checkPresent(flags, what);
    if (phys + n * PAGE_SIZE > this.ramEnd)
      throw new PagingError(
        PAGING_ERROR.PAST_RAM,
        `${what}: physical [${hex32(phys)}, +${n} pages) runs past the end of RAM at ${hex32(this.ramEnd)}`,
      );
  }

  private checkRange(start: number, end: number, n: number, flags: number, what: string): void {
    for (const [name, v] of [
      ["start", start],
      ["end", end],
    ] as const)
      if (!Number.isSafeInteger(v) || v < 0 || v > SPACE || v % PAGE_SIZE !== 0)
        throw new PagingError(
          PAGING_ERROR.BAD_ARGUMENT,
          `${what}: ${name} ${show(v)} is not a page-aligned address`,
        );
    if (end <= start)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `${what}: [${hex32(start)}, ${hex32(end)}) is empty`,
      );
    // The range and the flags by the shared rules (PTE_USER/PTE_GLOBAL judged at `start`).
    checkMapArgs(SPLIT, 0, start, (end - start) / PAGE_SIZE, flags, { caller: what });
    this.checkReserved(start, end, what);
    this.checkCount(n, what);
    if (n > (end - start) / PAGE_SIZE)
      throw new PagingError(
        PAGING_ERROR.BAD_ARGUMENT,
        `${what}: ${n} pages do not fit in [${hex32(start)}, ${hex32(end)})`,
      );
    this.checkPresent(flags, what);
  }
}

/** Refuse options of the wrong shape (E_BAD_CONFIG naming the value) before anything is touched. */
function checkOptions(machine: Machine, options: WhitixOptions): { code: number; data: number } {
  checkMachine(machine);
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `Whitix options ${describeValue(options)} are not an object`,
    );
  const code = options.kernelCode === undefined ? WHITIX.KERNEL_CODE : options.kernelCode;
  const data = options.kernelData === undefined ? WHITIX.KERNEL_DATA : options.kernelData;
  for (const [name, v] of [
    ["kernelCode", code],
    ["kernelData", data],
  ] as const)
    if (!Number.isSafeInteger(v) || v < PAGE_SIZE || v % PAGE_SIZE !== 0)
      throw new PagingError(
        PAGING_ERROR.BAD_CONFIG,
        `${name} ${show(v)} must be a positive multiple of the page size`,
      );
  if (options.rangeAllocator !== undefined && typeof options.rangeAllocator !== "function")
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `rangeAllocator ${describeValue(options.rangeAllocator)} is not a function`,
    );
  // The image and the boot tables (directory, two identity tables, the temp table) inside the identity map.
  const end = WHITIX.KERNEL_LOAD + code + data + 4 * PAGE_SIZE;
  if (end > WHITIX.IDENTITY_END)
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `the kernel image (${hex32(code + data)} bytes) and the boot tables do not fit below ${hex32(WHITIX.IDENTITY_END)}`,
    );
  if (end > machine.ram.installedBytes)
    throw new PagingError(
      PAGING_ERROR.BAD_CONFIG,
      `the kernel image and boot tables end at ${hex32(end)}, past the end of RAM at ${hex32(machine.ram.installedBytes)}`,
    );
  if (machine.mmu.pagingEnabled)
    throw new PagingError(PAGING_ERROR.BAD_CONFIG, "paging is already on");
  return { code, data };
}

/**
 * Whitix's boot of the virtual memory manager, with paging still off (the
 * one place that writes tables physically):
 *
 * ```
 *  physical: 0x00100000 [ code | data ] D  T0  T1  Ttemp        (D = the kernel directory)
 *  D[0] -> T0, D[1] -> T1     identity map of 0-8 MiB, supervisor; code pages read-only
 *  D[1022] -> Ttemp           the page table of the VirtAllocateTemp slots (shared)
 *  D[1023] -> D               the recursive window (present, writable, supervisor)
 *  CR0.WP set (a kernel write to its code faults, error code 3), CR3 = D, CR0.PG set
 * ```
 *
 * The physical page allocator comes from `createPageAllocators` (buddy by
 * default), with the first MiB, the image, the boot tables and the memory
 * map's holes reserved.
 */
export function VirtMemManagerInit(machine: Machine, options: WhitixOptions = {}): Whitix {
  const { code, data } = checkOptions(machine, options);
  const { ram, mmu } = machine;
  const directory = WHITIX.KERNEL_LOAD + code + data;
  // The allocators first: a range allocator factory that makes nonsense is
  // refused (E_BAD_CONFIG) before a single word of RAM is written.
  const allocators = createPageAllocators({
    memoryMap: ram.memoryMap,
    kernelImage: { start: WHITIX.KERNEL_LOAD, length: code + data },
    reserved: [{ start: directory, length: 4 * PAGE_SIZE }],
    // Whitix finds kernel virtual memory in its PTEs, not in a vpallocator:
    // the kernel vpallocator createPageAllocators makes is given one page and never used.
    kernelVirtual: { start: WHITIX.HEAP_START, length: PAGE_SIZE },
    ...(options.rangeAllocator === undefined ? {} : { rangeAllocator: options.rangeAllocator }),
  });
  const [t0, t1, tTemp] = [1, 2, 3].map((i) => directory + i * PAGE_SIZE) as [
    number,
    number,
    number,
  ];
  for (const f of [directory, t0, t1, tTemp]) ram.clearFrame(f / PAGE_SIZE);
  const codeEnd = WHITIX.KERNEL_LOAD + code;
  for (let page = 0; page < WHITIX.IDENTITY_END / PAGE_SIZE; page++) {
    const pa = page * PAGE_SIZE;
    const readOnly = pa >= WHITIX.KERNEL_LOAD && pa < codeEnd;
    // t1 follows t0: the two identity tables are one run of 2048 PTEs.
    ram.write32(t0 + 4 * page, pa | PTE.P | (readOnly ? 0 : PTE.RW));
  }
  ram.write32(directory, t0 | PDE.P | PDE.RW);
  ram.write32(directory + 4, t1 | PDE.P | PDE.RW);
  ram.write32(directory + 4 * TEMP_PDE, tTemp | PDE.P | PDE.RW);
  ram.write32(directory + 4 * WHITIX.SELF_PDE, directory | PDE.P | PDE.RW);
  mmu.loadCr3(directory);
  mmu.loadCr0(mmu.cr0 | CR0.PE | CR0.WP | CR0.PG);
  return new Whitix(machine, allocators, directory, { start: WHITIX.KERNEL_LOAD, end: codeEnd });
}

/** The boot function `createStack({ design: "whitix" })` calls: {@link VirtMemManagerInit}. */
export function bootWhitix(machine: Machine, options: WhitixOptions = {}): Whitix {
  return VirtMemManagerInit(machine, options);
}

/**
 * The page source a slab allocator grows by: `allocPages(n)` is
 * VirtMapPhysRange(0xC0000000, 0xD0000000, n, P|RW), `freePages(va, n)` is
 * VirtUnmapPhysPage on each page, after checking that all n are mapped
 * kernel-heap pages (so a bad call changes nothing).
 */
export function whitixPageSource(w: Whitix): WhitixPageSource {
  return {
    name: "Whitix VirtMapPhysRange(0xC0000000, 0xD0000000)",
    allocPages(n: number): number | null {
      return w.VirtMapPhysRange(WHITIX.HEAP_START, WHITIX.HEAP_END, n, PTE.P | PTE.RW);
    },
    freePages(va: number, n: number): void {
      if (!Number.isSafeInteger(n) || n < 1)
        throw new PagingError(
          PAGING_ERROR.BAD_ARGUMENT,
          `freePages: page count ${describeValue(n)} must be a positive integer`,
        );
      if (
        !Number.isSafeInteger(va) ||
        va % PAGE_SIZE !== 0 ||
        va < WHITIX.HEAP_START ||
        va + n * PAGE_SIZE > WHITIX.HEAP_END
      )
        throw new PagingError(
          PAGING_ERROR.BAD_ARGUMENT,
          `freePages: [${show(va)}, +${n} pages) is not a page run of the kernel heap [${hex32(WHITIX.HEAP_START)}, ${hex32(WHITIX.HEAP_END)})`,
        );
      for (let i = 0; i < n; i++)
        if (w.translate(va + i * PAGE_SIZE).pa === null)
          throw new WhitixError(
            WHITIX_ERROR.NOT_MAPPED,
            `freePages: ${hex32(va + i * PAGE_SIZE)} is not mapped`,
          );
      for (let i = 0; i < n; i++) w.VirtUnmapPhysPage(va + i * PAGE_SIZE);
    },
  };
}
