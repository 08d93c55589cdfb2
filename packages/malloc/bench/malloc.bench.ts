/**
 * malloc through the simulated MMU, in one run: malloc+free pairs per second
 * for random sizes 8-4096 (steady state, 256 live blocks, a random one freed
 * each step), for each policy; then each policy on the generated traces in
 * test/fixtures (ops/s on the unchecked run, peak utilization), with the
 * mean. Run with `pnpm bench` from the repository root.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { freshHeap } from "../src/conformance.js";
import { POLICIES, parseTrace, runTrace } from "../src/index.js";

const STEPS = 4096;
const LIVE = 256;
let x = 12345;
const rand = () => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
};
const sizes = Uint16Array.from({ length: STEPS }, () => 8 + (rand() % 4089));
const victims = Uint16Array.from({ length: STEPS }, () => rand() % LIVE);

const bench = new Bench({ time: 500, warmup: true });
for (const [name, policy] of Object.entries(POLICIES)) {
  const heap = freshHeap({ policy });
  const live = new Float64Array(LIVE);
  for (let i = 0; i < LIVE; i++) live[i] = heap.malloc(sizes[i]!)!;
  bench.add(`malloc+free pairs, sizes 8-4096 [${name}]`, () => {
    for (let s = 0; s < STEPS; s++) {
      const v = victims[s]!;
      heap.free(live[v]!);
      live[v] = heap.malloc(sizes[s]!)!;
    }
  });
}
await bench.run();
console.table(
  bench.tasks.map((t) => {
    const ms = (t.result as { latency?: { p50: number } } | undefined)?.latency?.p50;
    if (ms === undefined) throw new Error(`no result for ${t.name}`);
    return {
      task: t.name,
      "median M pairs/s": Number((STEPS / ms / 1000).toFixed(3)),
      "µs/pair": Number(((ms * 1000) / STEPS).toFixed(2)),
    };
  }),
);

const dir = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const traces = readdirSync(dir)
  .filter((f) => f.startsWith("gen-"))
  .sort()
  .map((f) => parseTrace(readFileSync(dir + f, "utf8"), f));
const rows: Record<string, string | number>[] = [];
for (const [name, policy] of Object.entries(POLICIES)) {
  const results = traces.map((t) => runTrace(t, { policy, minTimeMs: 300 }));
  for (const r of results)
    rows.push({
      policy: name,
      trace: r.trace,
      "ops/s": r.opsPerSec,
      utilization: r.utilization,
      "MMU accesses/op": Math.round(r.mmuAccesses / r.ops),
      valid: String(r.valid),
    });
  const mean = (k: "opsPerSec" | "utilization") =>
    results.reduce((a, r) => a + r[k], 0) / results.length;
  rows.push({
    policy: name,
    trace: "mean",
    "ops/s": Math.round(mean("opsPerSec")),
    utilization: Number(mean("utilization").toFixed(4)),
    "MMU accesses/op": "",
    valid: "",
  });
}
console.log("generated traces (test/fixtures/gen-*.rep), unchecked timed runs after a warm-up:");
console.table(rows);
console.log("goals (best policy): mean peak utilization >= 0.85, >= 2 M ops/s");
