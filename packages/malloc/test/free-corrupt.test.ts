/**
 * Issue 10, item 6: free() must not trust a header that was overwritten with a
 * plausible value. The heap knows what it handed out, so a free whose header
 * (or whose neighbour's header) no longer says so is refused with E_CORRUPT
 * naming the address, and nothing changes: above all, the live neighbour the
 * bad header would have merged into the free lists keeps its memory.
 *
 * Written against the public API (`Malloc`, `createStack`, the documented
 * word layout of `api.ts`: the header is the word before the pointer, size
 * with the flags in its low 3 bits) and the MMU only, so that a rework of the
 * heap's internals keeps it meaningful. The first case needs nothing more;
 * the two neighbour cases also use the documented boundary tags (PREV_ALLOC,
 * the footer as the last word of a free block), and change with them.
 */
import { describe, expect, it } from "vitest";
import {
  ALLOC,
  Malloc,
  MallocError,
  POLICIES,
  PREV_ALLOC,
  createStack,
  type PolicyFactory,
} from "../src/index.js";

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

/** A heap with three consecutive live blocks a < b < c of one size, each filled with its own pattern. */
function setup(policy: PolicyFactory, align: 8 | 16) {
  const stack = createStack({ ramBytes: 16 * 1024 * 1024 });
  const heap = new Malloc(stack.kv, { policy, align });
  const mmu = stack.mmu;
  const n = 32;
  const ptrs = Array.from({ length: 6 }, () => heap.malloc(n)!).sort((x, y) => x - y);
  // Three blocks in a row: equal gaps mean nothing lies between them.
  const i = ptrs.findIndex(
    (p, k) => k + 2 < ptrs.length && ptrs[k + 1]! - p === ptrs[k + 2]! - ptrs[k + 1]!,
  );
  expect(i).toBeGreaterThanOrEqual(0);
  const [a, b, c] = [ptrs[i]!, ptrs[i + 1]!, ptrs[i + 2]!];
  const pattern = (p: number, k: number) => (Math.imul(p, 0x9e37_79b1) ^ k) >>> 0;
  for (const p of ptrs) for (let k = 0; k < n; k += 4) mmu.write32(p + k, pattern(p, k));
  const intact = (p: number) => {
    for (let k = 0; k < n; k += 4) expect(mmu.read32(p + k), `${hex(p)}+${k}`).toBe(pattern(p, k));
  };
  // Every word around the blocks, as the MMU sees it, plus the heap's own account.
  const lo = Math.max(ptrs[0]! - 64, Math.floor(ptrs[0]! / 4096) * 4096); // not below the chunk's first page
  const hi = ptrs[ptrs.length - 1]! + 256;
  const snapshot = () => {
    const words: number[] = [];
    for (let va = lo; va < hi; va += 4) words.push(mmu.read32(va));
    return {
      words,
      dump: heap.dump(),
      stats: heap.stats,
      free: stack.allocators.physical.freePages,
    };
  };
  return { heap, mmu, a, b, c, n, ptrs, intact, snapshot };
}

/** The error a refused free throws: a MallocError with a code, naming `bp`. */
function refusal(f: () => unknown, bp: number): MallocError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught, "the free was accepted").toBeInstanceOf(MallocError);
  const e = caught as MallocError;
  expect(e.code).toBe("E_CORRUPT");
  expect(e.message).toContain(hex(bp));
  return e;
}

describe.each([
  ...Object.entries(POLICIES).map(([name, policy]) => ({ name, policy, align: 8 as const })),
  { name: "segregated", policy: POLICIES.segregated, align: 16 as const },
])("free() refuses a plausible corrupted header ($name, align $align)", ({ policy, align }) => {
  it("a header grown over the live block after it: free(a) would swallow b", () => {
    const { heap, mmu, a, b, c, n, ptrs, intact, snapshot } = setup(policy, align);
    const header = mmu.read32(a - 4);
    // Plausible: aligned, inside the chunk, ALLOC set, and the header after b
    // still has PREV_ALLOC set (b is allocated): a block from a up to c.
    const forged = (c - a) | (header & 7);
    expect(forged & ~7).toBe(2 * (b - a));
    mmu.write32(a - 4, forged);
    const before = snapshot();
    refusal(() => heap.free(a), a);
    expect(snapshot()).toEqual(before);
    intact(b);
    // Repaired, the heap is whole, and no later malloc is handed b's memory.
    mmu.write32(a - 4, header);
    heap.check();
    const more = Array.from({ length: 40 }, () => heap.malloc(n)!);
    for (const p of more) expect(p + n <= b || b + n <= p, `${hex(p)} overlaps b`).toBe(true);
    intact(b);
    for (const p of [...more, ...ptrs]) heap.free(p);
    heap.check();
    expect(heap.stats.allocations).toBe(0);
  });

  it("a header that says the live block before is free, with a forged footer: free(b) would swallow a", () => {
    const { heap, mmu, a, b, intact, snapshot } = setup(policy, align);
    const header = mmu.read32(b - 4);
    const aHeader = mmu.read32(a - 4);
    const lastOfA = mmu.read32(b - 8);
    // The forged footer describes a as a free block: its size and flags, ALLOC off.
    mmu.write32(b - 8, (b - a) | (aHeader & PREV_ALLOC));
    mmu.write32(b - 4, header & ~PREV_ALLOC);
    const before = snapshot();
    refusal(() => heap.free(b), b);
    expect(snapshot()).toEqual(before);
    mmu.write32(b - 4, header);
    mmu.write32(b - 8, lastOfA);
    intact(a);
    heap.check();
    heap.free(b);
    heap.free(a);
    heap.check();
  });

  it("a live neighbour whose header says free, with a matching footer: free(a) would swallow b", () => {
    const { heap, mmu, a, b, c, intact, snapshot } = setup(policy, align);
    const bHeader = mmu.read32(b - 4);
    const lastOfB = mmu.read32(c - 8);
    const freeLooking = (bHeader & ~ALLOC) >>> 0;
    mmu.write32(b - 4, freeLooking);
    mmu.write32(c - 8, freeLooking); // b's footer, as a free block would have it
    const before = snapshot();
    refusal(() => heap.free(a), a);
    expect(snapshot()).toEqual(before);
    mmu.write32(b - 4, bHeader);
    mmu.write32(c - 8, lastOfB);
    intact(b);
    heap.check();
  });

  it("realloc reads the same headers and refuses the same way", () => {
    const { heap, mmu, a, c, snapshot } = setup(policy, align);
    const header = mmu.read32(a - 4);
    mmu.write32(a - 4, (c - a) | (header & 7));
    const before = snapshot();
    refusal(() => heap.realloc(a, 8), a);
    refusal(() => heap.realloc(a, 60), a);
    expect(snapshot()).toEqual(before);
  });
});
