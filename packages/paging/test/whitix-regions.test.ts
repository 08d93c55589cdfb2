/** RegionSet against a plain set of pages: random adds of free runs and removes of covered runs. */
import { deepRun } from "@mm386/hw-i386/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RegionSet } from "../src/whitix/index.js";

describe("RegionSet", () => {
  it("merges touching intervals and splits on removal (hand-worked)", () => {
    const s = new RegionSet();
    s.add(10, 20);
    s.add(30, 40);
    s.add(20, 30); // fills the gap: one interval
    expect(s.intervals()).toEqual([[10, 40]]);
    s.remove(15, 25);
    expect(s.intervals()).toEqual([
      [10, 15],
      [25, 40],
    ]);
    expect(s.covers(25, 40)).toBe(true);
    expect(s.covers(14, 26)).toBe(false);
    expect(s.atOrAfter(15)).toEqual([25, 40]);
    expect(s.atOrAfter(40)).toBeNull();
  });

  it(
    "agrees with a set of units after any sequence",
    () => {
      const step = fc.record({
        add: fc.boolean(),
        start: fc.nat({ max: 60 }),
        len: fc.integer({ min: 1, max: 8 }),
      });
      fc.assert(
        fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
          const s = new RegionSet();
          const model = new Set<number>();
          const all = (a: number, b: number, f: (u: number) => boolean) => {
            for (let u = a; u < b; u++) if (!f(u)) return false;
            return true;
          };
          for (const { add, start, len } of steps) {
            const end = start + len;
            if (add && all(start, end, (u) => !model.has(u))) {
              s.add(start, end);
              for (let u = start; u < end; u++) model.add(u);
            } else if (!add && s.covers(start, end)) {
              expect(all(start, end, (u) => model.has(u))).toBe(true);
              s.remove(start, end);
              for (let u = start; u < end; u++) model.delete(u);
            }
            // The intervals are sorted, disjoint, never touching, and hold exactly the model's units.
            // Checked as plain values with one expect a step: an expect() per unit made
            // this test cost seconds (vitest's expect costs far more than a RegionSet call).
            const iv = s.intervals();
            const units = new Set<number>();
            const misordered = iv.filter(
              ([a, b], i) => !(a < b) || (i > 0 && !(a > iv[i - 1]![1])),
            );
            for (const [a, b] of iv) for (let u = a; u < b; u++) units.add(u);
            const unit = (has: (u: number) => boolean) =>
              Array.from({ length: 70 }, (_, u) => (has(u) ? "#" : ".")).join("");
            expect({
              misordered,
              units: unit((u) => units.has(u)),
              overlaps: unit((u) => s.overlaps(u, u + 1)),
            }).toEqual({
              misordered: [],
              units: unit((u) => model.has(u)),
              overlaps: unit((u) => model.has(u)),
            });
          }
        }),
        { numRuns: deepRun() ? 2000 : 100 },
      );
    },
    deepRun() ? 3_600_000 : 20_000,
  );
});
