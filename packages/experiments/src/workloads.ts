/**
 * The workloads, each written against `PagingDesign` and the design's heap
 * only (plus the optional hooks), so every registered design runs them.
 * Each one calls `meter.endPhase()` after its setup, its run and its
 * teardown, and `meter.sample()` after every step that may change what the
 * design holds. Running out of memory stops the workload with an
 * {@link OutOfMemory}, which the runner reports in the row.
 *
 * @module
 */
import { PAGE_SIZE as PAGE, PTE } from "@mm386/hw-i386";
import type { DesignStack } from "@mm386/malloc";
import { parseTrace } from "@mm386/malloc";
import type { Combination, WorkloadName } from "./api.js";
import type { DesignHooks, KernelPages } from "./hooks.js";
import type { Meter } from "./measure.js";

/** A workload ran out of memory: where, in words. */
export class OutOfMemory extends Error {
  /** Always `"OutOfMemory"`. */
  override readonly name = "OutOfMemory";
}

/** xorshift32: the same seed, the same sequence, in every worker. Returns [0, 1). */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** What a workload gets: the booted stack, its hooks, the meter and the combination. */
export interface WorkloadContext {
  /** The fresh stack. */
  readonly stack: DesignStack;
  /** The design's hooks. */
  readonly hooks: DesignHooks;
  /** Counts as the workload goes. */
  readonly meter: Meter;
  /** The combination being run. */
  readonly combo: Combination;
}

/** A non-null value, or an {@link OutOfMemory} saying what ran out. */
function need<T>(value: T | null, what: string): T {
  if (value === null) throw new OutOfMemory(`out of memory: ${what}`);
  return value;
}

/**
 * Kernel pages through `PagingDesign` alone, as a plain kvmalloc does it: n
 * frames one by one (they need not be consecutive), n consecutive kernel
 * virtual pages, mapped. All or nothing: a failure gives back what it took.
 */
export function designKernelPages(stack: DesignStack): KernelPages {
  const d = stack.design;
  const frames = new Map<number, number[]>();
  return {
    alloc(n) {
      const va = d.allocKernelRegion(n);
      if (va === null) return null;
      const got: number[] = [];
      const undo = () => {
        d.unmap(null, va, got.length);
        for (const f of got) d.freeFrames(f, 1);
        d.freeKernelRegion(va, n);
        return null;
      };
      for (let i = 0; i < n; i++) {
        const f = d.allocFrames(1);
        if (f === null) return undo();
        if (!d.map(null, va + i * PAGE, f, 1, PTE.P | PTE.RW)) {
          d.freeFrames(f, 1);
          return undo();
        }
        got.push(f);
      }
      frames.set(va, got);
      return va;
    },
    free(va, n) {
      d.unmap(null, va, n);
      for (const f of frames.get(va) ?? []) d.freeFrames(f, 1);
      frames.delete(va);
      d.freeKernelRegion(va, n);
    },
  };
}

/**
 * `spaces`: N address spaces of M user pages each (one frame per page);
 * then R rounds, each switching to every space in turn and touching every
 * page (a write, then a read, at CPL 3); then every space unmapped, its
 * frames freed and the space destroyed.
 *
 * Hand-worked, with an unbounded TLB and N >= 2: the run phase loads CR3
 * N*R times and makes 2*N*R*M accesses; each switch drops the user entries,
 * so each page's write misses and walks once and its read hits: N*R*M walks,
 * N*R*M misses, N*R*M hits.
 */
export function spacesWorkload({ stack, meter, combo }: WorkloadContext): void {
  const d = stack.design;
  const { spaces: n, pages: m, rounds } = combo.sizes;
  const made: { space: ReturnType<typeof d.createAddressSpace>; frames: number[] }[] = [];
  const teardown = () => {
    d.switchTo(d.reference);
    for (const { space, frames } of made) {
      d.unmap(space, d.userStart, frames.length);
      for (const f of frames) d.freeFrames(f, 1);
      d.destroyAddressSpace(space!);
      meter.sample();
    }
  };
  try {
    for (let s = 0; s < n; s++) {
      const space = need(d.createAddressSpace(), `address space ${s + 1} of ${n}`);
      const entry = { space, frames: [] as number[] };
      made.push(entry);
      for (let p = 0; p < m; p++) {
        const f = need(d.allocFrames(1), `frame for page ${p + 1} of space ${s + 1}`);
        if (!d.map(space, d.userStart + p * PAGE, f, 1, PTE.P | PTE.RW | PTE.US)) {
          d.freeFrames(f, 1);
          throw new OutOfMemory(`out of memory: page table for page ${p + 1} of space ${s + 1}`);
        }
        entry.frames.push(f);
        meter.sample();
      }
    }
  } catch (e) {
    // Give back what was made so the figures after it still mean something;
    // the run phase is empty.
    meter.endPhase();
    meter.endPhase();
    teardown();
    meter.endPhase();
    throw e;
  }
  meter.endPhase();
  for (let r = 0; r < rounds; r++) {
    for (const { space, frames } of made) {
      d.switchTo(space!);
      for (let p = 0; p < frames.length; p++) {
        const va = d.userStart + p * PAGE;
        d.write32(va, (r * 0x10000 + p) >>> 0, 3);
        d.read32(va, 3);
      }
    }
  }
  meter.endPhase();
  teardown();
  meter.endPhase();
}

/**
 * A physically contiguous run of `n` frames mapped at a fresh kernel region
 * (a DMA buffer, Linux's alloc_pages(order)): what the physical range
 * allocator's placement decides, unlike kvmalloc's frames one by one. All or
 * nothing.
 */
function contiguousPages(stack: DesignStack): KernelPages {
  const d = stack.design;
  const phys = new Map<number, number>();
  return {
    alloc(n) {
      const f = d.allocFrames(n);
      if (f === null) return null;
      const va = d.allocKernelRegion(n);
      if (va === null) {
        d.freeFrames(f, n);
        return null;
      }
      if (!d.map(null, va, f, n, PTE.P | PTE.RW)) {
        d.freeKernelRegion(va, n);
        d.freeFrames(f, n);
        return null;
      }
      phys.set(va, f);
      return va;
    },
    free(va, n) {
      d.unmap(null, va, n);
      d.freeKernelRegion(va, n);
      d.freeFrames(phys.get(va)!, n);
      phys.delete(va);
    },
  };
}

/**
 * `kernel-alloc`: `ops` seeded steps. Each frees a random live allocation
 * (45%, when there is one), or takes: kernel pages from the design's
 * kvmalloc (20%: 1, 2, 4, 8 or 16 pages, small sizes likelier; frames need
 * not be consecutive), a physically contiguous run (15%, the same sizes),
 * or a small object from the design's heap (20%: 16 to 2048 bytes). Every
 * page taken is written at CPL 0, an object's first word too. Everything
 * still live is freed at the end.
 */
export function kernelAllocWorkload({ stack, hooks, meter, combo }: WorkloadContext): void {
  const d = stack.design;
  const kinds = {
    pages: hooks.kernelPages?.(stack) ?? designKernelPages(stack),
    contiguous: contiguousPages(stack),
  };
  const rand = seededRandom(combo.seed);
  const runSizes = [1, 1, 1, 2, 2, 4, 8, 16];
  type Live =
    { kind: "pages" | "contiguous"; va: number; n: number } | { kind: "object"; ptr: number };
  const live: Live[] = [];
  const release = (x: Live) => {
    if (x.kind === "object") stack.heap.free(x.ptr);
    else kinds[x.kind].free(x.va, x.n);
  };
  meter.endPhase(); // nothing to set up
  let oom: OutOfMemory | null = null;
  try {
    for (let i = 0; i < combo.sizes.ops; i++) {
      const r = rand();
      if (live.length > 0 && r < 0.45) {
        const [x] = live.splice(Math.floor(rand() * live.length), 1);
        release(x!);
      } else if (r < 0.8) {
        const kind = r < 0.65 ? "pages" : "contiguous";
        const n = runSizes[Math.floor(rand() * runSizes.length)]!;
        const va = need(kinds[kind].alloc(n), `${kind}: ${n} at step ${i + 1}`);
        live.push({ kind, va, n });
        for (let p = 0; p < n; p++) d.write32(va + p * PAGE, i, 0);
      } else {
        const size = 16 + Math.floor(rand() * 2033);
        const ptr = need(stack.heap.malloc(size), `malloc(${size}) at step ${i + 1}`);
        live.push({ kind: "object", ptr });
        d.write32(ptr, i, 0);
      }
      meter.sample();
    }
  } catch (e) {
    if (!(e instanceof OutOfMemory)) throw e;
    oom = e;
  }
  meter.endPhase();
  for (const x of live.splice(0)) {
    release(x);
    meter.sample();
  }
  meter.endPhase();
  if (oom) throw oom;
}

/**
 * `malloc`: the combination's trace through the design's heap: `a` is
 * malloc (its first word written at CPL 0, as a caller would), `r` is
 * realloc (the same), `f` is free. A trace frees what it allocates, so the
 * teardown phase is empty.
 */
export function mallocWorkload({ stack, meter, combo }: WorkloadContext): void {
  const d = stack.design;
  const trace = parseTrace(combo.traceText ?? "", combo.trace);
  const ptr = new Map<number, number>();
  meter.endPhase();
  let oom: OutOfMemory | null = null;
  try {
    for (const op of trace.ops) {
      if (op.kind === "a") {
        const p = need(stack.heap.malloc(op.size), `malloc(${op.size}) at line ${op.line}`);
        ptr.set(op.id, p);
        if (op.size >= 4) d.write32(p, op.id, 0);
      } else if (op.kind === "f") {
        stack.heap.free(ptr.get(op.id)!);
        ptr.delete(op.id);
      } else {
        const p = stack.heap.realloc(ptr.get(op.id)!, op.size);
        if (op.size === 0) {
          ptr.delete(op.id);
        } else {
          ptr.set(op.id, need(p, `realloc to ${op.size} at line ${op.line}`));
          if (op.size >= 4) d.write32(p!, op.id, 0);
        }
      }
      meter.sample();
    }
  } catch (e) {
    if (!(e instanceof OutOfMemory)) throw e;
    oom = e;
  }
  meter.endPhase();
  for (const p of ptr.values()) stack.heap.free(p);
  meter.endPhase();
  if (oom) throw oom;
}

/**
 * `tlb`: one address space with `pages` user pages (one frame each),
 * switched to; then `touches` reads at CPL 3, each of a page picked with
 * the seed: 3 in 4 from the first `hot` pages, the rest from all of them.
 * A TLB holding the hot set hits on most of the first kind.
 */
export function tlbWorkload({ stack, meter, combo }: WorkloadContext): void {
  const d = stack.design;
  const { pages, touches } = combo.sizes;
  const hot = Math.min(combo.sizes.hot, pages);
  const space = need(d.createAddressSpace(), "the address space");
  const frames: number[] = [];
  const teardown = () => {
    d.switchTo(d.reference);
    d.unmap(space, d.userStart, frames.length);
    for (const f of frames) d.freeFrames(f, 1);
    d.destroyAddressSpace(space);
  };
  try {
    for (let p = 0; p < pages; p++) {
      const f = need(d.allocFrames(1), `frame for page ${p + 1} of ${pages}`);
      if (!d.map(space, d.userStart + p * PAGE, f, 1, PTE.P | PTE.RW | PTE.US)) {
        d.freeFrames(f, 1);
        throw new OutOfMemory(`out of memory: page table for page ${p + 1} of ${pages}`);
      }
      frames.push(f);
      meter.sample();
    }
  } catch (e) {
    meter.endPhase();
    meter.endPhase();
    teardown();
    meter.endPhase();
    throw e;
  }
  d.switchTo(space);
  meter.endPhase();
  const rand = seededRandom(combo.seed);
  for (let t = 0; t < touches; t++) {
    const r = rand();
    const p = r < 0.75 ? Math.floor((r / 0.75) * hot) : Math.floor(rand() * pages);
    d.read32(d.userStart + p * PAGE, 3);
  }
  meter.endPhase();
  teardown();
  meter.endPhase();
}

/** A workload: runs on a fresh stack, closing its three phases on the meter. */
export type WorkloadRunner = (ctx: WorkloadContext) => void;

/** The workloads by name. */
export const WORKLOAD_RUNNERS: Readonly<Record<WorkloadName, WorkloadRunner>> = {
  spaces: spacesWorkload,
  "kernel-alloc": kernelAllocWorkload,
  malloc: mallocWorkload,
  tlb: tlbWorkload,
};
