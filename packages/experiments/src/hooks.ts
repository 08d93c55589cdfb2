/**
 * What the experiments need of a design beyond `PagingDesign`: which
 * swap-point options it takes and how, and the figures only its own
 * allocators know (free frames, kernel virtual pages in use). Every hook is
 * optional: a design without hooks still runs every workload through
 * `PagingDesign` and its heap, and its rows say `"n/a"` for the options and
 * null for the figures it does not give.
 *
 * ```
 *  DESIGN_HOOKS[design]?.ranges      --ranges buddy|first-fit  -> createStack options
 *                       .heaps       --heap malloc             -> createStack options
 *                       .policy      --policy segregated|...   -> createStack options
 *                       .physical    used/free/largest free run of frames
 *                       .kernelVirtual  kernel virtual pages in use
 *                       .kernelPages the design's own kvmalloc (Linux: the direct map)
 * ```
 *
 * A design registered in `DESIGNS` (@mm386/malloc) appears in the tool at
 * once; adding an entry here gives it its options and figures. Entries are
 * source, not registered at run time, so that worker threads see them too.
 *
 * @module
 */
import { type RangeAllocatorFactory, buddyRanges, firstFitRanges } from "@mm386/allocation";
import { PAGE_SIZE } from "@mm386/hw-i386";
import type { DesignStack, Stack, StackOptions } from "@mm386/malloc";
import { Malloc, POLICIES, linuxPageSource } from "@mm386/malloc";
import { slabHeap } from "@mm386/malloc/slab";
import type { LinuxPaging } from "@mm386/paging/linux";
import { type Whitix, whitixPageSource } from "@mm386/paging/whitix";

/** The names `--ranges` takes. */
export const RANGES_NAMES = ["buddy", "first-fit"] as const;

/** One of the {@link RANGES_NAMES}. */
export type RangesName = (typeof RANGES_NAMES)[number];

/** The range allocators `--ranges` takes: the buddy (the default) and a first-fit bitmap. */
export const RANGES: Readonly<Record<RangesName, RangeAllocatorFactory>> = {
  buddy: buddyRanges,
  "first-fit": firstFitRanges,
};

/**
 * The heaps `--heap` takes, by name. `slab` joins when the slab allocator
 * ships (a design that has one says so in its hooks' `heaps`).
 */
export const HEAPS = {
  /** Boundary-tag malloc on kvmalloc pages, with `--policy`. */
  malloc: "boundary-tag malloc on kvmalloc pages",
  /** kmalloc on slab caches (the hobby kernel's on kvmalloc pages; Whitix's and Linux's own heap). */
  slab: "kmalloc on slab caches",
} as const;

/** One of the {@link HEAPS} names. */
export type HeapName = keyof typeof HEAPS;

/** The placement policies `--policy` takes: the keys of `POLICIES` in @mm386/malloc. */
export type PolicyName = keyof typeof POLICIES;

/** Frames as the design's physical allocator sees them. */
export interface PhysicalFigures {
  /** Frames usable at boot. */
  readonly usable: number;
  /** Frames free now. */
  readonly free: number;
  /** The longest run of consecutive free frames now (may cost a scan: called once per run). */
  largestFreeRun?(): number;
}

/** A design's own allocator of kernel pages (kvmalloc, vmalloc, or the direct map). */
export interface KernelPages {
  /** `n` pages of kernel memory, mapped and usable at CPL 0; null when out of memory. */
  alloc(n: number): number | null;
  /** Give back what {@link KernelPages.alloc} returned. */
  free(va: number, n: number): void;
}

/** The swap-point choices of one combination that a design's hooks turn into stack options. */
export interface SwapChoices {
  /** A {@link RANGES} name, or `"n/a"`. */
  readonly ranges: string;
  /** A {@link HEAPS} name, or `"n/a"`. */
  readonly heap: string;
  /** A policy name, or `"n/a"`. */
  readonly policy: string;
}

/** What a design tells the experiments beyond `PagingDesign`. Every member is optional. */
export interface DesignHooks {
  /** True if `--ranges` applies (the design's physical pages come from a `RangeAllocator`). */
  readonly ranges?: boolean;
  /** The {@link HEAPS} the design can run; `--heap` is `"n/a"` for the others. */
  readonly heaps?: readonly HeapName[];
  /** True if `--policy` applies to its `malloc` heap. */
  readonly policy?: boolean;
  /** Extra `createStack` options for a combination's choices (only those the hooks above accept reach it). */
  stackOptions?(choices: SwapChoices): Record<string, unknown>;
  /** Its physical allocator's figures now. */
  physical?(stack: DesignStack): PhysicalFigures;
  /** Kernel virtual pages in use now. */
  kernelVirtualPages?(stack: DesignStack): number;
  /** Its own kernel page allocator; without it the experiments use `PagingDesign` (frames + a kernel region + map). */
  kernelPages?(stack: DesignStack): KernelPages;
}

/** The hobby kernel's hooks: its stack has `paging`, `allocators` and `kv`. */
const hobby: DesignHooks = {
  ranges: true,
  heaps: ["malloc", "slab"],
  policy: true,
  stackOptions(choices): Partial<StackOptions> {
    const policy = POLICIES[choices.policy as PolicyName];
    return {
      ...(Object.hasOwn(RANGES, choices.ranges)
        ? { rangeAllocator: RANGES[choices.ranges as RangesName] }
        : {}),
      ...(choices.heap === "malloc"
        ? { malloc: (kv) => new Malloc(kv, policy === undefined ? {} : { policy }) }
        : {}),
      ...(choices.heap === "slab" ? { malloc: slabHeap } : {}),
    };
  },
  physical(stack) {
    const { allocators } = stack as Stack;
    const physical = allocators.physical;
    return {
      usable: allocators.usablePages,
      free: physical.freePages,
      // The default PageRanges keeps its range allocator in `ranges`; its
      // states() is one byte per frame, so the run is one scan.
      largestFreeRun: () => {
        const ranges = (physical as { ranges?: { states?: () => Uint8Array } }).ranges;
        return ranges?.states ? longestZeroRun(ranges.states()) : Number.NaN;
      },
    };
  },
  kernelVirtualPages(stack) {
    const kernel = (stack as Stack).allocators.kernel;
    return kernel.size / PAGE_SIZE - kernel.freePages;
  },
  kernelPages(stack) {
    const kv = (stack as Stack).kv;
    return { alloc: (n) => kv.kvmalloc(n), free: (va, n) => kv.kvfree(va, n) };
  },
};

/**
 * Hooks by design name. A design missing here runs with none: the lead adds
 * Whitix's and Linux's as they are registered in `DESIGNS`.
 */
export const DESIGN_HOOKS: Readonly<Record<string, DesignHooks>> = {
  hobby,
  // Whitix: its kernel heap is the slab on VirtMapPhysRange; frames from a page allocator.
  whitix: {
    heaps: ["slab"],
    physical(stack) {
      const { allocators } = stack.design as Whitix;
      return { usable: allocators.usablePages, free: allocators.physical.freePages };
    },
    kernelPages(stack) {
      const source = whitixPageSource(stack.design as Whitix);
      return { alloc: (n) => source.allocPages(n), free: (va, n) => source.freePages(va, n) };
    },
  },
  // Linux: kmalloc on the direct map; frames from the zones; kernel pages are __va of low frames.
  linux: {
    heaps: ["slab"],
    physical(stack) {
      const zones = (stack.design as LinuxPaging).zones.zones;
      return {
        usable: zones.reduce((a, z) => a + z.presentPages, 0),
        free: zones.reduce((a, z) => a + z.freePages, 0),
      };
    },
    kernelPages(stack) {
      const source = linuxPageSource(stack.design as LinuxPaging);
      return { alloc: (n) => source.allocPages(n), free: (va, n) => source.freePages(va, n) };
    },
  },
};

/** The hooks of `design` (an empty set for a design that has none). */
export function hooksOf(design: string): DesignHooks {
  return Object.hasOwn(DESIGN_HOOKS, design) ? DESIGN_HOOKS[design]! : {};
}

/** The longest run of 0 (free) bytes in `states`. */
export function longestZeroRun(states: Uint8Array): number {
  let best = 0;
  let run = 0;
  for (const s of states) {
    run = s === 0 ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}
