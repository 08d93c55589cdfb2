/**
 * vmalloc/vfree on Linux i386 (issue 16): frames from highmem first,
 * consecutive pages with a guard page, tables in swapper_pg_dir only, the
 * lazy PDE sync on a CPL 0 fault in another pgd (never at CPL 3), and
 * vfree's whole-TLB flush. Checked against hand-worked addresses and counts.
 */
import { LINUX_ERROR } from "@mm386/allocation/linux";
import { createMachine, PAGE_SIZE, PTE } from "@mm386/hw-i386";
import { expectCode, expectFault } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { bootLinux, type LinuxPaging, SegmentationFault } from "../src/linux/index.js";

const MiB = 1024 * 1024;
const boot = (mib: number) => bootLinux(createMachine({ ramBytes: mib * MiB }));
const pde = (l: LinuxPaging, pgd: number, va: number) => l.mmu.read32(pgd + 4 * (va >>> 22));
const total = (l: LinuxPaging) => {
  const c = l.zones.freeCounts();
  return c.DMA + c.NORMAL + c.HIGHMEM;
};

describe("vmalloc / vfree", () => {
  it("maps whole pages of highmem frames at consecutive addresses, a guard page between areas", () => {
    const l = boot(1024);
    const high = l.zones.freeCounts().HIGHMEM;
    const a = l.vmalloc(16 * PAGE_SIZE)!;
    // 1 GiB: high_memory 0xF8000000, VMALLOC_START 0xF8800000.
    expect(a).toBe(0xf880_0000);
    expect(l.vmallocPages(a)).toBe(16);
    const frames = new Set<number>();
    for (let i = 0; i < 16; i++) {
      const w = l.translate(a + i * PAGE_SIZE);
      expect(w.pa! >= 896 * MiB, `page ${i} from highmem`).toBe(true);
      expect(w.writable).toBe(true);
      expect(w.user).toBe(false);
      frames.add(w.pa!);
    }
    expect(frames.size).toBe(16);
    expect(l.zones.freeCounts().HIGHMEM).toBe(high - 16);
    // The guard page after the area is not mapped; the next area starts after it.
    expect(l.translate(a + 16 * PAGE_SIZE).pa).toBeNull();
    expect(l.vmalloc(5000)).toBe(a + 17 * PAGE_SIZE);
    expect(l.vmallocPages(a + 17 * PAGE_SIZE)).toBe(2);
    for (let i = 0; i < 16; i++) l.write32(a + i * PAGE_SIZE, i + 1, 0);
    for (let i = 0; i < 16; i++) expect(l.read32(a + i * PAGE_SIZE, 0)).toBe(i + 1);
    expect(l.stats.vmallocs).toBe(2);
  });

  it("takes low frames when there is no highmem", () => {
    const l = boot(64);
    const a = l.vmalloc(3 * PAGE_SIZE)!;
    for (let i = 0; i < 3; i++) expect(l.translate(a + i * PAGE_SIZE).pa! < 64 * MiB).toBe(true);
  });

  it("makes its page table in swapper_pg_dir only; a CPL 0 fault in another pgd copies the PDE, a CPL 3 access never does", () => {
    const l = boot(1024);
    const mm = l.pgdAlloc()!;
    l.switchTo(mm);
    const a = l.vmalloc(PAGE_SIZE)!;
    const k = pde(l, l.reference.pgd, a);
    expect(k & PTE.P).toBe(PTE.P);
    // Not in the current pgd: the raw MMU faults, not present, at CPL 0 (error code 0).
    expect(pde(l, mm.pgd, a)).toBe(0);
    expectFault(() => l.mmu.read32(a), { cr2: a, errorCode: 0 });
    // A user access is a fault for the user, and the PDE stays missing.
    expect(() => l.read32(a, 3)).toThrow(SegmentationFault);
    expect(pde(l, mm.pgd, a)).toBe(0);
    expect(l.stats.vmallocFaults).toBe(0);
    // The kernel's access: vmalloc_fault copies the PDE from swapper_pg_dir and retries.
    l.write32(a + 4, 0x600d, 0);
    expect(pde(l, mm.pgd, a)).toBe(k);
    expect(l.stats.vmallocFaults).toBe(1);
    expect(l.mmu.read32(a + 4)).toBe(0x600d);
    // Once there, no more faults; and CPL 3 still cannot read it (supervisor PTE).
    l.read32(a + 4, 0);
    expect(l.stats.vmallocFaults).toBe(1);
    expect(() => l.read32(a + 4, 3)).toThrow(SegmentationFault);
  });

  it("vfree unmaps with one whole-TLB flush (globals too) and gives back frames and region", () => {
    const l = boot(1024);
    l.vfree(l.vmalloc(PAGE_SIZE)!); // the area's page table exists from here on
    const free = total(l);
    const flushes = l.stats.flushAlls;
    const a = l.vmalloc(16 * PAGE_SIZE)!;
    l.write32(a + 5 * PAGE_SIZE, 9, 0);
    expect(l.mmu.tlb.lookup((a + 5 * PAGE_SIZE) >>> 12)?.global).toBe(true);
    l.vfree(a);
    expect(l.stats.flushAlls).toBe(flushes + 1);
    expect(l.mmu.tlb.lookup((a + 5 * PAGE_SIZE) >>> 12)).toBeUndefined();
    expectFault(() => l.read32(a + 5 * PAGE_SIZE, 0), { cr2: a + 5 * PAGE_SIZE, errorCode: 0 });
    expect(total(l)).toBe(free);
    expect(l.vmRegions()).toEqual([]);
    expect(l.vmallocPages(a)).toBeNull();
    // The same place again.
    expect(l.vmalloc(PAGE_SIZE)).toBe(a);
  });

  it("returns null when frames or the area run out, with nothing taken", () => {
    const l = boot(16);
    const before = [total(l), l.vmRegions()];
    expect(l.vmalloc((total(l) + 1) * PAGE_SIZE)).toBeNull();
    expect([total(l), l.vmRegions()]).toEqual(before);
    expect(l.vmalloc(2 ** 31)).toBeNull();
    expect([total(l), l.vmRegions()]).toEqual(before);
    // Everything left can be had, less a page table per 4 MiB of area (VMALLOC_START is 4 MiB aligned).
    let n = total(l);
    while (n + Math.ceil(n / 1024) > total(l)) n--;
    const tables = total(l) - n;
    const a = l.vmalloc(n * PAGE_SIZE);
    expect(a).not.toBeNull();
    expect(total(l)).toBe(0);
    expect(l.vmalloc(PAGE_SIZE)).toBeNull();
    l.vfree(a!);
    expect(total(l)).toBe(n + tables - Math.ceil(n / 1024));
  });

  it("refuses bad sizes, foreign addresses and map/unmap over a vmalloc area, changing nothing", () => {
    const l = boot(64);
    const a = l.vmalloc(2 * PAGE_SIZE)!;
    const state = () => [total(l), l.vmRegions(), l.dump(l.reference)];
    const before = state();
    for (const bad of [0, -1, 1.5, Number.NaN, "4096", null])
      expectCode(() => l.vmalloc(bad as never), LINUX_ERROR.BAD_ARGUMENT);
    expectCode(() => l.vfree(a + PAGE_SIZE), LINUX_ERROR.NOT_VMALLOC, {
      message: new RegExp(`0x${(a + PAGE_SIZE).toString(16)}`),
    });
    const r = l.allocKernelRegion(1)!;
    expectCode(() => l.vfree(r), LINUX_ERROR.NOT_VMALLOC);
    l.freeKernelRegion(r, 1);
    expectCode(() => l.unmap(null, a, 1), LINUX_ERROR.BUSY, { message: /vfree/ });
    expectCode(() => l.map(null, a + PAGE_SIZE, 0x1000, 1, PTE.P | PTE.RW), LINUX_ERROR.BUSY);
    expectCode(() => l.freeKernelRegion(a, 2), LINUX_ERROR.BUSY);
    expect(state()).toEqual(before);
  });
});
