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
    (b as unknown as { kind: Uint8Array }).kind[2] = 0; // lose the head of block [2, 4)
    expect(() => b.check()).toThrow(/E_INVARIANT/);
  });
});
