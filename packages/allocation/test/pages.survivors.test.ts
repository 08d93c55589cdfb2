/**
 * Tests written from the mutation survivors (docs/quality.md, "Survivors worth
 * a test"): what the page allocators' messages name, the memory map turned
 * into frames (holes, overlaps, sub-page regions), every option refusal, and
 * the first-fit bitmap's choice of run on hand-worked bitmaps. Every expected
 * value is worked out by hand in the comments.
 */
import { E820, type MemoryRegion } from "@mm386/hw-i386";
import { expectCode } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import {
  AllocationError,
  buddyRanges,
  BuddyRangeAllocator,
  createPageAllocators,
  FirstFitBitmapAllocator,
  SparseRangeAllocator,
  firstFitRanges,
  type PageAllocators,
  type PageRangeAllocator,
  type RangeAllocator,
  UNIT_STATE,
} from "../src/index.js";

const MiB = 1024 * 1024;
const PAGE = 4096;
const usable = (base: number, length: number): MemoryRegion => ({
  base,
  length,
  type: E820.USABLE,
});
const reservedRegion = (base: number, length: number): MemoryRegion => ({
  base,
  length,
  type: E820.RESERVED,
});

const refused = (f: () => unknown, code: string, message?: RegExp) =>
  void expectCode(f, code, { type: AllocationError, message });

/** The unit states of the range allocator under a page allocator, page 0 first. */
const statesOf = (pa: PageAllocators) => (pa.physical as PageRangeAllocator).ranges.states();

describe.each([
  ["buddy", buddyRanges],
  ["first-fit bitmap", firstFitRanges],
])("messages that name the failing page (%s)", (_name, rangeAllocator) => {
  const make = () => createPageAllocators({ memoryMap: [usable(0, 16 * MiB)], rangeAllocator });

  it("a double free names the first page that is already free, not the run's start", () => {
    const pa = make();
    const run = pa.ppalloc(4, 4)!;
    expect(run.pages).toBe(4);
    const third = run.start + 2 * PAGE;
    pa.ppfree(third, 1);
    const free = pa.physical.freePages;
    const e = expectCode(() => pa.ppfree(run.start, 4), "E_DOUBLE_FREE", { type: AllocationError });
    // `physical: cannot free 4 page(s) at <start>: page <third> is already free (double free)`
    const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
    expect(e.message).toContain(`cannot free 4 page(s) at ${hex(run.start)}`);
    expect(e.message).toContain(`page ${hex(third)} is already free (double free)`);
    // Refused whole: the other three pages are still allocated.
    expect(pa.physical.freePages).toBe(free);
    const s = statesOf(pa);
    const p = run.start / PAGE;
    expect([s[p], s[p + 1], s[p + 2], s[p + 3]]).toEqual([
      UNIT_STATE.ALLOCATED,
      UNIT_STATE.ALLOCATED,
      UNIT_STATE.FREE,
      UNIT_STATE.ALLOCATED,
    ]);
  });

  it("freeing reserved pages is E_NOT_ALLOCATED naming the page ('was never allocated')", () => {
    const pa = make();
    // Page 0x0 is in the first MiB, reserved at start-up.
    refused(() => pa.ppfree(0, 1), "E_NOT_ALLOCATED", /page 0x00000000 was never allocated/);
  });

  it("reserving over an allocation names the allocated page, not the range's start", () => {
    const pa = make();
    const run = pa.ppalloc(1, 1)!;
    // The range starts one free page before the allocated one.
    const start = run.start - PAGE;
    expect(statesOf(pa)[start / PAGE]).not.toBe(UNIT_STATE.ALLOCATED);
    const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
    refused(
      () => pa.physical.reserveBytes({ start, length: 2 * PAGE }),
      "E_OVERLAPS_ALLOCATION",
      new RegExp(
        `cannot reserve 2 page\\(s\\) at ${hex(start)}: page ${hex(run.start)} is allocated`,
      ),
    );
  });

  it("in the kernel's virtual region (page numbers from 0xc0000) the named page is still right", () => {
    const pa = make();
    const run = pa.vpalloc(3, 3)!;
    expect(run.start).toBe(0xc000_0000); // first fit and buddy both start at the bottom
    pa.vpfree(0xc000_1000, 1);
    refused(
      () => pa.vpfree(0xc000_0000, 3),
      "E_DOUBLE_FREE",
      /kernel virtual: cannot free 3 page\(s\) at 0xc0000000: page 0xc0001000 is already free/,
    );
  });
});

describe("page allocator argument checks", () => {
  const make = () =>
    createPageAllocators({ memoryMap: [usable(0, 16 * MiB)], rangeAllocator: firstFitRanges });

  it("free: address and count must be whole, in range, aligned; 0 is a valid address", () => {
    const pa = make();
    refused(() => pa.ppfree(-PAGE, 1), "E_BAD_ARGUMENT", /physical: cannot free address -4096/);
    refused(() => pa.ppfree(1.5, 1), "E_BAD_ARGUMENT", /cannot free address 1\.5/);
    refused(() => pa.ppfree(2 * MiB, 0), "E_BAD_ARGUMENT", /cannot free 0 pages/);
    refused(() => pa.ppfree(2 * MiB, 1.5), "E_BAD_ARGUMENT", /cannot free 1\.5 pages/);
    refused(
      () => pa.ppfree(2 * MiB + 8, 1),
      "E_UNALIGNED",
      /address 0x00200008 is not page-aligned/,
    );
    // Address 0 passes the argument checks and reaches the allocator (page 0 is reserved).
    refused(() => pa.ppfree(0, 1), "E_NOT_ALLOCATED");
    // The page just past the end of RAM, and a run that crosses it.
    refused(
      () => pa.ppfree(16 * MiB, 1),
      "E_FOREIGN",
      /physical: \[0x01000000, 0x01001000\) is not inside \[0x00000000, 0x01000000\)/,
    );
    refused(
      () => pa.ppfree(16 * MiB - PAGE, 2),
      "E_FOREIGN",
      /\[0x00fff000, 0x01001000\) is not inside/,
    );
    // Below the kernel region's start.
    refused(
      () => pa.vpfree(0xbfff_f000, 1),
      "E_FOREIGN",
      /kernel virtual: \[0xbffff000, 0xc0000000\) is not inside \[0xc0000000, 0x00000000|kernel virtual: \[0xbffff000, 0xc0000000\) is not inside \[0xc0000000, /,
    );
    // The last page of RAM is in range (and free).
    const s = statesOf(pa);
    expect(s[4095]).toBe(UNIT_STATE.FREE);
  });

  it("alloc: min and max positive integers, min <= max; min = max = 1 is fine", () => {
    const pa = make();
    refused(() => pa.ppalloc(0, 1), "E_BAD_ARGUMENT", /physical: min 0 must be a positive number/);
    refused(() => pa.ppalloc(1, 0), "E_BAD_ARGUMENT", /physical: max 0 must be a positive number/);
    refused(() => pa.ppalloc(1.5, 2), "E_BAD_ARGUMENT", /min 1\.5/);
    refused(() => pa.ppalloc(3, 2), "E_BAD_ARGUMENT", /min 3 is more than max 2/);
    // First fit: the first free page above the first MiB and the kernel image (2 MiB).
    expect(pa.ppalloc(1, 1)).toEqual({ start: 2 * MiB, pages: 1 });
    expect(pa.ppalloc(2, 2)).toEqual({ start: 2 * MiB + PAGE, pages: 2 });
  });

  it("vpcreate: start 0 and a region ending exactly at 4 GiB are fine; past it, empty, negative, unaligned are not", () => {
    const pa = make();
    expect(pa.vpcreate(0, PAGE).alloc(1, 1)).toEqual({ start: 0, pages: 1 });
    expect(pa.vpcreate(0xffff_f000, PAGE).alloc(1, 1)).toEqual({ start: 0xffff_f000, pages: 1 });
    refused(() => pa.vpcreate(0xffff_f000, 2 * PAGE), "E_BAD_ARGUMENT", /runs past 4 GiB/);
    refused(() => pa.vpcreate(PAGE, 0), "E_BAD_ARGUMENT", /is empty or runs past 4 GiB/);
    refused(
      () => pa.vpcreate(-PAGE, PAGE),
      "E_BAD_ARGUMENT",
      /vpcreate: start -4096 is not an address/,
    );
    refused(
      () => pa.vpcreate(0, -PAGE),
      "E_BAD_ARGUMENT",
      /vpcreate: size -4096 is not an address/,
    );
    refused(() => pa.vpcreate(0.5, PAGE), "E_BAD_ARGUMENT", /start 0\.5/);
    refused(
      () => pa.vpcreate(0x800, PAGE),
      "E_UNALIGNED",
      /vpcreate: start 0x00000800 is not page-aligned/,
    );
  });

  it("a range allocator's own (uncoded) error passes through unchanged", () => {
    const boom = new Error("boom");
    const broken = (base: number, count: number): RangeAllocator => {
      const inner = firstFitRanges(base, count);
      return Object.assign(
        Object.create(Object.getPrototypeOf(inner) as object) as RangeAllocator,
        inner,
        {
          free: () => {
            throw boom;
          },
        },
      );
    };
    const pa = createPageAllocators({ memoryMap: [usable(0, 16 * MiB)], rangeAllocator: broken });
    const run = pa.ppalloc(1, 1)!;
    let caught: unknown;
    try {
      pa.ppfree(run.start, 1);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(boom);
  });
});

describe("createPageAllocators: the memory map, hand-worked", () => {
  it("a hole between usable regions is reserved, page by page", () => {
    // Usable [0, 4 MiB) and [8 MiB, 16 MiB); nothing in [4, 8) MiB.
    // Reserved: the first MiB (pages 0-255), the kernel image (256-511), the hole (1024-2047).
    const pa = createPageAllocators({
      memoryMap: [usable(0, 4 * MiB), usable(8 * MiB, 8 * MiB)],
      rangeAllocator: firstFitRanges,
    });
    expect(pa.physical.size).toBe(16 * MiB);
    expect(pa.usablePages).toBe(4096 - 512 - 1024);
    const s = statesOf(pa);
    for (const [from, to, state] of [
      [0, 512, UNIT_STATE.RESERVED],
      [512, 1024, UNIT_STATE.FREE],
      [1024, 2048, UNIT_STATE.RESERVED],
      [2048, 4096, UNIT_STATE.FREE],
    ] as const) {
      for (let p = from; p < to; p++) if (s[p] !== state) expect([p, s[p]]).toEqual([p, state]);
    }
  });

  it("overlapping usable regions merge to their union (one inside the other)", () => {
    // [0, 12 MiB) and [2 MiB, 3 MiB), inside it: RAM ends at 12 MiB, not 3.
    const pa = createPageAllocators({
      memoryMap: [usable(0, 12 * MiB), usable(2 * MiB, MiB)],
      rangeAllocator: firstFitRanges,
    });
    expect(pa.physical.size).toBe(12 * MiB);
    expect(pa.usablePages).toBe(3072 - 512);
  });

  it("a usable region smaller than a whole page adds no frame and does not move the top", () => {
    // [12 MiB, +100 bytes) holds no whole frame (frames [3072, 3072) after rounding);
    // [12 MiB + 10, +5000) rounds to [3073, 3073) too: RAM still ends at 8 MiB.
    const pa = createPageAllocators({
      memoryMap: [usable(0, 8 * MiB), usable(12 * MiB, 100), usable(12 * MiB + 10, 5000)],
      rangeAllocator: firstFitRanges,
    });
    expect(pa.physical.size).toBe(8 * MiB);
    expect(pa.usablePages).toBe(2048 - 512);
  });

  it("a non-usable region inside a usable one wins", () => {
    const pa = createPageAllocators({
      memoryMap: [usable(0, 16 * MiB), reservedRegion(8 * MiB, MiB)],
      rangeAllocator: firstFitRanges,
    });
    expect(pa.usablePages).toBe(4096 - 512 - 256);
    const s = statesOf(pa);
    expect([s[2047], s[2048], s[2303], s[2304]]).toEqual([
      UNIT_STATE.FREE,
      UNIT_STATE.RESERVED,
      UNIT_STATE.RESERVED,
      UNIT_STATE.FREE,
    ]);
  });

  it("no rangeAllocator option: the buddy allocator", () => {
    const pa = createPageAllocators({ memoryMap: [usable(0, 16 * MiB)] });
    expect((pa.physical as PageRangeAllocator).ranges).toBeInstanceOf(BuddyRangeAllocator);
    expect(pa.ppalloc(1, 1)).not.toBeNull();
  });

  it("every bad range option is E_BAD_CONFIG naming it; a zero-length one is fine", () => {
    const map = [usable(0, 16 * MiB)];
    const with_ = (extra: object) => () => createPageAllocators({ memoryMap: map, ...extra });
    for (const [r, shown] of [
      [{ start: 1.5, length: PAGE }, /reserved range \[1\.5, \+4096\) is not inside 4 GiB/],
      [{ start: 0, length: 1.5 }, /reserved range \[0, \+1\.5\)/],
      [{ start: -1, length: PAGE }, /reserved range \[-1, \+4096\)/],
      [{ start: 0, length: -1 }, /reserved range \[0, \+-1\)/],
      [{ start: 0xffff_f000, length: 2 * PAGE }, /reserved range \[4294963200, \+8192\)/],
    ] as const) {
      refused(with_({ reserved: [r] }), "E_BAD_CONFIG", shown);
    }
    const pa = with_({
      reserved: [
        { start: 5 * MiB, length: 0 },
        { start: 0xffff_f000, length: PAGE },
      ],
    })();
    expect(pa.usablePages).toBe(4096 - 512);
  });

  it("the kernel virtual range must be whole, non-empty pages (E_UNALIGNED)", () => {
    const map = [usable(0, 16 * MiB)];
    for (const [kv, shown] of [
      [
        { start: 0xc000_0800, length: PAGE },
        /kernel virtual range 0xc0000800 \+ 0x00001000 is not whole pages/,
      ],
      [{ start: 0xc000_0000, length: 0x800 }, /kernel virtual range 0xc0000000 \+ 0x00000800/],
      [{ start: 0xc000_0000, length: 0 }, /kernel virtual range 0xc0000000 \+ 0x00000000/],
    ] as const) {
      refused(
        () => createPageAllocators({ memoryMap: map, kernelVirtual: kv }),
        "E_UNALIGNED",
        shown,
      );
    }
    const pa = createPageAllocators({
      memoryMap: map,
      kernelVirtual: { start: 0xd000_0000, length: 2 * PAGE },
    });
    expect(pa.vpalloc(1, 8)).toEqual({ start: 0xd000_0000, pages: 2 });
  });
});

/** The two complete first-fit allocators: the same choices, the same messages. */
const COMPLETE = [
  ["first-fit bitmap", FirstFitBitmapAllocator],
  ["sparse first-fit", SparseRangeAllocator],
] as const;

describe.each(COMPLETE)("%s: which run allocRun takes (hand-worked, base 0x100)", (_name, Kind) => {
  /** A fresh allocator of `count` units from 0x100 with `reserved` ([from, to) offsets) taken out. */
  const bitmap = (count: number, reserved: [number, number][], base = 0x100) => {
    const b = new Kind(base, count);
    for (const [from, to] of reserved) b.reserve(base + from, to - from);
    return b;
  };
  it("the first run of max free units, also inside a partly used word", () => {
    // Free: [1, 10) (9 units) and [11, 96) (85). allocRun(1, 4) and (1, 9): the first run.
    expect(
      bitmap(96, [
        [0, 1],
        [10, 11],
      ]).allocRun(1, 4),
    ).toEqual({ start: 0x101, count: 4 });
    expect(
      bitmap(96, [
        [0, 1],
        [10, 11],
      ]).allocRun(1, 9),
    ).toEqual({ start: 0x101, count: 9 });
    // (1, 10): no run of 10 before [11, 96).
    expect(
      bitmap(96, [
        [0, 1],
        [10, 11],
      ]).allocRun(1, 10),
    ).toEqual({ start: 0x10b, count: 10 });
  });

  it("the first run of max free units when it fills whole empty words", () => {
    // Words: 0 free, 1 used, 2-3 free. (1, 16) and (1, 32) come from word 0.
    expect(bitmap(128, [[32, 64]]).allocRun(1, 16)).toEqual({ start: 0x100, count: 16 });
    expect(bitmap(128, [[32, 64]]).allocRun(1, 32)).toEqual({ start: 0x100, count: 32 });
    expect(bitmap(128, [[32, 64]]).allocRun(1, 33)).toEqual({ start: 0x140, count: 33 });
    // A run that starts in word 1 at unit 40 and goes on through empty word 2:
    // [40, 96) has 56 units, so (1, 40) takes 40 from 40, not from the longer [128, 256).
    expect(
      bitmap(256, [
        [0, 40],
        [96, 128],
      ]).allocRun(1, 40),
    ).toEqual({ start: 0x128, count: 40 });
  });

  it("no run of max: all of the longest, the first one on a tie", () => {
    // Free [0, 3) and [4, 7), the rest reserved: a tie, the first wins.
    expect(
      bitmap(96, [
        [3, 4],
        [7, 96],
      ]).allocRun(1, 50),
    ).toEqual({ start: 0x100, count: 3 });
    // Free [0, 3), [4, 10), [11, 15): the longest is the second.
    expect(
      bitmap(96, [
        [3, 4],
        [10, 11],
        [15, 96],
      ]).allocRun(1, 50),
    ).toEqual({ start: 0x104, count: 6 });
    // Longer first run, shorter one closed by a full word: the first one.
    expect(
      bitmap(96, [
        [20, 28],
        [32, 96],
      ]).allocRun(1, 100),
    ).toEqual({ start: 0x100, count: 20 });
    // A tie where the second run is closed by a full word.
    expect(
      bitmap(96, [
        [4, 28],
        [32, 96],
      ]).allocRun(1, 100),
    ).toEqual({ start: 0x100, count: 4 });
    // min more than the longest run: null, and nothing taken.
    const b = bitmap(96, [
      [3, 4],
      [10, 11],
      [15, 96],
    ]);
    expect(b.allocRun(7, 50)).toBeNull();
    expect(b.freeUnits).toBe(3 + 6 + 4);
  });

  it("a run that starts at unit 0 ends at a full word", () => {
    // Word 0 free, word 1 used, [64, 70) free, the rest reserved.
    expect(
      bitmap(96, [
        [32, 64],
        [70, 96],
      ]).allocRun(1, 100),
    ).toEqual({ start: 0x100, count: 32 });
  });

  it("a run that ends the range counts, whether it starts at 0 or later", () => {
    expect(bitmap(64, []).allocRun(1, 100)).toEqual({ start: 0x100, count: 64 });
    // Free [1, 5) (4) and [6, 64) (58): (10, 100) takes all of the last one.
    expect(
      bitmap(64, [
        [0, 1],
        [5, 6],
      ]).allocRun(10, 100),
    ).toEqual({ start: 0x106, count: 58 });
    // A tie with the last run: the first wins.
    expect(
      bitmap(64, [
        [0, 1],
        [5, 60],
      ]).allocRun(1, 100),
    ).toEqual({ start: 0x101, count: 4 });
  });

  it("two runs split by a full word do not join", () => {
    // Free [28, 32) and [64, 68), word 1 used: the longest run is 4 units.
    const b = bitmap(96, [
      [0, 28],
      [32, 64],
      [68, 96],
    ]);
    expect(b.allocRun(5, 5)).toBeNull();
    expect(b.allocRun(1, 8)).toEqual({ start: 0x11c, count: 4 });
  });

  it("constructor and argument refusals, and messages naming units in hex", () => {
    refused(() => new Kind(0, 0), "E_BAD_ARGUMENT", /range 0 \+ 0 is not a valid unit range/);
    refused(() => new Kind(0.5, 8), "E_BAD_ARGUMENT", /range 0\.5 \+ 8/);
    refused(() => new Kind(0, 8.5), "E_BAD_ARGUMENT", /range 0 \+ 8\.5/);
    const b = bitmap(64, []);
    const run = b.allocRun(4, 4)!;
    expect(run).toEqual({ start: 0x100, count: 4 });
    b.free(0x102, 1);
    refused(
      () => b.free(0x100, 4),
      "E_DOUBLE_FREE",
      /cannot free \[0x100, 0x104\): unit 0x102 is already free/,
    );
    refused(
      () => b.free(0x110, 2),
      "E_NOT_ALLOCATED",
      /cannot free \[0x110, 0x112\): unit 0x110 was never allocated/,
    );
    b.reserve(0x120, 2);
    refused(() => b.free(0x121, 1), "E_NOT_ALLOCATED", /unit 0x121 is reserved/);
    refused(
      () => b.reserve(0x0ff + 1, 2),
      "E_OVERLAPS_ALLOCATION",
      /cannot reserve \[0x100, 0x102\): unit 0x100 is allocated/,
    );
    refused(
      () => b.free(0x13f, 2),
      "E_OUT_OF_RANGE",
      /cannot free \[0x13f, 0x141\): outside \[0x100, 0x140\)/,
    );
    refused(() => b.free(0xff, 1), "E_OUT_OF_RANGE", /outside \[0x100, 0x140\)/);
    refused(() => b.free(256.5, 1), "E_BAD_ARGUMENT", /start 256\.5 is not an integer/);
    refused(() => b.free(0x100, 0), "E_BAD_ARGUMENT", /unit count 0 must be a positive integer/);
    refused(() => b.free(0x100, 1.5), "E_BAD_ARGUMENT", /unit count 1\.5/);
    // Nothing above changed anything: 4 allocated, 1 freed again, 2 reserved.
    expect(b.freeUnits).toBe(64 - 4 + 1 - 2);
    b.check();
  });

  it("free and reserve name the first bad unit of a range", () => {
    const b = bitmap(64, []);
    expect(b.allocRun(64, 64)).toEqual({ start: 0x100, count: 64 });
    b.free(0x110, 1); // free again (was allocated)
    b.free(0x118, 1);
    b.reserve(0x118, 1); // reserved
    // [0x10f, 0x11b): 0x110 (free) comes before 0x118 (reserved).
    refused(
      () => b.free(0x10f, 12),
      "E_DOUBLE_FREE",
      /cannot free \[0x10f, 0x11b\): unit 0x110 is already free/,
    );
    // [0x111, 0x11b): the reserved unit is the first bad one.
    refused(
      () => b.free(0x111, 10),
      "E_NOT_ALLOCATED",
      /cannot free \[0x111, 0x11b\): unit 0x118 is reserved/,
    );
    // Reserving [0x110, 0x119): 0x110 free, 0x111 allocated.
    refused(
      () => b.reserve(0x110, 9),
      "E_OVERLAPS_ALLOCATION",
      /cannot reserve \[0x110, 0x119\): unit 0x111 is allocated/,
    );
    expect(b.freeUnits).toBe(1);
    // Reserving over free and already reserved units: only the free ones leave the count.
    b.free(0x111, 7); // 0x110-0x117 free, 0x118 reserved
    b.reserve(0x114, 5); // [0x114, 0x119): 4 free + 1 reserved
    expect(b.freeUnits).toBe(8 - 4);
    const s = b.states();
    expect(Array.from(s.subarray(0x10, 0x1a))).toEqual([0, 0, 0, 0, 2, 2, 2, 2, 2, 1]);
    b.check();
  });
});

describe("first-fit bitmap only", () => {
  const bitmap = (count: number, reserved: [number, number][]) => {
    const b = new FirstFitBitmapAllocator(0x100, count);
    for (const [from, to] of reserved) b.reserve(0x100 + from, to - from);
    return b;
  };

  it("refuses more than 2^28 units (its bitmaps would take 96 MiB and more)", () => {
    refused(() => new FirstFitBitmapAllocator(0, 2 ** 28 + 1), "E_BAD_ARGUMENT", /268435457/);
  });

  it("check() catches each kind of damage", () => {
    const reservedNotUsed = bitmap(64, [[8, 9]]);
    // Through a cast: clear unit 8's "in use" bit, leaving its "reserved" bit.
    (reservedNotUsed as unknown as { used: Uint32Array }).used[0] = 0;
    refused(() => reservedNotUsed.check(), "E_INVARIANT", /unit 0x108 is reserved but not in use/);
    const badCount = bitmap(64, []);
    badCount.allocRun(3, 3);
    (badCount as unknown as { free_: number }).free_ = 64;
    refused(() => badCount.check(), "E_INVARIANT", /3 units in use \+ 64 free != 64/);
  });
});

describe("sparse first-fit only", () => {
  it("takes up to 2^32 units, not more, and not past 2^53", () => {
    expect(new SparseRangeAllocator(0, 2 ** 32).allocRun(1, 2 ** 32)).toEqual({
      start: 0,
      count: 2 ** 32,
    });
    refused(
      () => new SparseRangeAllocator(0, 2 ** 32 + 1),
      "E_BAD_ARGUMENT",
      /range 0 \+ 4294967297/,
    );
    refused(
      () => new SparseRangeAllocator(2 ** 53 - 2, 4),
      "E_BAD_ARGUMENT",
      /is not a valid unit range/,
    );
  });

  it("merges touching intervals again when runs come back in any order", () => {
    const a = new SparseRangeAllocator(0x100, 64);
    for (const start of [0x100, 0x101, 0x102])
      expect(a.allocRun(1, 1)).toEqual({ start, count: 1 });
    // free [0x103, 0x140) and ever-allocated [0x100, 0x103): 2 intervals.
    expect(a.intervals).toBe(2);
    a.free(0x101, 1); // free [0x101, 0x102) and [0x103, 0x140)
    expect(a.intervals).toBe(3);
    a.free(0x100, 1); // touches [0x101, 0x102): [0x100, 0x102)
    expect(a.intervals).toBe(3);
    a.free(0x102, 1); // joins both sides: [0x100, 0x140)
    expect(a.intervals).toBe(2);
    expect(a.allocRun(64, 64)).toEqual({ start: 0x100, count: 64 });
    // Reserving the middle of a free run splits it; freeing a run next to a reserved one does not join them.
    const b = new SparseRangeAllocator(0, 16);
    b.reserve(4, 2);
    expect(Array.from(b.states())).toEqual([0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(b.allocRun(10, 10)).toEqual({ start: 6, count: 10 });
    expect(b.allocRun(1, 16)).toEqual({ start: 0, count: 4 });
    b.free(0, 4);
    expect(b.allocRun(5, 16)).toBeNull();
    b.check();
  });

  it("check() catches each kind of damage", () => {
    type Sets = { freeSet: { starts: number[]; ends: number[] }; free_: number };
    const overlapping = new SparseRangeAllocator(0x100, 64);
    overlapping.reserve(0x110, 4);
    // Through a cast: make the free set cover the reserved units too.
    const o = overlapping as unknown as Sets;
    o.freeSet.starts.splice(0, 2, 0x100);
    o.freeSet.ends.splice(0, 2, 0x140);
    o.free_ = 64;
    refused(() => overlapping.check(), "E_INVARIANT", /unit 0x110 is both free and reserved/);
    const empty = new SparseRangeAllocator(0x100, 64);
    (empty as unknown as Sets).freeSet.ends[0] = 0x100;
    refused(
      () => empty.check(),
      "E_INVARIANT",
      /free interval 0 \[0x100, 0x100\) is empty, outside \[0x100, 0x140\), or not before the next/,
    );
    const outside = new SparseRangeAllocator(0x100, 64);
    (outside as unknown as Sets).freeSet.ends[0] = 0x141;
    refused(() => outside.check(), "E_INVARIANT", /free interval 0 \[0x100, 0x141\)/);
    const below = new SparseRangeAllocator(0x100, 64);
    (below as unknown as Sets).freeSet.starts[0] = 0xff;
    refused(() => below.check(), "E_INVARIANT", /free interval 0 \[0xff, 0x140\)/);
    const touching = new SparseRangeAllocator(0x100, 64);
    const t = touching as unknown as Sets;
    t.freeSet.starts.splice(0, 1, 0x100, 0x110);
    t.freeSet.ends.splice(0, 1, 0x110, 0x140);
    refused(() => touching.check(), "E_INVARIANT", /free interval 0 \[0x100, 0x110\)/);
    const counted = new SparseRangeAllocator(0x100, 64);
    counted.allocRun(3, 3);
    (counted as unknown as Sets).free_ = 64;
    refused(
      () => counted.check(),
      "E_INVARIANT",
      /the free intervals hold 61 units, the counter says 64/,
    );
  });
});

describe("buddy range allocator", () => {
  it("states() places blocks relative to base", () => {
    const b = new BuddyRangeAllocator(0x100, 16);
    expect(b.allocRun(4, 4)).toEqual({ start: 0x100, count: 4 });
    b.reserve(0x108, 2);
    const s = b.states();
    expect(Array.from(s)).toEqual(
      [1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0].map((k) =>
        k === 1 ? UNIT_STATE.ALLOCATED : k === 2 ? UNIT_STATE.RESERVED : UNIT_STATE.FREE,
      ),
    );
  });

  it("exhausted: allocRun returns null", () => {
    const b = new BuddyRangeAllocator(0x100, 4);
    expect(b.allocRun(4, 4)).toEqual({ start: 0x100, count: 4 });
    expect(b.allocRun(1, 1)).toBeNull();
  });
});

describe("from the second measurement (pages.ts)", () => {
  const map = [usable(0, 16 * MiB)];

  it("a range allocator factory of the wrong shape is E_BAD_CONFIG naming what is missing", () => {
    refused(
      () => createPageAllocators({ memoryMap: map, rangeAllocator: (() => 4096) as never }),
      "E_BAD_CONFIG",
      /physical: the range allocator factory made 4096, which is not an object/,
    );
    refused(
      () => createPageAllocators({ memoryMap: map, rangeAllocator: (() => null) as never }),
      "E_BAD_CONFIG",
      /made null, which is not an object/,
    );
    const noFree = (base: number, count: number) => {
      const inner = firstFitRanges(base, count);
      return {
        allocRun: inner.allocRun.bind(inner),
        reserve: inner.reserve.bind(inner),
        states: inner.states.bind(inner),
        check: inner.check.bind(inner),
      };
    };
    refused(
      () => createPageAllocators({ memoryMap: map, rangeAllocator: noFree as never }),
      "E_BAD_CONFIG",
      /which has no free\(\)/,
    );
  });

  it("vpalloc and vpfree want a vpa with both alloc and free", () => {
    const pa = createPageAllocators({ memoryMap: map });
    const vpa = pa.vpcreate(0x40_0000, 0x40_0000);
    const allocOnly = { alloc: vpa.alloc.bind(vpa) };
    const freeOnly = { free: vpa.free.bind(vpa) };
    refused(
      () => pa.vpalloc(allocOnly as never, 1, 1),
      "E_BAD_ARGUMENT",
      /vpalloc: an object is neither a page count nor a vpa/,
    );
    refused(
      () => pa.vpfree(freeOnly as never, 0x40_0000, 1),
      "E_BAD_ARGUMENT",
      /vpfree: an object is neither/,
    );
    expect(pa.vpalloc(vpa, 1, 1)).toEqual({ start: 0x40_0000, pages: 1 });
  });

  it("an unsorted memory map gives the same frames as the sorted one", () => {
    // [8 MiB, 16 MiB) listed before [0, 4 MiB): the hole [4, 8) MiB is still reserved.
    const pa = createPageAllocators({
      memoryMap: [usable(8 * MiB, 8 * MiB), usable(0, 4 * MiB)],
      rangeAllocator: firstFitRanges,
    });
    expect(pa.physical.size).toBe(16 * MiB);
    expect(pa.usablePages).toBe(4096 - 512 - 1024);
    const s = statesOf(pa);
    expect([s[1023], s[1024], s[2047], s[2048]]).toEqual([
      UNIT_STATE.FREE,
      UNIT_STATE.RESERVED,
      UNIT_STATE.RESERVED,
      UNIT_STATE.FREE,
    ]);
  });

  it("null where a region is expected is E_BAD_CONFIG, not the default", () => {
    refused(
      () => createPageAllocators({ memoryMap: map, kernelImage: null as never }),
      "E_BAD_CONFIG",
      /kernelImage null is not usable/,
    );
    refused(
      () => createPageAllocators({ memoryMap: map, kernelVirtual: null as never }),
      "E_BAD_CONFIG",
      /kernelVirtual null is not usable/,
    );
    refused(
      () => createPageAllocators({ memoryMap: [null as never] }),
      "E_BAD_CONFIG",
      /memory map entry 0 is null, not a region/,
    );
  });
});
