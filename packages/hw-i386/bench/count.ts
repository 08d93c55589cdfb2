/**
 * Instructions per access, counted by valgrind: the MMU's access paths (a
 * hit, a write hit, a miss + invlpg, with the default TLB and a 64-entry LRU
 * one), the floor's hit and miss, and the plain read, on the workload that
 * mmu.bench.ts times (workload.ts). On a shared machine the times that
 * `pnpm bench` prints move by 1.5x from one minute to the next; the MMU's
 * counts moved by up to 5% between runs, and the plain read's, the smallest,
 * by up to 13% (27.5 to 31.7), so a change of 10% in a path shows at once,
 * and ratios are best read between the MMU's cases and the floor's. (A count
 * is not a time: two paths with the same count can differ in cache misses.)
 *
 * How: each case runs in a child process under `valgrind --tool=callgrind`,
 * once with R1 and once with R2 passes of N accesses; the difference of the
 * two totals over (R2 - R1) * N is the cost of one access, start-up and
 * compilation cancelled out. Node runs with --no-concurrent-recompilation so
 * that V8 compiles the same code on every run (with compilation on a thread of
 * its own, the count varied by 2x between runs).
 *
 * Usage, from packages/hw-i386: `pnpm bench:count [FILTER...]`: only the
 * cases whose names contain one of the filters (default: all, five to nine
 * minutes on two cores). A ratio column is blank where the filter left out the
 * case it compares with. Needs valgrind on the PATH.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
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

/** Passes of N accesses in the two runs of a case. */
const R1 = 2;
const R2 = 6;

/** A case: builds its workload and returns one pass of N accesses. */
type Case = () => () => void;

let sink = 0;
const CASES = new Map<string, Case>();
CASES.set("baseline: Uint32Array random read", () => {
  const plain = baseline();
  const all = offsets(PAGES, 1);
  return () => {
    sink += plain.pass(plain.words, all);
  };
});
for (const [where, base] of BASES) {
  CASES.set(`floor: minimal flat TLB hit [${where}]`, () => {
    const hitSet = offsets(PAGES, 2);
    const floor = floorMachine(base, hitSet);
    const pass = loop<FloorWalk>(BODY.readHit);
    return () => {
      sink += pass(floor, base, hitSet);
    };
  });
  CASES.set(`floor: minimal walk + invlpg [${where}]`, () => {
    const floor = floorMachine(base);
    const all = offsets(PAGES, 1);
    const pass = loop<FloorWalk>(BODY.miss);
    return () => {
      sink += pass(floor, base, all);
    };
  });
  for (const [tlbLabel, make, resident] of TLBS) {
    const label = `${tlbLabel}, ${where}`;
    const mmuCase =
      (body: string, pages: number, seed: number): Case =>
      () => {
        const m = machine(make(), base);
        warm(m, base, pages);
        const set = offsets(pages, seed);
        const pass = loop(body);
        return () => {
          sink += pass(m, base, set);
        };
      };
    CASES.set(`read32 hit [${label}]`, mmuCase(BODY.readHit, resident, 2));
    CASES.set(`write32 hit [${label}]`, mmuCase(BODY.writeHit, resident, 2));
    CASES.set(`read32 miss: walk + invlpg [${label}]`, mmuCase(BODY.miss, PAGES, 1));
  }
}

/** The child: run case `name` for `passes` passes, then exit. */
function child(name: string, passes: number): void {
  const make = CASES.get(name);
  if (make === undefined) throw new Error(`no case named ${JSON.stringify(name)}`);
  const pass = make();
  for (let p = 0; p < passes; p++) pass();
  if (sink === 0.5) console.log(""); // keeps the reads observable
}

/** The valgrind runs not yet finished: killed if another fails. */
const running = new Set<ChildProcess>();

/** Instructions that valgrind counted for case `name` run for `passes` passes. */
function total(name: string, passes: number): Promise<number> {
  const self = fileURLToPath(import.meta.url);
  const args = [
    "--tool=callgrind",
    "--callgrind-out-file=/dev/null",
    process.execPath,
    "--no-concurrent-recompilation",
    self,
    "--child",
    name,
    String(passes),
  ];
  return new Promise((resolve, reject) => {
    const p = spawn("valgrind", args, { stdio: ["ignore", "ignore", "pipe"] });
    running.add(p);
    let err = "";
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => {
      running.delete(p);
      const m = /Collected\s*:\s*(\d+)/.exec(err);
      if (code !== 0 || m === null) reject(new Error(`valgrind on ${name} failed:\n${err}`));
      else resolve(Number(m[1]));
    });
  });
}

async function parent(filters: string[]): Promise<void> {
  const option = filters.find((f) => f.startsWith("-"));
  if (option !== undefined) {
    console.error(
      `count.ts: unknown option ${JSON.stringify(option)}; its arguments are parts of case names`,
    );
    process.exitCode = 2;
    return;
  }
  if (spawnSync("valgrind", ["--version"]).error !== undefined) {
    console.error("count.ts needs valgrind on the PATH (Debian: apt-get install valgrind)");
    process.exitCode = 1;
    return;
  }
  const names = [...CASES.keys()].filter(
    (n) => filters.length === 0 || filters.some((f) => n.includes(f)),
  );
  if (names.length === 0) {
    console.error(
      `no case matches ${filters.map((f) => JSON.stringify(f)).join(", ")}; the cases:\n${[...CASES.keys()].join("\n")}`,
    );
    process.exitCode = 2;
    return;
  }
  // Both runs of a case, two runs at a time (each is one busy thread).
  const jobs = names.flatMap((n) => [R1, R2].map((r) => ({ name: n, passes: r })));
  const totals = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      totals.set(`${job.name}/${job.passes}`, await total(job.name, job.passes));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(2, availableParallelism()) }, worker));
  } catch (e) {
    for (const p of running) p.kill();
    throw e;
  }
  const perAccess = new Map(
    names.map((n) => [
      n,
      (totals.get(`${n}/${R2}`)! - totals.get(`${n}/${R1}`)!) / ((R2 - R1) * N),
    ]),
  );
  const baseline = perAccess.get("baseline: Uint32Array random read");
  const ratioTo = (n: string, other: string) => {
    const o = perAccess.get(other);
    return n === other || o === undefined ? "" : `${(perAccess.get(n)! / o).toFixed(2)}x`;
  };
  console.log(`instructions per access (valgrind; ${N} accesses a pass, ${R2} passes less ${R1})`);
  console.table(
    names.map((n) => ({
      case: n,
      instructions: Number(perAccess.get(n)!.toFixed(1)),
      "vs baseline": baseline === undefined ? "" : `${(perAccess.get(n)! / baseline).toFixed(2)}x`,
      // Issue 11's goal for a finite TLB: within 2x of the default one.
      "vs default TLB": ratioTo(n, n.replace("64-entry 4-way LRU", "unbounded")),
    })),
  );
}

const [flag, name, passes] = process.argv.slice(2);
if (flag === "--child") child(name!, Number(passes));
else await parent(process.argv.slice(2));
