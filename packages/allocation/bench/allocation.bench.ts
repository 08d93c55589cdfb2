/**
 * Both range allocators behind the swap point, in one run, over 2^20 units:
 * alloc+free pairs per second (median of tinybench samples) for (a) random
 * orders 0-10 with random frees and (b) order-0 churn, each in steady state
 * with 1024 live runs and a random one freed per step; then fragmentation
 * after a long random workload: the largest free run divided by all free
 * units (1.0 = no fragmentation). Run with `pnpm bench` from the root.
 */
import { Bench } from "tinybench";
import {
  type RangeAllocator,
  type RangeAllocatorFactory,
  UNIT_STATE,
  buddyRanges,
  firstFitRanges,
} from "../src/index.js";

const UNITS = 1 << 20;
const STEPS = 1 << 12;
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
const r = rng(11);
const sizes = Uint16Array.from({ length: STEPS }, () => 1 << (r() % 11));
const victims = Uint32Array.from({ length: STEPS }, () => r() % LIVE);

/** Steady state: LIVE runs held; each step frees one at random and allocates a new one. */
function steady(a: RangeAllocator, size: (s: number) => number) {
  const start = new Float64Array(LIVE);
  const count = new Float64Array(LIVE);
  for (let i = 0; i < LIVE; i++) {
    const run = a.allocRun(size(i), size(i))!;
    start[i] = run.start;
    count[i] = run.count;
  }
  return () => {
    for (let s = 0; s < STEPS; s++) {
      const v = victims[s]!;
      a.free(start[v]!, count[v]!);
      const n = size(s);
      const run = a.allocRun(n, n)!;
      start[v] = run.start;
      count[v] = run.count;
    }
  };
}

const impls: [string, RangeAllocatorFactory][] = [
  ["buddy", buddyRanges],
  ["first-fit bitmap", firstFitRanges],
];
const bench = new Bench({ time: 500, warmup: true });
for (const [name, make] of impls) {
  // new Function-free: each task gets its own closure from steady(); the
  // two implementations share the call sites, as any caller of the interface would.
  bench.add(
    `(a) random orders 0-10 [${name}]`,
    steady(make(0, UNITS), (s) => sizes[s]!),
  );
  bench.add(
    `(b) order-0 churn [${name}]`,
    steady(make(0, UNITS), () => 1),
  );
}
await bench.run();

const rows = bench.tasks.map((t) => {
  const ms = (t.result as { latency?: { p50: number } } | undefined)?.latency?.p50;
  if (ms === undefined) throw new Error(`no result for ${t.name}`);
  return {
    task: t.name,
    "median M pairs/s": Number((STEPS / ms / 1000).toFixed(2)),
    "ns/pair": Number(((ms * 1e6) / STEPS).toFixed(1)),
  };
});
console.log(`range allocators over 2^20 units, ${STEPS} steps per sample, ${LIVE} live runs`);
console.table(rows);

/** Largest free run / total free after `steps` random allocations and frees with sizes 1..64. */
function fragmentation(
  make: RangeAllocatorFactory,
  steps: number,
): { ratio: number; free: number } {
  const a = make(0, 1 << 16);
  const rr = rng(5);
  const live: [number, number][] = [];
  for (let s = 0; s < steps; s++) {
    if (live.length > 0 && (rr() % 100 < 45 || a.freeUnits < 2048)) {
      const [start, n] = live.splice(rr() % live.length, 1)[0]!;
      a.free(start, n);
    } else {
      const n = 1 + (rr() % 64);
      const run = a.allocRun(n, n);
      if (run !== null) live.push([run.start, run.count]);
    }
  }
  let best = 0;
  let run = 0;
  for (const st of a.states()) {
    run = st === UNIT_STATE.FREE ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return { ratio: best / a.freeUnits, free: a.freeUnits };
}
const frag = impls.map(([name, make]) => {
  const f = fragmentation(make, 200_000);
  return {
    allocator: name,
    "largest free run / free": Number(f.ratio.toFixed(3)),
    "free units": f.free,
  };
});
console.log(
  "fragmentation after 200000 random alloc/free steps (sizes 1-64, 2^16 units, about half full):",
);
console.table(frag);
