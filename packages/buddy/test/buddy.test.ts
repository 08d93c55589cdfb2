import { expectCode } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { BLOCK_KIND, BuddyAllocator, BuddyError } from "../src/index.js";

const { FREE: F, ALLOCATED: A, RESERVED: R } = BLOCK_KIND;
const shape = (b: BuddyAllocator) => b.blocks().map((x) => [x.start - b.base, x.order, x.kind]);

const refused = (f: () => unknown, code: string, message?: RegExp) =>
  void expectCode(f, code, { type: BuddyError, message });

describe("BuddyAllocator, hand-worked examples", () => {
  it("partitions any count into the largest aligned blocks", () => {
    const b = new BuddyAllocator({ base: 100, count: 13, maxOrder: 3 });
    expect(shape(b)).toEqual([
      [0, 3, F],
      [8, 2, F],
      [12, 0, F],
    ]);
    b.check();
  });

  it("follows the picture in the module comment", () => {
    const b = new BuddyAllocator({ base: 100, count: 13, maxOrder: 3 });
    expect(b.alloc(3)).toBe(108);
    b.reserve(104, 1);
    expect(shape(b)).toEqual([
      [0, 2, F],
      [4, 0, R],
      [5, 0, F],
      [6, 1, F],
      [8, 1, A],
      [10, 0, A],
      [11, 0, F],
      [12, 0, F],
    ]);
    expect(b.stats).toEqual({ free: 9, allocated: 3, reserved: 1, largestFree: 4 });
    b.check();
    b.free(108, 3);
    expect(shape(b)).toEqual([
      [0, 2, F],
      [4, 0, R],
      [5, 0, F],
      [6, 1, F],
      [8, 2, F],
      [12, 0, F],
    ]);
    b.check();
  });

  it("splits a block down and coalesces it back", () => {
    const b = new BuddyAllocator({ base: 0, count: 16 });
    expect(b.allocOrder(0)).toBe(0);
    expect(shape(b)).toEqual([
      [0, 0, A],
      [1, 0, F],
      [2, 1, F],
      [4, 2, F],
      [8, 3, F],
    ]);
    b.freeOrder(0, 0);
    expect(shape(b)).toEqual([[0, 4, F]]);
  });

  it("frees a run of 8 as 3 + 5, or unit by unit, and coalesces when all is free", () => {
    for (const pieces of [
      [3, 5],
      [5, 3],
      [1, 1, 1, 1, 1, 1, 1, 1],
      [2, 1, 4, 1],
    ]) {
      const b = new BuddyAllocator({ base: 0, count: 64 });
      const start = b.alloc(8)!;
      let at = start;
      for (const n of pieces) {
        b.free(at, n);
        b.check();
        at += n;
      }
      expect(shape(b)).toEqual([[0, 6, F]]);
    }
  });

  it("gives the tail of an exact-size allocation straight back", () => {
    const b = new BuddyAllocator({ base: 0, count: 16 });
    expect(b.alloc(5)).toBe(0);
    expect(b.stats.allocated).toBe(5);
    expect(b.stats.free).toBe(11);
    expect(b.alloc(3)).toBe(5 + 3); // [8,12) is the smallest block of 4; 5..7 are too small pieces
    b.check();
  });

  it("frees across two adjacent allocations at once", () => {
    const b = new BuddyAllocator({ base: 0, count: 16 });
    const x = b.alloc(4)!;
    const y = b.alloc(4)!;
    expect(y).toBe(x + 4);
    b.free(x + 2, 4);
    expect(b.isAllocated(x, 2)).toBe(true);
    expect(b.isAllocated(x + 6, 2)).toBe(true);
    expect(b.stats.allocated).toBe(4);
    b.check();
  });

  it("reserves before and after allocation started, never over an allocation", () => {
    const b = new BuddyAllocator({ base: 0x1000, count: 256 });
    b.reserve(0x1000, 16); // before
    const a = b.alloc(32)!;
    expect(a).toBeGreaterThanOrEqual(0x1010);
    b.reserve(0x10f0, 16); // after
    refused(() => b.reserve(a + 31, 2), "E_OVERLAPS_ALLOCATION", /0x/);
    b.reserve(0x1000, 8); // already reserved: nothing changes
    expect(b.stats.reserved).toBe(32);
    refused(() => b.free(0x1000, 1), "E_NOT_ALLOCATED", /reserved/);
    b.check();
  });

  it("returns null when exhausted, and recovers", () => {
    const b = new BuddyAllocator({ base: 0, count: 5 });
    expect(b.alloc(4)).toBe(0);
    expect(b.alloc(2)).toBeNull();
    expect(b.alloc(1)).toBe(4);
    expect(b.allocOrder(0)).toBeNull();
    b.free(0, 4);
    expect(b.alloc(2)).toBe(0);
  });

  it("prints a readable dump", () => {
    const b = new BuddyAllocator({ base: 0x100, count: 8 });
    b.alloc(1);
    expect(b.dump()).toBe(
      [
        "buddy [0x100, 0x108) maxOrder 3: 7 free, 1 allocated, 0 reserved",
        "free lists:",
        "  order  0 (1 units): 0x101",
        "  order  1 (2 units): 0x102",
        "  order  2 (4 units): 0x104",
        "blocks:",
        "       0x100 +1       allocated order 0",
        "       0x101 +1       free      order 0",
        "       0x102 +2       free      order 1",
        "       0x104 +4       free      order 2",
      ].join("\n"),
    );
  });
});

describe("BuddyAllocator refuses bad calls and stays as it was", () => {
  const setup = () => {
    const b = new BuddyAllocator({ base: 0x40, count: 64 });
    const x = b.alloc(8)!; // 0x40
    const y = b.allocOrder(2)!; // 0x48
    b.free(y, 4);
    return { b, x, y };
  };
  it.each([
    ["double free", (s: ReturnType<typeof setup>) => s.b.free(s.y, 4), "E_DOUBLE_FREE", /0x48/],
    [
      "freeing what was never allocated",
      (s: ReturnType<typeof setup>) => s.b.free(0x70, 1),
      "E_NOT_ALLOCATED",
      /0x70/,
    ],
    [
      "a free that runs into free units",
      (s: ReturnType<typeof setup>) => s.b.free(s.x + 4, 8),
      "E_DOUBLE_FREE",
      /0x48/,
    ],
    ["out of range", (s: ReturnType<typeof setup>) => s.b.free(0x3f, 2), "E_OUT_OF_RANGE", /0x3f/],
    ["past the end", (s: ReturnType<typeof setup>) => s.b.free(0x7f, 2), "E_OUT_OF_RANGE", /0x81/],
    [
      "misaligned freeOrder",
      (s: ReturnType<typeof setup>) => s.b.freeOrder(s.x + 2, 2),
      "E_MISALIGNED",
      /0x42/,
    ],
    [
      "wrong-sized freeOrder",
      (s: ReturnType<typeof setup>) => s.b.freeOrder(s.x, 2),
      "E_WRONG_SIZE",
      /order 3/,
    ],
    [
      "zero units",
      (s: ReturnType<typeof setup>) => s.b.free(s.x, 0),
      "E_BAD_ARGUMENT",
      /unit count 0/,
    ],
    [
      "a fractional start",
      (s: ReturnType<typeof setup>) => s.b.free(1.5, 1),
      "E_BAD_ARGUMENT",
      /1.5/,
    ],
    ["too large", (s: ReturnType<typeof setup>) => s.b.alloc(65), "E_TOO_LARGE", /65 units/],
    [
      "a bad order",
      (s: ReturnType<typeof setup>) => s.b.allocOrder(7),
      "E_BAD_ARGUMENT",
      /order 7/,
    ],
  ])("%s", (_name, call, code, message) => {
    const s = setup();
    const before = s.b.dump();
    refused(() => call(s), code, message);
    expect(s.b.dump()).toBe(before);
    s.b.check();
  });

  it.each([
    [{ base: 0, count: 0 }, /count 0/],
    [{ base: 0.5, count: 4 }, /base 0.5/],
    [{ base: 0, count: 4, maxOrder: 31 }, /maxOrder 31/],
    [{ base: 0, count: 2 ** 29 }, /count 536870912/],
  ])("refuses the options %o", (options, message) => {
    expect(() => new BuddyAllocator(options)).toThrow(message);
  });

  it("catches a corrupted structure", () => {
    const b = new BuddyAllocator({ base: 0, count: 8 });
    b.alloc(1);
    (b as unknown as { meta: Int8Array }).meta[2 * 2] = -1; // lose the tag of block [2, 4)
    expect(() => b.check()).toThrow(/E_INVARIANT/);
  });
});

describe("BuddyAllocator counters, odd and large ranges", () => {
  it("keeps the counters through allocOrder and freeOrder (hand-counted)", () => {
    const b = new BuddyAllocator({ base: 0x200, count: 64 });
    const x = b.allocOrder(3)!; // 8 units
    const y = b.allocOrder(0)!; // 1 unit
    const z = b.allocOrder(4)!; // 16 units
    expect(b.stats).toEqual({ free: 39, allocated: 25, reserved: 0, largestFree: 32 });
    b.freeOrder(x, 3);
    expect(b.stats).toEqual({ free: 47, allocated: 17, reserved: 0, largestFree: 32 });
    expect(b.unitsFree).toBe(47);
    b.freeOrder(z, 4);
    b.freeOrder(y, 0);
    expect(b.stats).toEqual({ free: 64, allocated: 0, reserved: 0, largestFree: 64 });
    expect(shape(b)).toEqual([[0, 6, F]]);
    b.check();
  });

  it("hands out every unit of a non-power-of-two range once, and coalesces back to the start", () => {
    for (const count of [1, 2, 3, 5, 7, 12, 13, 31, 33, 63, 100, 255, 257, 1000]) {
      const b = new BuddyAllocator({ base: -7, count });
      const initial = shape(b);
      const got: number[] = [];
      for (let u = b.allocOrder(0); u !== null; u = b.allocOrder(0)) got.push(u);
      // Every unit exactly once, and nothing left.
      expect([...got].sort((p, q) => p - q)).toEqual(
        Array.from({ length: count }, (_, i) => i - 7),
      );
      expect(b.stats).toEqual({ free: 0, allocated: count, reserved: 0, largestFree: 0 });
      // Free in a scrambled order (Fisher-Yates with a fixed LCG).
      let seed = count;
      for (let i = got.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        const j = seed % (i + 1);
        [got[i], got[j]] = [got[j]!, got[i]!];
      }
      for (const u of got) b.freeOrder(u, 0);
      expect(shape(b)).toEqual(initial);
      b.check();
    }
  });

  it("never merges past the end of an odd range", () => {
    // [0..8) order 3 and [8..12) order 2: the buddy of [8..12) would start at 12 = count.
    const b = new BuddyAllocator({ base: 0, count: 12 });
    expect(b.allocOrder(2)).toBe(8);
    b.freeOrder(8, 2);
    expect(shape(b)).toEqual([
      [0, 3, F],
      [8, 2, F],
    ]);
    b.check();
  });

  it("works over 3 * 2^20 + 5 units", () => {
    const count = 3 * 2 ** 20 + 5;
    const b = new BuddyAllocator({ base: 2 ** 40, count });
    expect(b.maxOrder).toBe(21);
    // 3 * 2^20 + 5 = 2^21 + 2^20 + 4 + 1
    expect(shape(b)).toEqual([
      [0, 21, F],
      [2 ** 21, 20, F],
      [3 * 2 ** 20, 2, F],
      [3 * 2 ** 20 + 4, 0, F],
    ]);
    const big = b.allocOrder(21)!;
    const mid = b.alloc(2 ** 20)!;
    expect([big, mid]).toEqual([2 ** 40, 2 ** 40 + 2 ** 21]);
    expect(b.allocOrder(20)).toBeNull();
    b.reserve(2 ** 40 + 3 * 2 ** 20, 5);
    expect(b.stats).toEqual({ free: 0, allocated: 3 * 2 ** 20, reserved: 5, largestFree: 0 });
    b.free(big + 12345, 1000);
    expect(b.stats.free).toBe(1000);
    expect(b.isAllocated(big + 12344, 1)).toBe(true);
    expect(b.isAllocated(big + 12345, 1)).toBe(false);
    b.free(big, 12345);
    b.free(big + 13345, 2 ** 21 - 13345);
    b.freeOrder(mid, 20);
    expect(b.stats).toEqual({ free: 3 * 2 ** 20, allocated: 0, reserved: 5, largestFree: 2 ** 21 });
    b.check();
  });

  it("reserves between allocations, then frees around the hole without merging over it", () => {
    const b = new BuddyAllocator({ base: 0, count: 32 });
    const a = b.alloc(8)!;
    const c = b.alloc(8)!;
    expect([a, c]).toEqual([0, 8]);
    b.free(c, 8);
    b.reserve(10, 2);
    refused(() => b.free(10, 1), "E_NOT_ALLOCATED", /reserved/);
    refused(() => b.freeOrder(10, 1), "E_NOT_ALLOCATED", /reserved/);
    b.free(a, 8);
    expect(shape(b)).toEqual([
      [0, 3, F],
      [8, 1, F],
      [10, 1, R],
      [12, 2, F],
      [16, 4, F],
    ]);
    expect(b.stats).toEqual({ free: 30, allocated: 0, reserved: 2, largestFree: 16 });
    // The hole stays a hole: the largest run left is on either side of it.
    expect(b.alloc(16)).toBe(16);
    expect(b.alloc(16)).toBeNull();
    expect(b.alloc(8)).toBe(0);
    b.check();
  });

  it("tells a double freeOrder from a never-allocated one, and leaves the counters alone", () => {
    const b = new BuddyAllocator({ base: 0x1000, count: 16 });
    const x = b.allocOrder(2)!;
    b.freeOrder(x, 2);
    const before = b.dump();
    refused(() => b.freeOrder(x, 2), "E_DOUBLE_FREE", /0x1000/);
    refused(() => b.freeOrder(x + 2, 1), "E_DOUBLE_FREE", /0x1002/);
    refused(() => b.freeOrder(x + 8, 2), "E_NOT_ALLOCATED", /0x1008/);
    refused(() => b.freeOrder(x, 1.5), "E_BAD_ARGUMENT", /order 1.5/);
    refused(() => b.freeOrder(x, 5), "E_BAD_ARGUMENT", /order 5/);
    refused(() => b.freeOrder(x + 0.5, 0), "E_BAD_ARGUMENT", /0x1000.8|4096.5/);
    refused(() => b.freeOrder(x + 16, 0), "E_OUT_OF_RANGE", /0x1010/);
    expect(b.dump()).toBe(before);
    expect(b.stats.allocated).toBe(0);
    b.check();
  });

  it("refuses non-numbers as typed errors", () => {
    const b = new BuddyAllocator({ base: 0, count: 16 });
    const bad = [undefined, null, "1", 1n, NaN, Infinity, -1, 2 ** 32] as unknown[];
    for (const v of bad) {
      refused(() => b.allocOrder(v as number), "E_BAD_ARGUMENT");
      refused(() => b.freeOrder(0, v as number), "E_BAD_ARGUMENT");
      if (typeof v !== "number" || !Number.isFinite(v))
        refused(() => b.freeOrder(v as number, 0), "E_BAD_ARGUMENT");
    }
    expect(b.stats.free).toBe(16);
    b.check();
  });
});

describe("freeOrder's fast path lets nothing through that the checks refuse", () => {
  it("refuses a fractional start whose distance to base rounds to a whole number", () => {
    // 1e-20 - (-5) is 5 in doubles: the offset alone cannot tell this start from -0 + 5.
    const b = new BuddyAllocator({ base: -5, count: 8 });
    expect(b.allocOrder(0)).toBe(-5);
    for (let i = 0; i < 7; i++) b.allocOrder(0);
    const before = b.dump();
    refused(() => b.freeOrder(1e-20, 0), "E_BAD_ARGUMENT", /1e-20/);
    refused(() => b.freeOrder(-5 + 2 ** -40, 0), "E_BAD_ARGUMENT");
    expect(b.dump()).toBe(before);
  });

  it("refuses a start past 2^53 next to a range that ends at the last safe integer", () => {
    const base = Number.MAX_SAFE_INTEGER - 8;
    const b = new BuddyAllocator({ base, count: 8 });
    for (let i = 0; i < 8; i++) b.allocOrder(0);
    refused(() => b.freeOrder(2 ** 53, 0), "E_BAD_ARGUMENT", /start/);
    refused(() => b.freeOrder(2 ** 53 + 2, 0), "E_BAD_ARGUMENT", /start/);
    b.freeOrder(base + 7, 0);
    expect(b.stats.allocated).toBe(7);
  });

  it("refuses orders that would alias another tag (negative, 32 and up)", () => {
    const b = new BuddyAllocator({ base: 0, count: 64 });
    b.reserve(8, 8); // a reserved block of order 3 at 8: tag RESERVED + 3
    const x = b.allocOrder(3)!; // an allocated block of order 3 at 0
    // 32 + k would be the tag of the free block at 16 for k = -28, of the reserved block at 8 for k = 35.
    for (const k of [-32, -28, -1, 35, 67, 2 ** 32 + 3]) {
      refused(() => b.freeOrder(0, k), "E_BAD_ARGUMENT", /order/);
      refused(() => b.freeOrder(8, k), "E_BAD_ARGUMENT", /order/);
      refused(() => b.freeOrder(16, k), "E_BAD_ARGUMENT", /order/);
    }
    b.freeOrder(x, 3);
    b.check();
  });
});
