/**
 * Issue 18, sixth round, worked out by hand: a growing block merges only the
 * quick-listed block in its way; the quick-listed blocks at the top region's
 * end are merged before the heap takes pages (and only those); a request
 * that fills whole pages gets pages of its own; an empty first region goes
 * back before the heap takes pages, and is made again when needed.
 */
import { describe, expect, it } from "vitest";
import { Malloc, POLICIES, createStack, parseTrace, runTrace } from "../src/index.js";

/**
 * Address-ordered first fit (one control word: the first block at S+16),
 * quick lists on, no slabs (nor page-shaped blocks): the layout of
 * malloc.survivors.test.ts, whose comment works it out.
 */
function setup(largeThreshold?: number) {
  const stack = createStack({ ramBytes: 16 * 1024 * 1024 });
  const heap = new Malloc(stack.kv, {
    policy: POLICIES["first-fit"],
    sizeClasses: false,
    ...(largeThreshold === undefined ? {} : { largeThreshold }),
  });
  return { heap, mmu: stack.mmu, S: heap.extents()[0]!.start };
}

describe("quick lists are merged only where it matters", () => {
  it("a growing block merges the quick block after it, and no other", () => {
    const { heap, mmu, S } = setup();
    // Five 40-byte blocks: a at S+16, q at S+56, c, e at S+136, f.
    const [a, q, , e] = Array.from({ length: 5 }, () => heap.malloc(32)!) as [
      number,
      number,
      number,
      number,
      number,
    ];
    expect([a, q, e]).toEqual([S + 16, S + 56, S + 136]);
    heap.free(q);
    heap.free(e);
    // Both on the 40-byte quick list: their headers still say allocated (40 | PREV_ALLOC | ALLOC).
    expect(mmu.read32(q - 4)).toBe(40 | 3);
    expect(mmu.read32(e - 4)).toBe(40 | 3);
    // 64 bytes need a 72-byte block: a (40) and q (40) are 80, so it grows in place.
    expect(heap.realloc(a, 64)).toBe(a);
    expect(mmu.read32(a - 4)).toBe(80 | 3); // 8 bytes left cannot stand alone
    // e was not merged (a flush of every list would have made its header free).
    expect(mmu.read32(e - 4)).toBe(40 | 3);
    heap.check();
    expect(heap.malloc(32)).toBe(e); // the quick list gives it back
    heap.check();
  });

  it("the quick block just before the top's free tail is merged before pages are taken, so the tail's page goes back", () => {
    const { heap, S } = setup(8192);
    // A 16-byte block kept at S+16, one freed at S+32: it makes the quick
    // lists' heads (31 words: a 128-byte block at S+48), so that they are
    // not made after z below (nor given back: a block is live).
    expect(heap.malloc(8)).toBe(S + 16);
    heap.free(heap.malloc(8)!);
    // 3900 bytes: a 3904-byte block at S+176, 16 bytes left in the first page.
    expect(heap.malloc(3900)).toBe(S + 176);
    // 32 bytes: 40, more than any free block (the 16-byte one is merged
    // from its quick list first): the region grows a page, z at S+4080.
    const z = heap.malloc(32)!;
    expect(z).toBe(S + 4080);
    expect(heap.stats.footprintPages).toBe(2);
    heap.free(z); // on a quick list, its page still held
    expect(heap.stats.footprintPages).toBe(2);
    // A large block: (20000 + 8) / 4096 rounded up is 5 pages. z merged into
    // the free tail starts it at S+4080, so the second page goes back first:
    // 1 + 5. Left on its quick list, z would have kept it: 2 + 5.
    heap.malloc(20000);
    expect(heap.stats.footprintPages).toBe(6);
    heap.check();
  });
});

describe("page-shaped blocks and the first region given back", () => {
  it("two live 4072-byte blocks take 2 pages: each a page of its own, and the empty first region goes back", () => {
    // Peak payload 8144 (ids 2 and 3), each block 4072 + 8 bytes of magic
    // and header in a page of 4096. Before id 3, nothing of the regions is
    // live: the first region (magic and control words) goes back.
    const text = "20000\n4\n8\n1\na 0 2040\na 1 48\na 2 4072\nf 0\nf 1\na 3 4072\nf 2\nf 3\n";
    const r = runTrace(parseTrace(text), { minTimeMs: 1 });
    expect(r.valid, r.error).toBe(true);
    expect(r.utilization).toBeCloseTo(8144 / 8192, 4);
  });

  it("an empty first region goes back before a page is taken and is made again by the next small request", () => {
    const stack = createStack({ ramBytes: 16 * 1024 * 1024 });
    const heap = new Malloc(stack.kv);
    expect(heap.stats.footprintPages).toBe(1);
    heap.free(heap.malloc(24)!); // a quick list and its heads' block in the first region
    const big = heap.malloc(4072)!;
    // Only big's page: the region, the quick lists and their heads are gone.
    expect(heap.stats.footprintPages).toBe(1);
    expect(heap.extents().map((x) => x.kind)).toEqual(["large"]);
    heap.check();
    const small = heap.malloc(100)!;
    expect(
      heap
        .extents()
        .map((x) => x.kind)
        .sort(),
    ).toEqual(["large", "region"]);
    expect(heap.stats.footprintPages).toBe(2);
    stack.mmu.write32(small, 0xfeed);
    heap.check();
    heap.free(big);
    heap.free(small);
    heap.check();
    expect(heap.stats.allocations).toBe(0);
  });

  it("a page-shaped request still takes a free block of the regions that fits", () => {
    const stack = createStack({ ramBytes: 16 * 1024 * 1024 });
    const heap = new Malloc(stack.kv);
    const a = heap.malloc(4072)!; // a page of its own (nothing listed fits)
    const keep = heap.malloc(24)!;
    const b = heap.malloc(7000)!; // a region block of 7008 bytes (not page-shaped: 1184 bytes left of 2 pages)
    heap.malloc(24); // so that b's block is a hole, not the free tail, once freed
    heap.free(b);
    const pages = heap.stats.footprintPages;
    const c = heap.malloc(4072)!; // fits in b's hole: no page taken
    expect(heap.stats.footprintPages).toBe(pages);
    expect(c).toBe(b);
    heap.check();
    heap.free(a);
    heap.free(keep);
    heap.check();
  });
});
