/**
 * Small workloads whose counters are worked out by hand, independently of
 * the code that counts them: what the MMU must do for N spaces of M pages
 * switched round-robin R times, and what a TLB must do for a page set it
 * holds whole.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import type { Combination, Row, WorkloadName, WorkloadSizes } from "../src/api.js";
import { runCombination } from "../src/run.js";

// Each combination boots a whole stack; on a loaded 2-core machine a few take seconds.
vi.setConfig({ testTimeout: 30_000 });

const DEEP = process.env.MM386_DEEP === "1";

const SIZES: WorkloadSizes = { spaces: 1, pages: 1, rounds: 1, ops: 1, touches: 1, hot: 1 };

/** A hobby combination with the defaults and these sizes. */
function combo(
  workload: WorkloadName,
  sizes: Partial<WorkloadSizes>,
  tlb = "unbounded",
): Combination {
  return {
    index: 0,
    workload,
    design: "hobby",
    tlb,
    ranges: "buddy",
    heap: "n/a",
    policy: "n/a",
    trace: "n/a",
    ramMib: 64,
    seed: 7,
    sizes: { ...SIZES, ...sizes },
  };
}

const spaces = (n: number, m: number, r: number): Row =>
  runCombination(combo("spaces", { spaces: n, pages: m, rounds: r }));

describe("spaces, by hand", () => {
  // Each visit of a space: one CR3 load (the switch), then per page a write
  // (the user entries are gone: a miss, one walk that sets A and D) and a
  // read (a hit). So per round and space: 1 CR3 load, 2M accesses, M walks.
  it.each([
    [3, 5, 2],
    [2, 9, 3],
    [1, 4, 3], // switching to the space already loaded still loads CR3
  ])("%i spaces x %i pages x %i rounds: the run phase's counts", (n, m, r) => {
    const row = spaces(n, m, r);
    expect(row.error).toBeNull();
    expect(row.phases.run).toEqual({
      mmuAccesses: 2 * n * m * r,
      walks: n * m * r,
      tlbMisses: n * m * r,
      tlbHits: n * m * r,
      tlbHitRate: 0.5,
      faults: 0,
      flushes: { cr3: n * r, invlpg: 0, full: 0 },
    });
  });

  it("the same counts under any TLB shape (property)", () => {
    // The run phase never needs more than one entry: each read follows the
    // write of the same page, and every switch empties the user entries. So
    // the hand-worked counts hold for every shape, however small.
    const shape = fc.oneof(
      fc.constant("unbounded"),
      fc
        .tuple(
          fc.integer({ min: 0, max: 6 }),
          fc.integer({ min: 0, max: 3 }),
          fc.constantFrom("lru", "fifo", "random"),
        )
        .map(([e, w, r]) => `${2 ** e}:${2 ** Math.min(w, e)}:${r}`),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 3 }),
        shape,
        (n, m, r, tlb) => {
          const row = runCombination(combo("spaces", { spaces: n, pages: m, rounds: r }, tlb));
          expect(row.phases.run).toMatchObject({
            mmuAccesses: 2 * n * m * r,
            walks: n * m * r,
            tlbMisses: n * m * r,
            flushes: { cr3: n * r, invlpg: 0, full: 0 },
          });
        },
      ),
      { numRuns: DEEP ? 100 : 6 },
    );
  }, 300_000);

  it("each extra space holds a directory, one page table and its M frames", () => {
    // M <= 1024 pages from userStart fit in one page table. In the hobby
    // kernel both the directory and the table also take a kernel virtual
    // page (the directory's address, the table's vpde).
    const m = 6;
    const one = spaces(1, m, 1);
    const four = spaces(4, m, 1);
    expect(four.pageTablePages! - one.pageTablePages!).toBe(3 * 2);
    expect(four.physicalPages! - one.physicalPages!).toBe(3 * (2 + m));
    expect(four.kernelVirtualPages! - one.kernelVirtualPages!).toBe(3 * 2);
  });

  it("the totals are the phases added up, and teardown switches back once", () => {
    const row = spaces(2, 3, 1);
    const { setup, run, teardown } = row.phases;
    expect(row.walks).toBe(setup.walks + run.walks + teardown.walks);
    expect(row.mmuAccesses).toBe(setup.mmuAccesses + run.mmuAccesses + teardown.mmuAccesses);
    expect(row.flushes.cr3).toBe(setup.flushes.cr3 + run.flushes.cr3 + teardown.flushes.cr3);
    expect(teardown.flushes.cr3).toBe(1);
  });
});

describe("tlb, by hand", () => {
  const tlb = (shape: string, sizes: Partial<WorkloadSizes>) =>
    runCombination(combo("tlb", sizes, shape));

  it("an unbounded TLB walks once per page touched and then always hits", () => {
    // 6 pages, all hot, 500 touches: every page is touched (the chance that
    // one of 6 is never picked in 375 hot touches is below 1e-28).
    const row = tlb("unbounded", { pages: 6, hot: 6, touches: 500 });
    expect(row.phases.run).toMatchObject({
      mmuAccesses: 500,
      walks: 6,
      tlbMisses: 6,
      tlbHits: 494,
    });
  });

  it("a set-associative TLB that holds every page behaves as the unbounded one", () => {
    // Pages 1..8 (vpn 1..8) fall in 8 different sets of an 8-set 1-way TLB.
    const row = tlb("8:1:fifo", { pages: 8, hot: 8, touches: 400 });
    expect(row.phases.run).toMatchObject({ walks: 8, tlbMisses: 8, tlbHits: 392 });
  });

  it("one entry: a miss whenever the page changes", () => {
    // With one entry, a touch hits only if it repeats the page just touched;
    // 2 pages, 1 way: about half the touches miss, and never fewer than the
    // 2 first visits nor more than all of them.
    const row = tlb("1:1:lru", { pages: 2, hot: 2, touches: 1000 });
    expect(row.phases.run.tlbMisses).toBeGreaterThan(300);
    expect(row.phases.run.tlbMisses).toBeLessThan(700);
    expect(row.phases.run.tlbHits + row.phases.run.tlbMisses).toBe(1000);
  });

  it("fully associative LRU: a larger TLB never misses more (LRU is a stack algorithm)", () => {
    const sizes = { pages: 120, hot: 40, touches: 2000 };
    const misses = [8, 16, 32, 64, 128].map(
      (e) => tlb(`${e}:${e}:lru`, sizes).phases.run.tlbMisses,
    );
    for (let i = 1; i < misses.length; i++) expect(misses[i]).toBeLessThanOrEqual(misses[i - 1]!);
    // And the TLB makes a difference here: 8 entries cannot hold the 40 hot pages.
    expect(misses[0]).toBeGreaterThan(misses[4]! * 2);
  });
});
