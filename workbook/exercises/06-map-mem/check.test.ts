/**
 * Exercise 6's checks: the paging conformance suite on stacks using your
 * mapMem, and the vpde/kvpd bookkeeping itself.
 */
import { createStack } from "@mm386/malloc";
import { PTE_PRESENT as P, PTE_USER as U, PTE_WRITE as W } from "@mm386/paging";
import { describePagingConformance } from "@mm386/paging/conformance";
import { describe, expect, it } from "vitest";
import type { MapMemExercise } from "../../src/exercise-api.js";
import { bootWith, earlierLayers, implLabel, loadExercise, machineWith } from "../../src/kit.js";

const { mapMem } = await loadExercise<MapMemExercise>(6);
const layers = await earlierLayers(6);

describePagingConformance(`exercise 6 (${implLabel(6)})`, bootWith({ ...layers, mapMem }), {
  machine: machineWith(layers),
});

describe(`exercise 6, the bookkeeping (${implLabel(6)})`, () => {
  it("records a user table's kernel address in vpde, and reaches it there", () => {
    const s = createStack({ ...layers, mapMem, ramBytes: 16 * 1024 * 1024 });
    const as = s.paging.createAddressSpace()!;
    const f = s.allocators.ppalloc(1, 1)!.start;
    expect(s.paging.mapMem(as, f, 0x0800_3000, 1, P | W | U)).toBe(true);
    const r = 0x0800_3000 >>> 22;
    const table = as.vpde[r]!;
    expect(table).toBeGreaterThanOrEqual(s.paging.split);
    // The PDE points at the frame behind vpde[r], user and writable.
    const pde = s.machine.ram.read32(as.phys + 4 * r);
    expect((pde & 0xffff_f000) >>> 0).toBe(s.paging.kernelPhysOf(table));
    expect(pde & 7).toBe(7);
    // The PTE is where vpde says.
    expect((s.mmu.read32(table + 4 * 3) & 0xffff_f000) >>> 0).toBe(f);
    expect(s.paging.init.vpde[r]).toBeNull(); // only this address space got a table
  });

  it("installs a new kernel table in every pagedir with the same PDE, and records it in kvpd", () => {
    const s = createStack({ ...layers, mapMem, ramBytes: 16 * 1024 * 1024 });
    const spaces = [s.paging.createAddressSpace()!, s.paging.createAddressSpace()!];
    const r = 0xe040_0000 >>> 22;
    expect(s.paging.kernelTablePhys(r)).toBeNull();
    expect(s.paging.mapMem(null, s.allocators.ppalloc(1, 1)!.start, 0xe040_0000, 1, P | W)).toBe(
      true,
    );
    const pdes = [s.paging.init, ...spaces].map((pd) => s.machine.ram.read32(pd.phys + 4 * r));
    expect(pdes[0]! & 1).toBe(1);
    expect(new Set(pdes).size).toBe(1);
    const kva = s.paging.kvpd[r - s.paging.userPdes];
    expect(kva).not.toBeNull();
    expect(s.paging.kernelPhysOf(kva!)).toBe((pdes[0]! & 0xffff_f000) >>> 0);
    // And a pagedir created afterwards sees the table too.
    const later = s.paging.createAddressSpace()!;
    expect(s.machine.ram.read32(later.phys + 4 * r)).toBe(pdes[0]);
  });
});
