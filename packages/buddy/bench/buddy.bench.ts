/**
 * The buddy allocator on its own, over 2^20 units, side by side with a plain
 * reference buddy (below, {@link RefBuddy}) in one tinybench run.
 *
 * The two workloads of issue 11, each in steady state with 1024 live blocks;
 * one step frees a random live block and allocates a new one:
 *   (a) random orders 0-10,
 *   (b) order 0 only (churn).
 * For each, the median time per step of ours and of the reference, and the
 * speed ratio reference/ours (> 1 means ours is faster), as the median over
 * several short rounds in which the two swap places (see ROUNDS). Also: exact sizes
 * 1-1000 with `alloc`/`free` (the reference has no such thing), the worst case
 * (a lone order-0 block on an empty allocator: 20 splits and 20 merges per
 * pair) for both, construction time, and a plain-array baseline.
 * Run with `pnpm bench`.
 */
import { Bench } from "tinybench";
import { BuddyAllocator } from "../src/index.js";

const UNITS = 1 << 20;
const MAX_ORDER = 20;
const STEPS = 1 << 14;
const LIVE = 1024;

/**
 * The reference: a plain buddy over [0, 2^maxOrder), the textbook structure
 * with nothing extra. Intrusive doubly linked free lists in Int32Array
 * next/prev, one Int8Array tag per unit (the order of the free block that
 * starts there, -1 if none), and a 32-bit mask of the non-empty lists searched
 * with Math.clz32. It trusts its caller: no validation, no counters, no
 * reserve, no exact sizes, no partial frees.
 */
class RefBuddy {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly tag: Int8Array;
  private readonly heads: Int32Array;
  private mask = 0;

  constructor(readonly maxOrder: number) {
    const n = 1 << maxOrder;
    this.next = new Int32Array(n);
    this.prev = new Int32Array(n);
    this.tag = new Int8Array(n).fill(-1);
    this.heads = new Int32Array(maxOrder + 1).fill(-1);
    this.push(0, maxOrder);
  }

  allocOrder(k: number): number | null {
    const m = this.mask & (-1 << k); // the non-empty lists of order >= k
    if (m === 0) return null;
    let j = 31 - Math.clz32(m & -m); // the lowest of them
    const o = this.heads[j]!;
    this.unlink(o, j);
    while (j > k) {
      j--;
      this.push(o + (1 << j), j); // the upper half goes back
    }
    return o;
  }

  freeOrder(o: number, k: number): void {
    while (k < this.maxOrder) {
      const b = o ^ (1 << k);
      if (this.tag[b] !== k) break; // the buddy is not a free block of order k
      this.unlink(b, k);
      o &= ~(1 << k);
      k++;
    }
    this.push(o, k);
  }

  private push(o: number, k: number): void {
    const h = this.heads[k]!;
    this.tag[o] = k;
    this.next[o] = h;
    this.prev[o] = -1;
    if (h >= 0) this.prev[h] = o;
    this.heads[k] = o;
    this.mask |= 1 << k;
  }

  private unlink(o: number, k: number): void {
    const n = this.next[o]!;
    const p = this.prev[o]!;
    this.tag[o] = -1;
    if (p >= 0) this.next[p] = n;
    else {
      this.heads[k] = n;
      if (n < 0) this.mask &= ~(1 << k);
    }
    if (n >= 0) this.prev[n] = p;
  }
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const r = rng(7);
const orders = Int8Array.from({ length: STEPS }, () => r() % 11);
const victims = Uint32Array.from({ length: STEPS }, () => r() % LIVE);
const sizes = Uint16Array.from({ length: STEPS }, () => 1 + (r() % 1000));

// Steady state: LIVE allocations held; each step frees a random one and
// allocates a new one. One explicit loop per workload and per allocator class:
// closures made at one site share V8's type feedback, and a call site that saw
// both classes would be polymorphic and slow both down.

function workloadA(b: BuddyAllocator) {
  const start = new Float64Array(LIVE);
  const order = new Int8Array(LIVE);
  for (let i = 0; i < LIVE; i++) {
    order[i] = orders[i]!;
    start[i] = b.allocOrder(order[i]!)!;
  }
  return () => {
    for (let s = 0; s < STEPS; s++) {
      const v = victims[s]!;
      b.freeOrder(start[v]!, order[v]!);
      const k = orders[s]!;
      start[v] = b.allocOrder(k)!;
      order[v] = k;
    }
  };
}

function refWorkloadA(b: RefBuddy) {
  const start = new Float64Array(LIVE);
  const order = new Int8Array(LIVE);
  for (let i = 0; i < LIVE; i++) {
    order[i] = orders[i]!;
    start[i] = b.allocOrder(order[i]!)!;
  }
  return () => {
    for (let s = 0; s < STEPS; s++) {
      const v = victims[s]!;
      b.freeOrder(start[v]!, order[v]!);
      const k = orders[s]!;
      start[v] = b.allocOrder(k)!;
      order[v] = k;
    }
  };
}

function workloadB(b: BuddyAllocator) {
  const start = new Float64Array(LIVE);
  for (let i = 0; i < LIVE; i++) start[i] = b.allocOrder(0)!;
  return () => {
    for (let s = 0; s < STEPS; s++) {
      const v = victims[s]!;
      b.freeOrder(start[v]!, 0);
      start[v] = b.allocOrder(0)!;
    }
  };
}

function refWorkloadB(b: RefBuddy) {
  const start = new Float64Array(LIVE);
  for (let i = 0; i < LIVE; i++) start[i] = b.allocOrder(0)!;
  return () => {
    for (let s = 0; s < STEPS; s++) {
      const v = victims[s]!;
      b.freeOrder(start[v]!, 0);
      start[v] = b.allocOrder(0)!;
    }
  };
}

function workloadExact(b: BuddyAllocator) {
  const start = new Float64Array(LIVE);
  const units = new Float64Array(LIVE);
  for (let i = 0; i < LIVE; i++) {
    units[i] = sizes[i]!;
    start[i] = b.alloc(units[i]!)!;
  }
  return () => {
    for (let s = 0; s < STEPS; s++) {
      const v = victims[s]!;
      b.free(start[v]!, units[v]!);
      const n = sizes[s]!;
      start[v] = b.alloc(n)!;
      units[v] = n;
    }
  };
}

const p50 = (b: Bench, name: string): number => {
  const task = b.tasks.find((t) => t.name === name);
  const ms = (task?.result as { latency?: { p50: number } } | undefined)?.latency?.p50;
  if (ms === undefined) throw new Error(`no result for ${name}`);
  return ms;
};
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
const nsPerStep = (ms: number): string => ((ms * 1e6) / STEPS).toFixed(1);
let sink = 0;

// The comparison: workloads (a) and (b), ours and the reference side by side.
// The machine this runs on is shared, and its speed drifts over seconds, so
// one long sample of each would compare two different machines. Instead,
// ROUNDS short tinybench runs, each measuring all four, with ours and the
// reference swapping places every round; the ratio is the median of the
// per-round ratios (each from tinybench's median sample).
const ROUNDS = 7;
const fresh = () => new BuddyAllocator({ base: 0, count: UNITS, maxOrder: MAX_ORDER });
const ref = () => new RefBuddy(MAX_ORDER);
const pairs = [
  ["(a) random orders 0-10", workloadA(fresh()), refWorkloadA(ref())],
  ["(b) order-0 churn", workloadB(fresh()), refWorkloadB(ref())],
] as const;
const ours: number[][] = pairs.map(() => []);
const theirs: number[][] = pairs.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  const bench = new Bench({ time: 150, warmup: true });
  for (const [name, o, t] of pairs) {
    if (round % 2 === 0) {
      bench.add(`${name}: BuddyAllocator`, o);
      bench.add(`${name}: reference`, t);
    } else {
      bench.add(`${name}: reference`, t);
      bench.add(`${name}: BuddyAllocator`, o);
    }
  }
  await bench.run();
  pairs.forEach(([name], i) => {
    ours[i]!.push(p50(bench, `${name}: BuddyAllocator`));
    theirs[i]!.push(p50(bench, `${name}: reference`));
  });
}

// The rest, afterwards: its very different split and merge profile must not
// shape how V8 compiles the code measured above (for either allocator).
const bench = new Bench({ time: 400, warmup: true });
const plain = new Float64Array(LIVE);
bench.add("baseline: plain array store + load", () => {
  for (let s = 0; s < STEPS; s++) {
    const v = victims[s]!;
    sink += plain[v]!;
    plain[v] = orders[s]!;
  }
});
bench.add("exact sizes 1-1000: BuddyAllocator", workloadExact(fresh()));
const empty = fresh();
bench.add("worst case, order 0 on an empty allocator: BuddyAllocator", () => {
  for (let s = 0; s < STEPS; s++) empty.freeOrder(empty.allocOrder(0)!, 0);
});
const refEmpty = ref();
bench.add("worst case, order 0 on an empty allocator: reference", () => {
  for (let s = 0; s < STEPS; s++) refEmpty.freeOrder(refEmpty.allocOrder(0)!, 0);
});
const build = new Bench({ time: 400, warmup: true });
build.add("construct over 2^20 units", () => {
  sink += new BuddyAllocator({ base: 0, count: UNITS }).stats.free;
});
await bench.run();
await build.run();

const baseline = p50(bench, "baseline: plain array store + load");
const rows: Record<string, string | number>[] = [];
const row = (task: string, ms: number) =>
  rows.push({
    task,
    "median M pairs/s": Number((STEPS / ms / 1000).toFixed(2)),
    "ns/pair": Number(nsPerStep(ms)),
    "cost vs baseline": `${(ms / baseline).toFixed(1)}x`,
  });
row("baseline: plain array store + load", baseline);
pairs.forEach(([name], i) => {
  row(`${name}: BuddyAllocator (median of ${ROUNDS} rounds)`, median(ours[i]!));
  row(`${name}: reference (median of ${ROUNDS} rounds)`, median(theirs[i]!));
});
for (const task of bench.tasks.slice(1)) row(task.name, p50(bench, task.name));
console.log(`buddy over 2^20 units, ${LIVE} live blocks: ${STEPS} steps per sample`);
console.table(rows);
pairs.forEach(([name], i) => {
  const ratios = ours[i]!.map((o, r) => theirs[i]![r]! / o);
  console.log(
    `${name}: BuddyAllocator ${nsPerStep(median(ours[i]!))} ns/step, reference ${nsPerStep(median(theirs[i]!))} ns/step: speed ratio ${median(ratios).toFixed(2)}x (median of ${ROUNDS} rounds: ${ratios.map((x) => x.toFixed(2)).join(" ")}; goal >= 1.00x)`,
  );
});
{
  const name = "worst case, order 0 on an empty allocator";
  const o = p50(bench, `${name}: BuddyAllocator`);
  const t = p50(bench, `${name}: reference`);
  console.log(
    `${name}: BuddyAllocator ${nsPerStep(o)} ns/step, reference ${nsPerStep(t)} ns/step: speed ratio ${(t / o).toFixed(2)}x`,
  );
}
console.log(
  `construct a BuddyAllocator over 2^20 units: median ${p50(build, "construct over 2^20 units").toFixed(2)} ms (goal < 50 ms)`,
);
if (sink === 0.5) console.log("");
