/**
 * The kmap exercise's checks, on the reference Linux booted with 1 GiB
 * (128 MiB of highmem): expectations are hand-worked slot numbers and
 * addresses, the pkmap table read physically, and the MMU's own TLB.
 */
import { createMachine, PageFault, PTE } from "@mm386/hw-i386";
import { bootLinux, flushTlbAll, LINUX_FLAGS, type LinuxPaging } from "@mm386/paging/linux";
import { describe, expect, it } from "vitest";
import { implLabel, loadExercise } from "../../src/kit.js";
import type { KmapKernel, Pkmap } from "./kernel.js";

interface LinuxKmapExercise {
  createPkmap(k: KmapKernel): Pkmap;
}

const ex = await loadExercise<LinuxKmapExercise>(13);

const MiB = 1024 * 1024;
const HIGH = 896 * MiB;
const BASE = 0xff80_0000;

/** A 1 GiB Linux (PSE: a quick boot) and the student's pkmap on it. */
function setup(): { l: LinuxPaging; k: KmapKernel; p: Pkmap } {
  const l = bootLinux(createMachine({ ramBytes: 1024 * MiB }), { pse: true });
  const k: KmapKernel = {
    mmu: l.mmu,
    pageOffset: l.pageOffset,
    maxLowPfn: l.maxLowPfn,
    pkmapBase: l.layout.pkmapBase,
    pkmapPageTable: l.boot.pkmapPageTable,
    kmapProt: LINUX_FLAGS.PAGE_KERNEL | PTE.G,
    flushTlbAll: () => flushTlbAll(l.machine),
  };
  return { l, k, p: ex.createPkmap(k) };
}

/** The PTE of slot nr, read physically (independent of the MMU and of the student's code). */
const ptePhys = (l: LinuxPaging, nr: number) =>
  l.machine.ram.read32(l.boot.pkmapPageTable - l.pageOffset + 4 * nr);

describe(`exercise 13, Linux: kmap (${implLabel(13)})`, () => {
  it("gives a lowmem page its __va and uses no slot", () => {
    const { p } = setup();
    expect(p.kmap(0x0034_5000)).toBe(0xc034_5000);
    p.kunmap(0x0034_5000);
    expect(p.slots()).toEqual([]);
  });

  it("maps a highmem page in slot 1 first, counts users, and writes the PTE", () => {
    const { l, p } = setup();
    expect(p.kmap(HIGH)).toBe(BASE + 0x1000);
    expect(ptePhys(l, 1)).toBe(HIGH | 0x163);
    expect(p.kmap(HIGH)).toBe(BASE + 0x1000);
    expect(p.kmap(HIGH + 0x1000)).toBe(BASE + 0x2000);
    expect(p.slots()).toEqual([
      { nr: 1, page: HIGH, count: 3 },
      { nr: 2, page: HIGH + 0x1000, count: 2 },
    ]);
    l.machine.ram.write32(HIGH + 8, 0xfeed);
    expect(l.mmu.read32(BASE + 0x1008)).toBe(0xfeed);
    p.kunmap(HIGH);
    p.kunmap(HIGH);
    // Lazy: no user, still mapped.
    expect(p.slots()[0]).toEqual({ nr: 1, page: HIGH, count: 1 });
    expect(ptePhys(l, 1)).toBe(HIGH | 0x163);
    expect(() => p.kunmap(HIGH)).toThrow();
    expect(() => p.kunmap(HIGH + 0x5000)).toThrow();
  });

  it("on wrap frees every unused slot with one whole-TLB flush: the stale global translation is gone", () => {
    const { l, p } = setup();
    const a = p.kmap(HIGH)!;
    l.machine.ram.write32(HIGH, 0xaaaa);
    expect(l.mmu.read32(a)).toBe(0xaaaa);
    expect(l.mmu.tlb.lookup(a >>> 12)?.global).toBe(true);
    p.kunmap(HIGH);
    const kept = HIGH + 0x7000; // stays in use across the wrap
    for (let i = 1; i <= 1022; i++) {
      const page = HIGH + i * 0x1000;
      expect(p.kmap(page)).toBe(BASE + (i + 1) * 0x1000);
      if (page !== kept) p.kunmap(page);
    }
    expect(p.flushes()).toBe(0);
    expect(l.mmu.read32(a)).toBe(0xaaaa); // not flushed yet
    const flushesBefore = l.mmu.stats.flushes;
    expect(p.kmap(HIGH + 0x50_0000)).toBe(BASE); // the wrap: slot 0
    expect(p.flushes()).toBe(1);
    expect(l.mmu.stats.flushes).toBeGreaterThan(flushesBefore); // the CR4.PGE toggle
    expect(ptePhys(l, 1)).toBe(0);
    expect(() => l.mmu.read32(a)).toThrow(PageFault);
    expect(p.slots()).toEqual([
      { nr: 0, page: HIGH + 0x50_0000, count: 2 },
      { nr: 8, page: kept, count: 2 },
    ]);
    // The next new page takes slot 1 again and reads its own frame.
    l.machine.ram.write32(HIGH + 0x60_0000, 0xbbbb);
    expect(p.kmap(HIGH + 0x60_0000)).toBe(a);
    expect(l.mmu.read32(a)).toBe(0xbbbb);
  });

  it("returns null when every slot has a user, changing nothing", () => {
    const { l, p } = setup();
    for (let i = 0; i < 1024; i++) expect(p.kmap(HIGH + i * 0x1000)).not.toBeNull();
    const slots = p.slots();
    const ptes = Array.from({ length: 1024 }, (_, nr) => ptePhys(l, nr));
    expect(p.kmap(HIGH + 0x50_0000)).toBeNull();
    expect(p.slots()).toEqual(slots);
    expect(Array.from({ length: 1024 }, (_, nr) => ptePhys(l, nr))).toEqual(ptes);
    p.kunmap(HIGH + 0x3000); // slot 4 has no user now
    expect(p.kmap(HIGH + 0x50_0000)).toBe(BASE + 0x4000);
  });
});
