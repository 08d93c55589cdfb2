/**
 * The vocabulary of the experiments: what one combination is, what one row
 * measures, and the typed error every bad option becomes.
 *
 * ```
 *  experiment WORKLOAD --designs a,b --tlb t1,t2 --ranges r1,r2 ...
 *        |
 *        v  one Combination per design x tlb x ranges x heap x policy x trace
 *  [combo 0] [combo 1] ...      each in a fresh stack, same seed, maybe on a worker
 *        |
 *        v  one Row per combination, in combination order
 *  counters from the MMU (stats and flush events) and peaks from the design
 * ```
 *
 * @module
 */

/** The string a row shows for an option or a figure the design does not have. */
export const NOT_APPLICABLE = "n/a" as const;

/** Codes carried by {@link ExperimentError}. */
export const EXPERIMENT_ERROR = {
  /** An option value that is not one of the accepted ones (the message names it). */
  BAD_OPTION: "E_BAD_OPTION",
  /** An option that the chosen workload does not take. */
  NOT_APPLICABLE: "E_NOT_APPLICABLE",
  /** A trace file that cannot be read or parsed. */
  BAD_TRACE: "E_BAD_TRACE",
} as const;

/** One of the {@link EXPERIMENT_ERROR} codes. */
export type ExperimentErrorCode = (typeof EXPERIMENT_ERROR)[keyof typeof EXPERIMENT_ERROR];

/** A refused option: the message names the value. Nothing has run when it is thrown. */
export class ExperimentError extends Error {
  /** Always `"ExperimentError"`. */
  override readonly name = "ExperimentError";
  constructor(
    /** Machine-readable reason. */
    readonly code: ExperimentErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** The workloads, by name, with one line each for `--help`. */
export const WORKLOADS = {
  /** N address spaces of M pages each, switched round-robin R times, then destroyed. */
  spaces:
    "create --spaces N address spaces, map --pages M pages in each, switch between them round-robin --rounds R times touching every page, destroy them",
  /** Mixed kernel page allocations and small heap objects, freed in a seeded order. */
  "kernel-alloc":
    "--ops seeded kernel allocations and frees of mixed sizes: runs of pages (the design's kvmalloc/vmalloc) and small objects from its heap",
  /** The heap on malloc-lab traces, from files or generated with the seed. */
  malloc:
    "the kernel heap on malloc-lab traces (--trace FILE,...) or on one generated from --seed with --ops operations",
  /** One address space touched with a seeded hot/cold pattern, meant for several TLB shapes. */
  tlb: "map --pages pages in one address space and make --touches seeded accesses (3 in 4 to the first --hot pages); by default under several TLB shapes",
} as const;

/** One of the {@link WORKLOADS} names. */
export type WorkloadName = keyof typeof WORKLOADS;

/** The sizes of a workload (each workload reads the ones it takes). */
export interface WorkloadSizes {
  /** Address spaces (`spaces`). */
  readonly spaces: number;
  /** Pages per address space (`spaces`), or pages mapped (`tlb`). */
  readonly pages: number;
  /** Round-robin rounds (`spaces`). */
  readonly rounds: number;
  /** Operations (`kernel-alloc`, generated `malloc` traces). */
  readonly ops: number;
  /** Accesses (`tlb`). */
  readonly touches: number;
  /** Pages of the hot set (`tlb`). */
  readonly hot: number;
}

/**
 * One point of the experiment: everything a worker needs to build a fresh
 * stack and run the workload on it. Plain strings and numbers only, so that
 * it crosses to a worker thread as it is.
 */
export interface Combination {
  /** Position in combination order (rows come out in this order). */
  readonly index: number;
  /** The workload. */
  readonly workload: WorkloadName;
  /** The design (a key of `DESIGNS` in @mm386/malloc). */
  readonly design: string;
  /** The TLB: `unbounded` or `ENTRIES:WAYS:lru|fifo|random`. */
  readonly tlb: string;
  /** The physical page allocator's range allocator, or `"n/a"`. */
  readonly ranges: string;
  /** The heap, or `"n/a"`. */
  readonly heap: string;
  /** The default heap's placement policy, or `"n/a"`. */
  readonly policy: string;
  /** The trace's name (`malloc`), or `"n/a"`. */
  readonly trace: string;
  /** The trace's text in malloc-lab format (`malloc` only). */
  readonly traceText?: string;
  /** Installed RAM in MiB. */
  readonly ramMib: number;
  /** Seed of every pseudo-random choice (trace generation, access patterns, random TLB replacement). */
  readonly seed: number;
  /** The workload's sizes. */
  readonly sizes: WorkloadSizes;
}

/** TLB invalidations by kind, from the MMU's flush events. */
export interface FlushCounts {
  /** CR3 loads (address-space switches). */
  readonly cr3: number;
  /** invlpg instructions. */
  readonly invlpg: number;
  /** Full flushes: CR0 or CR4 changes that drop every entry. */
  readonly full: number;
}

/** What the MMU counted over some stretch of a workload. */
export interface Counters {
  /** Linear memory accesses (a page-crossing access counts once). */
  readonly mmuAccesses: number;
  /** Page walks. */
  readonly walks: number;
  /** Accesses that found no cached translation. */
  readonly tlbMisses: number;
  /** Accesses served by a cached translation. */
  readonly tlbHits: number;
  /** tlbHits / (tlbHits + tlbMisses), or null when there were no lookups. */
  readonly tlbHitRate: number | null;
  /** Page faults raised (demand paging, lazy kernel PDEs). */
  readonly faults: number;
  /** TLB invalidations by kind. */
  readonly flushes: FlushCounts;
}

/** Counters per phase of a workload: setup, the measured run, teardown. */
export interface PhaseCounters {
  /** Building what the run uses (address spaces, mappings). */
  readonly setup: Counters;
  /** The workload proper. */
  readonly run: Counters;
  /** Giving everything back. */
  readonly teardown: Counters;
}

/**
 * One combination's results. The combination's parts are strings (`"n/a"`
 * where the design does not have that option); counters are deterministic
 * for a seed; `wallMs` is apart, the only figure that is not.
 */
export interface Row extends Counters {
  /** Position in combination order. */
  readonly index: number;
  /** The workload. */
  readonly workload: string;
  /** The design. */
  readonly design: string;
  /** The TLB shape. */
  readonly tlb: string;
  /** The range allocator under the physical page allocator, or `"n/a"`. */
  readonly ranges: string;
  /** The heap, or `"n/a"`. */
  readonly heap: string;
  /** The heap's placement policy, or `"n/a"`. */
  readonly policy: string;
  /** The trace, or `"n/a"`. */
  readonly trace: string;
  /** Installed RAM in MiB. */
  readonly ramMib: number;
  /** The seed. */
  readonly seed: number;
  /** The most page-directory and page-table frames held at a phase boundary, or null if not measurable. */
  readonly pageTablePages: number | null;
  /** The most physical pages in use at once (page tables included), or null if the design does not say. */
  readonly physicalPages: number | null;
  /** The most kernel virtual pages in use at once, or null if the design does not say. */
  readonly kernelVirtualPages: number | null;
  /** 1 - largest free physical run / free physical pages, at the end of the run phase; null if unknown. */
  readonly fragmentation: number | null;
  /** The same counters, phase by phase. */
  readonly phases: PhaseCounters;
  /** True when the workload ran out of memory (the row says where in `error`). */
  readonly outOfMemory: boolean;
  /** Why the workload stopped early, or null. */
  readonly error: string | null;
  /** Median wall time of one run in milliseconds (stack boot excluded). */
  readonly wallMs: number;
  /** How many timed runs the median is of. */
  readonly runs: number;
}
