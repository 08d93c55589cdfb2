/**
 * The invariant checker, shown to catch each kind of damage it claims to.
 *
 * Mutation testing found every `broken(...)` branch of `check()` surviving as
 * `false` (docs/quality.md, "Survivors worth a test"): no test ever handed it
 * a broken structure. Here each test builds a small allocator whose layout is
 * worked out by hand, checks that it is healthy, damages one thing in its
 * private arrays through a cast, and expects `E_INVARIANT` with the message
 * that names that damage (the message matters: with one branch disabled, a
 * later check usually still fails, but with another message).
 *
 * The layout most tests start from: `alloc(1)` on 8 units (maxOrder 3) pops
 * the order-3 block at offset 0 and splits it, pushing the upper halves:
 *
 * ```
 *  offset  0   1   2   3   4   5   6   7   8 (guard)
 *  tag    32   0   1  -1   2  -1  -1  -1  -1
 *          A   F  [F    ] [F             ]
 *  free lists: 0: [1]   1: [2]   2: [4]   3: []      mask 0b0111
 *  sentinel of list k: node count + k = 8 + k
 * ```
 *
 * The rest of the file covers other survivors cheaply: how error messages
 * name bad values (`show`, negative `hex`), which call an out-of-range
 * message names, the addresses in refusals, and the dump of a reserved block.
 */
import { expectCode } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { BLOCK_KIND, BuddyAllocator, BuddyError } from "../src/index.js";

/** The private state `check()` inspects (names from src/buddy.ts). */
interface Internals {
  meta: Int8Array;
  link: Int32Array;
  mask: number;
  allocatedUnits: number;
  reservedUnits: number;
}
const inside = (b: BuddyAllocator) => b as unknown as Internals;

/** A pattern matching exactly `text` (the whole message, nothing more). */
const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);

const broken = (b: BuddyAllocator, message: RegExp) =>
  void expectCode(() => b.check(), "E_INVARIANT", { type: BuddyError, message });

/** 8 units at 0x100 after `alloc(1)`: the layout in the module comment. */
function split8(): { b: BuddyAllocator; m: Internals } {
  const b = new BuddyAllocator({ base: 0x100, count: 8 });
  expect(b.alloc(1)).toBe(0x100);
  expect(b.freeLists()).toEqual([[0x101], [0x102], [0x104], []]);
  b.check(); // healthy before the damage
  return { b, m: inside(b) };
}

describe("check() passes a healthy allocator", () => {
  it("after allocs, frees, reserves and a full round trip", () => {
    const b = new BuddyAllocator({ base: -5, count: 13, maxOrder: 3 });
    b.check();
    const x = b.alloc(3)!;
    const y = b.allocOrder(0)!;
    b.reserve(-5 + 4, 1);
    b.check();
    b.free(x, 3);
    b.freeOrder(y, 0);
    b.check();
    // Unit 4 stays reserved, so [0, 8) cannot come back whole: the largest
    // free blocks are [0, 4) and [8, 12).
    expect(b.stats).toEqual({ free: 12, allocated: 0, reserved: 1, largestFree: 4 });
  });
});

describe("check() catches a broken partition", () => {
  it("a block head that lost its tag", () => {
    const { b, m } = split8();
    m.meta[2 << 1] = -1; // the order-1 block at offset 2 has no head any more
    broken(b, /offset 2 should start a block but has tag -1$/);
  });

  it("a tag beyond every kind (96 = reserved + 32)", () => {
    const { b, m } = split8();
    m.meta[0] = 96;
    broken(b, /offset 0 should start a block but has tag 96$/);
  });

  it("an order above maxOrder", () => {
    const b = new BuddyAllocator({ base: 0, count: 16, maxOrder: 2 }); // heads 0, 4, 8, 12
    b.check();
    inside(b).meta[0] = 3; // free, order 3: aligned and in range, but too big
    broken(b, /block at offset 0 has order 3$/);
  });

  it("a misaligned head", () => {
    const { b, m } = split8();
    m.meta[2 << 1] = 2; // offset 2 claims order 2 (4 units): 2 is not a multiple of 4
    broken(b, /block at offset 2 of order 2 is not aligned$/);
  });

  it("a block past the end", () => {
    // 6 units, maxOrder 2: [0, 4) order 2, [4, 6) order 1.
    const b = new BuddyAllocator({ base: 0, count: 6 });
    expect(b.blocks().map((x) => [x.start, x.order])).toEqual([
      [0, 2],
      [4, 1],
    ]);
    b.check();
    inside(b).meta[4 << 1] = 2; // [4, 8) would pass the end at 6
    broken(b, /block at offset 4 of order 2 runs past the end$/);
  });

  it("a head inside a block", () => {
    const b = new BuddyAllocator({ base: 0, count: 8 }); // one free block [0, 8)
    b.check();
    inside(b).meta[4 << 1] = 2;
    broken(b, /offset 4 is a head inside block 0$/);
  });

  it("two free buddies left uncoalesced", () => {
    const b = new BuddyAllocator({ base: 0x100, count: 8 });
    expect(b.allocOrder(2)).toBe(0x100); // [0, 4) allocated, [4, 8) free
    b.check();
    inside(b).meta[0] = 2; // [0, 4) now reads free, next to its free buddy [4, 8)
    broken(b, /free buddies at offsets 0 and 4 \(order 2\) were not coalesced$/);
  });

  it("the guard unit after the last one", () => {
    const { b, m } = split8();
    m.meta[8 << 1] = 0;
    broken(b, /the guard after the last unit is 0$/);
  });
});

describe("check() catches wrong counters", () => {
  it("allocated units", () => {
    const { b, m } = split8();
    m.allocatedUnits = 2;
    broken(b, /counters allocated 2, reserved 0 do not match the blocks \(1, 0\)$/);
  });

  it("reserved units", () => {
    const { b, m } = split8();
    m.reservedUnits = 1;
    broken(b, /counters allocated 1, reserved 1 do not match the blocks \(1, 0\)$/);
  });

  it("free units (the getter made to lie on this one instance)", () => {
    const { b } = split8();
    Object.defineProperty(b, "unitsFree", { value: 6 }); // the blocks hold 7
    broken(b, /free \+ allocated \+ reserved != count$/);
  });
});

describe("check() catches broken free lists", () => {
  it("a cycle", () => {
    const { b, m } = split8();
    m.link[4 << 1] = 4; // offset 4 (list 2, the last non-empty one) points at itself
    broken(b, /free list 2 has more entries than there are free blocks \(a cycle\?\)$/);
    // freeLists() still returns, bounded, instead of looping.
    const lists = b.freeLists();
    expect(lists[2]!.length).toBeGreaterThan(1);
    expect(lists[2]!.length).toBeLessThanOrEqual(b.count + 1);
  });

  it("an entry of the wrong order", () => {
    const { b, m } = split8();
    m.link[8 << 1] = 2; // list 0's first entry: the order-1 block at 2
    broken(b, /free list 0 holds offset 2, which is not a free block of order 0$/);
  });

  it("an allocated block on a list", () => {
    const { b, m } = split8();
    m.link[8 << 1] = 0; // offset 0 is allocated (tag 32)
    broken(b, /free list 0 holds offset 0, which is not a free block of order 0$/);
  });

  it.each([-3, 9])("an entry outside the units (%i)", (o) => {
    const { b, m } = split8();
    m.link[8 << 1] = o; // 9 is the sentinel of list 1
    broken(b, new RegExp(`free list 0 holds offset ${o}, which is not a free block of order 0$`));
  });

  it("a broken prev link", () => {
    const { b, m } = split8();
    m.link[(1 << 1) | 1] = 5; // offset 1's prev should be the sentinel 8
    broken(b, /free list 0: offset 1 has prev 5, expected 8$/);
  });

  it("a broken sentinel prev link", () => {
    const { b, m } = split8();
    m.link[(8 << 1) | 1] = 8; // should be the last entry, 1
    broken(b, /free list 0: the sentinel's prev is 8, expected 1$/);
  });

  it("a free block missing from its list", () => {
    const { b, m } = split8();
    // Unlink offset 1 cleanly (list 0 empty, mask bit 0 clear): only the count shows it.
    m.link[8 << 1] = 8;
    m.link[(8 << 1) | 1] = 8;
    m.mask = 0b0110;
    broken(b, /3 free blocks but 2 on the free lists$/);
  });
});

describe("check() catches a wrong non-empty mask", () => {
  it("a bit clear for a non-empty list", () => {
    const { b, m } = split8();
    m.mask = 0b0110;
    broken(b, /the non-empty mask 0x6 is wrong about free list 0$/);
  });

  it("a bit set for an empty list", () => {
    const { b, m } = split8();
    m.mask = 0b1111;
    broken(b, /the non-empty mask 0xf is wrong about free list 3$/);
  });

  it("a bit above maxOrder", () => {
    const { b, m } = split8();
    m.mask = 0b10111;
    broken(b, /the non-empty mask 0x17 has bits above order 3$/);
  });
});

describe("the other walks refuse a broken partition", () => {
  it("blocks() names the offset with no head", () => {
    const { b, m } = split8();
    m.meta[2 << 1] = -1;
    expectCode(() => b.blocks(), "E_INVARIANT", {
      type: BuddyError,
      message: /offset 2 should start a block$/,
    });
  });

  it("a lookup finds no block containing an offset", () => {
    const b = new BuddyAllocator({ base: 0x100, count: 8 });
    inside(b).meta[0] = -1; // [0, 8) lost its only head
    expectCode(() => b.isAllocated(0x103), "E_INVARIANT", {
      type: BuddyError,
      message: /no block contains offset 3$/,
    });
  });
});

describe("error messages name the bad value", () => {
  const b = () => new BuddyAllocator({ base: 0, count: 16 });
  const long = "x".repeat(50);
  it.each([
    [0, "0"],
    [1.5, "1.5"],
    [undefined, "undefined"],
    [10n, "10n"],
    ["3", '"3"'],
    ["y".repeat(40), `"${"y".repeat(40)}"`], // 40 characters: shown whole
    ["y".repeat(41), `"${"y".repeat(40)}..."`], // 41: cut to 40
    [long, `"${"x".repeat(40)}..."`],
    [Symbol("s"), "Symbol(s)"],
    [() => 1, "a function"],
    [null, "null"],
    [[1], "an array"],
    [{ n: 1 }, "an object"],
  ])("alloc(%s) names it as %s", (n, shown) => {
    const a = b();
    expectCode(() => a.alloc(n as number), "E_BAD_ARGUMENT", {
      type: BuddyError,
      message: exactly(`E_BAD_ARGUMENT: unit count ${shown} must be a positive integer`),
    });
    expect(a.stats).toEqual({ free: 16, allocated: 0, reserved: 0, largestFree: 16 });
  });

  it.each([
    [null, "null"],
    [5, "5"],
    [[], "an array"],
    ["opts", '"opts"'],
  ])("the constructor refuses options %s as %s", (options, shown) => {
    expectCode(
      () => new BuddyAllocator(options as unknown as { base: number; count: number }),
      "E_BAD_ARGUMENT",
      {
        type: BuddyError,
        message: exactly(
          `E_BAD_ARGUMENT: options ${shown} must be an object { base, count, maxOrder? }`,
        ),
      },
    );
  });

  it("errors are BuddyErrors by name", () => {
    const e = expectCode(() => b().alloc(0), "E_BAD_ARGUMENT", { type: BuddyError });
    expect(e.name).toBe("BuddyError");
  });
});

describe("out-of-range messages name the call", () => {
  const base = 0x100;
  const range = "outside \\[0x100, 0x110\\)";
  it.each([
    [
      "free",
      (b: BuddyAllocator) => b.free(base + 15, 2),
      `cannot free \\[0x10f, 0x111\\): ${range}`,
    ],
    [
      "freeOrder",
      (b: BuddyAllocator) => b.freeOrder(base + 16, 1),
      `cannot free \\[0x110, 0x112\\): ${range}`,
    ],
    [
      "reserve",
      (b: BuddyAllocator) => b.reserve(base - 1, 1),
      `cannot reserve \\[0xff, 0x100\\): ${range}`,
    ],
    [
      "isAllocated",
      (b: BuddyAllocator) => b.isAllocated(base + 16),
      `cannot query \\[0x110, 0x111\\): ${range}`,
    ],
  ])("%s", (_name, call, message) => {
    const b = new BuddyAllocator({ base, count: 16 });
    expectCode(() => call(b), "E_OUT_OF_RANGE", {
      type: BuddyError,
      message: new RegExp(`${message}$`),
    });
  });

  it("a negative base prints as negative hex", () => {
    const b = new BuddyAllocator({ base: -16, count: 16 });
    expect(b.dump().split("\n").slice(0, 3)).toEqual([
      "buddy [-0x10, 0x0) maxOrder 4: 16 free, 0 allocated, 0 reserved",
      "free lists:",
      "  order  4 (16 units): -0x10",
    ]);
    expectCode(() => b.free(-17, 1), "E_OUT_OF_RANGE", {
      type: BuddyError,
      message: /cannot free \[-0x11, -0x10\): outside \[-0x10, 0x0\)$/,
    });
  });
});

describe("refusals name the right unit", () => {
  const base = 0x100;
  it("a reserve that starts inside an allocation names its first unit, not the block's", () => {
    const b = new BuddyAllocator({ base, count: 16 });
    expect(b.allocOrder(2)).toBe(base); // [0x100, 0x104)
    expectCode(() => b.reserve(base + 2, 4), "E_OVERLAPS_ALLOCATION", {
      type: BuddyError,
      message: /cannot reserve \[0x102, 0x106\): units from 0x102 are allocated$/,
    });
    expect(b.stats).toMatchObject({ allocated: 4, reserved: 0 });
  });

  it("freeOrder with the wrong order names the allocated block, also at a non-zero offset", () => {
    const b = new BuddyAllocator({ base, count: 16 });
    expect(b.allocOrder(1)).toBe(base);
    expect(b.allocOrder(1)).toBe(base + 2);
    expectCode(() => b.freeOrder(base + 2, 0), "E_WRONG_SIZE", {
      type: BuddyError,
      message: /0x102 is inside an allocated block of order 1 at 0x102, not a block of order 0$/,
    });
  });

  it("freeOrder of an order-0 allocation as order 1 is the wrong size, not a double free", () => {
    const b = new BuddyAllocator({ base, count: 16 });
    expect(b.allocOrder(0)).toBe(base);
    expectCode(() => b.freeOrder(base, 1), "E_WRONG_SIZE", {
      type: BuddyError,
      message: /0x100 is inside an allocated block of order 0 at 0x100, not a block of order 1$/,
    });
    expect(b.isAllocated(base)).toBe(true);
  });
});

describe("dump", () => {
  it("lists several blocks on one free list, and names reserved blocks", () => {
    // 6 units, maxOrder 1: [0, 2), [2, 4), [4, 6) pushed in that order, so list 1
    // reads 4, 2, 0 (push puts a block at the front). Reserving unit 5 splits
    // [4, 6): 4 goes to list 0, 5 is reserved.
    const b = new BuddyAllocator({ base: 0x10, count: 6, maxOrder: 1 });
    b.reserve(0x15, 1);
    expect(b.dump()).toBe(
      [
        "buddy [0x10, 0x16) maxOrder 1: 5 free, 0 allocated, 1 reserved",
        "free lists:",
        "  order  0 (1 units): 0x14",
        "  order  1 (2 units): 0x12 0x10",
        "blocks:",
        "        0x10 +2       free      order 1",
        "        0x12 +2       free      order 1",
        "        0x14 +1       free      order 0",
        "        0x15 +1       reserved  order 0",
      ].join("\n"),
    );
    expect(b.blocks().at(-1)).toEqual({ start: 0x15, order: 0, kind: BLOCK_KIND.RESERVED });
  });
});

// everOrder (the largest order ever allocated at a head) must never shrink, and
// everAllocatedAt must look up to maxOrder. Only the random property runs
// caught those mutants, and not on every mutation run: hand-worked cases here.
describe("a unit freed twice is a double free however it was allocated since", () => {
  const base = 0x100;
  it.each([
    ["allocOrder", (b: BuddyAllocator, k: number) => b.freeOrder(b.allocOrder(k)!, k)],
    ["alloc", (b: BuddyAllocator, k: number) => b.free(b.alloc(1 << k)!, 1 << k)],
  ])("%s: order 2 then order 0 at the same head", (_name, roundTrip) => {
    const b = new BuddyAllocator({ base, count: 16 });
    roundTrip(b, 2); // units 0x100..0x103 handed out once
    roundTrip(b, 0); // the same head, smaller: must not forget the order-2 use
    expectCode(() => b.free(base + 2, 1), "E_DOUBLE_FREE", {
      type: BuddyError,
      message: /unit 0x102 is already free \(double free\)$/,
    });
    expectCode(() => b.free(base + 4, 1), "E_NOT_ALLOCATED", {
      type: BuddyError,
      message: /unit 0x104 was never allocated$/,
    });
  });

  it("a unit inside a block of maxOrder", () => {
    const b = new BuddyAllocator({ base, count: 8 }); // maxOrder 3
    b.freeOrder(b.allocOrder(3)!, 3);
    expectCode(() => b.free(base + 5, 1), "E_DOUBLE_FREE", {
      type: BuddyError,
      message: /unit 0x105 is already free \(double free\)$/,
    });
  });
});
