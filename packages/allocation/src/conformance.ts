/**
 * The conformance suite of the {@link RangeAllocator} swap point. Every range
 * allocator that ships with mm386, and every student's in the workbook, runs
 * these same tests:
 *
 * ```ts
 * import { describeRangeAllocatorConformance } from "@mm386/allocation/conformance";
 * describeRangeAllocatorConformance("my allocator", (base, count) => new Mine(base, count));
 * ```
 *
 * Needs `vitest` and `fast-check` (peer dependencies of this entry point only).
 *
 * @module
 */
import fc from "fast-check";
import { codeOf, propertyRuns } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import {
  PAGE_SIZE,
  type PageRangesFactory,
  type RangeAllocator,
  type RangeAllocatorFactory,
  UNIT_STATE,
} from "./api.js";
import { buddyRanges } from "./range-buddy.js";

/** Time limit of the long property tests: a minute, or an hour for the deep run (MM386_DEEP=1). */
const DEEP_TIMEOUT = process.env.MM386_DEEP ? 3_600_000 : 60_000;

const { FREE, ALLOCATED, RESERVED } = UNIT_STATE;

/** Options of {@link describeRangeAllocatorConformance}. */
export interface RangeAllocatorConformanceOptions {
  /** Random operations per property run (default 150). */
  readonly operations?: number;
}

function longestFreeRun(states: Uint8Array): number {
  let best = 0;
  let run = 0;
  for (const s of states) {
    run = s === FREE ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

/** One step of the model property's random sequences. */
type RangeOp =
  | { kind: "alloc"; min: number; extra: number }
  | { kind: "free"; pick: number; from: number; len: number }
  | { kind: "reserve"; at: number; len: number }
  | { kind: "badFree"; at: number; len: number };
type Op = RangeOp;

/**
 * The range allocator's model property: random allocRun, free (of whole
 * runs or parts), reserve and bad frees against a plain array of unit
 * states. Sequences may be as short as one step (and are mostly long: "max"
 * size), so that a failure shrinks to the few steps that show it.
 * {@link describeRangeAllocatorConformance} runs it; a test can run it with
 * `fc.check` on an allocator with a planted bug and read the counterexample.
 */
export function rangeAllocatorModelProperty(
  factory: RangeAllocatorFactory,
  options: RangeAllocatorConformanceOptions = {},
): fc.IPropertyWithHooks<[number, number, unknown[]]> {
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant("alloc" as const),
        min: fc.integer({ min: 1, max: 12 }),
        extra: fc.integer({ min: 0, max: 20 }),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant("free" as const),
        pick: fc.nat(),
        from: fc.nat(),
        len: fc.nat(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("reserve" as const),
        at: fc.nat({ max: 200 }),
        len: fc.integer({ min: 1, max: 10 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("badFree" as const),
        at: fc.nat({ max: 200 }),
        len: fc.integer({ min: 1, max: 6 }),
      }),
    },
  );
  return fc.property(
    fc.integer({ min: 1, max: 200 }),
    fc.integer({ min: 0, max: 5000 }),
    fc.array(op, { maxLength: options.operations ?? 150, size: "max" }),
    (count, base, ops) => {
      const a: RangeAllocator = factory(base, count);
      const model = new Uint8Array(count);
      const ever = new Uint8Array(count);
      const live: [number, number][] = [];
      for (const o of ops) {
        if (o.kind === "alloc") {
          const max = o.min + o.extra;
          const run = a.allocRun(o.min, max);
          if (run === null) {
            const longest = longestFreeRun(model);
            if (o.min === 1) expect(longest).toBe(0); // a single free unit is always found
            if (a.complete) expect(longest).toBeLessThan(o.min);
          } else {
            expect(run.count).toBeGreaterThanOrEqual(o.min);
            expect(run.count).toBeLessThanOrEqual(max);
            const at = run.start - base;
            for (let i = at; i < at + run.count; i++) expect(model[i]).toBe(FREE);
            model.fill(ALLOCATED, at, at + run.count);
            ever.fill(1, at, at + run.count);
            live.push([at, run.count]);
          }
        } else if (o.kind === "free") {
          if (live.length === 0) continue;
          const idx = o.pick % live.length;
          const [at, n] = live[idx]!;
          const from = o.from % n;
          const len = 1 + (o.len % (n - from));
          a.free(base + at + from, len);
          model.fill(FREE, at + from, at + from + len);
          const rest: [number, number][] = [];
          if (from > 0) rest.push([at, from]);
          if (from + len < n) rest.push([at + from + len, n - from - len]);
          live.splice(idx, 1, ...rest);
        } else if (o.kind === "reserve") {
          const at = Math.min(o.at, count - 1);
          const len = Math.min(o.len, count - at);
          const clash = model.subarray(at, at + len).includes(ALLOCATED);
          if (clash) expect(codeOf(() => a.reserve(base + at, len))).toBe("E_OVERLAPS_ALLOCATION");
          else {
            a.reserve(base + at, len);
            model.fill(RESERVED, at, at + len);
          }
        } else {
          const at = Math.min(o.at, count - 1);
          const len = Math.min(o.len, count - at);
          const bad = model.subarray(at, at + len).findIndex((s) => s !== ALLOCATED);
          if (bad < 0) continue;
          const u = at + bad;
          const want =
            model[u] === RESERVED
              ? "E_NOT_ALLOCATED"
              : ever[u]
                ? "E_DOUBLE_FREE"
                : "E_NOT_ALLOCATED";
          expect(codeOf(() => a.free(base + at, len))).toBe(want);
        }
        // A plain loop finds a difference; toEqual (slow on every step) only reports it.
        const states = a.states();
        if (states.length !== model.length || states.some((s, i) => s !== model[i]))
          expect(Array.from(states)).toEqual(Array.from(model));
        expect(a.freeUnits).toBe(model.reduce((n, s) => n + (s === FREE ? 1 : 0), 0));
        a.check();
      }
    },
  );
}

/** Register the conformance tests for the range allocators that `factory` makes. */
export function describeRangeAllocatorConformance(
  name: string,
  factory: RangeAllocatorFactory,
  options: RangeAllocatorConformanceOptions = {},
): void {
  describe(`RangeAllocator conformance: ${name}`, () => {
    it("starts with every unit free and a name", () => {
      const a = factory(1000, 77);
      expect(a.name.length).toBeGreaterThan(0);
      expect([a.base, a.count, a.freeUnits]).toEqual([1000, 77, 77]);
      expect(a.states().every((s) => s === FREE)).toBe(true);
      a.check();
    });

    it("hands out runs between min and max inside the range, and marks them", () => {
      const a = factory(1000, 77);
      const run = a.allocRun(3, 5)!;
      expect(run.count).toBeGreaterThanOrEqual(3);
      expect(run.count).toBeLessThanOrEqual(5);
      expect(run.start).toBeGreaterThanOrEqual(1000);
      expect(run.start + run.count).toBeLessThanOrEqual(1077);
      const st = a.states();
      for (let i = 0; i < run.count; i++) expect(st[run.start - 1000 + i]).toBe(ALLOCATED);
      expect(a.freeUnits).toBe(77 - run.count);
      a.check();
    });

    it("frees a run in pieces (3 + 5) and everything is free again", () => {
      const a = factory(0, 64);
      const run = a.allocRun(8, 8)!;
      expect(run.count).toBe(8);
      a.free(run.start, 3);
      a.free(run.start + 3, 5);
      expect(a.freeUnits).toBe(64);
      expect(a.allocRun(64, 64)?.count).toBe(64);
    });

    it("gives out every unit before it returns null, and recovers after a free", () => {
      const a = factory(5, 40);
      const seen = new Set<number>();
      for (let run = a.allocRun(1, 3); run !== null; run = a.allocRun(1, 3)) {
        for (let u = run.start; u < run.start + run.count; u++) {
          expect(seen.has(u)).toBe(false);
          seen.add(u);
        }
      }
      expect(seen.size).toBe(40);
      expect(a.freeUnits).toBe(0);
      a.free(20, 1);
      expect(a.allocRun(1, 1)).toEqual({ start: 20, count: 1 });
    });

    it("refuses bad calls with a code and changes nothing", () => {
      const a = factory(100, 64);
      const run = a.allocRun(4, 4)!;
      a.free(run.start + 2, 2);
      a.reserve(150, 4);
      const before = a.states();
      const cases: [() => unknown, string][] = [
        [() => a.allocRun(0, 1), "E_BAD_ARGUMENT"],
        [() => a.allocRun(3, 2), "E_BAD_ARGUMENT"],
        [() => a.allocRun(1.5, 2), "E_BAD_ARGUMENT"],
        [() => a.free(run.start + 2, 1), "E_DOUBLE_FREE"],
        [() => a.free(run.start, 3), "E_DOUBLE_FREE"],
        [() => a.free(160, 1), "E_NOT_ALLOCATED"],
        [() => a.free(150, 1), "E_NOT_ALLOCATED"],
        [() => a.free(99, 2), "E_OUT_OF_RANGE"],
        [() => a.free(163, 2), "E_OUT_OF_RANGE"],
        [() => a.reserve(run.start, 1), "E_OVERLAPS_ALLOCATION"],
      ];
      for (const [call, code] of cases) {
        expect(codeOf(call)).toBe(code);
        expect(a.states()).toEqual(before);
      }
      a.check();
    });

    it(
      "agrees with a model on long random sequences",
      () => {
        fc.assert(rangeAllocatorModelProperty(factory, options), {
          numRuns: propertyRuns(40, 1000),
        });
      },
      DEEP_TIMEOUT,
    );
  });
}

/**
 * Register the conformance tests for `PageRanges` made by `make` (the
 * swap point under ppalloc and vpalloc): addresses in, addresses out, whole
 * pages, and every refused call an `AllocationError` whose message
 * names the address in hex, with nothing changed.
 */
export function describePageRangesConformance(name: string, make: PageRangesFactory): void {
  const PAGE = PAGE_SIZE;
  // 64 pages at 0x00400000, over the buddy range allocator.
  const fresh = (label = "test") => make(label, 0x40_0000, 64 * PAGE, buddyRanges);
  describe(`PageRanges conformance: ${name}`, () => {
    it("knows its range and starts with every page free", () => {
      const p = fresh("physical");
      expect(p.label).toBe("physical");
      expect([p.start, p.size, p.freePages]).toEqual([0x40_0000, 64 * PAGE, 64]);
      expect(p.contains(0x40_0000)).toBe(true);
      expect(p.contains(0x40_0000 + 64 * PAGE - 1)).toBe(true);
      expect(p.contains(0x40_0000 + 64 * PAGE)).toBe(false);
      expect(p.contains(0x3f_ffff)).toBe(false);
    });

    it("hands out page-aligned runs by address, inside the range, between min and max pages", () => {
      const p = fresh();
      const a = p.alloc(3, 3)!;
      const b = p.alloc(1, 1)!;
      for (const r of [a, b]) {
        expect(r.start % PAGE).toBe(0);
        expect(p.contains(r.start) && p.contains(r.start + r.pages * PAGE - 1)).toBe(true);
      }
      expect(a.pages).toBe(3);
      expect(b.pages).toBe(1);
      expect(b.start >= a.start + 3 * PAGE || b.start + PAGE <= a.start).toBe(true);
      expect(p.freePages).toBe(60);
      p.free(a.start + PAGE, 2); // part of a run
      p.free(a.start, 1);
      p.free(b.start, 1);
      expect(p.freePages).toBe(64);
      expect(p.alloc(64, 64)).toEqual({ start: 0x40_0000, pages: 64 });
      expect(p.alloc(1, 1)).toBeNull();
    });

    it("reserves every page a byte range touches, clipped to the range", () => {
      const p = fresh();
      p.reserveBytes({ start: 0x40_0ffc, length: 8 }); // touches pages 0 and 1
      p.reserveBytes({ start: 0, length: 0x40_0000 }); // entirely below: nothing
      p.reserveBytes({ start: 0x40_0000 + 63 * PAGE, length: 16 * PAGE }); // clipped to page 63
      expect(p.freePages).toBe(61);
      const all: number[] = [];
      for (let r = p.alloc(1, 1); r !== null; r = p.alloc(1, 1)) all.push(r.start);
      expect(all).not.toContain(0x40_0000);
      expect(all).not.toContain(0x40_1000);
      expect(all).not.toContain(0x40_0000 + 63 * PAGE);
      expect(all).toHaveLength(61);
    });

    it("reserves nothing for an empty byte range, aligned or not", () => {
      const p = fresh();
      // An empty range touches no byte, so no page: rounding its unaligned start down and
      // its end up would make it a whole page.
      p.reserveBytes({ start: 0x40_0123, length: 0 });
      p.reserveBytes({ start: 0x40_5000, length: 0 });
      expect(p.freePages).toBe(64);
      expect(p.alloc(64, 64)).toEqual({ start: 0x40_0000, pages: 64 });
    });

    it("refuses bad calls with a code, names the address in hex, and changes nothing", () => {
      const p = fresh();
      const a = p.alloc(2, 2)!;
      const free = p.freePages;
      const cases: [() => unknown, string, RegExp | null][] = [
        [() => p.alloc(0, 1), "E_BAD_ARGUMENT", null],
        [() => p.alloc(2, 1), "E_BAD_ARGUMENT", null],
        [() => p.alloc(1.5, 2), "E_BAD_ARGUMENT", null],
        [() => p.free(a.start + 4, 1), "E_UNALIGNED", /0x0040[0-9a-f]{2}04/i],
        [() => p.free(0x100_0000, 1), "E_FOREIGN", /0x01000000/i],
        [() => p.free(0x40_0000 + 63 * PAGE, 2), "E_FOREIGN", /0x0043f000/i],
        [() => p.free(a.start, 0), "E_BAD_ARGUMENT", null],
      ];
      for (const [call, code, names] of cases) {
        let err: unknown;
        try {
          call();
        } catch (e) {
          err = e;
        }
        expect(err, code).toBeInstanceOf(Error);
        expect((err as { code?: unknown }).code).toBe(code);
        if (names) expect((err as Error).message).toMatch(names);
        expect(p.freePages).toBe(free);
      }
      p.free(a.start, 2);
      expect(codeOf(() => p.free(a.start, 1))).toBe("E_DOUBLE_FREE");
      let message = "";
      try {
        p.free(a.start + PAGE, 1);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain(`0x${(a.start + PAGE).toString(16).padStart(8, "0")}`);
      expect(p.freePages).toBe(64);
    });

    it(
      "agrees with a model of held pages on long random sequences",
      () => {
        fc.assert(
          fc.property(
            // No minimum length, so a failure shrinks to its few steps; "max" size keeps most runs long.
            fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 9 }), fc.nat()), {
              maxLength: 200,
              size: "max",
            }),
            (ops) => {
              const p = fresh();
              const held: { start: number; pages: number }[] = [];
              const owner = new Map<number, number>();
              for (const [alloc, n, pick] of ops) {
                if (alloc || held.length === 0) {
                  const r = p.alloc(1, n);
                  if (r === null) {
                    expect(p.freePages).toBe(64 - owner.size);
                    continue;
                  }
                  expect(r.pages >= 1 && r.pages <= n).toBe(true);
                  for (let i = 0; i < r.pages; i++) {
                    const page = r.start + i * PAGE;
                    expect(owner.has(page), `page ${page.toString(16)} handed out twice`).toBe(
                      false,
                    );
                    expect(p.contains(page)).toBe(true);
                    owner.set(page, 1);
                  }
                  held.push(r);
                } else {
                  const [r] = held.splice(pick % held.length, 1);
                  p.free(r!.start, r!.pages);
                  for (let i = 0; i < r!.pages; i++) owner.delete(r!.start + i * PAGE);
                }
                expect(p.freePages).toBe(64 - owner.size);
              }
            },
          ),
          { numRuns: propertyRuns(30, 30) },
        );
      },
      DEEP_TIMEOUT,
    );
  });
}
