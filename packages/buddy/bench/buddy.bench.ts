/**
 * The buddy allocator on its own, over 2^20 units: construction time, and
 * alloc+free pairs per second (median of tinybench samples) for (a) random
 * orders 0-10 and (b) order 0, each in steady state with 1024 live blocks and
 * a random one freed per step, exact sizes likewise, and the worst case (a
 * lone order-0 block on an empty allocator: 20 splits and 20 merges per pair).
 * A plain-array baseline is measured in the same run. Run with `pnpm bench`.
 */
import { Bench } from "tinybench";
import { BuddyAllocator } from "../src/index.js";

const UNITS = 1 << 20;
const STEPS = 1 << 14;
const LIVE = 1024;

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
// allocates a new one. One explicit loop per workload: closures made at one
// site share V8's type feedback and would slow each other down.
function fill(b: BuddyAllocator, size: (i: number) => number, exact: boolean) {
  const start = new Float64Array(LIVE);
  const units = new Float64Array(LIVE);
  for (let i = 0; i < LIVE; i++) {
    units[i] = size(i);
    start[i] = exact ? b.alloc(units[i]!)! : b.allocOrder(Math.log2(units[i]!))!;
  }
  return { start, units };
}

function workloadA(b: BuddyAllocator) {
  const { start, units } = fill(b, (i) => 1 << orders[i]!, false);
  const order = Int8Array.from(units, (u) => Math.log2(u));
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
  const { start } = fill(b, () => 1, false);
  return () => {
    for (let s = 0; s < STEPS; s++) {
      const v = victims[s]!;
      b.freeOrder(start[v]!, 0);
      start[v] = b.allocOrder(0)!;
    }
  };
}

function workloadExact(b: BuddyAllocator) {
  const { start, units } = fill(b, (i) => sizes[i]!, true);
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

const bench = new Bench({ time: 400, warmup: true });
let sink = 0;

const plain = new Float64Array(LIVE);
bench.add("baseline: plain array store + load", () => {
  for (let s = 0; s < STEPS; s++) {
    const v = victims[s]!;
    sink += plain[v]!;
    plain[v] = orders[s]!;
  }
});
const fresh = () => new BuddyAllocator({ base: 0, count: UNITS });
bench.add("(a) random orders 0-10, random frees", workloadA(fresh()));
bench.add("(b) order-0 churn, random frees", workloadB(fresh()));
bench.add("exact sizes 1-1000, random frees", workloadExact(fresh()));
const empty = fresh();
bench.add("worst case: order 0 on an empty allocator (20 splits + 20 merges)", () => {
  for (let s = 0; s < STEPS; s++) empty.freeOrder(empty.allocOrder(0)!, 0);
});

const build = new Bench({ time: 400, warmup: true });
build.add("construct over 2^20 units", () => {
  sink += new BuddyAllocator({ base: 0, count: UNITS }).stats.free;
});

await bench.run();
await build.run();

const rows: Record<string, string | number>[] = [];
let baseline = 0;
for (const task of bench.tasks) {
  const ms = (task.result as { latency?: { p50: number } } | undefined)?.latency?.p50;
  if (ms === undefined) throw new Error(`no result for ${task.name}`);
  if (baseline === 0) baseline = ms;
  rows.push({
    task: task.name,
    "median M pairs/s": Number((STEPS / ms / 1000).toFixed(2)),
    "ns/pair": Number(((ms * 1e6) / STEPS).toFixed(1)),
    "cost vs baseline": `${(ms / baseline).toFixed(1)}x`,
  });
}
console.log(`buddy: ${STEPS} steps per sample`);
console.table(rows);
const buildMs =
  (build.tasks[0]!.result as { latency?: { p50: number } } | undefined)?.latency?.p50 ?? NaN;
console.log(
  `construct a BuddyAllocator over 2^20 units: median ${buildMs.toFixed(2)} ms (goal < 50 ms)`,
);
if (sink === 0.5) console.log("");
