/**
 * The conformance suite of the placement-policy swap point: malloc built on
 * the policy must behave, whatever the policy. Every shipped policy and every
 * student policy in the workbook runs it:
 *
 * ```ts
 * import { describePolicyConformance } from "@mm386/malloc/conformance";
 * describePolicyConformance("best fit", bestFit);
 * ```
 *
 * Needs `vitest` and `fast-check` (peer dependencies of this entry point only).
 *
 * @module
 */
import fc from "fast-check";
import { type Machine, type MachineOptions, createMachine } from "@mm386/hw-i386";
import { type KernelPageAllocator, Kvmalloc } from "@mm386/kvmalloc";
import { propertyRuns } from "@mm386/hw-i386/testing";
import { type Paging, startPaging } from "@mm386/paging";
import { describe, expect, it } from "vitest";
import {
  type HeapAllocator,
  type HeapAllocatorFactory,
  MallocError,
  type MallocOptions,
  type PolicyFactory,
} from "./api.js";
import { Malloc } from "./heap.js";

/** An address in hex, for failure messages. */
const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** A heap on a freshly booted machine, for tests. */
export function freshHeap(options: MallocOptions = {}, ramBytes = 32 * 1024 * 1024): Malloc {
  const machine = createMachine({ ramBytes });
  return new Malloc(new Kvmalloc(startPaging(machine)), options);
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof MallocError ? e.code : `not a MallocError: ${String(e)}`;
  }
  return undefined;
}

/** One step of the model property's random sequences. */
type PolicyOp =
  | { kind: "malloc"; size: number }
  | { kind: "realloc"; pick: number; size: number }
  | { kind: "free"; pick: number };
/**
 * malloc's model property on a placement policy: random malloc, realloc and
 * free against a map of live blocks and the words written into each, with
 * `check()` after every step. Sequences may be as short as one step (and
 * are mostly long: "max" size), so that a failure shrinks to the few steps
 * that show it. {@link describePolicyConformance} runs it; a test can run
 * it with `fc.check` on a policy with a planted bug.
 */
export function policyModelProperty(
  factory: PolicyFactory,
): fc.IPropertyWithHooks<[8 | 16, unknown[]]> {
  type Op = PolicyOp;
  const heap = (options: MallocOptions = {}) => freshHeap({ ...options, policy: factory });
  const mem = (h: Malloc) => h.kv.mmu;
  const size = fc.oneof(
    fc.integer({ min: 0, max: 64 }),
    fc.integer({ min: 1, max: 600 }),
    fc.integer({ min: 1, max: 10000 }),
    // Page-shaped: whole pages but for at most 1/64 (the default heap's page run and large blocks).
    fc.integer({ min: 1, max: 3 }).chain((k) => fc.integer({ min: k * 4096 - 64, max: k * 4096 })),
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("malloc" as const), size }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("realloc" as const), pick: fc.nat(), size }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }) },
  );
  return fc.property(
    fc.constantFrom<8 | 16>(8, 16),
    fc.array(op, { maxLength: 120, size: "max" }),
    (align, ops) => {
      const h = heap({ align, largeThreshold: 4096, chunkPages: 1 });
      const mmu = mem(h);
      const live = new Map<number, { size: number; seed: number }>();
      let seed = 1;
      const fill = (bp: number, n: number, s: number) => {
        for (let i = 0; i + 4 <= n; i += 4) mmu.write32(bp + i, (s * 2654435761 + i) >>> 0);
      };
      // Plain loops find a problem; expect() (slow per word) only reports it.
      const intact = (bp: number, n: number, s: number) => {
        for (let i = 0; i + 4 <= n; i += 4) {
          const got = mmu.read32(bp + i);
          if (got !== (s * 2654435761 + i) >>> 0)
            expect(got, `word ${i} of ${hex(bp)}`).toBe((s * 2654435761 + i) >>> 0);
        }
      };
      const noOverlap = (bp: number, n: number) => {
        expect(bp % align).toBe(0);
        expect(h.contains(bp, n)).toBe(true);
        for (const [other, o] of live)
          if (other !== bp && !(bp + Math.max(n, 1) <= other || other + Math.max(o.size, 1) <= bp))
            expect(`${hex(bp)}+${n}`).toBe(`clear of ${hex(other)}+${o.size}`);
      };
      for (const o of ops) {
        const keys = [...live.keys()];
        if (o.kind === "malloc") {
          const bp = h.malloc(o.size)!;
          expect(bp).not.toBeNull();
          noOverlap(bp, o.size);
          live.set(bp, { size: o.size, seed });
          fill(bp, o.size, seed++);
        } else if (keys.length > 0) {
          const bp = keys[o.pick % keys.length]!;
          const b = live.get(bp)!;
          intact(bp, b.size, b.seed);
          live.delete(bp);
          if (o.kind === "free") h.free(bp);
          else {
            const nb = h.realloc(bp, o.size);
            if (o.size === 0) expect(nb).toBeNull();
            else {
              expect(nb).not.toBeNull();
              intact(nb!, Math.min(b.size, o.size) & ~3, b.seed);
              noOverlap(nb!, o.size);
              live.set(nb!, { size: o.size, seed });
              fill(nb!, o.size, seed++);
            }
          }
        }
        h.check();
        expect(h.stats.allocations).toBe(live.size);
        expect(h.stats.livePayload).toBe([...live.values()].reduce((a, b) => a + b.size, 0));
      }
      for (const [bp, b] of live) intact(bp, b.size, b.seed);
    },
  );
}

/** Register the conformance tests for malloc running on the policy `factory` makes. */
export function describePolicyConformance(name: string, factory: PolicyFactory): void {
  describe(`malloc conformance: ${name}`, () => {
    const heap = (options: MallocOptions = {}) => freshHeap({ ...options, policy: factory });
    const mem = (h: Malloc) => h.kv.mmu;

    it("returns aligned, disjoint blocks that keep what is written to them", () => {
      for (const align of [8, 16] as const) {
        const h = heap({ align });
        const blocks = [1, 7, 8, 24, 100, 1000, 3000].map((n) => [h.malloc(n)!, n] as const);
        for (const [bp, n] of blocks) {
          expect(bp % align).toBe(0);
          for (let i = 0; i < n; i += 4) mem(h).write32(bp + i, (bp ^ i) >>> 0);
        }
        for (const [bp, n] of blocks)
          for (let i = 0; i < n; i += 4) expect(mem(h).read32(bp + i)).toBe((bp ^ i) >>> 0);
        h.check();
      }
    });

    it("coalesces: freeing everything leaves one free block per chunk", () => {
      const h = heap();
      const ps = Array.from({ length: 50 }, (_, i) => h.malloc(8 + ((i * 37) % 200))!);
      for (const p of [...ps.filter((_, i) => i % 2 === 0), ...ps.filter((_, i) => i % 2 === 1)])
        h.free(p);
      h.check();
      expect(h.blocks().filter((b) => !b.allocated)).toHaveLength(h.stats.chunks);
      expect(h.stats.livePayload).toBe(0);
    });

    it("reallocs in place when it shrinks or the next block is free, and moves otherwise", () => {
      const h = heap();
      const a = h.malloc(100)!;
      for (let i = 0; i < 100; i += 4) mem(h).write32(a + i, i + 1);
      expect(h.realloc(a, 40)).toBe(a); // shrink: in place
      const b = h.malloc(16)!; // right after a's shrunk block... or elsewhere
      h.free(b);
      expect(h.realloc(a, 60)).toBe(a); // the freed neighbour (or the split tail) is free: in place
      const c = h.malloc(200)!; // now something allocated may follow a
      const moved = h.realloc(a, 5000)!;
      for (let i = 0; i < 40; i += 4) expect(mem(h).read32(moved + i)).toBe(i + 1);
      h.free(c);
      h.free(moved);
      h.check();
    });

    it("sends large requests straight to kvmalloc and gives their pages back", () => {
      const h = heap({ largeThreshold: 8192 });
      // A block of the regions stays live: with none, the heap gives its first region back before it takes pages.
      h.malloc(24);
      const pages = h.stats.footprintPages;
      const big = h.malloc(20000)!;
      expect(h.blocks().find((b) => b.bp === big)?.large).toBe(true);
      expect(h.stats.footprintPages).toBe(pages + 5); // 20000 / 4096, rounded up
      h.free(big);
      // Kept for the next request of as many pages (under the peak), given back by trim().
      expect(h.malloc(19000)).toBe(big);
      expect(h.stats.footprintPages).toBe(pages + 5);
      h.free(big);
      expect(h.trim()).toBe(5);
      expect(h.stats.footprintPages).toBe(pages);
      expect(h.stats.peakFootprintPages).toBe(pages + 5);
    });

    it("grows by kvmalloc and gives free pages back with kvfree", () => {
      // Regions only: slabs keep one with room per size (tested on their own).
      const h = heap({ chunkPages: 1, sizeClasses: false });
      const kv = h.kv as Kvmalloc;
      const start = kv.pages;
      const ps = Array.from({ length: 1000 }, (_, i) => h.malloc(100 + (i % 7) * 8)!);
      // 1000 blocks of 104 to 156 bytes need at least 25 more pages: more
      // than the 64 KiB a free tail may keep, so they go back when freed.
      expect(kv.pages).toBeGreaterThanOrEqual(start + 25);
      expect(h.stats.footprintPages).toBe(kv.pages);
      for (const p of ps) h.free(p);
      h.check();
      // Back to what it held at the start, give or take the page a free tail keeps.
      expect(kv.pages).toBeLessThanOrEqual(start + 1);
      expect(h.stats.footprintPages).toBe(kv.pages);
    });

    it("calloc zeroes and refuses an overflowing product", () => {
      const h = heap();
      const dirty = h.malloc(64)!;
      for (let i = 0; i < 64; i += 4) mem(h).write32(dirty + i, 0xffff_ffff);
      h.free(dirty);
      const z = h.calloc(16, 4)!;
      for (let i = 0; i < 64; i += 4) expect(mem(h).read32(z + i)).toBe(0);
      expect(codeOf(() => h.calloc(0x1_0000, 0x1_0001))).toBe("E_OVERFLOW");
    });

    it("refuses bad pointers with a typed error naming the address, and the heap is unchanged", () => {
      const h = heap();
      const a = h.malloc(32)!;
      const b = h.malloc(32)!;
      h.free(b);
      const before = h.dump();
      expect(codeOf(() => h.free(a + 8))).toBe("E_NOT_ALLOCATED");
      expect(codeOf(() => h.free(b))).toBe("E_DOUBLE_FREE");
      expect(codeOf(() => h.realloc(b, 10))).toBe("E_DOUBLE_FREE");
      expect(codeOf(() => h.malloc(-1))).toBe("E_BAD_ARGUMENT");
      const header = mem(h).read32(a - 4);
      mem(h).write32(a - 4, 0x1234_5679); // corrupt a's header
      expect(codeOf(() => h.free(a))).toBe("E_CORRUPT");
      expect(() => h.free(a)).toThrow(`0x${a.toString(16).padStart(8, "0")}`);
      expect(codeOf(() => h.check())).toBe("E_CORRUPT");
      mem(h).write32(a - 4, header); // repair: every refused call left the heap as it was
      expect(h.dump()).toBe(before);
      h.check();
    });

    it("agrees with a model of live blocks on random malloc/realloc/free sequences", () => {
      fc.assert(policyModelProperty(factory), { numRuns: propertyRuns(30, 30) });
    }, 60_000);
  });
}

/** Options of {@link describeHeapConformance}: the layers under the heap. */
export interface HeapConformanceOptions {
  /** Boots a machine and returns its paging (default: `startPaging(machine)`). */
  readonly start?: (machine: Machine) => Paging;
  /** Makes the kvmalloc the heap grows with (default: {@link Kvmalloc}). */
  readonly kvmalloc?: (paging: Paging) => KernelPageAllocator;
  /** Makes the machines (default `createMachine`), e.g. with a TLB of your own. */
  readonly machine?: (options: MachineOptions) => Machine;
}

/** Makes a heap from `factory` on a freshly booted machine with the layers `options` names. */
function heapFixture(factory: HeapAllocatorFactory, options: HeapConformanceOptions) {
  return () => {
    const machine = (options.machine ?? createMachine)({ ramBytes: 32 * 1024 * 1024 });
    const paging = (options.start ?? ((m: Machine) => startPaging(m)))(machine);
    const kv = options.kvmalloc ? options.kvmalloc(paging) : new Kvmalloc(paging);
    return { h: factory(kv), mmu: machine.mmu, kv, paging };
  };
}
/** What {@link heapModelProperty}'s random sequences are made of, and what it checks after each step. */
export interface HeapModelOptions {
  /** The sizes malloc and realloc ask for (default: 0 to 6000 bytes). */
  readonly sizes?: fc.Arbitrary<number>;
  /** Fewest steps in a sequence (default 0). */
  readonly minSteps?: number;
  /** Most steps in a sequence (default 150). */
  readonly maxSteps?: number;
  /** Every pointer handed out must be a multiple of this (default 8). */
  readonly align?: number;
  /**
   * Called after every step with the heap and the model's live blocks
   * (pointer to size), e.g. to run the heap's own checker each time.
   */
  readonly eachStep?: (heap: HeapAllocator, live: ReadonlyMap<number, number>) => void;
  /** Called once the sequence has run (and every live block was found intact), as `eachStep`. */
  readonly atEnd?: (heap: HeapAllocator, live: ReadonlyMap<number, number>) => void;
}

/**
 * The heap's model property: random malloc, free and realloc against a map
 * of live blocks and the words written into each. Sequences may be as short
 * as one step (and are mostly long: "max" size), so that a failure shrinks
 * to the few steps that show it. {@link describeHeapConformance} runs it; a
 * test can run it with `fc.check` on a heap with a planted bug, or with
 * `model` on sizes of its own.
 */
export function heapModelProperty(
  factory: HeapAllocatorFactory,
  options: HeapConformanceOptions = {},
  model: HeapModelOptions = {},
): fc.IPropertyWithHooks<[[string, number, number][]]> {
  const fresh = heapFixture(factory, options);
  const align = model.align ?? 8;
  return fc.property(
    fc.array(
      fc.tuple(
        fc.constantFrom("m", "m", "f", "r"),
        model.sizes ?? fc.integer({ min: 0, max: 6000 }),
        fc.nat(),
      ),
      { minLength: model.minSteps ?? 0, maxLength: model.maxSteps ?? 150, size: "max" },
    ),
    (ops) => {
      const { h, mmu } = fresh();
      const live = new Map<number, { size: number; seed: number }>();
      let seed = 1;
      const word = (s: number, i: number) => (Math.imul(s, 2654435761) + i) >>> 0;
      const fill = (bp: number, n: number, s: number) => {
        for (let i = 0; i + 4 <= n; i += 4) mmu.write32(bp + i, word(s, i));
      };
      const intact = (bp: number, n: number, s: number) => {
        for (let i = 0; i + 4 <= n; i += 4) {
          const got = mmu.read32(bp + i);
          if (got !== word(s, i)) expect(got, `word ${i} of ${hex(bp)}`).toBe(word(s, i));
        }
      };
      const sizes = new Map<number, number>();
      const place = (bp: number, n: number) => {
        expect(bp % align).toBe(0);
        for (const [other, o] of live)
          if (!(bp + Math.max(n, 1) <= other || other + Math.max(o.size, 1) <= bp))
            expect(`${hex(bp)}+${n}`).toBe(`clear of ${hex(other)}+${o.size}`);
        live.set(bp, { size: n, seed });
        sizes.set(bp, n);
        fill(bp, n, seed++);
      };
      for (const [kind, size, pick] of ops) {
        const keys = [...live.keys()];
        if (kind === "m" || keys.length === 0) {
          const bp = h.malloc(size);
          expect(bp, `malloc(${size})`).not.toBeNull();
          place(bp!, size);
        } else {
          const bp = keys[pick % keys.length]!;
          const b = live.get(bp)!;
          intact(bp, b.size, b.seed);
          live.delete(bp);
          sizes.delete(bp);
          if (kind === "f") h.free(bp);
          else if (size === 0) expect(h.realloc(bp, 0)).toBeNull();
          else {
            const nb = h.realloc(bp, size);
            expect(nb, `realloc(${size})`).not.toBeNull();
            intact(nb!, Math.min(b.size, size) & ~3, b.seed);
            place(nb!, size);
          }
        }
        model.eachStep?.(h, sizes);
      }
      for (const [bp, b] of live) intact(bp, b.size, b.seed);
      h.check?.();
      model.atEnd?.(h, sizes);
    },
  );
}

/**
 * Register the conformance tests for any `HeapAllocator` (a whole
 * malloc, not a policy): workbook exercise 8 and the shipped `Malloc`
 * run these. Blocks are checked against a model of live blocks: aligned to
 * 8, inside mapped kernel memory, disjoint, and keeping their bytes through
 * frees and reallocs of others.
 */
export function describeHeapConformance(
  name: string,
  factory: HeapAllocatorFactory,
  options: HeapConformanceOptions = {},
): void {
  const fresh = heapFixture(factory, options);
  const anyCode = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return (e as { code?: unknown }).code;
    }
    return undefined;
  };
  describe(`heap conformance: ${name}`, () => {
    it("has a name; returns aligned, disjoint, writable blocks in kernel memory", () => {
      const { h, mmu } = fresh();
      expect(typeof h.name).toBe("string");
      const sizes = [1, 7, 8, 24, 100, 1000, 3000, 5000, 20000];
      const blocks = sizes.map((n) => [h.malloc(n)!, n] as const);
      for (const [bp, n] of blocks) {
        expect(bp, `malloc(${n})`).not.toBeNull();
        expect(bp % 8).toBe(0);
        expect(bp).toBeGreaterThanOrEqual(0xc000_0000);
        for (let i = 0; i + 4 <= n; i += 4) mmu.write32(bp + i, (bp ^ i) >>> 0);
      }
      for (const [bp, n] of blocks)
        for (let i = 0; i + 4 <= n; i += 4) expect(mmu.read32(bp + i)).toBe((bp ^ i) >>> 0);
      h.check?.();
    });

    it("reuses freed memory: a malloc/free loop does not grow the heap", () => {
      const { h, paging } = fresh();
      const p = paging.allocators.physical;
      // Warm up with the sizes the loop uses: a heap with per-size caches (the
      // slab's kmalloc) keeps a slab per size class it has seen, once.
      for (let i = 0; i < 300; i++) h.free(h.malloc(8 + i)!);
      const before = p.freePages;
      for (let i = 0; i < 2000; i++) h.free(h.malloc(8 + (i % 300))!);
      expect(p.freePages).toBeGreaterThanOrEqual(before - 1);
    });

    it("realloc keeps the payload, realloc(0, n) mallocs and realloc(bp, 0) frees", () => {
      const { h, mmu } = fresh();
      const a = h.malloc(40)!;
      for (let i = 0; i < 40; i += 4) mmu.write32(a + i, 0x1000 + i);
      const b = h.realloc(a, 4000)!;
      for (let i = 0; i < 40; i += 4) expect(mmu.read32(b + i)).toBe(0x1000 + i);
      const c = h.realloc(b, 12)!;
      for (let i = 0; i < 12; i += 4) expect(mmu.read32(c + i)).toBe(0x1000 + i);
      const d = h.realloc(0, 16);
      expect(d).not.toBeNull();
      expect(h.realloc(c, 0)).toBeNull();
      h.free(d!);
      h.check?.();
    });

    it("refuses to free what it did not hand out, or twice, with an error code", () => {
      const { h } = fresh();
      const a = h.malloc(32)!;
      expect(anyCode(() => h.free(a + 8))).toBeTypeOf("string");
      h.free(a);
      expect(anyCode(() => h.free(a))).toBeTypeOf("string");
      const b = h.malloc(32);
      expect(b).not.toBeNull();
    });

    it("agrees with a model of live blocks on random malloc/free/realloc sequences", () => {
      fc.assert(heapModelProperty(factory, options), { numRuns: propertyRuns(25, 25) });
    }, 60_000);
  });
}
