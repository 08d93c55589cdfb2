/**
 * The conformance suite for the {@link Tlb} swap point. Every TLB that ships
 * with mm386, and every student TLB in the workbook, runs these same tests:
 *
 * ```ts
 * import { describeTlbConformance } from "@mm386/hw-i386/conformance";
 * describeTlbConformance("my TLB", () => new MyTlb(), { unbounded: false });
 * ```
 *
 * The contract: `lookup(vpn)` gives an entry equal to the one most recently
 * inserted for `vpn` that has not been invalidated, flushed or evicted since,
 * or undefined. A TLB never invents an entry, and forgets one only when told
 * to or when `insert` evicts it, which `insert` then returns. An unbounded TLB
 * never evicts.
 *
 * Needs `vitest` and `fast-check` (peer dependencies of this entry point only).
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CR0, ENTRIES_PER_TABLE, PTE, type Tlb, type TlbEntry } from "./api.js";
import { Mmu } from "./mmu.js";
import { PhysicalMemory } from "./ram.js";
import { propertyRuns } from "./testing.js";

/** Options for {@link describeTlbConformance}. */
export interface TlbConformanceOptions {
  /** The TLB never evicts: every inserted entry stays until invalidated. */
  readonly unbounded?: boolean;
  /** Number of random operations per property run. Default 200. */
  readonly operations?: number;
}

/** A TLB entry for tests: small, non-global, writable, supervisor. */
export function testEntry(
  vpn: number,
  options: { readonly global?: boolean; readonly large?: boolean; readonly pfn?: number } = {},
): TlbEntry {
  return {
    vpn,
    pfn: options.pfn ?? vpn,
    writable: true,
    user: false,
    dirty: false,
    global: options.global ?? false,
    large: options.large ?? false,
  };
}

/** An entry as a string of its fields, for comparing entries by value. */
function entryKey(e: TlbEntry): string {
  return [e.vpn, e.pfn, e.writable, e.user, e.dirty, e.global, e.large].join(",");
}

/** One step of the model property's random sequences. */
type TlbOp =
  | { kind: "insert"; vpn: number; global: boolean; large: boolean }
  | { kind: "lookup"; vpn: number }
  | { kind: "invalidate"; vpn: number }
  | { kind: "flushNonGlobal" }
  | { kind: "flushAll" };
type Op = TlbOp;

/**
 * The TLB's model property: random inserts, lookups, invalidations and
 * flushes against a plain map of what the TLB may hold. Sequences may be as
 * short as one step, so that a failure shrinks to the few steps that show it.
 * {@link describeTlbConformance} runs it; a test can run it with `fc.check`
 * on a TLB with a planted bug and read the counterexample.
 */
export function tlbModelProperty(
  factory: () => Tlb,
  options: TlbConformanceOptions = {},
): fc.IPropertyWithHooks<[unknown[]]> {
  const unbounded = options.unbounded ?? false;
  // Small page numbers in few regions make collisions, large pages and replacements common.
  const vpn = fc.oneof(
    fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 1024, max: 1064 }),
    fc.constant(0xfffff),
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant("insert" as const),
        vpn,
        global: fc.boolean(),
        large: fc.boolean(),
      }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("lookup" as const), vpn }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("invalidate" as const), vpn }) },
    { weight: 1, arbitrary: fc.constant({ kind: "flushNonGlobal" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "flushAll" as const }) },
  );
  return fc.property(fc.array(op, { maxLength: options.operations ?? 200, size: "max" }), (ops) => {
    const tlb = factory();
    const model = new Map<number, TlbEntry>();
    for (const o of ops) {
      const beforeEntries = tlb.entries();
      const before = new Set(beforeEntries.map(entryKey));
      if (o.kind === "insert") {
        const e = testEntry(o.vpn, { global: o.global, large: o.large });
        const evicted = tlb.insert(e);
        if (evicted !== undefined) {
          expect(unbounded).toBe(false);
          expect(before.has(entryKey(evicted))).toBe(true);
          expect(evicted.vpn).not.toBe(o.vpn);
          model.delete(evicted.vpn);
        }
        model.set(o.vpn, e);
        expect(tlb.lookup(o.vpn)).toEqual(e);
      } else if (o.kind === "lookup") {
        expect(tlb.lookup(o.vpn)).toEqual(model.get(o.vpn));
      } else {
        const gone =
          o.kind === "flushAll"
            ? () => true
            : o.kind === "flushNonGlobal"
              ? (e: TlbEntry) => !e.global
              : (e: TlbEntry) => e.vpn === o.vpn || (e.large && e.vpn >>> 10 === o.vpn >>> 10);
        const dropped =
          o.kind === "flushAll"
            ? tlb.flushAll()
            : o.kind === "flushNonGlobal"
              ? tlb.flushNonGlobal()
              : tlb.invalidatePage(o.vpn);
        const expectedDropped = beforeEntries.filter(gone).length;
        expect(dropped).toBe(expectedDropped);
        for (const [k, e] of model) if (gone(e)) model.delete(k);
      }
      const held = tlb.entries();
      expect(held.length).toBeLessThanOrEqual(tlb.capacity);
      expect(new Set(held.map((e) => e.vpn)).size).toBe(held.length);
      for (const e of held) expect(model.get(e.vpn)).toEqual(e);
      expect(held.length).toBe(model.size);
    }
  });
}

/** Register the TLB conformance tests for the TLBs that `factory` makes. */
export function describeTlbConformance(
  name: string,
  factory: () => Tlb,
  options: TlbConformanceOptions = {},
): void {
  const unbounded = options.unbounded ?? false;
  describe(`Tlb conformance: ${name}`, () => {
    it("has a name and a positive capacity", () => {
      const tlb = factory();
      expect(typeof tlb.name).toBe("string");
      expect(tlb.name.length).toBeGreaterThan(0);
      expect(tlb.capacity).toBeGreaterThan(0);
      if (unbounded) expect(tlb.capacity).toBe(Infinity);
    });

    it("starts empty", () => {
      const tlb = factory();
      expect(tlb.entries()).toEqual([]);
      for (const vpn of [0, 1, 0x400, 0xfffff]) expect(tlb.lookup(vpn)).toBeUndefined();
    });

    it("returns the entry it was given", () => {
      const tlb = factory();
      const e = testEntry(0x12345);
      expect(tlb.insert(e)).toBeUndefined(); // nothing to evict in an empty TLB
      expect(tlb.lookup(0x12345)).toEqual(e);
      expect(tlb.lookup(0x12346)).toBeUndefined();
    });

    it("keeps one entry per page: a second insert replaces the first", () => {
      const tlb = factory();
      const a = testEntry(7, { pfn: 1 });
      const b = testEntry(7, { pfn: 2 });
      tlb.insert(a);
      tlb.insert(b);
      expect(tlb.lookup(7)).toEqual(b);
      expect(tlb.entries().filter((e) => e.vpn === 7)).toEqual([b]);
    });

    // A bounded TLB may have evicted some of what a test inserted, so each
    // expectation below is computed from what the TLB held just before.
    // Entries are compared by value: a TLB may store them in any form.
    const heldSet = (tlb: Tlb) => new Set(tlb.entries().map(entryKey));
    const expectHeldOrForgotten = (tlb: Tlb, e: TlbEntry) => {
      const got = tlb.lookup(e.vpn);
      if (unbounded) expect(got).toEqual(e);
      else if (got !== undefined) expect(got).toEqual(e);
    };

    it("invalidatePage drops that page, global or not, and nothing else", () => {
      const tlb = factory();
      const g = testEntry(0x100, { global: true });
      const other = testEntry(0x101);
      tlb.insert(g);
      tlb.insert(other);
      const held = heldSet(tlb);
      expect(tlb.invalidatePage(0x100)).toBe(held.has(entryKey(g)) ? 1 : 0);
      expect(tlb.lookup(0x100)).toBeUndefined();
      expectHeldOrForgotten(tlb, other);
      expect(tlb.invalidatePage(0x100)).toBe(0);
    });

    it("invalidatePage anywhere in a 4 MiB page drops every piece of it", () => {
      const tlb = factory();
      // Region 3 holds two pieces of a large page and one small page; region 4 one large piece.
      const p1 = testEntry(3 * ENTRIES_PER_TABLE + 1, { large: true });
      const p2 = testEntry(3 * ENTRIES_PER_TABLE + 2, { large: true });
      const small = testEntry(3 * ENTRIES_PER_TABLE + 9);
      const elsewhere = testEntry(4 * ENTRIES_PER_TABLE + 1, { large: true });
      for (const e of [p1, p2, small, elsewhere]) tlb.insert(e);
      const held = heldSet(tlb);
      const expected = [p1, p2].filter((e) => held.has(entryKey(e))).length;
      expect(tlb.invalidatePage(3 * ENTRIES_PER_TABLE + 500)).toBe(expected);
      expect(tlb.lookup(p1.vpn)).toBeUndefined();
      expect(tlb.lookup(p2.vpn)).toBeUndefined();
      expectHeldOrForgotten(tlb, small);
      expectHeldOrForgotten(tlb, elsewhere);
      if (held.has(entryKey(small))) expect(tlb.lookup(small.vpn)).toEqual(small);
    });

    it("flushNonGlobal keeps exactly the global entries", () => {
      const tlb = factory();
      const g = testEntry(0xc0000, { global: true });
      const n = testEntry(0x00001);
      tlb.insert(g);
      tlb.insert(n);
      const held = heldSet(tlb);
      expect(tlb.flushNonGlobal()).toBe(held.has(entryKey(n)) ? 1 : 0);
      expect(tlb.lookup(0xc0000)).toEqual(held.has(entryKey(g)) ? g : undefined);
      expect(tlb.lookup(0x00001)).toBeUndefined();
    });

    it("flushAll drops everything, global entries too", () => {
      const tlb = factory();
      tlb.insert(testEntry(1, { global: true }));
      tlb.insert(testEntry(2));
      const held = tlb.entries().length;
      expect(held).toBeGreaterThanOrEqual(1);
      expect(tlb.flushAll()).toBe(held);
      expect(tlb.entries()).toEqual([]);
      expect(tlb.lookup(1)).toBeUndefined();
      expect(tlb.lookup(2)).toBeUndefined();
    });

    it("never holds more entries than its capacity", () => {
      const tlb = factory();
      for (let vpn = 0; vpn < 3000; vpn++) tlb.insert(testEntry(vpn * 7));
      expect(tlb.entries().length).toBeLessThanOrEqual(tlb.capacity);
      if (unbounded) expect(tlb.entries().length).toBe(3000);
    });

    it("holds exactly what it was given, minus what it was told to drop or reported evicting (random operations against a model)", () => {
      // Up to 200 steps ("max" size: most runs are long, so deep states are reached), from 1.
      fc.assert(tlbModelProperty(factory, options), {
        numRuns: propertyRuns(50, 2000),
      });
      // 1-3 s alone; many times that on a loaded, shared 2-core machine (vitest's default is 5 s).
    }, 60_000);

    it("runs an MMU: a cached translation survives a PTE edit until invlpg", () => {
      const ram = new PhysicalMemory();
      const tlb = factory();
      const mmu = new Mmu(ram, { tlb });
      ram.write32(0x1000, 0x2000 | PTE.P | PTE.RW);
      ram.write32(0x2000 + 4 * 5, 0x7000 | PTE.P | PTE.RW);
      ram.write32(0x7000, 111);
      ram.write32(0x8000, 222);
      mmu.loadCr3(0x1000);
      mmu.loadCr0(CR0.PE | CR0.PG);
      expect(mmu.read32(0x5000)).toBe(111);
      // The read just inserted page 5's entry and nothing has been inserted
      // since, so even the smallest bounded TLB still holds it (an insert only
      // evicts other pages): the next read must use it, not walk the edited PTE.
      expect(tlb.lookup(5)?.pfn).toBe(7);
      ram.write32(0x2000 + 4 * 5, 0x8000 | PTE.P | PTE.RW);
      expect(mmu.read32(0x5000)).toBe(111);
      mmu.invlpg(0x5000);
      expect(mmu.read32(0x5000)).toBe(222);
    });
  });
}
