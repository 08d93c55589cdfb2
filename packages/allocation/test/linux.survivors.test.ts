/**
 * Tests written from the mutation survivors of Linux's physical allocators
 * (docs/quality.md, "Survivors worth a test"; issue 10): bootmem's bitmap at
 * its edges (the first and last page, a word boundary, a range across the
 * bitmap's end, a free of pages never reserved), the zones' fallback order
 * per GFP mask with the exact page each call hands out, every refusal with
 * its code and whole message, and the e820 map sanitised as Linux's
 * `sanitize_e820_map` does before `find_max_pfn` reads it. Every expected
 * value is worked out by hand in the comments, from the code's prose headers
 * and the Linux 2.6 behaviour they model.
 */
import {
  CR0,
  CR4,
  createMachine,
  E820,
  type Machine,
  type MemoryRegion,
  PDE,
} from "@mm386/hw-i386";
import { expectCode } from "@mm386/hw-i386/testing";
import { beforeAll, describe, expect, it } from "vitest";
import {
  Bootmem,
  findMaxPfn,
  GFP,
  LINUX_ERROR,
  LinuxMmError,
  usableRegions,
  Zones,
} from "../src/linux/index.js";

const MiB = 1024 * 1024;
const PAGE = 4096;
const PAGE_OFFSET = 0xc000_0000;
const ram = (base: number, length: number): MemoryRegion => ({ base, length, type: E820.USABLE });
const reserved = (base: number, length: number): MemoryRegion => ({
  base,
  length,
  type: E820.RESERVED,
});

/** `f` throws a LinuxMmError with `code` and exactly `message` after the code. */
function refused(f: () => unknown, code: string, message: string): void {
  const e = expectCode(f, code, { type: LinuxMmError });
  expect(e.message).toBe(`${code}: ${message}`);
}

let machine: Machine;
beforeAll(() => {
  machine = createMachine({ ramBytes: 16 * MiB });
});
/** Bootmem over pages [0, maxLowPfn) of the shared machine, every page reserved (init_bootmem). */
const bootmem = (maxLowPfn = 64, m: Machine = machine) =>
  new Bootmem({ machine: m, pageOffset: PAGE_OFFSET, maxLowPfn });

describe("bootmem: the bitmap's edges", () => {
  it("hands out the first and the last page, and nothing past them", () => {
    const b = bootmem(64);
    b.freeBootmem(0, PAGE); // page 0: phys 0 is a valid address
    b.freeBootmem(63 * PAGE, PAGE); // [0x3f000, 0x40000) ends exactly at low memory's end
    expect(b.freeRuns()).toEqual([
      { start: 0, end: 1 },
      { start: 63, end: 64 },
    ]);
    expect(b.freePages).toBe(2);
    expect([b.isReserved(0), b.isReserved(1), b.isReserved(62), b.isReserved(63)]).toEqual([
      false,
      true,
      true,
      false,
    ]);
    refused(
      () => b.isReserved(64),
      LINUX_ERROR.OUT_OF_RANGE,
      "page frame 64 is not below max_low_pfn 64",
    );
    refused(
      () => b.isReserved(-1),
      LINUX_ERROR.OUT_OF_RANGE,
      "page frame -1 is not below max_low_pfn 64",
    );
    // First fit: page 0 first (PAGE_OFFSET + 0), then the last page, then nothing.
    expect(b.allocBootmemLowPages(1)).toBe(0xc000_0000);
    expect(b.allocBootmemLowPages(1)).toBe(0xc003_f000);
    expect(b.allocBootmemLowPages(1)).toBeNull();
    expect(b.freePages).toBe(0);
    expect(b.freeRuns()).toEqual([]);
  });

  it("frees every page into one run [0, max_low_pfn) and allocates all of it at once", () => {
    const b = bootmem(64);
    b.freeBootmem(0, 64 * PAGE);
    expect(b.freeRuns()).toEqual([{ start: 0, end: 64 }]);
    expect(b.freePages).toBe(64);
    refused(
      () => b.allocBootmemLowPages(65),
      LINUX_ERROR.BAD_ARGUMENT,
      "page count 65 must be an integer in [1, 64]",
    );
    refused(
      () => b.allocBootmemLowPages(0),
      LINUX_ERROR.BAD_ARGUMENT,
      "page count 0 must be an integer in [1, 64]",
    );
    expect(b.allocBootmemLowPages(64)).toBe(0xc000_0000);
    expect(b.freePages).toBe(0);
    expect(b.freeRuns()).toEqual([]);
  });

  it("a run that starts at page 0 ends where the first reserved page is", () => {
    const b = bootmem(64);
    b.freeBootmem(0, 4 * PAGE);
    expect(b.freeRuns()).toEqual([{ start: 0, end: 4 }]);
    // Word 0 whole and free, word 1 whole and reserved: the run ends at 32.
    const w = bootmem(64);
    w.freeBootmem(0, 32 * PAGE);
    expect(w.freeRuns()).toEqual([{ start: 0, end: 32 }]);
  });

  it("refuses a reserve or a free across the bitmap's end, changing nothing", () => {
    const b = bootmem(64);
    b.freeBootmem(32 * PAGE, 32 * PAGE);
    // [62 pages, 66 pages) = [0x3e000, 0x42000) runs 2 pages past 0x40000.
    refused(
      () => b.reserveBootmem(62 * PAGE, 4 * PAGE),
      LINUX_ERROR.OUT_OF_RANGE,
      "reserve_bootmem: [0x0003e000, 0x00042000) goes past low memory's end 0x00040000",
    );
    refused(
      () => b.freeBootmem(63 * PAGE, 2 * PAGE),
      LINUX_ERROR.OUT_OF_RANGE,
      "free_bootmem: [0x0003f000, 0x00041000) goes past low memory's end 0x00040000",
    );
    expect(b.freeRuns()).toEqual([{ start: 32, end: 64 }]);
    expect(b.freePages).toBe(32);
    // The last byte of low memory is inside: it reserves page 63.
    b.reserveBootmem(64 * PAGE - 1, 1);
    expect(b.freeRuns()).toEqual([{ start: 32, end: 63 }]);
    // [0x20800, 0x21800) touches pages 32 and 33: both reserved (rounding outwards).
    b.reserveBootmem(0x2_0800, 0x1000);
    expect(b.freeRuns()).toEqual([{ start: 34, end: 63 }]);
    expect(b.freePages).toBe(29);
  });

  it("refuses to free pages never reserved (freed by register_bootmem_low_pages), naming the first", () => {
    const b = bootmem(64);
    b.registerBootmemLowPages([ram(0x5000, 0x4000)]); // pages 5..8 free
    // [0x3000, 0x7000) is pages 3..6: 3 and 4 are reserved, 5 is free already.
    refused(
      () => b.freeBootmem(0x3000, 0x4000),
      LINUX_ERROR.NOT_ALLOCATED,
      "free_bootmem(0x00003000, 0x00004000): page 0x00005000 is free already",
    );
    // Nothing was freed before the check found page 5: 3 and 4 stay reserved.
    expect(b.freeRuns()).toEqual([{ start: 5, end: 9 }]);
    expect(b.freePages).toBe(4);
  });

  it("frees only whole pages: a range inside one page frees nothing", () => {
    const b = bootmem(64);
    b.freeBootmem(0x1800, 0x800); // [0x1800, 0x2000): no whole page
    b.freeBootmem(0, 1); // [0, 1): no whole page
    expect(b.freeRuns()).toEqual([]);
    b.freeBootmem(0x1001, 0x1fff); // [0x1001, 0x3000): page 2 only
    expect(b.freeRuns()).toEqual([{ start: 2, end: 3 }]);
    expect(b.freePages).toBe(1);
  });

  it("reserving pages that are reserved already changes no count", () => {
    const b = bootmem(64);
    b.freeBootmem(8 * PAGE, 8 * PAGE); // pages 8..15
    b.reserveBootmem(0, 8 * PAGE); // pages 0..7, reserved since init
    expect(b.freePages).toBe(8);
    b.reserveBootmem(6 * PAGE, 4 * PAGE); // 6, 7 reserved already; 8, 9 newly
    expect(b.freePages).toBe(6);
    expect(b.freeRuns()).toEqual([{ start: 10, end: 16 }]);
    // size 1 is the smallest size: it touches page 3, reserved already.
    b.reserveBootmem(0x3000, 1);
    expect(b.freePages).toBe(6);
  });

  it("names a bad address or size in the message: hex for a non-negative integer", () => {
    const b = bootmem(64);
    refused(
      () => b.freeBootmem(-4096, PAGE),
      LINUX_ERROR.BAD_ARGUMENT,
      "free_bootmem: address -4096 is not a non-negative integer",
    );
    refused(
      () => b.reserveBootmem(4096.5, PAGE),
      LINUX_ERROR.BAD_ARGUMENT,
      "reserve_bootmem: address 4096.5 is not a non-negative integer",
    );
    refused(
      () => b.reserveBootmem(0x1000, 0),
      LINUX_ERROR.BAD_ARGUMENT,
      "reserve_bootmem: size 0x00000000 must be a positive integer",
    );
    refused(
      () => b.freeBootmem(0x1000, -1),
      LINUX_ERROR.BAD_ARGUMENT,
      "free_bootmem: size -1 must be a positive integer",
    );
    expect(b.freePages).toBe(0);
  });
});

describe("bootmem: whole words of the bitmap", () => {
  it("a run ends at a reserved word and first fit does not count across it (96 pages, 3 words)", () => {
    const b = bootmem(96);
    b.freeBootmem(30 * PAGE, 2 * PAGE); // pages 30, 31: the end of word 0
    b.freeBootmem(64 * PAGE, 3 * PAGE); // pages 64..66: the start of word 2
    // Word 1 (pages 32..63) is all reserved.
    expect(b.freeRuns()).toEqual([
      { start: 30, end: 32 },
      { start: 64, end: 67 },
    ]);
    // Three pages: 30, 31 are only two, and the reserved word breaks the run; 64..66.
    expect(b.allocBootmemLowPages(3)).toBe(0xc000_0000 + 64 * PAGE);
    expect(b.freeRuns()).toEqual([{ start: 30, end: 32 }]);
    expect(b.allocBootmemLowPages(2)).toBe(0xc000_0000 + 30 * PAGE);
  });

  it("a run of free whole words, and a tail shorter than a word (70 pages)", () => {
    const b = bootmem(70);
    b.freeBootmem(32 * PAGE, 38 * PAGE); // pages 32..69: word 1 whole, then 64..69
    expect(b.freeRuns()).toEqual([{ start: 32, end: 70 }]);
    b.reserveBootmem(64 * PAGE, PAGE);
    expect(b.freeRuns()).toEqual([
      { start: 32, end: 64 },
      { start: 65, end: 70 },
    ]);
    // The first run of six pages is 32..37.
    expect(b.allocBootmemLowPages(6)).toBe(0xc000_0000 + 32 * PAGE);
  });

  it("register_bootmem_low_pages over pages partly free counts each page once, inside the range only", () => {
    const b = bootmem(96);
    b.freeBootmem(40 * PAGE, 2 * PAGE); // pages 40, 41 free already
    // [5 pages, 85 pages): 5..31 one by one, word 1 (32..63) at once with two
    // bits already clear, 64..84 one by one.
    b.registerBootmemLowPages([ram(5 * PAGE, 80 * PAGE)]);
    expect(b.freePages).toBe(80);
    expect(b.freeRuns()).toEqual([{ start: 5, end: 85 }]);
    expect([b.isReserved(4), b.isReserved(85)]).toEqual([true, true]);
  });

  it("register_bootmem_low_pages refuses a list that is not of integer ranges, freeing nothing", () => {
    const b = bootmem(64);
    const bad = (v: string) =>
      `register_bootmem_low_pages: ${v} is not an array of { base, length } ranges`;
    refused(() => b.registerBootmemLowPages(null as never), LINUX_ERROR.BAD_ARGUMENT, bad("null"));
    // The good first range is not freed either: the list is checked first.
    refused(
      () => b.registerBootmemLowPages([ram(0, 8 * PAGE), { base: PAGE, length: 0.5 }]),
      LINUX_ERROR.BAD_ARGUMENT,
      bad("an array"),
    );
    refused(
      () => b.registerBootmemLowPages([ram(0, PAGE), null as never]),
      LINUX_ERROR.BAD_ARGUMENT,
      bad("an array"),
    );
    // e820 fields are unsigned: [-4096, +8192) would otherwise free page 0.
    refused(
      () => b.registerBootmemLowPages([ram(-PAGE, 2 * PAGE)]),
      LINUX_ERROR.BAD_ARGUMENT,
      bad("an array"),
    );
    refused(
      () => b.registerBootmemLowPages([ram(0, -PAGE)]),
      LINUX_ERROR.BAD_ARGUMENT,
      bad("an array"),
    );
    expect(b.freePages).toBe(0);
    // Length 0 and base 0 are the smallest values accepted.
    b.registerBootmemLowPages([ram(0, 0), ram(0, PAGE)]);
    expect(b.freeRuns()).toEqual([{ start: 0, end: 1 }]);
  });

  it("register_bootmem_low_pages inside one word frees only that range", () => {
    const b = bootmem(96);
    b.registerBootmemLowPages([ram(3 * PAGE, 3 * PAGE), ram(100 * PAGE, 10 * PAGE)]);
    // The second range is wholly above max_low_pfn (96): nothing of it.
    expect(b.freeRuns()).toEqual([{ start: 3, end: 6 }]);
    expect(b.freePages).toBe(3);
  });
});

describe("bootmem: zeroing touches only the pages handed out", () => {
  const dirty = (m: Machine) => {
    // Last word of page 9, first and last words of 10 and 11, first word of 12.
    for (const a of [10 * PAGE - 4, 10 * PAGE, 11 * PAGE - 4, 11 * PAGE, 12 * PAGE - 4, 12 * PAGE])
      m.ram.write32(a, 0xdead_beef);
  };
  const check = (m: Machine, b: Bootmem) => {
    expect(m.ram.read32(10 * PAGE - 4)).toBe(0xdead_beef);
    expect(
      [10 * PAGE, 11 * PAGE - 4, 11 * PAGE, 12 * PAGE - 4].map((a) => m.ram.read32(a)),
    ).toEqual([0, 0, 0, 0]);
    expect(m.ram.read32(12 * PAGE)).toBe(0xdead_beef);
    // Pages 10, 11 reserved now; 8, 9 and 12.. still free.
    expect(b.freeRuns()).toEqual([
      { start: 8, end: 10 },
      { start: 12, end: 64 },
    ]);
  };

  it("before paging: the frames through RAM", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    dirty(m);
    const b = bootmem(64, m);
    b.freeBootmem(8 * PAGE, 56 * PAGE);
    b.reserveBootmem(8 * PAGE, 2 * PAGE);
    expect(b.allocBootmemLowPages(2)).toBe(0xc000_0000 + 10 * PAGE);
    b.freeBootmem(8 * PAGE, 2 * PAGE);
    check(m, b);
  });

  it("with paging on: through the MMU at PAGE_OFFSET + phys", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    // PDE 768 maps 0xc0000000 to physical 0 as a 4 MiB page (directory at 0x1000).
    m.ram.write32(0x1000 + 768 * 4, PDE.P | PDE.RW | PDE.PS);
    m.mmu.loadCr4(m.mmu.cr4 | CR4.PSE);
    m.mmu.loadCr3(0x1000);
    m.mmu.loadCr0(m.mmu.cr0 | CR0.PE | CR0.PG);
    dirty(m);
    const b = bootmem(64, m);
    b.freeBootmem(8 * PAGE, 56 * PAGE);
    b.reserveBootmem(8 * PAGE, 2 * PAGE);
    expect(b.allocBootmemLowPages(2)).toBe(0xc000_0000 + 10 * PAGE);
    b.freeBootmem(8 * PAGE, 2 * PAGE);
    check(m, b);
  });
});

describe("bootmem: options, retirement and the hand-over", () => {
  it("refuses options that cannot describe low memory, naming the value", () => {
    const opts =
      (pageOffset: number, maxLowPfn = 64, m: unknown = machine) =>
      () =>
        new Bootmem({ machine: m as Machine, pageOffset, maxLowPfn });
    const badOffset = (v: string) => `PAGE_OFFSET ${v} is not a page-aligned kernel address`;
    refused(opts(0), LINUX_ERROR.BAD_CONFIG, badOffset("0x00000000"));
    refused(opts(2 ** 32), LINUX_ERROR.BAD_CONFIG, badOffset("0x100000000"));
    refused(opts(0xc000_0800), LINUX_ERROR.BAD_CONFIG, badOffset("0xc0000800"));
    refused(opts(-4096), LINUX_ERROR.BAD_CONFIG, badOffset("-4096"));
    const badPfn = (v: string) => `max_low_pfn ${v} must be an integer in [1, 2^20]`;
    refused(opts(PAGE_OFFSET, 0), LINUX_ERROR.BAD_CONFIG, badPfn("0"));
    refused(opts(PAGE_OFFSET, 2 ** 20 + 1), LINUX_ERROR.BAD_CONFIG, badPfn("1048577"));
    refused(
      opts(PAGE_OFFSET, 64, { mmu: 5 }),
      LINUX_ERROR.BAD_CONFIG,
      "an object is not a machine (createMachine's result)",
    );
    refused(
      opts(PAGE_OFFSET, 64, null),
      LINUX_ERROR.BAD_CONFIG,
      "null is not a machine (createMachine's result)",
    );
    refused(
      () => new Bootmem(null as never),
      LINUX_ERROR.BAD_CONFIG,
      "bootmem options null are not an object",
    );
  });

  it("accepts the extremes: one page, 2^20 pages, PAGE_OFFSET one page either side of the ends", () => {
    // bitmapBytes: ceil(pages / 8) bytes, rounded up to whole 32-bit words.
    expect(new Bootmem({ machine, pageOffset: PAGE, maxLowPfn: 1 }).bitmapBytes).toBe(4);
    expect(new Bootmem({ machine, pageOffset: 2 ** 32 - PAGE, maxLowPfn: 33 }).bitmapBytes).toBe(8);
    expect(bootmem(64).bitmapBytes).toBe(8);
    const big = bootmem(2 ** 20);
    expect(big.bitmapBytes).toBe(131_072);
    expect(big.isReserved(2 ** 20 - 1)).toBe(true);
  });

  it("free_all_bootmem refuses zones of another low memory or not a Zones, and stays live", () => {
    const b = bootmem(64);
    b.freeBootmem(8 * PAGE, 8 * PAGE);
    const other = new Zones({ maxLowPfn: 128, maxPfn: 128 });
    refused(
      () => b.freeAllBootmem(other),
      LINUX_ERROR.BAD_CONFIG,
      "zones end low memory at page 128, bootmem at 64",
    );
    refused(
      () => b.freeAllBootmem({} as Zones),
      LINUX_ERROR.BAD_ARGUMENT,
      "an object is not a Zones",
    );
    expect(b.retired).toBe(false);
    expect(other.dma.populated).toBe(false);
    expect(b.freePages).toBe(8);
  });

  it("free_all_bootmem counts the pages of every run and hands them to DMA and NORMAL", () => {
    // Low memory 4196 pages: DMA [0, 4096), NORMAL [4096, 4196).
    const b = bootmem(4196);
    b.freeBootmem(8 * PAGE, 8 * PAGE); // 8 pages in DMA
    b.freeBootmem(4090 * PAGE, 16 * PAGE); // 6 in DMA, 10 in NORMAL
    const z = new Zones({ maxLowPfn: 4196, maxPfn: 4196 });
    expect(b.freeAllBootmem(z)).toBe(24);
    expect(z.freeCounts()).toEqual({ DMA: 14, NORMAL: 10, HIGHMEM: 0 });
    expect([z.dma.presentPages, z.normal.presentPages]).toEqual([14, 10]);
    // Every later call names itself in the refusal.
    const retired = (what: string) =>
      `${what}: bootmem was retired by free_all_bootmem; its pages belong to the zones now`;
    refused(() => b.isReserved(8), LINUX_ERROR.BOOTMEM_RETIRED, retired("isReserved"));
    refused(
      () => b.registerBootmemLowPages([ram(0, PAGE)]),
      LINUX_ERROR.BOOTMEM_RETIRED,
      retired("registerBootmemLowPages"),
    );
    refused(() => b.freeBootmem(0, PAGE), LINUX_ERROR.BOOTMEM_RETIRED, retired("freeBootmem"));
    refused(
      () => b.reserveBootmem(0, PAGE),
      LINUX_ERROR.BOOTMEM_RETIRED,
      retired("reserveBootmem"),
    );
    refused(
      () => b.allocBootmemLowPages(1),
      LINUX_ERROR.BOOTMEM_RETIRED,
      retired("allocBootmemLowPages"),
    );
    refused(() => b.freeAllBootmem(z), LINUX_ERROR.BOOTMEM_RETIRED, retired("freeAllBootmem"));
  });
});

/**
 * Zones with one free page each, so that every call's page is known:
 * DMA [0, 4096) page 100, NORMAL [4096, 5120) page 4500, HIGHMEM
 * [5120, 6144) page 5500, plus an aligned pair at DMA pages 200, 201.
 */
function onePageZones(): Zones {
  const z = new Zones({ maxLowPfn: 5120, maxPfn: 6144 });
  // Unsorted on purpose: each zone sorts the runs it is given.
  z.populateLowmem([
    { start: 4500, end: 4501 },
    { start: 200, end: 202 },
    { start: 100, end: 101 },
  ]);
  expect(z.setHighmemPagesInit([ram(5500 * PAGE, PAGE)])).toBe(1);
  return z;
}

const names = (z: Zones, gfp: number) => z.zonelist(gfp).map((zone) => zone.name);

describe("zones: the fallback order per GFP mask", () => {
  it("zonelists: __GFP_DMA only DMA; __GFP_HIGHMEM HIGHMEM, NORMAL, DMA; else NORMAL, DMA", () => {
    const z = new Zones({ maxLowPfn: 5120, maxPfn: 6144 });
    expect(names(z, GFP.DMA)).toEqual(["DMA"]);
    expect(names(z, GFP.DMA | GFP.KERNEL)).toEqual(["DMA"]);
    for (const gfp of [0, GFP.KERNEL, GFP.ATOMIC, GFP.USER, GFP.WAIT | GFP.IO | GFP.FS])
      expect(names(z, gfp)).toEqual(["NORMAL", "DMA"]);
    for (const gfp of [GFP.HIGHMEM, GFP.HIGHUSER])
      expect(names(z, gfp)).toEqual(["HIGHMEM", "NORMAL", "DMA"]);
  });

  it("GFP_HIGHUSER takes HIGHMEM's page, then NORMAL's, then DMA's, then nothing", () => {
    const z = onePageZones();
    expect(z.allocPages(GFP.HIGHUSER, 0)).toBe(5500 * PAGE); // 0x0157c000
    expect(z.allocPages(GFP.HIGHUSER, 0)).toBe(4500 * PAGE); // 0x01194000
    expect(z.freeCounts()).toEqual({ DMA: 3, NORMAL: 0, HIGHMEM: 0 });
    const dma = [
      z.allocPages(GFP.HIGHUSER, 0),
      z.allocPages(GFP.HIGHUSER, 0),
      z.allocPages(GFP.HIGHUSER, 0),
    ];
    expect(dma.sort((a, b) => a! - b!)).toEqual([100 * PAGE, 200 * PAGE, 201 * PAGE]);
    expect(z.allocPages(GFP.HIGHUSER, 0)).toBeNull();
  });

  it("GFP_KERNEL takes NORMAL then DMA and leaves HIGHMEM alone", () => {
    const z = onePageZones();
    expect(z.allocPages(GFP.KERNEL, 0)).toBe(4500 * PAGE);
    // Order 1: only DMA's pair at 200 is an order-1 block.
    expect(z.allocPages(GFP.KERNEL, 1)).toBe(200 * PAGE);
    expect(z.allocPages(GFP.KERNEL, 0)).toBe(100 * PAGE);
    expect(z.allocPages(GFP.KERNEL, 0)).toBeNull();
    expect(z.freeCounts()).toEqual({ DMA: 0, NORMAL: 0, HIGHMEM: 1 });
  });

  it("GFP_DMA takes only DMA, and is null while NORMAL and HIGHMEM have pages", () => {
    const z = onePageZones();
    expect(z.allocPages(GFP.DMA, 1)).toBe(200 * PAGE);
    expect(z.allocPages(GFP.DMA, 0)).toBe(100 * PAGE);
    expect(z.allocPages(GFP.DMA, 0)).toBeNull();
    expect(z.freeCounts()).toEqual({ DMA: 0, NORMAL: 1, HIGHMEM: 1 });
  });

  it("counts each page of overlapping or unsorted runs once", () => {
    const z = new Zones({ maxLowPfn: 64, maxPfn: 64 });
    // [20, 25) given first; [10, 20) holds [12, 15); [18, 25) overlaps both: pages 10..24.
    z.populateLowmem([
      { start: 20, end: 25 },
      { start: 10, end: 20 },
      { start: 12, end: 15 },
      { start: 18, end: 25 },
    ]);
    expect([z.dma.presentPages, z.dma.freePages]).toEqual([15, 15]);
    expect(z.allocPagesExact(GFP.KERNEL, 15)).toBeNull(); // 15 pages need a block of 16
    expect(z.allocPagesExact(GFP.KERNEL, 8)).toBe(16 * PAGE); // [16, 24): the one free block of 8
  });

  it("a zone without a block of the order is passed over; with nothing anywhere, null and no change", () => {
    const z = onePageZones();
    // No zone has an order-2 block: null, nothing taken.
    expect(z.allocPages(GFP.HIGHUSER, 2)).toBeNull();
    expect(z.allocPagesExact(GFP.HIGHUSER, 3)).toBeNull();
    expect(z.freeCounts()).toEqual({ DMA: 3, NORMAL: 1, HIGHMEM: 1 });
    // Orders MAX_ORDER (11) to 31 are null, as in the kernel; 32 is refused.
    expect(z.allocPages(GFP.KERNEL, 11)).toBeNull();
    expect(z.allocPages(GFP.KERNEL, 31)).toBeNull();
    refused(
      () => z.allocPages(GFP.KERNEL, 32),
      LINUX_ERROR.BAD_ARGUMENT,
      "order 32 must be an integer in [0, 10]",
    );
    refused(
      () => z.allocPages(GFP.KERNEL, -1),
      LINUX_ERROR.BAD_ARGUMENT,
      "order -1 must be an integer in [0, 10]",
    );
    refused(
      () => z.allocPages(GFP.KERNEL, 0.5),
      LINUX_ERROR.BAD_ARGUMENT,
      "order 0.5 must be an integer in [0, 10]",
    );
  });

  it("a zone's largest order follows its size: NORMAL of 100 pages stops at order 6 (64 pages)", () => {
    // DMA [0, 4096) free only at [256, 384): one order-7 block. NORMAL [4096, 4196) all free.
    const make = () => {
      const z = new Zones({ maxLowPfn: 4196, maxPfn: 4196 });
      z.populateLowmem([
        { start: 256, end: 384 },
        { start: 4096, end: 4196 },
      ]);
      return z;
    };
    const z = make();
    expect(z.normal.buddy!.maxOrder).toBe(6);
    expect(z.dma.buddy!.maxOrder).toBe(10);
    // Order 6 fits NORMAL's one 64-aligned block [4096, 4160).
    expect(z.allocPages(GFP.KERNEL, 6)).toBe(4096 * PAGE);
    // Order 7 is past NORMAL's largest order: DMA's block at 256.
    expect(z.allocPages(GFP.KERNEL, 7)).toBe(256 * PAGE);
    expect(z.freeCounts()).toEqual({ DMA: 0, NORMAL: 36, HIGHMEM: 0 });

    const e = make();
    // 64 pages exactly is NORMAL's largest block; 65 is more, so DMA's 128 holds them.
    expect(e.allocPagesExact(GFP.KERNEL, 64)).toBe(4096 * PAGE);
    expect(e.allocPagesExact(GFP.KERNEL, 65)).toBe(256 * PAGE);
    // 1024 pages is the most alloc_pages_exact may ask for; 1025 is always null.
    expect(e.allocPagesExact(GFP.KERNEL, 1025)).toBeNull();
    expect(e.freeCounts()).toEqual({ DMA: 63, NORMAL: 36, HIGHMEM: 0 });
    e.freePagesExact(256 * PAGE, 65);
    expect(e.freeCounts()).toEqual({ DMA: 128, NORMAL: 36, HIGHMEM: 0 });
  });

  it("alloc_pages_exact of 1024 pages (the largest block) succeeds where a free order-10 block is", () => {
    const z = new Zones({ maxLowPfn: 4096, maxPfn: 4096 });
    z.populateLowmem([{ start: 1024, end: 2048 }]);
    expect(z.allocPagesExact(GFP.KERNEL, 1024)).toBe(1024 * PAGE);
    expect(z.freeCounts().DMA).toBe(0);
  });

  it("an empty or unpopulated zone is passed over, never a crash", () => {
    // max_low_pfn at 16 MiB: NORMAL spans no page at all.
    const z = new Zones({ maxLowPfn: 4096, maxPfn: 4200 });
    expect(z.normal.spannedPages).toBe(0);
    // Before any populate every zone is empty: null.
    expect(z.allocPages(GFP.HIGHUSER, 0)).toBeNull();
    z.populateLowmem([{ start: 10, end: 11 }]);
    expect([z.normal.populated, z.normal.buddy, z.normal.presentPages]).toEqual([true, null, 0]);
    // HIGHMEM not populated yet: HIGHUSER falls back past it and the empty NORMAL to DMA.
    expect(z.allocPagesExact(GFP.HIGHUSER, 1)).toBe(10 * PAGE);
    refused(
      () => z.freePages(4096 * PAGE, 0),
      LINUX_ERROR.OUT_OF_RANGE,
      "free_pages: [0x01000000, 0x01001000) is not inside one populated zone",
    );
    z.freePagesExact(10 * PAGE, 1);
    expect(z.allocPages(GFP.HIGHUSER, 0)).toBe(10 * PAGE);
  });
});

describe("zones: spans and options", () => {
  it("page frames belong to DMA below 16 MiB, NORMAL to max_low_pfn, HIGHMEM to max_pfn", () => {
    const z = new Zones({ maxLowPfn: 5120, maxPfn: 6144 });
    const at = (pfn: number) => z.zoneOfPfn(pfn)?.name ?? null;
    expect([0, 4095, 4096, 5119, 5120, 6143, 6144, -1].map(at)).toEqual([
      "DMA",
      "DMA",
      "NORMAL",
      "NORMAL",
      "HIGHMEM",
      "HIGHMEM",
      null,
      null,
    ]);
    expect(z.zones.map((zone) => [zone.name, zone.startPfn, zone.spannedPages])).toEqual([
      ["DMA", 0, 4096],
      ["NORMAL", 4096, 1024],
      ["HIGHMEM", 5120, 1024],
    ]);
    // Low memory below 16 MiB: DMA ends at max_low_pfn.
    const small = new Zones({ maxLowPfn: 64, maxPfn: 64 });
    expect(small.zones.map((zone) => [zone.startPfn, zone.spannedPages])).toEqual([
      [0, 64],
      [64, 0],
      [64, 0],
    ]);
  });

  it("accepts one page and 2^20 pages; refuses the values past them, naming each", () => {
    expect(new Zones({ maxLowPfn: 1, maxPfn: 1 }).dma.spannedPages).toBe(1);
    expect(new Zones({ maxLowPfn: 1, maxPfn: 2 ** 20 }).highmem.spannedPages).toBe(2 ** 20 - 1);
    const bad = (maxLowPfn: number, maxPfn: number) => () => new Zones({ maxLowPfn, maxPfn });
    refused(bad(1, 0), LINUX_ERROR.BAD_CONFIG, "max_pfn 0 must be an integer in [1, 2^20]");
    refused(
      bad(1, 2 ** 20 + 1),
      LINUX_ERROR.BAD_CONFIG,
      "max_pfn 1048577 must be an integer in [1, 2^20]",
    );
    refused(
      bad(65, 64),
      LINUX_ERROR.BAD_CONFIG,
      "max_low_pfn 65 must be an integer in [1, max_pfn 64]",
    );
    refused(
      bad(0, 64),
      LINUX_ERROR.BAD_CONFIG,
      "max_low_pfn 0 must be an integer in [1, max_pfn 64]",
    );
    refused(
      () => new Zones(null as never),
      LINUX_ERROR.BAD_CONFIG,
      "zone options null are not an object",
    );
  });

  it("refuses GFP masks with unknown bits or both zone modifiers, naming the mask", () => {
    const z = new Zones({ maxLowPfn: 64, maxPfn: 64 });
    const unknown = (v: string) => `gfp mask ${v} has bits this model does not know (known: 0xf3)`;
    refused(() => z.zonelist(0x04), LINUX_ERROR.BAD_ARGUMENT, unknown("0x4"));
    refused(() => z.zonelist(0x08), LINUX_ERROR.BAD_ARGUMENT, unknown("0x8"));
    refused(() => z.zonelist(0xff), LINUX_ERROR.BAD_ARGUMENT, unknown("0xff"));
    refused(() => z.zonelist(0x100), LINUX_ERROR.BAD_ARGUMENT, unknown("0x100"));
    refused(() => z.zonelist(-1), LINUX_ERROR.BAD_ARGUMENT, unknown("-1"));
    refused(() => z.zonelist(0.5), LINUX_ERROR.BAD_ARGUMENT, unknown("0.5"));
    refused(
      () => z.allocPages(GFP.DMA | GFP.HIGHMEM, 0),
      LINUX_ERROR.BAD_ARGUMENT,
      "gfp mask 0x3 asks for both __GFP_DMA and __GFP_HIGHMEM",
    );
    refused(
      () => z.allocPagesExact(GFP.HIGHUSER | GFP.DMA, 1),
      LINUX_ERROR.BAD_ARGUMENT,
      "gfp mask 0xd3 asks for both __GFP_DMA and __GFP_HIGHMEM",
    );
    // Every known bit alone, and all of them but DMA or HIGHMEM, are accepted.
    for (const gfp of [0x01, 0x02, 0x10, 0x20, 0x40, 0x80, 0xf1, 0xf2])
      expect(z.zonelist(gfp).length).toBeGreaterThan(0);
  });

  it("populates each zone once, with the kernel's words for it", () => {
    const z = onePageZones();
    refused(
      () => z.populateLowmem([]),
      LINUX_ERROR.ALREADY_DONE,
      "low memory was handed to the zones already",
    );
    refused(
      () => z.setHighmemPagesInit([]),
      LINUX_ERROR.ALREADY_DONE,
      "zone HIGHMEM was populated already: its pages were handed over once",
    );
    expect(z.freeCounts()).toEqual({ DMA: 3, NORMAL: 1, HIGHMEM: 1 });
  });
});

describe("zones: refused frees name the page, with the code of what is wrong", () => {
  it("a bad order, address, alignment or zone", () => {
    const z = onePageZones();
    const before = z.freeCounts();
    const order = (v: string) => `order ${v} must be an integer in [0, 10]`;
    refused(() => z.freePages(0, 11), LINUX_ERROR.BAD_ARGUMENT, order("11"));
    refused(() => z.freePages(0, -1), LINUX_ERROR.BAD_ARGUMENT, order("-1"));
    refused(
      () => z.freePages(-4096, 0),
      LINUX_ERROR.BAD_ARGUMENT,
      "free_pages: address -4096 is not a non-negative integer",
    );
    refused(
      () => z.freePages(0x1800, 0),
      LINUX_ERROR.UNALIGNED,
      "free_pages: address 0x00001800 is not page-aligned",
    );
    // 201 is odd: not the start of an order-1 block.
    refused(
      () => z.freePages(201 * PAGE, 1),
      LINUX_ERROR.UNALIGNED,
      "free_pages(0x000c9000, 1): not aligned to an order-1 block",
    );
    refused(
      () => z.freePages(6144 * PAGE, 0),
      LINUX_ERROR.OUT_OF_RANGE,
      "free_pages: [0x01800000, 0x01801000) is not inside one populated zone",
    );
    // [4095, 4097) crosses from DMA into NORMAL.
    refused(
      () => z.freePagesExact(4095 * PAGE, 2),
      LINUX_ERROR.OUT_OF_RANGE,
      "free_pages_exact: [0x00fff000, 0x01001000) is not inside one populated zone",
    );
    refused(
      () => z.freePagesExact(0, 0),
      LINUX_ERROR.BAD_ARGUMENT,
      "page count 0 must be a positive integer",
    );
    refused(
      () => z.allocPagesExact(GFP.KERNEL, 0),
      LINUX_ERROR.BAD_ARGUMENT,
      "page count 0 must be a positive integer",
    );
    expect(z.freeCounts()).toEqual(before);
  });

  it("a reserved page, a double free and a wrong order, in the buddy's page frame numbers", () => {
    const z = onePageZones();
    // Page 0 was never handed to the zones: reserved in DMA's buddy.
    refused(
      () => z.freePages(0, 0),
      LINUX_ERROR.NOT_ALLOCATED,
      "page 0x00000000: cannot free [0x0, 0x1): unit 0x0 is reserved (page frame numbers)",
    );
    const p = z.allocPages(GFP.DMA, 1)!; // the pair at 200 = 0xc8
    expect(p).toBe(0xc_8000);
    refused(
      () => z.freePages(p, 0),
      LINUX_ERROR.WRONG_SIZE,
      "page 0x000c8000: 0xc8 is inside an allocated block of order 1 at 0xc8, not a block of order 0 (page frame numbers)",
    );
    z.freePages(p, 1);
    refused(
      () => z.freePages(p, 1),
      LINUX_ERROR.NOT_ALLOCATED,
      "page 0x000c8000: cannot free [0xc8, 0xca): unit 0xc8 is already free (double free) (page frame numbers)",
    );
    expect(z.freeCounts()).toEqual({ DMA: 3, NORMAL: 1, HIGHMEM: 1 });
  });

  it("frees the last page of a zone and every page of a zone's last run", () => {
    const z = new Zones({ maxLowPfn: 5120, maxPfn: 6144 });
    z.populateLowmem([{ start: 4088, end: 4096 }]);
    // The last eight pages of DMA are one order-3 block: taken whole, then
    // given back in two parts, the zone's last page first.
    expect(z.allocPagesExact(GFP.DMA, 8)).toBe(4088 * PAGE);
    z.freePagesExact(4095 * PAGE, 1);
    z.freePagesExact(4088 * PAGE, 7);
    expect(z.freeCounts().DMA).toBe(8);
    expect(z.allocPages(GFP.DMA, 3)).toBe(4088 * PAGE);
  });
});

describe("zones: HIGHMEM from the e820 map", () => {
  it("counts only whole pages at or above max_low_pfn", () => {
    const z = new Zones({ maxLowPfn: 5120, maxPfn: 6144 });
    // [0, 24 MiB): the low 5120 pages are not HIGHMEM's.
    expect(z.setHighmemPagesInit([ram(0, 6144 * PAGE)])).toBe(1024);
    const u = new Zones({ maxLowPfn: 5120, maxPfn: 6144 });
    // [5120.5 pages, 5130.5 pages): pages 5121..5129 are whole.
    expect(u.setHighmemPagesInit([ram(5120 * PAGE + 0x800, 10 * PAGE)])).toBe(9);
    expect(u.freeCounts().HIGHMEM).toBe(9);
  });

  it("sanitises the map first: overlaps once, reserved holes out, unsorted and empty entries", () => {
    const z = new Zones({ maxLowPfn: 5120, maxPfn: 6144 });
    const map = [
      ram(5376 * PAGE, 512 * PAGE), // [5376, 5888), given first
      ram(5120 * PAGE, 512 * PAGE), // [5120, 5632): overlaps the first by 256 pages
      reserved(5200 * PAGE, 10 * PAGE), // [5200, 5210) inside RAM: not RAM
      ram(6000 * PAGE, 0), // empty
    ];
    // RAM [5120, 5888) is 768 pages, less the 10 reserved: 758.
    expect(z.setHighmemPagesInit(map)).toBe(758);
    expect(z.freeCounts().HIGHMEM).toBe(758);
    refused(
      () => z.freePages(5200 * PAGE, 0),
      LINUX_ERROR.NOT_ALLOCATED,
      "page 0x01450000: cannot free [0x1450, 0x1451): unit 0x1450 is reserved (page frame numbers)",
    );
  });

  it("refuses a map with one bad entry among good ones, populating nothing", () => {
    const z = new Zones({ maxLowPfn: 5120, maxPfn: 6144 });
    const bad = "memory map an array is not an array of e820 regions";
    refused(
      () => z.setHighmemPagesInit([ram(5120 * PAGE, PAGE), null as never]),
      LINUX_ERROR.BAD_ARGUMENT,
      bad,
    );
    refused(
      () => z.setHighmemPagesInit([ram(5120 * PAGE, PAGE), { base: 0, length: 1.5 } as never]),
      LINUX_ERROR.BAD_ARGUMENT,
      bad,
    );
    refused(
      () => z.setHighmemPagesInit([{ base: "0", length: PAGE } as never]),
      LINUX_ERROR.BAD_ARGUMENT,
      bad,
    );
    refused(
      () => z.setHighmemPagesInit("nope" as never),
      LINUX_ERROR.BAD_ARGUMENT,
      'memory map "nope" is not an array of e820 regions',
    );
    expect(z.highmem.populated).toBe(false);
    expect(z.setHighmemPagesInit([ram(5120 * PAGE, PAGE)])).toBe(1);
  });

  it("a HIGHMEM that starts off a block boundary still hands out aligned blocks, each freed with its order", () => {
    // max_low_pfn 4097 is odd. Linux's buddy pairs blocks by page frame number,
    // so an order-k block is aligned to 2^k pages in physical memory, and
    // free_pages checks exactly that.
    const z = new Zones({ maxLowPfn: 4097, maxPfn: 4200 });
    expect(z.setHighmemPagesInit([ram(0, 4200 * PAGE)])).toBe(103);
    const taken: [number, number][] = [];
    for (const order of [0, 1, 2, 3, 4, 5, 6, 1, 0, 2]) {
      const p = z.allocPages(GFP.HIGHUSER, order);
      if (p === null) continue;
      expect(p / PAGE).toBeGreaterThanOrEqual(4097);
      expect((p / PAGE) % 2 ** order).toBe(0);
      taken.push([p, order]);
    }
    expect(taken.length).toBeGreaterThan(5);
    for (const [p, order] of taken) z.freePages(p, order);
    expect(z.freeCounts().HIGHMEM).toBe(103);
    // Page 4096 lies in NORMAL, not in HIGHMEM's buddy.
    expect(z.zoneOfPfn(4096)?.name).toBe("NORMAL");
  });
});

describe("e820: sanitising the map as sanitize_e820_map does", () => {
  it("sorts, drops empty and non-RAM entries", () => {
    expect(
      usableRegions([
        ram(0x20_0000, 0x10_0000),
        reserved(0xf_0000, 0x1_0000),
        { base: 0xe_0000, length: 0x1_0000, type: E820.ACPI_RECLAIMABLE },
        ram(0x50_0000, 0),
        ram(0, 0x9_f000),
      ]),
    ).toEqual([ram(0, 0x9_f000), ram(0x20_0000, 0x10_0000)]);
    expect(usableRegions([])).toEqual([]);
    // An empty RAM entry with no other type in the map to cut it away.
    expect(usableRegions([ram(0x5000, 0), ram(0, 0x1000)])).toEqual([ram(0, 0x1000)]);
  });

  it("merges RAM that overlaps or touches", () => {
    expect(usableRegions([ram(0x8000, 0x1_0000), ram(0, 0x1_0000)])).toEqual([ram(0, 0x1_8000)]);
    expect(usableRegions([ram(0, 0x1000), ram(0x1000, 0x1000)])).toEqual([ram(0, 0x2000)]);
    // One inside another.
    expect(usableRegions([ram(0, 0x1_0000), ram(0x4000, 0x1000)])).toEqual([ram(0, 0x1_0000)]);
    // A hole between two stays.
    expect(usableRegions([ram(0x3000, 0x1000), ram(0, 0x1000)])).toEqual([
      ram(0, 0x1000),
      ram(0x3000, 0x1000),
    ]);
  });

  it("cuts every other type out of RAM where they overlap (the non-RAM type wins)", () => {
    // In the middle: two pieces.
    expect(usableRegions([ram(0, 0x1_0000), reserved(0x4000, 0x1000)])).toEqual([
      ram(0, 0x4000),
      ram(0x5000, 0xb000),
    ]);
    // Over the start, over the end, over all of it; an empty reserved entry cuts nothing.
    expect(usableRegions([reserved(0, 0x1000), ram(0, 0x3000)])).toEqual([ram(0x1000, 0x2000)]);
    expect(usableRegions([ram(0, 0x10_0000), reserved(0x9_f000, 0x6_1000)])).toEqual([
      ram(0, 0x9_f000),
    ]);
    expect(
      usableRegions([ram(0x1000, 0x1000), { base: 0, length: 0x4000, type: E820.BAD }]),
    ).toEqual([]);
    expect(usableRegions([ram(0, 0x2000), reserved(0x1000, 0)])).toEqual([ram(0, 0x2000)]);
  });

  it("find_max_pfn: the end of the highest whole page of RAM", () => {
    expect(findMaxPfn([])).toBe(0);
    // [0, 0x1800) ends inside page 1: max_pfn 1.
    expect(findMaxPfn([ram(0, 0x1800)])).toBe(1);
    // Holes and unsorted: the highest region counts.
    expect(findMaxPfn([ram(0x100_0000, 0x10_0000), ram(0, 0x9_f000)])).toBe(0x1100);
    // An empty region higher up counts for nothing, nor a region holding no whole page.
    expect(findMaxPfn([ram(0, 16 * MiB), ram(0x4000_0000, 0)])).toBe(4096);
    expect(findMaxPfn([ram(0, 16 * MiB), ram(0x4000_0800, 0x400)])).toBe(4096);
    // [0x1800, 0x2000) ends on a page boundary but holds no whole page.
    expect(findMaxPfn([ram(0x1800, 0x800)])).toBe(0);
    // Reserved over the top page of RAM takes it away.
    expect(findMaxPfn([ram(0, 16 * MiB), reserved(16 * MiB - PAGE, PAGE)])).toBe(4095);
    // Non-RAM above RAM is not RAM.
    expect(findMaxPfn([ram(0, 16 * MiB), reserved(0xfffc_0000, 0x4_0000)])).toBe(4096);
  });
});
