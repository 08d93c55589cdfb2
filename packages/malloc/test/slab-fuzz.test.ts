/**
 * Fuzz (issue 14): every public call of the slab and kmalloc with bad values
 * (the shared harness of @mm386/hw-i386/testing) must throw a typed error
 * with a code and change nothing: every word of every slab, the caches'
 * counters, the pages kmalloc and kvmalloc hold. `MM386_DEEP=1` tries many
 * more random values.
 */
import { PAGE_SIZE, createMachine } from "@mm386/hw-i386";
import { describeRefusals, type FuzzCall } from "@mm386/hw-i386/testing";
import { Kvmalloc } from "@mm386/kvmalloc";
import { startPaging } from "@mm386/paging";
import { describe } from "vitest";
import { Kmalloc, type SlabCache, SlabAllocator, kvPageSource } from "../src/slab/index.js";

interface World {
  readonly kv: Kvmalloc;
  readonly k: Kmalloc;
  readonly cache: SlabCache;
  readonly small: number;
  readonly large: number;
}

/** kmalloc with a live small object, a freed one, a live large block; and a cache of its own. */
function world(): World {
  const kv = new Kvmalloc(startPaging(createMachine({ ramBytes: 16 * 1024 * 1024 })));
  const k = new Kmalloc(kvPageSource(kv), kv.mmu);
  const small = k.kmalloc(100)!;
  k.kfree(k.kmalloc(100)!);
  const large = k.kmalloc(3 * PAGE_SIZE)!;
  const cache = k.slab.createCache({ size: 72, name: "fuzz" });
  cache.alloc();
  return { kv, k, cache, small, large };
}

function snapshot(w: World) {
  const mmu = w.kv.mmu;
  const words: number[] = [];
  for (const c of w.k.slab.allCaches)
    for (const s of c.checkSlabs())
      for (let i = 0; i < c.geometry.pagesPerSlab * PAGE_SIZE; i += 4)
        words.push(mmu.read32(s + i));
  return {
    words,
    caches: w.k.slab.allCaches.map((c) => ({ name: c.name, ...c.stats })),
    pages: [w.k.pagesHeld, w.kv.pages, w.kv.allocations],
  };
}

const calls: FuzzCall<World>[] = [
  { name: "kmalloc(size)", call: (w, v) => w.k.kmalloc(v as number) },
  { name: "kfree(va)", call: (w, v) => w.k.kfree(v as number) },
  { name: "ksize(va)", call: (w, v) => w.k.ksize(v as number) },
  { name: "krealloc(small, size)", call: (w, v) => w.k.krealloc(w.small, v as number) },
  { name: "krealloc(large, size)", call: (w, v) => w.k.krealloc(w.large, v as number) },
  // 0 is a legal krealloc pointer: krealloc(0, n) is kmalloc(n).
  {
    name: "krealloc(va, 8)",
    call: (w, v) => w.k.krealloc(v as number, 8),
    accepts: (v) => v === 0,
  },
  { name: "cache.free(va)", call: (w, v) => w.cache.free(v as number) },
  { name: "createCache({ size })", call: (w, v) => w.k.slab.createCache({ size: v as number }) },
  {
    name: "createCache({ size: 32, align })",
    call: (w, v) => w.k.slab.createCache({ size: 32, align: v as number }),
    // undefined asks for the default alignment
    accepts: (v) => v === undefined,
  },
  {
    name: "createCache({ size: 32, reserve })",
    call: (w, v) => w.k.slab.createCache({ size: 32, reserve: v as number }),
    accepts: (v) => v === undefined,
  },
  { name: "createCache(options)", call: (w, v) => w.k.slab.createCache(v as never) },
  {
    name: "new SlabAllocator(pages, mmu)",
    call: (w, v) => new SlabAllocator(v as never, w.kv.mmu),
  },
  {
    name: "new Kmalloc(pages, mmu, options)",
    call: (w, v) => new Kmalloc(kvPageSource(w.kv), w.kv.mmu, v as never),
    // undefined and {} ask for every default
    accepts: (v) =>
      v === undefined ||
      (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0),
  },
  {
    name: "new Kmalloc(pages, mmu, { reserve })",
    call: (w, v) => new Kmalloc(kvPageSource(w.kv), w.kv.mmu, { reserve: v as number }),
    accepts: (v) => v === undefined,
  },
  { name: "kvPageSource(kv)", call: (_w, v) => kvPageSource(v as never) },
];

describe("the slab and kmalloc refuse bad values and change nothing", () => {
  describeRefusals(world, snapshot, calls);
});
