/**
 * Linux highmem (issue 16): the top 128 MiB laid out as the kernel does,
 * kmap/kunmap with pkmap_count and the flush on wrap, kmap_atomic's fixmap
 * slots. Expectations are hand-worked addresses and the MMU's own view.
 */
import { LINUX_ERROR } from "@mm386/allocation/linux";
import { createMachine, PAGE_SIZE, PageFault, PTE } from "@mm386/hw-i386";
import { expectCode, expectFault } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import {
  bootLinux,
  fixToVirt,
  KM_TYPE,
  kmapAtomicAddr,
  LINUX_LAYOUT,
  linuxLayout,
  type LinuxPaging,
} from "../src/linux/index.js";

const MiB = 1024 * 1024;
const boot = (mib: number, pge = true) =>
  bootLinux(createMachine({ ramBytes: mib * MiB }), { pge });
/** The first highmem frame with 1 GiB of RAM: 896 MiB. */
const HIGH = 896 * MiB;
const pdeOf = (l: LinuxPaging, pgd: number, va: number) => l.mmu.read32(pgd + 4 * (va >>> 22));

describe("the kernel's top 128 MiB", () => {
  it("is laid out as include/asm-i386 computes it (hand-worked for 64 MiB and 1 GiB)", () => {
    // 64 MiB: high_memory = 0xC0000000 + 64 MiB; + 2 * 8 MiB - 1, rounded down to 8 MiB.
    expect(linuxLayout(0xc000_0000, 64 * 256)).toEqual({
      pageOffset: 0xc000_0000,
      maxmem: 896 * MiB,
      highMemory: 0xc400_0000,
      vmallocStart: 0xc480_0000,
      // FIXADDR_TOP 0xFFFFF000 - 14 pages = 0xFFFF1000; minus 1025 pages = 0xFFBF0000; & ~(4 MiB - 1).
      fixaddrStart: 0xffff_1000,
      pkmapBase: 0xff80_0000,
      pkmapEnd: 0xffc0_0000,
      vmallocEnd: 0xff7f_e000,
    });
    expect(linuxLayout(0xc000_0000, 896 * 256).vmallocStart).toBe(0xf880_0000);
    // The fixmap grows down from FIX_HOLE at FIXADDR_TOP.
    expect(fixToVirt(0)).toBe(0xffff_f000);
    expect(kmapAtomicAddr(KM_TYPE.BOUNCE_READ)).toBe(0xffff_e000);
    expect(kmapAtomicAddr(KM_TYPE.USER0)).toBe(0xffff_b000);
    expect(kmapAtomicAddr(KM_TYPE.SOFTIRQ1)).toBe(0xffff_2000);
    expect(kmapAtomicAddr(KM_TYPE.SOFTIRQ1)).toBeGreaterThanOrEqual(0xffff_1000);
  });

  it("has the pkmap and fixmap page tables from bootmem in swapper_pg_dir, empty, shared by every pgd", () => {
    for (const pse of [false, true]) {
      const l = bootLinux(createMachine({ ramBytes: 64 * MiB }), { pse });
      expect(l.boot.kmapTables).toBe(2);
      if (pse) expect(l.boot.tablesFromBootmem).toBe(0);
      const swapper = l.reference.pgd;
      for (const [va, table] of [
        [0xff80_0000, l.boot.pkmapPageTable],
        [0xffff_e000, l.boot.fixmapPageTable],
      ] as const) {
        const pde = pdeOf(l, swapper, va);
        expect(pde & PTE.P).toBe(PTE.P);
        // The table is a low page reached through __va.
        expect(table).toBe(0xc000_0000 + ((pde & 0xffff_f000) >>> 0));
        for (let i = 0; i < 1024; i++) expect(l.mmu.read32(table + 4 * i)).toBe(0);
        const mm = l.pgdAlloc()!;
        expect(pdeOf(l, mm.pgd, va)).toBe(pde);
      }
    }
  });
});

describe("kmap / kunmap", () => {
  it("gives a lowmem page its __va and a highmem page a pkmap slot, counted per user", () => {
    const l = boot(1024);
    expect(l.kmap(0x0034_5000)).toBe(0xc034_5000);
    l.kunmap(0x0034_5000); // nothing to do for lowmem
    const a = l.kmap(HIGH)!;
    // last_pkmap_nr starts at 0 and is advanced first: the first slot used is 1.
    expect(a).toBe(0xff80_1000);
    expect(l.translate(a).pa).toBe(HIGH);
    expect(l.translate(a).user).toBe(false);
    expect(l.kmap(HIGH)).toBe(a);
    expect(l.highmem.pkmapSlots()).toEqual([{ nr: 1, vaddr: a, page: HIGH, count: 3 }]);
    const b = l.kmap(HIGH + PAGE_SIZE)!;
    expect(b).toBe(0xff80_2000);
    l.write32(a + 8, 0x1234_5678, 0);
    // The bytes landed in the frame itself.
    expect(l.machine.ram.read32(HIGH + 8)).toBe(0x1234_5678);
    l.kunmap(HIGH);
    l.kunmap(HIGH);
    // Lazy: count 1, still mapped until the next wrap.
    expect(l.highmem.pkmapSlots()[0]).toEqual({ nr: 1, vaddr: a, page: HIGH, count: 1 });
    expect(l.read32(a + 8, 0)).toBe(0x1234_5678);
    expect(l.highmem.stats.kmapNew).toBe(2);
  });

  it("refuses a kunmap without a user, and bad pages, changing nothing", () => {
    const l = boot(1024);
    l.kmap(HIGH);
    l.kunmap(HIGH);
    const before = l.highmem.pkmapSlots();
    expectCode(() => l.kunmap(HIGH), LINUX_ERROR.NOT_MAPPED, { message: /0x38000000/ });
    expectCode(() => l.kunmap(HIGH + PAGE_SIZE), LINUX_ERROR.NOT_MAPPED, { message: /0x38001000/ });
    expectCode(() => l.kmap(HIGH + 4), LINUX_ERROR.UNALIGNED, { message: /0x38000004/ });
    expectCode(() => l.kmap(1024 * MiB), LINUX_ERROR.OUT_OF_RANGE, { message: /0x40000000/ });
    expectCode(() => l.kmap(-4096), LINUX_ERROR.BAD_ARGUMENT);
    expectCode(() => l.kmap("x" as never), LINUX_ERROR.BAD_ARGUMENT);
    expect(l.highmem.pkmapSlots()).toEqual(before);
  });

  it("on wrap clears every unused slot and flushes the whole TLB once: a stale global pkmap translation is gone", () => {
    const l = boot(1024);
    const a = l.kmap(HIGH)!;
    l.write32(a, 0xaaaa_aaaa, 0);
    expect(l.read32(a, 0)).toBe(0xaaaa_aaaa);
    const vpn = a >>> 12;
    // Cached, and global (PGE): a CR3 reload would keep it.
    expect(l.mmu.tlb.lookup(vpn)).toBeDefined();
    expect(l.mmu.read32(l.boot.pkmapPageTable + 4 * 1) & PTE.G).toBe(PTE.G);
    l.kunmap(HIGH);
    // Slots 2..1023 for 1022 other pages, each unmapped at once (never touched: a is still cached).
    for (let i = 1; i <= 1022; i++) {
      const p = HIGH + i * PAGE_SIZE;
      expect(l.kmap(p)).toBe(0xff80_0000 + (i + 1) * PAGE_SIZE);
      l.kunmap(p);
    }
    expect(l.stats.pkmapFlushes).toBe(0);
    expect(l.read32(a, 0)).toBe(0xaaaa_aaaa); // still the old page: lazily unmapped
    const flushesBefore = l.mmu.stats.flushes;
    // The next kmap wraps: slot 0 (never used) is taken after the flush.
    expect(l.kmap(HIGH + 2000 * PAGE_SIZE)).toBe(0xff80_0000);
    expect(l.stats.pkmapFlushes).toBe(1);
    expect(l.mmu.stats.flushes).toBeGreaterThan(flushesBefore);
    expect(l.mmu.tlb.lookup(vpn)).toBeUndefined();
    expectFault(() => l.read32(a, 0), { cr2: a, errorCode: 0 });
    expect(l.highmem.pageAddress(HIGH)).toBeNull();
    expect(l.highmem.pkmapSlots()).toEqual([
      { nr: 0, vaddr: 0xff80_0000, page: HIGH + 2000 * PAGE_SIZE, count: 2 },
    ]);
    // Slot 1 is reused for a new page: it reads the new frame, not the old one.
    l.machine.ram.write32(HIGH + 3000 * PAGE_SIZE, 0xbbbb_bbbb);
    expect(l.kmap(HIGH + 3000 * PAGE_SIZE)).toBe(a);
    expect(l.read32(a, 0)).toBe(0xbbbb_bbbb);
  });

  it("needs the CR4.PGE toggle: clearing a global PTE and reloading CR3 leaves the translation usable", () => {
    // Why flushAllZeroPkmaps uses __flush_tlb_all and not a CR3 reload.
    const l = boot(1024);
    const a = l.kmap(HIGH)!;
    l.write32(a, 7, 0);
    l.mmu.write32(l.boot.pkmapPageTable + 4, 0);
    l.mmu.loadCr3(l.mmu.cr3);
    expect(l.mmu.read32(a)).toBe(7);
  });

  it("returns null when every slot has a user, with no slot changed; a kunmap frees one for the next wrap", () => {
    const l = boot(1024);
    for (let i = 0; i < 1024; i++) expect(l.kmap(HIGH + i * PAGE_SIZE)).not.toBeNull();
    const before = l.highmem.pkmapSlots();
    expect(before).toHaveLength(1024);
    expect(l.kmap(HIGH + 5000 * PAGE_SIZE)).toBeNull();
    expect(l.highmem.pkmapSlots()).toEqual(before);
    // An already-mapped page still gets its address.
    expect(l.kmap(HIGH + 7 * PAGE_SIZE)).toBe(0xff80_0000 + 8 * PAGE_SIZE);
    l.kunmap(HIGH + 9 * PAGE_SIZE);
    expect(l.kmap(HIGH + 5000 * PAGE_SIZE)).toBe(0xff80_0000 + 10 * PAGE_SIZE);
  });

  it("without PGE the pkmap entries are not global and the flush is a CR3 reload", () => {
    const l = boot(1024, false);
    l.kmap(HIGH);
    expect(l.mmu.read32(l.boot.pkmapPageTable + 4) & PTE.G).toBe(0);
  });
});

describe("kmapAtomic / kunmapAtomic", () => {
  it("maps a highmem page at its type's fixmap slot, invlpg'd; a lowmem page is its __va", () => {
    const l = boot(1024);
    expect(l.kmapAtomic(0x0001_0000, KM_TYPE.USER0)).toBe(0xc001_0000);
    expect(l.highmem.atomicSlot(KM_TYPE.USER0)).toBeNull(); // no slot for lowmem
    l.machine.ram.write32(HIGH + 0x10, 0x55);
    const v = l.kmapAtomic(HIGH, KM_TYPE.USER0);
    expect(v).toBe(0xffff_b000);
    expect(l.read32(v + 0x10, 0)).toBe(0x55);
    // Another page in the same slot after kunmap: the old translation was invalidated.
    l.kunmapAtomic(v + 0x10, KM_TYPE.USER0);
    expectFault(() => l.read32(v, 0), { cr2: v, errorCode: 0 });
    l.machine.ram.write32(HIGH + PAGE_SIZE + 0x10, 0x66);
    expect(l.kmapAtomic(HIGH + PAGE_SIZE, KM_TYPE.USER0)).toBe(v);
    expect(l.read32(v + 0x10, 0)).toBe(0x66);
    // Two types at once: two slots.
    expect(l.kmapAtomic(HIGH, KM_TYPE.USER1)).toBe(0xffff_a000);
    expect(l.highmem.stats.atomicMaps).toBe(3);
  });

  it("refuses a type in use, a wrong slot, an unused slot and bad types, changing nothing", () => {
    const l = boot(1024);
    const v = l.kmapAtomic(HIGH, KM_TYPE.PTE0);
    const pte = () => l.mmu.read32(l.boot.fixmapPageTable + 4 * ((v >>> 12) & 1023));
    const before = pte();
    expectCode(() => l.kmapAtomic(HIGH + PAGE_SIZE, KM_TYPE.PTE0), LINUX_ERROR.BUSY, {
      message: /0x38001000.*KM_PTE0.*0xffff7000.*0x38000000/,
    });
    expect(pte()).toBe(before);
    expect(l.highmem.atomicSlot(KM_TYPE.PTE0)).toBe(HIGH);
    expectCode(() => l.kunmapAtomic(v, KM_TYPE.PTE1), LINUX_ERROR.BAD_ARGUMENT, {
      message: /0xffff7000/,
    });
    expectCode(
      () => l.kunmapAtomic(kmapAtomicAddr(KM_TYPE.IRQ0), KM_TYPE.IRQ0),
      LINUX_ERROR.NOT_MAPPED,
    );
    expectCode(() => l.kmapAtomic(HIGH, LINUX_LAYOUT.KM_TYPE_NR), LINUX_ERROR.BAD_ARGUMENT);
    expectCode(() => l.kmapAtomic(HIGH, -1), LINUX_ERROR.BAD_ARGUMENT);
    expectCode(() => l.kunmapAtomic(0xff80_1000, KM_TYPE.PTE0), LINUX_ERROR.BAD_ARGUMENT, {
      message: /0xff801000/,
    });
    expect(pte()).toBe(before);
    expect(l.read32(v, 0)).toBe(0);
    l.kunmapAtomic(v, KM_TYPE.PTE0);
    expect(pte()).toBe(0);
    expect(() => l.mmu.read32(v)).toThrow(PageFault);
  });
});

describe("HIGHPTE", () => {
  it("takes user page tables from highmem and edits them through KM_PTE0, leaving the slot free", () => {
    const l = boot(1024);
    expect(l.highpte).toBe(true);
    const mm = l.pgdAlloc()!;
    const frame = l.allocFrames(1)!;
    l.map(mm, 0x0040_0000, frame, 1, PTE.P | PTE.RW | PTE.US);
    const table = (pdeOf(l, mm.pgd, 0x0040_0000) & 0xffff_f000) >>> 0;
    expect(table).toBeGreaterThanOrEqual(HIGH);
    // The PTE is in the highmem frame itself (read physically, independently of the design).
    expect(l.machine.ram.read32(table + 4 * 0) & 0xffff_f000).toBe(frame);
    expect(l.highmem.atomicSlot(KM_TYPE.PTE0)).toBeNull();
    expect(l.highmem.stats.atomicMaps).toBeGreaterThanOrEqual(2); // zeroed, then written
    expect(l.explain(0x0040_0000, mm)).toMatch(
      /highmem \(HIGHPTE\).*kmap_atomic\(KM_PTE0\) at 0xffff7000/,
    );
    expect(l.dump(mm)[0]).toMatchObject({ virt: 0x0040_0000, phys: frame, pages: 1 });
    // Demand paging and teardown work on a highmem table too.
    l.mmap(mm, 0x0100_0000, 2 * PAGE_SIZE, 3);
    l.switchTo(mm);
    l.write32(0x0100_1000, 42, 3);
    expect(l.read32(0x0100_1000, 3)).toBe(42);
    l.unmap(mm, 0x0040_0000, 1);
    expect(l.machine.ram.read32(table)).toBe(0);
    l.switchTo(l.reference);
    const before = l.zones.freeCounts().HIGHMEM;
    l.destroyAddressSpace(mm);
    // Two highmem tables and the demand frame (highmem first) come back.
    expect(l.zones.freeCounts().HIGHMEM).toBe(before + 3);
  });

  it("refuses user page-table edits while the caller holds KM_PTE0, changing nothing", () => {
    const l = boot(1024);
    const mm = l.pgdAlloc()!;
    l.mmap(mm, 0x0100_0000, 2 * PAGE_SIZE, 3);
    l.switchTo(mm);
    l.write32(0x0100_0000, 1, 3);
    const v = l.kmapAtomic(HIGH + 0x40_0000, KM_TYPE.PTE0);
    const state = () => [l.zones.freeCounts(), l.vmAreas(mm), l.highmem.stats];
    const before = state();
    const frame = l.allocFrames(1)!;
    const afterAlloc = state();
    expectCode(() => l.map(mm, 0x0800_0000, frame, 1, PTE.P | PTE.US), LINUX_ERROR.BUSY, {
      message: /KM_PTE0/,
    });
    expectCode(() => l.write32(0x0100_1000, 2, 3), LINUX_ERROR.BUSY);
    expectCode(() => l.mmap(mm, 0x0200_0000, PAGE_SIZE, 3), LINUX_ERROR.BUSY);
    expectCode(() => l.munmap(mm, 0x0100_0000, PAGE_SIZE), LINUX_ERROR.BUSY);
    expectCode(() => l.mprotect(mm, 0x0100_0000, PAGE_SIZE, 1), LINUX_ERROR.BUSY);
    expect(state()).toEqual(afterAlloc);
    expect(before).not.toEqual(afterAlloc);
    l.kunmapAtomic(v, KM_TYPE.PTE0);
    l.write32(0x0100_1000, 2, 3);
    expect(l.read32(0x0100_1000, 3)).toBe(2);
  });

  it("is off without highmem or when asked, and then tables are low", () => {
    for (const l of [
      boot(64),
      bootLinux(createMachine({ ramBytes: 1024 * MiB }), { highpte: false }),
    ]) {
      expect(l.highpte).toBe(false);
      const mm = l.pgdAlloc()!;
      l.map(mm, 0, l.allocFrames(1)!, 1, PTE.P | PTE.US);
      expect((pdeOf(l, mm.pgd, 0) & 0xffff_f000) >>> 0).toBeLessThan(l.maxLowPfn * PAGE_SIZE);
      expect(l.highmem.stats.atomicMaps).toBe(0);
    }
  });

  it("refuses a highpte option that is not a boolean", () => {
    expectCode(
      () => bootLinux(createMachine({ ramBytes: 16 * MiB }), { highpte: 1 as never }),
      LINUX_ERROR.BAD_CONFIG,
      { message: /highpte/ },
    );
  });
});
