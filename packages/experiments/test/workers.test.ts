/**
 * Worker threads need the build (a worker loads JavaScript), so the pool is
 * exercised only in the deep run (MM386_DEEP=1): the built command with
 * --jobs 2 must give the rows the in-thread run gives, in the same order.
 * The fast suite checks the ordering rule in-thread and the worker's entry.
 */
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Row } from "../src/api.js";
import { planExperiment } from "../src/options.js";
import { runCombination, runExperiment } from "../src/run.js";
import { runTask } from "../src/worker.js";

const ARGS = [
  "tlb",
  "--pages",
  "40",
  "--touches",
  "500",
  "--tlb",
  "unbounded,8:2:lru,8:8:fifo,16:4:random",
  "--repeat",
  "1",
];
const strip = (r: Row) => ({ ...r, wallMs: 0 });

describe("rows in combination order", () => {
  it("the worker's entry runs one combination as the runner does", async () => {
    const plan = planExperiment(ARGS)!;
    const [direct] = await runExperiment(plan.combos.slice(1, 2), { jobs: 1 });
    expect(strip(runTask({ combo: plan.combos[1]!, repeat: 1 }))).toEqual(strip(direct!));
  });

  // Registered only in the deep run (it builds the package), so the fast run reports no skip.
  if (process.env.MM386_DEEP === "1")
    it("--jobs 2 on worker threads: the same rows as one thread, in the same order", async () => {
      const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
      execFileSync("npx", ["tsc", "-b", "packages/experiments"], { cwd: root, stdio: "inherit" });
      const out = execFileSync(
        process.execPath,
        [
          join(root, "packages/experiments/dist/bin/experiment.js"),
          ...ARGS,
          "--jobs",
          "2",
          "--json",
        ],
        { encoding: "utf8" },
      );
      const pooled = out
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as Row);
      const plan = planExperiment(ARGS)!;
      const local = await runExperiment(plan.combos, { jobs: 1 });
      expect(pooled.map(strip)).toEqual(local.map(strip));
    }, 120_000);
});

describe("a combination built by hand is checked before anything runs", () => {
  const good = planExperiment(["spaces", "--spaces", "1", "--pages", "1", "--rounds", "1"])!
    .combos[0]!;
  it.each([
    [{ ...good, workload: "swap" }, '"swap"'],
    [{ ...good, tlb: "64:3:lru" }, '"64:3:lru"'],
    [{ ...good, ramMib: 2 }, "ramMib 2"],
    [{ ...good, seed: 0 }, "seed 0"],
    [{ ...good, seed: 1.5 }, "seed 1.5"],
  ])("%j", async (combo, named) => {
    await expect(runExperiment([combo as typeof good])).rejects.toMatchObject({
      code: "E_BAD_OPTION",
      message: expect.stringContaining(named) as string,
    });
  });
  it("and the run options too", async () => {
    await expect(runExperiment([good], { jobs: 0 })).rejects.toThrow(/jobs 0/);
    expect(() => runCombination(good, 1.5)).toThrow(/repeat 1\.5/);
  });
});
