/**
 * Exercise 5's checks: the boot tables read back physically, options and bad
 * configurations, and the paging conformance suite on stacks you booted.
 */
import { CR0, PageFault, createMachine } from "@mm386/hw-i386";
import { createStack } from "@mm386/malloc";
import { describePagingConformance } from "@mm386/paging/conformance";
import { expectHex } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import type { BootExercise } from "../../src/exercise-api.js";
import { bootWith, earlierLayers, implLabel, loadExercise, machineWith } from "../../src/kit.js";

const { boot } = await loadExercise<BootExercise>(5);
const layers = await earlierLayers(5);
const MiB = 1024 * 1024;

describe(`exercise 5, the boot page table (${implLabel(5)})`, () => {
  it("maps the first 4 MiB 1:1 and the kernel at the split, with two tables, keeping the window entry free", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    m.ram.write32(0x0020_1000 + 4 * 1023, 0xdead_beef); // garbage where the kernel table will go
    const info = boot(m, {});
    expect(info.split).toBe(0xc000_0000);
    expectHex(info.pageDirectory, 0x0020_0000, "pageDirectory"); // right after a 1 MiB image at 1 MiB
    expectHex(info.pageTable, 0x0020_1000, "pageTable");
    expectHex(info.identityTable, 0x0020_2000, "identityTable");
    expectHex(info.mappedBytes, 0x0020_3000, "mappedBytes");
    expectHex(info.windowVa, 0xc000_0000 + 1023 * 4096, "windowVa");
    const { ram, mmu } = m;
    expect((mmu.cr3 & 0xffff_f000) >>> 0).toBe(info.pageDirectory);
    expect(mmu.pagingEnabled).toBe(true);
    expect((mmu.cr0 & CR0.PG) >>> 0 === CR0.PG >>> 0).toBe(true);
    // "PDE 0: expected 0x00202003, got 0x00000000": labelled, in hex.
    const entry = (pa: number, what: string, want: number) =>
      expectHex(ram.read32(pa), want >>> 0, what);
    entry(info.pageDirectory, "PDE 0", (0x0020_2000 | 3) >>> 0);
    entry(info.pageDirectory + 4 * 768, "PDE 768", (0x0020_1000 | 3) >>> 0);
    for (let r = 0; r < 1024; r++)
      if (r !== 0 && r !== 768) entry(info.pageDirectory + 4 * r, `PDE ${r}`, 0);
    for (let i = 0; i < 1024; i++) {
      entry(0x0020_2000 + 4 * i, `identity PTE ${i}`, (i * 4096) | 3);
      // The kernel table: 0xC0000000 + x -> 0x00100000 + x, through the identity table's frame.
      entry(0x0020_1000 + 4 * i, `kernel PTE ${i}`, i < 0x103 ? (0x0010_0000 + i * 4096) | 3 : 0);
    }
    // Through the MMU: the kernel at both addresses.
    ram.write32(0x0010_0040, 0x4b524e4c);
    expect(mmu.read32(0x0010_0040)).toBe(0x4b524e4c);
    expect(mmu.read32(0xc000_0040)).toBe(0x4b524e4c);
    expect(() => mmu.read32(0xc010_3000)).toThrow(PageFault);
  });

  it("reports the ranges later allocators must keep out of service", () => {
    const info = boot(createMachine({ ramBytes: 16 * MiB }), {});
    const covers = (rs: readonly { start: number; length: number }[], a: number) =>
      rs.some((r) => a >= r.start && a < r.start + r.length);
    expect(covers(info.reservedPhysical, info.pageDirectory)).toBe(true);
    expect(covers(info.reservedPhysical, info.pageTable)).toBe(true);
    expect(covers(info.reservedPhysical, info.identityTable!)).toBe(true);
    expect(covers(info.reservedVirtual, 0xc000_0000)).toBe(true);
    expect(covers(info.reservedVirtual, 0xc000_0000 + info.mappedBytes - info.kernelLoad - 1)).toBe(
      true,
    );
    expect(covers(info.reservedVirtual, info.windowVa)).toBe(true);
  });

  it("honours the split, the load address and the size", () => {
    const info = boot(createMachine({ ramBytes: 16 * MiB }), {
      split: 0x8000_0000,
      kernelLoad: 0x0020_0000,
      kernelSize: 0x1_2345,
    });
    expect([info.split, info.kernelLoad, info.kernelSize]).toEqual([
      0x8000_0000, 0x0020_0000, 0x1_2345,
    ]);
    expectHex(info.pageDirectory, 0x0021_3000, "pageDirectory (image 0x12345 bytes at 0x00200000)");
    expectHex(info.windowVa, 0x8000_0000 + 1023 * 4096, "windowVa (split 0x80000000)");
  });

  it("refuses bad configurations with E_BAD_CONFIG and writes nothing", () => {
    const bad = [
      { split: 0xc000_1000 },
      { kernelLoad: 0x0010_0800 },
      { kernelSize: 0 },
      { kernelLoad: 0x0030_0000, kernelSize: 0x0010_0000 }, // tables past the first 4 MiB
    ];
    for (const options of bad) {
      const m = createMachine({ ramBytes: 16 * MiB });
      let code: unknown;
      try {
        boot(m, options);
      } catch (e) {
        code = (e as { code?: unknown }).code;
      }
      expect(code, JSON.stringify(options)).toBe("E_BAD_CONFIG");
      expect(m.mmu.pagingEnabled).toBe(false);
      for (const pa of [0x0020_0000, 0x0040_0000, 0x0021_3000]) expect(m.ram.read32(pa)).toBe(0);
    }
    let code: unknown;
    try {
      boot(createMachine({ ramBytes: 2 * MiB }), {}); // the tables would be past the end of RAM
    } catch (e) {
      code = (e as { code?: unknown }).code;
    }
    expect(code).toBe("E_BAD_CONFIG");
  });

  it("boots a whole stack: createInitPagedir, address spaces, kvmalloc and malloc run on it", () => {
    const s = createStack({ ...layers, boot, ramBytes: 16 * MiB });
    expect(() => s.mmu.read32(0x0010_0000)).toThrow(PageFault); // the identity map is gone
    const p = s.heap.malloc(100)!;
    s.mmu.write32(p, 5);
    expect(s.mmu.read32(p)).toBe(5);
  });
});

describePagingConformance(
  `exercise 5, stacks booted by ${implLabel(5)}`,
  bootWith({ ...layers, boot }),
  { machine: machineWith(layers) },
);
