/**
 * The Linux exercise's checks: __va/__pa by hand, the direct map read back
 * physically after your kernelPhysicalMappingInit (4 KiB and PSE), and the
 * design-neutral conformance suite on a Linux booted with it.
 */
import { Zones } from "@mm386/allocation/linux";
import { CR4, createMachine, type Machine, PDE, PTE } from "@mm386/hw-i386";
import { describeDesignConformance } from "@mm386/paging/conformance";
import {
  fixrangeInit,
  flushTlbAll,
  type LinuxBootContext,
  LinuxPaging,
  memInit,
  permanentKmapsInit,
  setupMemory,
  startLinuxBoot,
} from "@mm386/paging/linux";
import { expectHex } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { implLabel, loadExercise } from "../../src/kit.js";

interface LinuxDirectMapExercise {
  va(ctx: LinuxBootContext, phys: number): number;
  pa(ctx: LinuxBootContext, virt: number): number;
  kernelPhysicalMappingInit(ctx: LinuxBootContext): void;
}

const ex = await loadExercise<LinuxDirectMapExercise>(11);

const MiB = 1024 * 1024;
const SWAPPER = 0x0010_1000;

/** head.S and setupMemory, then paging_init with your kernelPhysicalMappingInit. */
function upToPagingInit(m: Machine, pse = false): LinuxBootContext {
  const ctx = startLinuxBoot(m, { pse });
  setupMemory(ctx);
  m.mmu.loadCr4(m.mmu.cr4 | (pse ? CR4.PSE : 0) | CR4.PGE);
  ex.kernelPhysicalMappingInit(ctx);
  // The rest of pagetable_init: the fixmap's and pkmap's tables (two more bootmem pages).
  fixrangeInit(ctx);
  permanentKmapsInit(ctx);
  m.mmu.loadCr3(ctx.head.swapperPgDir);
  flushTlbAll(m);
  ctx.zones = new Zones({ maxLowPfn: ctx.maxLowPfn, maxPfn: ctx.maxPfn });
  return ctx;
}

/** A whole Linux booted with your kernelPhysicalMappingInit. */
function bootWithYours(m: Machine, pse = false): LinuxPaging {
  const ctx = upToPagingInit(m, pse);
  memInit(ctx);
  return new LinuxPaging(ctx);
}

describe(`exercise 11, Linux: the direct map (${implLabel(11)})`, () => {
  it("computes __va and __pa by hand", () => {
    const ctx = startLinuxBoot(createMachine({ ramBytes: 16 * MiB }));
    expect(ex.va(ctx, 0x0034_5000)).toBe(0xc034_5000);
    expect(ex.va(ctx, 0)).toBe(0xc000_0000);
    expect(ex.pa(ctx, 0xc7ff_f000)).toBe(0x07ff_f000);
    const split = startLinuxBoot(createMachine({ ramBytes: 16 * MiB }), {
      pageOffset: 0x8000_0000,
    });
    expect(ex.va(split, 0x0010_1000)).toBe(0x8010_1000);
  });

  it("maps every low page at PAGE_OFFSET + phys with PAGE_KERNEL | G, reusing pg0/pg1", () => {
    // 18 MiB: five tables, the last one only half used.
    const m = createMachine({ ramBytes: 18 * MiB });
    const ctx = upToPagingInit(m);
    const { ram } = m;
    expectHex(ram.read32(SWAPPER + 4 * 768), 0x0010_2067, "PDE 768"); // pg0 kept
    expectHex(ram.read32(SWAPPER + 4 * 769), 0x0010_3067, "PDE 769"); // pg1 kept
    // Bootmem's first free page is page 1 (page 0 is reserved): PDE 770's table.
    expectHex(ram.read32(SWAPPER + 4 * 770), 0x0000_1067, "PDE 770");
    expectHex(ram.read32(SWAPPER + 4 * 771), 0x0000_2067, "PDE 771");
    expectHex(ram.read32(SWAPPER + 4 * 772), 0x0000_3067, "PDE 772");
    expectHex(ram.read32(SWAPPER + 4 * 773), 0, "PDE 773");
    for (let pfn = 0; pfn < 5 * 1024; pfn++) {
      const table = ram.read32(SWAPPER + 4 * (768 + (pfn >>> 10))) & ~0xfff;
      const pte = ram.read32(table + 4 * (pfn & 1023));
      const want = pfn < ctx.maxLowPfn ? (pfn * 4096) | 0x163 : 0;
      if ((pte & ~(PTE.A | PTE.D)) !== (want & ~(PTE.A | PTE.D)))
        expectHex(
          (pte & ~(PTE.A | PTE.D)) >>> 0,
          (want & ~(PTE.A | PTE.D)) >>> 0,
          `PTE of page ${pfn} (A and D aside)`,
        );
    }
    ram.write32(0x011f_f008, 0x5a5a);
    expect(m.mmu.read32(0xc11f_f008)).toBe(0x5a5a); // the last page of 18 MiB, through the MMU
  });

  it("with PSE maps each whole 4 MiB with one PDE (phys | 0x1e3) and takes no table", () => {
    const m = createMachine({ ramBytes: 64 * MiB });
    const ctx = upToPagingInit(m, true);
    for (let r = 0; r < 16; r++)
      expectHex(
        m.ram.read32(SWAPPER + 4 * (768 + r)),
        ((r * 4 * MiB) | 0x1e3) >>> 0,
        `PDE ${768 + r}`,
      );
    expect(ctx.bootmem!.freePages).toBe(16027); // less the fixmap's and pkmap's tables
    expect((m.ram.read32(SWAPPER + 4 * 784) & PDE.P) >>> 0).toBe(0);
  });

  it("boots a Linux whose kernel sees the same bytes as the machine at __va", () => {
    const l = bootWithYours(createMachine({ ramBytes: 64 * MiB }));
    l.machine.ram.write32(0x0300_0010, 0xabcd);
    expect(l.read32(0xc300_0010, 0)).toBe(0xabcd);
    expect(l.zones.freeCounts()).toEqual({ DMA: 3725, NORMAL: 12288, HIGHMEM: 0 });
  });
});

describeDesignConformance(
  `Linux with your direct map (${implLabel(11)})`,
  (m) => bootWithYours(m),
  {
    numRuns: 10,
  },
);
