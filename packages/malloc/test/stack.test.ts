import { FirstFitBitmapAllocator, firstFitRanges } from "@mm386/allocation";
import { SetAssociativeTlb } from "@mm386/hw-i386";
import { Kvmalloc } from "@mm386/kvmalloc";
import { describe, expect, it } from "vitest";
import { Malloc, addressOrderedFirstFit, createStack, type HeapAllocator } from "../src/index.js";

describe("createStack", () => {
  it("boots the default stack: paging on, kernel half mapped, a heap that works", () => {
    const s = createStack({ ramBytes: 16 * 1024 * 1024 });
    expect(s.mmu.pagingEnabled).toBe(true);
    expect(s.mmu).toBe(s.machine.mmu);
    expect(s.allocators).toBe(s.paging.allocators);
    expect(s.kv).toBeInstanceOf(Kvmalloc);
    expect(s.heap).toBeInstanceOf(Malloc);
    const p = s.heap.malloc(100)!;
    s.mmu.write32(p, 0xfeed);
    expect(s.mmu.read32(p)).toBe(0xfeed);
    expect(s.machine.ram.installedBytes).toBe(16 * 1024 * 1024);
  });

  it("wires every swap point it is given", () => {
    const seen: string[] = [];
    const s = createStack({
      tlb: () => new SetAssociativeTlb({ entries: 16, ways: 4 }),
      rangeAllocator: firstFitRanges,
      policy: addressOrderedFirstFit,
      align: 16,
      beforeBoot: (m) => {
        seen.push(m.mmu.pagingEnabled ? "after" : "before");
      },
    });
    expect(seen).toEqual(["before"]);
    expect(s.mmu.tlb).toBeInstanceOf(SetAssociativeTlb);
    expect((s.allocators.physical as { ranges?: unknown }).ranges).toBeInstanceOf(
      FirstFitBitmapAllocator,
    );
    const heap = s.heap as Malloc;
    expect(heap.policy.name).toBe(addressOrderedFirstFit().name);
    expect(heap.align).toBe(16);
    expect(heap.malloc(1)! % 16).toBe(0);
  });

  it("takes a heap and a kvmalloc of your own", () => {
    const mine: HeapAllocator = {
      name: "bump",
      malloc: () => 0xc100_0000,
      free: () => undefined,
      realloc: () => null,
    };
    const s = createStack({ malloc: () => mine, guardPages: true });
    expect(s.heap).toBe(mine);
    expect((s.kv as Kvmalloc).guardPages).toBe(true);
  });
});
