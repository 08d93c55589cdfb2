/**
 * Issue 14: the slab allocator. The shipped page source and cache run the
 * slab conformance suites, kmalloc runs the heap conformance suite; then
 * hand-worked layouts, the list moves, refusals that change nothing, the
 * checker catching each kind of damage, and kmalloc against a model.
 */
import fc from "fast-check";
import { PAGE_SIZE, createMachine } from "@mm386/hw-i386";
import { codeOf, deepRun, expectCode } from "@mm386/hw-i386/testing";
import { Kvmalloc } from "@mm386/kvmalloc";
import { startPaging } from "@mm386/paging";
import { bootLinux } from "@mm386/paging/linux";
import { bootWhitix, whitixPageSource } from "@mm386/paging/whitix";
import { linuxPageSource } from "../src/stack.js";
import { describe, expect, it } from "vitest";
import { describeHeapConformance } from "../src/conformance.js";
import {
  Kmalloc,
  SLAB_HEADER as H,
  SLAB_MAGIC,
  SlabAllocator,
  SlabError,
  kvPageSource,
  slabGeometry,
  slabHeap,
} from "../src/slab/index.js";
import {
  describeCacheConformance,
  describePageSourceConformance,
  hobbyPageSource,
} from "../src/slab/conformance.js";

describePageSourceConformance("kvmalloc", hobbyPageSource);
describeCacheConformance("SlabCache", (pages, mmu, size) =>
  new SlabAllocator(pages, mmu).createCache({ size }),
);
describeCacheConformance(
  "SlabCache with a constructor, no colour, no reserve",
  (pages, mmu, size) =>
    new SlabAllocator(pages, mmu).createCache({
      size,
      colour: false,
      reserve: 0,
      ctor: (va) => mmu.write32(va, 0xc0ffee, 0),
    }),
);
describeCacheConformance(
  "SlabCache aligned to 64",
  (pages, mmu, size) => new SlabAllocator(pages, mmu).createCache({ size, align: 64 }),
  { align: 64 },
);
describeHeapConformance("kmalloc (slab)", slabHeap);

function boot(ramBytes = 16 * 1024 * 1024) {
  const kv = new Kvmalloc(startPaging(createMachine({ ramBytes })));
  const slab = new SlabAllocator(kvPageSource(kv), kv.mmu);
  return { kv, slab, mmu: kv.mmu };
}

/** Every word of every slab page, the cache stats and the pages held: what a refused call must not change. */
function snapshot(slab: SlabAllocator, kv: Kvmalloc) {
  const words: number[] = [];
  for (const c of slab.allCaches)
    for (const s of c.checkSlabs())
      for (let i = 0; i < c.geometry.pagesPerSlab * PAGE_SIZE; i += 4)
        words.push(slab.mmu.read32(s + i, 0));
  return { words, stats: slab.allCaches.map((c) => c.stats), pages: kv.pages };
}

describe("slab geometry, worked by hand", () => {
  it("32-byte objects: one page, 126 objects after a 48-byte header, no room for colour", () => {
    // header 32 + bitmap 4 words = 48; 48 + 127 * 32 = 4112 > 4096, so 126 (4080).
    expect(slabGeometry(32, 8, false, true)).toEqual({
      slotSize: 32,
      linkOffset: 0,
      pagesPerSlab: 1,
      objectsPerSlab: 126,
      firstOffset: 48,
      colourStep: 32,
      colours: 1,
    });
  });
  it("200-byte objects: 20 per page, 56 bytes left over, two colours", () => {
    // header 32 + 1 word = 36 -> 40 (align 8); 40 + 20 * 200 = 4040, 56 left: colours 0 and 32.
    expect(slabGeometry(200, 8, false, true)).toMatchObject({
      pagesPerSlab: 1,
      objectsPerSlab: 20,
      firstOffset: 40,
      colours: 2,
    });
  });
  it("4096-byte objects: 8 pages hold 7, wasting 4056 bytes (under an eighth)", () => {
    // 1 page: none fits; 2 pages: 1 (waste 4056 > 1024); 4: 3 (4056 > 2048); 8: 7 (4056 <= 4096).
    expect(slabGeometry(4096, 8, false, true)).toMatchObject({
      pagesPerSlab: 8,
      objectsPerSlab: 7,
      firstOffset: 40,
      colours: 127,
    });
  });
  it("a constructor moves the link after the object: 30 bytes take a 40-byte slot", () => {
    // link at roundUp(30, 4) = 32, slot roundUp(36, 8) = 40.
    expect(slabGeometry(30, 8, true, false)).toMatchObject({
      linkOffset: 32,
      slotSize: 40,
      colours: 1,
    });
  });
});

describe("a cache's slabs in simulated memory", () => {
  it("lays out the header, the bitmap and the free list as the diagram says", () => {
    const { slab, mmu } = boot();
    const c = slab.createCache({ size: 200 });
    const a = c.alloc()!;
    const s = a - 40; // colour 0 on the first slab
    expect(s % PAGE_SIZE).toBe(0);
    expect(mmu.read32(s + H.MAGIC)).toBe(SLAB_MAGIC);
    expect(mmu.read32(s + H.CACHE)).toBe(1);
    expect(mmu.read32(s + H.INUSE)).toBe(1);
    expect(mmu.read32(s + H.FREE)).toBe(a + 200); // object 1 is next
    expect(mmu.read32(a + 200)).toBe(a + 400); // its link: object 2
    expect(mmu.read32(s + H.FIRST)).toBe(a);
    expect(mmu.read32(s + H.BITMAP)).toBe(1);
    const b = c.alloc()!;
    expect(b).toBe(a + 200);
    c.free(a); // a goes on the head of the free list, its first word the link
    expect(mmu.read32(s + H.FREE)).toBe(a);
    expect(mmu.read32(a)).toBe(a + 400);
    expect(mmu.read32(s + H.BITMAP)).toBe(2);
    expect(c.alloc()).toBe(a); // LIFO: the most recently freed, cache-warm object
  });

  it("colours successive slabs 0, 32, 0 bytes after the header", () => {
    const { slab } = boot();
    const c = slab.createCache({ size: 200 });
    const firsts: number[] = [];
    for (let n = 0; n < 3; n++) {
      firsts.push(c.alloc()!);
      for (let i = 1; i < 20; i++) c.alloc();
    }
    expect(firsts.map((f) => f % PAGE_SIZE)).toEqual([40, 72, 40]);
    expect(c.stats).toMatchObject({ full: 3, partial: 0, empty: 0, live: 60 });
  });

  it("moves slabs between the full, partial and empty lists, and keeps one empty slab", () => {
    const { slab, kv } = boot();
    const c = slab.createCache({ size: 200 });
    const pages0 = kv.pages;
    const objs = Array.from({ length: 40 }, () => c.alloc()!); // two full slabs
    expect(c.stats).toMatchObject({ full: 2, partial: 0, empty: 0, pages: 2 });
    c.free(objs[0]!);
    expect(c.stats).toMatchObject({ full: 1, partial: 1, empty: 0 });
    for (const o of objs.slice(1, 20)) c.free(o);
    expect(c.stats).toMatchObject({ full: 1, partial: 0, empty: 1, live: 20 });
    for (const o of objs.slice(20)) c.free(o);
    // The second empty slab is past the reserve of 1: its page went back.
    expect(c.stats).toMatchObject({ full: 0, partial: 0, empty: 1, live: 0, pages: 1 });
    expect(kv.pages).toBe(pages0 + 1);
    slab.check();
    expect(c.shrink()).toBe(1);
    expect(kv.pages).toBe(pages0);
    slab.check();
  });

  it("slabinfo: one line per cache, from the counters", () => {
    const { slab } = boot();
    const c = slab.createCache({ size: 200, name: "dentry" });
    slab.createCache({ size: 4096, name: "big" });
    for (let i = 0; i < 23; i++) c.alloc(); // one full slab of 20, one with 3
    expect(slab.slabinfo().split("\n")).toEqual([
      "# name  active  total  size  per-slab  pages  full  partial  empty",
      "dentry      23     40   200        20      1     1        1      0",
      "big          0      0  4096         7      8     0        0      0",
    ]);
  });

  it("prefers a partial slab to an empty one", () => {
    const { slab } = boot();
    const c = slab.createCache({ size: 200, reserve: 2 });
    const objs = Array.from({ length: 40 }, () => c.alloc()!);
    for (const o of objs.slice(0, 20)) c.free(o); // slab 1 empty
    c.free(objs[25]!); // slab 2 partial
    expect(c.alloc()).toBe(objs[25]);
  });

  it("runs the constructor once per object when a slab is made, and keeps the state across frees", () => {
    const { slab, mmu } = boot();
    let calls = 0;
    const c = slab.createCache({
      size: 64,
      ctor: (va) => {
        calls++;
        mmu.write32(va, 0xc0ffee);
        mmu.write32(va + 60, va);
      },
    });
    const a = c.alloc()!;
    expect(calls).toBe(c.geometry.objectsPerSlab);
    c.free(a);
    const b = c.alloc()!;
    expect(b).toBe(a);
    expect(mmu.read32(b)).toBe(0xc0ffee);
    expect(mmu.read32(b + 60)).toBe(b);
    expect(calls).toBe(c.geometry.objectsPerSlab);
  });

  it("a constructor that throws leaves no slab and no pages", () => {
    const { slab, kv } = boot();
    const pages = kv.pages;
    const c = slab.createCache({
      size: 64,
      ctor: () => {
        throw new Error("no");
      },
    });
    expect(() => c.alloc()).toThrow("no");
    expect(kv.pages).toBe(pages);
    expect(c.stats.pages).toBe(0);
    slab.check();
  });

  it("refuses destroy while objects are live (nothing changes), then gives every page back", () => {
    const { slab, kv } = boot();
    const pages0 = kv.pages;
    const c = slab.createCache({ size: 100 });
    const a = c.alloc()!;
    const before = snapshot(slab, kv);
    expectCode(() => c.destroy(), "E_BUSY", { type: SlabError, message: /1 object/ });
    expect(snapshot(slab, kv)).toEqual(before);
    c.free(a);
    c.destroy();
    expect(kv.pages).toBe(pages0);
    expect(slab.allCaches).toHaveLength(0);
    expectCode(() => c.alloc(), "E_BAD_ARGUMENT", { message: /destroyed/ });
  });

  it("refuses bad frees with the address in hex and changes nothing", () => {
    const { slab, kv, mmu } = boot();
    const c = slab.createCache({ size: 200 });
    const other = slab.createCache({ size: 48, name: "other" });
    const a = c.alloc()!;
    const b = c.alloc()!;
    c.free(b);
    const o = other.alloc()!;
    const s = a - 40;
    mmu.write32(a, 0xfeed);
    const before = snapshot(slab, kv);
    const hex = (v: number) => new RegExp(`0x${v.toString(16).padStart(8, "0")}`);
    expectCode(() => c.free(b), "E_DOUBLE_FREE", { message: hex(b) });
    expectCode(() => c.free(a + 4), "E_INTERIOR", { message: hex(a + 4) });
    expectCode(() => c.free(a + 199), "E_INTERIOR", { message: hex(a + 199) });
    expectCode(() => c.free(s), "E_FOREIGN", { message: hex(s) }); // the slab header
    expectCode(() => c.free(s + 4090), "E_FOREIGN", { message: hex(s + 4090) }); // the tail
    expectCode(() => c.free(o), "E_FOREIGN", { message: /in a slab of other/ });
    expectCode(() => c.free(0xc000_0000), "E_FOREIGN", { message: /0xc0000000/ });
    for (const bad of [-1, 1.5, 2 ** 32, "0xc0001000", null, undefined, 10n])
      expectCode(() => c.free(bad as number), "E_BAD_ARGUMENT");
    expect(snapshot(slab, kv)).toEqual(before);
    slab.check();
  });

  it("refuses bad cache options and makes no cache", () => {
    const { slab } = boot();
    for (const o of [
      { size: 0 },
      { size: 1.5 },
      { size: 65537 },
      { size: "8" },
      { size: 8, align: 3 },
      { size: 8, align: 2 },
      { size: 8, align: 8192 },
      { size: 8, reserve: -1 },
      { size: 8, ctor: 5 },
      { size: 8, colour: "yes" },
      { size: 8, nmae: "typo" },
      null,
      [],
    ])
      expect(
        codeOf(() => slab.createCache(o as never)),
        JSON.stringify(o),
      ).toBe("E_BAD_ARGUMENT");
    expect(slab.allCaches).toHaveLength(0);
  });
});

describe("the checker walks every slab through the MMU", () => {
  const damage: [string, (s: number, a: number, mmu: ReturnType<typeof boot>["mmu"]) => void][] = [
    ["magic", (s, _a, m) => m.write32(s + H.MAGIC, 0)],
    ["cache id", (s, _a, m) => m.write32(s + H.CACHE, 7)],
    ["in-use count", (s, _a, m) => m.write32(s + H.INUSE, 3)],
    ["free-list head into the header", (s, _a, m) => m.write32(s + H.FREE, s + 8)],
    ["free link into a live object", (s, a, m) => m.write32(m.read32(s + H.FREE), a)],
    ["free-list cycle", (s, _a, m) => m.write32(m.read32(s + H.FREE), m.read32(s + H.FREE))],
    ["bitmap bit of a free object", (s, _a, m) => m.write32(s + H.BITMAP, 3)],
    ["bitmap bit past the last object", (s, _a, m) => m.write32(s + H.BITMAP, 1 | (1 << 25))],
    ["list link", (s, _a, m) => m.write32(s + H.PREV, s)],
    ["first-object pointer", (s, _a, m) => m.write32(s + H.FIRST, s + 44)],
  ];
  for (const [what, hurt] of damage)
    it(`finds damage to the ${what}, and passes again once it is repaired`, () => {
      const { slab, mmu } = boot();
      const c = slab.createCache({ size: 200 });
      const a = c.alloc()!; // slab has objects 0 (live) and 1..19 (free)
      const s = a - 40;
      slab.check();
      const saved = Array.from({ length: PAGE_SIZE / 4 }, (_, i) => mmu.read32(s + 4 * i));
      hurt(s, a, mmu);
      expectCode(() => slab.check(), "E_CORRUPT", { type: SlabError, message: /0x/ });
      saved.forEach((w, i) => mmu.write32(s + 4 * i, w));
      slab.check();
    });

  it("a free of an object whose slab header was overwritten is E_CORRUPT and changes nothing else", () => {
    const { slab, mmu } = boot();
    const c = slab.createCache({ size: 200 });
    const a = c.alloc()!;
    mmu.write32(a - 40 + H.MAGIC, 0x1234);
    expectCode(() => c.free(a), "E_CORRUPT", { message: /0x/ });
    mmu.write32(a - 40 + H.MAGIC, SLAB_MAGIC);
    c.free(a);
    slab.check();
  });

  it("alloc refuses a corrupt free-list head instead of handing out the header", () => {
    const { slab, mmu } = boot();
    const c = slab.createCache({ size: 200 });
    const a = c.alloc()!;
    mmu.write32(a - 40 + H.FREE, a - 40);
    expectCode(() => c.alloc(), "E_CORRUPT");
  });
});

describe("kmalloc", () => {
  const km = () => {
    const { kv } = boot(32 * 1024 * 1024);
    return { k: new Kmalloc(kvPageSource(kv), kv.mmu), kv };
  };

  it("rounds requests up to power-of-two classes from 32 bytes to a page, larger ones to pages", () => {
    const { k } = km();
    const cases: [number, number][] = [
      [0, 32],
      [1, 32],
      [32, 32],
      [33, 64],
      [100, 128],
      [1000, 1024],
      [2049, 4096],
      [4096, 4096],
      [4097, 8192],
      [10000, 12288],
    ];
    for (const [size, usable] of cases) {
      const p = k.kmalloc(size)!;
      expect(k.ksize(p), `ksize(kmalloc(${size}))`).toBe(usable);
      expect(p % (size > 4096 ? PAGE_SIZE : 8)).toBe(0);
    }
    k.check();
  });

  it("krealloc stays in place within a class, moves across classes with the contents", () => {
    const { k, kv } = km();
    const mmu = kv.mmu;
    const a = k.kmalloc(40)!;
    for (let i = 0; i < 40; i += 4) mmu.write32(a + i, i + 7);
    expect(k.krealloc(a, 60)).toBe(a); // still the 64-byte class
    const b = k.krealloc(a, 5000)!; // two pages
    expect(b % PAGE_SIZE).toBe(0);
    for (let i = 0; i < 40; i += 4) expect(mmu.read32(b + i)).toBe(i + 7);
    expect(codeOf(() => k.ksize(a))).toBe("E_DOUBLE_FREE");
    expect(k.krealloc(b, 8000)).toBe(b); // still two pages
    const c = k.krealloc(b, 12)!; // back to the 32-byte class
    for (let i = 0; i < 12; i += 4) expect(mmu.read32(c + i)).toBe(i + 7);
    expect(k.krealloc(c, 0)).toBeNull();
    k.check();
  });

  it("refuses bad kfrees naming the address, and changes nothing", () => {
    const { k, kv } = km();
    const small = k.kmalloc(100)!;
    const big = k.kmalloc(3 * PAGE_SIZE)!;
    const gone = k.kmalloc(100)!;
    k.kfree(gone);
    const pages = k.pagesHeld;
    const before = snapshot(k.slab, kv);
    expectCode(() => k.kfree(small + 8), "E_INTERIOR", {
      message: new RegExp((small + 8).toString(16)),
    });
    expectCode(() => k.kfree(big + PAGE_SIZE), "E_INTERIOR", {
      message: new RegExp(big.toString(16)),
    });
    expectCode(() => k.kfree(big + 8), "E_INTERIOR");
    expectCode(() => k.kfree(gone), "E_DOUBLE_FREE");
    expectCode(() => k.kfree(0xdead_0000), "E_FOREIGN", { message: /0xdead0000/ });
    expectCode(() => k.kmalloc(-1), "E_BAD_ARGUMENT", { message: /-1/ });
    expectCode(() => k.kmalloc(2 ** 32), "E_BAD_ARGUMENT");
    expectCode(() => k.krealloc(small, -5), "E_BAD_ARGUMENT");
    expect(k.pagesHeld).toBe(pages);
    expect(snapshot(k.slab, kv)).toEqual(before);
    k.kfree(big);
    expectCode(() => k.kfree(big), "E_FOREIGN", { message: /freed/ });
    k.check();
  });

  it("refuses options that are not an object or name an unknown option, taking no page", () => {
    const { kv } = boot(8 * 1024 * 1024);
    const frames = kv.paging.allocators.physical.freePages;
    const make = (o: unknown) => () => new Kmalloc(kvPageSource(kv), kv.mmu, o as never);
    expectCode(make([]), "E_BAD_ARGUMENT", { message: /kmalloc options .* must be an object/ });
    expectCode(make(null), "E_BAD_ARGUMENT", { message: /must be an object/ });
    expectCode(make({ reserve: 1, bogus: 2 }), "E_BAD_ARGUMENT", {
      message: /unknown kmalloc option "bogus" \(known: reserve, colour\)/,
    });
    expect(kv.paging.allocators.physical.freePages).toBe(frames);
    // Both known options together are accepted.
    expect(() => make({ reserve: 1, colour: true })()).not.toThrow();
  });

  it("answers null when memory runs out, and serves again after frees", () => {
    const { kv } = boot(8 * 1024 * 1024);
    const k = new Kmalloc(kvPageSource(kv), kv.mmu);
    const got: number[] = [];
    for (let p = k.kmalloc(64 * 1024); p !== null; p = k.kmalloc(64 * 1024)) got.push(p);
    expect(got.length).toBeGreaterThan(10);
    let small: number | null;
    while ((small = k.kmalloc(512)) !== null) got.push(small);
    for (const p of got) k.kfree(p);
    expect(k.kmalloc(64 * 1024)).not.toBeNull();
    k.check();
  });

  it("agrees with a model of live blocks and pages, the checker passing after every call", () => {
    const runs = deepRun() ? 300 : 20;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("m", "m", "f", "r"), fc.nat({ max: 9000 }), fc.nat()), {
          minLength: 10,
          maxLength: 120,
        }),
        (ops) => {
          const { k } = km();
          const live = new Map<number, number>();
          // Independent expectation of the usable size: the class or whole pages.
          const usable = (n: number) =>
            n > PAGE_SIZE
              ? Math.ceil(n / PAGE_SIZE) * PAGE_SIZE
              : Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(n, 1))));
          for (const [kind, size, pick] of ops) {
            const keys = [...live.keys()];
            if (kind === "m" || keys.length === 0) {
              const p = k.kmalloc(size)!;
              expect(live.has(p)).toBe(false);
              live.set(p, size);
            } else {
              const p = keys[pick % keys.length]!;
              live.delete(p);
              if (kind === "f") k.kfree(p);
              else {
                const q = k.krealloc(p, size);
                if (size > 0) live.set(q!, size);
              }
            }
            k.check();
            for (const [p, n] of live) expect(k.ksize(p)).toBe(usable(n));
            const largePages = [...live.values()]
              .filter((n) => n > PAGE_SIZE)
              .reduce((a, n) => a + Math.ceil(n / PAGE_SIZE), 0);
            const slabPages = k.caches.reduce((a, c) => a + c.stats.pages, 0);
            expect(k.pagesHeld).toBe(largePages + slabPages);
            expect(k.caches.reduce((a, c) => a + c.stats.live, 0)).toBe(
              [...live.values()].filter((n) => n <= PAGE_SIZE).length,
            );
          }
        },
      ),
      { numRuns: runs },
    );
  }, 120_000);
});

// The Whitix design's page source (VirtMapPhysRange in 0xC0000000-0xD0000000) passes the same port suite.
describePageSourceConformance("whitix VirtMapPhysRange", (ramBytes) => {
  const machine = createMachine({ ramBytes });
  const w = bootWhitix(machine);
  return { source: whitixPageSource(w), mmu: machine.mmu };
});

// Linux's page source (low frames from the zones, through __va) passes the same port suite.
describePageSourceConformance("linux allocPages + __va", (ramBytes) => {
  // Linux boots on 16 MiB or more; the suite's small machines get that.
  const machine = createMachine({ ramBytes: Math.max(ramBytes, 16 * 1024 * 1024) });
  return { source: linuxPageSource(bootLinux(machine)), mmu: machine.mmu };
});
