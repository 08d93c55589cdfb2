/** The `--design whitix` story tells what the machine did, not what it hoped. */
import { describe, expect, it } from "vitest";
import { whitixTour } from "../src/whitix/index.js";

// Each test runs the tour itself: run at describe level, outside any test,
// it would make every mutant of the code it runs static for Stryker (run
// against all related tests instead of the tests that cover it).
describe("whitixTour", () => {
  it("reads the same PTE through the window and physically", () => {
    const t = whitixTour();
    // Hand-worked: 0xC0000000 >>> 12 = 0xC0000, times 4 = 0x300000, plus 0xFFC00000.
    expect(t).toContain("= 0xfff00000");
    expect(t).toContain("(the same word)");
    expect(t).not.toContain("DIFFERENT");
  });
  it("shows the code write fault with error code 3", () => {
    const t = whitixTour();
    expect(t).toContain("#PF at 0x00100000, error code 3");
    expect(t).not.toContain("WRONG");
  });
  it("tells the boot's layout and the window's PDE address as worked by hand", () => {
    const t = whitixTour();
    // 0x00100000 + 0x80000 of code - 1; the directory after code and data, PDE 1023 = D | P | RW.
    expect(t).toContain("kernel code 0x00100000-0x0017ffff read-only");
    expect(t).toContain("kernel directory at 0x00200000, PDE 1023 = 0x00200003 (itself)");
    expect(t).toContain("CR0.WP = 1;");
    // 0x08048000 >>> 22 = 32: its PDE at 0xFFFFF000 + 32 * 4 = 0xFFFFF080, absent in the kernel directory.
    expect(t).toContain("PDE of 0x08048000 at 0xfffff080 is not present here");
  });
  it("edits another space through VirtAllocateTemp", () => {
    const t = whitixTour();
    expect(t).toContain("VirtAllocateTemp(");
    expect(t).toContain("reads 0x0000cafe at CPL 3");
  });
});
