/**
 * Exercise 6's rollback check: a mapMem that runs out of memory half-way
 * gives back the user page tables it made for that call (the paging
 * conformance suite only checks that nothing ends up mapped). Kept apart
 * from check.test.ts so that the two can change independently.
 */
import { createStack } from "@mm386/malloc";
import {
  type PageSource,
  PTE_PRESENT as P,
  PTE_USER as U,
  PTE_WRITE as W,
  kernelPageSource,
} from "@mm386/paging";
import { describe, expect, it } from "vitest";
import type { MapMemExercise } from "../../src/exercise-api.js";
import { earlierLayers, implLabel, loadExercise } from "../../src/kit.js";

const { mapMem } = await loadExercise<MapMemExercise>(6);
const layers = await earlierLayers(6);
const MiB = 1024 * 1024;

describe(`exercise 6, out of memory half-way (${implLabel(6)})`, () => {
  it("gives back the user tables it made when a later one cannot be had, and maps nothing", () => {
    // A page source that hands out `budget` pages and then says no, counting what is held.
    let held = 0;
    let budget = Infinity;
    const limited = (inner: PageSource): PageSource => ({
      name: "limited",
      allocPage: () => {
        if (held >= budget) return null;
        const va = inner.allocPage();
        if (va !== null) held++;
        return va;
      },
      freePage: (va) => {
        held--;
        inner.freePage(va);
      },
    });
    const s = createStack({
      ...layers,
      mapMem,
      ramBytes: 16 * MiB,
      pageSource: (p) => limited(kernelPageSource(p)),
    });
    const as = s.paging.createAddressSpace()!;
    const before = held;
    // Three user regions, 0x00400000..0x00FFFFFF: three new tables, but only two pages left.
    budget = held + 2;
    expect(s.paging.mapMem(as, 0x0010_0000, 0x0040_0000, 3 * 1024, P | W | U)).toBe(false);
    expect(held, "pages held by page tables after the refused call").toBe(before);
    for (const r of [1, 2, 3]) {
      expect(as.vpde[r], `vpde[${r}]`).toBeNull();
      const pde = s.machine.ram.read32(as.phys + 4 * r);
      expect(pde, `PDE ${r} of the address space: 0x${pde.toString(16).padStart(8, "0")}`).toBe(0);
    }
    // And with the memory back, the same call works.
    budget = Infinity;
    expect(s.paging.mapMem(as, 0x0010_0000, 0x0040_0000, 3 * 1024, P | W | U)).toBe(true);
    expect(held).toBe(before + 3);
  });
});
