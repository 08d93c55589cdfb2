import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ENTRIES_PER_TABLE, PAGE_SIZE, pageOffset, pdeIndex, pteIndex } from "../src/index.js";

describe("pageOffset", () => {
  it("is the remainder by the page size, worked by hand at the edges", () => {
    expect(pageOffset(0)).toBe(0);
    expect(pageOffset(4095)).toBe(4095);
    expect(pageOffset(4096)).toBe(0);
    expect(pageOffset(0x7fff_ffff)).toBe(0xfff);
    expect(pageOffset(0x8000_0000)).toBe(0);
    expect(pageOffset(0xc000_1234)).toBe(0x234);
    expect(pageOffset(0xffff_ffff)).toBe(0xfff);
    expect(pageOffset(2 ** 32)).toBe(0);
    expect(pageOffset(2 ** 32 + 8)).toBe(8);
    expect(pageOffset(Number.MAX_SAFE_INTEGER)).toBe(0xfff);
  });

  it("agrees with % for every non-negative safe integer", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (v) => {
        expect(pageOffset(v)).toBe(v % PAGE_SIZE);
      }),
    );
  });
});

describe("pdeIndex and pteIndex", () => {
  it("split a linear address as the SDM's figure does, worked by hand", () => {
    // 0xc040_1234 = 1100000001 0000000001 001000110100 in binary.
    expect(pdeIndex(0xc040_1234)).toBe(0x301);
    expect(pteIndex(0xc040_1234)).toBe(1);
    expect([pdeIndex(0), pteIndex(0)]).toEqual([0, 0]);
    expect([pdeIndex(0x003f_f000), pteIndex(0x003f_f000)]).toEqual([0, 0x3ff]);
    expect([pdeIndex(0x0040_0000), pteIndex(0x0040_0000)]).toEqual([1, 0]);
    expect([pdeIndex(0xffff_ffff), pteIndex(0xffff_ffff)]).toEqual([0x3ff, 0x3ff]);
  });

  it("give back the address with the page offset, for every 32-bit address", () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffff_ffff }), (va) => {
        expect(pdeIndex(va)).toBeLessThan(ENTRIES_PER_TABLE);
        expect(pteIndex(va)).toBeLessThan(ENTRIES_PER_TABLE);
        const back = (pdeIndex(va) * ENTRIES_PER_TABLE + pteIndex(va)) * PAGE_SIZE + pageOffset(va);
        expect(back).toBe(va);
      }),
    );
  });
});
