/**
 * Linux's physical allocators: bootmem and the zones, against hand-worked
 * examples and a plain model of which pages are taken.
 */
import fc from "fast-check";
import { CR0, CR4, createMachine, E820, type Machine, PDE } from "@mm386/hw-i386";
import { expectCode } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { Bootmem, findMaxPfn, GFP, LINUX_ERROR, LinuxMmError, Zones } from "../src/linux/index.js";

const MiB = 1024 * 1024;
const PAGE = 4096;
const refused = (f: () => unknown, code: string, message?: RegExp) =>
  void expectCode(f, code, { type: LinuxMmError, message });

/** Bootmem over the first 64 pages of a fresh machine, pages 8..63 free. */
function smallBootmem(machine: Machine = createMachine({ ramBytes: 16 * MiB })): Bootmem {
  const b = new Bootmem({ machine, pageOffset: 0xc000_0000, maxLowPfn: 64 });
  b.freeBootmem(8 * PAGE, 56 * PAGE);
  return b;
}

describe("bootmem", () => {
  it("starts with every page reserved, as init_bootmem does", () => {
    const b = new Bootmem({
      machine: createMachine({ ramBytes: 16 * MiB }),
      pageOffset: 0xc000_0000,
      maxLowPfn: 100,
    });
    expect(b.freePages).toBe(0);
    expect(b.allocBootmemLowPages(1)).toBeNull();
    // 100 pages: 13 bytes of bitmap, rounded up to a word.
    expect(b.bitmapBytes).toBe(16);
  });

  it("frees whole pages only and reserves every page touched (hand-worked)", () => {
    const b = new Bootmem({
      machine: createMachine({ ramBytes: 16 * MiB }),
      pageOffset: 0xc000_0000,
      maxLowPfn: 64,
    });
    // [0x1800, 0x5800): pages 2, 3, 4 are whole; 1 and 5 are partial.
    b.freeBootmem(0x1800, 0x4000);
    expect(b.freeRuns()).toEqual([{ start: 2, end: 5 }]);
    // [0x2fff, 0x3001) touches pages 2 and 3.
    b.reserveBootmem(0x2fff, 2);
    expect(b.freeRuns()).toEqual([{ start: 4, end: 5 }]);
    expect(b.freePages).toBe(1);
  });

  it("allocates first fit, page aligned, zeroed, as a kernel virtual address", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    // Dirty the frames first: the allocator must clear them.
    for (let pfn = 8; pfn < 12; pfn++) m.ram.write32(pfn * PAGE + 8, 0xdead_beef);
    const b = smallBootmem(m);
    b.reserveBootmem(9 * PAGE, PAGE); // pages 8 | 9 reserved | 10 11 ...
    expect(b.allocBootmemLowPages(2)).toBe(0xc000_0000 + 10 * PAGE);
    expect(b.allocBootmemLowPages(1)).toBe(0xc000_0000 + 8 * PAGE);
    expect(m.ram.read32(10 * PAGE + 8)).toBe(0);
    expect(m.ram.read32(11 * PAGE + 8)).toBe(0);
    expect(m.ram.read32(8 * PAGE + 8)).toBe(0);
    expect(b.freeRuns()).toEqual([{ start: 12, end: 64 }]);
  });

  it("register_bootmem_low_pages frees the whole pages of each usable range below max_low_pfn (hand-worked)", () => {
    const b = new Bootmem({
      machine: createMachine({ ramBytes: 16 * MiB }),
      pageOffset: 0xc000_0000,
      maxLowPfn: 64,
    });
    b.registerBootmemLowPages([
      // [0x1800, 0x6800): pages 2..5 are whole; 1 and 6 are partial.
      { base: 0x1800, length: 0x5000 },
      // [60 pages, 70 pages): cut at max_low_pfn, so pages 60..63.
      { base: 60 * PAGE, length: 10 * PAGE },
    ]);
    expect(b.freeRuns()).toEqual([
      { start: 2, end: 6 },
      { start: 60, end: 64 },
    ]);
    expect(b.freePages).toBe(8);
    // A range over pages already free leaves them free, and counts nothing twice.
    b.registerBootmemLowPages([{ base: 3 * PAGE, length: 2 * PAGE }]);
    expect(b.freePages).toBe(8);
  });

  it("zeroes through the MMU, at PAGE_OFFSET + phys, once paging is on", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    // A directory at 0x1000 whose PDE 768 maps 0xc0000000 to physical 0 as a 4 MiB page:
    // a write through the MMU lands in RAM at va - 0xc0000000.
    m.ram.write32(0x1000 + 768 * 4, 0x0000_0000 | PDE.P | PDE.RW | PDE.PS);
    m.mmu.loadCr4(m.mmu.cr4 | CR4.PSE);
    m.mmu.loadCr3(0x1000);
    m.mmu.loadCr0(m.mmu.cr0 | CR0.PE | CR0.PG);
    for (let pfn = 10; pfn < 12; pfn++) m.ram.write32(pfn * PAGE + 4092, 0xdead_beef);
    const b = smallBootmem(m);
    b.reserveBootmem(8 * PAGE, 2 * PAGE);
    const before = m.mmu.stats.accesses;
    expect(b.allocBootmemLowPages(2)).toBe(0xc000_0000 + 10 * PAGE);
    // Both pages cleared to the last word, and by writes through the MMU.
    expect(m.ram.read32(10 * PAGE + 4092)).toBe(0);
    expect(m.ram.read32(11 * PAGE + 4092)).toBe(0);
    expect(m.mmu.stats.accesses).toBeGreaterThan(before);
  });

  it("says null when no run is long enough, changing nothing", () => {
    const b = smallBootmem();
    const before = b.freeRuns();
    expect(b.allocBootmemLowPages(57)).toBeNull();
    expect(b.freeRuns()).toEqual(before);
  });

  it("refuses to free a free page, naming it, and changes nothing", () => {
    const b = smallBootmem();
    const before = b.freeRuns();
    refused(() => b.freeBootmem(4 * PAGE, 8 * PAGE), LINUX_ERROR.NOT_ALLOCATED, /0x00008000/);
    expect(b.freeRuns()).toEqual(before);
    refused(() => b.reserveBootmem(60 * PAGE, 8 * PAGE), LINUX_ERROR.OUT_OF_RANGE, /0x00044000/);
    expect(b.freeRuns()).toEqual(before);
  });

  it("is retired by freeAllBootmem: every later call is a typed error", () => {
    const b = smallBootmem();
    const zones = new Zones({ maxLowPfn: 64, maxPfn: 64 });
    expect(b.freeAllBootmem(zones)).toBe(56);
    expect(zones.freeCounts()).toEqual({ DMA: 56, NORMAL: 0, HIGHMEM: 0 });
    expect(b.retired).toBe(true);
    refused(() => b.allocBootmemLowPages(1), LINUX_ERROR.BOOTMEM_RETIRED);
    refused(() => b.freeBootmem(0, PAGE), LINUX_ERROR.BOOTMEM_RETIRED);
    refused(() => b.reserveBootmem(0, PAGE), LINUX_ERROR.BOOTMEM_RETIRED);
    refused(() => b.freeAllBootmem(zones), LINUX_ERROR.BOOTMEM_RETIRED);
    expect(zones.freeCounts()).toEqual({ DMA: 56, NORMAL: 0, HIGHMEM: 0 });
  });
});

/**
 * Zones of a small machine: DMA [0, 4096), NORMAL [4096, 5120), HIGHMEM
 * [5120, 6144): every page free but page 0 and a reserved hole at
 * [4200, 4300) in NORMAL.
 */
function smallZones(): Zones {
  const z = new Zones({ maxLowPfn: 5120, maxPfn: 6144 });
  z.populateLowmem([
    { start: 1, end: 4200 },
    { start: 4300, end: 5120 },
  ]);
  z.setHighmemPagesInit([{ base: 5120 * PAGE, length: 1024 * PAGE, type: E820.USABLE }]);
  return z;
}

const zoneOf = (phys: number) =>
  phys < 16 * MiB ? "DMA" : phys < 5120 * PAGE ? "NORMAL" : "HIGHMEM";

describe("zones", () => {
  it("split at 16 MiB and max_low_pfn, with holes left out", () => {
    const z = smallZones();
    expect(z.freeCounts()).toEqual({ DMA: 4095, NORMAL: 1024 - 100, HIGHMEM: 1024 });
    expect(z.dma.spannedPages).toBe(4096);
    expect(z.normal.startPfn).toBe(4096);
    expect(z.highmem.presentPages).toBe(1024);
  });

  it("fall back HIGHMEM -> NORMAL -> DMA for GFP_HIGHUSER, NORMAL -> DMA for GFP_KERNEL", () => {
    const z = smallZones();
    const seen: string[] = [];
    for (let p = z.allocPages(GFP.HIGHUSER, 0); p !== null; p = z.allocPages(GFP.HIGHUSER, 0)) {
      const zone = zoneOf(p);
      if (seen[seen.length - 1] !== zone) seen.push(zone);
    }
    expect(seen).toEqual(["HIGHMEM", "NORMAL", "DMA"]);
    expect(z.freeCounts()).toEqual({ DMA: 0, NORMAL: 0, HIGHMEM: 0 });

    const k = smallZones();
    const kseen: string[] = [];
    for (let p = k.allocPages(GFP.KERNEL, 0); p !== null; p = k.allocPages(GFP.KERNEL, 0)) {
      const zone = zoneOf(p);
      if (kseen[kseen.length - 1] !== zone) kseen.push(zone);
    }
    expect(kseen).toEqual(["NORMAL", "DMA"]);
    expect(k.freeCounts()).toEqual({ DMA: 0, NORMAL: 0, HIGHMEM: 1024 });
  });

  it("GFP_DMA takes only DMA, and is null once DMA is empty with other zones still free", () => {
    const z = smallZones();
    let n = 0;
    for (let p = z.allocPages(GFP.DMA | GFP.KERNEL, 0); p !== null; p = z.allocPages(GFP.DMA, 0)) {
      expect(p).toBeLessThan(16 * MiB);
      n++;
    }
    expect(n).toBe(4095);
    expect(z.freeCounts()).toEqual({ DMA: 0, NORMAL: 924, HIGHMEM: 1024 });
  });

  it("never hands out page 0 or the hole", () => {
    const z = smallZones();
    for (let p = z.allocPages(GFP.KERNEL, 0); p !== null; p = z.allocPages(GFP.KERNEL, 0)) {
      expect(p).not.toBe(0);
      expect(p >= 4200 * PAGE && p < 4300 * PAGE).toBe(false);
    }
  });

  it("out of memory is null with nothing changed", () => {
    const z = smallZones();
    // NORMAL's largest block: the hole splits it; order 10 (1024 pages) fits only in DMA.
    // DMA's order-10 blocks are at pages 1024, 2048 and 3072 (page 0 is reserved).
    expect([1024, 2048, 3072].map((p) => p * PAGE)).toContain(z.allocPages(GFP.KERNEL, 10));
    const before = z.freeCounts();
    expect(z.allocPages(GFP.HIGHUSER, 11)).toBeNull();
    expect(z.allocPagesExact(GFP.KERNEL, 1025)).toBeNull();
    expect(z.freeCounts()).toEqual(before);
  });

  it("refuses bad frees with a typed error naming the address, and changes nothing", () => {
    const z = smallZones();
    const p = z.allocPages(GFP.KERNEL, 2)!;
    const before = z.freeCounts();
    refused(() => z.freePages(p, 1), LINUX_ERROR.WRONG_SIZE, new RegExp(p.toString(16)));
    refused(() => z.freePages(p + PAGE, 2), LINUX_ERROR.UNALIGNED);
    refused(() => z.freePages(4200 * PAGE, 0), LINUX_ERROR.NOT_ALLOCATED, /0x01068000/);
    refused(() => z.freePages(6144 * PAGE, 0), LINUX_ERROR.OUT_OF_RANGE);
    refused(() => z.allocPages(GFP.DMA | GFP.HIGHMEM, 0), LINUX_ERROR.BAD_ARGUMENT);
    refused(() => z.allocPages(0x100, 0), LINUX_ERROR.BAD_ARGUMENT, /0x100/);
    expect(z.freeCounts()).toEqual(before);
    z.freePages(p, 2);
    refused(() => z.freePages(p, 2), LINUX_ERROR.NOT_ALLOCATED);
  });

  it("populates each zone once", () => {
    const z = smallZones();
    refused(() => z.populateLowmem([]), LINUX_ERROR.ALREADY_DONE);
    refused(() => z.setHighmemPagesInit([]), LINUX_ERROR.ALREADY_DONE);
  });

  it(
    "agree with a model of taken pages under random alloc/free",
    () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              fc.record({
                op: fc.constant("alloc" as const),
                gfp: fc.constantFrom(GFP.KERNEL, GFP.HIGHUSER, GFP.DMA),
                order: fc.integer({ min: 0, max: 10 }),
              }),
              fc.record({ op: fc.constant("free" as const), pick: fc.nat() }),
            ),
            { maxLength: 60 },
          ),
          (ops) => {
            const z = smallZones();
            const taken = new Map<number, number>(); // phys -> order
            const usedPages = new Set<number>();
            for (const o of ops) {
              if (o.op === "alloc") {
                const p = z.allocPages(o.gfp, o.order);
                if (p === null) continue;
                expect(p % (PAGE << o.order)).toBe(0);
                const allowed =
                  o.gfp === GFP.DMA ? ["DMA"] : o.gfp === GFP.KERNEL ? ["DMA", "NORMAL"] : null;
                if (allowed) expect(allowed).toContain(zoneOf(p));
                for (let i = 0; i < 1 << o.order; i++) {
                  const pfn = p / PAGE + i;
                  expect(usedPages.has(pfn)).toBe(false);
                  expect(pfn !== 0 && !(pfn >= 4200 && pfn < 4300)).toBe(true);
                  usedPages.add(pfn);
                }
                taken.set(p, o.order);
              } else if (taken.size > 0) {
                const [p, order] = [...taken][o.pick % taken.size]!;
                z.freePages(p, order);
                taken.delete(p);
                for (let i = 0; i < 1 << order; i++) usedPages.delete(p / PAGE + i);
              }
              const c = z.freeCounts();
              expect(c.DMA + c.NORMAL + c.HIGHMEM).toBe(4095 + 924 + 1024 - usedPages.size);
            }
          },
        ),
        { numRuns: process.env.MM386_DEEP ? 1000 : 30 },
      );
    },
    process.env.MM386_DEEP ? 3_600_000 : 20_000,
  );
});

describe("e820", () => {
  it("finds max_pfn at the end of the highest RAM region, whole pages only", () => {
    expect(
      findMaxPfn([
        { base: 0, length: 0x9fc00, type: E820.USABLE },
        { base: 0x10_0000, length: 0x3ff_f800, type: E820.USABLE },
        { base: 0xfffc_0000, length: 0x4_0000, type: E820.RESERVED },
      ]),
    ).toBe(0x40ff);
  });
});
