/**
 * Hand-worked cases for what mutation testing showed no test noticed
 * (docs/quality.md, "Survivors worth a test"): counters after freeOrder,
 * isAllocated on free and reserved units, the top free list, the
 * constructor's bounds, and the addresses that error messages name.
 */
import { expectCode } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { BLOCK_KIND, BuddyAllocator, BuddyError } from "../src/index.js";

const { FREE, ALLOCATED, RESERVED } = BLOCK_KIND;
const hex = (n: number) => `0x${n.toString(16)}`;

describe("freeOrder keeps the counters", () => {
  it("gives back exactly 2^k units: allocated returns to 0 and check() agrees", () => {
    const b = new BuddyAllocator({ base: 100, count: 16 });
    const a = b.allocOrder(2)!;
    expect(b.stats).toMatchObject({ free: 12, allocated: 4, reserved: 0 });
    b.freeOrder(a, 2);
    expect(b.stats).toEqual({ free: 16, allocated: 0, reserved: 0, largestFree: 16 });
    expect(() => b.check()).not.toThrow();
    expect(b.blocks()).toEqual([{ start: 100, order: 4, kind: FREE }]);
  });

  it("keeps the other allocations counted", () => {
    const b = new BuddyAllocator({ base: 0, count: 16 });
    const x = b.allocOrder(1)!;
    const y = b.allocOrder(2)!;
    b.freeOrder(x, 1);
    expect(b.stats).toMatchObject({ free: 12, allocated: 4 });
    expect(b.isAllocated(y, 4)).toBe(true);
    b.check();
  });
});

describe("isAllocated", () => {
  it("is false as soon as one unit of the range is free or reserved", () => {
    const b = new BuddyAllocator({ base: 0, count: 8 });
    const a = b.allocOrder(1)!; // two units
    const free = b.blocks().find((x) => x.kind === FREE)!.start;
    expect(b.isAllocated(a, 2)).toBe(true);
    expect(b.isAllocated(free)).toBe(false);
    b.reserve(free, 1);
    expect(b.blocks().some((x) => x.kind === RESERVED && x.start === free)).toBe(true);
    expect(b.isAllocated(free)).toBe(false);
    // A range that starts allocated and runs into free units.
    const next = a + 2 < 8 ? a + 2 : a - 1;
    expect(b.isAllocated(Math.min(a, next), 3)).toBe(false);
  });
});

describe("freeLists", () => {
  it("lists every order up to maxOrder, the top one included", () => {
    const b = new BuddyAllocator({ base: 10, count: 8 });
    expect(b.maxOrder).toBe(3);
    expect(b.freeLists()).toEqual([[], [], [], [10]]);
    const a = b.allocOrder(3)!;
    expect(b.freeLists()).toEqual([[], [], [], []]);
    b.freeOrder(a, 3);
    expect(b.freeLists()[3]).toEqual([10]);
  });
});

describe("constructor bounds", () => {
  it("takes maxOrder 0 and 30, refuses -1, 31 and a range past 2^53", () => {
    expect(new BuddyAllocator({ base: 0, count: 4, maxOrder: 0 }).blocks()).toEqual(
      [0, 1, 2, 3].map((start) => ({ start, order: 0, kind: FREE })),
    );
    expect(new BuddyAllocator({ base: 0, count: 8, maxOrder: 30 }).maxOrder).toBe(30);
    for (const maxOrder of [-1, 31])
      expectCode(() => new BuddyAllocator({ base: 0, count: 8, maxOrder }), "E_BAD_ARGUMENT", {
        type: BuddyError,
        message: new RegExp(`maxOrder ${maxOrder} `),
      });
    expectCode(() => new BuddyAllocator({ base: 2 ** 53 - 4, count: 8 }), "E_BAD_ARGUMENT", {
      type: BuddyError,
      message: /passes the safe integers/,
    });
  });
});

describe("error messages name the right unit", () => {
  const base = 0x100;
  it("freeOrder of the wrong size names the block it hit", () => {
    const b = new BuddyAllocator({ base, count: 16 });
    const a = b.allocOrder(2)!;
    expectCode(() => b.freeOrder(a, 1), "E_WRONG_SIZE", {
      type: BuddyError,
      message: new RegExp(`order 2 at ${hex(a)},`),
    });
  });

  it("a free of a reserved or never-allocated unit names that unit", () => {
    const b = new BuddyAllocator({ base, count: 16 });
    b.reserve(base + 5, 1);
    expectCode(() => b.free(base + 4, 2), "E_NOT_ALLOCATED", {
      type: BuddyError,
      message: new RegExp(
        `\\[${hex(base + 4)}, ${hex(base + 6)}\\): unit ${hex(base + 4)} was never allocated`,
      ),
    });
    expectCode(() => b.free(base + 5, 1), "E_NOT_ALLOCATED", {
      type: BuddyError,
      message: new RegExp(`unit ${hex(base + 5)} is reserved`),
    });
  });

  it("a reserve over an allocation names where the allocation starts", () => {
    const b = new BuddyAllocator({ base, count: 16 });
    const a = b.allocOrder(2)!;
    const from = a === base ? base : a - 1;
    expectCode(() => b.reserve(from, 3), "E_OVERLAPS_ALLOCATION", {
      type: BuddyError,
      message: new RegExp(`units from ${hex(a)} are allocated`),
    });
    expect(b.blocks().filter((x) => x.kind === ALLOCATED)).toEqual([
      { start: a, order: 2, kind: ALLOCATED },
    ]);
  });

  it("an out-of-range call names the range it manages", () => {
    const b = new BuddyAllocator({ base, count: 16 });
    expectCode(() => b.free(base + 16, 1), "E_OUT_OF_RANGE", {
      type: BuddyError,
      message: new RegExp(`outside \\[${hex(base)}, ${hex(base + 16)}\\)`),
    });
  });
});
