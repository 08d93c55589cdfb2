import { describe, expect, it } from "vitest";
import { defaultStyle, runPagingTour, runStackTour } from "../src/index.js";

function tour() {
  const lines: string[] = [];
  const paging = runPagingTour((l) => lines.push(l), defaultStyle(false));
  const result = runStackTour(paging.stack, (l) => lines.push(l), defaultStyle(false));
  return { text: lines.join("\n"), result, stack: paging.stack };
}

describe("the kernel-memory chapter (main program)", () => {
  it("shows the buddy free lists change as ppalloc(3, 3) splits a block and returns one frame", () => {
    const { text } = tour();
    const counts = (label: string): Record<string, number> => {
      const line = new RegExp(`${label}: (.*)`).exec(text)![1]!;
      const out: Record<string, number> = {};
      for (const m of line.matchAll(/o(\d+):(\d+)/g)) out[m[1]!] = Number(m[2]);
      return out;
    };
    const before = counts("before");
    const after = counts("after");
    expect((after["0"] ?? 0) - (before["0"] ?? 0)).toBe(1); // the 4th frame of the block, given back
    // Free frames in the lists went down by exactly 3.
    const frames = (c: Record<string, number>) =>
      Object.entries(c).reduce((a, [k, n]) => a + n * 2 ** Number(k), 0);
    expect(frames(before) - frames(after)).toBe(3);
  });

  it("reports kvmalloc's frames as the page tables have them, and a fault after kvfree", () => {
    const { result, text } = tour();
    expect(result.frames).toHaveLength(3);
    expect(new Set(result.frames).size).toBe(3);
    expect(result.freedFault).toBe(0);
    expect(text).toContain(`#PF error 0`);
  });

  it("prints the heap dump with every pointer malloc returned, and the freed block as free", () => {
    const { result, text, stack } = tour();
    const [a, b, c, d] = result.pointers;
    for (const p of [a, c, d])
      expect(text).toMatch(new RegExp(`0x${p!.toString(16)}\\s+\\d+ B  allocated`));
    expect(text).toMatch(new RegExp(`0x${b!.toString(16)}\\s+\\d+ B  free`));
    for (const p of result.pointers) expect(p % 8).toBe(0);
    // The payloads do not overlap: each one's first word keeps what is written to it.
    result.pointers.forEach((p, i) => i !== 1 && stack.mmu.write32(p, i));
    result.pointers.forEach((p, i) => i !== 1 && expect(stack.mmu.read32(p)).toBe(i));
    expect(text).toContain("workbook");
  });

  it("accounts for every page the heap holds: the regions shown, control words inside the first", () => {
    const { text, stack } = tour();
    const [, held, shown] = /(\d+) page\(s\) held, (\d+) in the regions shown/.exec(text)!;
    expect(Number(held)).toBe(Number(shown)); // a few small blocks: no large block, no slab
    // Independently: the pages the heap's blocks span, from its own block list, plus the control words.
    const heap = stack.heap as import("@mm386/malloc").Malloc;
    const spans = heap.blocks().filter((b) => !b.large);
    const bytes = spans.reduce((a, b) => a + b.size, 0);
    expect(Math.ceil(bytes / 4096)).toBe(Number(shown));
  });

  it("says which machine each chapter runs on", () => {
    const { text } = tour();
    expect(text).toMatch(/Chapters 8 to 12 run on a new machine: 32 MiB of RAM/);
    // The kernel-memory part restates it, from the machine itself.
    const [, mib] = /same machine as chapters 8 to 10: (\d+) MiB of RAM/.exec(text)!;
    expect(Number(mib)).toBe(32);
  });
});
