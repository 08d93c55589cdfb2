/**
 * `workbook view N`: the module the viewer runs is built from the student's
 * finished layers and exercise N's own, each plugged in as in `check`.
 */
import { describe, expect, it } from "vitest";
import { EXERCISES } from "../src/exercises.js";
import { viewPlan, viewStackSource } from "../src/view.js";

describe("workbook view N", () => {
  it("imports the student's solution of each layer and plugs it where check would", () => {
    const src = viewStackSource([2, 3, 6], "/w/src/walk-checker.ts");
    expect(src).toContain("02-tlb/solution.ts");
    expect(src).toContain("layers.tlb = () => ex2.createTlb();");
    expect(src).toContain("layers.rangeAllocator = ex3.buddyRanges;");
    expect(src).toContain("layers.mapMem = ex6.mapMem;");
    expect(src).not.toContain("walkChecker"); // exercise 1 is not among them
    expect(src).toMatch(/export function makeStack\(design, options\)/);
  });

  it("offers a branch exercise's own design, with no main-line layers", () => {
    const plan = viewPlan(EXERCISES[9]!, [1, 2, 3, 4], "/w/walk.ts");
    expect(plan.designs).toEqual(["whitix"]);
    expect(plan.layers).toEqual([]);
    expect(viewPlan(EXERCISES[10]!, [], "/w/walk.ts").designs).toEqual(["linux"]);
  });
});
