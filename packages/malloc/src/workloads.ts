/**
 * Seeded generators of malloc-lab-shaped workloads, in `.rep` format: the
 * classic shapes (binary, binary2, coalescing, random, random2, realloc,
 * realloc2, and program-like mixes in the manner of amptjp, cccp, cp-decl
 * and expr) and the patterns where a boundary-tag heap loses:
 *
 * 1. a block grown again and again by realloc while small blocks are
 *    allocated after it (`realloc`, `realloc2`, `realloc-many`);
 * 2. a small peak payload, a few KiB (`coalescing`, `small-peak`);
 * 3. alternating sizes, all blocks of one size freed, then a larger size
 *    (`binary`, `binary2`);
 * 4. many free blocks too small for the next request in one size class
 *    (`small-holes`).
 *
 * The same name and seed always give the same text. Seed 1 gives the
 * classic sizes where the shape has them (binary: 64 and 448, then 512);
 * other seeds vary the sizes and counts around them.
 *
 * @module
 */

/** Options of {@link generateWorkload}. */
export interface WorkloadOptions {
  /** Seed of the pseudo-random sequence (a positive integer). */
  readonly seed: number;
  /** Multiplies the number of operations (default 1: about the classic trace's count). */
  readonly scale?: number;
}

/** A deterministic source of randomness (xorshift32). */
interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T;
  /** `classic` for seed 1, else one of `others`: the classic trace's value, or a variation on it. */
  vary<T>(classic: T, others: readonly T[]): T;
}

function rng(seed: number): Rng {
  const first = seed;
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    vary: (classic, others) =>
      first === 1 ? classic : others[Math.floor(next() * others.length)]!,
  };
}

/** Builds a trace: ids, operations, and the live payload's peak for the header. */
class Builder {
  private readonly lines: string[] = [];
  private readonly sizes = new Map<number, number>();
  private nextId = 0;
  private live = 0;
  private peak = 0;

  /** `a ID SIZE` with a fresh id; returns the id. */
  alloc(size: number): number {
    const id = this.nextId++;
    this.lines.push(`a ${id} ${size}`);
    this.sizes.set(id, size);
    this.grew(size);
    return id;
  }

  /** `r ID SIZE`. */
  realloc(id: number, size: number): void {
    this.lines.push(`r ${id} ${size}`);
    this.grew(size - this.sizes.get(id)!);
    this.sizes.set(id, size);
  }

  /** `f ID`. */
  free(id: number): void {
    this.lines.push(`f ${id}`);
    this.live -= this.sizes.get(id)!;
    this.sizes.delete(id);
  }

  /** The ids live now, oldest first. */
  liveIds(): number[] {
    return [...this.sizes.keys()];
  }

  /** Number of live blocks. */
  get count(): number {
    return this.sizes.size;
  }

  /** Operations so far. */
  get ops(): number {
    return this.lines.length;
  }

  private grew(delta: number): void {
    this.live += delta;
    if (this.live > this.peak) this.peak = this.live;
  }

  /** Free what is still live (newest first), then the `.rep` text. */
  text(): string {
    for (const id of this.liveIds().reverse()) this.free(id);
    const header = [String(Math.max(4096, this.peak * 2)), String(this.nextId)];
    return [...header, String(this.lines.length), "1", ...this.lines, ""].join("\n");
  }
}

/** Pattern 3: pairs of a small and a big size; every big one freed; then a bigger size. */
function binary(scale: number, small: number, big: number, bigger: number): string {
  const b = new Builder();
  const n = Math.round(2000 * scale);
  const bigs: number[] = [];
  for (let i = 0; i < n; i++) {
    b.alloc(small);
    bigs.push(b.alloc(big));
  }
  for (const id of bigs) b.free(id);
  for (let i = 0; i < n; i++) b.alloc(bigger);
  return b.text();
}

/** Pattern 2: two blocks, both freed, then one the size of both: a peak of a few KiB. */
function coalescing(scale: number, size: number): string {
  const b = new Builder();
  for (let i = 0; i < Math.round(2400 * scale); i++) {
    const x = b.alloc(size);
    const y = b.alloc(size);
    b.free(x);
    b.free(y);
    b.free(b.alloc(2 * size));
  }
  return b.text();
}

/** Pattern 1: one block grown by `step` again and again, a small block allocated after each growth and the previous one freed. */
function reallocGrowth(scale: number, first: number, step: number, small: number): string {
  const b = new Builder();
  const grown = b.alloc(first);
  let size = first;
  let prev = b.alloc(small);
  for (let i = 0; i < Math.round(4800 * scale); i++) {
    size += step;
    b.realloc(grown, size);
    const next = b.alloc(small);
    b.free(prev);
    prev = next;
  }
  return b.text();
}

/** Pattern 1, several at once: a few buffers grown by half again, small objects allocated and freed around them. */
function reallocMany(r: Rng, scale: number): string {
  const b = new Builder();
  const sizes = new Map<number, number>();
  for (let k = r.int(3, 6); k > 0; k--) {
    const s = r.int(16, 256);
    sizes.set(b.alloc(s), s);
  }
  const buffers = [...sizes.keys()];
  const smalls: number[] = [];
  while (b.ops < 12000 * scale) {
    const id = r.pick(buffers);
    const s = sizes.get(id)!;
    // Grown by 20-60% each time; back to a small size past 200 KB, as a reused buffer is.
    const next = s > 200_000 ? r.int(16, 256) : Math.ceil(s * (1.2 + r.next() * 0.4));
    sizes.set(id, next);
    b.realloc(id, next);
    for (let k = r.int(1, 4); k > 0; k--) smalls.push(b.alloc(r.int(8, 96)));
    while (smalls.length > 40) b.free(smalls.splice(r.int(0, smalls.length - 1), 1)[0]!);
  }
  return b.text();
}

/** Random allocations and frees of sizes in [lo, hi], about `ops` operations, `maxLive` blocks live at most. */
function random(r: Rng, ops: number, lo: number, hi: number, maxLive: number): string {
  const b = new Builder();
  const live: number[] = [];
  while (b.ops < ops) {
    if (live.length === 0 || (live.length < maxLive && r.next() < 0.5))
      live.push(b.alloc(r.int(lo, hi)));
    else b.free(live.splice(r.int(0, live.length - 1), 1)[0]!);
  }
  return b.text();
}

/** Pattern 2 on random sizes: a heap that never holds more than a few KiB. */
function smallPeak(r: Rng, scale: number): string {
  return random(r, Math.round(6000 * scale), 1, 400, 12);
}

/** Pattern 4: tens of thousands of small blocks, every other one freed, then a size one class up. */
function smallHoles(r: Rng, scale: number): string {
  const b = new Builder();
  const n = Math.round(20000 * scale);
  const small = r.vary(24, [20, 28]);
  const holes: number[] = [];
  const kept: number[] = [];
  for (let i = 0; i < n; i++) {
    holes.push(b.alloc(small));
    kept.push(b.alloc(small));
  }
  for (const id of holes) b.free(id);
  const bigger = small * 2;
  const after: number[] = [];
  for (let i = 0; i < n / 10; i++) {
    after.push(b.alloc(bigger));
    if (i % 3 === 2) b.free(after.splice(r.int(0, after.length - 1), 1)[0]!);
  }
  for (const id of kept) b.free(id);
  return b.text();
}

/**
 * A program's heap: a few object sizes used over and over (Zipf-like),
 * strings of any length, an occasional buffer; objects die young (often in
 * LIFO order, as a compiler's or an interpreter's do) or live long; now and
 * then a string grows by realloc.
 */
function program(
  r: Rng,
  ops: number,
  shape: {
    readonly types: number;
    readonly typeMax: number;
    readonly stringMax: number;
    readonly bufferMax: number;
    readonly longLived: number;
    readonly reallocs: number;
  },
): string {
  const b = new Builder();
  const types = Array.from({ length: shape.types }, () => r.int(2, shape.typeMax / 4) * 4);
  const stack: number[] = [];
  const longLived: number[] = [];
  const size = () => {
    const u = r.next();
    if (u < 0.7) return types[Math.floor(types.length * r.next() ** 2.5)]!;
    if (u < 0.97) return r.int(1, shape.stringMax);
    return r.int(shape.stringMax, shape.bufferMax);
  };
  while (b.ops < ops) {
    const u = r.next();
    if (u < 0.5 || stack.length + longLived.length === 0) {
      const id = b.alloc(size());
      (r.next() < shape.longLived ? longLived : stack).push(id);
    } else if (u < 0.5 + shape.reallocs && stack.length > 0) {
      const id = r.pick(stack);
      b.realloc(id, r.int(1, shape.stringMax * 2));
    } else if (stack.length > 0 && r.next() < 0.8) {
      // Mostly LIFO, sometimes from deeper down.
      const at = r.next() < 0.7 ? stack.length - 1 : r.int(0, stack.length - 1);
      b.free(stack.splice(at, 1)[0]!);
    } else if (longLived.length > 0 && r.next() < 0.1) {
      b.free(longLived.splice(r.int(0, longLived.length - 1), 1)[0]!);
    }
  }
  return b.text();
}

/**
 * Every workload by name: `binary`, `binary2` (pattern 3), `coalescing`,
 * `small-peak` (pattern 2), `realloc`, `realloc2`, `realloc-many` (pattern
 * 1), `small-holes` (pattern 4), `random`, `random2`, and the program-like
 * mixes `amptjp`, `cccp`, `cp-decl`, `expr`.
 */
export const WORKLOAD_NAMES = [
  "binary",
  "binary2",
  "coalescing",
  "random",
  "random2",
  "realloc",
  "realloc2",
  "realloc-many",
  "small-peak",
  "small-holes",
  "amptjp",
  "cccp",
  "cp-decl",
  "expr",
] as const;

/** A workload {@link generateWorkload} knows. */
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

/** The generators, by workload name. */
const WORKLOADS: Record<WorkloadName, (r: Rng, scale: number) => string> = {
  /** 64- and 448-byte blocks in turn, every 448 freed, then 512s (pattern 3). */
  binary: (r: Rng, scale: number) =>
    binary(scale, r.vary(64, [56, 72, 80]), r.vary(448, [440, 456, 400]), 512),
  /** 16- and 112-byte blocks in turn, every 112 freed, then 128s (pattern 3). */
  binary2: (r: Rng, scale: number) =>
    binary(scale, r.vary(16, [8, 24]), r.vary(112, [104, 120, 96]), 128),
  /** Two 4095-byte blocks freed and one of 8190 asked, over and over (pattern 2). */
  coalescing: (r: Rng, scale: number) => coalescing(scale, r.vary(4095, [4000, 2047, 3000])),
  /** Random sizes up to 16 KiB, random lifetimes. */
  random: (r: Rng, scale: number) => random(r, Math.round(4800 * scale), 1, 16384, 600),
  /** Random sizes up to 4 KiB, more blocks live. */
  random2: (r: Rng, scale: number) => random(r, Math.round(4800 * scale), 1, 4096, 1200),
  /** A 512-byte block grown by 128 bytes 4800 times, a 128-byte block after each growth (pattern 1). */
  realloc: (r: Rng, scale: number) =>
    reallocGrowth(scale, r.vary(512, [600, 256]), r.vary(128, [96, 160, 200]), 128),
  /** A 4092-byte block grown by 5 bytes 4800 times, a 16-byte block after each growth (pattern 1). */
  realloc2: (r: Rng, scale: number) =>
    reallocGrowth(scale, r.vary(4092, [4000, 3000]), r.vary(5, [3, 7, 9]), 16),
  /** Several buffers grown by half again, small objects around them (pattern 1). */
  "realloc-many": reallocMany,
  /** Random sizes up to 400 bytes, at most 12 blocks live: a few KiB (pattern 2). */
  "small-peak": smallPeak,
  /** 20 k small blocks, every other one freed, then blocks twice that size (pattern 4). */
  "small-holes": smallHoles,
  /** Like amptjp: many object types, long-lived data, few strings. */
  amptjp: (r: Rng, scale: number) =>
    program(r, 5700 * scale, {
      types: 12,
      typeMax: 200,
      stringMax: 200,
      bufferMax: 4000,
      longLived: 0.3,
      reallocs: 0,
    }),
  /** Like cccp: a preprocessor's strings and buffers. */
  cccp: (r: Rng, scale: number) =>
    program(r, 5700 * scale, {
      types: 6,
      typeMax: 64,
      stringMax: 300,
      bufferMax: 8000,
      longLived: 0.15,
      reallocs: 0.02,
    }),
  /** Like cp-decl: a compiler's declarations, mostly small nodes that live long. */
  "cp-decl": (r: Rng, scale: number) =>
    program(r, 6600 * scale, {
      types: 16,
      typeMax: 128,
      stringMax: 120,
      bufferMax: 3000,
      longLived: 0.5,
      reallocs: 0,
    }),
  /** Like expr: an expression evaluator's short-lived nodes in LIFO order. */
  expr: (r: Rng, scale: number) =>
    program(r, 5400 * scale, {
      types: 4,
      typeMax: 48,
      stringMax: 64,
      bufferMax: 1024,
      longLived: 0.05,
      reallocs: 0,
    }),
};

/** The four patterns of issue 18 where a boundary-tag heap loses, and the workloads that have them. */
export const LOSING_PATTERNS = {
  /** A block grown again and again by realloc while small blocks are allocated after it. */
  reallocGrowth: ["realloc", "realloc2", "realloc-many"],
  /** A small peak payload. */
  smallPeak: ["coalescing", "small-peak"],
  /** Alternating sizes, one size freed wholesale, a larger one asked for next. */
  freedThenLarger: ["binary", "binary2"],
  /** Many too-small free blocks in one class. */
  smallHoles: ["small-holes"],
} as const satisfies Record<string, readonly WorkloadName[]>;

/**
 * The `.rep` text of workload `name` for a seed. An unknown name, a seed
 * that is not a positive integer or a scale that is not a positive number
 * is a RangeError naming the value.
 */
export function generateWorkload(name: WorkloadName, options: WorkloadOptions): string {
  if (!Object.hasOwn(WORKLOADS, name))
    throw new RangeError(
      `unknown workload ${JSON.stringify(String(name))} (${Object.keys(WORKLOADS).join(", ")})`,
    );
  const { seed, scale = 1 } = options;
  if (!Number.isSafeInteger(seed) || seed < 1)
    throw new RangeError(`seed ${String(seed)} must be a positive integer`);
  if (typeof scale !== "number" || !(scale > 0) || !Number.isFinite(scale))
    throw new RangeError(`scale ${String(scale)} must be a positive number`);
  return WORKLOADS[name](rng(seed), scale);
}
