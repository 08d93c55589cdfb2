/**
 * The MMU access path against a plain typed-array read, in one run.
 *
 * The workload is workload.ts's: 1 MiB mapped by 256 pages, at a low and at
 * a kernel address. Each task makes N word accesses at precomputed random addresses; Mops/s = N / median
 * time of one task run. Ratios are cost ratios against the baseline measured
 * in the same run (these machines are shared and noisy). Time is the CPU time
 * of this process (see cpuClock), so that time spent waiting for a core that
 * other jobs hold does not count.
 *
 * Reference rows, "floor", are the least any faithful walk and any flat TLB's
 * hit can cost here (see FloorWalk): the miss and hit goals are read against
 * them.
 *
 * Run with `pnpm bench` from the repository root. For figures that the
 * host's noise does not move, count instructions instead (count.ts).
 */
import { Bench } from "tinybench";
import { UnboundedTlb } from "../src/index.js";
import {
  BASES,
  baseline,
  BODY,
  type FloorWalk,
  floorMachine,
  loop,
  machine,
  N,
  offsets,
  PAGES,
  TLBS,
  warm,
} from "./workload.js";

/**
 * Tinybench's clock: CPU time (user + system) of this process, in ms. On a
 * shared 2-core machine with a load of 10 or more, wall-clock samples mostly
 * measure the scheduler; CPU time still counts what the loop itself costs
 * (cache pollution by the other jobs remains, for the baseline as well).
 */
const cpuClock = {
  name: "process.cpuUsage",
  fn: () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  },
  fromMs: (ms: number) => ms,
  toMs: (t: number | bigint) => Number(t),
};

let sink = 0;
// At least 10 samples per task (tinybench's default minimum of 64 runs of 2^20
// misses takes minutes on a loaded machine).
const bench = new Bench({
  time: 400,
  iterations: 10,
  warmup: true,
  timestampProvider: cpuClock,
});

// Baseline: random reads from a plain 1 MiB Uint32Array, its own compiled loop as the tasks have.
const plain = baseline();
const all = offsets(PAGES, 1);
bench.add("baseline: Uint32Array random read", () => {
  sink += plain.pass(plain.words, all);
});

for (const [where, base] of BASES) {
  const floor = floorMachine(base);
  const floorMiss = loop<FloorWalk>(BODY.miss);
  bench.add(`floor: minimal walk + invlpg [${where}]`, () => {
    sink += floorMiss(floor, base, all);
  });
  // The same minimal design's hit (a flat TLB as an emulator has, nothing
  // else): where the hit goal stands on this machine.
  const hitSet = offsets(PAGES, 2);
  const floorHits = floorMachine(base, hitSet);
  const floorHit = loop<FloorWalk>(BODY.readHit);
  bench.add(`floor: minimal flat TLB hit [${where}]`, () => {
    sink += floorHit(floorHits, base, hitSet);
  });
}

const notes: string[] = [];
for (const [tlbLabel, make, resident] of TLBS) {
  for (const [where, base] of BASES) {
    const label = `${tlbLabel}, ${where}`;
    const hitSet = offsets(resident, 2);
    const m1 = machine(make(), base);
    warm(m1, base, resident);
    const readHit = loop(BODY.readHit);
    bench.add(`read32 hit [${label}]`, () => {
      sink += readHit(m1, base, hitSet);
    });
    const m2 = machine(make(), base);
    warm(m2, base, resident);
    const writeHit = loop(BODY.writeHit);
    bench.add(`write32 hit [${label}]`, () => {
      sink += writeHit(m2, base, hitSet);
    });
    const m3 = machine(make(), base);
    warm(m3, base, PAGES);
    const readMiss = loop(BODY.miss);
    bench.add(`read32 miss: walk + invlpg [${label}]`, () => {
      sink += readMiss(m3, base, all);
    });
    const m4 = machine(make(), base);
    warm(m4, base, PAGES);
    const invlpgOnly = loop(BODY.invlpg);
    bench.add(`invlpg alone [${label}]`, () => {
      sink += invlpgOnly(m4, base, all);
    });
    if (resident < PAGES) {
      const m5 = machine(make(), base);
      warm(m5, base, PAGES);
      const readAll = loop(BODY.readHit);
      bench.add(`read32 random over 256 pages [${label}]`, () => {
        sink += readAll(m5, base, all);
      });
      const m6 = machine(make(), base);
      warm(m6, base, PAGES);
      m6.resetStats();
      for (let i = 0; i < N; i++) m6.read32(base + all[i]!);
      const st = m6.stats;
      notes.push(
        `${label}: random reads over 256 pages hit ${((100 * st.tlbHits) / st.accesses).toFixed(1)}%`,
      );
    }
  }
}

// The hits again, measured after every miss loop above has run: V8 optimizes
// read32 and write32 once for all their callers, so a hit's cost must not
// depend on what ran before it (when read32's own code carried the miss path,
// a later caller stopped inlining it and each call boxed a kernel address).
for (const [where, base] of BASES) {
  const label = `unbounded, ${where}`;
  const hitSet = offsets(PAGES, 2);
  const m1 = machine(new UnboundedTlb(), base);
  warm(m1, base, PAGES);
  const readHit = loop(BODY.readHit);
  bench.add(`read32 hit after the misses [${label}]`, () => {
    sink += readHit(m1, base, hitSet);
  });
  const m2 = machine(new UnboundedTlb(), base);
  warm(m2, base, PAGES);
  const writeHit = loop(BODY.writeHit);
  bench.add(`write32 hit after the misses [${label}]`, () => {
    sink += writeHit(m2, base, hitSet);
  });
}

await bench.run();

const rows: Record<string, string | number>[] = [];
let baselineMs = 0;
for (const task of bench.tasks) {
  const r = task.result as { latency?: { p50: number } } | undefined;
  const ms = r?.latency?.p50;
  if (ms === undefined) throw new Error(`task ${task.name} produced no result`);
  if (rows.length === 0) baselineMs = ms;
  rows.push({
    task: task.name,
    "median Mops/s": Number((N / ms / 1000).toFixed(1)),
    "ns/op": Number(((ms * 1e6) / N).toFixed(2)),
    "cost vs baseline": `${(ms / baselineMs).toFixed(2)}x`,
  });
}
console.log(
  `MMU access path: ${N} accesses per task run, 1 MiB working set (256 x 4 KiB pages), CPL 0`,
);
console.table(rows);
for (const n of notes) console.log(n);
const ratio = (name: string) => {
  const row = rows.find((r) => r.task === name);
  return row === undefined ? NaN : Number(String(row["cost vs baseline"]).replace("x", ""));
};
const goals: [string, number, number][] = [];
for (const where of ["low", "kernel"]) {
  const u = `unbounded, ${where}`;
  const s = `64-entry 4-way LRU, ${where}`;
  goals.push([`read32 hit [${u}]`, ratio(`read32 hit [${u}]`), 2]);
  // Not a goal of its own: where the hit goal stands against the least a flat TLB costs here.
  goals.push([
    `floor: minimal flat TLB hit [${where}]`,
    ratio(`floor: minimal flat TLB hit [${where}]`),
    2,
  ]);
  goals.push([`write32 hit [${u}]`, ratio(`write32 hit [${u}]`), 2]);
  for (const kind of ["read32", "write32"]) {
    const name = `${kind} hit after the misses [${u}]`;
    goals.push([name, ratio(name), 2]);
  }
  goals.push([`read32 miss [${u}]`, ratio(`read32 miss: walk + invlpg [${u}]`), 5]);
  // Not a goal of its own: where the miss goal stands against the floor of any faithful walk.
  goals.push([
    `floor: minimal walk + invlpg [${where}]`,
    ratio(`floor: minimal walk + invlpg [${where}]`),
    5,
  ]);
  for (const kind of ["read32 hit", "write32 hit", "read32 miss: walk + invlpg"]) {
    goals.push([`${kind} [${s}] / [${u}]`, ratio(`${kind} [${s}]`) / ratio(`${kind} [${u}]`), 2]);
  }
}
console.log("\ngoals (issue 11): ratio, goal, met");
console.table(
  goals.map(([name, r, goal]) => ({
    measure: name,
    ratio: `${r.toFixed(2)}x`,
    goal: `<= ${goal}x`,
    // The floor rows are where the goals stand on this machine, not goals of their own.
    met: name.startsWith("floor:") ? "(reference)" : r <= goal ? "yes" : "NO",
  })),
);
if (sink === 0.5) console.log(""); // keeps the reads observable
