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
import { describe, expect, it } from "vitest";
import { type RangeAllocator, type RangeAllocatorFactory, UNIT_STATE } from "./api.js";

const { FREE, ALLOCATED, RESERVED } = UNIT_STATE;

/** Options of {@link describeRangeAllocatorConformance}. */
export interface RangeAllocatorConformanceOptions {
  /** Random operations per property run (default 150). */
  readonly operations?: number;
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" ? code : `no code: ${String(e)}`;
  }
  return undefined;
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

type Op =
  | { kind: "alloc"; min: number; extra: number }
  | { kind: "free"; pick: number; from: number; len: number }
  | { kind: "reserve"; at: number; len: number }
  | { kind: "badFree"; at: number; len: number };

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

    it("agrees with a model on long random sequences", () => {
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
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 200 }),
          fc.integer({ min: 0, max: 5000 }),
          fc.array(op, { minLength: 20, maxLength: options.operations ?? 150, size: "max" }),
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
                if (clash)
                  expect(codeOf(() => a.reserve(base + at, len))).toBe("E_OVERLAPS_ALLOCATION");
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
              expect(a.states()).toEqual(model);
              expect(a.freeUnits).toBe(model.reduce((n, s) => n + (s === FREE ? 1 : 0), 0));
              a.check();
            }
          },
        ),
        { numRuns: 100 },
      );
    });
  });
}
