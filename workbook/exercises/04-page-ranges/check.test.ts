/**
 * Exercise 4's checks: the PageRanges conformance suite, then ppalloc built
 * from a firmware memory map with your page ranges, in a booted stack.
 */
import { buddyRanges } from "@mm386/allocation";
import { describePageRangesConformance } from "@mm386/allocation/conformance";
import { E820, PAGE_SIZE, hex32 } from "@mm386/hw-i386";
import { createStack } from "@mm386/malloc";
import { describe, expect, it } from "vitest";
import type { PageRangesExercise } from "../../src/exercise-api.js";
import { earlierLayers, implLabel, loadExercise } from "../../src/kit.js";

const { pageRanges } = await loadExercise<PageRangesExercise>(4);
const layers = await earlierLayers(4);

describePageRangesConformance(`exercise 4 (${implLabel(4)})`, pageRanges);

describe(`exercise 4, min and max (${implLabel(4)})`, () => {
  it("never hands out fewer than min pages: null when free memory is too fragmented", () => {
    // 16 pages, every other one taken: 8 pages free, but no two of them next to each other.
    const base = 0x0040_0000;
    const r = pageRanges("fragmented", base, 16 * PAGE_SIZE, layers.rangeAllocator ?? buddyRanges);
    const pages = Array.from({ length: 16 }, () => r.alloc(1, 1)!.start);
    for (let i = 0; i < 16; i += 2) r.free(pages[i]!, 1);
    expect(r.freePages).toBe(8);
    // ppalloc(2, 4) means "2 pages at least": with no 2 free pages in a row, that is null.
    const got = r.alloc(2, 4);
    expect(
      got,
      `alloc(2, 4) with only single pages free gave ${got ? `${got.pages} page(s) at ${hex32(got.start)}` : "null"}`,
    ).toBeNull();
    expect(r.freePages, "a refused alloc takes nothing").toBe(8);
    // min 1 is satisfied by a single page, even though 4 were welcome.
    expect(r.alloc(1, 4)).toMatchObject({ pages: 1 });
  });
});

describe(`exercise 4 in a booted stack (${implLabel(4)})`, () => {
  it("ppalloc hands out only usable RAM: never the first MiB, the kernel, the boot tables or a hole", () => {
    const MiB = 1024 * 1024;
    // 12 MiB of RAM with a hole at [6 MiB, 7 MiB) and a firmware-reserved page at 9 MiB.
    const memoryMap = [
      { base: 0, length: 0x9_f000, type: E820.USABLE },
      { base: 0x9_f000, length: 0x6_1000, type: E820.RESERVED },
      { base: 1 * MiB, length: 5 * MiB, type: E820.USABLE },
      { base: 7 * MiB, length: 5 * MiB, type: E820.USABLE },
      { base: 9 * MiB, length: 4096, type: E820.RESERVED },
    ];
    const s = createStack({
      ...layers,
      pageRanges,
      ramBytes: 12 * MiB,
      memoryMap,
      kernelSize: MiB,
    });
    const kernelEnd = 2 * MiB + 2 * PAGE_SIZE; // the image at 1 MiB, then the boot directory and table
    const seen = new Set<number>();
    for (let r = s.allocators.ppalloc(1, 3); r !== null; r = s.allocators.ppalloc(1, 3)) {
      for (let i = 0; i < r.pages; i++) {
        const f = r.start + i * PAGE_SIZE;
        expect(f % 4096).toBe(0);
        expect(seen.has(f), `frame ${hex32(f)} twice`).toBe(false);
        seen.add(f);
        expect(
          f >= kernelEnd,
          `frame ${hex32(f)} is below the end of the kernel ${hex32(kernelEnd)}`,
        ).toBe(true);
        expect(
          f >= 6 * MiB && f < 7 * MiB,
          `frame ${hex32(f)} is in the hole [0x00600000, 0x00700000)`,
        ).toBe(false);
        expect(f, "the reserved page at 9 MiB").not.toBe(9 * MiB);
        expect(f < 12 * MiB).toBe(true);
      }
    }
    // Every usable page above the kernel that the stack did not use itself was handed out.
    expect(seen.size).toBeGreaterThan((12 - 2 - 1) * 256 - 64);
  });

  it("vpcreate gives each address space its own region; vpalloc and vpfree work in it", () => {
    const s = createStack({ ...layers, pageRanges, ramBytes: 16 * 1024 * 1024 });
    const vpa = s.allocators.vpcreate(0x0040_0000, 0x0010_0000);
    const a = s.allocators.vpalloc(vpa, 2, 2)!;
    expect(a.start >= 0x0040_0000 && a.start + 2 * 4096 <= 0x0050_0000).toBe(true);
    s.allocators.vpfree(vpa, a.start, 2);
    expect(vpa.freePages).toBe(256);
    const k = s.allocators.vpalloc(1, 1)!;
    expect(k.start >= 0xc000_0000).toBe(true);
  });
});
