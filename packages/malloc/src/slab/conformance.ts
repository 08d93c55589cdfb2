/**
 * Conformance suites of the slab's two contracts:
 *
 * - {@link describePageSourceConformance}: a {@link SlabPageSource} (the
 *   hobby kernel's kvmalloc, Whitix's VirtMapPhysRange, Linux's `__va` of
 *   `allocPages`) hands out mapped, writable, supervisor-only, disjoint page
 *   runs, takes them back for reuse, and answers null when memory runs out.
 * - {@link describeCacheConformance}: an `ObjectCache` (the shipped
 *   `SlabCache`, a student's in the workbook) hands out disjoint objects that
 *   keep their bytes, reuses freed ones, refuses bad frees with typed errors
 *   and agrees with a model of live objects on random sequences.
 *
 * ```ts
 * import { describePageSourceConformance } from "@mm386/malloc/slab/conformance";
 * describePageSourceConformance("whitix", (ramBytes) => whitixFixture(ramBytes));
 * ```
 *
 * Needs `vitest` and `fast-check` (peer dependencies of this entry point
 * only). Random tests run a few cases by default; `MM386_DEEP=1` runs many.
 *
 * @module
 */
import fc from "fast-check";
import { type Mmu, PAGE_SIZE, PageFault, createMachine, hex32 } from "@mm386/hw-i386";
import { Kvmalloc } from "@mm386/kvmalloc";
import { startPaging } from "@mm386/paging";
import { codeOf, propertyRuns, thrown } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { type ObjectCacheFactory, SLAB_ERROR, type SlabPageSource } from "./api.js";
import { kvPageSource } from "./port.js";

/** A page source on a freshly booted machine, and the MMU that reaches its pages. */
export interface PageSourceFixture {
  /** The page source under test. */
  readonly source: SlabPageSource;
  /** The machine's MMU (the pages are read and written through it at CPL 0). */
  readonly mmu: Mmu;
}

/** Makes a {@link PageSourceFixture} on a fresh machine with `ramBytes` of RAM. */
export type PageSourceFactory = (ramBytes: number) => PageSourceFixture;

/** The hobby kernel's fixture: kvmalloc on a freshly booted default stack. */
export const hobbyPageSource: PageSourceFactory = (ramBytes) => {
  const kv = new Kvmalloc(startPaging(createMachine({ ramBytes })));
  return { source: kvPageSource(kv), mmu: kv.mmu };
};

/** Runs of the random tests: few by default, many under `MM386_DEEP=1`. */
function runs(quick: number): number {
  return propertyRuns(quick, quick * 20);
}

/** A word that differs for every (seed, offset). */
const word = (seed: number, i: number) => (Math.imul(seed, 2654435761) + i) >>> 0;

/** Register the conformance tests of a {@link SlabPageSource}. */
export function describePageSourceConformance(name: string, factory: PageSourceFactory): void {
  describe(`slab page source conformance: ${name}`, () => {
    it("hands out page-aligned, disjoint kernel runs that keep their words", () => {
      const { source, mmu } = factory(16 * 1024 * 1024);
      expect(typeof source.name).toBe("string");
      const runs = [1, 2, 3, 8, 1].map((n) => [source.allocPages(n)!, n] as const);
      for (const [va, n] of runs) {
        expect(va, `allocPages(${n})`).not.toBeNull();
        expect(va % PAGE_SIZE, hex32(va)).toBe(0);
        expect(va, hex32(va)).toBeGreaterThanOrEqual(0xc000_0000);
        for (const [other, m] of runs)
          if (other !== va && va < other + m * PAGE_SIZE && other < va + n * PAGE_SIZE)
            expect(`${hex32(va)}+${n} pages`).toBe(`clear of ${hex32(other)}+${m} pages`);
      }
      // Every word of every page: the runs are really n pages each, mapped.
      for (const [va, n] of runs)
        for (let i = 0; i < n * PAGE_SIZE; i += 4) mmu.write32(va + i, word(va, i), 0);
      for (const [va, n] of runs)
        for (let i = 0; i < n * PAGE_SIZE; i += 4)
          if (mmu.read32(va + i, 0) !== word(va, i))
            expect(mmu.read32(va + i, 0), `${hex32(va + i)}`).toBe(word(va, i));
    });

    it("maps the pages supervisor-only: a CPL 3 read faults", () => {
      const { source, mmu } = factory(16 * 1024 * 1024);
      const va = source.allocPages(2)!;
      for (const a of [va, va + PAGE_SIZE + 12]) {
        let fault: unknown;
        try {
          mmu.read32(a, 3);
        } catch (e) {
          fault = e;
        }
        expect(fault, `CPL 3 read of ${hex32(a)}`).toBeInstanceOf(PageFault);
      }
    });

    it("takes runs back for reuse: an alloc/free loop larger than RAM never runs out", () => {
      const ram = 8 * 1024 * 1024;
      const { source } = factory(ram);
      for (let i = 0; i < (2 * ram) / PAGE_SIZE / 4; i++) {
        const va = source.allocPages(4);
        expect(va, `allocPages(4) number ${i}`).not.toBeNull();
        source.freePages(va!, 4);
      }
    });

    it("answers null when memory runs out, and serves again once runs are freed", () => {
      const ram = 8 * 1024 * 1024;
      const { source, mmu } = factory(ram);
      const held: number[] = [];
      let last: number | null = 0;
      // Bounded: more tries than four times this RAM has 16-page runs means no exhaustion at
      // all (a design may need more RAM than asked for to boot: Linux takes at least 16 MiB).
      for (let i = 0; i <= (4 * ram) / PAGE_SIZE / 16 && last !== null; i++) {
        last = source.allocPages(16);
        if (last !== null) {
          mmu.write32(last + 15 * PAGE_SIZE, i, 0);
          held.push(last);
        }
      }
      expect(last, "allocPages(16) until memory runs out").toBeNull();
      held.forEach((va, i) => expect(mmu.read32(va + 15 * PAGE_SIZE, 0)).toBe(i));
      for (const va of held) source.freePages(va, 16);
      expect(source.allocPages(16)).not.toBeNull();
    });
  });
}

/** Options of {@link describeCacheConformance}. */
export interface CacheConformanceOptions {
  /** Makes the page source for each test (default: the hobby kernel's, {@link hobbyPageSource}). */
  readonly pages?: PageSourceFactory;
  /** Object sizes to test (default 16, 40 and 200 bytes). */
  readonly sizes?: readonly number[];
  /** Alignment every object must have (default 8). */
  readonly align?: number;
}

/** A page source that counts the pages it holds, for the tests. */
function counting(inner: SlabPageSource): SlabPageSource & { held: number } {
  const c = {
    name: inner.name,
    held: 0,
    allocPages(n: number) {
      const va = inner.allocPages(n);
      if (va !== null) c.held += n;
      return va;
    },
    freePages(va: number, n: number) {
      inner.freePages(va, n);
      c.held -= n;
    },
  };
  return c;
}

/** A fresh cache of `size`-byte objects on its own machine, with the page source counting its pages. */
function cacheFixture(factory: ObjectCacheFactory, options: CacheConformanceOptions) {
  const fixture = options.pages ?? hobbyPageSource;
  return (size: number, ram = 16 * 1024 * 1024) => {
    const { source, mmu } = fixture(ram);
    const pages = counting(source);
    return { cache: factory(pages, mmu, size), pages, mmu };
  };
}

/**
 * The object cache's model property: random alloc/free sequences on a cache
 * of one of `options.sizes`, against a map of live objects and the word
 * written into each. Sequences may be as short as one step (and are mostly
 * long: "max" size), so that a failure shrinks to the few steps that show
 * it. {@link describeCacheConformance} runs it; a test can run it with
 * `fc.check` on a cache with a planted bug and read the counterexample.
 */
export function cacheModelProperty(
  factory: ObjectCacheFactory,
  options: CacheConformanceOptions = {},
): fc.IPropertyWithHooks<[number, [boolean, number][]]> {
  const sizes = options.sizes ?? [16, 40, 200];
  return fc.property(
    fc.constantFrom(...sizes),
    fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 400, size: "max" }),
    (size, ops) => {
      const { cache, mmu } = cacheFixture(factory, options)(size);
      const live = new Map<number, number>();
      let seed = 1;
      for (const [alloc, pick] of ops) {
        if (alloc || live.size === 0) {
          const va = cache.alloc()!;
          expect(va).not.toBeNull();
          expect(live.has(va), `${hex32(va)} handed out twice`).toBe(false);
          for (const other of live.keys())
            if (va < other + size && other < va + size)
              expect(hex32(va)).toBe(`clear of ${hex32(other)}`);
          live.set(va, seed);
          for (let i = 0; i + 4 <= size; i += 4) mmu.write32(va + i, word(seed, i), 0);
          seed++;
        } else {
          const va = [...live.keys()][pick % live.size]!;
          const s = live.get(va)!;
          for (let i = 0; i + 4 <= size; i += 4)
            if (mmu.read32(va + i, 0) !== word(s, i))
              expect(mmu.read32(va + i, 0), hex32(va + i)).toBe(word(s, i));
          cache.free(va);
          live.delete(va);
        }
      }
    },
  );
}

/** Register the conformance tests of an `ObjectCache`, made by `factory`. */
export function describeCacheConformance(
  name: string,
  factory: ObjectCacheFactory,
  options: CacheConformanceOptions = {},
): void {
  const sizes = options.sizes ?? [16, 40, 200];
  const align = options.align ?? 8;
  const fresh = cacheFixture(factory, options);
  describe(`slab cache conformance: ${name}`, () => {
    for (const size of sizes) {
      it(`${size}-byte objects: aligned, disjoint, in the source's pages, keeping their bytes`, () => {
        const { cache, mmu, pages } = fresh(size);
        expect(cache.objectSize).toBe(size);
        const objs: number[] = [];
        // Enough objects to need several slabs.
        const count = Math.ceil((3 * PAGE_SIZE) / size) + 5;
        for (let i = 0; i < count; i++) objs.push(cache.alloc()!);
        expect(pages.held).toBeGreaterThan(0);
        const sorted = [...objs].sort((a, b) => a - b);
        sorted.forEach((va, i) => {
          expect(va, `alloc number ${i}`).not.toBeNull();
          expect(va % align, hex32(va)).toBe(0);
          expect(va).toBeGreaterThanOrEqual(0xc000_0000);
          if (i > 0)
            expect(va, `${hex32(va)} after ${hex32(sorted[i - 1]!)}`).toBeGreaterThanOrEqual(
              sorted[i - 1]! + size,
            );
        });
        for (const va of objs)
          for (let i = 0; i + 4 <= size; i += 4) mmu.write32(va + i, word(va, i), 0);
        for (const va of objs)
          for (let i = 0; i + 4 <= size; i += 4)
            if (mmu.read32(va + i, 0) !== word(va, i))
              expect(mmu.read32(va + i, 0), hex32(va + i)).toBe(word(va, i));
      });
    }

    it("reuses freed objects: an alloc/free loop holds no more pages, and reaches the MMU", () => {
      const { cache, pages, mmu } = fresh(48);
      const keep = Array.from({ length: 100 }, () => cache.alloc()!);
      const held = pages.held;
      mmu.resetStats();
      for (let i = 0; i < 5000; i++) cache.free(cache.alloc()!);
      expect(pages.held).toBeLessThanOrEqual(held + 1);
      // The free list is in simulated memory: alloc and free read and write it.
      expect(mmu.stats.accesses).toBeGreaterThanOrEqual(5000 * 2);
      for (const va of keep) cache.free(va);
    });

    it("refuses a double free, an interior pointer and a foreign address with typed errors naming it", () => {
      const { cache, pages, mmu } = fresh(40);
      const a = cache.alloc()!;
      const b = cache.alloc()!;
      mmu.write32(a, 0x1234_5678, 0);
      cache.free(b);
      const foreign = pages.allocPages(1)!;
      const cases: [number, string][] = [
        [b, SLAB_ERROR.DOUBLE_FREE],
        [a + 8, SLAB_ERROR.INTERIOR],
        [foreign, SLAB_ERROR.FOREIGN],
        [foreign + 40, SLAB_ERROR.FOREIGN],
      ];
      for (const [va, code] of cases) {
        expect(
          codeOf(() => cache.free(va)),
          `free(${hex32(va)})`,
        ).toBe(code);
        expect((thrown(() => cache.free(va)) as Error).message).toContain(hex32(va));
      }
      // Nothing changed: a is still live with its word, b is the one free object handed out again
      // before new ones (or at least a new object is not a).
      expect(mmu.read32(a, 0)).toBe(0x1234_5678);
      const c = cache.alloc()!;
      expect(c).not.toBe(a);
      const d = cache.alloc()!;
      expect(new Set([a, c, d]).size).toBe(3);
      cache.free(a);
      // c and d keep the slab: a cache may give an empty slab back, and then
      // a second free of a is an address of no slab (E_FOREIGN).
      expect(codeOf(() => cache.free(a))).toBe(SLAB_ERROR.DOUBLE_FREE);
      cache.free(c);
      cache.free(d);
    });

    it("answers null when the page source runs out, and serves again after frees", () => {
      const { cache } = fresh(1000, 8 * 1024 * 1024);
      const objs: number[] = [];
      for (let i = 0; i < 20000; i++) {
        const va = cache.alloc();
        if (va === null) break;
        objs.push(va);
      }
      expect(objs.length, "objects before null").toBeLessThan(20000);
      expect(cache.alloc()).toBeNull();
      for (const va of objs.splice(0, 50)) cache.free(va);
      expect(cache.alloc()).not.toBeNull();
    });

    it("agrees with a model of live objects on random alloc/free sequences", () => {
      fc.assert(cacheModelProperty(factory, options), { numRuns: runs(15) });
    }, 120_000);
  });
}
