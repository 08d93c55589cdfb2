/**
 * The Linux design's mutation survivors (issue 10): hand-worked tests of the
 * edges that the story-like tests in linux*.test.ts pass over. Each
 * expectation comes from Linux i386's rules as the module headers state them
 * (the layout arithmetic of include/asm-i386, do_anonymous_page's decisions,
 * pkmap_count, the fixmap slots), worked out here by hand, never by calling
 * the code under test a second way.
 *
 * Boots use 4 MiB pages (`pse: true`) where the direct map's page tables do
 * not matter: the boot then writes 224 PDEs instead of 229,376 PTEs.
 */
import { GFP, LINUX_ERROR } from "@mm386/allocation/linux";
import {
  CR4,
  createMachine,
  E820,
  type MemoryRegion,
  PageFault,
  PF_ERROR,
  PTE,
} from "@mm386/hw-i386";
import { expectCode, expectFault } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { PAGING_ERROR } from "../src/index.js";
import {
  bootLinux,
  checkFaultHandler,
  checkLinuxBootOptions,
  LinuxPaging,
  memInit,
  pagingInit,
  setupMemory,
  type FaultContext,
  fixToVirt,
  headS,
  KM_TYPE,
  kmapAtomicAddr,
  kmTypeName,
  linuxLayout,
  linuxUserFault,
  maxmemFor,
  type MmStruct,
  PROT,
  SegmentationFault,
  startLinuxBoot,
  type UserFaultHandler,
  type VmArea,
} from "../src/linux/index.js";
import { physPte, segv } from "./helpers.js";

const MiB = 1024 * 1024;
const PAGE = 4096;
/** `__PAGE_KERNEL | _PAGE_GLOBAL`: P 0x001, RW 0x002, A 0x020, D 0x040, G 0x100. */
const KERNEL_G = 0x163;

/** 64 MiB, no highmem: high_memory 0xC4000000, vmalloc [0xC4800000, 0xFF7FE000). */
const boot64 = (o: { pse?: boolean; pge?: boolean } = {}) =>
  bootLinux(createMachine({ ramBytes: 64 * MiB }), { pse: true, ...o });
/** 1 GiB: low memory ends at 896 MiB (0x38000000), 32768 highmem frames above it. */
const boot1g = (o: { pge?: boolean; highpte?: boolean } = {}) =>
  bootLinux(createMachine({ ramBytes: 1024 * MiB }), { pse: true, ...o });
const HIGH = 0x3800_0000;
/** 16 MiB, for running out of memory quickly: VMALLOC_START 0xC1800000 (PDE 774, no table yet). */
const boot16 = () => bootLinux(createMachine({ ramBytes: 16 * MiB }), { pse: true });

/** The PTE of `va` in `mm`, read physically (null without a low page table). */
const ptePhys = (l: LinuxPaging, mm: MmStruct, va: number) => physPte(l.machine, mm.cr3, va);

// ------------------------------------------------------------------ fault.ts

/** A FaultContext over a plain map of PTEs, recording every call. */
function fakeContext(
  areas: VmArea[],
  ptes: Map<number, number | null>,
  opts: { frame?: number | null; setPteOk?: boolean } = {},
) {
  const calls: string[] = [];
  const ctx: FaultContext = {
    findArea: (a) => areas.find((x) => x.start <= a && a < x.end),
    pte: (page) => (ptes.has(page) ? ptes.get(page)! : null),
    setPte: (page, pte) => {
      calls.push(`setPte ${page.toString(16)} ${pte.toString(16)}`);
      if (opts.setPteOk === false) return false;
      ptes.set(page, pte);
      return true;
    },
    allocUserFrame: () => {
      calls.push("alloc");
      return opts.frame === undefined ? 0x0123_4000 : opts.frame;
    },
    freeUserFrame: (f) => calls.push(`free ${f.toString(16)}`),
    zeroPage: () => 0x0005_0000,
    clearUserPage: (page) => calls.push(`clear ${page.toString(16)}`),
    ownFrame: (page, frame) => calls.push(`own ${page.toString(16)} ${frame.toString(16)}`),
    count: (what) => calls.push(what),
  };
  return { ctx, calls };
}

const READ = 0;
const WRITE = PF_ERROR.W;

describe("linuxUserFault's decisions, on a hand-made context", () => {
  const area = (prot: number): VmArea[] => [{ start: 0x0040_0000, end: 0x0040_3000, prot }];

  it("refuses outside every area, on PROT_NONE and a write to a read-only area, touching nothing", () => {
    for (const [areas, addr, code, why] of [
      [area(PROT.READ | PROT.WRITE), 0x0040_3000, READ, "no mapping there (outside every area)"],
      [area(PROT.READ | PROT.WRITE), 0x003f_fffc, WRITE, "no mapping there (outside every area)"],
      [area(PROT.NONE), 0x0040_0000, READ, "the area is PROT_NONE"],
      [area(PROT.READ), 0x0040_2ffc, WRITE, "a write to a read-only area"],
      [area(PROT.EXEC), 0x0040_1000, WRITE, "a write to a read-only area"],
    ] as const) {
      const { ctx, calls } = fakeContext([...areas], new Map());
      expect(linuxUserFault.handle(ctx, addr, code)).toBe(why);
      expect(calls).toEqual([]);
    }
  });

  it("maps the zero page read-only (P|US) on a read of a page with no PTE, at the page's start", () => {
    for (const pte of [null, 0, 0x0005_0200]) {
      const ptes = new Map<number, number | null>([[0x0040_1000, pte]]);
      const { ctx, calls } = fakeContext(area(PROT.READ), ptes);
      expect(linuxUserFault.handle(ctx, 0x0040_1abc, READ)).toBe(true);
      expect(calls).toEqual(["setPte 401000 50005", "zeroPageMap"]);
    }
    // An EXEC-only area is readable (i386 cannot refuse it).
    const { ctx } = fakeContext(area(PROT.EXEC), new Map());
    expect(linuxUserFault.handle(ctx, 0x0040_0000, READ)).toBe(true);
  });

  it("gives a not-present write a frame of its own: P|US|RW, zeroed, owned, not counted as a copy", () => {
    const { ctx, calls } = fakeContext(area(PROT.WRITE), new Map());
    expect(linuxUserFault.handle(ctx, 0x0040_2ffc, WRITE | PF_ERROR.U)).toBe(true);
    expect(calls).toEqual(["alloc", "setPte 402000 1234007", "clear 402000", "own 402000 1234000"]);
  });

  it("copies the zero page on a write to it (whatever its flag bits), and counts the copy", () => {
    const ptes = new Map<number, number | null>([[0x0040_0000, 0x0005_0065]]);
    const { ctx, calls } = fakeContext(area(PROT.READ | PROT.WRITE), ptes);
    expect(linuxUserFault.handle(ctx, 0x0040_0010, WRITE | PF_ERROR.P)).toBe(true);
    expect(calls).toEqual([
      "alloc",
      "setPte 400000 1234007",
      "clear 400000",
      "own 400000 1234000",
      "zeroPageCopy",
    ]);
  });

  it("leaves a protection fault the area does not explain to the caller", () => {
    for (const [pte, code] of [
      [0x0005_0005, READ], // the zero page present, read: nothing to do
      [0x0077_7007, WRITE], // a frame of its own, written: not a zero-page copy
      [0x0077_7005, READ],
    ] as const) {
      const { ctx, calls } = fakeContext(
        area(PROT.READ | PROT.WRITE),
        new Map([[0x0040_1000, pte]]),
      );
      expect(linuxUserFault.handle(ctx, 0x0040_1000, code)).toBe(
        "a protection fault the area does not explain",
      );
      expect(calls).toEqual([]);
    }
  });

  it("runs out of memory with typed errors naming the page, giving an unused frame back", () => {
    const rw = area(PROT.READ | PROT.WRITE);
    let f = fakeContext(rw, new Map(), { setPteOk: false });
    expectCode(() => linuxUserFault.handle(f.ctx, 0x0040_1004, READ), LINUX_ERROR.NO_MEMORY, {
      message: /page table at 0x00401000$/,
    });
    expect(f.calls).toEqual(["setPte 401000 50005"]);
    f = fakeContext(rw, new Map(), { frame: null });
    expectCode(() => linuxUserFault.handle(f.ctx, 0x0040_2000, WRITE), LINUX_ERROR.NO_MEMORY, {
      message: /the page at 0x00402000 \(the kernel would call the OOM killer\)/,
    });
    expect(f.calls).toEqual(["alloc"]);
    f = fakeContext(rw, new Map(), { setPteOk: false });
    expectCode(() => linuxUserFault.handle(f.ctx, 0x0040_2000, WRITE), LINUX_ERROR.NO_MEMORY, {
      message: /page table at 0x00402000$/,
    });
    expect(f.calls).toEqual(["alloc", "setPte 402000 1234007", "free 1234000"]);
  });

  it("checkFaultHandler wants an object with a string name and a handle method", () => {
    const handle = () => true as const;
    for (const h of [null, 5, "x", handle, { name: "n" }, { handle }, { name: 5, handle }])
      expectCode(() => checkFaultHandler(h), LINUX_ERROR.BAD_CONFIG, {
        message: /faultHandler must be an object with a name and a handle/,
      });
    expect(() => checkFaultHandler({ name: "n", handle })).not.toThrow();
    // A function has a name; with a handle property it is still not an object.
    const fn = Object.assign(() => 0, { handle });
    expectCode(() => checkFaultHandler(fn), LINUX_ERROR.BAD_CONFIG);
    expect(linuxUserFault.name).toBe("do_anonymous_page + zero-page copy on write");
  });
});

// ----------------------------------------------------------------- layout.ts

describe("the layout, hand-worked", () => {
  it("names the kmap_atomic types and places their slots below FIXADDR_TOP", () => {
    expect(kmTypeName(KM_TYPE.USER0)).toBe("KM_USER0");
    expect(kmTypeName(0)).toBe("KM_BOUNCE_READ");
    expect(kmTypeName(12)).toBe("KM_SOFTIRQ1");
    expect(kmTypeName(13)).toBe("13");
    expect(fixToVirt(0)).toBe(0xffff_f000);
    expect(fixToVirt(3)).toBe(0xffff_c000);
    expect(kmapAtomicAddr(KM_TYPE.BOUNCE_READ)).toBe(0xffff_e000);
    expect(kmapAtomicAddr(KM_TYPE.SOFTIRQ1)).toBe(0xffff_2000);
  });

  it("MAXMEM is 4 GiB - PAGE_OFFSET - 128 MiB; the vmalloc gap is at least 8 MiB", () => {
    expect(maxmemFor(0xc000_0000)).toBe(896 * MiB);
    expect(maxmemFor(0x4000_0000)).toBe(3 * 1024 * MiB - 128 * MiB);
    // high_memory one page past an 8 MiB boundary: + 16 MiB - 1 rounds to the second boundary up.
    const l = linuxLayout(0xc000_0000, 64 * 256 + 1);
    expect(l.highMemory).toBe(0xc400_1000);
    expect(l.vmallocStart).toBe(0xc500_0000);
    // high_memory one page short of it: still 8 MiB up.
    expect(linuxLayout(0xc000_0000, 64 * 256 - 1).vmallocStart).toBe(0xc480_0000);
    // Independent of RAM: the fixmap's 14 pages and pkmap's 4 MiB-aligned table below them.
    expect(l).toMatchObject({
      fixaddrStart: 0xffff_1000,
      pkmapBase: 0xff80_0000,
      pkmapEnd: 0xffc0_0000,
      vmallocEnd: 0xff7f_e000,
      maxmem: 0x3800_0000,
    });
  });
});

// ------------------------------------------------------------------- boot.ts

describe("boot options and machines, at both ends of each range", () => {
  const ok = (o: object) => checkLinuxBootOptions(o);
  const refused = (o: unknown, message: RegExp) =>
    expectCode(() => checkLinuxBootOptions(o as never), LINUX_ERROR.BAD_CONFIG, { message });

  it("fills in the defaults: 0xC0000000, no PSE, PGE, a 1 MiB image, HIGHPTE, the default handler", () => {
    expect(ok({})).toEqual({
      pageOffset: 0xc000_0000,
      pse: false,
      pge: true,
      kernelSize: 0x10_0000,
      faultHandler: null,
      highpte: true,
    });
    const h: UserFaultHandler = { name: "h", handle: () => true };
    expect(
      ok({
        pageOffset: 0x4000_0000,
        pse: true,
        pge: false,
        kernelSize: 0x4000,
        highpte: false,
        faultHandler: h,
      }),
    ).toEqual({
      pageOffset: 0x4000_0000,
      pse: true,
      pge: false,
      kernelSize: 0x4000,
      faultHandler: h,
      highpte: false,
    });
    expect(ok({ pageOffset: 0xe000_0000, kernelSize: 0x40_0000 })).toMatchObject({
      pageOffset: 0xe000_0000,
      kernelSize: 0x40_0000,
    });
  });

  it("refuses each bad option by name, the bad value in hex", () => {
    for (const o of [null, 5, "x", []]) refused(o, /boot options .* are not an object/);
    refused({ pse: true, split: 1 }, /unknown boot option "split" \(known: pageOffset, pse/);
    refused({ pageOffset: 0x3fc0_0000 }, /PAGE_OFFSET 0x3fc00000 must be a multiple of 4 MiB/);
    refused({ pageOffset: 0xe040_0000 }, /PAGE_OFFSET 0xe0400000 must/);
    refused({ pageOffset: 0xc000_1000 }, /PAGE_OFFSET 0xc0001000 must/);
    refused({ pageOffset: 0xc000_0000 + 0.5 }, /PAGE_OFFSET 3221225472.5 must/);
    refused({ pageOffset: -0x4000_0000 }, /PAGE_OFFSET -1073741824 must/);
    refused({ pageOffset: {} }, /PAGE_OFFSET an object must/);
    refused({ pse: 1 }, /pse 1 is not a boolean/);
    refused({ pge: null }, /pge null is not a boolean/);
    refused({ highpte: "yes" }, /highpte "yes" is not a boolean/);
    refused(
      { kernelSize: 0x3fff },
      /kernel size 0x00003fff must be an integer in \[0x4000, 0x400000\]/,
    );
    refused({ kernelSize: 0x40_0001 }, /kernel size 0x00400001 must/);
    refused({ kernelSize: 32768.5 }, /kernel size 32768.5 must/);
    refused({ faultHandler: null }, /faultHandler must be an object/);
  });

  it("refuses what is not a machine, paging already on, and too little RAM, writing nothing", () => {
    for (const m of [null, 5, {}, { ram: {}, mmu: 5 }, { ram: 5, mmu: {} }])
      expectCode(() => startLinuxBoot(m as never), LINUX_ERROR.BAD_CONFIG, {
        message: /is not a machine \(createMachine's result\)/,
      });
    const on = createMachine({ ramBytes: 16 * MiB });
    headS(on, 0xc000_0000, MiB);
    expectCode(() => startLinuxBoot(on), LINUX_ERROR.BAD_CONFIG, {
      message: /paging is already on/,
    });
    const small = createMachine({ ramBytes: 16 * MiB - PAGE });
    expectCode(() => startLinuxBoot(small), LINUX_ERROR.BAD_CONFIG, {
      message: /RAM ends at 0x00fff000: Linux here needs at least 16 MiB/,
    });
    expect(small.ram.touchedFrames).toBe(0);
    // Exactly 16 MiB boots; so do both ends of PAGE_OFFSET's range.
    expect(bootLinux(createMachine({ ramBytes: 16 * MiB })).maxPfn).toBe(4096);
    for (const pageOffset of [0x4000_0000, 0xe000_0000]) {
      const l = bootLinux(createMachine({ ramBytes: 16 * MiB }), { pageOffset, pse: true });
      expect(l.translate(pageOffset + 0x00ff_f123).pa).toBe(0x00ff_f123);
    }
  });

  it("wants RAM from 1 MiB to 1 MiB past the image's end (its bootmem), both ends inclusive", () => {
    const map = (lowEnd: number, lowBase = 0): MemoryRegion[] => [
      { base: lowBase, length: lowEnd - lowBase, type: E820.USABLE },
      { base: 4 * MiB, length: 28 * MiB, type: E820.USABLE },
    ];
    // Default image [1 MiB, 2 MiB): the region must reach 3 MiB.
    const tight = bootLinux(createMachine({ memoryMap: map(3 * MiB) }), { pse: true });
    expect(tight.maxPfn).toBe(8192);
    // A region that starts right at 1 MiB is enough too.
    expect(bootLinux(createMachine({ memoryMap: map(3 * MiB, MiB) })).maxPfn).toBe(8192);
    for (const [m, message] of [
      [
        map(3 * MiB - PAGE),
        /no RAM under the kernel image and its bootmem \[0x00100000, 0x00300000\)/,
      ],
      [map(3 * MiB, MiB + PAGE), /\[0x00100000, 0x00300000\)/],
    ] as const) {
      const machine = createMachine({ memoryMap: m });
      expectCode(() => startLinuxBoot(machine), LINUX_ERROR.BAD_CONFIG, { message });
      expect(machine.mmu.pagingEnabled).toBe(false);
      expect(machine.ram.touchedFrames).toBe(0);
    }
    // A 2 MiB image needs RAM to 4 MiB.
    expectCode(
      () => startLinuxBoot(createMachine({ memoryMap: map(3 * MiB) }), { kernelSize: 2 * MiB }),
      LINUX_ERROR.BAD_CONFIG,
      { message: /\[0x00100000, 0x00400000\)/ },
    );
  });

  it("head.S clears its three tables even in dirty frames, and writes pg1's last entry and no further", () => {
    const m = createMachine({ ramBytes: 16 * MiB });
    for (const a of [0x10_1000, 0x10_1ffc, 0x10_2800, 0x10_3ffc, 0x10_4000])
      m.ram.write32(a, 0xdead_beef);
    headS(m, 0xc000_0000, MiB);
    expect(m.ram.read32(0x10_1ffc)).toBe(0); // PDE 1023 of swapper_pg_dir
    expect(m.ram.read32(0x10_1000)).toBe(0x0010_2067); // PDE 0 -> pg0
    expect(m.ram.read32(0x10_2800)).toBe(0x0020_0007); // pg0 entry 512: 2 MiB
    expect(m.ram.read32(0x10_3ffc)).toBe(0x007f_f007); // pg1 entry 1023: 8 MiB - 4 KiB
    expect(m.ram.read32(0x10_4000)).toBe(0xdead_beef); // the image's next page is left alone
  });

  it("with PSE maps whole 4 MiB as large pages and the last partial 4 MiB with a table", () => {
    const exact = boot64();
    expect(exact.boot.tablesFromBootmem).toBe(0);
    expect(exact.mmu.cr4 & CR4.PSE).toBe(CR4.PSE);
    // PDE 783 maps physical 60 MiB: 0x03c00000 | PAGE_KERNEL | G | PS (0x080) = 0x03c001e3.
    expect(exact.machine.ram.read32(0x10_1000 + 4 * 783)).toBe(0x03c0_01e3);
    // 18 MiB: four large pages and one table (PDE 772) for 16-18 MiB, its upper half empty.
    const l = bootLinux(createMachine({ ramBytes: 18 * MiB }), { pse: true });
    expect(l.boot.tablesFromBootmem).toBe(1);
    const pde = l.machine.ram.read32(0x10_1000 + 4 * 772);
    expect(pde & 0x0ff).toBe(0x067);
    const table = pde & ~0xfff;
    expect(l.machine.ram.read32(table + 4 * 511)).toBe(0x011f_f000 | KERNEL_G);
    expect(l.machine.ram.read32(table + 4 * 512)).toBe(0);
    expect(l.machine.ram.read32(table + 4 * 1023)).toBe(0);
    // The fixmap's table (PDE 1023) and pkmap's (PDE 1022) are the boot's two kmap tables.
    expect(l.boot.kmapTables).toBe(2);
    // Without PSE: pg0 and pg1 reused, tables for 8-12, 12-16 and 16-18 MiB, the last half empty.
    const small = bootLinux(createMachine({ ramBytes: 18 * MiB }));
    expect(small.boot.tablesFromBootmem).toBe(3);
    const t = small.machine.ram.read32(0x10_1000 + 4 * 772) & ~0xfff;
    expect(small.machine.ram.read32(t + 4 * 511)).toBe(0x011f_f000 | KERNEL_G);
    expect(small.machine.ram.read32(t + 4 * 512)).toBe(0);
    expect(small.machine.ram.read32(0x10_1000 + 4 * 768)).toBe(0x0010_2067); // pg0 kept
  });

  it("without PGE: CR4.PGE off and kernel PTEs not global (0x063); without PSE: CR4.PSE off", () => {
    const l = bootLinux(createMachine({ ramBytes: 16 * MiB }), { pge: false });
    expect(l.mmu.cr4 & (CR4.PGE | CR4.PSE)).toBe(0);
    expect(l.machine.ram.read32(0x10_2000 + 4 * 0x345)).toBe(0x0034_5063);
    const g = bootLinux(createMachine({ ramBytes: 16 * MiB }));
    expect(g.mmu.cr4 & (CR4.PGE | CR4.PSE)).toBe(CR4.PGE);
    expect(g.machine.ram.read32(0x10_2000 + 4 * 0x345)).toBe(0x0034_5163);
  });
});

// ---------------------------------------------------------------- highmem.ts

describe("highmem: kmap, kunmap and the pkmap slots at their edges", () => {
  it("draws the line at max_low_pfn and refuses pages that are not frames of RAM, by name", () => {
    const l = boot1g();
    const h = l.highmem;
    expect(h.isHighmem(HIGH - PAGE)).toBe(false);
    expect(h.isHighmem(HIGH)).toBe(true);
    expect(h.isHighmem(0x3fff_f000)).toBe(true);
    expectCode(() => h.isHighmem(0x4000_0000), LINUX_ERROR.OUT_OF_RANGE, {
      message: /PageHighMem\(0x40000000\): past the end of RAM at 0x40000000/,
    });
    expectCode(() => l.kmap(HIGH + 0x800), LINUX_ERROR.UNALIGNED, {
      message: /kmap\(0x38000800\): not page-aligned/,
    });
    for (const bad of [-PAGE, 1.5, "0", null])
      expectCode(() => l.kmap(bad as never), LINUX_ERROR.BAD_ARGUMENT, {
        message: /^E_BAD_ARGUMENT: kmap\(.*\): a page is a frame's physical address$/,
      });
    expectCode(() => h.pageAddress(-1), LINUX_ERROR.BAD_ARGUMENT, {
      message: /page_address\(-1\)/,
    });
    expectCode(() => l.kunmap(0x4000_0000), LINUX_ERROR.OUT_OF_RANGE, {
      message: /kunmap\(0x40000000\)/,
    });
    expect(h.pkmapSlots()).toEqual([]);
  });

  it("PKMAP_ADDR: slot 0 at PKMAP_BASE 0xFF800000, slot 1023 at 0xFFBFF000, 1024 refused", () => {
    const h = boot64().highmem;
    expect(h.pkmapAddr(0)).toBe(0xff80_0000);
    expect(h.pkmapAddr(1023)).toBe(0xffbf_f000);
    for (const nr of [-1, 1024, 0.5, Number.NaN])
      expectCode(() => h.pkmapAddr(nr), LINUX_ERROR.BAD_ARGUMENT, {
        message: /pkmap slot .* is not in 0\.\.1023/,
      });
  });

  it("kmap: a lowmem page is its __va (no slot); a highmem page takes slot 1 first, PAGE_KERNEL | G", () => {
    const l = boot1g();
    expect(l.kmap(HIGH - PAGE)).toBe(0xf7ff_f000);
    expect(l.kmap(0)).toBe(0xc000_0000); // frame 0 is a page like any other
    expectCode(() => l.kmapAtomic(HIGH + 0x800, KM_TYPE.USER0), LINUX_ERROR.UNALIGNED, {
      message: /kmap_atomic\(0x38000800\): not page-aligned/,
    });
    expect(l.kunmap(HIGH - PAGE)).toBeUndefined(); // lowmem: nothing to give back
    expect(l.highmem.pageAddress(HIGH - PAGE)).toBeNull();
    expect(l.highmem.pkmapSlots()).toEqual([]);
    const page = HIGH + 5 * PAGE;
    expect(l.highmem.pageAddress(page)).toBeNull();
    // last_pkmap_nr starts at 0 and is advanced before the search: slot 1.
    expect(l.kmap(page)).toBe(0xff80_1000);
    expect(l.kmap(page)).toBe(0xff80_1000);
    expect(l.highmem.pageAddress(page)).toBe(0xff80_1000);
    expect(l.highmem.pkmapSlots()).toEqual([{ nr: 1, vaddr: 0xff80_1000, page, count: 3 }]);
    expect(l.highmem.stats).toEqual({ kmapNew: 1, pkmapFlushes: 0, atomicMaps: 0 });
    // pkmap_page_table's entry 1, read through the direct map: the frame | 0x163.
    expect(l.mmu.read32(l.boot.pkmapPageTable + 4)).toBe((page | KERNEL_G) >>> 0);
    expect(l.translate(0xff80_1abc).pa).toBe(page + 0xabc);
    // The next page gets slot 2.
    expect(l.kmap(HIGH)).toBe(0xff80_2000);
    // Two users, two kunmaps; a third is refused and changes nothing.
    l.kunmap(page);
    l.kunmap(page);
    expectCode(() => l.kunmap(page), LINUX_ERROR.NOT_MAPPED, {
      message: /kunmap\(0x38005000\): the page is not kmapped/,
    });
    expectCode(() => l.kunmap(HIGH + PAGE), LINUX_ERROR.NOT_MAPPED, {
      message: /kunmap\(0x38001000\)/,
    });
    expect(l.highmem.pkmapSlots()[0]).toEqual({ nr: 1, vaddr: 0xff80_1000, page, count: 1 });
    // Lazy: still mapped (count 1) until the next wrap.
    expect(l.highmem.pageAddress(page)).toBe(0xff80_1000);
    expect(l.kmap(page)).toBe(0xff80_1000);
    expect(l.highmem.stats.kmapNew).toBe(2);
  });

  it("flush_all_zero_pkmaps frees exactly the slots at count 1, and flushes once", () => {
    const l = boot1g({ pge: false });
    const [a, b] = [HIGH, HIGH + PAGE];
    l.kmap(a);
    l.kmap(b);
    l.kunmap(a);
    // Without PGE the entry is not global: frame | 0x063.
    expect(l.mmu.read32(l.boot.pkmapPageTable + 4)).toBe(a | 0x063);
    l.highmem.flushAllZeroPkmaps();
    expect(l.mmu.read32(l.boot.pkmapPageTable + 4)).toBe(0);
    expect(l.mmu.read32(l.boot.pkmapPageTable + 8)).toBe(b | 0x063);
    expect(l.highmem.pageAddress(a)).toBeNull();
    expect(l.highmem.pageAddress(b)).toBe(0xff80_2000);
    expect(l.highmem.pkmapSlots().map((s) => [s.nr, s.count])).toEqual([[2, 2]]);
    expect(l.stats.pkmapFlushes).toBe(1);
    expectFault(() => l.read32(0xff80_1000, 0));
    // a was freed: kmapping it again takes a new slot, the next after 2.
    expect(l.kmap(a)).toBe(0xff80_3000);
  });

  it("wraps after slot 1023 to slot 0 with one flush; with every slot used, null and nothing changed", () => {
    const l = boot1g();
    for (let i = 1; i <= 1023; i++) expect(l.kmap(HIGH + i * PAGE)).toBe(0xff80_0000 + i * PAGE);
    expect(l.stats.pkmapFlushes).toBe(0);
    // Slot 0 was never used: the wrap flushes (nothing at count 1) and takes it.
    expect(l.kmap(HIGH + 2000 * PAGE)).toBe(0xff80_0000);
    expect(l.stats.pkmapFlushes).toBe(1);
    const before = l.highmem.pkmapSlots();
    expect(before).toHaveLength(1024);
    expect(l.kmap(HIGH + 2001 * PAGE)).toBeNull();
    expect(l.highmem.pkmapSlots()).toEqual(before);
    // One slot back to count 1: the search finds nothing free until the wrap frees it.
    l.kunmap(HIGH + 7 * PAGE);
    expect(l.kmap(HIGH + 2001 * PAGE)).toBe(0xff80_7000);
  });
});

describe("highmem: kmap_atomic and kunmap_atomic at their edges", () => {
  it("maps a highmem page at its type's fixmap slot with PAGE_KERNEL | G; types 0 and 12 are the ends", () => {
    const l = boot1g();
    expect(l.kmapAtomic(HIGH, KM_TYPE.BOUNCE_READ)).toBe(0xffff_e000);
    expect(l.kmapAtomic(HIGH + PAGE, KM_TYPE.SOFTIRQ1)).toBe(0xffff_2000);
    // The fixmap's table, entries 0x3fe and 0x3f2.
    expect(l.mmu.read32(l.boot.fixmapPageTable + 4 * 0x3fe)).toBe((HIGH | KERNEL_G) >>> 0);
    expect(l.mmu.read32(l.boot.fixmapPageTable + 4 * 0x3f2)).toBe((HIGH + PAGE) | KERNEL_G);
    expect(l.highmem.atomicSlot(KM_TYPE.SOFTIRQ1)).toBe(HIGH + PAGE);
    expect(l.highmem.atomicSlot(KM_TYPE.USER0)).toBeNull();
    expect(l.highmem.stats.atomicMaps).toBe(2);
    // A lowmem page is its __va and takes no slot.
    expect(l.kmapAtomic(0x1000, KM_TYPE.USER0)).toBe(0xc000_1000);
    expect(l.highmem.atomicSlot(KM_TYPE.USER0)).toBeNull();
    expect(l.highmem.stats.atomicMaps).toBe(2);
    for (const t of [-1, 13, 1.5])
      expectCode(() => l.kmapAtomic(HIGH, t), LINUX_ERROR.BAD_ARGUMENT, {
        message: /kmap_atomic: type .* is not a km_type \(0\.\.12\)/,
      });
    expectCode(() => l.highmem.atomicSlot(13), LINUX_ERROR.BAD_ARGUMENT, {
      message: /atomicSlot: type 13/,
    });
    expectCode(() => l.kmapAtomic(HIGH + 2 * PAGE, KM_TYPE.BOUNCE_READ), LINUX_ERROR.BUSY, {
      message:
        /kmap_atomic\(0x38002000, KM_BOUNCE_READ\): the slot at 0xffffe000 already maps 0x38000000/,
    });
    expect(l.highmem.atomicSlot(KM_TYPE.BOUNCE_READ)).toBe(HIGH);
  });

  it("kunmap_atomic: direct-map addresses need nothing; a wrong, unused or non-address slot is refused", () => {
    const l = boot1g();
    // The direct map's ends, and an address inside a slot page, are accepted.
    l.kunmapAtomic(0xc000_0000, KM_TYPE.USER0);
    l.kunmapAtomic(0xf7ff_ffff, KM_TYPE.USER0);
    for (const [addr, message] of [
      [
        0xbfff_fffc,
        /kunmap_atomic\(0xbffffffc\): neither a direct-map address nor a kmap_atomic slot/,
      ],
      [0xf800_0000, /kunmap_atomic\(0xf8000000\): neither/],
      [0xffff_0fff, /kunmap_atomic\(0xffff0fff\): neither/],
      [-1, /kunmap_atomic\(-1\): not an address/],
      [2 ** 32, /kunmap_atomic\(0x100000000\): not an address/],
      [4096.5, /not an address/],
      [0xffff_c000, /kunmap_atomic\(0xffffc000, KM_USER0\): that type's slot is 0xffffb000/],
      // FIXADDR_START itself is in the fixmap (below the last slot type), not the direct map.
      [0xffff_1000, /kunmap_atomic\(0xffff1000, KM_USER0\): that type's slot is 0xffffb000/],
      [0, /kunmap_atomic\(0x00000000\): neither/],
    ] as const)
      expectCode(() => l.kunmapAtomic(addr, KM_TYPE.USER0), LINUX_ERROR.BAD_ARGUMENT, { message });
    expectCode(() => l.kunmapAtomic(0xffff_b000, KM_TYPE.USER0), LINUX_ERROR.NOT_MAPPED, {
      message: /kunmap_atomic\(0xffffb000, KM_USER0\): the slot is not in use/,
    });
    expectCode(() => l.kunmapAtomic(0xffff_b000, 13), LINUX_ERROR.BAD_ARGUMENT, {
      message: /kunmap_atomic: type 13/,
    });
    const va = l.kmapAtomic(HIGH, KM_TYPE.USER0);
    l.write32(va + 0xffc, 0x1234_5678, 0);
    l.kunmapAtomic(va + 0xffc, KM_TYPE.USER0); // any address in the slot's page
    expect(l.highmem.atomicSlot(KM_TYPE.USER0)).toBeNull();
    expect(l.mmu.read32(l.boot.fixmapPageTable + 4 * 0x3fb)).toBe(0);
    expectFault(() => l.read32(va, 0)); // invlpg'd: no stale translation
    expect(l.machine.ram.read32(HIGH + 0xffc)).toBe(0x1234_5678);
  });
});

// ----------------------------------------------------------------- paging.ts

/** 64 MiB with 4 MiB pages: PAGE_OFFSET 0xC0000000, high_memory 0xC4000000. */
const VSTART = 0xc480_0000;
const VEND = 0xff7f_e000;
/** Free pages in every zone. */
const freePages = (l: LinuxPaging) =>
  Object.values(l.zones.freeCounts()).reduce((a, b) => a + b, 0);
/** Take every free low frame; returns them, lowest last taken first. */
function exhaust(l: LinuxPaging): number[] {
  const taken: number[] = [];
  for (let f = l.allocUserFrame(); f !== null; f = l.allocUserFrame()) taken.push(f);
  return taken;
}
/**
 * Free low pages after booting 64 MiB with PSE (linux.test.ts's expectedFree): pages 1-158,
 * and 1 MiB to 64 MiB less the 1 MiB image, one bitmap page and the fixmap's and pkmap's tables.
 */
const freeLowPages64 = 158 + (16384 - 256) - 256 - 1 - 2;
function withProcess(l: LinuxPaging): MmStruct {
  const mm = l.createAddressSpace()!;
  l.switchTo(mm);
  return mm;
}

describe("__va and __pa at the ends of the direct map", () => {
  it("covers [0, max_low_pfn) and [PAGE_OFFSET, high_memory) exactly", () => {
    const l = boot64();
    expect(l.va(0)).toBe(0xc000_0000);
    expect(l.va(0x03ff_ffff)).toBe(0xc3ff_ffff);
    expect(l.pa(0xc000_0000)).toBe(0);
    expect(l.pa(0xc3ff_ffff)).toBe(0x03ff_ffff);
    for (const [p, shown] of [
      [0x0400_0000, "0x04000000"],
      [-1, "-1"],
      [1.5, "1.5"],
    ] as const)
      expectCode(() => l.va(p), PAGING_ERROR.BAD_ARGUMENT, {
        message: new RegExp(`__va\\(${shown}\\): not low memory \\(below 0x04000000\\)`),
      });
    for (const [v, shown] of [
      [0xbfff_ffff, "0xbfffffff"],
      [0xc400_0000, "0xc4000000"],
      [0.5, "0.5"],
    ] as const)
      expectCode(() => l.pa(v), PAGING_ERROR.BAD_ARGUMENT, {
        message: new RegExp(
          `__pa\\(${shown}\\): not in the direct map \\[0xc0000000, 0xc4000000\\)`,
        ),
      });
  });
});

describe("address spaces at their edges", () => {
  it("pgd_alloc clears every user PDE of a dirty frame and copies all 256 kernel PDEs", () => {
    const l = boot64();
    const f = l.allocFrames(2)!;
    for (let i = 0; i < 1024; i++) l.mmu.write32(0xc000_0000 + f + 4 * i, 0xdead_b000 | 0x67);
    for (let i = 0; i < 1024; i++) l.mmu.write32(0xc000_0000 + f + PAGE + 4 * i, 0x600d_f00d);
    l.freeFrames(f, 1);
    const mm = l.createAddressSpace()!;
    expect(mm.cr3).toBe(f); // the frame just given back
    expect(l.mmu.read32(0xc000_0000 + f + PAGE)).toBe(0x600d_f00d); // the next frame untouched
    expect(mm.pgd).toBe(0xc000_0000 + f);
    const ram = l.machine.ram;
    for (let r = 0; r < 1024; r++)
      expect(ram.read32(f + 4 * r)).toBe(r < 768 ? 0 : ram.read32(0x10_1000 + 4 * r));
    // The fixmap's and pkmap's tables (PDEs 1023 and 1022) are among them.
    expect(ram.read32(f + 4 * 1023) & PTE.P).toBe(PTE.P);
    expect(ram.read32(f + 4 * 1022) & PTE.P).toBe(PTE.P);
  });

  it("refuses foreign, destroyed, reference and current spaces by name; a destroy gives every page back", () => {
    const l = boot64();
    const other = boot64().createAddressSpace()!;
    for (const s of [other, null, {}, 5])
      expectCode(() => l.switchTo(s as never), PAGING_ERROR.NOT_PAGEDIR, {
        message: /is not an address space of this Linux/,
      });
    expectCode(() => l.destroyAddressSpace(l.reference), PAGING_ERROR.INIT_PAGEDIR, {
      message: /swapper_pg_dir \(0x00101000\) is init_mm's directory/,
    });
    const before = freePages(l);
    const mm = withProcess(l);
    expectCode(() => l.destroyAddressSpace(mm), PAGING_ERROR.CURRENT, {
      message: new RegExp(`pgd 0x${mm.cr3.toString(16).padStart(8, "0")} is loaded in CR3`),
    });
    // Two user tables (PDEs 0 and 1), a demand page, the zero page: all but the zero page come back.
    const f = l.allocFrames(2)!;
    expect(l.map(mm, 0x003f_f000, f, 2, PTE.P | PTE.RW | PTE.US)).toBe(true);
    l.mmap(mm, 0x0080_0000, PAGE, PROT.READ | PROT.WRITE);
    l.write32(0x0080_0000, 7, 3);
    expect(l.stats.tablesMade).toBe(3);
    l.switchTo(l.reference);
    l.destroyAddressSpace(mm);
    l.freeFrames(f, 2);
    expect(freePages(l)).toBe(before - 1);
    expect(mm.destroyed).toBe(true);
    expect(l.addressSpaces()).toEqual([l.reference]);
    for (const call of [() => l.switchTo(mm), () => l.destroyAddressSpace(mm), () => l.dump(mm)])
      expectCode(call, PAGING_ERROR.DESTROYED, { message: /pgd 0x[0-9a-f]{8} was destroyed/ });
  });
});

describe("map and unmap at the ends of each range", () => {
  const RW = PTE.P | PTE.RW;
  it("kernel mappings only in [VMALLOC_START, VMALLOC_END), both ends reachable", () => {
    const l = boot64();
    const f = l.allocFrames(2)!;
    expect(l.map(null, VSTART, f, 1, RW)).toBe(true);
    expect(l.map(null, VEND - PAGE, f, 1, RW)).toBe(true);
    expect(l.translate(VEND - 1).pa).toBe(f + 0xfff);
    for (const [virt, n, range] of [
      [VSTART - PAGE, 1, "0xc47ff000, 0xc4800000"],
      [VEND - PAGE, 2, "0xff7fd000, 0xff7ff000"],
      [0xc000_1000, 1, "0xc0001000, 0xc0002000"],
      [0xffff_b000, 1, "0xffffb000, 0xffffc000"],
    ] as const)
      expectCode(() => l.map(null, virt, f, n, RW), LINUX_ERROR.NOT_VMALLOC, {
        message: new RegExp(
          `kernel range \\[${range}\\) is outside the vmalloc area \\[0xc4800000, 0xff7fe000\\)`,
        ),
      });
    expectCode(() => l.map(null, 0x1000, f, 1, RW), PAGING_ERROR.NO_PAGEDIR, {
      message: /user address 0x00001000 needs an address space/,
    });
    expectCode(() => l.unmap(null, 0x1000, 1), PAGING_ERROR.NO_PAGEDIR);
    for (const flags of [PTE.RW, 0, 1.5])
      expectCode(() => l.map(null, VSTART, f, 1, flags), PAGING_ERROR.BAD_FLAGS, {
        message: /flags .* lack PTE_PRESENT: use unmap/,
      });
    expectCode(() => l.map(null, VSTART, f, 1, PTE.RW), PAGING_ERROR.BAD_FLAGS, {
      message: /flags 0x00000002 lack/,
    });
  });

  it("frames up to the end of RAM, not one past", () => {
    const l = boot64();
    const mm = withProcess(l);
    expect(l.map(mm, 0x1000, 0x03ff_f000, 1, RW | PTE.US)).toBe(true);
    expectCode(() => l.map(mm, 0x2000, 0x03ff_f000, 2, RW), PAGING_ERROR.PAST_RAM, {
      message: /physical \[0x03fff000, \+2 pages\) runs past the end of RAM at 0x04000000/,
    });
    expect(l.read32(0x1ffc, 3)).toBe(l.machine.ram.read32(0x03ff_fffc));
  });

  it("a run across a 4 MiB line gets two tables, each written at the right index", () => {
    const l = boot64();
    const mm = withProcess(l);
    const f = l.allocFrames(3)!;
    expect(l.map(mm, 0x003f_f000, f, 3, RW | PTE.US)).toBe(true);
    expect(ptePhys(l, mm, 0x003f_f000)).toBe(f | 0x007);
    expect(ptePhys(l, mm, 0x0040_0000)).toBe((f + PAGE) | 0x007);
    expect(ptePhys(l, mm, 0x0040_1000)).toBe((f + 2 * PAGE) | 0x007);
    expect(ptePhys(l, mm, 0x0040_2000)).toBe(0);
    expect(ptePhys(l, mm, 0x003f_e000)).toBe(0);
    expect(l.stats.tablesMade).toBe(2);
    // Unmapping where there is no table at all is nothing to do: no table is made for it.
    l.unmap(mm, 0x0080_0000, 1024);
    expect(l.stats.tablesMade).toBe(2);
    expect(ptePhys(l, mm, 0x0080_0000)).toBeNull();
    l.unmap(mm, 0x003f_f000, 3);
    expect(ptePhys(l, mm, 0x0040_0000)).toBe(0);
    expect(segv(() => l.read32(0x0040_0000, 3)).message).toMatch(/outside every area/);
  });

  it("leaves mmap areas and vmalloc areas alone, but not their neighbours", () => {
    const l = boot64();
    const mm = withProcess(l);
    const f = l.allocFrames(1)!;
    l.mmap(mm, 0x0040_0000, 2 * PAGE, PROT.READ);
    expect(l.map(mm, 0x003f_f000, f, 1, RW)).toBe(true);
    expect(l.map(mm, 0x0040_2000, f, 1, RW)).toBe(true);
    for (const [virt, n] of [
      [0x003f_f000, 2],
      [0x0040_1000, 1],
    ] as const)
      expectCode(() => l.map(mm, virt, f, n, RW), LINUX_ERROR.BUSY, {
        message:
          /overlaps the mmap area \[0x00400000, 0x00402000\): its pages are the fault handler's/,
      });
    expectCode(() => l.unmap(mm, 0x0040_1000, 1), LINUX_ERROR.BUSY);
    const a = l.vmalloc(PAGE)!;
    const b = l.vmalloc(PAGE)!;
    expect([a, b]).toEqual([VSTART, VSTART + 2 * PAGE]);
    // a's guard page is free for map; a page more reaches b.
    expect(l.map(null, VSTART + PAGE, f, 1, RW)).toBe(true);
    expectCode(() => l.map(null, VSTART + PAGE, f, 2, RW), LINUX_ERROR.BUSY, {
      message: /\[0xc4801000, 0xc4803000\) overlaps the vmalloc area at 0xc4802000: vfree it/,
    });
    expectCode(() => l.unmap(null, VSTART, 1), LINUX_ERROR.BUSY, {
      message: /overlaps the vmalloc area at 0xc4800000/,
    });
  });

  it("a kernel table goes into swapper_pg_dir and the current pgd at once, no other pgd", () => {
    const l = boot64();
    const other = l.createAddressSpace()!;
    const mm = withProcess(l);
    const f = l.allocFrames(1)!;
    const pdeAt = (s: MmStruct) => l.machine.ram.read32(s.cr3 + 4 * (VSTART >>> 22));
    expect(l.map(null, VSTART, f, 1, RW)).toBe(true);
    expect(pdeAt(l.reference) & 0xfff).toBe(0x067);
    expect(pdeAt(mm)).toBe(pdeAt(l.reference));
    expect(pdeAt(other)).toBe(0);
    // The same mapping again writes nothing and flushes nothing; a kernel unmap flushes all once.
    expect(l.map(null, VSTART, f, 1, RW)).toBe(true);
    l.unmap(null, VSTART + PAGE, 1); // never mapped: nothing to flush
    expect(l.stats.flushAlls).toBe(0);
    l.unmap(null, VSTART, 1);
    expect(l.stats.flushAlls).toBe(1);
    // A CPL 0 fault on a present PDE is no vmalloc fault: the PageFault stands.
    expectFault(() => l.read32(VSTART, 0));
    expect(l.stats.vmallocFaults).toBe(0);
  });

  it("out of memory for page tables: false, and the tables already taken go back", () => {
    const l = boot16();
    const mm = withProcess(l);
    const taken = exhaust(l);
    l.freeFrames(taken.pop()!, 1);
    // Two tables needed, one frame free: it is taken, then given back.
    expect(l.map(mm, 0x003f_f000, 0x1000, 2, RW)).toBe(false);
    expect(freePages(l)).toBe(1);
    expect(ptePhys(l, mm, 0x003f_f000)).toBeNull();
    expect(l.stats.tablesMade).toBe(0);
    expect(l.map(mm, 0x0000_1000, 0x1000, 1, RW)).toBe(true);
    expect(freePages(l)).toBe(0);
  });
});

describe("vmalloc regions, first fit, at both ends of the area", () => {
  it("hands out regions with a guard page, refills an exact gap, and spans the area at most", () => {
    const l = boot64();
    for (const n of [0, -1, 1.5])
      expectCode(() => l.allocKernelRegion(n), PAGING_ERROR.BAD_ARGUMENT, {
        message: /page count .* must be a positive integer/,
      });
    // (0xFF7FE000 - 0xC4800000) / 4096 = 241662 pages: 241661 and a guard page fit, no more.
    expect(l.allocKernelRegion(241_662)).toBeNull();
    expect(l.allocKernelRegion(241_661)).toBe(VSTART);
    expect(l.allocKernelRegion(1)).toBeNull();
    // With the area full, vmalloc is null and takes no frame.
    const free = freePages(l);
    expect(l.vmalloc(PAGE)).toBeNull();
    expect(freePages(l)).toBe(free);
    expect(l.translate(0).pa).toBeNull();
    l.freeKernelRegion(VSTART, 241_661);
    const r1 = l.allocKernelRegion(2)!;
    const r2 = l.allocKernelRegion(1)!;
    const r3 = l.allocKernelRegion(1)!;
    expect([r1, r2, r3]).toEqual([VSTART, VSTART + 3 * PAGE, VSTART + 5 * PAGE]);
    l.freeKernelRegion(r2, 1);
    // The gap is 2 pages: 1 page and its guard fit exactly; 2 pages go after r3.
    expect(l.allocKernelRegion(2)).toBe(VSTART + 7 * PAGE);
    expect(l.allocKernelRegion(1)).toBe(VSTART + 3 * PAGE);
    expect(l.vmRegions()).toEqual([
      { start: VSTART, pages: 2 },
      { start: VSTART + 3 * PAGE, pages: 1 },
      { start: VSTART + 5 * PAGE, pages: 1 },
      { start: VSTART + 7 * PAGE, pages: 2 },
    ]);
  });

  it("freeKernelRegion wants a region's start, its size, and no page mapped", () => {
    const l = boot64();
    const r = l.allocKernelRegion(2)!;
    expectCode(() => l.freeKernelRegion(r + PAGE, 1), LINUX_ERROR.NOT_VMALLOC, {
      message: /0xc4801000 is not the start of a vmalloc region/,
    });
    expectCode(() => l.freeKernelRegion(r, 3), LINUX_ERROR.BAD_ARGUMENT, {
      message: /the vmalloc region at 0xc4800000 has 2 pages, not 3/,
    });
    const f = l.allocFrames(1)!;
    l.map(null, r + PAGE, f, 1, PTE.P | PTE.RW);
    expectCode(() => l.freeKernelRegion(r, 2), LINUX_ERROR.BUSY, {
      message: /the vmalloc region at 0xc4800000 still maps 0xc4801000/,
    });
    expect(l.vmRegions()).toHaveLength(1);
    l.unmap(null, r + PAGE, 1);
    // The guard page is no part of the region: a mapping there does not keep it.
    l.map(null, r + 2 * PAGE, f, 1, PTE.P | PTE.RW);
    l.freeKernelRegion(r, 2);
    expect(l.vmRegions()).toEqual([]);
  });
});

describe("vmalloc and vfree at their edges", () => {
  it("rounds sizes up to pages, maps PAGE_KERNEL | G from highmem, and refuses bad sizes by value", () => {
    const l = boot1g();
    for (const [s, shown] of [
      [0, "0x00000000"],
      [-1, "-1"],
      [1.5, "1.5"],
    ] as const)
      expectCode(() => l.vmalloc(s), LINUX_ERROR.BAD_ARGUMENT, {
        message: new RegExp(`vmalloc\\(${shown}\\): the size must be a positive integer`),
      });
    const a = l.vmalloc(1)!;
    const b = l.vmalloc(PAGE + 1)!;
    expect(l.vmallocPages(a)).toBe(1);
    expect(l.vmallocPages(b)).toBe(2);
    expect(l.vmallocPages(a + PAGE)).toBeNull();
    // 1 GiB: high_memory 0xF8000000, VMALLOC_START 0xF8800000.
    expect([a, b]).toEqual([0xf880_0000, 0xf880_2000]);
    const pte = l.translate(b + PAGE).pte!;
    expect(pte & 0xfff).toBe(KERNEL_G);
    expect((pte & ~0xfff) >>> 0).toBeGreaterThanOrEqual(HIGH);
    expect(l.stats.vmallocs).toBe(2);
    expectCode(() => l.vfree(b + PAGE), LINUX_ERROR.NOT_VMALLOC, {
      message: /vfree\(0xf8803000\): not an address vmalloc returned/,
    });
    l.vfree(a);
    expect(l.stats).toMatchObject({ vmallocs: 1, flushAlls: 1 });
    expectCode(() => l.vfree(a), LINUX_ERROR.NOT_VMALLOC);
    expect(l.vmRegions()).toEqual([{ start: 0xf880_2000, pages: 2 }]);
    // vfree gives back its own region, not the first or the last one.
    const c = l.vmalloc(PAGE)!;
    const d = l.vmalloc(PAGE)!;
    expect([c, d]).toEqual([0xf880_0000, 0xf880_5000]);
    l.vfree(b);
    expect(l.vmRegions().map((r) => r.start)).toEqual([c, d]);
  });

  it("is null with nothing taken when frames or the page table run out", () => {
    const l = boot16();
    const taken = exhaust(l);
    l.freeFrames(taken.pop()!, 1);
    l.freeFrames(taken.pop()!, 1);
    // Three frames needed, two free.
    expect(l.vmalloc(3 * PAGE)).toBeNull();
    expect(freePages(l)).toBe(2);
    expect(l.vmRegions()).toEqual([]);
    // Two frames and no table left for PDE 774 (no table there yet with PSE).
    expect(l.vmalloc(2 * PAGE)).toBeNull();
    expect(freePages(l)).toBe(2);
    expect(l.vmRegions()).toEqual([]);
    // A failed vmalloc gives back its own region, here the first of two: r1's gap of
    // 3 pages and a guard holds the 3 pages asked for.
    const r1 = l.allocKernelRegion(3)!;
    const r2 = l.allocKernelRegion(1)!;
    l.freeKernelRegion(r1, 3);
    expect(l.vmalloc(3 * PAGE)).toBeNull();
    expect(l.vmRegions()).toEqual([{ start: r2, pages: 1 }]);
    l.freeKernelRegion(r2, 1);
    expect(l.vmalloc(PAGE)).toBe(0xc180_0000);
    expect(freePages(l)).toBe(0);
  });

  it("syncs lazily: the current pgd gets the PDE on its first CPL 0 touch, never at CPL 3", () => {
    const l = boot64();
    const mm = withProcess(l);
    const v = l.vmalloc(PAGE)!;
    const pdeAt = (s: MmStruct) => l.machine.ram.read32(s.cr3 + 4 * (v >>> 22));
    expect(pdeAt(mm)).toBe(0);
    const e = segv(() => l.read32(v, 3));
    expect(e.message).toBe(
      `E_SEGV: segmentation fault at 0xc4800000 (error code 4): a user access to a kernel address`,
    );
    expect(pdeAt(mm)).toBe(0);
    l.write32(v + 4, 0x55, 0);
    expect(pdeAt(mm)).toBe(pdeAt(l.reference));
    expect(l.stats.vmallocFaults).toBe(1);
    expect(l.read32(v + 4, 0)).toBe(0x55);
    expect(l.stats.vmallocFaults).toBe(1);
    // In swapper_pg_dir itself there is nothing to copy: an unmapped kernel page faults.
    l.switchTo(l.reference);
    expectFault(() => l.read32(0xd000_0000, 0));
    const other = withProcess(l);
    expectFault(() => l.read32(0xd000_0000, 0)); // no PDE in swapper_pg_dir either
    expect(l.stats.vmallocFaults).toBe(1);
    expect(other.destroyed).toBe(false);
  });
});

describe("the CPU's view: CPL checks, retries and who handles a fault", () => {
  it("takes CPL 0 or 3 only", () => {
    const l = boot64();
    for (const cpl of [1, 2, undefined, "0"]) {
      expectCode(() => l.read32(0xc000_0000, cpl as never), PAGING_ERROR.BAD_ARGUMENT, {
        message: /^E_BAD_ARGUMENT: CPL .* is not 0 or 3$/,
      });
      expectCode(() => l.write32(0xc000_0000, 1, cpl as never), PAGING_ERROR.BAD_ARGUMENT);
    }
    expectCode(() => l.read32(0, 2 as never), PAGING_ERROR.BAD_ARGUMENT, {
      message: /CPL 2 is not/,
    });
  });

  it("retries a resolved fault 3 times at most, then lets the page fault through", () => {
    let calls = 0;
    const liar: UserFaultHandler = {
      name: "says yes, maps nothing",
      handle: () => {
        calls++;
        return true;
      },
    };
    const l = bootLinux(createMachine({ ramBytes: 16 * MiB }), { faultHandler: liar, pse: true });
    const mm = withProcess(l);
    l.mmap(mm, 0x0040_0000, PAGE, PROT.READ);
    expectFault(() => l.read32(0x0040_0000, 3), { cr2: 0x0040_0000, errorCode: PF_ERROR.U });
    // Four accesses: the first three faults go to the handler, the fourth is thrown.
    expect(calls).toBe(3);
    expect(l.stats.minorFaults).toBe(3);
    calls = 0;
    expectFault(() => l.write32(0x0040_0000, 1, 0));
    expect(calls).toBe(3);
    expect(l.faultHandler).toBe(liar);
  });

  it("an unresolved user fault is a SIGSEGV at CPL 3 and the PageFault itself at CPL 0", () => {
    const l = boot64();
    withProcess(l);
    const e = segv(() => l.write32(0x0050_0004, 1, 3));
    expect(e.name).toBe("SegmentationFault");
    expect([e.address, e.errorCode, e.code]).toEqual([
      0x0050_0004,
      PF_ERROR.W | PF_ERROR.U,
      "E_SEGV",
    ]);
    expect(e.message).toBe(
      "E_SEGV: segmentation fault at 0x00500004 (error code 6): no mapping there (outside every area)",
    );
    const f = expectFault(() => l.read32(0x0050_0004, 0));
    expect(f).toBeInstanceOf(PageFault);
    expect(f).not.toBeInstanceOf(SegmentationFault);
    expect(l.stats.minorFaults).toBe(0);
  });

  it("makes one zero page, on first need, shared by every space; none left is a typed error", () => {
    const l = boot64();
    const a = withProcess(l);
    l.mmap(a, 0, PAGE, PROT.READ);
    expect(l.read32(0xffc, 3)).toBe(0);
    const zero = ptePhys(l, a, 0)!;
    expect(zero & 0xfff).toBe(0x005 | PTE.A);
    const b = withProcess(l);
    l.mmap(b, 0x1000, PAGE, PROT.READ);
    expect(l.read32(0x1000, 3)).toBe(0);
    expect((ptePhys(l, b, 0x1000)! & ~0xfff) >>> 0).toBe((zero & ~0xfff) >>> 0);
    expect(l.stats.zeroPageMaps).toBe(2);

    const m = boot16();
    const mm = withProcess(m);
    m.mmap(mm, 0, PAGE, PROT.READ);
    exhaust(m);
    expectCode(() => m.read32(0, 3), LINUX_ERROR.NO_MEMORY, {
      message: /out of memory for the zero page/,
    });
    expect(m.vmAreas(mm)).toEqual([{ start: 0, end: PAGE, prot: PROT.READ }]);
  });
});

describe("mmap, munmap and mprotect at their edges", () => {
  it("checks the range and protection by value, up to PAGE_OFFSET exactly", () => {
    const l = boot64();
    const mm = withProcess(l);
    const refusals = [
      [
        () => l.mmap(l.reference, 0, PAGE, 1),
        PAGING_ERROR.INIT_PAGEDIR,
        /mmap: swapper_pg_dir \(init_mm\) has no user areas/,
      ],
      [
        () => l.mmap(mm, -PAGE, PAGE, 1),
        PAGING_ERROR.BAD_ARGUMENT,
        /mmap: start -4096 is not a non-negative integer/,
      ],
      [
        () => l.mmap(mm, 0x1001, PAGE, 1),
        PAGING_ERROR.UNALIGNED,
        /mmap: start 0x00001001 is not page-aligned/,
      ],
      [
        () => l.munmap(mm, 0x1000, 0),
        PAGING_ERROR.BAD_ARGUMENT,
        /munmap: length 0 must be a positive integer/,
      ],
      [
        () => l.mprotect(mm, 0x1000, 2.5, 1),
        PAGING_ERROR.BAD_ARGUMENT,
        /mprotect: length 2.5 must/,
      ],
      [
        () => l.mmap(mm, 0xbfff_f000, PAGE + 1, 1),
        PAGING_ERROR.CROSSES_SPLIT,
        /mmap: \[0xbffff000, 0xc0001000\) goes past PAGE_OFFSET 0xc0000000/,
      ],
      [
        () => l.mmap(mm, 0, PAGE, 8),
        PAGING_ERROR.BAD_FLAGS,
        /protection 8 is not a combination of PROT_READ \(1\), PROT_WRITE \(2\), PROT_EXEC \(4\)/,
      ],
      [() => l.mmap(mm, 0, PAGE, -1), PAGING_ERROR.BAD_FLAGS, /protection -1/],
      [() => l.mprotect(mm, 0, PAGE, "1" as never), PAGING_ERROR.BAD_FLAGS, /protection "1"/],
    ] as const;
    for (const [call, code, message] of refusals) expectCode(call, code, { message });
    expect(l.vmAreas(mm)).toEqual([]);
    expect(l.mmap(mm, 0xbfff_f000, PAGE, 7)).toBe(0xbfff_f000);
    // A length is rounded up to whole pages.
    expect(l.mmap(mm, 0x0040_0000, 1, PROT.READ)).toBe(0x0040_0000);
    expect(l.vmAreas(mm)).toEqual([
      { start: 0x0040_0000, end: 0x0040_1000, prot: PROT.READ },
      { start: 0xbfff_f000, end: 0xc000_0000, prot: 7 },
    ]);
  });

  it("refuses an overlap but not a neighbour, and finds a mapped page past a missing table", () => {
    const l = boot64();
    const mm = withProcess(l);
    l.mmap(mm, 0x0040_0000, 2 * PAGE, PROT.READ);
    expectCode(() => l.mmap(mm, 0x0040_1000, PAGE, 1), LINUX_ERROR.BUSY, {
      message: new RegExp(
        `mmap \\[0x00401000, 0x00402000\\) overlaps an area of pgd 0x${mm.cr3.toString(16).padStart(8, "0")}`,
      ),
    });
    l.mmap(mm, 0x003f_f000, PAGE, 1);
    l.mmap(mm, 0x0040_2000, PAGE, 1);
    const f = l.allocFrames(1)!;
    // Tables for PDE 2 (a page at 8 MiB) and PDE 3 (one at 0x00c03000); none for PDE 1.
    l.map(mm, 0x0080_0000, f, 1, PTE.P | PTE.US);
    l.map(mm, 0x00c0_3000, f, 1, PTE.P | PTE.US);
    // [5 MiB, 9 MiB): the page at 8 MiB, first of PDE 2's table, is found.
    expectCode(() => l.mmap(mm, 0x0050_0000, 4 * MiB, 1), LINUX_ERROR.BUSY, {
      message: /mmap \[0x00500000, 0x00900000\): 0x00800000 is mapped already/,
    });
    // [9 MiB, 16 MiB) passes PDE 2's empty rest, then finds 0x00c03000 in PDE 3's table.
    expectCode(() => l.mmap(mm, 0x0090_0000, 7 * MiB, 1), LINUX_ERROR.BUSY, {
      message: /: 0x00c03000 is mapped already/,
    });
    // [16 MiB, 28 MiB): no tables at all (skipped a table at a time), nothing mapped.
    expect(l.mmap(mm, 0x0100_0000, 12 * MiB, 1)).toBe(0x0100_0000);
    expectCode(() => l.mmap(mm, 0x00c0_0000, 4 * PAGE, 1), LINUX_ERROR.BUSY, {
      message: /mmap \[0x00c00000, 0x00c04000\): 0x00c03000 is mapped already/,
    });
    expect(l.mmap(mm, 0x00c0_4000, PAGE, 1)).toBe(0x00c0_4000);
  });
});

describe("munmap and mprotect, hand-worked", () => {
  it("munmap splits areas and gives back a frame two tables away, past a missing table", () => {
    const l = boot64();
    const mm = withProcess(l);
    l.mmap(mm, 0, 12 * MiB, PROT.READ | PROT.WRITE);
    l.read32(0, 3); // the zero page and PDE 0's table
    const before = freePages(l);
    // PDE 2's table and a frame at its first page, 8 MiB; PDE 1 stays without a table.
    l.write32(0x0080_0000, 9, 3);
    expect(freePages(l)).toBe(before - 2);
    l.munmap(mm, 0x0040_0000, 8 * MiB);
    expect(freePages(l)).toBe(before - 1); // the frame is back, the table stays
    expect(ptePhys(l, mm, 0x0080_0000)).toBe(0);
    expect(mm.demandPages.size).toBe(0);
    expect(l.vmAreas(mm)).toEqual([{ start: 0, end: 0x0040_0000, prot: 3 }]);
    expect(segv(() => l.read32(0x0080_0000, 3)).message).toMatch(/outside every area/);
    // Unmapping a zero-page mapping gives nothing back: the zero page is shared.
    l.munmap(mm, 0, PAGE);
    expect(freePages(l)).toBe(before - 1);
    expect(ptePhys(l, mm, 0)).toBe(0);
    l.mmap(mm, 0, PAGE, PROT.READ | PROT.WRITE);
    // A hole in the middle of one area leaves two with its protection.
    l.munmap(mm, 0x1000, PAGE);
    expect(l.vmAreas(mm)).toEqual([
      { start: 0, end: 0x1000, prot: 3 },
      { start: 0x2000, end: 0x0040_0000, prot: 3 },
    ]);
    // The areas returned are copies.
    (l.vmAreas(mm) as { start: number }[])[0]!.start = 0x5000;
    expect(l.vmAreas(mm)[0]!.start).toBe(0);
  });

  it("mprotect needs every page in an area (adjacent areas count) and names the first hole", () => {
    const l = boot64();
    const mm = withProcess(l);
    l.mmap(mm, 0x0040_0000, PAGE, PROT.READ);
    l.mmap(mm, 0x0040_1000, PAGE, PROT.WRITE);
    l.mmap(mm, 0x0040_3000, PAGE, PROT.READ);
    expectCode(() => l.mprotect(mm, 0x0040_0000, 4 * PAGE, PROT.READ), LINUX_ERROR.NOT_MAPPED, {
      message: /mprotect \[0x00400000, 0x00404000\): 0x00402000 is in no area/,
    });
    expectCode(() => l.mprotect(mm, 0x003f_f000, PAGE, 1), LINUX_ERROR.NOT_MAPPED, {
      message: /0x003ff000 is in no area/,
    });
    l.mprotect(mm, 0x0040_0000, 2 * PAGE, PROT.EXEC);
    expect(l.vmAreas(mm).map((a) => a.prot)).toEqual([4, 4, 1]);
    // A range inside one area splits it in three.
    l.mmap(mm, 0x0100_0000, 4 * PAGE, PROT.READ | PROT.WRITE);
    l.mprotect(mm, 0x0100_1000, PAGE, PROT.NONE);
    expect(l.vmAreas(mm).slice(3)).toEqual([
      { start: 0x0100_0000, end: 0x0100_1000, prot: 3 },
      { start: 0x0100_1000, end: 0x0100_2000, prot: 0 },
      { start: 0x0100_2000, end: 0x0100_4000, prot: 3 },
    ]);
  });

  it("rewrites present PTEs: a downgrade, PROT_NONE keeping the frame, and the zero page never writable", () => {
    const l = boot64();
    const mm = withProcess(l);
    l.mmap(mm, 0, 2 * PAGE, PROT.READ | PROT.WRITE);
    l.write32(0, 0x1111, 3); // a frame of its own
    l.read32(PAGE, 3); // the zero page
    const own = (ptePhys(l, mm, 0)! & ~0xfff) >>> 0;
    const zero = (ptePhys(l, mm, PAGE)! & ~0xfff) >>> 0;
    l.mprotect(mm, 0, 2 * PAGE, PROT.READ);
    expect(ptePhys(l, mm, 0)).toBe(own | 0x005);
    expect(ptePhys(l, mm, PAGE)).toBe(zero | 0x005);
    expect(segv(() => l.write32(0, 1, 3)).message).toMatch(/a write to a read-only area/);
    l.mprotect(mm, 0, 2 * PAGE, PROT.READ | PROT.WRITE);
    expect(ptePhys(l, mm, 0)).toBe(own | 0x007);
    expect(ptePhys(l, mm, PAGE)).toBe(zero | 0x005);
    l.mprotect(mm, 0, PAGE, PROT.NONE);
    expect(ptePhys(l, mm, 0)).toBe(own | 0x200); // not present, frame kept
    expect(ptePhys(l, mm, PAGE)).toBe(zero | 0x005); // the page after the range is left alone
    expect(segv(() => l.read32(0, 3)).message).toMatch(/PROT_NONE/);
    l.mprotect(mm, 0, PAGE, PROT.READ);
    expect(ptePhys(l, mm, 0)).toBe(own | 0x005);
    expect(l.read32(0, 3)).toBe(0x1111);
    // A page never touched stays without a PTE.
    l.mmap(mm, 0x0080_0000, PAGE, PROT.READ);
    l.mprotect(mm, 0x0080_0000, PAGE, PROT.WRITE);
    expect(ptePhys(l, mm, 0x0080_0000)).toBeNull();
  });
});

describe("translate, explain and dump", () => {
  it("translate takes addresses inside 4 GiB only", () => {
    const l = boot64();
    expect(l.translate(0xffff_ffff).pa).toBeNull();
    for (const [va, shown] of [
      [2 ** 32, "0x100000000"],
      [-1, "-1"],
      [0.5, "0.5"],
    ] as const)
      expectCode(() => l.translate(va), PAGING_ERROR.BAD_ARGUMENT, {
        message: new RegExp(`virtual address ${shown} is not inside 4 GiB`),
      });
  });

  it("explains how the kernel reaches each kind of table", () => {
    const l = boot64();
    const mm = withProcess(l);
    const pgdLine = (r: number) =>
      `pgd entry ${r} read at 0x${(mm.pgd + 4 * r).toString(16)} = __va(0x${mm.cr3.toString(16).padStart(8, "0")}) + ${4 * r}`;
    // A 4 MiB page of the direct map.
    expect(l.explain(0xc000_1000).split("\n").slice(-2)).toEqual([
      pgdLine(768),
      "a 4 MiB page (PSE): no page table",
    ]);
    // A low user page table.
    const f = l.allocFrames(1)!;
    l.map(mm, 0x0040_0000, f, 1, PTE.P | PTE.US);
    const t = l.machine.ram.read32(mm.cr3 + 4) & ~0xfff;
    const hexT = `0x${t.toString(16).padStart(8, "0")}`;
    expect(l.explain(0x0040_0000).split("\n").slice(-1)[0]).toBe(
      `page table at ${hexT}, reached by the kernel at __va(${hexT}) = 0x${(0xc000_0000 + t).toString(16)}`,
    );
    // A vmalloc page whose PDE this pgd has not copied yet.
    const v = l.vmalloc(PAGE)!;
    expect(l.explain(v).split("\n").slice(-1)[0]).toBe(
      "not in this pgd yet, but in swapper_pg_dir: a kernel access here is a vmalloc fault that copies it",
    );
    // Nothing at all: only the walk and the pgd line.
    expect(l.explain(0x0080_0000).split("\n").slice(-1)[0]).toBe(pgdLine(2));
    expect(l.explain(0xd000_0000).split("\n").slice(-1)[0]).toBe(pgdLine(832));
  });

  it("explains a HIGHPTE table as reached through KM_PTE0 at 0xffff7000", () => {
    const l = boot1g();
    const mm = withProcess(l);
    l.mmap(mm, 0, PAGE, PROT.READ | PROT.WRITE);
    l.write32(0, 1, 3);
    const t = l.machine.ram.read32(mm.cr3) & ~0xfff;
    expect(t).toBeGreaterThanOrEqual(HIGH);
    expect(l.explain(0).split("\n").slice(-1)[0]).toBe(
      `page table at 0x${t.toString(16)} in highmem (HIGHPTE): no __va, the kernel maps it with kmap_atomic(KM_PTE0) at 0xffff7000`,
    );
  });

  it("explains a HIGHPTE table in exactly the first highmem frame (max_low_pfn) as highmem", () => {
    const l = boot1g();
    const mm = withProcess(l);
    const f = l.allocFrames(1)!; // the mapped page: low (GFP_KERNEL), taken before the steering
    // Take every free highmem frame in order-10 blocks (GFP_HIGHUSER takes HIGHMEM first,
    // then NORMAL): the first block below 0x38000000 (or none) ends the loop.
    const blocks: number[] = [];
    for (;;) {
      const b = l.zones.allocPages(GFP.HIGHUSER, 10);
      if (b === null) break;
      if (b < HIGH) {
        l.zones.freePages(b, 10);
        break;
      }
      blocks.push(b);
    }
    // Nothing used highmem before: 32768 frames are 32 blocks, one of them at pfn 0x38000.
    expect(blocks.length).toBe(32);
    expect(blocks).toContain(HIGH);
    // Give back only that block: pte_alloc_one (GFP_HIGHUSER with HIGHPTE) splits it and,
    // as Linux's expand(), keeps the lowest page and frees the upper halves.
    l.zones.freePages(HIGH, 10);
    expect(l.map(mm, 0x0040_0000, f, 1, PTE.P | PTE.US)).toBe(true);
    expect(l.machine.ram.read32(mm.cr3 + 4) & ~0xfff).toBe(HIGH);
    // 0x38000000 = max_low_pfn * 4096 is the first byte with no __va: highmem, not low.
    expect(l.explain(0x0040_0000).split("\n").slice(-1)[0]).toBe(
      "page table at 0x38000000 in highmem (HIGHPTE): no __va, the kernel maps it with kmap_atomic(KM_PTE0) at 0xffff7000",
    );
  });

  it("dumps the user half from the space and the kernel half from swapper_pg_dir, 4 MiB pages as 1024", () => {
    const l = boot64();
    const direct = { virt: 0xc000_0000, phys: 0, pages: 16384, flags: 0x103 };
    expect(l.dump()).toEqual([direct]);
    const mm = withProcess(l);
    const other = l.createAddressSpace()!;
    const f = l.allocFrames(2)!;
    l.map(mm, 0x003f_f000, f, 2, PTE.P | PTE.US);
    l.map(other, 0x1000, f, 1, PTE.P | PTE.US);
    const v = l.vmalloc(PAGE)!;
    const vpte = l.translate(v, l.reference).pte!;
    const kernel = { virt: v, phys: (vpte & ~0xfff) >>> 0, pages: 1, flags: 0x103 };
    expect(l.dump(mm)).toEqual([
      { virt: 0x003f_f000, phys: f, pages: 2, flags: 0x005 },
      direct,
      kernel,
    ]);
    expect(l.dump(other)).toEqual([
      { virt: 0x1000, phys: f, pages: 1, flags: 0x005 },
      direct,
      kernel,
    ]);
  });
});

describe("the boot's steps one at a time, and what the design takes from them", () => {
  it("fills the context step by step, and the design refuses a boot without its kmap tables", () => {
    const m = createMachine({ ramBytes: 64 * MiB });
    const ctx = startLinuxBoot(m, { pse: true });
    expect([ctx.maxPfn, ctx.layout, ctx.bootmem, ctx.zones]).toEqual([0, null, null, null]);
    setupMemory(ctx);
    expect([ctx.maxPfn, ctx.maxLowPfn, ctx.layout!.vmallocStart]).toEqual([16384, 16384, VSTART]);
    // Page 0 and [1 MiB, 2 MiB + one bitmap page) are reserved: the first free page is page 1.
    expect(ctx.bootmem!.allocBootmemLowPages(1)).toBe(0xc000_1000);
    pagingInit(ctx);
    expect(m.mmu.cr3).toBe(0x0010_1000);
    expect([ctx.kmapTables, ctx.tablesFromBootmem]).toEqual([2, 0]);
    const pkmap = ctx.pkmapPageTable;
    ctx.pkmapPageTable = 0;
    memInit(ctx);
    // 16027 pages, worked out as in linux.test.ts's expectedFree, less the page taken above.
    expect(ctx.lowPagesFreed).toBe(freeLowPages64 - 1);
    expect(ctx.highPagesFreed).toBe(0);
    expectCode(() => new LinuxPaging(ctx), LINUX_ERROR.BAD_CONFIG, {
      message: /the boot made no fixmap or pkmap page table/,
    });
    ctx.pkmapPageTable = pkmap;
    const fixmap = ctx.fixmapPageTable;
    ctx.fixmapPageTable = 0;
    expectCode(() => new LinuxPaging(ctx), LINUX_ERROR.BAD_CONFIG, {
      message: /run fixrangeInit and permanentKmapsInit \(pagingInit does\) before memInit/,
    });
    ctx.fixmapPageTable = fixmap;
    const l = new LinuxPaging(ctx);
    expect([l.name, l.userStart, l.split, l.pageOffset, l.maxPfn]).toEqual([
      "linux",
      0,
      0xc000_0000,
      0xc000_0000,
      16384,
    ]);
  });

  it("puts the bootmem bitmap on the page after an image that ends mid-page", () => {
    // Image [1 MiB, 0x00200800): the bitmap at 0x00201000, so [1 MiB, 0x00201800) is
    // reserved: 258 pages where a 1 MiB image reserves 257.
    const l = bootLinux(createMachine({ ramBytes: 64 * MiB }), {
      pse: true,
      kernelSize: 0x10_0800,
    });
    expect(l.boot.lowPagesFreed).toBe(freeLowPages64 - 1);
    expect(boot64().boot.lowPagesFreed).toBe(freeLowPages64);
  });

  it("turns HIGHPTE on only with RAM above max_low_pfn (896 MiB exactly has none)", () => {
    expect(bootLinux(createMachine({ ramBytes: 896 * MiB }), { pse: true }).highpte).toBe(false);
    const l = bootLinux(createMachine({ ramBytes: 896 * MiB + 4 * MiB }), { pse: true });
    expect(l.highpte).toBe(true);
    expect(l.boot.highPagesFreed).toBe(1024);
    expect(boot1g({ highpte: false }).highpte).toBe(false);
  });

  it("hands user frames from highmem first and kernel frames from low memory", () => {
    const l = boot1g();
    expect(l.allocUserFrame()!).toBeGreaterThanOrEqual(HIGH);
    const k = l.allocFrames(3)!;
    expect(k + 3 * PAGE).toBeLessThanOrEqual(HIGH);
    const free = freePages(l);
    l.freeFrames(k, 3);
    expect(freePages(l)).toBe(free + 3);
  });
});

describe("remapping through the TLB, and the stack of a fault", () => {
  it("a remapped user page (invlpg) and a remapped kernel page (flush all, globals too) show the new frame", () => {
    const l = boot64();
    const mm = withProcess(l);
    const [a, b] = [l.allocFrames(1)!, l.allocFrames(1)!];
    l.machine.ram.write32(a, 0xaaaa);
    l.machine.ram.write32(b, 0xbbbb);
    l.map(mm, 0x1000, a, 1, PTE.P | PTE.US);
    expect(l.read32(0x1000, 3)).toBe(0xaaaa);
    l.map(mm, 0x1000, b, 1, PTE.P | PTE.US);
    expect(l.read32(0x1000, 3)).toBe(0xbbbb);
    l.map(null, VSTART, a, 1, PTE.P | PTE.RW | PTE.G);
    expect(l.read32(VSTART, 0)).toBe(0xaaaa);
    l.map(null, VSTART, b, 1, PTE.P | PTE.RW | PTE.G);
    expect(l.read32(VSTART, 0)).toBe(0xbbbb);
    expect(l.stats.flushAlls).toBe(1);
  });

  it("a fault thrown on carries the caller's stack, and stack capture is back on after it", () => {
    const l = boot64();
    withProcess(l);
    const limit = Error.stackTraceLimit;
    const e = segv(function callerOfRead32() {
      l.read32(0x0050_0000, 3);
    });
    expect(e.stack).toMatch(/callerOfRead32/);
    expect(Error.stackTraceLimit).toBe(limit);
    const f = expectFault(function kernelCaller() {
      l.read32(0x0050_0000, 0);
    });
    expect(f.stack).toMatch(/kernelCaller/);
    expect(Error.stackTraceLimit).toBe(limit);
    // A copy on write of the zero page is counted as such.
    l.mmap(l.current, 0x0050_0000, PAGE, PROT.READ | PROT.WRITE);
    l.read32(0x0050_0000, 3);
    l.write32(0x0050_0000, 1, 3);
    expect(l.stats).toMatchObject({ minorFaults: 2, zeroPageMaps: 1, zeroPageCopies: 1 });
  });
});

describe("more edges of the fault path and the area lists", () => {
  it("a CPL 3 access at PAGE_OFFSET itself is a user access to a kernel address", () => {
    const l = boot64();
    const mm = withProcess(l);
    l.mmap(mm, 0xbfff_f000, PAGE, PROT.READ);
    expect(segv(() => l.read32(0xc000_0000, 3)).message).toMatch(
      /a user access to a kernel address/,
    );
    expect(l.read32(0xbfff_fffc, 3)).toBe(0);
  });

  it("an unresolved CPL 0 user fault asks the handler once", () => {
    let calls = 0;
    const no: UserFaultHandler = {
      name: "never",
      handle: () => {
        calls++;
        return "no";
      },
    };
    const l = bootLinux(createMachine({ ramBytes: 16 * MiB }), { faultHandler: no, pse: true });
    withProcess(l);
    expectFault(() => l.read32(0x1000, 0));
    expect(calls).toBe(1);
    expect(segv(() => l.read32(0x1000, 3)).message).toMatch(/\): no$/);
    expect(calls).toBe(2);
  });

  it("zeroes the zero page and every demand frame, even frames freed dirty", () => {
    const l = boot16();
    const mm = withProcess(l);
    l.mmap(mm, 0, 2 * PAGE, PROT.READ | PROT.WRITE);
    const dirty = (f: number) => {
      for (let a = f; a < f + PAGE; a += 4) l.machine.ram.write32(a, 0xdead_beef);
    };
    const z = l.allocFrames(2)!;
    dirty(z);
    dirty(z + PAGE);
    l.freeFrames(z, 1);
    expect(l.read32(0xffc, 3)).toBe(0);
    expect((ptePhys(l, mm, 0)! & ~0xfff) >>> 0).toBe(z); // the dirty frame became the zero page
    expect(l.machine.ram.read32(z + PAGE)).toBe(0xdead_beef); // and not a word past it
    const f = l.allocUserFrame()!;
    dirty(f);
    l.freeFrames(f, 1);
    l.write32(PAGE, 1, 3);
    expect((ptePhys(l, mm, PAGE)! & ~0xfff) >>> 0).toBe(f);
    for (let a = PAGE + 4; a < 2 * PAGE; a += 4) if (l.read32(a, 3) !== 0) expect(a).toBe("zeroed");
  });

  it("a write fault with a frame but no page table gives the frame back", () => {
    const l = boot16();
    const mm = withProcess(l);
    l.mmap(mm, 0, 8 * MiB, PROT.READ | PROT.WRITE);
    l.read32(0, 3); // the zero page and PDE 0's table
    const taken = exhaust(l);
    l.freeFrames(taken.pop()!, 1);
    // One frame free: the handler takes it, then PDE 1 needs a table too.
    expectCode(() => l.write32(0x0040_0000, 1, 3), LINUX_ERROR.NO_MEMORY, {
      message: /out of memory for a page table at 0x00400000/,
    });
    expect(freePages(l)).toBe(1);
    expect(mm.demandPages.size).toBe(0);
  });

  it("HIGHPTE's refusals name the call that needed KM_PTE0", () => {
    const l = boot1g();
    const mm = withProcess(l);
    l.mmap(mm, 0, PAGE, PROT.READ);
    l.kmapAtomic(HIGH, KM_TYPE.PTE0);
    for (const [call, what] of [
      [() => l.mmap(mm, PAGE, PAGE, 1), "mmap"],
      [() => l.munmap(mm, 0, PAGE), "munmap"],
      [() => l.mprotect(mm, 0, PAGE, 1), "mprotect"],
      [() => l.read32(0, 3), "the page fault at 0x00000000"],
    ] as const)
      expectCode(call, LINUX_ERROR.BUSY, {
        message: new RegExp(`^E_BUSY: ${what}: KM_PTE0 holds 0x38000000`),
      });
  });

  it("munmap keeps areas before and after the range whole, and leaves no empty piece", () => {
    const l = boot64();
    const mm = withProcess(l);
    for (const [start, pages] of [
      [0x0010_0000, 1],
      [0x0040_0000, 2],
      [0x0080_0000, 2],
      [0x00c0_0000, 1],
    ] as const)
      l.mmap(mm, start, pages * PAGE, PROT.READ);
    l.munmap(mm, 0x0040_1000, 0x0080_1000 - 0x0040_1000);
    l.munmap(mm, 0x00c0_0000, PAGE);
    expect(l.vmAreas(mm)).toEqual([
      { start: 0x0010_0000, end: 0x0010_1000, prot: 1 },
      { start: 0x0040_0000, end: 0x0040_1000, prot: 1 },
      { start: 0x0080_1000, end: 0x0080_2000, prot: 1 },
    ]);
    // From an area's first page: no empty area is left before it.
    l.munmap(mm, 0x0080_1000, PAGE);
    expect(l.vmAreas(mm)).toHaveLength(2);
  });

  it("mprotect next to an area leaves it alone, and no empty area appears", () => {
    const l = boot64();
    const mm = withProcess(l);
    l.mmap(mm, 0x0040_0000, PAGE, PROT.READ);
    l.mmap(mm, 0x0040_1000, PAGE, PROT.READ);
    l.mprotect(mm, 0x0040_1000, PAGE, PROT.WRITE);
    l.mprotect(mm, 0x0040_0000, PAGE, PROT.EXEC);
    expect(l.vmAreas(mm)).toEqual([
      { start: 0x0040_0000, end: 0x0040_1000, prot: 4 },
      { start: 0x0040_1000, end: 0x0040_2000, prot: 2 },
    ]);
    // A page never touched, in a table that exists, keeps its empty PTE.
    l.mmap(mm, 0x0040_2000, 2 * PAGE, PROT.READ | PROT.WRITE);
    l.write32(0x0040_2000, 1, 3);
    l.mprotect(mm, 0x0040_2000, 2 * PAGE, PROT.READ);
    expect(ptePhys(l, mm, 0x0040_3000)).toBe(0);
    expect(ptePhys(l, mm, 0x0040_2000)! & 0xfff).toBe(0x005); // P|US: the rewrite drops A and D
  });
});

describe("setPtes and readPte, hand-worked", () => {
  const RW = PTE.P | PTE.RW;
  it("a run ending at a table's last page needs one table, not two; a new table from a dirty frame is cleared", () => {
    const l = boot64();
    const mm = withProcess(l);
    const f = l.allocUserFrame()!;
    const t = l.allocFrames(1)!;
    for (let a = t; a < t + PAGE; a += 4) l.machine.ram.write32(a, 0x0123_4007);
    l.freeFrames(t, 1);
    expect(l.map(mm, 0x003f_f000, f, 1, RW | PTE.US)).toBe(true);
    expect(l.stats.tablesMade).toBe(1);
    expect(l.machine.ram.read32(mm.cr3 + 4) & PTE.P).toBe(0); // no table for PDE 1
    expect((l.machine.ram.read32(mm.cr3) & ~0xfff) >>> 0).toBe(t); // the dirty frame, cleared
    for (let i = 0; i < 1023; i++)
      if (l.machine.ram.read32(t + 4 * i) !== 0) expect(i).toBe("clear");
    // A kernel map accepts undefined for "no space", as null.
    expect(l.map(undefined as never, VSTART, f, 1, RW)).toBe(true);
  });

  it("a table made for a space that is not current goes into that space only", () => {
    const l = boot64();
    const b = l.createAddressSpace()!;
    const a = withProcess(l);
    const f = l.allocFrames(1)!;
    l.map(b, 0x1000, f, 1, RW | PTE.US);
    expect(l.machine.ram.read32(b.cr3) & PTE.P).toBe(PTE.P);
    expect(l.machine.ram.read32(a.cr3)).toBe(0);
    expect(ptePhys(l, a, 0x1000)).toBeNull();
  });

  it("a missing table is never read from frame 0, whatever frame 0 holds", () => {
    const l = boot64();
    const mm = withProcess(l);
    // Frame 0 (BIOS data) with a word that would read as a present PTE at index 0x10.
    l.machine.ram.write32(0x40, 0x0000_5007);
    expect(l.mmap(mm, 0x0101_0000, PAGE, PROT.READ)).toBe(0x0101_0000);
    l.unmap(mm, 0x0201_0000, 1);
    expect(l.machine.ram.read32(0x40)).toBe(0x0000_5007);
    expect(l.read32(0x0101_0000, 3)).toBe(0); // the zero page, not frame 5
  });

  it("names PAGE_OFFSET when a user range crosses it", () => {
    const l = boot64();
    const mm = withProcess(l);
    expectCode(() => l.map(mm, 0xbfff_f000, 0x1000, 2, RW), PAGING_ERROR.CROSSES_SPLIT, {
      message: /PAGE_OFFSET/,
    });
  });

  it("KM_PTE0 matters only to user page tables, and only with HIGHPTE", () => {
    const l = boot1g();
    const mm = withProcess(l);
    l.kmapAtomic(HIGH, KM_TYPE.PTE0);
    expectCode(() => l.map(mm, 0x1000, HIGH, 1, RW | PTE.US), LINUX_ERROR.BUSY, {
      message: /^E_BUSY: editing user page tables: KM_PTE0 holds 0x38000000/,
    });
    // Kernel tables are low and reached by __va: vmalloc and a kernel map go on.
    expect(l.vmalloc(PAGE)).toBe(0xf880_0000);
    expect(l.map(null, 0xf880_2000, HIGH + PAGE, 1, RW)).toBe(true);
    const off = boot1g({ highpte: false });
    const mm2 = withProcess(off);
    off.kmapAtomic(HIGH, KM_TYPE.PTE0);
    expect(off.mmap(mm2, 0, PAGE, PROT.READ)).toBe(0);
    expect(off.map(mm2, 0x1000, HIGH + PAGE, 1, RW | PTE.US)).toBe(true);
  });
});
