import { describe, expect, it } from "vitest";
import { defaultStyle, runHwTour } from "../src/index.js";

function tour() {
  const lines: string[] = [];
  const result = runHwTour((l) => lines.push(l), defaultStyle(false));
  return { lines, text: lines.join("\n"), result };
}

describe("the hw-i386 tour (main program)", () => {
  it("shows a stale TLB entry, then the fix after invlpg", () => {
    const { result } = tour();
    const { ram } = result.machine;
    expect(result.before).toBe(ram.read32(0x0010_0000)); // the first frame's word
    expect(result.stale).toBe(result.before); // stale: same as before the PTE edit
    expect(result.after).toBe(ram.read32(0x0020_0000)); // the new frame's word
    expect(result.after).not.toBe(result.before);
  });

  it("provokes a protection fault from user mode and a not-present fault", () => {
    const { result, text } = tour();
    expect(result.faults.map((f) => [f.errorCode, f.cr2])).toEqual([
      [0b111, 0xc000_0000],
      [0b000, 0x0080_0000],
    ]);
    expect(text).toContain("#PF, error code 7 = protection, write, user; CR2 = 0xc0000000");
  });

  it("prints a miss with its walk, then a hit", () => {
    const { text } = tour();
    const miss = text.indexOf("tlb-miss 0xc0000000");
    const walk = text.indexOf("walk     PDE@0x00001c00");
    const hit = text.indexOf("tlb-hit  0xc0000004");
    expect(miss).toBeGreaterThan(0);
    expect(walk).toBeGreaterThan(miss);
    expect(hit).toBeGreaterThan(walk);
    expect(text).toContain("counters: 1 hit, 1 miss, 1 walk");
  });

  it("prints plain text when colour is off, and colour when asked", () => {
    // eslint-disable-next-line no-control-regex
    expect(tour().text).not.toMatch(/\u001b\[/);
    const coloured: string[] = [];
    runHwTour((l) => coloured.push(l), defaultStyle(true));
    // eslint-disable-next-line no-control-regex
    expect(coloured.join("\n")).toMatch(/\u001b\[/);
  });
});

describe("the paging chapter of the tour", () => {
  it("shows the identity map gone, two isolated address spaces and their dumps", async () => {
    const { runPagingTour } = await import("../src/index.js");
    const lines: string[] = [];
    const r = runPagingTour((l) => lines.push(l), defaultStyle(false));
    const text = lines.join("\n");
    expect(r.lowFault).toBe(0);
    expect(r.reads).toEqual([0xaaaa_0001, 0xbbbb_0002]); // the frames' own markers
    expect(r.isolationFault).toBe(4);
    expect(text).toContain("0x00400000-0x00400fff -> ");
    expect(text).toContain("vpde[2] = ");
    expect(text).toContain("#PF error 5 (protection, user)");
  });
});
