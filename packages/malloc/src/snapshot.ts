/**
 * stack-snapshot: a booted design's page tables as one mmu-replay case, with
 * what the design believes it mapped beside them, so that anyone (another
 * x86 implementation, a checker of their own) can confirm that the tables
 * say what the design says.
 *
 * ```
 *  { name, cr0, cr4, cr3, steps: [],        <- an mmu-replay case as it is
 *    reference,                             <- cr3 of the design's reference directory
 *    writes:  [{ paddr, u32: [1024 words] }] <- every directory and page-table frame, whole
 *    spaces:  [{ cr3, user: [run...] }],     <- per user address space, [userStart, split)
 *    kernel:  [run...] }                     <- the reference's kernel half
 *  run = { virt, phys, pages, flags }        <- hex strings; pages a number
 * ```
 *
 * The runs come from the design's own `dump` (its bookkeeping, read through
 * the MMU); the frames in `writes` are found by reading the directories
 * physically, as the CPU would, so the two are independent views.
 *
 * @module
 */
import { CR0, CR4, ENTRIES_PER_TABLE, PAGE_SIZE, PDE, hex32 } from "@mm386/hw-i386";
import {
  type AddressSpace,
  type MappedRange,
  PAGING_ERROR,
  PTE_PRESENT,
  PTE_USER,
  PTE_WRITE,
  PagingError,
  describeValue,
} from "@mm386/paging";
import type { DesignStack } from "./stack.js";

/** One coalesced run of mappings, as stack-snapshot prints it. */
export interface SnapshotRun {
  /** First virtual address, hex. */
  readonly virt: string;
  /** Physical address it maps to, hex. */
  readonly phys: string;
  /** Number of pages, each mapping the next frame. */
  readonly pages: number;
  /** PTE flags common to the run (A and D left out), hex. */
  readonly flags: string;
}

/** CR0 as the replay format gives it. */
export interface SnapshotCr0 {
  /** CR0.WP: supervisor writes honour read-only pages. */
  readonly wp: boolean;
}

/** CR4 as the replay format gives it. */
export interface SnapshotCr4 {
  /** CR4.PSE: 4 MiB pages. */
  readonly pse: boolean;
  /** CR4.PGE: global pages. */
  readonly pge: boolean;
}

/** One frame of page-table words, as the replay format writes it. */
export interface SnapshotWrite {
  /** Physical address of the frame, hex. */
  readonly paddr: string;
  /** Its 1024 words, hex. */
  readonly u32: readonly string[];
}

/** One user address space of a snapshot. */
export interface SnapshotSpace {
  /** Its CR3, hex. */
  readonly cr3: string;
  /** Its present mappings in `[userStart, split)`, as runs. */
  readonly user: readonly SnapshotRun[];
}

/** What stack-snapshot prints: an mmu-replay case plus what the design believes it mapped. */
export interface StackSnapshot {
  /** Names the case: design, RAM and number of spaces. */
  readonly name: string;
  /** CR0 bits besides PE and PG, as in the replay format. */
  readonly cr0: SnapshotCr0;
  /** CR4 bits, as in the replay format. */
  readonly cr4: SnapshotCr4;
  /** CR3: the first user address space (the reference when there is none). */
  readonly cr3: string;
  /** CR3 of the design's reference directory. */
  readonly reference: string;
  /** Every directory and page-table frame of every address space, whole, by address. */
  readonly writes: readonly SnapshotWrite[];
  /** One entry per user address space made: its CR3 and its present mappings in `[userStart, split)`. */
  readonly spaces: readonly SnapshotSpace[];
  /** The reference directory's mappings at or above the split (no recursive window). */
  readonly kernel: readonly SnapshotRun[];
  /** No steps: add your own to replay accesses against these tables. */
  readonly steps: readonly never[];
}

/** The most user address spaces {@link populateStack} makes. */
export const MAX_POPULATED_SPACES = 1024;

/** Where each user address space gets its pages: a small program image and a stack page. */
export const SNAPSHOT_USER_IMAGE = 0x0804_8000;

/**
 * Give `stack` `spaces` user address spaces, each with a program image at
 * 0x08048000 (code and read-only data read-only, then a writable data page)
 * and a stack page just below the split, all on fresh frames; make a few
 * kernel allocations (heap blocks of several sizes, a kernel region of two
 * pages); load the first user space. `spaces` not a whole number from 0 to
 * {@link MAX_POPULATED_SPACES}: E_BAD_ARGUMENT, nothing made. Out of memory:
 * E_BAD_CONFIG naming what ran out (the machine is too small for the
 * snapshot), with what was made so far left in place.
 */
export function populateStack(stack: DesignStack, spaces: number): AddressSpace[] {
  if (!Number.isSafeInteger(spaces) || spaces < 0 || spaces > MAX_POPULATED_SPACES)
    throw new PagingError(
      PAGING_ERROR.BAD_ARGUMENT,
      `${describeValue(spaces)} user spaces: give a whole number from 0 to ${MAX_POPULATED_SPACES}`,
    );
  const d = stack.design;
  const frame = (): number => {
    const f = d.allocFrames(1);
    if (f === null)
      throw new PagingError(PAGING_ERROR.BAD_CONFIG, "out of frames for the snapshot's pages");
    return f;
  };
  // A user page takes a user frame where the design has such a thing (Linux: highmem first).
  const userFrame = (d as { allocUserFrame?: () => number | null }).allocUserFrame;
  const map = (space: AddressSpace | null, va: number, flags: number): void => {
    const f = space !== null && userFrame !== undefined ? userFrame.call(d) : frame();
    if (f === null)
      throw new PagingError(PAGING_ERROR.BAD_CONFIG, "out of frames for the snapshot's pages");
    if (!d.map(space, va, f, 1, flags))
      throw new PagingError(
        PAGING_ERROR.BAD_CONFIG,
        `out of memory for a page table at ${hex32(va)}`,
      );
  };
  const made: AddressSpace[] = [];
  for (let i = 0; i < spaces; i++) {
    const space = d.createAddressSpace();
    if (space === null)
      throw new PagingError(
        PAGING_ERROR.BAD_CONFIG,
        `out of memory for address space ${i + 1} of ${spaces}`,
      );
    made.push(space);
    map(space, SNAPSHOT_USER_IMAGE, PTE_PRESENT | PTE_USER); // code
    map(space, SNAPSHOT_USER_IMAGE + PAGE_SIZE, PTE_PRESENT | PTE_USER); // read-only data
    map(space, SNAPSHOT_USER_IMAGE + 2 * PAGE_SIZE, PTE_PRESENT | PTE_WRITE | PTE_USER); // data
    map(space, d.split - PAGE_SIZE, PTE_PRESENT | PTE_WRITE | PTE_USER); // the stack
  }
  for (const size of [24, 200, 3000, 20_000]) {
    if (stack.heap.malloc(size) === null)
      throw new PagingError(
        PAGING_ERROR.BAD_CONFIG,
        `out of memory for a kernel heap block of ${size} bytes`,
      );
  }
  const region = d.allocKernelRegion(2);
  if (region === null)
    throw new PagingError(PAGING_ERROR.BAD_CONFIG, "no free kernel region of 2 pages");
  map(null, region, PTE_PRESENT | PTE_WRITE);
  map(null, region + PAGE_SIZE, PTE_PRESENT | PTE_WRITE);
  d.switchTo(made[0] ?? d.reference);
  return made;
}

/** A dump's runs restricted to `[lo, hi)`, cut where a run crosses a bound. */
function runsIn(runs: readonly MappedRange[], lo: number, hi: number): SnapshotRun[] {
  const out: SnapshotRun[] = [];
  for (const r of runs) {
    const start = Math.max(r.virt, lo);
    const end = Math.min(r.virt + r.pages * PAGE_SIZE, hi);
    if (start >= end) continue;
    out.push({
      virt: hex32(start),
      phys: hex32(r.phys + (start - r.virt)),
      pages: (end - start) / PAGE_SIZE,
      flags: `0x${r.flags.toString(16).padStart(3, "0")}`,
    });
  }
  return out;
}

/**
 * Every frame that holds a page directory or a page table of `cr3s`, found as
 * the CPU would: the directory, and the table of every present PDE that does
 * not map a 4 MiB page. Read physically (an inspection, not the kernel).
 */
function tableFrames(stack: DesignStack, cr3s: readonly number[]): number[] {
  const { ram, mmu } = stack.machine;
  const pse = (mmu.cr4 & CR4.PSE) !== 0;
  const frames = new Set<number>();
  for (const cr3 of cr3s) {
    const dir = (cr3 & 0xffff_f000) >>> 0;
    frames.add(dir);
    for (let r = 0; r < ENTRIES_PER_TABLE; r++) {
      const pde = ram.read32(dir + 4 * r);
      if ((pde & PDE.P) === 0 || (pse && (pde & PDE.PS) !== 0)) continue;
      frames.add((pde & 0xffff_f000) >>> 0);
    }
  }
  return [...frames].sort((a, b) => a - b);
}

/** The snapshot of `stack` as it is now, with `spaces` as its user address spaces. */
export function snapshotStack(stack: DesignStack, spaces: readonly AddressSpace[]): StackSnapshot {
  const d = stack.design;
  const { ram, mmu } = stack.machine;
  const all = [d.reference, ...d.addressSpaces().filter((s) => s !== d.reference)];
  const writes = tableFrames(
    stack,
    all.map((s) => s.cr3),
  ).map((paddr) => ({
    paddr: hex32(paddr),
    u32: Array.from({ length: ENTRIES_PER_TABLE }, (_, i) => hex32(ram.read32(paddr + 4 * i))),
  }));
  const ramMiB = Math.round(stack.machine.ram.installedBytes / (1024 * 1024));
  return {
    name: `stack-snapshot ${stack.designName} ${ramMiB} MiB, ${spaces.length} user space(s)`,
    cr0: { wp: (mmu.cr0 & CR0.WP) !== 0 },
    cr4: { pse: (mmu.cr4 & CR4.PSE) !== 0, pge: (mmu.cr4 & CR4.PGE) !== 0 },
    cr3: hex32(mmu.cr3),
    reference: hex32(d.reference.cr3),
    writes,
    // The user region only: below userStart sits what a design shares as the kernel's (Whitix's
    // supervisor identity map of the first 8 MiB), which is no address space's own.
    spaces: spaces.map((s) => ({
      cr3: hex32(s.cr3),
      user: runsIn(d.dump(s), d.userStart, d.split),
    })),
    kernel: runsIn(d.dump(d.reference), d.split, 2 ** 32),
    steps: [],
  };
}
