/**
 * The Whitix design: hand-worked window arithmetic, the read-only code,
 * kernel tables in every space, VirtMapPhysRange's all-or-nothing, editing
 * another space through VirtAllocateTemp. Expectations come from hand
 * arithmetic and from reading the tables physically, never from the
 * design's own answers.
 */
import { CR0, createMachine, type Machine, PDE } from "@mm386/hw-i386";
import { expectCode, faultOf } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { PTE_PRESENT as P, PTE_USER as U, PTE_WRITE as W } from "../src/index.js";
import {
  VirtMemManagerInit,
  WHITIX,
  type Whitix,
  whitixPageSource,
  windowPdeVa,
  windowPteVa,
  windowTableVa,
} from "../src/whitix/index.js";
import { flushes, physPte } from "./helpers.js";

const MiB = 1024 * 1024;
const FRAME = 0xffff_f000;

function boot(ramBytes = 64 * MiB): { m: Machine; w: Whitix } {
  const m = createMachine({ ramBytes });
  return { m, w: VirtMemManagerInit(m) };
}

/**
 * Every word of every directory and every table they point at, read
 * physically, without A and D (the MMU sets them on the walks a scan makes).
 */
function tables(w: Whitix): number[] {
  const out: number[] = [];
  const word = (pa: number) => w.machine.ram.read32(pa) & ~(PDE.A | PDE.D);
  for (const s of w.addressSpaces())
    for (let r = 0; r < 1024; r++) {
      const pde = word(s.cr3 + 4 * r);
      out.push(pde);
      if ((pde & PDE.P) !== 0 && r !== 1023)
        for (let i = 0; i < 1024; i++) out.push(word(((pde & FRAME) >>> 0) + 4 * i));
    }
  return out;
}

describe("Whitix: the recursive window", () => {
  it("puts the PTE of va at 0xFFC00000 + (va >>> 12) * 4 (hand-worked)", () => {
    // 0x08048000 >>> 12 = 0x08048; * 4 = 0x20120.
    expect(windowPteVa(0x0804_8000)).toBe(0xffc2_0120);
    // 0xC0000000 >>> 12 = 0xC0000; * 4 = 0x300000.
    expect(windowPteVa(0xc000_0000)).toBe(0xfff0_0000);
    // The window's own last page: PTE 1023 of table 1023 is PDE 1023.
    expect(windowPteVa(0xffff_f000)).toBe(0xffff_fffc);
    // The PDE of va at 0xFFFFF000 + (va >>> 22) * 4: 768 * 4 = 0xC00.
    expect(windowPdeVa(0xc000_0000)).toBe(0xffff_fc00);
    expect(windowPdeVa(0x0804_8000)).toBe(0xffff_f080);
    // Table r at 0xFFC00000 + r * 4096; table 1023 is the directory.
    expect(windowTableVa(32)).toBe(0xffc2_0000);
    expect(windowTableVa(1023)).toBe(WHITIX.DIRECTORY);
  });

  it("boots as the seed says: identity 8 MiB, read-only code, PDE 1023 -> itself, WP and PG", () => {
    const { m, w } = boot();
    const d = w.reference.cr3;
    expect(m.mmu.cr3).toBe(d);
    expect((m.mmu.cr0 & (CR0.PG | CR0.WP)) >>> 0).toBe((CR0.PG | CR0.WP) >>> 0);
    // Bits 0-2 of PDE 1023: present, writable, supervisor.
    expect((m.ram.read32(d + 4 * 1023) & FRAME) >>> 0).toBe(d);
    expect(m.ram.read32(d + 4 * 1023) & 7).toBe(3);
    // Default image: 512 KiB of code at 1 MiB, then 512 KiB of data.
    expect(physPte(m, d, 0x0010_0000)! & 7).toBe(P); // code: read-only, supervisor
    expect(physPte(m, d, 0x0017_f000)! & 7).toBe(P);
    expect(physPte(m, d, 0x0018_0000)! & 7).toBe(P | W); // data
    expect((physPte(m, d, 0x007f_f000)! & FRAME) >>> 0).toBe(0x007f_f000); // last identity page
    expect(physPte(m, d, 0x0080_0000)).toBeNull(); // user memory starts at 8 MiB, no table
  });

  it("reads the same PTE through the window as through the physical table", () => {
    const { m, w } = boot();
    const as = w.createAddressSpace()!;
    const f = w.allocFrames(3)!;
    expect(w.map(as, 0x0804_8000, f, 3, P | W | U)).toBe(true);
    w.switchTo(as);
    for (const va of [0x0804_8000, 0x0804_9000, 0x0804_a000, 0x0010_0000, 0x0070_0000]) {
      // A/D may be set by the very walks: compare the frame and the low flag bits.
      const phys = physPte(m, as.cr3, va)!;
      expect(m.mmu.read32(windowPteVa(va))).toBe(m.ram.read32(physPteAddr(m, as.cr3, va)));
      expect((phys & FRAME) >>> 0).toBe(va < 8 * MiB ? va : f + (va - 0x0804_8000));
    }
    // The directory at 0xFFFFF000 is the directory.
    for (const r of [0, 1, 32, 768, 1022, 1023])
      expect(m.mmu.read32(WHITIX.DIRECTORY + 4 * r)).toBe(m.ram.read32(as.cr3 + 4 * r));
  });

  it("faults on a kernel write to its own code with error code 3 (CR0.WP), not on its data", () => {
    const { m, w } = boot();
    const pf = faultOf(() => w.write32(0x0010_0040, 1, 0));
    expect(pf.errorCode).toBe(3); // present + write, supervisor
    expect(pf.cr2).toBe(0x0010_0040);
    w.write32(0x0018_0000, 7, 0); // data is writable
    expect(m.ram.read32(0x0018_0000)).toBe(7);
    // The identity map is supervisor-only: a user read is a protection fault (1 | 4).
    expect(faultOf(() => w.read32(0x0018_0000, 3)).errorCode).toBe(5);
    // Without CR0.WP the same write would go through: WP is what makes code read-only to the kernel.
    m.mmu.loadCr0(m.mmu.cr0 & ~CR0.WP);
    w.write32(0x0010_0040, 1, 0);
    expect(m.ram.read32(0x0010_0040)).toBe(1);
  });
});

/** Physical address of the PTE of `va` (its table must exist). */
function physPteAddr(m: Machine, cr3: number, va: number): number {
  const pde = m.ram.read32(cr3 + 4 * (va >>> 22));
  return ((pde & FRAME) >>> 0) + 4 * ((va >>> 12) & 1023);
}

describe("Whitix: page tables on demand", () => {
  it("zeroes a new table through the window after invlpg of the window page that shows it", () => {
    const { m, w } = boot();
    // Dirty a frame, give it back: the allocator will hand it out again as the new table.
    const junk = w.allocFrames(1)!;
    for (let i = 0; i < 1024; i++) m.ram.write32(junk + 4 * i, 0xdead_0001);
    w.freeFrames(junk, 1);
    const f = w.allocFrames(1)!;
    const r = 0xc040_0000 >>> 22;
    const seen = flushes(m, () => expect(w.VirtMemMapPage(0xc040_0000, f, P | W)).toBe(true));
    expect(seen.invlpg).toContain(windowTableVa(r));
    const table = (m.ram.read32(w.reference.cr3 + 4 * r) & FRAME) >>> 0;
    // Only the one entry written; the other 1023 were zeroed.
    let nonzero = 0;
    for (let i = 0; i < 1024; i++) if (m.ram.read32(table + 4 * i) !== 0) nonzero++;
    expect(nonzero).toBe(1);
  });

  it("puts a new kernel table into every address space, and later spaces copy it", () => {
    const { m, w } = boot();
    const spaces = [w.createAddressSpace()!, w.createAddressSpace()!, w.createAddressSpace()!];
    w.switchTo(spaces[1]!);
    const va = w.allocKernelRegion(1)!;
    const r = va >>> 22;
    expect(m.ram.read32(w.reference.cr3 + 4 * r) & PDE.P).toBe(0); // needs a new table
    const f = w.allocFrames(1)!;
    m.ram.write32(f + 8, 0xabcd);
    expect(w.map(null, va, f, 1, P | W)).toBe(true);
    const all = [w.reference, ...spaces];
    const pdes = all.map((s) => m.ram.read32(s.cr3 + 4 * r) & ~(PDE.A | PDE.D));
    expect(new Set(pdes).size).toBe(1);
    expect(pdes[0]! & 7).toBe(P | W); // supervisor
    for (const s of all) {
      w.switchTo(s);
      expect(w.read32(va + 8, 0)).toBe(0xabcd);
    }
    const later = w.createAddressSpace()!;
    expect(m.ram.read32(later.cr3 + 4 * r) & FRAME).toBe(pdes[0]! & FRAME);
    // Its own self-map, not another's.
    expect((m.ram.read32(later.cr3 + 4 * 1023) & FRAME) >>> 0).toBe(later.cr3);
  });

  it("invlpg's a replaced kernel PTE: no stale translation", () => {
    const { m, w } = boot();
    const va = w.allocKernelRegion(1)!;
    const f = w.allocFrames(2)!;
    m.ram.write32(f, 1);
    m.ram.write32(f + 4096, 2);
    w.map(null, va, f, 1, P | W);
    expect(w.read32(va, 0)).toBe(1); // cached now
    w.map(null, va, f + 4096, 1, P | W);
    expect(w.read32(va, 0)).toBe(2);
    w.unmap(null, va, 1);
    expect(faultOf(() => w.read32(va, 0)).errorCode).toBe(0);
  });
});

describe("Whitix: VirtAllocateTemp", () => {
  it("edits another address space without loading CR3, through temp slots", () => {
    const { m, w } = boot();
    const other = w.createAddressSpace()!;
    const f = w.allocFrames(1)!;
    m.ram.write32(f, 31);
    const seen = flushes(m, () => expect(w.map(other, 0x0800_0000, f, 1, P | U)).toBe(true));
    expect(seen.cr3).toBe(0);
    expect(m.mmu.cr3).toBe(w.reference.cr3);
    // Every invlpg was of a temp slot: nothing of the current space was touched.
    expect(seen.invlpg.length).toBeGreaterThan(0);
    for (const va of seen.invlpg) {
      expect(va).toBeGreaterThanOrEqual(WHITIX.TEMP_BASE);
      expect(va).toBeLessThan(WHITIX.WINDOW);
    }
    // The slots are empty again.
    for (let s = 0; s < WHITIX.TEMP_SLOTS; s++)
      expect(physPte(m, w.reference.cr3, WHITIX.TEMP_BASE + s * 4096)).toBe(0);
    expect((physPte(m, other.cr3, 0x0800_0000)! & FRAME) >>> 0).toBe(f);
    expect(physPte(m, w.reference.cr3, 0x0800_0000)).toBeNull(); // the current space has no table there
    w.switchTo(other);
    expect(w.read32(0x0800_0000, 3)).toBe(31);
    // And unmapping it again from the kernel directory.
    w.switchTo(w.reference);
    w.unmap(other, 0x0800_0000, 1);
    expect(physPte(m, other.cr3, 0x0800_0000)).toBe(0);
  });

  it("maps any frame for the caller, keeps two slots for the kernel, and refuses bad frees", () => {
    const { m, w } = boot();
    const other = w.createAddressSpace()!;
    const a = w.VirtAllocateTemp(other.cr3)!;
    expect(a).toBe(WHITIX.TEMP_BASE);
    expect(w.read32(a + 4 * 1023, 0) & FRAME).toBe(other.cr3); // its self-map, read through the slot
    const b = w.VirtAllocateTemp(0x0030_0000)!;
    expect(b).toBe(WHITIX.TEMP_BASE + 4096);
    expect(w.VirtAllocateTemp(0x0030_1000)).toBeNull(); // the other two are the kernel's
    // The kernel can still edit other spaces while the caller holds two slots.
    expect(w.map(other, 0x0800_0000, w.allocFrames(1)!, 1, P | U)).toBe(true);
    w.VirtFreeTemp(a);
    expect(physPte(m, w.reference.cr3, a)).toBe(0);
    expect(faultOf(() => w.read32(a, 0)).errorCode).toBe(0);
    expectCode(() => w.VirtFreeTemp(a), "E_NOT_TEMP");
    expectCode(() => w.VirtFreeTemp(0x0030_0000), "E_NOT_TEMP");
    w.VirtFreeTemp(b);
  });
});

describe("Whitix: VirtMapPhysRange and the kernel heap", () => {
  it("finds the first run of free PTEs (hand-worked), skipping reserved regions", () => {
    const { w } = boot();
    const H = WHITIX.HEAP_START;
    const range = (n: number) => w.VirtMapPhysRange(H, WHITIX.HEAP_END, n, P | W);
    expect(range(1)).toBe(H); // page 0
    expect(range(1)).toBe(H + 0x1000); // page 1
    expect(range(2)).toBe(H + 0x2000); // pages 2-3
    w.VirtUnmapPhysPage(H); // page 0 free again
    expect(range(2)).toBe(H + 0x4000); // one free page at 0 is not enough
    expect(w.allocKernelRegion(1)).toBe(H); // page 0, reserved but not mapped
    expect(range(1)).toBe(H + 0x6000); // the reserved page is skipped
    // Runs cross page tables: from 0xC03FF000 into the next, still missing, table.
    const big = w.VirtMapPhysRange(H + 0x3f_f000, WHITIX.HEAP_END, 2, P | W);
    expect(big).toBe(H + 0x3f_f000);
    expect(w.translate(H + 0x40_0000).pa).not.toBeNull();
    // Nothing left in a one-page range that is taken.
    expect(w.VirtMapPhysRange(H, H + 0x1000, 1, P | W)).toBeNull();
  });

  it("is all or nothing when frames run out (for pages, or for their page table)", () => {
    const { m, w } = boot(16 * MiB);
    const held: number[] = [];
    const leave = (k: number) => {
      while (w.allocators.physical.freePages > k) held.push(w.allocFrames(1)!);
    };
    // 3 frames free, 3 pages asked in a region with no table: the table needs a 4th.
    leave(3);
    const before = tables(w);
    const free = w.allocators.physical.freePages;
    const dumpBefore = w.dump();
    expect(w.VirtMapPhysRange(0xc080_0000, WHITIX.HEAP_END, 3, P | W)).toBeNull();
    expect(w.allocators.physical.freePages).toBe(free);
    expect(tables(w)).toEqual(before);
    expect(w.dump()).toEqual(dumpBefore);
    // The PDE is gone from the current space and the window shows nothing there.
    expect(faultOf(() => m.mmu.read32(windowPteVa(0xc080_0000))).errorCode).toBe(0);
    // 2 frames for 3 pages in a region that has a table: no frame kept either.
    w.VirtMapPhysRange(0xc080_0000, WHITIX.HEAP_END, 1, P | W); // makes the table, takes 2
    expect(w.allocators.physical.freePages).toBe(1);
    w.freeFrames(held.pop()!, 1);
    const before2 = tables(w);
    expect(w.VirtMapPhysRange(0xc080_0000, WHITIX.HEAP_END, 3, P | W)).toBeNull();
    expect(w.allocators.physical.freePages).toBe(2);
    expect(tables(w)).toEqual(before2);
    // With enough frames it works.
    w.freeFrames(held.pop()!, 1);
    expect(w.VirtMapPhysRange(0xc080_0000, WHITIX.HEAP_END, 3, P | W)).toBe(0xc080_1000);
  });

  it("VirtMapPhysPage takes a fresh frame; VirtUnmapPhysPage gives it back", () => {
    const { w } = boot();
    const free = w.allocators.physical.freePages;
    const frame = w.VirtMapPhysPage(0xc000_0000, P | W)!;
    expect(w.translate(0xc000_0000).pa).toBe(frame);
    expect(w.allocators.physical.freePages).toBe(free - 2); // the frame and the new table
    w.write32(0xc000_0000, 5, 0);
    w.VirtUnmapPhysPage(0xc000_0000);
    expect(w.allocators.physical.freePages).toBe(free - 1); // the table stays
    expect(faultOf(() => w.read32(0xc000_0000, 0)).errorCode).toBe(0);
    expectCode(() => w.VirtUnmapPhysPage(0xc000_0000), "E_NOT_MAPPED");
  });

  it("allocKernelRegion and freeKernelRegion: reserved until given back, refused while mapped", () => {
    const { w } = boot();
    const a = w.allocKernelRegion(4)!;
    const b = w.allocKernelRegion(2)!;
    expect(b).toBe(a + 4 * 4096);
    w.map(null, a, w.allocFrames(1)!, 1, P | W);
    expectCode(() => w.freeKernelRegion(a, 4), "E_STILL_MAPPED");
    expect(w.kernelRegions()).toEqual([[a, b + 2 * 4096]]);
    w.unmap(null, a, 1);
    w.freeKernelRegion(a, 4);
    expectCode(() => w.freeKernelRegion(a, 4), "E_NOT_REGION");
    expect(w.allocKernelRegion(4)).toBe(a);
  });

  it("the slab page source maps runs and gives every frame back", () => {
    const { w } = boot();
    const src = whitixPageSource(w);
    const free = w.allocators.physical.freePages;
    const a = src.allocPages(3)!;
    const b = src.allocPages(1)!;
    expect(b).toBe(a + 3 * 4096);
    w.write32(a + 2 * 4096, 9, 0);
    src.freePages(a, 3);
    src.freePages(b, 1);
    expect(w.allocators.physical.freePages).toBe(free - 1); // the heap's first page table stays
    expectCode(() => src.freePages(a, 1), "E_NOT_MAPPED");
    expectCode(() => src.freePages(0x0040_0000, 1), "E_BAD_ARGUMENT");
  });
});

describe("Whitix: address spaces", () => {
  it("destroying a space gives back its user tables and directory, not the shared ones", () => {
    const { w } = boot();
    const free = w.allocators.physical.freePages;
    const s = w.createAddressSpace()!;
    const f = w.allocFrames(2)!;
    w.map(s, 0x0800_0000, f, 1, P | W | U); // one table
    w.map(s, 0xbfff_f000, f + 4096, 1, P | W | U); // another
    expect(w.allocators.physical.freePages).toBe(free - 5);
    w.destroyAddressSpace(s);
    expect(w.allocators.physical.freePages).toBe(free - 2); // the caller's two frames
    expect(w.addressSpaces()).toEqual([w.reference]);
    expectCode(() => w.switchTo(s), "E_DESTROYED");
    expectCode(() => w.destroyAddressSpace(w.reference), "E_INIT_PAGEDIR");
  });

  it("refuses the identity map, the temp slots and the window", () => {
    const { w } = boot();
    const s = w.createAddressSpace()!;
    expectCode(() => w.map(s, 0x0070_0000, 0x0030_0000, 1, P | U), "E_RESERVED_VA");
    expectCode(() => w.map(null, WHITIX.TEMP_BASE, 0x0030_0000, 1, P), "E_RESERVED_VA");
    expectCode(() => w.map(null, 0xffc0_0000, 0x0030_0000, 1, P), "E_RESERVED_VA");
    expectCode(() => w.map(s, 0xbfff_f000, 0x0030_0000, 2, P | U), "E_CROSSES_SPLIT");
    expectCode(() => w.map(null, 0xc000_0000, 0x0030_0000, 1, P | U), "E_USER_ON_KERNEL");
  });

  it("dump leaves out the window and the temp slots, and starts with the identity map", () => {
    const { w } = boot();
    const other = w.createAddressSpace()!;
    const runs = w.dump(other); // reads other through a temp slot, which must not show
    expect(runs[0]).toEqual({ virt: 0, phys: 0, pages: 256, flags: P | W });
    expect(runs[1]).toEqual({ virt: 0x0010_0000, phys: 0x0010_0000, pages: 128, flags: P });
    expect(runs.every((r) => r.virt + r.pages * 4096 <= WHITIX.TEMP_BASE)).toBe(true);
    expect(runs.reduce((n, r) => n + r.pages, 0)).toBe(2048);
  });

  it("explains where Whitix itself reads the PDE and the PTE", () => {
    const { w } = boot();
    const other = w.createAddressSpace()!;
    w.map(other, 0x0804_8000, w.allocFrames(1)!, 1, P | U);
    // Current space: the hand-worked window addresses of 0x08048000.
    expect(w.explain(0x0804_8000)).toContain("PTE at 0xffc20120");
    expect(w.explain(0x0804_8000)).toContain("PDE at 0xfffff080");
    // Another space: through VirtAllocateTemp of its directory.
    const text = w.explain(0x0804_8000, other);
    expect(text).toContain("VirtAllocateTemp");
    expect(text).toContain(`0x${other.cr3.toString(16).padStart(8, "0")}`);
  });
});
