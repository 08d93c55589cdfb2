/**
 * Malloc traces in the CS:APP malloc lab's `.rep` format, run on a freshly
 * booted stack.
 *
 * ```
 *  20000        suggested heap size (bytes)
 *  3            number of ids
 *  5            number of operations
 *  1            weight
 *  a 0 512      id 0 = malloc(512)
 *  a 1 128
 *  r 0 640      id 0 = realloc(id 0, 640)
 *  f 1          free(id 1)
 *  f 0
 * ```
 *
 * A run is checked the way the lab's driver checks it: every block aligned,
 * inside the heap, not overlapping a live block, and keeping its payload (a
 * pattern written through the MMU is checked before free and after realloc).
 * Speed is measured on a second run without the checks. Utilization is the
 * largest live payload seen divided by the largest footprint (the kernel
 * virtual pages the heap held, times 4096).
 *
 * @module
 */
import { type KernelPageAllocator, Kvmalloc } from "@mm386/kvmalloc";
import type { Paging } from "@mm386/paging";
import { PAGE_SIZE, type Mmu } from "@mm386/hw-i386";
import type { HeapAllocator, HeapAllocatorFactory, PolicyFactory } from "./api.js";
import { Malloc } from "./heap.js";
import { type StackOptions, createStack } from "./stack.js";

/** `a ID SIZE`: id = malloc(size). */
export interface TraceAlloc {
  /** Discriminant. */
  readonly kind: "a";
  /** The id the block is known by. */
  readonly id: number;
  /** Bytes requested. */
  readonly size: number;
  /** Line in the trace file, from 1. */
  readonly line: number;
}

/** `f ID`: free(id). */
export interface TraceFree {
  /** Discriminant. */
  readonly kind: "f";
  /** The id of the block to free. */
  readonly id: number;
  /** Line in the trace file, from 1. */
  readonly line: number;
}

/** `r ID SIZE`: id = realloc(id, size). */
export interface TraceRealloc {
  /** Discriminant. */
  readonly kind: "r";
  /** The id of the block to resize. */
  readonly id: number;
  /** Bytes requested. */
  readonly size: number;
  /** Line in the trace file, from 1. */
  readonly line: number;
}

/** One operation of a trace, with the line it came from. */
export type TraceOp = TraceAlloc | TraceFree | TraceRealloc;

/** A parsed trace. */
export interface Trace {
  /** Name used in results and errors (usually the file name). */
  readonly name: string;
  /**
   * The suggested heap size from the header, in bytes; for a two-line header
   * (which has none), the trace's largest live payload.
   */
  readonly heapSize: number;
  /** Number of ids the header declares. */
  readonly ids: number;
  /** The header's weight (1 for a two-line header, which has none). */
  readonly weight: number;
  /** The operations, in order. */
  readonly ops: readonly TraceOp[];
}

/** A malformed trace: the message names the trace and the line. */
export class TraceError extends Error {
  /** Always `"TraceError"`. */
  override readonly name = "TraceError";
  /** Always `"E_TRACE"`. */
  readonly code = "E_TRACE";
}

/** Largest header number: the malloc lab's driver reads them with `%d`. */
const INT_MAX = 2 ** 31 - 1;

/**
 * Parse the text of a `.rep` trace; `name` appears in errors. A malformed
 * trace is a {@link TraceError} naming the line.
 *
 * The header is CS:APP's four lines (suggested heap size, number of ids,
 * number of operations, weight), or the two lines (number of ids, number of
 * operations) that some public copies of the same traces have: a third line
 * that is an operation marks the short form, which gets weight 1 and, as its
 * suggested heap size, the trace's own largest live payload.
 */
export function parseTrace(text: string, name = "trace"): Trace {
  const lines = text.split(/\r?\n/);
  const fail = (line: number, what: string): never => {
    throw new TraceError(`${name}: line ${line}: ${what}`);
  };
  const header: number[] = [];
  let i = 0;
  const full = ["suggested heap size", "number of ids", "number of operations", "weight"];
  // The short form: its third non-empty line is already an operation.
  let third = "";
  for (let k = 0, seen = 0; k < lines.length && seen < 3; k++) {
    const t = lines[k]!.trim();
    if (t !== "" && ++seen === 3) third = t;
  }
  const short = /^[afr]\s/.test(third);
  const labels = short ? full.slice(1, 3) : full;
  while (header.length < labels.length) {
    if (i >= lines.length)
      fail(
        i,
        `the header needs 4 lines (${full.join(", ")}) or 2 (${full[1]}, ${full[2]}), found ${header.length}`,
      );
    const t = lines[i]!.trim();
    i++;
    if (t === "") continue;
    if (!/^\d+$/.test(t))
      fail(i, `${labels[header.length]} must be a non-negative integer, got "${t}"`);
    // The lab's driver reads every header number as a C int.
    if (Number(t) > INT_MAX)
      fail(i, `${labels[header.length]} ${t} is too large (at most ${INT_MAX}, a C int)`);
    header.push(Number(t));
  }
  if (short) {
    header.unshift(0);
    header.push(1);
  }
  const [suggested, ids, count, weight] = header as [number, number, number, number];
  // The ids in use and their sizes, not one slot per declared id: a header may
  // declare 2^31 - 1 ids for a trace of three operations. The live payload's
  // peak is the short form's suggested heap size.
  const liveSize = new Map<number, number>();
  const ops: TraceOp[] = [];
  let live = 0;
  let peak = 0;
  for (; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === "") continue;
    const line = i + 1;
    const parts = t.split(/\s+/);
    const first = parts[0];
    if (first !== "a" && first !== "f" && first !== "r")
      return fail(line, `unknown operation "${first}" (a ID SIZE, f ID, r ID SIZE)`);
    const kind: "a" | "f" | "r" = first;
    const want = kind === "f" ? 2 : 3;
    if (parts.length !== want) fail(line, `"${t}" should have ${want} fields`);
    if (!/^\d+$/.test(parts[1]!)) fail(line, `id "${parts[1]}" is not a non-negative integer`);
    const id = Number(parts[1]);
    if (id >= ids) fail(line, `id ${id} is not below the header's ${ids} ids`);
    if (kind === "f") {
      if (!liveSize.has(id)) fail(line, `f ${id}: id ${id} is not allocated`);
      live -= liveSize.get(id)!;
      liveSize.delete(id);
      ops.push({ kind, id, line });
      continue;
    }
    if (!/^\d+$/.test(parts[2]!)) fail(line, `size "${parts[2]}" is not a non-negative integer`);
    const size = Number(parts[2]);
    if (size > 0xffff_ffff) fail(line, `size ${size} does not fit in 32 bits`);
    if (kind === "a" && liveSize.has(id)) fail(line, `a ${id}: id ${id} is allocated already`);
    if (kind === "r" && !liveSize.has(id)) fail(line, `r ${id}: id ${id} is not allocated`);
    // realloc(p, 0) frees p and returns null (HeapAllocator.realloc): the id
    // is free again, as it is for the runner, so a later `f ID` is a double
    // free and a later `a ID` is a fresh block.
    live += size - (liveSize.get(id) ?? 0);
    peak = Math.max(peak, live);
    if (kind === "r" && size === 0) liveSize.delete(id);
    else liveSize.set(id, size);
    ops.push({ kind, id, size, line });
  }
  if (ops.length !== count)
    fail(lines.length, `the header says ${count} operations, the trace has ${ops.length}`);
  return { name, heapSize: short ? peak : suggested, ids, weight, ops };
}

/** Options of {@link runTrace}. */
export interface TraceOptions {
  /** The placement policy of the default Malloc (default: segregated fits). */
  readonly policy?: PolicyFactory;
  /** Alignment (default 8); checked on every pointer. */
  readonly align?: 8 | 16;
  /** Any other layer of the stack, e.g. `malloc` to score your own heap. */
  readonly stack?: StackOptions;
  /**
   * Keep re-running the timed run until it has taken this many milliseconds
   * of CPU time (default 200). The warm-up before it runs at least half as
   * long, and at least 400,000 operations when that takes at most 5 times as
   * long (0: one untimed run, then one timed run).
   */
  readonly minTimeMs?: number;
}

/** One trace's results: the keys the malloc lab's driver reports, and simulated cost. */
export interface TraceResult {
  /** The trace's name. */
  readonly trace: string;
  /** The policy's name (the default Malloc), or the heap's name. */
  readonly policy: string;
  /** Operations in the trace. */
  readonly ops: number;
  /** Operations per second of CPU time (wall time where the host has no `process.cpuUsage`) on the runs without checks. */
  readonly opsPerSec: number;
  /** Largest live payload / largest footprint (0..1). */
  readonly utilization: number;
  /** Linear memory accesses the MMU made during one run without checks. */
  readonly mmuAccesses: number;
  /** TLB misses in that run. */
  readonly tlbMisses: number;
  /** Page walks in that run. */
  readonly walks: number;
  /** True if every check passed. */
  readonly valid: boolean;
  /** Why the run is not valid (absent when it is). */
  readonly error?: string;
}

/**
 * A kvmalloc that counts the pages it holds: the heap's footprint, whoever
 * wrote the heap, however it gets its pages (kvmalloc, or kvresize growing
 * or moving them). Reserved virtual pages are not counted: only mapped ones.
 */
class CountingPages implements KernelPageAllocator {
  declare readonly name: string;
  declare readonly mmu: Mmu;
  held = 0;
  peak = 0;
  /**
   * Live allocations: first page number to pages, so that a run's pages can
   * be reclaimed. (By page number, an int32: a kernel address is a double
   * to V8, which a Map boxes and hashes on its slow path, and this runs
   * inside the timed runs.)
   */
  private readonly live = new Map<number, number>();
  constructor(private readonly inner: KernelPageAllocator) {
    this.name = inner.name;
    this.mmu = inner.mmu;
    // Only when the inner allocator has one: without it, resizeKernelPages
    // falls back to kvmalloc + copy + kvfree on this wrapper, which counts
    // the moment both copies are held.
    if (inner.kvresize === undefined) this.kvresize = undefined;
  }
  private count(delta: number): void {
    this.held += delta;
    if (this.held > this.peak) this.peak = this.held;
  }
  kvmalloc(n: number, reserve?: number): number | null {
    const va = reserve === undefined ? this.inner.kvmalloc(n) : this.inner.kvmalloc(n, reserve);
    if (va !== null) {
      this.count(n);
      this.live.set(va >>> 12, n);
    }
    return va;
  }
  kvfree(addr: number, n: number): void {
    this.inner.kvfree(addr, n);
    this.held -= n;
    this.live.delete(addr >>> 12);
  }
  /** Give back every page still held (the heap of a finished run is dropped), and start counting afresh. */
  reclaim(): void {
    for (const [page, n] of this.live) this.inner.kvfree(page * PAGE_SIZE, n);
    this.live.clear();
    this.held = this.peak = 0;
  }
  kvresize?: (addr: number, n: number, m: number, mayMove: boolean) => number | null = (
    addr,
    n,
    m,
    mayMove,
  ) => {
    const va = this.inner.kvresize!(addr, n, m, mayMove);
    if (va !== null) {
      this.count(m - n);
      // Resized in place (most growths: the heap reserves room after its
      // blocks) is one update of the same key, not a delete and an insert.
      if (va !== addr) this.live.delete(addr >>> 12);
      this.live.set(va >>> 12, m);
    }
    return va;
  };
}

interface Booted {
  readonly heap: HeapAllocator;
  readonly pages: CountingPages;
  /** A fresh heap on the same machine and page counter (the same layers as `heap`). */
  readonly another: () => HeapAllocator;
}

/** RAM for a run: enough for the suggested heap size, with room for page tables and slack. */
function ramFor(trace: Trace): number {
  return Math.min(
    0xf000_0000,
    Math.max(64, Math.ceil((trace.heapSize * 3) / 2 ** 20) + 32) * 2 ** 20,
  );
}

/**
 * RAM for the timed runs, once the checked run has shown the heap's peak:
 * twice that, plus 16 MiB for the kernel image, page tables and slack, and
 * never more than the checked run had. The machine keeps its RAM in one
 * host array once a few thousand accesses have reached it, and making that
 * array (64 MiB by default) cost more than a small trace's operations; the
 * heap and every MMU access are the same whatever the size.
 */
function timedRamFor(trace: Trace, peakPages: number): number {
  return Math.min(ramFor(trace), Math.ceil((peakPages * PAGE_SIZE * 2) / 2 ** 20 + 16) * 2 ** 20);
}

function bootHeap(trace: Trace, options: TraceOptions, ram = ramFor(trace)): Booted {
  let pages: CountingPages | undefined;
  const make = options.stack?.kvmalloc ?? ((p: Paging) => new Kvmalloc(p));
  let factory: HeapAllocatorFactory | undefined;
  const { heap } = createStack({
    ramBytes: ram,
    ...options.stack,
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.align ? { align: options.align } : {}),
    kvmalloc: (p) => (pages = new CountingPages(make(p))),
    // The stack's own choice of heap, kept to make more of the same.
    malloc: (kv) => {
      const policy = options.policy ?? options.stack?.policy;
      const align = options.align ?? options.stack?.align;
      factory =
        options.stack?.malloc ??
        ((k) => new Malloc(k, { ...(policy ? { policy } : {}), ...(align ? { align } : {}) }));
      return factory(kv);
    },
  });
  return { heap, pages: pages!, another: () => factory!(pages!) };
}

/** The word expected at byte offset i (a multiple of 4) of block `id`. */
function pattern(id: number, i: number): number {
  return (Math.imul(id + 1, 0x9e37_79b1) ^ Math.imul(i, 0x85eb_ca6b)) >>> 0;
}

/** The byte expected at offset i: a byte of its word's pattern, so that a block that shrinks still matches. */
function patternByte(id: number, i: number): number {
  return (pattern(id, i & ~3) >>> ((i & 3) * 8)) & 0xff;
}

/**
 * One dense slot per id the trace uses, for each operation: ids may be
 * anything up to 2^53 (the header's count is only a bound), while the number
 * of distinct ids is at most the number of operations.
 */
interface Slots {
  /** The slot of operation i's id. */
  readonly of: Int32Array;
  /** The id of each slot. */
  readonly ids: readonly number[];
  /**
   * Operation i's kind ({@link OP_KIND}) and size (0 for a free), for the
   * timed runs: the ops themselves are objects of two shapes (a free has no
   * size), so reading `kind` and `size` off them was a load through two
   * maps and a pointer chase per operation, counted in the driver's ops/s.
   */
  readonly kinds: Uint8Array;
  /** Operation i's size in bytes (0 for a free). */
  readonly sizes: Float64Array;
}

/** Operation kinds in {@link Slots.kinds}. */
const OP_KIND = { MALLOC: 0, FREE: 1, REALLOC: 2 } as const;

function slotsOf(trace: Trace): Slots {
  const index = new Map<number, number>();
  const ids: number[] = [];
  const of = new Int32Array(trace.ops.length);
  const kinds = new Uint8Array(trace.ops.length);
  const sizes = new Float64Array(trace.ops.length);
  trace.ops.forEach((op, i) => {
    let slot = index.get(op.id);
    if (slot === undefined) {
      slot = ids.length;
      index.set(op.id, slot);
      ids.push(op.id);
    }
    of[i] = slot;
    if (op.kind === "f") kinds[i] = OP_KIND.FREE;
    else {
      kinds[i] = op.kind === "a" ? OP_KIND.MALLOC : OP_KIND.REALLOC;
      sizes[i] = op.size;
    }
  });
  return { of, ids, kinds, sizes };
}

/** The validity run: an error message (null if every check passed) and the largest live payload. */
function checkedRun(
  trace: Trace,
  slots: Slots,
  booted: Booted,
  alignTo: number,
): { error: string | null; peakPayload: number } {
  let peakPayload = 0;
  const error = checks(trace, slots, booted, alignTo, (live) => {
    peakPayload = Math.max(peakPayload, live);
  });
  return { error, peakPayload };
}

function checks(
  trace: Trace,
  slots: Slots,
  { heap, pages: kv }: Booted,
  alignTo: number,
  onLive: (payload: number) => void,
): string | null {
  const mmu = kv.mmu;
  let live = 0;
  // Indexed by slot; the pattern and the messages use the trace's own ids.
  const ptr = new Float64Array(slots.ids.length);
  const size = new Float64Array(slots.ids.length);
  const pages = new Map<number, Set<number>>();
  const span = (p: number, n: number): number[] => {
    const out: number[] = [];
    for (
      let pg = Math.floor(p / PAGE_SIZE);
      pg <= Math.floor((p + Math.max(n, 1) - 1) / PAGE_SIZE);
      pg++
    )
      out.push(pg);
    return out;
  };
  /** Write block `id`'s pattern at bytes `from` to `n` - 1 of `p` (words where whole ones fit). */
  const fill = (id: number, p: number, n: number, from: number) => {
    let i = from;
    for (; (i & 3) !== 0 && i < n; i++) mmu.write8(p + i, patternByte(id, i));
    for (; i + 4 <= n; i += 4) mmu.write32(p + i, pattern(id, i));
    for (; i < n; i++) mmu.write8(p + i, patternByte(id, i));
  };
  const intact = (id: number, p: number, n: number): boolean => {
    for (let i = 0; i + 4 <= n; i += 4) if (mmu.read32(p + i) !== pattern(id, i)) return false;
    for (let i = n & ~3; i < n; i++) if (mmu.read8(p + i) !== patternByte(id, i)) return false;
    return true;
  };
  /**
   * Check and record block `s` at `p` of `n` bytes, and fill it with its
   * pattern from byte `from` (a realloc's block already holds it before
   * that: checked by the caller, and the pattern depends on the offset,
   * not on where the block is).
   */
  const place = (op: TraceOp, s: number, p: number, n: number, from = 0): string | null => {
    if (p % alignTo !== 0) return `line ${op.line}: block ${p} is not aligned to ${alignTo}`;
    if (heap.contains !== undefined && !heap.contains(p, n))
      return `line ${op.line}: block [${p}, +${n}) is not inside the heap`;
    for (const pg of span(p, n)) {
      for (const other of pages.get(pg) ?? []) {
        if (
          other !== s &&
          p < ptr[other]! + Math.max(size[other]!, 1) &&
          ptr[other]! < p + Math.max(n, 1)
        ) {
          return `line ${op.line}: block of id ${op.id} overlaps live id ${slots.ids[other]}`;
        }
      }
    }
    for (const pg of span(p, n)) {
      let set = pages.get(pg);
      if (set === undefined) pages.set(pg, (set = new Set()));
      set.add(s);
    }
    ptr[s] = p;
    size[s] = n;
    live += n;
    onLive(live);
    fill(op.id, p, n, from);
    return null;
  };
  const forget = (s: number) => {
    live -= size[s]!;
    for (const pg of span(ptr[s]!, size[s]!)) pages.get(pg)?.delete(s);
  };
  try {
    for (let i = 0; i < trace.ops.length; i++) {
      const op = trace.ops[i]!;
      const s = slots.of[i]!;
      if (op.kind === "a") {
        const p = heap.malloc(op.size);
        if (p === null) return `line ${op.line}: malloc(${op.size}) ran out of memory`;
        const bad = place(op, s, p, op.size);
        if (bad) return bad;
      } else if (op.kind === "f") {
        if (!intact(op.id, ptr[s]!, size[s]!))
          return `line ${op.line}: payload of id ${op.id} changed before free`;
        forget(s);
        heap.free(ptr[s]!);
      } else {
        const old = size[s]!;
        if (!intact(op.id, ptr[s]!, old))
          return `line ${op.line}: payload of id ${op.id} changed before realloc`;
        forget(s);
        const p = heap.realloc(ptr[s]!, op.size);
        if (op.size === 0) {
          // The block is gone and the id free (the parser agrees): a pointer
          // back would be a block nobody frees.
          if (p !== null)
            return `line ${op.line}: realloc of id ${op.id} to 0 returned ${p}, not null (it must free the block)`;
          continue;
        }
        if (p === null) return `line ${op.line}: realloc to ${op.size} ran out of memory`;
        const kept = Math.min(old, op.size);
        if (!intact(op.id, p, kept))
          return `line ${op.line}: realloc of id ${op.id} lost its payload`;
        const bad = place(op, s, p, op.size, kept);
        if (bad) return bad;
      }
    }
    heap.check?.();
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}

/**
 * Milliseconds of CPU time this process has used (user and system), or of
 * wall time where there is no `process.cpuUsage` (a browser). The timed runs
 * are measured on it: on a machine shared with other work, wall time counts
 * the moments the run waits for a core, and the same trace varied 3-10x
 * between runs at a load of 6-10 on 2 cores, where CPU time varies by about
 * 10%. On a quiet machine the two agree (CPU time is slightly more: it also
 * counts the garbage collector's helper threads).
 */
const cpuNow: () => number =
  typeof process === "object" && typeof process.cpuUsage === "function"
    ? () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1000;
      }
    : () => performance.now();

/** Operations a trace's warm-up runs at least (see runTrace). */
const WARM_UP_OPS = 400_000;
/** The warm-up's CPU time at most, in times the timed runs' (see runTrace). */
const WARM_UP_MAX = 5;

function plainRun(slots: Slots, heap: HeapAllocator): void {
  const ptr = new Float64Array(slots.ids.length);
  const { of, kinds, sizes } = slots;
  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[i]!;
    const s = of[i]!;
    if (kind === OP_KIND.MALLOC) ptr[s] = heap.malloc(sizes[i]!)!;
    else if (kind === OP_KIND.FREE) heap.free(ptr[s]!);
    else ptr[s] = heap.realloc(ptr[s]!, sizes[i]!) ?? 0;
  }
}

/**
 * Operations per second of the median timed run (0 if no run took measurable
 * time). The median, not the mean: on a loaded machine the JIT's background
 * compiler lags, and the first timed runs of a short trace were still 2-3x
 * slower than the rest, which made the mean of 100 ms of runs vary 3x.
 */
function opsPerSecond(ops: number, times: number[]): number {
  if (times.length === 0) return 0;
  const sorted = times.slice().sort((a, b) => a - b);
  const ms = sorted[(sorted.length - 1) >> 1]!;
  return ms > 0 ? Math.round(ops / (ms / 1000)) : 0;
}

/**
 * Run a trace: once checked (validity, utilization) on a fresh machine, then
 * timed on a second machine, a fresh heap each run: warm-up runs first (half
 * of `minTimeMs`, and at least WARM_UP_OPS operations within WARM_UP_MAX
 * times `minTimeMs`), then runs until `minTimeMs` of CPU time have passed,
 * the median run giving `opsPerSec`. Between runs the driver gives
 * back every page the finished heap still holds. The timed runs thus
 * measure the heap through the MMU, not the machine's one-time set-up (its
 * RAM becoming one host array, the MMU's host cache being made), which on
 * a trace of a few thousand operations cost more than the operations.
 */
export function runTrace(trace: Trace, options: TraceOptions): TraceResult {
  const slots = slotsOf(trace);
  const checked = bootHeap(trace, options);
  const alignTo = checked.heap.align ?? options.align ?? 8;
  const { error, peakPayload } = checkedRun(trace, slots, checked, alignTo);
  const footprint = checked.pages.peak;
  const utilization = footprint === 0 ? 0 : peakPayload / (footprint * PAGE_SIZE);
  let mmuAccesses = 0;
  let tlbMisses = 0;
  let walks = 0;
  let elapsed = 0;
  let runs = 0;
  const times: number[] = [];
  if (error === null) {
    const minTime = options.minTimeMs ?? 200;
    const machine = bootHeap(trace, options, timedRamFor(trace, footprint));
    const { pages } = machine;
    const mmu = pages.mmu;
    // Warm-up: half of the timed runs' time, and at least WARM_UP_OPS
    // operations (within WARM_UP_MAX times the timed runs' time). The JIT
    // compiles the heap's hot paths only after many runs of a short trace,
    // on a background thread whose CPU time the process's clock counts: a
    // trace of 5,000 operations timed first in a process measured 0.2-0.4 M
    // ops/s after 100 ms of warm-up and 1.5-2.8 M once warm.
    const start = cpuNow();
    const warmUntil = start + minTime / 2;
    const warmAtMost = start + minTime * WARM_UP_MAX;
    plainRun(slots, machine.heap);
    let warmOps = trace.ops.length;
    while (cpuNow() < warmUntil || (warmOps < WARM_UP_OPS && cpuNow() < warmAtMost)) {
      pages.reclaim();
      plainRun(slots, machine.another());
      warmOps += trace.ops.length;
    }
    do {
      pages.reclaim();
      const heap = machine.another();
      mmu.resetStats();
      const t0 = cpuNow();
      plainRun(slots, heap);
      const t = cpuNow() - t0;
      elapsed += t;
      times.push(t);
      if (runs === 0) ({ accesses: mmuAccesses, tlbMisses, walks } = mmu.stats);
      runs++;
    } while (elapsed < minTime && runs < 1000);
  }
  return {
    trace: trace.name,
    policy: checked.heap.policy?.name ?? checked.heap.name,
    ops: trace.ops.length,
    opsPerSec: error === null ? opsPerSecond(trace.ops.length, times) : 0,
    utilization: Number(utilization.toFixed(4)),
    mmuAccesses,
    tlbMisses,
    walks,
    valid: error === null,
    ...(error === null ? {} : { error }),
  };
}
