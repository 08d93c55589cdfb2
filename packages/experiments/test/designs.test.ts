/**
 * Every registered design runs every workload (today hobby; Whitix and
 * Linux join when they are registered in DESIGNS), and a design with no
 * hooks still runs them all through PagingDesign, with "n/a" for the options
 * it does not have and null for the figures it does not give.
 */
import { type DesignEntry, DESIGNS, designNames } from "@mm386/malloc";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { WORKLOADS, type Row, type WorkloadName } from "../src/api.js";
import { hooksOf } from "../src/hooks.js";
import { planExperiment } from "../src/options.js";
import { runExperiment } from "../src/run.js";

// Each combination boots a whole stack; on a loaded 2-core machine a few take seconds.
vi.setConfig({ testTimeout: 30_000 });

/** Tiny sizes for every workload. */
const TINY: Record<WorkloadName, string[]> = {
  spaces: ["--spaces", "2", "--pages", "3", "--rounds", "2"],
  "kernel-alloc": ["--ops", "60"],
  malloc: ["--ops", "80"],
  tlb: ["--pages", "12", "--touches", "200", "--tlb", "unbounded,4:2:lru"],
};

async function rows(workload: WorkloadName, ...more: string[]): Promise<Row[]> {
  const plan = planExperiment([workload, ...TINY[workload], "--repeat", "1", ...more])!;
  return runExperiment(plan.combos, { jobs: 1, repeat: 1 });
}

/** What holds for every row of every design, whatever it is. */
function checkInvariants(r: Row): void {
  expect(r.error, `${r.design} ${r.workload}`).toBeNull();
  // Aligned 32-bit accesses: each is one lookup, a hit or a miss; a miss walks.
  expect(r.tlbHits + r.tlbMisses).toBe(r.mmuAccesses);
  expect(r.walks).toBeGreaterThanOrEqual(r.tlbMisses);
  expect(r.mmuAccesses).toBeGreaterThan(0);
  for (const k of ["pageTablePages", "physicalPages", "kernelVirtualPages"] as const)
    expect(r[k] === null || (Number.isSafeInteger(r[k]) && r[k] >= 0)).toBe(true);
  // At least the reference directory is a page-table page.
  expect(r.pageTablePages).toBeGreaterThanOrEqual(1);
  if (r.fragmentation !== null) expect(r.fragmentation).toBeGreaterThanOrEqual(0);
  if (r.fragmentation !== null) expect(r.fragmentation).toBeLessThan(1);
}

describe.each(designNames())("design %s", (design) => {
  it.each(Object.keys(WORKLOADS) as WorkloadName[])("runs %s", async (workload) => {
    const got = await rows(workload, "--designs", design);
    expect(got.length).toBeGreaterThan(0);
    const hooks = hooksOf(design);
    for (const r of got) {
      checkInvariants(r);
      expect(r.design).toBe(design);
      if (hooks.ranges !== true) expect(r.ranges).toBe("n/a");
      if (hooks.physical === undefined) expect(r.physicalPages).toBeNull();
    }
  });
});

describe("a design with no hooks", () => {
  // The hobby kernel booted under another name: a design the experiments
  // know nothing about beyond DESIGNS, as Whitix and Linux are on the day
  // they are registered.
  const mutable = DESIGNS as Record<string, DesignEntry>;
  beforeAll(() => {
    mutable.bare = { ...DESIGNS.hobby!, name: "bare", summary: "hobby without hooks (test)" };
  });
  afterAll(() => {
    delete mutable.bare;
  });

  it.each(Object.keys(WORKLOADS) as WorkloadName[])(
    "runs %s through PagingDesign alone: n/a options, null figures",
    async (workload) => {
      const more = workload === "spaces" || workload === "tlb" ? [] : ["--policy", "first-fit"];
      const got = await rows(
        workload,
        "--designs",
        "hobby,bare",
        "--ranges",
        "buddy,first-fit",
        ...more,
      );
      const bare = got.filter((r) => r.design === "bare");
      // The two --ranges values collapse into one n/a row per TLB shape.
      expect(bare).toHaveLength(got.filter((r) => r.design === "hobby").length / 2);
      for (const r of bare) {
        checkInvariants(r);
        expect([r.ranges, r.heap, r.policy]).toEqual(["n/a", "n/a", "n/a"]);
        expect([r.physicalPages, r.kernelVirtualPages, r.fragmentation]).toEqual([
          null,
          null,
          null,
        ]);
      }
    },
  );

  it("counts the same page tables as the hobby rows on spaces (counted from the tables, not the design)", async () => {
    const got = await rows("spaces", "--designs", "hobby,bare");
    expect(got[1]!.pageTablePages).toBe(got[0]!.pageTablePages);
    expect(got[1]!.phases.run).toEqual(got[0]!.phases.run);
  });
});

describe("a design that cannot boot", () => {
  const mutable = DESIGNS as Record<string, DesignEntry>;
  beforeAll(() => {
    mutable.broken = {
      name: "broken",
      summary: "throws at boot (test)",
      boot: () => {
        throw new Error("no room for the kernel in 0x00400000 bytes");
      },
    };
  });
  afterAll(() => {
    delete mutable.broken;
  });

  it("gets a row that says why; the other designs' rows still run", async () => {
    const got = await rows("spaces", "--designs", "broken,hobby");
    expect(got.map((r) => r.design)).toEqual(["broken", "hobby"]);
    expect(got[0]!.error).toBe("boot failed: no room for the kernel in 0x00400000 bytes");
    expect([got[0]!.mmuAccesses, got[0]!.pageTablePages]).toEqual([0, null]);
    checkInvariants(got[1]!);
  });
});
