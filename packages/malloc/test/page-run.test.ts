/**
 * Issue 18, seventh round, worked out by hand: large blocks have no header
 * (the payload is the first page), and page-shaped blocks (whole pages but
 * for at most 1/64, up to 4 pages) come from one page run that the heap
 * grows and shrinks at its end, so the classic coalescing trace's blocks
 * (two of 4095 bytes, freed, then one of 8190) reuse the same two pages.
 */
import { describe, expect, it, vi } from "vitest";
import { Malloc, createStack, parseTrace, runTrace } from "../src/index.js";

const PAGE = 4096;

function setup() {
  const stack = createStack({ ramBytes: 16 * 1024 * 1024 });
  return { stack, heap: new Malloc(stack.kv), kv: stack.kv };
}

describe("the page run", () => {
  it("two 4095-byte blocks, freed, then one of 8190: the same two pages, and no page mapped again", () => {
    const { heap, kv, stack } = setup();
    const a = heap.malloc(4095)!;
    const b = heap.malloc(4095)!;
    // Headerless, one page each, one after the other; the empty first region went back.
    expect(a % PAGE).toBe(0);
    expect(b).toBe(a + PAGE);
    expect(heap.stats.footprintPages).toBe(2);
    stack.mmu.write32(a + 4092, 0xa); // the last word of each is the block's
    stack.mmu.write32(b + 4092, 0xb);
    heap.check();
    heap.free(a);
    heap.free(b);
    const calls = [vi.spyOn(kv, "kvmalloc"), vi.spyOn(kv, "kvfree"), vi.spyOn(kv, "kvresize")];
    for (let i = 0; i < 50; i++) {
      const c = heap.malloc(8190)!;
      expect(c).toBe(a);
      heap.free(c);
      const [x, y] = [heap.malloc(4095)!, heap.malloc(4095)!];
      expect([x, y]).toEqual([a, b]);
      heap.free(x);
      heap.free(y);
    }
    // The same run all along: no page mapped or unmapped, never more than 2 pages.
    for (const spy of calls) expect(spy).not.toHaveBeenCalled();
    expect(heap.stats.peakFootprintPages).toBe(2);
    heap.check();
  });

  it("a free page in the middle stays until a block takes it; the free end goes when the heap takes pages", () => {
    const { heap } = setup();
    const [a, b, c] = [heap.malloc(4090)!, heap.malloc(4090)!, heap.malloc(4090)!];
    expect([b - a, c - a]).toEqual([PAGE, 2 * PAGE]);
    heap.free(b);
    heap.free(c);
    // Free pages are given back only when the heap next takes pages.
    expect(heap.stats.footprintPages).toBe(3);
    heap.check();
    const small = heap.malloc(100)!; // a first region: the run's free end (b, c) goes first
    expect(heap.stats.footprintPages).toBe(2);
    const again = heap.malloc(4096)!; // at the run's end, grown again by one page
    expect(again).toBe(b);
    heap.free(a);
    heap.malloc(8000); // a's page is too small for 2 pages: the run grows at its end
    expect(heap.stats.footprintPages).toBe(1 + 4);
    heap.check();
    heap.free(small);
    heap.check();
  });

  it("a run block that changes page count by realloc moves to pages of its own, contents kept", () => {
    const { heap, stack } = setup();
    const a = heap.malloc(4095)!;
    for (let i = 0; i < 4092; i += 4) stack.mmu.write32(a + i, i ^ 0x5a5a);
    expect(heap.realloc(a, 4040)).toBe(a); // still one page: stays
    const b = heap.realloc(a, 3 * PAGE)!;
    expect(b).not.toBe(a);
    expect(b % PAGE).toBe(0);
    for (let i = 0; i < 4040; i += 4) expect(stack.mmu.read32(b + i)).toBe(i ^ 0x5a5a);
    // The old page is free again: the next one-page block takes it.
    expect(heap.malloc(4095)).toBe(a);
    heap.check();
  });

  it("a freed large block of a few pages is kept for the next request of as many, and goes before pages are taken", () => {
    const { heap, kv } = setup();
    // 4 one-page blocks fill the run; the next 4 get pages of their own.
    const blocks = Array.from({ length: 8 }, () => heap.malloc(4096)!);
    expect(heap.stats.footprintPages).toBe(8);
    const calls = [vi.spyOn(kv, "kvmalloc"), vi.spyOn(kv, "kvfree")];
    for (let i = 0; i < 20; i++) {
      const own = blocks[4 + (i % 4)]!;
      heap.free(own);
      expect(heap.stats.footprintPages).toBe(8); // kept, not given back
      expect(heap.malloc(4096)).toBe(own); // and taken again: nothing mapped
    }
    for (const spy of calls) expect(spy).not.toHaveBeenCalled();
    heap.free(blocks[5]!);
    heap.free(blocks[6]!);
    heap.check();
    // The first region takes a page: one kept block goes first, so that the
    // footprint stays at its peak of 8 (the other stays kept).
    heap.malloc(100);
    expect(heap.stats.footprintPages).toBe(8);
    expect(heap.stats.peakFootprintPages).toBe(8);
    heap.check();
    // A 3-page block: without the kept page the footprint would be 7 + 3;
    // the kept page goes, and the peak is what it would have been.
    heap.malloc(3 * 4096 + 100);
    expect(heap.stats.footprintPages).toBe(10);
    expect(heap.stats.peakFootprintPages).toBe(10);
    heap.check();
  });

  it("trim() gives back what the heap keeps for reuse, as malloc_trim does", () => {
    const { heap, kv } = setup();
    const small = heap.malloc(100)!; // the first region: 1 page
    const blocks = Array.from({ length: 8 }, () => heap.malloc(4096)!);
    const free = vi.spyOn(kv, "kvfree");
    for (const bp of blocks.slice(4)) heap.free(bp); // 4 blocks of their own pages: kept
    heap.free(blocks[3]!); // the run's last page: kept as its free end
    expect(heap.stats.footprintPages).toBe(9);
    expect(free).not.toHaveBeenCalled();
    expect(heap.trim()).toBe(5);
    expect(heap.stats.footprintPages).toBe(4); // the region and 3 run pages
    expect(heap.trim()).toBe(0);
    heap.check();
    for (const bp of blocks.slice(0, 3)) heap.free(bp);
    heap.free(small);
    expect(heap.trim()).toBe(4); // nothing live: the run and the first region go too
    expect(heap.stats.footprintPages).toBe(0);
    heap.check();
  });

  it("refuses a pointer inside a run block, and a second free", () => {
    const { heap } = setup();
    const a = heap.malloc(8190)!;
    expect(() => heap.free(a + PAGE)).toThrow(/malloc never returned this address/);
    heap.free(a);
    expect(() => heap.free(a)).toThrow(/the block was freed already/);
    heap.check();
  });

  it("the classic coalescing trace: 0.9998 utilisation, a handful of MMU accesses in all", () => {
    const lines = ["20000", "1200", "2400", "1"];
    for (let i = 0; i < 400; i++) {
      const id = 3 * i;
      lines.push(`a ${id} 4095`, `a ${id + 1} 4095`, `f ${id}`, `f ${id + 1}`);
      lines.push(`a ${id + 2} 8190`, `f ${id + 2}`);
    }
    const r = runTrace(parseTrace(lines.join("\n"), "coalescing"), { minTimeMs: 1 });
    expect(r.valid, r.error).toBe(true);
    expect(r.utilization).toBeCloseTo(8190 / 8192, 4);
    // No header, no list: only the first region's set-up touches memory.
    expect(r.mmuAccesses).toBeLessThan(100);
  });
});
