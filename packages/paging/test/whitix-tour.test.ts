/** The `--design whitix` story tells what the machine did, not what it hoped. */
import { describe, expect, it } from "vitest";
import { whitixTour } from "../src/whitix/index.js";

describe("whitixTour", () => {
  const t = whitixTour();
  it("reads the same PTE through the window and physically", () => {
    // Hand-worked: 0xC0000000 >>> 12 = 0xC0000, times 4 = 0x300000, plus 0xFFC00000.
    expect(t).toContain("= 0xfff00000");
    expect(t).toContain("(the same word)");
    expect(t).not.toContain("DIFFERENT");
  });
  it("shows the code write fault with error code 3", () => {
    expect(t).toContain("#PF at 0x00100000, error code 3");
    expect(t).not.toContain("WRONG");
  });
  it("edits another space through VirtAllocateTemp", () => {
    expect(t).toContain("VirtAllocateTemp(");
    expect(t).toContain("reads 0x0000cafe at CPL 3");
  });
});
