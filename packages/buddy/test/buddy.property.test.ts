/**
 * Long random sequences of alloc / allocOrder / free (whole, in pieces, bad) /
 * reserve, checked after every step against a trivial model (one state per
 * unit) and the invariant checker.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BLOCK_KIND, BuddyAllocator, BuddyError } from "../src/index.js";

const FREE = 0;
const USED = 1;
const RESV = 2;

interface Model {
  state: Uint8Array;
  ever: Uint8Array;
  /** Live allocations: [offset, length]. */
  live: [number, number][];
}

type Op =
  | { kind: "alloc"; n: number }
  | { kind: "allocOrder"; k: number }
  | { kind: "free"; pick: number; from: number; len: number }
  | { kind: "reserve"; at: number; len: number }
  | { kind: "badFree"; at: number; len: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("alloc" as const),
      n: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 70 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("allocOrder" as const),
      k: fc.integer({ min: 0, max: 6 }),
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
      at: fc.nat({ max: 300 }),
      len: fc.integer({ min: 1, max: 12 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("badFree" as const),
      at: fc.nat({ max: 300 }),
      len: fc.integer({ min: 1, max: 12 }),
    }),
  },
);

/** Is there an aligned run of 2^k free units in the model? (Full coalescing promises a block then.) */
function alignedFreeRun(m: Model, k: number, count: number): boolean {
  const size = 1 << k;
  outer: for (let a = 0; a + size <= count; a += size) {
    for (let i = a; i < a + size; i++) if (m.state[i] !== FREE) continue outer;
    return true;
  }
  return false;
}

function expectSame(b: BuddyAllocator, m: Model): void {
  const seen = new Uint8Array(b.count);
  for (const blk of b.blocks()) {
    const s = blk.kind === BLOCK_KIND.FREE ? FREE : blk.kind === BLOCK_KIND.ALLOCATED ? USED : RESV;
    seen.fill(s, blk.start - b.base, blk.start - b.base + (1 << blk.order));
  }
  expect(Buffer.from(seen).equals(Buffer.from(m.state))).toBe(true);
  const count = (s: number) => m.state.reduce((a, x) => a + (x === s ? 1 : 0), 0);
  const st = b.stats;
  expect([st.free, st.allocated, st.reserved]).toEqual([count(FREE), count(USED), count(RESV)]);
}

function run(count: number, base: number, ops: Op[]): void {
  const b = new BuddyAllocator({ base, count, maxOrder: 6 });
  const m: Model = { state: new Uint8Array(count), ever: new Uint8Array(count), live: [] };
  for (const o of ops) {
    const before = b.dump();
    switch (o.kind) {
      case "alloc":
      case "allocOrder": {
        const n = o.kind === "alloc" ? o.n : 1 << o.k;
        if (n > 64) {
          expect(() => b.alloc(n)).toThrow(/E_TOO_LARGE/);
          break;
        }
        const got = o.kind === "alloc" ? b.alloc(n) : b.allocOrder(o.k);
        const k = Math.ceil(Math.log2(n));
        if (got === null) {
          expect(alignedFreeRun(m, k, count)).toBe(false);
          expect(b.dump()).toBe(before);
        } else {
          const at = got - base;
          expect(at % (1 << k)).toBe(0); // aligned to the block it came from
          for (let i = at; i < at + n; i++) expect(m.state[i]).toBe(FREE);
          m.state.fill(USED, at, at + n);
          m.ever.fill(1, at, at + n);
          m.live.push([at, n]);
        }
        break;
      }
      case "free": {
        if (m.live.length === 0) break;
        const idx = o.pick % m.live.length;
        const [at, n] = m.live[idx]!;
        const from = o.from % n;
        const len = 1 + (o.len % (n - from));
        b.free(base + at + from, len);
        m.state.fill(FREE, at + from, at + from + len);
        // Whatever is left of that allocation stays live, as up to two pieces.
        const pieces: [number, number][] = [];
        if (from > 0) pieces.push([at, from]);
        if (from + len < n) pieces.push([at + from + len, n - from - len]);
        m.live.splice(idx, 1, ...pieces);
        break;
      }
      case "reserve": {
        const at = Math.min(o.at, count - 1);
        const len = Math.min(o.len, count - at);
        const clash = m.state.subarray(at, at + len).some((s) => s === USED);
        if (clash) {
          expect(() => b.reserve(base + at, len)).toThrow(/E_OVERLAPS_ALLOCATION/);
          expect(b.dump()).toBe(before);
        } else {
          b.reserve(base + at, len);
          m.state.fill(RESV, at, at + len);
        }
        break;
      }
      case "badFree": {
        const at = Math.min(o.at, count - 1);
        const len = Math.min(o.len, count - at);
        let bad = -1;
        for (let i = at; i < at + len; i++) {
          if (m.state[i] !== USED) {
            bad = i;
            break;
          }
        }
        if (bad < 0) break; // all allocated: a legal free, not what this op is for
        const code =
          m.state[bad] === RESV
            ? "E_NOT_ALLOCATED"
            : m.ever[bad]
              ? "E_DOUBLE_FREE"
              : "E_NOT_ALLOCATED";
        try {
          b.free(base + at, len);
          throw new Error("free should have been refused");
        } catch (e) {
          expect(e).toBeInstanceOf(BuddyError);
          expect((e as BuddyError).code).toBe(code);
        }
        expect(b.dump()).toBe(before);
        break;
      }
    }
    b.check();
    expectSame(b, m);
  }
  // Free everything that is live: all that is not reserved coalesces back.
  for (const [at, n] of m.live) b.free(base + at, n);
  b.check();
  expect(b.stats.allocated).toBe(0);
}

describe("BuddyAllocator against a model", () => {
  it("agrees on random sequences over odd-sized ranges", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: -1000, max: 1000 }),
        fc.array(op, { minLength: 20, maxLength: 200, size: "max" }),
        (count, base, ops) => run(count, base, ops),
      ),
      { numRuns: 200 },
    );
  });
});
