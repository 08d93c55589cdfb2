/**
 * Issue 12: the kvmalloc seam hands the heap pages and the MMU that reaches
 * them, nothing else. A heap built on an allocator that exposes only
 * `name`, `mmu`, `kvmalloc` and `kvfree` (no paging to reach around it into)
 * works; one without an MMU is refused before anything is taken.
 */
import type { KernelPageAllocator } from "@mm386/kvmalloc";
import { describe, expect, it } from "vitest";
import { Malloc, MallocError, createStack } from "../src/index.js";

describe("the kvmalloc seam", () => {
  it("a heap runs on name, mmu, kvmalloc and kvfree alone", () => {
    const { kv, machine } = createStack({ ramBytes: 16 * 1024 * 1024 });
    const narrow: KernelPageAllocator = Object.freeze({
      name: "narrow",
      mmu: kv.mmu,
      kvmalloc: (n: number, reserve?: number) => kv.kvmalloc(n, reserve),
      kvfree: (a: number, n: number) => kv.kvfree(a, n),
    });
    expect("paging" in narrow).toBe(false);
    const heap = new Malloc(narrow);
    const blocks = [8, 100, 5000, 70000].map((n) => [heap.malloc(n)!, n] as const);
    for (const [bp, n] of blocks) {
      expect(bp).not.toBeNull();
      machine.mmu.write32(bp + n - (n % 4 || 4), bp >>> 0, 0);
    }
    for (const [bp, n] of blocks)
      expect(machine.mmu.read32(bp + n - (n % 4 || 4), 0) >>> 0).toBe(bp >>> 0);
    // Growing a large block without kvresize goes through resizeKernelPages' copy on kv.mmu.
    const [big] = blocks[3]!;
    const grown = heap.realloc(big, 140000)!;
    expect(machine.mmu.read32(grown + 70000 - 4, 0) >>> 0).toBe(big >>> 0);
    heap.check();
  });

  it("an allocator without an MMU is refused, naming what is missing, and nothing is taken", () => {
    const { kv } = createStack({ ramBytes: 16 * 1024 * 1024 });
    const before = (kv as unknown as { pages: number }).pages;
    const old = {
      name: "old",
      paging: { mmu: kv.mmu },
      kvmalloc: (n: number) => kv.kvmalloc(n),
      kvfree: (a: number, n: number) => kv.kvfree(a, n),
    };
    let err: unknown;
    try {
      new Malloc(old as unknown as KernelPageAllocator);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MallocError);
    expect((err as MallocError).code).toBe("E_BAD_ARGUMENT");
    expect((err as MallocError).message).toMatch(/mmu/);
    expect((kv as unknown as { pages: number }).pages).toBe(before);
  });
});
