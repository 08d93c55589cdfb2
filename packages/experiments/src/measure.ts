/**
 * Counting: the MMU's own counters and flush events per phase, the peaks
 * of what the design holds, and page-table frames read from the tables.
 *
 * ```
 *  mmu.stats (hits, misses, walks, faults, accesses)  --+
 *  mmu.subscribe(flush events by reason)               --+--> Counters per phase
 *  hooks.physical / kernelVirtualPages after each step --> peaks
 *  the directories of design.addressSpaces(), read      --> page-table frames
 *  through the RAM inspection API at phase boundaries
 * ```
 *
 * @module
 */
import {
  CR4,
  ENTRIES_PER_TABLE,
  type MmuStats,
  PDE,
  type Tlb,
  UnboundedTlb,
  SetAssociativeTlb,
} from "@mm386/hw-i386";
import type { DesignStack } from "@mm386/malloc";
import type { Counters, FlushCounts } from "./api.js";
import type { DesignHooks } from "./hooks.js";

/** Counters in the MMU at one moment, with flushes by kind. */
interface Snapshot {
  readonly stats: MmuStats;
  readonly flushes: FlushCounts;
}

/** The difference `b - a` as {@link Counters}. */
function between(a: Snapshot, b: Snapshot): Counters {
  const hits = b.stats.tlbHits - a.stats.tlbHits;
  const misses = b.stats.tlbMisses - a.stats.tlbMisses;
  return {
    mmuAccesses: b.stats.accesses - a.stats.accesses,
    walks: b.stats.walks - a.stats.walks,
    tlbMisses: misses,
    tlbHits: hits,
    tlbHitRate: hits + misses === 0 ? null : hits / (hits + misses),
    faults: b.stats.faults - a.stats.faults,
    flushes: {
      cr3: b.flushes.cr3 - a.flushes.cr3,
      invlpg: b.flushes.invlpg - a.flushes.invlpg,
      full: b.flushes.full - a.flushes.full,
    },
  };
}

/** The sum of several {@link Counters}. */
export function sumCounters(parts: readonly Counters[]): Counters {
  const add = (f: (c: Counters) => number) => parts.reduce((s, c) => s + f(c), 0);
  const hits = add((c) => c.tlbHits);
  const misses = add((c) => c.tlbMisses);
  return {
    mmuAccesses: add((c) => c.mmuAccesses),
    walks: add((c) => c.walks),
    tlbMisses: misses,
    tlbHits: hits,
    tlbHitRate: hits + misses === 0 ? null : hits / (hits + misses),
    faults: add((c) => c.faults),
    flushes: {
      cr3: add((c) => c.flushes.cr3),
      invlpg: add((c) => c.flushes.invlpg),
      full: add((c) => c.flushes.full),
    },
  };
}

/**
 * Watches one stack while a workload runs: counters per phase from the MMU,
 * and the peaks of what the design holds. Starts counting when made (after
 * boot: booting is the same for every combination of a design).
 */
export class Meter {
  private readonly flushes = { cr3: 0, invlpg: 0, full: 0 };
  declare private readonly unsubscribe: () => void;
  declare private mark: Snapshot;
  private readonly phases: Counters[] = [];
  /** Most physical pages in use at a sample, or null if the design does not say. */
  physicalPeak: number | null = null;
  /** Most kernel virtual pages in use at a sample, or null. */
  kernelVirtualPeak: number | null = null;
  /** Most page-table frames at a phase boundary, or null. */
  pageTablePeak: number | null = null;
  /** 1 - largest free run / free frames when the run phase ended, or null. */
  fragmentation: number | null = null;

  constructor(
    private readonly stack: DesignStack,
    private readonly hooks: DesignHooks,
  ) {
    stack.mmu.resetStats();
    // Only flush events are kept: the MMU's stats already count the rest.
    this.unsubscribe = stack.mmu.subscribe((e) => {
      if (e.type !== "flush") return;
      if (e.reason === "cr3") this.flushes.cr3++;
      else if (e.reason === "invlpg") this.flushes.invlpg++;
      else if (e.reason === "cr0" || e.reason === "cr4") this.flushes.full++;
    });
    this.mark = this.now();
    this.sample();
    this.sampleTables();
  }

  private now(): Snapshot {
    return { stats: this.stack.mmu.stats, flushes: { ...this.flushes } };
  }

  /** Record what the design holds now (cheap: call it after every step). */
  sample(): void {
    const p = this.hooks.physical?.(this.stack);
    if (p !== undefined) this.physicalPeak = Math.max(this.physicalPeak ?? 0, p.usable - p.free);
    const k = this.hooks.kernelVirtualPages?.(this.stack);
    if (k !== undefined) this.kernelVirtualPeak = Math.max(this.kernelVirtualPeak ?? 0, k);
  }

  /** Count page-table frames now (reads every directory: call it at phase boundaries). */
  sampleTables(): void {
    this.pageTablePeak = Math.max(this.pageTablePeak ?? 0, countPageTablePages(this.stack));
  }

  /** Close the current phase: its counters, and the page tables held at its end. */
  endPhase(): void {
    const now = this.now();
    this.phases.push(between(this.mark, now));
    this.mark = now;
    this.sample();
    this.sampleTables();
    // The run phase just ended: the moment the workload's allocations have
    // churned the most and not yet been given back.
    if (this.phases.length === 2) this.fragmentation = this.measureFragmentation();
  }

  private measureFragmentation(): number | null {
    const p = this.hooks.physical?.(this.stack);
    const largest = p?.largestFreeRun?.();
    if (p === undefined || largest === undefined || !Number.isFinite(largest) || p.free === 0)
      return null;
    return 1 - largest / p.free;
  }

  /** The phases closed so far, padded with empty phases up to three (a run that stopped early). */
  finish(): [Counters, Counters, Counters] {
    this.unsubscribe();
    const empty = between(this.mark, this.mark);
    const [a = empty, b = empty, c = empty] = this.phases;
    return [a, b, c];
  }
}

/**
 * Page-directory and page-table frames of every live address space, read
 * from the tables themselves through the RAM inspection API (so it needs
 * nothing of the design but its address spaces). A table shared by every
 * directory (the kernel half) counts once; a PDE that points back at a
 * directory (Whitix's recursive slot) is not a table; a 4 MiB page is not
 * one either.
 */
export function countPageTablePages(stack: DesignStack): number {
  const ram = stack.machine.ram;
  const pse = (stack.mmu.cr4 & CR4.PSE) !== 0;
  const dirs = new Set(stack.design.addressSpaces().map((s) => (s.cr3 & ~0xfff) >>> 0));
  const tables = new Set<number>();
  for (const dir of dirs) {
    for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
      const pde = ram.read32(dir + 4 * i);
      if ((pde & PDE.P) === 0 || (pse && (pde & PDE.PS) !== 0)) continue;
      const frame = (pde & ~0xfff) >>> 0;
      if (!dirs.has(frame)) tables.add(frame);
    }
  }
  return dirs.size + tables.size;
}

/** `--tlb unbounded`: the machine's default TLB, which never evicts. */
export interface UnboundedTlbSpec {
  /** Discriminant. */
  readonly kind: "unbounded";
}

/** `--tlb ENTRIES:WAYS:REPLACEMENT`: a `SetAssociativeTlb`. */
export interface SetAssociativeTlbSpec {
  /** Discriminant. */
  readonly kind: "set-associative";
  /** Total entries. */
  readonly entries: number;
  /** Entries per set (dividing `entries`). */
  readonly ways: number;
  /** Which entry of a full set goes. */
  readonly replacement: "lru" | "fifo" | "random";
}

/** A parsed `--tlb` value. */
export type TlbSpec = UnboundedTlbSpec | SetAssociativeTlbSpec;

/** Parse `unbounded` or `ENTRIES:WAYS:lru|fifo|random`; null if it is neither. */
export function parseTlbSpec(text: string): TlbSpec | null {
  if (text === "unbounded") return { kind: "unbounded" };
  const m = /^([0-9]{1,6}):([0-9]{1,6}):(lru|fifo|random)$/.exec(text);
  if (m === null) return null;
  const entries = Number(m[1]);
  const ways = Number(m[2]);
  if (entries < 1 || ways < 1 || ways > entries || entries % ways !== 0) return null;
  return { kind: "set-associative", entries, ways, replacement: m[3] as "lru" | "fifo" | "random" };
}

/** A factory of fresh TLBs of shape `spec`; random replacement is seeded with `seed`. */
export function tlbFactory(spec: TlbSpec, seed: number): () => Tlb {
  if (spec.kind === "unbounded") return () => new UnboundedTlb();
  const { entries, ways, replacement } = spec;
  return () => new SetAssociativeTlb({ entries, ways, replacement, seed: seed >>> 0 || 1 });
}
