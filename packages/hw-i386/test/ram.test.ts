import { describe, expect, it } from "vitest";
import {
  E820,
  HW_ERROR,
  HwError,
  PhysicalMemory,
  createMachine,
  defaultMemoryMap,
} from "../src/index.js";

describe("PhysicalMemory", () => {
  it("reads zero everywhere and costs nothing until written", () => {
    const ram = new PhysicalMemory();
    expect(ram.read32(0)).toBe(0);
    expect(ram.read32(0xffff_fffc)).toBe(0);
    expect(ram.read8(0x1234_5678)).toBe(0);
    expect(ram.touchedFrames).toBe(0);
  });

  it("creates a frame on first write, anywhere in 4 GiB", () => {
    const ram = new PhysicalMemory();
    ram.write32(0xffff_fffc, 0xcafe_babe);
    ram.write8(0x8000_0001, 0x7f);
    expect(ram.touchedFrames).toBe(2);
    expect(ram.read32(0xffff_fffc)).toBe(0xcafe_babe);
    expect(ram.read8(0x8000_0001)).toBe(0x7f);
  });

  it("is little-endian", () => {
    const ram = new PhysicalMemory();
    ram.write32(0x100, 0x1122_3344);
    expect([0, 1, 2, 3].map((i) => ram.read8(0x100 + i))).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect(ram.read16(0x100)).toBe(0x3344);
    expect(ram.read16(0x102)).toBe(0x1122);
    expect(ram.read16(0x101)).toBe(0x2233);
    ram.write16(0x200, 0xbeef);
    expect(ram.read8(0x200)).toBe(0xef);
    expect(ram.read8(0x201)).toBe(0xbe);
  });

  it("handles unaligned words that straddle two frames", () => {
    const ram = new PhysicalMemory();
    ram.write32(0x1ffe, 0xa1b2_c3d4);
    expect(ram.read8(0x1ffe)).toBe(0xd4);
    expect(ram.read8(0x1fff)).toBe(0xc3);
    expect(ram.read8(0x2000)).toBe(0xb2);
    expect(ram.read8(0x2001)).toBe(0xa1);
    expect(ram.read32(0x1ffe)).toBe(0xa1b2_c3d4);
    expect(ram.read32(0x2000)).toBe(0x0000_a1b2);
  });

  it("takes signed and unsigned spellings of the same 32 bits", () => {
    const ram = new PhysicalMemory();
    ram.write32(0x10, -1);
    expect(ram.read32(0x10)).toBe(0xffff_ffff);
    ram.write8(0x20, -1);
    expect(ram.read8(0x20)).toBe(0xff);
    ram.write32(0xc000_0000 | 0x10, 5); // a negative int32 address
    expect(ram.read32(0xc000_0010)).toBe(5);
  });

  it.each([
    ["read32", () => new PhysicalMemory().read32(2 ** 32), /0x100000000|4294967296/],
    ["read8", () => new PhysicalMemory().read8(1.5), /1.5/],
    ["write8", () => new PhysicalMemory().write8(0, 256), /value 256/],
    ["write16", () => new PhysicalMemory().write16(0, 0x10000), /value 65536/],
    ["write32", () => new PhysicalMemory().write32(0, 2 ** 32), /value 4294967296/],
  ])("%s refuses bad input with a typed error naming it", (_name, call, message) => {
    expect(call).toThrow(HwError);
    expect(call).toThrow(message);
  });

  it("leaves memory unchanged after a refused write", () => {
    const ram = new PhysicalMemory();
    expect(() => ram.write32(0x40, 2 ** 33)).toThrow(HwError);
    expect(ram.touchedFrames).toBe(0);
  });

  it("keeps every word when storage grows (the first aligned write to a new frame)", () => {
    // Regression: the pool array was read before the slot lookup that replaces it, so the
    // write that made the pool grow landed in the old array and was lost.
    const ram = new PhysicalMemory();
    for (let f = 0; f < 300; f++) ram.write32(f * 4096, 0x1000 + f);
    for (let f = 0; f < 300; f++) expect(ram.read32(f * 4096)).toBe(0x1000 + f);
    expect(ram.touchedFrames).toBe(300);
  });

  it("clearFrame zeroes a frame in place", () => {
    const ram = new PhysicalMemory();
    ram.write32(0x3004, 9);
    ram.clearFrame(3);
    expect(ram.read32(0x3004)).toBe(0);
  });
});

describe("memory map", () => {
  it("reports the PC layout with the 0xA0000-0xFFFFF hole", () => {
    const map = defaultMemoryMap(32 * 1024 * 1024);
    const usable = map.filter((r) => r.type === E820.USABLE);
    expect(usable).toEqual([
      { base: 0, length: 0x9fc00, type: E820.USABLE },
      { base: 0x100000, length: 31 * 1024 * 1024, type: E820.USABLE },
    ]);
    const covers = (a: number) => map.find((r) => a >= r.base && a < r.base + r.length);
    expect(covers(0xa0000)?.type).toBe(E820.RESERVED);
    expect(covers(0xfffff)?.type).toBe(E820.RESERVED);
    // Regions never overlap.
    const sorted = [...map].sort((a, b) => a.base - b.base);
    for (let i = 1; i < sorted.length; i++) {
      expect(sorted[i]!.base).toBeGreaterThanOrEqual(sorted[i - 1]!.base + sorted[i - 1]!.length);
    }
  });

  it("is frozen and sized by the installed RAM", () => {
    const ram = new PhysicalMemory({ installedBytes: 16 * 1024 * 1024 });
    expect(Object.isFrozen(ram.memoryMap)).toBe(true);
    const top = Math.max(
      ...ram.memoryMap.filter((r) => r.type === E820.USABLE).map((r) => r.base + r.length),
    );
    expect(top).toBe(16 * 1024 * 1024);
  });

  it("refuses an impossible RAM size", () => {
    expect(() => defaultMemoryMap(1024)).toThrow(/installed RAM 1024/);
  });
});

describe("RAM follows the memory map (issue 10, item 1)", () => {
  const map = (usableEnd: number) => [
    { base: 0, length: 0x9f000, type: E820.USABLE },
    { base: 0xa0000, length: 0x60000, type: E820.RESERVED },
    { base: 0x10_0000, length: usableEnd - 0x10_0000, type: E820.USABLE },
  ];

  it.each([16, 128, 3840])("a map whose usable RAM ends at %i MiB makes that much RAM", (mib) => {
    const { ram } = createMachine({ memoryMap: map(mib * 2 ** 20) });
    expect(ram.installedBytes).toBe(mib * 2 ** 20);
    // The last word of RAM holds what is written; past it (firmware space) too, sparsely.
    const last = mib * 2 ** 20 - 4;
    ram.write32(last, 0xdead_beef);
    expect(ram.read32(last)).toBe(0xdead_beef);
  });

  it("refuses a RAM size that disagrees with the map, and malformed map entries", () => {
    expect(() => new PhysicalMemory({ installedBytes: 2 ** 26, memoryMap: map(2 ** 24) })).toThrow(
      /installed RAM 0x04000000 disagrees with the memory map, whose usable RAM ends at 0x01000000/,
    );
    const bad: unknown[] = [
      [{ base: -1, length: 10, type: E820.USABLE }],
      [{ base: 0, length: 2 ** 33, type: E820.USABLE }],
      [{ base: 0, length: 10, type: 9 }],
      [null],
      "not a map",
    ];
    for (const m of bad) {
      expect(() => new PhysicalMemory({ memoryMap: m as never })).toThrow(
        expect.objectContaining({ code: HW_ERROR.BAD_CONFIG }),
      );
    }
  });
});

describe("storage: sparse frames, then flat RAM", () => {
  it("keeps every word and an exact touched count while RAM goes from sparse to flat", () => {
    const ram = new PhysicalMemory({ installedBytes: 32 * 2 ** 20 });
    // Frames spread over RAM (sparse at first, then flat once enough are written) and
    // above it (always sparse), in an order that is neither ascending nor descending.
    const frames = Array.from({ length: 100 }, (_, i) => (i * 2654435761) % 8192);
    frames.push(0xfffff, 0xfee00);
    const unique = [...new Set(frames)];
    unique.forEach((pfn, i) => {
      ram.write8(pfn * 4096 + 3, i & 0xff);
      ram.write32(pfn * 4096 + 4092, pfn);
    });
    expect(ram.touchedFrames).toBe(unique.length);
    unique.forEach((pfn, i) => {
      expect(ram.read8(pfn * 4096 + 3)).toBe(i & 0xff);
      expect(ram.read32(pfn * 4096 + 4092)).toBe(pfn);
    });
    ram.clearFrame(unique[50]!);
    ram.clearFrame(0xfffff);
    expect(ram.read32(unique[50]! * 4096 + 4092)).toBe(0);
    expect(ram.read32(0xfffff * 4096 + 4092)).toBe(0);
    expect(ram.read32(unique[51]! * 4096 + 4092)).toBe(unique[51]);
  });

  it("keeps a frame's words when many accesses to it make RAM flat", () => {
    const ram = new PhysicalMemory({ installedBytes: 32 * 2 ** 20 });
    const pa = 0x10_0000; // above the first 256 KiB: sparse at first
    for (let i = 0; i < 5000; i++) ram.write32(pa + 4 * (i % 1024), i);
    for (let i = 0; i < 1024; i++)
      expect(ram.read32(pa + 4 * i)).toBe(i + 4096 < 5000 ? i + 4096 : i + 3072);
    expect(ram.touchedFrames).toBe(1);
  });
});
