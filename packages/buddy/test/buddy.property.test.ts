/**
 * Long random sequences of alloc / allocOrder / free (whole, in pieces, bad) /
 * freeOrder (good and bad) / reserve, checked after every step against a
 * trivial model (one state per unit, and the unit counters it implies) and
 * the invariant checker. `MM386_DEEP=1` runs many more sequences.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BLOCK_KIND, BuddyAllocator, BuddyError } from "../src/index.js";

const DEEP = process.env.MM386_DEEP === "1";

const FREE = 0;
const USED = 1;
const RESV = 2;

interface Model {
  state: Uint8Array;
  ever: Uint8Array;
  /** Live allocations: [offset, length, order if it is one whole block else -1]. */
  live: [number, number, number][];
}

type Op =
  | { kind: "alloc"; n: number }
  | { kind: "allocOrder"; k: number }
  | { kind: "free"; pick: number; from: number; len: number }
  | { kind: "reserve"; at: number; len: number }
  | { kind: "badFree"; at: number; len: number }
  | { kind: "freeOrder"; pick: number }
  | { kind: "badFreeOrder"; at: number; k: number };

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
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("freeOrder" as const), pick: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("badFreeOrder" as const),
      at: fc.nat({ max: 300 }),
      k: fc.integer({ min: 0, max: 7 }),
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
          // A power of two is one whole block: freeOrder may free it.
          m.live.push([at, n, (n & (n - 1)) === 0 ? k : -1]);
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
        const pieces: [number, number, number][] = [];
        if (from > 0) pieces.push([at, from, -1]);
        if (from + len < n) pieces.push([at + from + len, n - from - len, -1]);
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
      case "freeOrder": {
        const blocks = m.live.filter((x) => x[2] >= 0);
        if (blocks.length === 0) break;
        const entry = blocks[o.pick % blocks.length]!;
        const [at, n, k] = entry;
        b.freeOrder(base + at, k);
        m.state.fill(FREE, at, at + n);
        m.live.splice(m.live.indexOf(entry), 1);
        break;
      }
      case "badFreeOrder": {
        // What the model says freeOrder(at, k) must answer; a legal call is skipped.
        const at = Math.min(o.at, count - 1);
        const { k } = o;
        const owner = m.live.find(([a, n]) => a <= at && at < a + n);
        let code: string;
        if (k > 6) code = "E_BAD_ARGUMENT";
        else if (at + (1 << k) > count) code = "E_OUT_OF_RANGE";
        else if (at % (1 << k) !== 0) code = "E_MISALIGNED";
        else if (m.state[at] === RESV) code = "E_NOT_ALLOCATED";
        else if (m.state[at] === FREE) code = m.ever[at] ? "E_DOUBLE_FREE" : "E_NOT_ALLOCATED";
        else if (owner && owner[2] >= 0 && (owner[0] !== at || owner[2] !== k))
          code = "E_WRONG_SIZE";
        else break; // a legal free, or a unit whose block shape the model does not know
        try {
          b.freeOrder(base + at, k);
          throw new Error(`freeOrder(${at}, ${k}) should have been refused with ${code}`);
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
  it(
    "agrees on random sequences over odd-sized ranges",
    () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 300 }),
          fc.integer({ min: -1000, max: 1000 }),
          fc.array(op, { minLength: 20, maxLength: 200, size: "max" }),
          (count, base, ops) => run(count, base, ops),
        ),
        { numRuns: DEEP ? 2000 : 40 },
      );
    },
    DEEP ? 600_000 : 30_000,
  );
});
