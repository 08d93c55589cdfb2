/**
 * Tests written from the mutation survivors of the hobby kernel's paging
 * (docs/quality.md, "Survivors worth a test"): boot's bounds, what
 * startPaging forwards, probe, kernelPhysOf, mapMem at each boundary, dump's
 * run merging, and the out-of-memory paths. Expected values are worked out
 * by hand in the comments (default split 0xc0000000, kernel at 1 MiB).
 */
import { createMachine, type Machine, PageFault } from "@mm386/hw-i386";
import { expectCode, faultOf } from "@mm386/hw-i386/testing";
import {
  FirstFitBitmapAllocator,
  firstFitRanges,
  pageRangeAllocator,
  type PageRangeAllocator,
  type PageRangesFactory,
  UNIT_STATE,
} from "@mm386/allocation";
import { describe, expect, it } from "vitest";
import {
  PTE_PRESENT as P,
  PTE_USER as U,
  PTE_WRITE as W,
  type BootOptions,
  type MapMem,
  type Paging,
  PagingError,
  boot,
  hobbyMapMem,
  kernelPageSource,
  startPaging,
} from "../src/index.js";

const MiB = 1024 * 1024;
const PAGE = 4096;
const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

const refused = (f: () => unknown, code: string, message?: RegExp) =>
  void expectCode(f, code, { type: PagingError, message });

function fresh(ramBytes = 16 * MiB): { m: Machine; p: Paging } {
  const m = createMachine({ ramBytes });
  return { m, p: startPaging(m) };
}

/** Take every free physical page; returns them, first page first. */
function hogFrames(p: Paging): number[] {
  const out: number[] = [];
  for (let run = p.allocators.ppalloc(1, 1024); run; run = p.allocators.ppalloc(1, 1024))
    for (let i = 0; i < run.pages; i++) out.push(run.start + i * PAGE);
  return out;
}

describe("boot's bounds", () => {
  it("accepts the split at 4 MiB and at 4 GiB - 4 MiB, refuses 0, 2^32 and 4 GiB", () => {
    expect(boot(createMachine({ ramBytes: 16 * MiB }), { split: 4 * MiB }).split).toBe(4 * MiB);
    expect(boot(createMachine({ ramBytes: 16 * MiB }), { split: 0xffc0_0000 }).windowVa).toBe(
      0xffc0_0000 + 1023 * PAGE,
    );
    for (const split of [0, 2 ** 32, 2 ** 32 + 4 * MiB])
      refused(
        () => boot(createMachine({ ramBytes: 16 * MiB }), { split }),
        "E_BAD_CONFIG",
        /must be a multiple of 4 MiB between 4 MiB and 4 GiB - 4 MiB/,
      );
  });

  it("refuses an unaligned, negative or fractional kernel load address and a kernel size < 1", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    refused(
      () => boot(m, { kernelLoad: 0x10_0800 }),
      "E_BAD_CONFIG",
      /kernel load address 0x00100800 must be page-aligned/,
    );
    refused(() => boot(m, { kernelLoad: -PAGE }), "E_BAD_CONFIG", /kernel load address -4096/);
    refused(() => boot(m, { kernelLoad: 0.5 }), "E_BAD_CONFIG", /kernel load address 0\.5/);
    refused(
      () => boot(m, { kernelSize: 0 }),
      "E_BAD_CONFIG",
      /kernel size 0 must be a positive number of bytes/,
    );
    refused(() => boot(m, { kernelSize: 1.5 }), "E_BAD_CONFIG", /kernel size 1\.5/);
    expect(m.mmu.pagingEnabled).toBe(false);
    // A one-byte kernel at 0: the boot tables take the next three frames.
    const info = boot(m, { kernelLoad: 0, kernelSize: 1 });
    expect([info.pageDirectory, info.pageTable, info.identityTable, info.mappedBytes]).toEqual([
      0x1000, 0x2000, 0x3000, 0x4000,
    ]);
  });

  it("the kernel table maps at most 4 MiB - 4 KiB (its last entry is the window)", () => {
    // Kernel at 0: [0, size) + three table frames must leave the last page free.
    // size = 4 MiB - 0x4000: mapped 4 MiB - 0x1000, fits. size = 4 MiB - 0x3000: mapped 4 MiB, does not.
    const ok = boot(createMachine({ ramBytes: 16 * MiB }), {
      kernelLoad: 0,
      kernelSize: 4 * MiB - 0x4000,
    });
    expect(ok.mappedBytes).toBe(4 * MiB - PAGE);
    refused(
      () =>
        boot(createMachine({ ramBytes: 16 * MiB }), {
          kernelLoad: 0,
          kernelSize: 4 * MiB - 0x3000,
        }),
      "E_BAD_CONFIG",
      /kernel image \[0x00000000, 0x003fd000\) and the boot tables do not fit in the first 4 MiB/,
    );
    refused(
      () =>
        boot(createMachine({ ramBytes: 16 * MiB }), {
          kernelLoad: 0x20_0000,
          kernelSize: 0x20_0000,
        }),
      "E_BAD_CONFIG",
      /kernel image \[0x00200000, 0x00400000\)/,
    );
  });

  it("refuses a boot range larger than RAM, naming it", () => {
    const m = createMachine({ ramBytes: 2 * MiB });
    // Default kernel [1 MiB, 2 MiB) + three tables: [0, 0x00203000) > 2 MiB.
    refused(() => boot(m), "E_BAD_CONFIG", /the boot range \[0, 0x00203000\) is larger than RAM/);
    expect(m.mmu.pagingEnabled).toBe(false);
    // A smaller kernel fits in the same 2 MiB.
    expect(boot(m, { kernelSize: 0x8_0000 }).mappedBytes).toBe(0x18_3000);
  });
});

describe("startPaging forwards every option", () => {
  it("split, kernelLoad and kernelSize reach boot, and only those given", () => {
    const seen: BootOptions[] = [];
    const spy = (m: Machine, o: BootOptions) => {
      seen.push(o);
      return boot(m, o);
    };
    startPaging(createMachine({ ramBytes: 16 * MiB }), { boot: spy });
    startPaging(createMachine({ ramBytes: 16 * MiB }), {
      boot: spy,
      split: 0x8000_0000,
      kernelLoad: 0x20_0000,
      kernelSize: 0x1800,
    });
    expect(Object.keys(seen[0]!)).toEqual([]);
    expect(seen[1]).toStrictEqual({
      split: 0x8000_0000,
      kernelLoad: 0x20_0000,
      kernelSize: 0x1800,
    });
  });

  it("the kernel image is reserved where kernelLoad and kernelSize say", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    const p = startPaging(m, {
      kernelLoad: 0x20_0000,
      kernelSize: 0x1800,
      rangeAllocator: firstFitRanges,
    });
    const s = (p.allocators.physical as PageRangeAllocator).ranges.states();
    // Frames 0x100-0x1ff are free (no image there); 0x200-0x201 the image; 0x202-0x204 the boot tables.
    expect([s[0xff], s[0x100], s[0x1ff], s[0x200], s[0x201], s[0x204], s[0x205]]).toEqual([
      UNIT_STATE.RESERVED,
      UNIT_STATE.FREE,
      UNIT_STATE.FREE,
      UNIT_STATE.RESERVED,
      UNIT_STATE.RESERVED,
      UNIT_STATE.RESERVED,
      UNIT_STATE.FREE,
    ]);
    expect(p.allocators.ppalloc(1, 1)).toEqual({ start: 0x10_0000, pages: 1 });
  });

  it("rangeAllocator, pageRanges, pageSource and mapMem are the ones used", () => {
    const labels: string[] = [];
    const pageRanges: PageRangesFactory = (label, start, size, factory) => {
      labels.push(label);
      return pageRangeAllocator(label, start, size, factory);
    };
    let pagesTaken = 0;
    const mapMem: MapMem = { name: "counting", map: (...a) => hobbyMapMem.map(...a) };
    const p = startPaging(createMachine({ ramBytes: 16 * MiB }), {
      rangeAllocator: firstFitRanges,
      pageRanges,
      pageSource: (paging) => {
        const inner = kernelPageSource(paging);
        return {
          name: "counting",
          allocPage: () => {
            pagesTaken++;
            return inner.allocPage();
          },
          freePage: (va) => inner.freePage(va),
        };
      },
      mapMem,
    });
    expect((p.allocators.physical as PageRangeAllocator).ranges).toBeInstanceOf(
      FirstFitBitmapAllocator,
    );
    expect(labels).toEqual(["physical", "kernel virtual"]);
    expect(p.mapper).toBe(mapMem);
    expect(p.pageSource.name).toBe("counting");
    expect(p.createAddressSpace()).not.toBeNull();
    expect(pagesTaken).toBe(1);
  });
});

describe("probe", () => {
  it("reads through another address space at CPL 3 and leaves CR3 and the TLB as they were", () => {
    const { m, p } = fresh();
    const other = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(1, 1)!.start;
    m.ram.write32(f + 0x10, 0x1234_5678);
    expect(p.mapMem(other, f, 0x0040_0000, 1, P | U)).toBe(true);
    const cr3 = m.mmu.cr3;
    expect(p.probe(0x0040_0010, 3, other)).toBe(0x1234_5678);
    expect([m.mmu.cr3, p.current]).toEqual([cr3, p.init]);
    // Not mapped in the current space: the probe faults (not present, user read) and still restores nothing it did not change.
    expect(faultOf(() => p.probe(0x0040_0010, 3)).errorCode).toBe(0b100);
    // A fault in another space: CR3 is switched back all the same.
    expect(faultOf(() => p.probe(0x0050_0000, 3, other)).errorCode).toBe(0b100);
    expect([m.mmu.cr3, p.current]).toEqual([cr3, p.init]);
    // Probing the current space does not reload CR3 (no flush).
    const flushes = m.mmu.stats.flushes;
    expect(p.probe(0xc000_0000, 0)).toBe(m.ram.read32(0x10_0000));
    expect(m.mmu.stats.flushes).toBe(flushes);
  });
});

describe("kernelPhysOf", () => {
  it("translates kernel pages only: null below the split, at 4 GiB, for fractions and for unmapped pages", () => {
    const { m, p } = fresh();
    // The boot table maps 0xc0000000 to the kernel at 1 MiB.
    expect(p.kernelPhysOf(0xc000_0000)).toBe(0x10_0000);
    expect(p.kernelPhysOf(0xc000_0123)).toBe(0x10_0123);
    // A user page mapped in the current space at split - 4 KiB is still not a kernel page.
    const f = p.allocators.ppalloc(1, 1)!.start;
    expect(p.mapMem(p.init, f, 0xbfff_f000, 1, P | U | W)).toBe(true);
    expect(m.mmu.read32(0xbfff_f000, 3)).toBe(m.ram.read32(f));
    expect(p.kernelPhysOf(0xbfff_f000)).toBeNull();
    expect(p.kernelPhysOf(2 ** 32)).toBeNull();
    expect(p.kernelPhysOf(0xc000_0000 + 0.5)).toBeNull();
    // In the boot table but past the boot range: not present.
    expect(p.kernelPhysOf(0xc010_3000)).toBeNull();
    // A region with no table at all.
    expect(p.kernelPhysOf(0xd000_0000)).toBeNull();
    // The last page below 4 GiB, once mapped.
    expect(p.mapMem(null, f, 0xffff_f000, 1, P | W)).toBe(true);
    expect(p.kernelPhysOf(0xffff_f004)).toBe(f + 4);
  });
});

describe("mapMem at each boundary", () => {
  it("flags up to 0xfff reach the per-bit checks; 0x1000 is E_BAD_FLAGS", () => {
    const { p } = fresh();
    const as = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(1, 1)!.start;
    refused(() => p.mapMem(as, f, 0x0040_0000, 1, 0xfff), "E_GLOBAL_ON_USER");
    refused(() => p.mapMem(null, f, 0xd000_0000, 1, 0xfff), "E_USER_ON_KERNEL");
    refused(() => p.mapMem(as, f, 0x0040_0000, 1, 0x1000), "E_BAD_FLAGS", /flags 0x00001000/);
  });

  it("a range may end exactly at 4 GiB, at the split, and at the end of RAM", () => {
    const { m, p } = fresh();
    const as = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(2, 2)!.start;
    expect(p.mapMem(null, f, 0xffff_f000, 1, P | W)).toBe(true);
    refused(
      () => p.mapMem(null, f, 0xffff_f000, 2, P | W),
      "E_WRAPS",
      /\[0xfffff000, \+2 pages\) runs past 4 GiB/,
    );
    // [split - 8 KiB, split): user, ends at the split.
    expect(p.mapMem(as, f, 0xbfff_e000, 2, P | U | W)).toBe(true);
    refused(
      () => p.mapMem(as, f, 0xbfff_f000, 2, P | U | W),
      "E_CROSSES_SPLIT",
      /\[0xbffff000, 0xc0001000\) crosses the user\/kernel split at 0xc0000000/,
    );
    // The last frame of RAM (16 MiB - 4 KiB) maps; one frame more is past RAM.
    expect(p.mapMem(null, 16 * MiB - PAGE, 0xd000_0000, 1, P | W)).toBe(true);
    expect(m.mmu.read32(0xd000_0000)).toBe(m.ram.read32(16 * MiB - PAGE));
    refused(
      () => p.mapMem(null, 16 * MiB - PAGE, 0xd000_0000, 2, P | W),
      "E_PAST_RAM",
      new RegExp(
        `physical \\[0x00fff000, \\+2 pages\\) runs past the end of RAM at ${hex(16 * MiB)}`,
      ),
    );
    // Unmapping names no frame, so "past RAM" does not apply.
    expect(p.mapMem(null, 16 * MiB, 0xd000_0000, 1, 0)).toBe(true);
  });

  it("the split itself is a kernel address: mapped with pd null", () => {
    const { m, p } = fresh();
    const f = p.allocators.ppalloc(1, 1)!.start;
    m.ram.write32(f, 0xabcd);
    expect(p.mapMem(null, f, 0xc000_0000, 1, P | W)).toBe(true);
    expect(m.mmu.read32(0xc000_0000)).toBe(0xabcd);
    expect(p.kernelPhysOf(0xc000_0000)).toBe(f);
  });

  it("a mapping that ends at a region boundary makes one table, and an unmap makes none", () => {
    const { p } = fresh();
    const as = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(1, 1)!.start;
    const free = p.allocators.physical.freePages;
    // [0x003ff000, 0x00400000): region 0 only.
    expect(p.mapMem(as, f, 0x003f_f000, 1, P | U)).toBe(true);
    expect(as.vpde.map((t) => t !== null).indexOf(true)).toBe(0);
    expect(as.vpde.filter((t) => t !== null)).toHaveLength(1);
    expect(p.allocators.physical.freePages).toBe(free - 1);
    // Unmapping in region 2, which has no table: nothing is made.
    expect(p.mapMem(as, 0, 0x0080_0000, 1, 0)).toBe(true);
    expect(as.vpde[2]).toBeNull();
    expect(p.allocators.physical.freePages).toBe(free - 1);
  });
});

describe("dump merges a page into the run before it only when virt, phys and flags all follow", () => {
  const mapped = () => {
    const { p } = fresh();
    const as = p.createAddressSpace()!;
    const f = p.allocators.ppalloc(4, 4)!.start;
    return { p, as, f, user: () => p.dump(as).filter((r) => r.virt < 0xc000_0000) };
  };

  it("all three follow: one run", () => {
    const { p, as, f, user } = mapped();
    p.mapMem(as, f, 0x0040_0000, 1, P | U);
    p.mapMem(as, f + PAGE, 0x0040_1000, 1, P | U);
    expect(user()).toEqual([{ virt: 0x0040_0000, phys: f, pages: 2, flags: P | U }]);
  });

  it("only the flags differ: two runs", () => {
    const { p, as, f, user } = mapped();
    p.mapMem(as, f, 0x0040_0000, 1, P | U);
    p.mapMem(as, f + PAGE, 0x0040_1000, 1, P | U | W);
    expect(user()).toEqual([
      { virt: 0x0040_0000, phys: f, pages: 1, flags: P | U },
      { virt: 0x0040_1000, phys: f + PAGE, pages: 1, flags: P | U | W },
    ]);
  });

  it("only the frames jump: two runs", () => {
    const { p, as, f, user } = mapped();
    p.mapMem(as, f, 0x0040_0000, 1, P | U);
    p.mapMem(as, f + 2 * PAGE, 0x0040_1000, 1, P | U);
    expect(user()).toHaveLength(2);
  });

  it("only the addresses jump: two runs", () => {
    const { p, as, f, user } = mapped();
    p.mapMem(as, f, 0x0040_0000, 1, P | U);
    p.mapMem(as, f + PAGE, 0x0040_2000, 1, P | U);
    expect(user()).toEqual([
      { virt: 0x0040_0000, phys: f, pages: 1, flags: P | U },
      { virt: 0x0040_2000, phys: f + PAGE, pages: 1, flags: P | U },
    ]);
  });

  it("formatDump: one line per run with its flags spelled out", () => {
    const { p, as, f } = mapped();
    p.mapMem(as, f, 0x0040_0000, 2, P | U | W);
    p.mapMem(as, f + 2 * PAGE, 0x0040_2000, 1, P | U);
    const lines = p.formatDump(as).split("\n");
    expect(lines).toContain(`0x00400000-0x00401fff -> ${hex(f)}       2 page(s)  P RW US`);
    expect(lines).toContain(
      `0x00402000-0x00402fff -> ${hex(f + 2 * PAGE)}       1 page(s)  P RO US`,
    );
    // The kernel image: supervisor, writable.
    expect(lines[lines.findIndex((l) => l.startsWith("0xc0000000"))]).toMatch(/P RW S$/);
  });
});

describe("explain names the table's kernel address, or none", () => {
  it("kernel and user regions, with and without a table", () => {
    const { p } = fresh();
    const as = p.createAddressSpace()!;
    // The boot table is kvpd[0] (region 768).
    expect(p.explain(0xc000_0000)).toContain(`kvpd[0] = ${hex(p.kvpd[0]!)}`);
    expect(p.explain(0xd000_0000)).toContain("kvpd[64] = none");
    expect(p.explain(0x0140_0000, as)).toContain("vpde[5] = none");
  });
});

describe("out of memory", () => {
  it("a user mapping that needs two tables but gets one gives the one back", () => {
    const { p } = fresh(4 * MiB);
    const as = p.createAddressSpace()!;
    const hog = hogFrames(p);
    // Leave one frame: enough for the first table (region 0), not for the second (region 1).
    p.allocators.ppfree(hog.pop()!, 1);
    expect(p.allocators.physical.freePages).toBe(1);
    expect(p.mapMem(as, hog[0]!, 0x003f_f000, 2, P | U)).toBe(false);
    expect(as.vpde.every((t) => t === null)).toBe(true);
    expect(p.allocators.physical.freePages).toBe(1);
    // With that frame a mapping inside one region succeeds.
    expect(p.mapMem(as, hog[0]!, 0x003f_f000, 1, P | U)).toBe(true);
  });

  it("no kernel virtual page left: createAddressSpace is null and the frame goes back", () => {
    const { p } = fresh();
    while (p.allocators.vpalloc(1, 1 << 18) !== null);
    const free = p.allocators.physical.freePages;
    expect(p.createAddressSpace()).toBeNull();
    expect(p.allocators.physical.freePages).toBe(free);
  });

  it("no frame left: createAddressSpace is null", () => {
    const { p } = fresh();
    hogFrames(p);
    const freeVirtual = p.allocators.kernel.freePages;
    expect(p.createAddressSpace()).toBeNull();
    expect(p.allocators.kernel.freePages).toBe(freeVirtual);
  });

  it("no kernel virtual page for a new kernel table: the table is used through the window", () => {
    const { m, p } = fresh();
    while (p.allocators.vpalloc(1, 1 << 18) !== null);
    const f = p.allocators.ppalloc(1, 1)!.start;
    m.ram.write32(f, 0x600d);
    expect(p.mapMem(null, f, 0xd000_0000, 1, P | W)).toBe(true);
    const r = 0xd000_0000 >>> 22;
    expect(p.kvpd[r - p.userPdes]).toBeNull();
    expect(p.kernelTablePhys(r)).not.toBeNull();
    // Its PTEs are reached through the window page at split + 1023 pages.
    expect(p.kernelPteVa(r, 3)).toBe(0xc03f_f000 + 12);
    expect(m.mmu.read32(0xd000_0000)).toBe(0x600d);
    expect(p.kernelPhysOf(0xd000_0000)).toBe(f);
  });

  it("a page source that returns an unmapped page is E_BAD_CONFIG naming it", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    const p = startPaging(m, {
      pageSource: () => ({ name: "broken", allocPage: () => 0xd000_0000, freePage: () => {} }),
    });
    refused(
      () => p.createAddressSpace(),
      "E_BAD_CONFIG",
      /page source returned unmapped page 0xd0000000/,
    );
    const f = p.allocators.ppalloc(1, 1)!.start;
    refused(
      () => p.mapMem(p.init, f, 0x0040_0000, 1, P | U),
      "E_BAD_CONFIG",
      /unmapped page 0xd0000000/,
    );
  });
});

it("PageFault is what a CPL 3 read of a kernel page raises (sanity check of the helpers above)", () => {
  const { m } = fresh();
  expect(() => m.mmu.read32(0xc000_0000, 3)).toThrow(PageFault);
});

describe("from the second measurement (map-mem.ts, start.ts)", () => {
  it("startPaging refuses null options and a boot that is not a function, before paging is on", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    refused(() => startPaging(m, null as never), "E_BAD_CONFIG", /startPaging options null/);
    refused(() => startPaging(m, { boot: 5 as never }), "E_BAD_CONFIG", /boot 5 is not a function/);
    expect(m.mmu.pagingEnabled).toBe(false);
  });

  it("a new page table starts empty even in a frame full of old data", () => {
    const { m, p } = fresh();
    const as = p.createAddressSpace()!;
    // Dirty every free frame, then give them back: the next tables are made in them.
    const frames = hogFrames(p);
    for (const f of frames) for (let i = 0; i < 1024; i++) m.ram.write32(f + 4 * i, 0xffff_ffff);
    for (const f of frames) p.allocators.ppfree(f, 1);
    const f = frames[0]!;
    expect(p.mapMem(as, f, 0x0040_0000, 1, P | U)).toBe(true); // a user table
    expect(p.mapMem(null, f, 0xd000_0000, 1, P | W)).toBe(true); // a kernel table
    expect(p.dump(as).filter((r) => r.virt < 0xc000_0000)).toEqual([
      { virt: 0x0040_0000, phys: f, pages: 1, flags: P | U },
    ]);
    expect(p.dump(as).filter((r) => r.virt >= 0xd000_0000)).toEqual([
      { virt: 0xd000_0000, phys: f, pages: 1, flags: P | W },
    ]);
  });
});
