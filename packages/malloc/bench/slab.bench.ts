/**
 * The slab's kmalloc beside the default heap, in one run (issue 14):
 *
 * 1. kmalloc/kfree pairs per size class (32 B .. 4 KiB, and a 16 KiB large
 *    request), steady state with 256 live blocks of that size, a random one
 *    freed and replaced each step; the default heap's malloc/free pairs of
 *    the same size are the baseline. Median pairs/s, the ratio to the
 *    baseline, and MMU accesses per pair (counted on one pass).
 * 2. Both heaps on the generated traces in test/fixtures: median ops/s of
 *    three alternating unchecked timed runs, peak utilisation, MMU accesses
 *    per operation.
 *
 * Run with `pnpm bench` from the repository root (or in packages/malloc).
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createMachine } from "@mm386/hw-i386";
import { Kvmalloc } from "@mm386/kvmalloc";
import { startPaging } from "@mm386/paging";
import { Bench } from "tinybench";
import {
  type HeapAllocator,
  Malloc,
  type TraceResult,
  parseTrace,
  runTrace,
} from "../src/index.js";
import { Kmalloc, kvPageSource, slabHeap } from "../src/slab/index.js";

const STEPS = 4096;
const LIVE = 256;
const SIZES = [32, 64, 128, 256, 512, 1024, 2048, 4096, 16384] as const;

let x = 12345;
const rand = () => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
};
const victims = Uint16Array.from({ length: STEPS }, () => rand() % LIVE);

/** A heap on a freshly booted 256 MiB machine (room for 256 live 16 KiB blocks and more). */
function boot(
  kind: "malloc" | "kmalloc",
): HeapAllocator & { readonly mmu: Kvmalloc["paging"]["mmu"] } {
  const kv = new Kvmalloc(startPaging(createMachine({ ramBytes: 256 * 1024 * 1024 })));
  const heap: HeapAllocator =
    kind === "malloc" ? new Malloc(kv) : new Kmalloc(kvPageSource(kv), kv.mmu);
  return Object.assign(heap, { mmu: kv.mmu });
}

/** One pass of STEPS free+malloc pairs on a heap holding LIVE blocks of `size`. */
function pairs(heap: HeapAllocator, live: Float64Array, size: number): void {
  for (let s = 0; s < STEPS; s++) {
    const v = victims[s]!;
    heap.free(live[v]!);
    live[v] = heap.malloc(size)!;
  }
}

const bench = new Bench({ time: 300, warmup: true });
const accesses = new Map<string, number>();
for (const size of SIZES)
  for (const kind of ["malloc", "kmalloc"] as const) {
    const heap = boot(kind);
    const live = new Float64Array(LIVE);
    for (let i = 0; i < LIVE; i++) live[i] = heap.malloc(size)!;
    const name = `${kind} ${size}`;
    heap.mmu.resetStats();
    pairs(heap, live, size);
    accesses.set(name, heap.mmu.stats.accesses / STEPS);
    bench.add(name, () => pairs(heap, live, size));
  }
await bench.run();
const median = (name: string) => {
  const ms = (bench.getTask(name)?.result as { latency?: { p50: number } } | undefined)?.latency
    ?.p50;
  if (ms === undefined) throw new Error(`no result for ${name}`);
  return STEPS / ms / 1000; // M pairs/s
};
console.log(
  `free+malloc pairs, ${LIVE} live blocks of one size, steady state (median of tinybench samples):`,
);
console.table(
  SIZES.map((size) => {
    const base = median(`malloc ${size}`);
    const slab = median(`kmalloc ${size}`);
    return {
      size,
      "malloc M pairs/s": Number(base.toFixed(3)),
      "kmalloc M pairs/s": Number(slab.toFixed(3)),
      "kmalloc / malloc": Number((slab / base).toFixed(2)),
      "malloc MMU/pair": Number(accesses.get(`malloc ${size}`)!.toFixed(1)),
      "kmalloc MMU/pair": Number(accesses.get(`kmalloc ${size}`)!.toFixed(1)),
    };
  }),
);

const dir = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const traces = readdirSync(dir)
  .filter((f) => f.startsWith("gen-"))
  .sort()
  .map((f) => parseTrace(readFileSync(dir + f, "utf8"), f));
const rows: Record<string, string | number>[] = [];
// Three timed runs per heap, alternating, and the median: on a shared machine
// one run can land in a burst of load that the other heap never sees.
const ROUNDS = 3;
const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const t of traces) {
  const runs = { base: [] as TraceResult[], slab: [] as TraceResult[] };
  for (let i = 0; i < ROUNDS; i++) {
    runs.base.push(runTrace(t, { minTimeMs: 200 }));
    runs.slab.push(runTrace(t, { stack: { malloc: slabHeap }, minTimeMs: 200 }));
  }
  const baseOps = medianOf(runs.base.map((r) => r.opsPerSec));
  for (const rs of [runs.base, runs.slab]) {
    const r = rs[0]!;
    const ops = medianOf(rs.map((x) => x.opsPerSec));
    rows.push({
      trace: t.name,
      heap: r.policy,
      "median ops/s": ops,
      "ratio to malloc": Number((ops / baseOps).toFixed(2)),
      utilisation: r.utilization,
      "MMU accesses/op": Number((r.mmuAccesses / r.ops).toFixed(1)),
      valid: String(rs.every((x) => x.valid)),
    });
  }
}
console.log("generated traces (test/fixtures/gen-*.rep), unchecked timed runs after a warm-up:");
console.table(rows);
