/**
 * Tiny runs (issue 18, the expr-shaped workload): 8- and 16-byte objects
 * without headers, packed into region blocks with an occupancy bitmap word.
 * Footprints worked by hand, refusals that leave the heap unchanged, the
 * checker catching a bitmap that lies, and a random model test of tiny
 * sizes against a Map with `check()` after every step (`MM386_DEEP=1` runs
 * many more).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { heapModelProperty } from "../src/conformance.js";
import { type HeapAllocator, LAYOUT, Malloc } from "../src/index.js";
import { DEEP, codeOf, hex, setup } from "./heap-setup.js";

/** Everything a refused call must leave as it was. */
function state(heap: Malloc) {
  return { blocks: heap.blocks(), stats: { ...heap.stats }, dump: heap.dump() };
}

describe("footprint, by hand", () => {
  it("packs 441 8-byte blocks in the first page, where region blocks alone fit 246", () => {
    // The first page leaves 3936 bytes to blocks (heap.test.ts). The first
    // 15 malloc(8) are 16-byte region blocks (240 bytes); from the 16th
    // (16 live) they go to runs: a run is a 272-byte block (header,
    // bitmap, link, 32 * 8 bytes, a spare word), 13 of them in the 3696
    // bytes left (3536), 416 objects. The 14th run does not fit the last
    // 160 bytes, and a run never takes a page: 10 more 16-byte blocks.
    const { heap } = setup();
    const ptrs: number[] = [];
    for (let i = 0; i < 441; i++) ptrs.push(heap.malloc(8)!);
    expect(heap.stats.footprintPages).toBe(1);
    const blocks = heap.blocks();
    const runs = blocks.filter((b) => b.runOf !== undefined);
    expect(runs).toHaveLength(13);
    expect(runs.every((b) => b.size === 272 && b.runOf === 8)).toBe(true);
    expect(blocks.filter((b) => b.inRun !== undefined)).toHaveLength(416);
    expect(heap.extents().filter((e) => e.kind === "run")).toHaveLength(13);
    heap.check();
    heap.malloc(8); // the 442nd: the page is full
    expect(heap.stats.footprintPages).toBe(2);
    // Without size classes (no runs): 3936 / 16 = 246 a page.
    const plain = setup({ sizeClasses: false }).heap;
    for (let i = 0; i < 246; i++) plain.malloc(8);
    expect(plain.stats.footprintPages).toBe(1);
    plain.malloc(8);
    expect(plain.stats.footprintPages).toBe(2);
  });

  it("lays a run out as header, bitmap, link, objects, and gives an empty run back before growing", () => {
    const { heap, mmu } = setup();
    const ptrs: number[] = [];
    for (let i = 0; i < 16; i++) ptrs.push(heap.malloc(8)!);
    const run = heap.extents().find((e) => e.kind === "run")!;
    expect(run).toMatchObject({ pages: 0, objectSize: 8, bytes: 272 });
    const bp = run.start + 4;
    expect(run.first).toBe(bp + LAYOUT.RUN_OBJECTS);
    expect(ptrs[15]).toBe(run.first); // the 16th is the run's object 0
    expect(mmu.read32(bp - 4)).toBe(272 | 3); // allocated, the block before allocated
    expect(mmu.read32(bp + LAYOUT.RUN_BITMAP)).toBe(1);
    const more = [heap.malloc(8)!, heap.malloc(1)!, heap.malloc(7)!];
    expect(more).toEqual([run.first + 8, run.first + 16, run.first + 24]);
    expect(mmu.read32(bp + LAYOUT.RUN_BITMAP)).toBe(0b1111);
    heap.free(more[1]!);
    expect(mmu.read32(bp + LAYOUT.RUN_BITMAP)).toBe(0b1011);
    expect(heap.malloc(3)).toBe(more[1]); // the lowest free object
    expect(heap.dump()).toContain(`${hex(bp)}    272 B  run of 8-byte objects: 4 live of 32`);
    for (const p of [ptrs[15]!, ...more]) heap.free(p);
    // Empty, kept: a malloc/free pair at its edge makes and breaks nothing.
    expect(heap.extents().filter((e) => e.kind === "run")).toHaveLength(1);
    heap.check();
    // 3936 - 240 (the 15 region blocks) - 272 (the run) = 3424 bytes of
    // wilderness: a 3608-byte block fits only once the empty run has gone
    // back and merged with it (3696 bytes), so the heap does not grow.
    heap.malloc(3600);
    expect(heap.extents().filter((e) => e.kind === "run")).toHaveLength(0);
    expect(heap.stats.footprintPages).toBe(1);
    heap.check();
  });

  it("packs 16-byte objects 32 to a run, and 16-byte alignment keeps objects aligned", () => {
    for (const align of [8, 16] as const) {
      const { heap } = setup({ align });
      const ptrs = Array.from({ length: 60 }, () => heap.malloc(16)!);
      const runs = heap.extents().filter((e) => e.kind === "run");
      // 15 region blocks, then 45 objects: two runs of 32 objects.
      expect(runs.map((r) => r.objectSize)).toEqual([16, 16]);
      // Header, bitmap and link, the objects from bp + 8 (16 with align 16),
      // 512 bytes of them: 524 or 532 bytes, aligned.
      expect(runs.map((r) => r.bytes)).toEqual(align === 8 ? [528, 528] : [544, 544]);
      expect(ptrs.every((p) => p % align === 0)).toBe(true);
      heap.check();
    }
  });

  it("hands out no run when a heap frees everything: all its regions are one free block again", () => {
    const { heap } = setup();
    const ptrs = Array.from({ length: 200 }, (_, i) => heap.malloc(1 + (i % 16))!);
    expect(heap.extents().some((e) => e.kind === "run")).toBe(true);
    for (const p of ptrs) heap.free(p);
    expect(heap.extents().map((e) => e.kind)).toEqual(["region"]);
    expect(heap.blocks().filter((b) => b.allocated)).toEqual([]);
    heap.check();
  });
});

describe("a hole the block fills comes before a new run", () => {
  // Fifteen malloc(8) are 16-byte region blocks; between the 7th and the
  // 8th sits a block of `between` bytes asked, freed at once onto the free
  // lists (quick lists off). The 16th malloc(8) is the first a run would
  // take, and no run exists yet.
  function holeBetween(between: number) {
    const { heap } = setup({ quickLists: false });
    const ptrs = Array.from({ length: 7 }, () => heap.malloc(8)!);
    const q = heap.malloc(between)!;
    for (let i = 0; i < 8; i++) ptrs.push(heap.malloc(8)!);
    heap.free(q);
    return { heap, q };
  }
  const runs = (heap: Malloc) => heap.extents().filter((e) => e.kind === "run");

  it("takes a 24-byte hole (8 bytes left: no split) for an 8-byte object instead of making a run", () => {
    const { heap, q } = holeBetween(16); // a 24-byte block
    expect(heap.malloc(8)).toBe(q);
    expect(runs(heap)).toHaveLength(0);
    expect(heap.blocks().find((b) => b.bp === q)).toMatchObject({ allocated: true, size: 24 });
    heap.check();
    // No hole left: the next one starts a run, cut from the wilderness.
    const p = heap.malloc(8)!;
    expect(runs(heap)).toHaveLength(1);
    expect(p).toBe(runs(heap)[0]!.first);
    heap.check();
  });

  it("makes a run where the hole would be split (40 bytes: 24 left), and leaves the hole free", () => {
    const { heap, q } = holeBetween(32); // a 40-byte block
    const p = heap.malloc(8)!;
    expect(runs(heap)).toHaveLength(1);
    expect(p).toBe(runs(heap)[0]!.first);
    expect(heap.blocks().find((b) => b.bp === q)).toMatchObject({ allocated: false, size: 40 });
    heap.check();
  });

  it("fills a run with room before a snug hole", () => {
    const { heap, q } = holeBetween(16);
    expect(heap.malloc(8)).toBe(q); // the snug hole
    const first = heap.malloc(8)!; // a run's object 0
    heap.free(q); // a 24-byte hole again, and the run has room
    expect(heap.malloc(8)).toBe(first + 8);
    expect(heap.blocks().find((b) => b.bp === q)).toMatchObject({ allocated: false, size: 24 });
    heap.check();
  });
});

describe("refusals leave the heap unchanged", () => {
  function withRun() {
    const s = setup();
    const ptrs = Array.from({ length: 20 }, () => s.heap.malloc(8)!);
    const run = s.heap.extents().find((e) => e.kind === "run")!;
    return { ...s, ptrs, run, bp: run.start + 4 };
  }

  it("a run's own block, a double free, an address between 16-byte objects", () => {
    const { heap, ptrs, bp } = withRun();
    const before = state(heap);
    expect(codeOf(() => heap.free(bp))).toBe("E_NOT_ALLOCATED");
    expect(codeOf(() => heap.realloc(bp, 8))).toBe("E_NOT_ALLOCATED");
    expect(state(heap)).toEqual(before);
    heap.free(ptrs[19]!);
    const after = state(heap);
    expect(codeOf(() => heap.free(ptrs[19]!))).toBe("E_DOUBLE_FREE");
    expect(codeOf(() => heap.realloc(ptrs[19]!, 4))).toBe("E_DOUBLE_FREE");
    expect(state(heap)).toEqual(after);
    const sixteen = Array.from({ length: 20 }, () => heap.malloc(16)!);
    const inside = sixteen[19]! + 8;
    expect(codeOf(() => heap.free(inside))).toBe("E_NOT_ALLOCATED");
    heap.check();
  });

  it("a bitmap bit cleared under a live object: free refuses it, naming the run", () => {
    const { heap, mmu, ptrs, bp } = withRun();
    const obj = ptrs[16]!; // object 1 of the run
    const map = mmu.read32(bp + LAYOUT.RUN_BITMAP);
    mmu.write32(bp + LAYOUT.RUN_BITMAP, map & ~2);
    const before = state(heap);
    expect(() => heap.free(obj)).toThrow(
      `E_CORRUPT: free(${hex(obj)}): the bitmap ${hex(map & ~2)} of its tiny run ${hex(bp)} says object 1 is free`,
    );
    expect(state(heap)).toEqual(before);
    expect(() => heap.check()).toThrow(/live object 1 of a tiny run, its bitmap bit clear/);
    mmu.write32(bp + LAYOUT.RUN_BITMAP, map);
    heap.free(obj);
    heap.check();
  });

  it("a run's header overwritten: free of its object refuses it", () => {
    const { heap, mmu, ptrs, bp } = withRun();
    const h = mmu.read32(bp - 4);
    mmu.write32(bp - 4, 16 | 3); // plausible, but not the run malloc made
    const before = state(heap);
    expect(codeOf(() => heap.free(ptrs[17]!))).toBe("E_CORRUPT");
    expect(state(heap)).toEqual(before);
    mmu.write32(bp - 4, h);
    heap.free(ptrs[17]!);
    heap.check();
  });

  it("the checker finds a bitmap bit set for an object malloc never handed out, and a broken run list", () => {
    const { heap, mmu, bp } = withRun();
    const map = mmu.read32(bp + LAYOUT.RUN_BITMAP);
    mmu.write32(bp + LAYOUT.RUN_BITMAP, map | (1 << 30));
    expect(() => heap.check()).toThrow(/object 30 of tiny run .* is marked live/);
    mmu.write32(bp + LAYOUT.RUN_BITMAP, map);
    mmu.write32(bp + LAYOUT.RUN_NEXT, bp); // a cycle
    expect(() => heap.check()).toThrow(/E_CORRUPT.*tiny runs, but not one of them \(or twice\)/);
  });

  it("realloc keeps an object in place within its size's class, and moves it out otherwise", () => {
    const { heap, mmu, ptrs } = withRun();
    const obj = ptrs[18]!;
    mmu.write32(obj, 0xfeed);
    expect(heap.realloc(obj, 3)).toBe(obj);
    const moved = heap.realloc(obj, 40)!;
    expect(moved).not.toBe(obj);
    expect(mmu.read32(moved)).toBe(0xfeed);
    expect(codeOf(() => heap.free(obj))).toBe("E_DOUBLE_FREE");
    expect(heap.contains(ptrs[17]!, 8)).toBe(true);
    expect(heap.contains(ptrs[17]!, 9)).toBe(false);
    heap.check();
  });
});

describe("model test: tiny sizes against a Map", () => {
  // The shared heap model property (conformance.ts) on tiny sizes, with the
  // heap's checker, its counts and its block list checked after every step.
  for (const align of [8, 16] as const)
    it(`keeps every block's bytes, the bitmaps and the heap's invariants, checked after each step (align ${align})`, () => {
      const eachStep = (h: HeapAllocator, live: ReadonlyMap<number, number>) => {
        const heap = h as Malloc;
        heap.check();
        expect(heap.stats.allocations).toBe(live.size);
        expect(heap.stats.livePayload).toBe([...live.values()].reduce((a, n) => a + n, 0));
        // Every live pointer is a block the heap lists (a run object or a block of its own).
        const listed = new Set(
          heap
            .blocks()
            .filter((x) => x.allocated)
            .map((x) => x.bp),
        );
        for (const bp of live.keys()) if (!listed.has(bp)) expect(hex(bp)).toBe("listed");
      };
      // Everything freed: no run is left.
      const atEnd = (h: HeapAllocator, live: ReadonlyMap<number, number>) => {
        const heap = h as Malloc;
        for (const bp of [...live.keys()]) heap.free(bp);
        heap.check();
        expect(heap.extents().some((e) => e.kind === "run")).toBe(false);
      };
      const sizes = fc.oneof(fc.integer({ min: 0, max: 17 }), fc.constantFrom(8, 8, 16, 40));
      fc.assert(
        heapModelProperty(
          (kv) => new Malloc(kv, { align }),
          {},
          {
            sizes,
            minSteps: 100,
            maxSteps: 500,
            align,
            eachStep,
            atEnd,
          },
        ),
        { numRuns: DEEP ? 150 : 4 },
      );
    }, 120_000);
});
