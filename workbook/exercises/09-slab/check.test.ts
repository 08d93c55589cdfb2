/**
 * Exercise 9's checks: the slab cache conformance suite on pages from the
 * student's earlier layers (kvmalloc of exercise 7 if finished), then the
 * exercise's own: objects share pages, the free list is written into the
 * freed object, and the last object freed is the next one handed out.
 */
import { PAGE_SIZE, hex32 } from "@mm386/hw-i386";
import { Kvmalloc } from "@mm386/kvmalloc";
import { type ObjectCacheFactory, kvPageSource } from "@mm386/malloc/slab";
import { type PageSourceFactory, describeCacheConformance } from "@mm386/malloc/slab/conformance";
import { describe, expect, it } from "vitest";
import { bootWith, earlierLayers, implLabel, loadExercise, machineWith } from "../../src/kit.js";

const { createCache } = await loadExercise<{ createCache: ObjectCacheFactory }>(9);
const layers = await earlierLayers(9);

/** The hobby kernel's page source: kvmalloc (yours, if exercise 7 is done) on your stack. */
const pages: PageSourceFactory = (ramBytes) => {
  const machine = machineWith(layers)({ ramBytes });
  const paging = bootWith(layers)(machine);
  const kv = layers.kvmalloc ? layers.kvmalloc(paging) : new Kvmalloc(paging);
  return { source: kvPageSource(kv), mmu: machine.mmu };
};

describeCacheConformance(`exercise 9 (${implLabel(9)})`, createCache, { pages });

describe(`exercise 9: the free list inside the slab (${implLabel(9)})`, () => {
  it("carves a page into many objects: 40 objects of 48 bytes take one page", () => {
    const { source, mmu } = pages(16 * 1024 * 1024);
    let held = 0;
    const counted = {
      name: source.name,
      allocPages: (n: number) => {
        const va = source.allocPages(n);
        if (va !== null) held += n;
        return va;
      },
      freePages: (va: number, n: number) => {
        source.freePages(va, n);
        held -= n;
      },
    };
    const cache = createCache(counted, mmu, 48);
    const objs = Array.from({ length: 40 }, () => cache.alloc());
    expect(objs).not.toContain(null);
    expect(held, "pages taken for 40 objects of 48 bytes").toBe(1);
    expect(new Set(objs.map((o) => Math.floor(o! / PAGE_SIZE))).size).toBe(1);
  });

  it("free writes the link into the freed object, and alloc hands that object out next", () => {
    const { source, mmu } = pages(16 * 1024 * 1024);
    const cache = createCache(source, mmu, 64);
    const objs = Array.from({ length: 5 }, () => cache.alloc()!);
    const a = objs[2]!;
    for (let i = 0; i < 64; i += 4) mmu.write32(a + i, 0xaaaa_aaaa);
    cache.free(a);
    const changed = Array.from({ length: 16 }, (_, i) => mmu.read32(a + 4 * i)).some(
      (w) => w !== 0xaaaa_aaaa,
    );
    expect(changed, `free(${hex32(a)}) wrote no link into the object`).toBe(true);
    const b = objs[4]!;
    cache.free(b);
    expect(cache.alloc(), "LIFO: the last object freed").toBe(b);
    expect(cache.alloc(), "then the one freed before it").toBe(a);
  });
});
