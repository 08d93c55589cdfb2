/**
 * What the viewer shows, computed from a running stack without disturbing it.
 *
 * Everything here reads simulated memory **physically** (`ram.word`, the
 * inspection path of DESIGN §2), never through the MMU: a read through the
 * MMU would fill the TLB, move its counters and add events to the very
 * timeline being shown. So the page tables are walked here from each address
 * space's CR3, the heap is found by its documented chunk format, and a TLB
 * entry is checked against the tables with hw-i386's side-effect-free
 * `explainWalk`.
 *
 * ```
 *  stack ──► inspectStack(stack, extras) ──► StackView
 *              directory(cr3)   1024 PDEs, special entries, owner of each table
 *              table(cr3, i)    1024 PTEs of one page table
 *              tlb              entries (stale ones marked), hits, misses
 *              physical         every frame's owner, as runs, and the totals
 *              buddy            free lists per order (when the design has a buddy)
 *              heap             blocks (allocated, free, large)
 * ```
 *
 * @module
 */
import {
  CR4,
  ENTRIES_PER_TABLE,
  type Machine,
  LARGE_PAGE_SIZE,
  PAGE_SIZE,
  PDE,
  PTE,
  type TlbEntry,
  explainWalk,
} from "@mm386/hw-i386";
import { ALLOC, type DesignStack, type HeapExtent } from "@mm386/malloc";
import { UNIT_STATE } from "@mm386/allocation";
import type { AddressSpace } from "@mm386/paging";

/** Who a physical frame belongs to, as the viewer colours it. */
export const OWNER = {
  /** A page directory or a page table of some address space. */
  PAGE_TABLE: "page-table",
  /** A page of the kernel heap (a chunk or a large block). */
  HEAP: "heap",
  /** Mapped in some address space's user half. */
  USER: "user",
  /** Free in the design's physical allocator. */
  FREE: "free",
  /** Mapped in the kernel half when the stack had just booted: the kernel image and boot mappings. */
  KERNEL_IMAGE: "kernel-image",
  /** Mapped in the kernel half since (kernel regions, kvmalloc pages that are not heap). */
  KERNEL: "kernel",
  /** Reserved in the allocator, or not usable RAM in the memory map (low memory, holes). */
  RESERVED: "reserved",
  /** Handed out by the allocator but mapped nowhere the viewer looks. */
  ALLOCATED: "allocated",
  /** Mapped nowhere, and the design tells the viewer nothing of its allocator's state. */
  UNKNOWN: "unknown",
} as const;

/** One of the {@link OWNER} values. */
export type Owner = (typeof OWNER)[keyof typeof OWNER];

/** The order in which owners claim a frame: the first that applies wins. */
export const OWNER_PRECEDENCE: readonly Owner[] = [
  OWNER.PAGE_TABLE,
  OWNER.HEAP,
  OWNER.USER,
  OWNER.FREE,
  OWNER.KERNEL_IMAGE,
  OWNER.KERNEL,
  OWNER.RESERVED,
  OWNER.ALLOCATED,
  OWNER.UNKNOWN,
];

/** Each owner's index in {@link OWNER_PRECEDENCE}: the lower, the stronger its claim. */
const RANK = Object.fromEntries(OWNER_PRECEDENCE.map((o, i) => [o, i])) as Record<Owner, number>;

/** A page-directory entry special to a design (Whitix's self-map at 1023...). */
export interface SpecialPde {
  /** The entry's index, 0..1023. */
  readonly index: number;
  /** A short label, e.g. `"self-map"`. */
  readonly label: string;
}

/** The frames of a design's physical allocator, one state per frame (`UNIT_STATE` of `@mm386/allocation`). */
export interface FrameStates {
  /** Frame number of `states[0]`. */
  readonly basePfn: number;
  /** One `UNIT_STATE` of `@mm386/allocation` per frame. */
  readonly states: Uint8Array;
}

/** Buddy free lists: for each order, the first frame number of every free block. */
export interface BuddyLists {
  /** Index k: the blocks of 2^k frames, by first frame number. */
  readonly lists: readonly (readonly number[])[];
}

/**
 * What a design may add to the viewer beyond `PagingDesign`: every
 * member is optional, and the viewer shows less (never fails) without it. A
 * design offers these as a `viewer` property of its `PagingDesign` object, or
 * the viewer registers them by design name ({@link VIEWER_EXTRAS}).
 */
export interface ViewerExtras {
  /** Entries of a directory to label (the generic view already labels a PDE that maps its own directory "self-map"). */
  specialPdes?(space: AddressSpace): readonly SpecialPde[];
  /** The physical allocator's state of every frame it manages. */
  frameStates?(): FrameStates | null;
  /** The physical allocator's buddy free lists, if it is a buddy. */
  buddyLists?(): BuddyLists | null;
}

/** One PDE or PTE cell of a grid. */
export interface EntryView {
  /** Index 0..1023. */
  readonly index: number;
  /** The raw 32-bit entry. */
  readonly raw: number;
  /** P set. */
  readonly present: boolean;
  /** U/S set. */
  readonly user: boolean;
  /** R/W set. */
  readonly writable: boolean;
  /** PDE only: PS set with CR4.PSE on, a 4 MiB page. */
  readonly large: boolean;
  /** The frame it names (table or page), when present. */
  readonly frame: number | null;
  /** A design's label for this entry, or null. */
  readonly special: string | null;
}

/** The MMU's counters as the TLB panel shows them. */
export interface TlbView {
  /** The TLB's own name (e.g. `"unbounded"`, `"64-entry 4-way LRU"`). */
  readonly name: string;
  /** Accesses served from the TLB since the stack booted. */
  readonly hits: number;
  /** Accesses that missed since the stack booted. */
  readonly misses: number;
  /** Every entry, by virtual page number, with its hit count and whether it is stale. */
  readonly entries: readonly TlbEntryView[];
}

/** One TLB entry and what the page tables say now. */
export interface TlbEntryView extends TlbEntry {
  /** Hits on this page since the stack booted. */
  readonly hits: number;
  /**
   * The page tables no longer say what this entry says (another frame, other
   * permissions, or not present): the PTE changed without invlpg or a CR3 load.
   */
  readonly stale: boolean;
}

/** A run of frames with one owner. */
export interface OwnerRun {
  /** Who owns them. */
  readonly owner: Owner;
  /** First frame number. */
  readonly startPfn: number;
  /** Number of frames. */
  readonly frames: number;
}

/** One heap block found in simulated memory. */
export interface HeapBlockView {
  /** The pointer malloc returned (or would return) for it. */
  readonly bp: number;
  /** Bytes, header included. */
  readonly size: number;
  /** Allocated (true) or free. */
  readonly allocated: boolean;
  /** A large block with pages of its own. */
  readonly large: boolean;
}

/** Everything the viewer shows of one stack at one moment. */
export interface StackView {
  /** The design's name. */
  readonly designName: string;
  /** CR3 now. */
  readonly cr3: number;
  /** The user/kernel boundary. */
  readonly split: number;
  /** The current directory's 1024 entries. */
  readonly directory: readonly EntryView[];
  /** The TLB. */
  readonly tlb: TlbView;
  /** Every RAM frame's owner as runs, in frame order. */
  readonly physical: readonly OwnerRun[];
  /** Frames per owner (every owner present, 0 when none). */
  readonly ownerTotals: Readonly<Record<Owner, number>>;
  /** The buddy free lists, or null when the design's allocator is not a buddy the viewer can see. */
  readonly buddy: BuddyLists | null;
  /** The heap's blocks in address order (chunks, then large blocks). */
  readonly heap: readonly HeapBlockView[];
}

const FRAME_MASK = 0xffff_f000;

/** The 1024 words of the frame at physical address `pa`, read physically. */
function readFrame(machine: Machine, pa: number): Uint32Array {
  const out = new Uint32Array(ENTRIES_PER_TABLE);
  for (let i = 0; i < ENTRIES_PER_TABLE; i++) out[i] = machine.ram.read32(pa + i * 4);
  return out;
}

/** True when PDE `raw` maps a 4 MiB page on this machine (PS means nothing without CR4.PSE). */
function isLarge(machine: Machine, raw: number): boolean {
  return (raw & PDE.PS) !== 0 && (machine.mmu.cr4 & CR4.PSE) !== 0;
}

/** The entries of one directory (`cr3`), with the design's special entries labelled. */
export function directoryView(
  machine: Machine,
  cr3: number,
  special: readonly SpecialPde[] = [],
): EntryView[] {
  const dir = (cr3 & FRAME_MASK) >>> 0;
  const words = readFrame(machine, dir);
  const labels = new Map(special.map((s) => [s.index, s.label]));
  const out: EntryView[] = [];
  for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
    const raw = words[i]!;
    const present = (raw & PDE.P) !== 0;
    const frame = present ? (raw & FRAME_MASK) >>> 0 : null;
    // A PDE that names its own directory is a recursive map whatever the design (Whitix's 1023).
    const self = present && frame === dir && !isLarge(machine, raw) ? "self-map" : null;
    out.push({
      index: i,
      raw,
      present,
      user: (raw & PDE.US) !== 0,
      writable: (raw & PDE.RW) !== 0,
      large: present && isLarge(machine, raw),
      frame,
      special: labels.get(i) ?? self,
    });
  }
  return out;
}

/** The 1024 PTEs of the page table PDE `index` of directory `cr3` names; null if it names none (not present, or a 4 MiB page). */
export function tableView(machine: Machine, cr3: number, index: number): EntryView[] | null {
  const pde = machine.ram.read32(((cr3 & FRAME_MASK) >>> 0) + index * 4);
  if ((pde & PDE.P) === 0 || isLarge(machine, pde)) return null;
  const words = readFrame(machine, (pde & FRAME_MASK) >>> 0);
  return Array.from(words, (raw, i) => {
    const present = (raw & PTE.P) !== 0;
    return {
      index: i,
      raw,
      present,
      user: (raw & PTE.US) !== 0,
      writable: (raw & PTE.RW) !== 0,
      large: false,
      frame: present ? (raw & FRAME_MASK) >>> 0 : null,
      special: null,
    };
  });
}

/**
 * Each page mapped in directory `cr3` by PDEs `[fromPde, toPde)` (default
 * all): calls `visit(va, pa)` per 4 KiB page (a 4 MiB page as 1024 of them).
 */
export function forEachMapping(
  machine: Machine,
  cr3: number,
  visit: (va: number, pa: number, pdeIndex: number) => void,
  fromPde = 0,
  toPde = ENTRIES_PER_TABLE,
): void {
  const dir = readFrame(machine, (cr3 & FRAME_MASK) >>> 0);
  for (let i = fromPde; i < toPde; i++) {
    const pde = dir[i]!;
    if ((pde & PDE.P) === 0) continue;
    const base = (pde & FRAME_MASK) >>> 0;
    if (isLarge(machine, pde)) {
      const big = (pde & 0xffc0_0000) >>> 0;
      for (let j = 0; j < ENTRIES_PER_TABLE; j++)
        visit(i * LARGE_PAGE_SIZE + j * PAGE_SIZE, big + j * PAGE_SIZE, i);
      continue;
    }
    if (base === (cr3 & FRAME_MASK) >>> 0) continue; // a self-map maps tables, not memory
    const table = readFrame(machine, base);
    for (let j = 0; j < ENTRIES_PER_TABLE; j++) {
      const pte = table[j]!;
      if ((pte & PTE.P) !== 0)
        visit(i * LARGE_PAGE_SIZE + j * PAGE_SIZE, (pte & FRAME_MASK) >>> 0, i);
    }
  }
}

/** The frames of every directory and page table of `spaces`. */
export function pageTableFrames(
  machine: Machine,
  spaces: readonly { readonly cr3: number }[],
): Set<number> {
  const out = new Set<number>();
  for (const s of spaces) {
    const dir = (s.cr3 & FRAME_MASK) >>> 0;
    out.add(dir / PAGE_SIZE);
    const words = readFrame(machine, dir);
    for (const pde of words)
      if ((pde & PDE.P) !== 0 && !isLarge(machine, pde))
        out.add(((pde & FRAME_MASK) >>> 0) / PAGE_SIZE);
  }
  return out;
}

/**
 * The heap's blocks in the kernel half of directory `cr3`, read physically,
 * header by header, from where `layout` (the heap's `extents()`) says its
 * regions and large blocks start. Without a layout (a heap that cannot say),
 * no blocks.
 */
export function heapBlocks(
  machine: Machine,
  cr3: number,
  split: number,
  layout?: readonly HeapExtent[],
): HeapBlockView[] {
  return scanHeap(machine, kernelPages(machine, cr3, split), layout).blocks;
}

/** Every page directory `cr3` maps at or above `split`: kernel virtual address -> physical address. */
export function kernelPages(machine: Machine, cr3: number, split: number): Map<number, number> {
  const pages = new Map<number, number>();
  forEachMapping(
    machine,
    cr3,
    (va, pa) => {
      if (va >= split) pages.set(va, pa);
    },
    Math.floor(split / LARGE_PAGE_SIZE),
  );
  return pages;
}

/** {@link heapBlocks} in the kernel `pages`, with the virtual extent `[start, end)` of each region, large block or slab. */
function scanHeap(
  machine: Machine,
  pages: ReadonlyMap<number, number>,
  layout: readonly HeapExtent[] | undefined,
): { blocks: HeapBlockView[]; extents: { start: number; end: number }[] } {
  const word = (va: number): number | null => {
    const pa = pages.get((va & FRAME_MASK) >>> 0);
    return pa === undefined ? null : machine.ram.read32(pa + (va & 0xfff));
  };
  const out: HeapBlockView[] = [];
  const extents: { start: number; end: number }[] = [];
  // Where the heap's parts are comes from the heap's own records (Malloc.extents(), no MMU);
  // what is in them is read physically, header by header.
  for (const e of layout ?? []) {
    // A tiny run is a block of a region: walked with its region's headers.
    if (e.kind === "run") continue;
    extents.push({ start: e.start, end: e.start + e.pages * PAGE_SIZE });
    if (e.kind === "slab") continue; // objects without headers: the slab's pages are shown whole
    // A large block has no header: its pages are its size, and it is live while the heap holds it.
    if (e.kind === "large") {
      out.push({ bp: e.first, size: e.pages * PAGE_SIZE, allocated: true, large: true });
      continue;
    }
    // Walk headers to the epilogue (size 0); stop at anything unmapped or absurd.
    let bp = e.first;
    for (let guard = 0; guard < 1 << 16; guard++) {
      const hw = word(bp - 4);
      if (hw === null) break;
      const size = hw & ~7;
      if (size === 0 || size % 8 !== 0) break;
      out.push({ bp, size, allocated: (hw & ALLOC) !== 0, large: false });
      bp += size;
    }
  }
  return { blocks: out, extents };
}

/** The layout of `heap` if it can say (the default Malloc can), else none. */
function heapLayout(heap: unknown): readonly HeapExtent[] | undefined {
  const f = (heap as { extents?: unknown } | null)?.extents;
  return typeof f === "function" ? (f.call(heap) as HeapExtent[]) : undefined;
}

/** How many hits the viewer counted per virtual page (kept by the session from the MMU's events). */
export type HitCounts = ReadonlyMap<number, number>;

/** The TLB now, each entry checked against the current page tables. */
export function tlbView(machine: Machine, hitsByVpn: HitCounts = new Map()): TlbView {
  const { mmu } = machine;
  const entries = mmu.tlb
    .entries()
    .map((e) => {
      const walk = explainWalk(mmu.ram, mmu, e.vpn * PAGE_SIZE);
      const stale =
        walk.pa === null ||
        walk.pa >>> 12 !== e.pfn ||
        walk.writable !== e.writable ||
        walk.user !== e.user;
      return { ...e, hits: hitsByVpn.get(e.vpn) ?? 0, stale };
    })
    .sort((a, b) => a.vpn - b.vpn);
  return { name: mmu.tlb.name, hits: mmu.stats.tlbHits, misses: mmu.stats.tlbMisses, entries };
}

/** Every RAM frame's owner, as runs and as totals. */
export interface PhysicalView {
  /** Runs of frames with one owner, in frame order, covering all RAM. */
  readonly runs: OwnerRun[];
  /** Frames per owner (every owner present, 0 when none). */
  readonly totals: Record<Owner, number>;
}

/**
 * Every RAM frame's owner; `bootKernel` are the frames the kernel half mapped
 * right after boot, `heapExtents` the heap's chunks (virtual). Each frame
 * goes to the first owner of {@link OWNER_PRECEDENCE} that claims it.
 */
export function physicalView(
  stack: DesignStack,
  extras: ViewerExtras,
  bootKernel: ReadonlySet<number>,
  heapExtents: readonly { readonly start: number; readonly end: number }[],
  kernelPa: ReadonlyMap<number, number> = kernelPages(
    stack.machine,
    stack.design.reference.cr3,
    stack.design.split,
  ),
): PhysicalView {
  const { machine, design } = stack;
  const ramFrames = Math.floor(machine.ram.installedBytes / PAGE_SIZE);
  const unclaimed = OWNER_PRECEDENCE.length;
  const owner = new Uint8Array(ramFrames).fill(unclaimed);
  const claim = (pfn: number, who: Owner): void => {
    if (pfn < 0 || pfn >= ramFrames) return;
    const rank = RANK[who];
    if (rank < owner[pfn]!) owner[pfn] = rank;
  };
  const spaces = design.addressSpaces();
  for (const pfn of pageTableFrames(machine, spaces)) claim(pfn, OWNER.PAGE_TABLE);
  for (const pa of kernelPa.values())
    claim(pa / PAGE_SIZE, bootKernel.has(pa / PAGE_SIZE) ? OWNER.KERNEL_IMAGE : OWNER.KERNEL);
  // Heap pages: every page a chunk or large block covers, through the reference's kernel half.
  for (const e of heapExtents) {
    for (let va = e.start; va < e.end; va += PAGE_SIZE) {
      const pa = kernelPa.get(va);
      if (pa !== undefined) claim(pa / PAGE_SIZE, OWNER.HEAP);
    }
  }
  const userPdes = Math.ceil(design.split / LARGE_PAGE_SIZE);
  for (const s of spaces)
    forEachMapping(
      machine,
      s.cr3,
      (va, pa) => {
        if (va < design.split) claim(pa / PAGE_SIZE, OWNER.USER);
      },
      0,
      userPdes,
    );
  const states = extras.frameStates?.() ?? null;
  if (states)
    states.states.forEach((st, i) => {
      if (st === UNIT_STATE.FREE) claim(states.basePfn + i, OWNER.FREE);
      else if (st === UNIT_STATE.RESERVED) claim(states.basePfn + i, OWNER.RESERVED);
      else claim(states.basePfn + i, OWNER.ALLOCATED);
    });
  // Frames nothing maps and no allocator manages are not usable RAM (low memory, holes);
  // without the allocator's states the viewer cannot tell free from reserved.
  const rest = states ? OWNER.RESERVED : OWNER.UNKNOWN;
  for (let pfn = 0; pfn < ramFrames; pfn++) if (owner[pfn] === unclaimed) claim(pfn, rest);
  // Counted by rank in a typed array and runs closed only when the owner changes:
  // one object per run, not per frame (a per-frame spread made this the slowest part of a step).
  const counts = new Uint32Array(OWNER_PRECEDENCE.length);
  const runs: OwnerRun[] = [];
  let start = 0;
  for (let pfn = 0; pfn <= ramFrames; pfn++) {
    if (pfn < ramFrames) counts[owner[pfn]!]!++;
    if (pfn === ramFrames || (pfn > start && owner[pfn] !== owner[start])) {
      if (pfn > start)
        runs.push({
          owner: OWNER_PRECEDENCE[owner[start]!]!,
          startPfn: start,
          frames: pfn - start,
        });
      start = pfn;
    }
  }
  const totals = Object.fromEntries(
    OWNER_PRECEDENCE.map((o, rank) => [o, counts[rank]!]),
  ) as Record<Owner, number>;
  return { runs, totals };
}

/** The frames the kernel half of the reference directory maps now (call right after boot). */
export function kernelFrames(stack: DesignStack): Set<number> {
  const pages = kernelPages(stack.machine, stack.design.reference.cr3, stack.design.split);
  return new Set([...pages.values()].map((pa) => pa / PAGE_SIZE));
}

/** Everything the viewer shows, for `stack` now. Reads memory physically only: the stack is not disturbed. */
export function inspectStack(
  stack: DesignStack,
  extras: ViewerExtras = {},
  options: { readonly bootKernel?: ReadonlySet<number>; readonly hits?: HitCounts } = {},
): StackView {
  const { machine, design } = stack;
  const cr3 = machine.mmu.cr3;
  const kernelPa = kernelPages(machine, design.reference.cr3, design.split);
  const { blocks: heap, extents } = scanHeap(machine, kernelPa, heapLayout(stack.heap));
  const { runs, totals } = physicalView(
    stack,
    extras,
    options.bootKernel ?? new Set(),
    extents,
    kernelPa,
  );
  return {
    designName: stack.designName,
    cr3,
    split: design.split,
    directory: directoryView(machine, cr3, extras.specialPdes?.(design.current) ?? []),
    tlb: tlbView(machine, options.hits),
    physical: runs,
    ownerTotals: totals,
    buddy: extras.buddyLists?.() ?? null,
    heap,
  };
}
