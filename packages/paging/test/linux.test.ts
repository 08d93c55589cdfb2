/**
 * Linux on i386: the boot, the direct map, zones and address spaces, checked
 * against hand-worked values (page-table words, free counts worked out from
 * the e820 map) and against the MMU itself.
 */
import { Bootmem, GFP, LINUX_ERROR, LinuxMmError } from "@mm386/allocation/linux";
import { CR4, createMachine, E820, type MemoryRegion, PTE } from "@mm386/hw-i386";
import { expectCode, expectFault } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { PAGING_ERROR } from "../src/index.js";
import {
  bootLinux,
  headS,
  LINUX_LAYOUT,
  linuxLayout,
  type LinuxPaging,
  SegmentationFault,
} from "../src/linux/index.js";

const MiB = 1024 * 1024;
const PAGE = 4096;
const P = PTE.P;
const W = PTE.RW;
const U = PTE.US;

const boot = (mib: number, pse = false) =>
  bootLinux(createMachine({ ramBytes: mib * MiB }), { pse });
const phys32 = (l: LinuxPaging, pa: number) => l.machine.ram.read32(pa);
const SWAPPER = 0x0010_1000;

describe("head.S", () => {
  it("builds swapper_pg_dir at 0x00101000 with pg0/pg1 mapping 8 MiB at 0 and at PAGE_OFFSET", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    const head = headS(m, 0xc000_0000, MiB);
    expect(head).toMatchObject({ swapperPgDir: SWAPPER, pg0: 0x0010_2000, pg1: 0x0010_3000 });
    // PDEs 0, 1, 768, 769 = pg0/pg1 | 0x067; everything else empty.
    const pdes = Array.from({ length: 1024 }, (_, i) => m.ram.read32(SWAPPER + 4 * i));
    expect(pdes[0]).toBe(0x0010_2067);
    expect(pdes[1]).toBe(0x0010_3067);
    expect(pdes[768]).toBe(0x0010_2067);
    expect(pdes[769]).toBe(0x0010_3067);
    expect(pdes.filter((x) => x !== 0)).toHaveLength(4);
    // pg1's entry 5 maps physical 4 MiB + 5 pages with head.S's 0x007.
    expect(m.ram.read32(0x0010_3000 + 4 * 5)).toBe(0x0040_5007);
    expect(m.mmu.cr3).toBe(SWAPPER);
    expect(m.mmu.pagingEnabled).toBe(true);
    // Both views of physical 0x7ff000 work before paging_init.
    m.ram.write32(0x7f_f000, 42);
    expect(m.mmu.read32(0x7f_f000)).toBe(42);
    expect(m.mmu.read32(0xc07f_f000)).toBe(42);
  });
});

describe("the direct map after boot", () => {
  it("translates hand-worked addresses with 4 KiB pages (PAGE_KERNEL | G = 0x163)", () => {
    const l = boot(64);
    // 0xC0345678: PDE 768 -> pg0 (kept from head.S), PTE 0x345 = 0x00345163.
    const w = l.translate(0xc034_5678);
    expect(w.pa).toBe(0x0034_5678);
    expect(phys32(l, SWAPPER + 4 * 768)).toBe(0x0010_2067);
    expect(phys32(l, 0x0010_2000 + 4 * 0x345) & ~(PTE.A | PTE.D)).toBe(0x0034_5103);
    // 0xC3FFF000 -> physical 0x03FFF000, the last page of 64 MiB, through a table bootmem made.
    expect(l.translate(0xc3ff_f000).pa).toBe(0x03ff_f000);
    // 0xC4000000 is past high_memory: not mapped.
    expect(l.translate(0xc400_0000).pa).toBeNull();
    // The first table bootmem gave (first fit: page 1, above page 0 which is reserved) is PDE 770's.
    expect(phys32(l, SWAPPER + 4 * 770)).toBe(0x0000_1067);
    expect(l.va(0x0034_5000)).toBe(0xc034_5000);
    expect(l.pa(0xc034_5000)).toBe(0x0034_5000);
  });

  it("maps every page below max_low_pfn and nothing else in the kernel half", () => {
    const l = boot(64);
    expect(l.dump().filter((r) => r.virt >= 0xc000_0000)).toEqual([
      { virt: 0xc000_0000, phys: 0, pages: 16384, flags: P | W | PTE.G },
    ]);
  });

  it("with PSE uses 4 MiB pages: PDE = phys | 0x1e3, CR4.PSE on, no page table from bootmem", () => {
    const l = boot(64, true);
    expect(l.mmu.cr4 & CR4.PSE).toBe(CR4.PSE);
    expect(phys32(l, SWAPPER + 4 * 769)).toBe(0x0040_01e3);
    expect(phys32(l, SWAPPER + 4 * 783)).toBe(0x03c0_01e3);
    const w = l.translate(0xc123_4567);
    expect(w.pa).toBe(0x0123_4567);
    expect(w.large).toBe(true);
    expect(l.boot.tablesFromBootmem).toBe(0);
    expect(l.read32(0xc000_0000 + SWAPPER + 4 * 769, 0)).toBe(0x0040_01e3);
  });

  it("zaps the identity map: low addresses fault, user PDEs of swapper_pg_dir are empty", () => {
    const l = boot(16);
    for (let r = 0; r < 768; r++) expect(phys32(l, SWAPPER + 4 * r)).toBe(0);
    expectFault(() => l.read32(0x1000, 0), { errorCode: 0, cr2: 0x1000 });
  });

  it("refuses __va of highmem and __pa outside the direct map", () => {
    const l = boot(1024);
    expectCode(() => l.va(896 * MiB), PAGING_ERROR.BAD_ARGUMENT, { message: /0x38000000/ });
    expectCode(() => l.pa(0xf800_0000), PAGING_ERROR.BAD_ARGUMENT, { message: /0xf8000000/ });
    expect(l.va(896 * MiB - PAGE)).toBe(0xf7ff_f000);
  });
});

/** Free pages of a default-map machine of `mib` MiB, worked out by hand (see below). */
function expectedFree(mib: number, pse: boolean) {
  const pfns = (mib * MiB) / PAGE;
  const low = Math.min(pfns, (896 * MiB) / PAGE);
  // Usable: pages 0..158 (0x9fc00 rounds down) and 1 MiB up. Reserved: page 0, the 1 MiB image
  // and the bootmem bitmap right after it (low/8 bytes), and the page tables of the direct map
  // beyond pg0/pg1 (taken first fit from pages 1, 2, ...; none with PSE), then the fixmap's
  // and pkmap's page tables (fixrangeInit, permanentKmapsInit: one each).
  const bitmapPages = Math.ceil(low / 8 / PAGE);
  const tables = (pse ? 0 : Math.ceil(low / 1024) - 2) + 2;
  const dma = 159 - 1 - tables + (4096 - 256) - 256 - bitmapPages;
  return { DMA: dma, NORMAL: low - 4096, HIGHMEM: pfns - low };
}

describe("machine sizes", () => {
  for (const mib of [16, 64, 512, 1024, 2048, 3840]) {
    it(`boots with ${mib} MiB, 4 KiB pages and PSE, with the zones' free counts worked out by hand`, () => {
      for (const pse of [false, true]) {
        const l = boot(mib, pse);
        expect(l.zones.freeCounts()).toEqual(expectedFree(mib, pse));
        expect(l.maxLowPfn).toBe(Math.min(mib, 896) * 256);
        expect(l.layout.highMemory).toBe(0xc000_0000 + Math.min(mib, 896) * MiB);
        // The last low page, through the direct map, holds what was written physically.
        const last = Math.min(mib, 896) * MiB - PAGE;
        l.machine.ram.write32(last, 0x1234_5678);
        expect(l.read32(0xc000_0000 + last, 0)).toBe(0x1234_5678);
        expect(() => l.bootmem.allocBootmemLowPages(1)).toThrow(LinuxMmError);
      }
    });
  }

  it("boots with holes in the e820 map and never hands out a hole page", () => {
    const map: MemoryRegion[] = [
      { base: 0, length: 0x9_fc00, type: E820.USABLE },
      { base: 0x9_fc00, length: 0x6_0400, type: E820.RESERVED },
      { base: 0x10_0000, length: 39 * MiB, type: E820.USABLE },
      { base: 40 * MiB, length: 8 * MiB, type: E820.RESERVED },
      { base: 48 * MiB, length: 80 * MiB, type: E820.USABLE },
      { base: 0xfffc_0000, length: 0x4_0000, type: E820.RESERVED },
    ];
    const l = bootLinux(createMachine({ memoryMap: map }));
    // 128 MiB of address space, 8 MiB of it a hole: 2048 fewer NORMAL pages.
    const e = expectedFree(128, false);
    expect(l.zones.freeCounts()).toEqual({ ...e, NORMAL: e.NORMAL - 2048 });
    for (let p = l.allocFrames(1); p !== null; p = l.allocFrames(1))
      expect(p >= 40 * MiB && p < 48 * MiB).toBe(false);
  });

  it("lays out the vmalloc area from high_memory (64 MiB: 0xC4800000 to 0xFF7FE000)", () => {
    const l = boot(64);
    expect(l.layout.vmallocStart).toBe(0xc480_0000);
    expect(l.layout.vmallocEnd).toBe(0xff7f_e000);
    expect(l.layout.pkmapBase).toBe(0xff80_0000);
    expect(linuxLayout(0xc000_0000, 896 * 256).vmallocStart).toBe(0xf880_0000);
  });

  it("follows a configurable PAGE_OFFSET: 2 GiB split, MAXMEM = 2 GiB - 128 MiB", () => {
    const l = bootLinux(createMachine({ ramBytes: 3072 * MiB }), { pageOffset: 0x8000_0000 });
    expect(l.maxLowPfn).toBe(((2048 - 128) * MiB) / PAGE);
    expect(l.translate(0x8123_4000).pa).toBe(0x0123_4000);
    expect(l.zones.freeCounts().HIGHMEM).toBe(((3072 - 1920) * MiB) / PAGE);
  });

  it("refuses bad boot options and unusable machines with E_BAD_CONFIG before touching anything", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    for (const o of [{ pageOffset: 0xc010_0000 }, { pse: 1 }, { kernelSize: 5 * MiB }, { foo: 1 }])
      expectCode(() => bootLinux(m, o as never), LINUX_ERROR.BAD_CONFIG);
    expectCode(() => bootLinux(createMachine({ ramBytes: 8 * MiB })), LINUX_ERROR.BAD_CONFIG, {
      message: /16 MiB/,
    });
    expect(m.mmu.pagingEnabled).toBe(false);
    expect(m.ram.touchedFrames).toBe(0);
  });
});

describe("address spaces", () => {
  it("a user page and the same frame through the direct map see the same bytes", () => {
    const l = boot(512);
    const mm = l.createAddressSpace()!;
    const frame = l.allocFrames(1)!;
    expect(l.map(mm, 0x0780_0000, frame, 1, P | W | U)).toBe(true);
    l.switchTo(mm);
    l.write32(0x0780_0010, 0xcafe_f00d, 3);
    expect(l.read32(l.va(frame) + 0x10, 0)).toBe(0xcafe_f00d);
    l.write32(l.va(frame) + 0x20, 0x1122_3344, 0);
    expect(l.read32(0x0780_0020, 3)).toBe(0x1122_3344);
    // The user mapping is below PAGE_OFFSET, and the direct map is kernel-only.
    expect(() => l.read32(l.va(frame), 3)).toThrow(
      expect.objectContaining({ code: "E_SEGV", errorCode: 5 }),
    );
  });

  it("pgdAlloc copies the kernel PDEs of swapper_pg_dir and clears the user ones", () => {
    const l = boot(64);
    const mm = l.pgdAlloc()!;
    for (let r = 0; r < 1024; r++)
      expect(phys32(l, mm.cr3 + 4 * r)).toBe(r < 768 ? 0 : phys32(l, SWAPPER + 4 * r));
    expect(mm.pgd).toBe(0xc000_0000 + mm.cr3);
    expect(l.addressSpaces()).toEqual([l.reference, mm]);
  });

  it("reaches every page table at __va of its frame (the explanation names it)", () => {
    const l = boot(64);
    const mm = l.createAddressSpace()!;
    l.map(mm, 0x0804_8000, l.allocFrames(1)!, 1, P | W | U);
    const table = phys32(l, mm.cr3 + 4 * 32) & ~0xfff;
    expect(l.explain(0x0804_8000, mm)).toContain(
      `__va(0x${table.toString(16).padStart(8, "0")}) = 0x${(0xc000_0000 + table).toString(16)}`,
    );
  });

  it("destroying a space gives its page tables and directory back to the zones", () => {
    const l = boot(64);
    const before = l.zones.freeCounts();
    const mm = l.createAddressSpace()!;
    const f = l.allocFrames(2)!;
    l.map(mm, 0x0040_0000, f, 1, P | W | U);
    l.map(mm, 0xbfff_f000, f + PAGE, 1, P | W | U);
    l.destroyAddressSpace(mm);
    l.freeFrames(f, 2);
    expect(l.zones.freeCounts()).toEqual(before);
    expectCode(() => l.switchTo(mm), PAGING_ERROR.DESTROYED);
    expectCode(() => l.destroyAddressSpace(l.reference), PAGING_ERROR.INIT_PAGEDIR);
  });

  it("out of memory: createAddressSpace is null and map is false, nothing changed", () => {
    const l = boot(16);
    const mm = l.createAddressSpace()!;
    while (l.zones.allocPages(GFP.KERNEL, 0) !== null);
    const words = () => Array.from({ length: 1024 }, (_, i) => phys32(l, mm.cr3 + 4 * i));
    const before = { free: l.zones.freeCounts(), pgd: words(), spaces: l.addressSpaces().length };
    expect(l.createAddressSpace()).toBeNull();
    expect(l.map(mm, 0x0040_0000, 0x0020_0000, 1, P | W | U)).toBe(false);
    expect(l.allocFrames(1)).toBeNull();
    expect({ free: l.zones.freeCounts(), pgd: words(), spaces: l.addressSpaces().length }).toEqual(
      before,
    );
  });

  it("unmapping a user page of the current space leaves no stale translation", () => {
    const l = boot(64);
    const mm = l.createAddressSpace()!;
    const f = l.allocFrames(1)!;
    l.map(mm, 0x0040_0000, f, 1, P | W | U);
    l.switchTo(mm);
    l.read32(0x0040_0000, 3); // cached now
    l.unmap(mm, 0x0040_0000, 1);
    expectFault(() => l.mmu.read32(0x0040_0000, 3), { errorCode: 4, cr2: 0x0040_0000 });
  });
});

describe("the vmalloc area", () => {
  it("hands out first-fit regions with a guard page after each", () => {
    const l = boot(64);
    const a = l.allocKernelRegion(1)!;
    const b = l.allocKernelRegion(3)!;
    expect(a).toBe(0xc480_0000);
    expect(b).toBe(a + 2 * PAGE);
    l.freeKernelRegion(a, 1);
    expect(l.allocKernelRegion(1)).toBe(a);
    expect(l.allocKernelRegion(2)).toBe(b + 4 * PAGE);
    expect(l.allocKernelRegion((0xff7f_e000 - 0xc480_0000) / PAGE)).toBeNull();
  });

  it("makes kernel tables in swapper_pg_dir only; another space gets the PDE on its first kernel access", () => {
    const l = boot(64);
    const maker = l.createAddressSpace()!;
    const mm = l.createAddressSpace()!;
    l.switchTo(maker);
    const v = l.allocKernelRegion(1)!;
    const f = l.allocFrames(1)!;
    expect(l.map(null, v, f, 1, P | W | PTE.G)).toBe(true);
    const r = v >>> 22;
    expect(phys32(l, SWAPPER + 4 * r) & 1).toBe(1);
    // The space that made it has the PDE at once (as if its first touch had faulted)...
    expect(phys32(l, maker.cr3 + 4 * r)).toBe(phys32(l, SWAPPER + 4 * r));
    // ...another one does not.
    l.switchTo(mm);
    expect(phys32(l, mm.cr3 + 4 * r)).toBe(0);
    // The raw MMU faults (not present, supervisor, read)...
    expectFault(() => l.mmu.read32(v, 0), { errorCode: 0, cr2: v });
    // ...a user access is the user's fault, never a sync...
    expect(() => l.read32(v, 3)).toThrow(SegmentationFault);
    expect(phys32(l, mm.cr3 + 4 * r)).toBe(0);
    // ...and the kernel's access runs vmalloc_fault, which copies the PDE and retries.
    l.machine.ram.write32(f, 77);
    expect(l.read32(v, 0)).toBe(77);
    expect(phys32(l, mm.cr3 + 4 * r)).toBe(phys32(l, SWAPPER + 4 * r));
    expect(l.stats.vmallocFaults).toBe(1);
  });

  it("refuses kernel mappings outside the vmalloc area: the direct map is fixed", () => {
    const l = boot(64);
    expectCode(() => l.map(null, 0xc010_0000, 0, 1, P | W), LINUX_ERROR.NOT_VMALLOC, {
      message: /0xc0100000/,
    });
  });

  it("unmapping a global kernel page flushes it from the TLB (flush_tlb_all)", () => {
    const l = boot(64);
    const v = l.allocKernelRegion(1)!;
    l.map(null, v, l.allocFrames(1)!, 1, P | W | PTE.G);
    l.read32(v, 0);
    l.unmap(null, v, 1);
    expectFault(() => l.mmu.read32(v, 0), { errorCode: 0, cr2: v });
    expect(l.stats.flushAlls).toBe(1);
    l.freeKernelRegion(v, 1);
  });

  it("refuses to free a region that still maps a page", () => {
    const l = boot(64);
    const v = l.allocKernelRegion(1)!;
    l.map(null, v, l.allocFrames(1)!, 1, P | W);
    expectCode(() => l.freeKernelRegion(v, 1), LINUX_ERROR.BUSY);
    expectCode(() => l.freeKernelRegion(v + PAGE, 1), LINUX_ERROR.NOT_VMALLOC);
  });
});

it("Bootmem is the allocation package's: the design keeps the retired instance", () => {
  expect(boot(16).bootmem).toBeInstanceOf(Bootmem);
  expect(LINUX_LAYOUT.PAGE_OFFSET).toBe(0xc000_0000);
});
