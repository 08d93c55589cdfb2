import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PAGE_SIZE, pageOffset } from "../src/index.js";

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
