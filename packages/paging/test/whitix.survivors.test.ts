/**
 * Tests written from the mutation survivors of paging's whitix/ design
 * (docs/quality.md, "Mutation testing"): the recursive window's addresses at
 * both ends, the temp slots' bounds and refusals (exact code and message,
 * addresses in hex), and RegionSet at the edges of its intervals. Every
 * expected value is worked out by hand in the comments, or read physically
 * from RAM, never taken from the design's own answers.
 */
import { createMachine, type Machine, PDE } from "@mm386/hw-i386";
import { expectCode } from "@mm386/hw-i386/testing";
import { describe, expect, it } from "vitest";
import { firstFitRanges } from "@mm386/allocation";
import { PTE_PRESENT as P, PTE_USER as U, PTE_WRITE as W, PagingError } from "../src/index.js";
import {
  RegionSet,
  VirtMemManagerInit,
  WHITIX,
  type Whitix,
  WhitixError,
  whitixPageSource,
  windowPdeVa,
  windowPteVa,
  windowTableVa,
} from "../src/whitix/index.js";
import { flushes, physPte } from "./helpers.js";

const MiB = 1024 * 1024;
const FRAME = 0xffff_f000;

function boot(ramBytes = 10 * MiB): { m: Machine; w: Whitix } {
  const m = createMachine({ ramBytes });
  return { m, w: VirtMemManagerInit(m) };
}

const notTemp = (w: Whitix, va: number, shown: string) =>
  expectCode(() => w.VirtFreeTemp(va), "E_NOT_TEMP", {
    type: WhitixError,
    message: new RegExp(`^E_NOT_TEMP: ${shown} is not a temporary mapping in use$`),
  });

describe("Whitix survivors: the recursive window at both ends", () => {
  it("is named whitix", () => {
    expect(boot().w.name).toBe("whitix");
  });

  it("windowPteVa, windowPdeVa and windowTableVa at the first and last page (hand-worked)", () => {
    // PTE of va 0: 0xFFC00000 + 0 * 4.
    expect(windowPteVa(0)).toBe(0xffc0_0000);
    // The last byte of 4 GiB: 0xFFFFFFFF >>> 12 = 0xFFFFF; * 4 = 0x3FFFFC; + 0xFFC00000 = 0xFFFFFFFC.
    expect(windowPteVa(0xffff_ffff)).toBe(0xffff_fffc);
    // The first kernel-heap page after the split (PDE 768, PTE 1): 0xC0001 * 4 = 0x300004.
    expect(windowPteVa(0xc000_1000)).toBe(0xfff0_0004);
    // PDE of va 0 at 0xFFFFF000; of 0xFFFFFFFF (PDE 1023) at 0xFFFFF000 + 0xFFC = 0xFFFFFFFC.
    expect(windowPdeVa(0)).toBe(0xffff_f000);
    expect(windowPdeVa(0xffff_ffff)).toBe(0xffff_fffc);
    // PDE of the last identity page (0x007FF000, PDE 1): 0xFFFFF004.
    expect(windowPdeVa(0x007f_f000)).toBe(0xffff_f004);
    // Table r at 0xFFC00000 + r * 4096: table 0, table 768 (0xFFF00000), table 1023 (the directory).
    expect(windowTableVa(0)).toBe(0xffc0_0000);
    expect(windowTableVa(768)).toBe(0xfff0_0000);
    expect(windowTableVa(1023)).toBe(WHITIX.DIRECTORY);
  });

  it("the window shows the current directory's tables: PTE of 0x00100000 read through it equals the physical one", () => {
    const { m, w } = boot();
    // 0x00100000 (the kernel code, identity-mapped): PTE at 0xFFC00000 + 0x100 * 4 = 0xFFC00400.
    const viaWindow = w.read32(0xffc0_0400, 0) & ~(PDE.A | PDE.D);
    expect(viaWindow).toBe(physPte(m, w.reference.cr3, 0x0010_0000)! & ~(PDE.A | PDE.D));
    expect((viaWindow & FRAME) >>> 0).toBe(0x0010_0000);
    // PDE 1023 read at 0xFFFFFFFC is the directory itself.
    expect((w.read32(0xffff_fffc, 0) & FRAME) >>> 0).toBe(w.reference.cr3);
  });
});

describe("Whitix survivors: the temp slots", () => {
  it("hands out slot 0, then slot 1, writes phys | P | RW at the slot's PTE and invlpgs it", () => {
    const { m, w } = boot();
    const seen = flushes(m, () => {
      expect(w.VirtAllocateTemp(0x0030_0000)).toBe(0xffbf_c000); // TEMP_BASE + 0 * 4096
      expect(w.VirtAllocateTemp(0x0030_1000)).toBe(0xffbf_d000); // TEMP_BASE + 1 * 4096
    });
    expect(seen.invlpg).toEqual([0xffbf_c000, 0xffbf_d000]);
    expect(seen.cr3).toBe(0);
    // PTE = frame | P (1) | RW (2): supervisor, no other bit.
    expect(physPte(m, w.reference.cr3, 0xffbf_c000)).toBe(0x0030_0003);
    expect(physPte(m, w.reference.cr3, 0xffbf_d000)).toBe(0x0030_1003);
    // A third is refused (two of four are the kernel's), and the free slots stay empty.
    expect(w.VirtAllocateTemp(0x0030_2000)).toBeNull();
    expect(physPte(m, w.reference.cr3, 0xffbf_e000)).toBe(0);
    expect(physPte(m, w.reference.cr3, 0xffbf_f000)).toBe(0);
    // Freeing slot 0 clears its PTE, invlpgs it, and the next call gets slot 0 again.
    const freed = flushes(m, () => w.VirtFreeTemp(0xffbf_c000));
    expect(freed.invlpg).toEqual([0xffbf_c000]);
    expect(physPte(m, w.reference.cr3, 0xffbf_c000)).toBe(0);
    expect(w.VirtAllocateTemp(0x0030_4000)).toBe(0xffbf_c000);
    expect(physPte(m, w.reference.cr3, 0xffbf_c000)).toBe(0x0030_4003);
  });

  it("reads and writes the frame through the slot", () => {
    const { m, w } = boot();
    m.ram.write32(0x0030_0010, 0x1234_5678);
    const va = w.VirtAllocateTemp(0x0030_0000)!;
    expect(w.read32(va + 0x10, 0)).toBe(0x1234_5678);
    w.write32(va + 0x14, 0xcafe_f00d, 0);
    expect(m.ram.read32(0x0030_0014)).toBe(0xcafe_f00d);
  });

  it("refuses VirtFreeTemp outside the four slots, between pages and of a free slot, naming the address", () => {
    const { m, w } = boot();
    // Slots 0 and 1 held (everything a caller may hold), 2 and 3 free.
    const held = w.VirtAllocateTemp(0x0030_0000)!;
    const held1 = w.VirtAllocateTemp(0x0030_1000)!;
    const before = [0, 1, 2, 3].map((s) => physPte(m, w.reference.cr3, 0xffbf_c000 + s * 4096));
    // The page below slot 0 (slot -1) and the window's first page (slot 4).
    notTemp(w, 0xffbf_b000, "0xffbfb000");
    notTemp(w, 0xffc0_0000, "0xffc00000");
    // Inside slot 0 but not its first byte: (0x800 / 4096) is not an integer.
    notTemp(w, 0xffbf_c800, "0xffbfc800");
    // Slots 2 and 3 (the last) are free.
    notTemp(w, 0xffbf_e000, "0xffbfe000");
    notTemp(w, 0xffbf_f000, "0xffbff000");
    // Not a safe integer (its slot is taken as -1, never a held slot such as 1), a
    // negative, a fraction: named as values.
    notTemp(w, 2 ** 53, "9007199254740992");
    notTemp(w, -4096, "-4096");
    notTemp(w, 0.5, "0.5");
    // Nothing changed: slots 0 and 1 still held, their PTEs as they were.
    expect([0, 1, 2, 3].map((s) => physPte(m, w.reference.cr3, 0xffbf_c000 + s * 4096))).toEqual(
      before,
    );
    w.VirtFreeTemp(held);
    w.VirtFreeTemp(held1);
    expect(physPte(m, w.reference.cr3, held)).toBe(0);
    expect(physPte(m, w.reference.cr3, held1)).toBe(0);
  });

  it("frees slot 3, the last, when the kernel's own slots are in use", () => {
    // The caller can hold only two; slot 3 is reached by the kernel's edits of
    // another space while the caller holds slots 0 and 1 (directory in 2, table in 3).
    const { m, w } = boot();
    const other = w.createAddressSpace()!;
    w.VirtAllocateTemp(0x0030_0000);
    w.VirtAllocateTemp(0x0030_1000);
    const f = w.allocFrames(1)!;
    const seen = flushes(m, () => expect(w.map(other, 0x0800_0000, f, 1, 7)).toBe(true));
    expect(seen.cr3).toBe(0);
    // Every invlpg was of slot 2 or 3 (0xFFBFE000, 0xFFBFF000): the caller's are untouched.
    expect(seen.invlpg.length).toBeGreaterThan(0);
    for (const va of seen.invlpg) expect([0xffbf_e000, 0xffbf_f000]).toContain(va);
    expect(seen.invlpg).toContain(0xffbf_f000);
    expect(physPte(m, w.reference.cr3, 0xffbf_c000)).toBe(0x0030_0003);
    expect(physPte(m, w.reference.cr3, 0xffbf_d000)).toBe(0x0030_1003);
    expect(physPte(m, w.reference.cr3, 0xffbf_e000)).toBe(0);
    expect(physPte(m, w.reference.cr3, 0xffbf_f000)).toBe(0);
    expect((physPte(m, other.cr3, 0x0800_0000)! & FRAME) >>> 0).toBe(f);
  });

  it("refuses a bad frame to VirtAllocateTemp with the shared codes", () => {
    const { w } = boot();
    expectCode(() => w.VirtAllocateTemp(0x0030_0800), "E_UNALIGNED", {
      type: PagingError,
      message: /^E_UNALIGNED: VirtAllocateTemp: physical address 0x00300800 is not page-aligned$/,
    });
    // 10 MiB of RAM: 0x00A00000 is past it; 0x009FF000, the last frame, is not.
    expectCode(() => w.VirtAllocateTemp(0x00a0_0000), "E_PAST_RAM", {
      message: /VirtAllocateTemp: frame 0x00a00000 is past the end of RAM at 0x00a00000/,
    });
    expect(w.VirtAllocateTemp(0x009f_f000)).toBe(WHITIX.TEMP_BASE);
  });
});

describe("Whitix survivors: dump reads other spaces' tables through temp slots", () => {
  /** The boot's identity map with the default 512 KiB of code at 0x00100000 (read-only, flags P = 1). */
  const identity = [
    { virt: 0, phys: 0, pages: 256, flags: 3 }, // [0, 1 MiB): P | RW
    { virt: 0x0010_0000, phys: 0x0010_0000, pages: 128, flags: 1 }, // the code, 0x80000 bytes
    { virt: 0x0018_0000, phys: 0x0018_0000, pages: 1664, flags: 3 }, // up to 8 MiB: 0x680000 / 4096
  ];

  it("the current space through the window with no temp slot; another: its directory in slot 0, its user table in slot 1", () => {
    const { m, w } = boot();
    const other = w.createAddressSpace()!;
    const [f, g] = [w.allocFrames(1)!, w.allocFrames(1)!];
    // A user page in each space (table 32; 0x08400000 is table 33), a kernel page in every space (table 768).
    w.map(other, 0x0800_0000, f, 1, P | U);
    w.map(w.reference, 0x0840_0000, f, 1, P | U);
    w.map(null, 0xc000_0000, g, 1, P | W);
    const kernel = { virt: 0xc000_0000, phys: g, pages: 1, flags: 3 };
    let dump: unknown;
    const seen = flushes(m, () => (dump = w.dump()));
    expect(seen.invlpg).toEqual([]); // the current space's own user table too: through the window
    expect(dump).toEqual([...identity, { virt: 0x0840_0000, phys: f, pages: 1, flags: 5 }, kernel]);
    const seen2 = flushes(m, () => (dump = w.dump(other)));
    // Shared tables 0, 1 and 768 through the window; only the directory (slot 0,
    // 0xFFBFC000) and table 32 (slot 1, 0xFFBFD000) through temp slots, each mapped and freed.
    expect(seen2.invlpg).toEqual([0xffbf_c000, 0xffbf_d000, 0xffbf_d000, 0xffbf_c000]);
    expect(seen2.cr3).toBe(0);
    expect(dump).toEqual([...identity, { virt: 0x0800_0000, phys: f, pages: 1, flags: 5 }, kernel]);
    // The slots are empty again.
    expect(physPte(m, w.reference.cr3, 0xffbf_c000)).toBe(0);
    expect(physPte(m, w.reference.cr3, 0xffbf_d000)).toBe(0);
  });
});

describe("Whitix survivors: RegionSet at the edges", () => {
  it("covers and overlaps at both ends of an interval (half-open)", () => {
    const s = new RegionSet();
    s.add(10, 20);
    expect(s.size).toBe(1);
    expect(s.covers(10, 20)).toBe(true);
    expect(s.covers(9, 20)).toBe(false);
    expect(s.covers(10, 21)).toBe(false);
    expect(s.covers(19, 20)).toBe(true);
    expect(s.covers(20, 21)).toBe(false);
    expect(s.overlaps(19, 20)).toBe(true);
    expect(s.overlaps(20, 25)).toBe(false); // 20 is the end: not in the set
    expect(s.overlaps(5, 10)).toBe(false); // ends where the interval starts
    expect(s.overlaps(5, 11)).toBe(true);
    expect(s.overlaps(0, 100)).toBe(true);
    expect(s.atOrAfter(0)).toEqual([10, 20]);
    expect(s.atOrAfter(19)).toEqual([10, 20]);
    expect(s.atOrAfter(20)).toBeNull();
  });

  it("finds the right interval among several (the binary search's both halves)", () => {
    const s = new RegionSet();
    for (const a of [50, 10, 70, 30, 90]) s.add(a, a + 5);
    expect(s.intervals()).toEqual([
      [10, 15],
      [30, 35],
      [50, 55],
      [70, 75],
      [90, 95],
    ]);
    expect(s.size).toBe(5);
    expect(s.atOrAfter(14)).toEqual([10, 15]);
    expect(s.atOrAfter(15)).toEqual([30, 35]);
    expect(s.atOrAfter(55)).toEqual([70, 75]);
    expect(s.atOrAfter(94)).toEqual([90, 95]);
    expect(s.atOrAfter(95)).toBeNull();
    expect(s.covers(70, 75)).toBe(true);
    expect(s.covers(69, 75)).toBe(false);
    expect(s.covers(35, 36)).toBe(false);
    expect(s.overlaps(55, 70)).toBe(false);
    expect(s.overlaps(55, 71)).toBe(true);
    expect(s.overlaps(95, 200)).toBe(false);
  });

  it("merges on the left, on the right, on both, and not across a gap of one", () => {
    const s = new RegionSet();
    s.add(10, 20);
    s.add(20, 25); // touches on the left: [10, 25)
    expect(s.intervals()).toEqual([[10, 25]]);
    s.add(5, 10); // touches on the right: [5, 25)
    expect(s.intervals()).toEqual([[5, 25]]);
    s.add(26, 30); // a gap of one (25): two intervals
    expect(s.intervals()).toEqual([
      [5, 25],
      [26, 30],
    ]);
    s.add(25, 26); // fills it: one interval
    expect(s.intervals()).toEqual([[5, 30]]);
    s.add(40, 50);
    s.add(0, 2); // before everything
    expect(s.intervals()).toEqual([
      [0, 2],
      [5, 30],
      [40, 50],
    ]);
    expect(s.size).toBe(3);
  });

  it("removes a whole interval, its head, its tail and its middle", () => {
    const s = new RegionSet();
    s.add(0, 10);
    s.add(20, 30);
    s.remove(0, 10); // whole: nothing left of it
    expect(s.intervals()).toEqual([[20, 30]]);
    s.remove(20, 22); // head
    expect(s.intervals()).toEqual([[22, 30]]);
    s.remove(28, 30); // tail
    expect(s.intervals()).toEqual([[22, 28]]);
    s.remove(24, 25); // middle
    expect(s.intervals()).toEqual([
      [22, 24],
      [25, 28],
    ]);
    expect(s.size).toBe(2);
  });
});

/** Take frames until only `k` are free; returns them (give them back with freeFrames). */
function leave(w: Whitix, k: number): number[] {
  const held: number[] = [];
  while (w.allocators.physical.freePages > k) held.push(w.allocFrames(1)!);
  return held;
}

describe("Whitix survivors: page tables made on demand", () => {
  it("a kernel table goes into every space as frame | P | RW (no US); a user table as frame | P | RW | US", () => {
    const { m, w } = boot();
    const other = w.createAddressSpace()!;
    const f = w.allocFrames(1)!;
    // 0xC0400000 is PDE 769 (0xC0400000 >>> 22 = 0x301), a table no one has yet.
    expect(m.ram.read32(w.reference.cr3 + 4 * 769)).toBe(0);
    expect(w.map(null, 0xc040_0000, f, 1, P | W)).toBe(true);
    const kpde = m.ram.read32(w.reference.cr3 + 4 * 769) & ~(PDE.A | PDE.D);
    expect(kpde & 0xfff).toBe(0x003);
    expect(m.ram.read32(other.cr3 + 4 * 769) & ~(PDE.A | PDE.D)).toBe(kpde);
    // The PTE: f | P | RW, entry 0 of the new table.
    expect(physPte(m, other.cr3, 0xc040_0000)! & ~(PDE.A | PDE.D)).toBe((f | 3) >>> 0);
    // A user table in the space that is not current (PDE 32 = 0x08000000 >>> 22): P | RW | US = 7.
    const g = w.allocFrames(1)!;
    expect(w.map(other, 0x0800_0000, g, 1, P | U)).toBe(true);
    expect(m.ram.read32(other.cr3 + 4 * 32) & 0xfff).toBe(0x007);
    expect(m.ram.read32(w.reference.cr3 + 4 * 32)).toBe(0);
    // And in the current one.
    expect(w.map(w.reference, 0x0800_0000, g, 1, P | U | W)).toBe(true);
    expect(m.ram.read32(w.reference.cr3 + 4 * 32) & 0x1ff & ~(PDE.A | PDE.D)).toBe(0x007);
  });

  it("zeroes a new table whose frame held garbage (current space and another one)", () => {
    const { m, w } = boot();
    const other = w.createAddressSpace()!;
    const page = w.allocFrames(1)!;
    // Take every frame, fill two with garbage and give only those back: the two tables come from them.
    const held = leave(w, 0);
    const dirty = held.slice(-2);
    for (const f of dirty) for (let i = 0; i < 1024; i++) m.ram.write32(f + 4 * i, 0xdead_beef);
    for (const f of dirty) w.freeFrames(f, 1);
    for (const [space, va] of [
      [w.reference, 0x0840_0000], // PDE 33, current
      [other, 0x0880_0000], // PDE 34, through temp slots
    ] as const) {
      expect(w.map(space, va, page, 1, P | U)).toBe(true);
      const table = (m.ram.read32(space.cr3 + 4 * (va >>> 22)) & FRAME) >>> 0;
      expect(dirty).toContain(table);
      const words = Array.from({ length: 1024 }, (_, i) => m.ram.read32(table + 4 * i));
      expect(words[0]! & ~(PDE.A | PDE.D)).toBe((page | 5) >>> 0);
      expect(words.slice(1).every((x) => x === 0)).toBe(true);
    }
  });

  it("a range across two missing tables with one frame left: false, both PDEs still 0, the frame back", () => {
    const { m, w } = boot();
    const other = w.createAddressSpace()!;
    const f = w.allocFrames(2)!;
    for (const space of [w.reference, other]) {
      const held = leave(w, 1);
      // 0x083FF000 + 2 pages: PTE 1023 of table 32 and PTE 0 of table 33: two tables, one frame.
      expect(w.map(space, 0x083f_f000, f, 2, P | U)).toBe(false);
      expect(m.ram.read32(space.cr3 + 4 * 32)).toBe(0);
      expect(m.ram.read32(space.cr3 + 4 * 33)).toBe(0);
      expect(w.allocators.physical.freePages).toBe(1);
      for (const h of held) w.freeFrames(h, 1);
    }
    // Kernel: tables 770 and 771 (0xC0BFF000 + 2 pages) missing in both directories.
    const held = leave(w, 1);
    expect(w.map(null, 0xc0bf_f000, f, 2, P | W)).toBe(false);
    for (const s of [w.reference, other])
      for (const r of [770, 771]) expect(m.ram.read32(s.cr3 + 4 * r)).toBe(0);
    expect(w.allocators.physical.freePages).toBe(1);
    for (const h of held) w.freeFrames(h, 1);
  });

  it("writes PTEs across a table boundary: phys + j * 4096 | flags, in this space and another", () => {
    const { m, w } = boot();
    const other = w.createAddressSpace()!;
    const phys = w.allocFrames(4)!;
    for (const space of [w.reference, other]) {
      // 0x083FE000: PTEs 1022 and 1023 of table 32, then 0 and 1 of table 33.
      expect(w.map(space, 0x083f_e000, phys, 4, P | U | W)).toBe(true);
      const vas = [0x083f_e000, 0x083f_f000, 0x0840_0000, 0x0840_1000];
      expect(vas.map((va) => physPte(m, space.cr3, va)! & ~(PDE.A | PDE.D))).toEqual(
        [0, 1, 2, 3].map((j) => (phys + j * 4096) | 7),
      );
      // The pages either side untouched.
      expect(physPte(m, space.cr3, 0x083f_d000)).toBe(0);
      expect(physPte(m, space.cr3, 0x0840_2000)).toBe(0);
    }
  });

  it("unmap invlpgs only the pages that were present, in the current space; none in another", () => {
    const { m, w } = boot();
    const other = w.createAddressSpace()!;
    const f = w.allocFrames(1)!;
    // Map the middle page of three (0xC0001000), touch it so the TLB holds it.
    w.map(null, 0xc000_1000, f, 1, P | W);
    w.read32(0xc000_1000, 0);
    const seen = flushes(m, () => w.unmap(null, 0xc000_0000, 3));
    expect(seen.invlpg).toEqual([0xc000_1000]);
    expect(physPte(m, w.reference.cr3, 0xc000_1000)).toBe(0);
    // Another space's user page: only temp slots are invlpg'd, never the page itself.
    w.map(other, 0x0800_0000, f, 1, P | U);
    const seen2 = flushes(m, () => w.unmap(other, 0x0800_0000, 1));
    expect(seen2.invlpg).not.toContain(0x0800_0000);
    for (const va of seen2.invlpg) expect(va >= 0xffbf_c000 && va < 0xffc0_0000).toBe(true);
    expect(physPte(m, other.cr3, 0x0800_0000)).toBe(0);
    // A remap of a present page in the current space invlpgs it (the old translation is stale).
    w.map(null, 0xc000_1000, f, 1, P | W);
    w.read32(0xc000_1000, 0);
    const g = w.allocFrames(1)!;
    m.ram.write32(g, 77);
    const seen3 = flushes(m, () => w.map(null, 0xc000_1000, g, 1, P | W));
    expect(seen3.invlpg).toEqual([0xc000_1000]);
    expect(w.read32(0xc000_1000, 0)).toBe(77);
  });
});

describe("Whitix survivors: Whitix's own calls, exact refusals", () => {
  it("VirtUnmapPhysPage of a page not mapped (no table; a table but no PTE): E_NOT_MAPPED naming it", () => {
    const { m, w } = boot();
    const free = w.allocators.physical.freePages;
    // 0xC0000000: table 768 missing.
    expectCode(() => w.VirtUnmapPhysPage(0xc000_0000), "E_NOT_MAPPED", {
      type: WhitixError,
      message: /^E_NOT_MAPPED: VirtUnmapPhysPage: 0xc0000000 is not mapped$/,
    });
    // Table 768 made by mapping 0xC0000000; 0xC0001000 has no PTE.
    const frame = w.VirtMapPhysPage(0xc000_0000, P | W)!;
    expect(physPte(m, w.reference.cr3, 0xc000_0000)! & ~(PDE.A | PDE.D)).toBe((frame | 3) >>> 0);
    expectCode(() => w.VirtUnmapPhysPage(0xc000_1000), "E_NOT_MAPPED", {
      message: /^E_NOT_MAPPED: VirtUnmapPhysPage: 0xc0001000 is not mapped$/,
    });
    expect(w.allocators.physical.freePages).toBe(free - 2);
    // A present PTE whose frame the allocator never handed out (0x00300000 is the kernel's
    // identity-mapped memory, not ppalloc's): refused, the mapping whole.
    w.map(null, 0xc000_2000, 0x0030_0000, 1, P | W);
    expect(() => w.VirtUnmapPhysPage(0xc000_2000)).toThrow();
    expect(physPte(m, w.reference.cr3, 0xc000_2000)! & FRAME).toBe(0x0030_0000);
    // The real one: PTE cleared, frame back (the table stays).
    const seen = flushes(m, () => w.VirtUnmapPhysPage(0xc000_0000));
    expect(seen.invlpg).toEqual([0xc000_0000]);
    expect(physPte(m, w.reference.cr3, 0xc000_0000)).toBe(0);
    expect(w.allocators.physical.freePages).toBe(free - 1);
  });

  it("VirtMapPhysPage out of frames (for the page; for its table): null, nothing kept", () => {
    const { m, w } = boot();
    const held = leave(w, 0);
    expect(w.VirtMapPhysPage(0xc000_0000, P | W)).toBeNull();
    w.freeFrames(held.pop()!, 1);
    // One frame: the page gets it, the table cannot: the page's frame goes back.
    expect(w.VirtMapPhysPage(0xc000_0000, P | W)).toBeNull();
    expect(w.allocators.physical.freePages).toBe(1);
    expect(m.ram.read32(w.reference.cr3 + 4 * 768)).toBe(0);
    for (const h of held) w.freeFrames(h, 1);
    expect(w.VirtMapPhysPage(0xc000_0000, P | W)).not.toBeNull();
  });

  it("VirtMemMapPage maps a user page in the current space, a kernel page everywhere", () => {
    const { m, w } = boot();
    const other = w.createAddressSpace()!;
    const f = w.allocFrames(1)!;
    expect(w.VirtMemMapPage(0x0800_0000, f, P | U)).toBe(true);
    expect(physPte(m, w.reference.cr3, 0x0800_0000)! & ~(PDE.A | PDE.D)).toBe((f | 5) >>> 0);
    expect(physPte(m, other.cr3, 0x0800_0000)).toBeNull();
    // 0xC0000000 exactly, the split: a kernel page, seen from the other space.
    expect(w.VirtMemMapPage(0xc000_0000, f, P | W)).toBe(true);
    expect(physPte(m, other.cr3, 0xc000_0000)! & ~(PDE.A | PDE.D)).toBe((f | 3) >>> 0);
    // 0xBFFFF000, the last user page: in the current space only.
    expect(w.VirtMemMapPage(0xbfff_f000, f, P | U)).toBe(true);
    expect(physPte(m, other.cr3, 0xbfff_f000)).toBeNull();
    expect(physPte(m, w.reference.cr3, 0xbfff_f000)! & FRAME).toBe(f);
  });

  it("VirtSetCurrent loads CR3 and the window then shows that space", () => {
    const { m, w } = boot();
    const other = w.createAddressSpace()!;
    w.VirtSetCurrent(other);
    expect(m.mmu.cr3).toBe(other.cr3);
    expect(w.current).toBe(other);
    expect((w.read32(0xffff_fffc, 0) & FRAME) >>> 0).toBe(other.cr3);
    w.VirtSetCurrent(w.reference);
    expect(m.mmu.cr3).toBe(w.reference.cr3);
  });

  it("allocFrames and allocKernelRegion refuse a bad count by name; freeKernelRegion names the range", () => {
    const { w } = boot();
    expectCode(() => w.allocFrames(0), "E_BAD_ARGUMENT", {
      type: PagingError,
      message: /^E_BAD_ARGUMENT: allocFrames: page count 0 must be a positive integer$/,
    });
    expectCode(() => w.allocKernelRegion(1.5), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: allocKernelRegion: page count 1\.5 must be a positive integer$/,
    });
    expect(w.allocFrames(1)).not.toBeNull();
    // Regions: [0xC0000000, 0xC0002000) then [0xC0002000, 0xC0003000): merged into one.
    expect(w.allocKernelRegion(2)).toBe(0xc000_0000);
    expect(w.allocKernelRegion(1)).toBe(0xc000_2000);
    expect(w.kernelRegions()).toEqual([[0xc000_0000, 0xc000_3000]]);
    // One page past the end of the region.
    expectCode(() => w.freeKernelRegion(0xc000_2000, 2), "E_NOT_REGION", {
      type: WhitixError,
      message:
        /^E_NOT_REGION: \[0xc0002000, 0xc0004000\) is not a kernel region allocKernelRegion handed out$/,
    });
    w.map(null, 0xc000_1000, w.allocFrames(1)!, 1, P | W);
    expectCode(() => w.freeKernelRegion(0xc000_0000, 3), "E_STILL_MAPPED", {
      message:
        /^E_STILL_MAPPED: kernel page 0xc0001000 of \[0xc0000000, 0xc0003000\) is still mapped$/,
    });
    expect(w.kernelRegions()).toEqual([[0xc000_0000, 0xc000_3000]]);
    // The last page alone, then the first: both ends of the interval.
    w.freeKernelRegion(0xc000_2000, 1);
    w.freeKernelRegion(0xc000_0000, 1);
    expect(w.kernelRegions()).toEqual([[0xc000_1000, 0xc000_2000]]);
    // The next region skips the reserved page: first fit finds 0xC0000000 (one page) ...
    expect(w.allocKernelRegion(1)).toBe(0xc000_0000);
    // ... and two pages only after the mapped, reserved 0xC0001000.
    expect(w.allocKernelRegion(2)).toBe(0xc000_2000);
  });
});

describe("Whitix survivors: address spaces, inspection and the free-PTE scan", () => {
  it("a new directory: identity and kernel PDEs copied, the user half zero, PDE 1023 = itself | P | RW", () => {
    const { m, w } = boot();
    // Leave one frame, dirty it: the new directory must be made of it, zeroed.
    const held = leave(w, 1);
    const dirty = w.allocFrames(1)!;
    for (let i = 0; i < 1024; i++) m.ram.write32(dirty + 4 * i, 0xdead_beef);
    w.freeFrames(dirty, 1);
    const s = w.createAddressSpace()!;
    expect(s.cr3).toBe(dirty);
    const ref = (r: number) => m.ram.read32(w.reference.cr3 + 4 * r) & ~(PDE.A | PDE.D);
    const pde = (r: number) => m.ram.read32(s.cr3 + 4 * r) & ~(PDE.A | PDE.D);
    expect([pde(0), pde(1)]).toEqual([ref(0), ref(1)]);
    for (let r = 2; r < 768; r++) expect(pde(r)).toBe(0);
    for (let r = 768; r < 1023; r++) expect(pde(r)).toBe(ref(r));
    expect(pde(1022)).not.toBe(0); // the temp slots' table, shared
    expect(pde(1023)).toBe((s.cr3 | 3) >>> 0);
    // No frame left: null, nothing kept, the temp slots empty.
    expect(w.createAddressSpace()).toBeNull();
    expect(w.addressSpaces()).toEqual([w.reference, s]);
    for (let k = 0; k < 4; k++) expect(physPte(m, w.reference.cr3, 0xffbf_c000 + k * 4096)).toBe(0);
    for (const h of held) w.freeFrames(h, 1);
  });

  it("destroyAddressSpace frees user tables 2 and 767 (both ends of the user half) and the directory", () => {
    const { m, w } = boot();
    const s = w.createAddressSpace()!;
    const f = w.allocFrames(1)!;
    // 0x00800000 is PDE 2, the first user table; 0xBFC00000 is PDE 767, the last.
    w.map(s, 0x0080_0000, f, 1, P | U);
    w.map(s, 0xbfc0_0000, f, 1, P | U);
    w.map(null, 0xc000_0000, f, 1, P | W); // table 768: shared, stays
    const t2 = (m.ram.read32(s.cr3 + 8) & FRAME) >>> 0;
    const t767 = (m.ram.read32(s.cr3 + 4 * 767) & FRAME) >>> 0;
    const free = w.allocators.physical.freePages;
    w.destroyAddressSpace(s);
    expect(w.allocators.physical.freePages).toBe(free + 3);
    // The three frames are free again: taking every free frame takes them.
    const all = new Set(leave(w, 0));
    for (const frame of [s.cr3, t2, t767]) expect(all.has(frame)).toBe(true);
    expect(m.ram.read32(w.reference.cr3 + 4 * 768) & PDE.P).toBe(PDE.P);
  });

  it("refuses to destroy the kernel directory, the current space, a destroyed or foreign one, naming them", () => {
    const { m, w } = boot();
    const s = w.createAddressSpace()!;
    const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
    expectCode(() => w.destroyAddressSpace(w.reference), "E_INIT_PAGEDIR", {
      type: PagingError,
      message: new RegExp(
        `^E_INIT_PAGEDIR: the kernel directory \\(${hex(w.reference.cr3)}\\) holds the kernel half's master copy$`,
      ),
    });
    w.switchTo(s);
    expectCode(() => w.destroyAddressSpace(s), "E_CURRENT", {
      message: new RegExp(
        `^E_CURRENT: address space ${hex(s.cr3)} is loaded in CR3; switch away first$`,
      ),
    });
    w.switchTo(w.reference);
    w.destroyAddressSpace(s);
    expectCode(() => w.destroyAddressSpace(s), "E_DESTROYED", {
      message: new RegExp(`^E_DESTROYED: address space ${hex(s.cr3)} was destroyed$`),
    });
    const foreign = boot().w.createAddressSpace()!;
    expectCode(() => w.destroyAddressSpace(foreign), "E_NOT_PAGEDIR", {
      message: /is not an address space of this Whitix$/,
    });
    expect(m.mmu.cr3).toBe(w.reference.cr3);
  });

  it("a user range needs a space; a kernel range ignores it but checks it", () => {
    const { w } = boot();
    const s = w.createAddressSpace()!;
    expectCode(() => w.map(null, 0x0800_0000, 0x0030_0000, 1, P | U), "E_NO_PAGEDIR", {
      message: /^E_NO_PAGEDIR: user address 0x08000000 needs an address space$/,
    });
    // 0xBFFFF000, the last user page, needs one too; 0xC0000000 does not.
    expectCode(() => w.unmap(null, 0xbfff_f000, 1), "E_NO_PAGEDIR");
    expect(w.map(s, 0xc000_0000, 0x0030_0000, 1, P | W)).toBe(true);
    expect(w.translate(0xc000_0000).pa).toBe(0x0030_0000); // in the kernel half of every space
    w.destroyAddressSpace(s);
    expectCode(() => w.map(s, 0xc000_1000, 0x0030_0000, 1, P | W), "E_DESTROYED");
  });

  it("probe: CPL 0 or 3 only, va inside 4 GiB, and CR3 back after probing another space", () => {
    const { m, w } = boot();
    const s = w.createAddressSpace()!;
    const f = w.allocFrames(1)!;
    m.ram.write32(f, 0x600d);
    w.map(s, 0x0800_0000, f, 1, P | U);
    expect(w.probe(0x0800_0000, 3, s)).toBe(0x600d);
    expect(m.mmu.cr3).toBe(w.reference.cr3);
    expect(w.current).toBe(w.reference);
    expectCode(() => w.probe(0x0800_0000, 1 as 0, s), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: CPL 1 is not 0 or 3$/,
    });
    expectCode(() => w.probe(2 ** 32, 0), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: virtual address 0x100000000 is not inside 4 GiB$/,
    });
    expectCode(() => w.probe(-1, 0), "E_BAD_ARGUMENT");
    // The last byte of 4 GiB is inside: the directory's last word, PDE 1023.
    expect((w.probe(0xffff_fffc, 0) & FRAME) >>> 0).toBe(w.reference.cr3);
    // A probe that faults still puts CR3 back.
    expect(() => w.probe(0x0800_1000, 3, s)).toThrow();
    expect(m.mmu.cr3).toBe(w.reference.cr3);
  });

  it("explain names the window for the current space, the shared table or VirtAllocateTemp for another", () => {
    const { w } = boot();
    const s = w.createAddressSpace()!;
    const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
    // 0x00100000 in another space: table 0 is shared; its PTE at 0xFFC00000 + 0x100 * 4.
    expect(w.explain(0x0010_0000, s)).toContain(
      `a shared table: Whitix reads the PTE at 0xffc00400 in any space; the PDE of this space through VirtAllocateTemp of its directory ${hex(s.cr3)}`,
    );
    // 0xC0000000 (table 768) is shared too: PTE at 0xFFF00000.
    expect(w.explain(0xc000_0000, s)).toContain("reads the PTE at 0xfff00000 in any space");
    // 0x00800000 (table 2, the first user one) and 0xBFFFF000 (table 767) are not.
    for (const va of [0x0080_0000, 0xbfff_f000])
      expect(w.explain(va, s)).toContain(
        `not the current space: Whitix reaches its directory ${hex(s.cr3)} and this table through VirtAllocateTemp`,
      );
    // The current space: 0xBFFFF000's PDE at 0xFFFFF000 + 767 * 4 = 0xFFFFFBFC, PTE at 0xFFC00000 + 0xBFFFF * 4 = 0xFFEFFFFC.
    expect(w.explain(0xbfff_f000)).toContain(
      "Whitix reads this PDE at 0xfffffbfc and the PTE at 0xffeffffc (the recursive window of the current space)",
    );
  });

  it("the free-PTE scan: a missing table counts up to a reserved region, not past it", () => {
    const { w } = boot();
    // Reserve 0xC0000000-0xC0003000, give back its first and last page: 0xC0001000 stays reserved.
    expect(w.allocKernelRegion(3)).toBe(0xc000_0000);
    w.freeKernelRegion(0xc000_0000, 1);
    w.freeKernelRegion(0xc000_2000, 1);
    expect(w.kernelRegions()).toEqual([[0xc000_1000, 0xc000_2000]]);
    const range = (end: number, n: number) => w.VirtMapPhysRange(0xc000_0000, end, n, P | W);
    // Table 768 is missing. One free page before the reserved one: two must start after it.
    expect(range(0xc000_4000, 2)).toBe(0xc000_2000);
    // [0xC0000000, 0xC0003000): one free page either side of the reserved one; 2 do not fit.
    expect(range(0xc000_3000, 2)).toBeNull();
    // Now table 768 exists: PTEs 2 and 3 mapped. One page fits at 0xC0000000.
    expect(range(0xc000_4000, 1)).toBe(0xc000_0000);
    // [0xC0000000, 0xC0004000) has no free page left (0 mapped, 1 reserved, 2 and 3 mapped).
    expect(range(0xc000_4000, 1)).toBeNull();
    // From 0xC03FF000, the last PTE of table 768, into table 769 (missing): the run starts there.
    expect(w.VirtMapPhysRange(0xc03f_f000, 0xc040_2000, 3, P | W)).toBe(0xc03f_f000);
    expect(w.translate(0xc040_1000).pa).not.toBeNull();
    expect(w.translate(0xc040_2000).pa).toBeNull();
  });
});

describe("Whitix survivors: the second slice's last survivors (whitix.ts 251-530)", () => {
  it("VirtMapPhysRange with no free run takes no frame and writes no PTE", () => {
    const { m, w } = boot();
    const H = WHITIX.HEAP_START;
    expect(w.VirtMapPhysRange(H, H + 0x1000, 1, P | W)).toBe(H);
    const free = w.allocators.physical.freePages;
    const pte0 = physPte(m, w.reference.cr3, 0);
    expect(w.VirtMapPhysRange(H, H + 0x1000, 1, P | W)).toBeNull();
    expect(w.allocators.physical.freePages).toBe(free);
    expect(physPte(m, w.reference.cr3, 0)).toBe(pte0);
  });

  it("allocKernelRegion on a full heap: null, the regions unchanged", () => {
    const { w } = boot();
    // 0xC0000000-0xD0000000 is 0x10000000 bytes: 65,536 pages.
    expect(w.allocKernelRegion(65_536)).toBe(0xc000_0000);
    expect(w.allocKernelRegion(1)).toBeNull();
    expect(w.kernelRegions()).toEqual([[0xc000_0000, 0xd000_0000]]);
  });

  it("VirtMapPhysPage: a user page's table is the current space's (US); at 0xC0000000 a kernel table in every space", () => {
    const { m, w } = boot();
    const other = w.createAddressSpace()!;
    expect(w.VirtMapPhysPage(0x0800_0000, P | U | W)).not.toBeNull();
    expect(m.ram.read32(w.reference.cr3 + 4 * 32) & 0x007).toBe(0x007);
    expect(m.ram.read32(other.cr3 + 4 * 32)).toBe(0);
    // The split itself is kernel: PDE 768 without US, the same word in both directories.
    expect(w.VirtMapPhysPage(0xc000_0000, P | W)).not.toBeNull();
    const k = m.ram.read32(w.reference.cr3 + 4 * 768) & ~(PDE.A | PDE.D);
    expect(k & 0x007).toBe(0x003);
    expect(m.ram.read32(other.cr3 + 4 * 768) & ~(PDE.A | PDE.D)).toBe(k);
  });
});

describe("Whitix survivors: the third slice (whitix.ts 531-1008: the checks, boot, the page source)", () => {
  it("boots the default image as drawn: D at 0x00200000, T0 T1 Ttemp after it, every other PDE 0", () => {
    const m = createMachine({ ramBytes: 10 * MiB });
    const w = VirtMemManagerInit(m);
    // 0x00100000 + 0x80000 code + 0x80000 data = 0x00200000: the directory, then three tables.
    const D = 0x0020_0000;
    expect(w.reference.cr3).toBe(D);
    expect(m.mmu.cr3).toBe(D);
    expect(w.kernelCode).toEqual({ start: 0x0010_0000, end: 0x0018_0000 });
    // CR0: PE (bit 0), WP (bit 16), PG (bit 31) set.
    expect(m.mmu.cr0 & 0x8001_0001).toBe(0x8001_0001 | 0);
    const pde = (r: number) => m.ram.read32(D + 4 * r) & ~(PDE.A | PDE.D);
    expect([pde(0), pde(1), pde(1022), pde(1023)]).toEqual([
      0x0020_1003, 0x0020_2003, 0x0020_3003, 0x0020_0003,
    ]);
    for (let r = 2; r < 1022; r++) if (pde(r) !== 0) expect(`PDE ${r}`).toBe("0");
    // The identity PTEs, physically: page 0xFF (below the code) RW, 0x100 and 0x17F (the code)
    // read-only, 0x180 (the first data page) RW, 0x7FF (the last of T1) RW.
    const pte = (page: number) => m.ram.read32(0x0020_1000 + 4 * page) & ~(PDE.A | PDE.D);
    expect([0x0ff, 0x100, 0x17f, 0x180, 0x7ff].map(pte)).toEqual([
      0x000f_f003, 0x0010_0001, 0x0017_f001, 0x0018_0003, 0x007f_f003,
    ]);
    // The temp table is empty; the boot tables are not free frames.
    for (let i = 0; i < 1024; i++) if (m.ram.read32(0x0020_3000 + 4 * i) !== 0) expect(i).toBe(-1);
    const all = new Set(leave(w, 0));
    for (const f of [D, 0x0020_1000, 0x0020_2000, 0x0020_3000, 0x0010_0000, 0x001f_f000])
      expect(all.has(f)).toBe(false);
    expect(all.has(0x0020_4000)).toBe(true); // the first frame after the boot tables
  });

  it("boots a one-page image and an image whose boot tables end exactly at 8 MiB; refuses a page more", () => {
    // kernelCode 4096: code page 0x00100000 read-only, 0x00101000 (data) writable.
    const m = createMachine({ ramBytes: 10 * MiB });
    const w = VirtMemManagerInit(m, { kernelCode: 4096, kernelData: 4096 });
    expect(w.kernelCode).toEqual({ start: 0x0010_0000, end: 0x0010_1000 });
    expect(w.reference.cr3).toBe(0x0010_2000);
    expect(physPte(m, w.reference.cr3, 0x0010_1000)! & 0xfff & ~(PDE.A | PDE.D)).toBe(3);
    // 0x00100000 + 0x6FC000 + 0 + 4 pages = 0x00800000: fits.
    const big = createMachine({ ramBytes: 10 * MiB });
    expect(
      VirtMemManagerInit(big, { kernelCode: 0x006f_b000, kernelData: 0x1000 }).reference.cr3,
    ).toBe(0x007f_c000);
    expectCode(
      () => VirtMemManagerInit(createMachine({ ramBytes: 10 * MiB }), { kernelCode: 0x006f_c000 }),
      "E_BAD_CONFIG",
      {
        type: PagingError,
        message:
          /^E_BAD_CONFIG: the kernel image \(0x0077c000 bytes\) and the boot tables do not fit below 0x00800000$/,
      },
    );
  });

  it("boots in RAM that ends exactly after the boot tables; refuses a byte less, naming both ends", () => {
    // Default image: the boot tables end at 0x00204000.
    const w = VirtMemManagerInit(createMachine({ ramBytes: 0x0020_4000 }));
    expect(w.reference.cr3).toBe(0x0020_0000);
    expect(w.allocFrames(1)).toBeNull(); // every frame is the first MiB, the image or a table
    expectCode(() => VirtMemManagerInit(createMachine({ ramBytes: 0x0020_3000 })), "E_BAD_CONFIG", {
      message:
        /^E_BAD_CONFIG: the kernel image and boot tables end at 0x00204000, past the end of RAM at 0x00203000$/,
    });
  });

  it("refuses bad options by name before touching RAM", () => {
    const cases: [unknown, RegExp][] = [
      [null, /^E_BAD_CONFIG: Whitix options null are not an object$/],
      [[], /^E_BAD_CONFIG: Whitix options .* are not an object$/],
      [
        { kernelCode: 0 },
        /^E_BAD_CONFIG: kernelCode 0x00000000 must be a positive multiple of the page size$/,
      ],
      [
        { kernelData: 0x1800 },
        /^E_BAD_CONFIG: kernelData 0x00001800 must be a positive multiple of the page size$/,
      ],
      [{ kernelCode: 4095 }, /^E_BAD_CONFIG: kernelCode 0x00000fff must be a positive multiple/],
      [{ rangeAllocator: 5 }, /^E_BAD_CONFIG: rangeAllocator 5 is not a function$/],
    ];
    for (const [options, message] of cases) {
      const m = createMachine({ ramBytes: 10 * MiB });
      m.ram.write32(0x0020_0000, 0xdead_beef);
      expectCode(() => VirtMemManagerInit(m, options as never), "E_BAD_CONFIG", { message });
      expect(m.ram.read32(0x0020_0000)).toBe(0xdead_beef);
      expect(m.mmu.pagingEnabled).toBe(false);
    }
    const m = createMachine({ ramBytes: 10 * MiB });
    VirtMemManagerInit(m);
    expectCode(() => VirtMemManagerInit(m), "E_BAD_CONFIG", {
      message: /^E_BAD_CONFIG: paging is already on$/,
    });
  });

  it("the range checks at their edges: 8 MiB and the temp slots, the end of RAM, an empty or exact range", () => {
    const { w } = boot(); // 10 MiB: the last frame is 0x009FF000
    const f = w.allocFrames(1)!;
    const s = w.createAddressSpace()!;
    // The first user page is 0x00800000 (IDENTITY_END); 0x007FF000 is the identity map.
    expect(w.map(s, 0x0080_0000, f, 1, P | U)).toBe(true);
    expectCode(() => w.map(s, 0x007f_f000, f, 1, P | U), "E_RESERVED_VA", {
      type: WhitixError,
      message:
        /^E_RESERVED_VA: map: 0x007ff000 is in the identity map of the first 8 MiB \(user memory starts at 0x00800000\)$/,
    });
    // The last kernel page is 0xFFBFB000 (its end is TEMP_BASE); 0xFFBFC000 is slot 0.
    expect(w.map(null, 0xffbf_b000, f, 1, P | W)).toBe(true);
    expectCode(() => w.map(null, 0xffbf_c000, f, 1, P | W), "E_RESERVED_VA", {
      message:
        /^E_RESERVED_VA: map: \[0xffbfc000, 0xffbfd000\) reaches the temp slots and the recursive window from 0xffbfc000$/,
    });
    // Physical: the last frame of 10 MiB maps; two frames from it run past RAM.
    expect(w.map(null, 0xc000_0000, 0x009f_f000, 1, P | W)).toBe(true);
    expectCode(() => w.map(null, 0xc000_0000, 0x009f_f000, 2, P | W), "E_PAST_RAM", {
      message:
        /^E_PAST_RAM: map: physical \[0x009ff000, \+2 pages\) runs past the end of RAM at 0x00a00000$/,
    });
    // VirtMapPhysRange: n equal to the range's pages fits; one more does not; an empty range.
    const H = 0xc010_0000;
    expect(w.VirtMapPhysRange(H, H + 0x2000, 2, P | W)).toBe(H);
    expectCode(() => w.VirtMapPhysRange(H, H + 0x2000, 3, P | W), "E_BAD_ARGUMENT", {
      message:
        /^E_BAD_ARGUMENT: VirtMapPhysRange: 3 pages do not fit in \[0xc0100000, 0xc0102000\)$/,
    });
    expectCode(() => w.VirtMapPhysRange(H, H, 1, P | W), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: VirtMapPhysRange: \[0xc0100000, 0xc0100000\) is empty$/,
    });
    // An end of exactly 4 GiB is an address (then too high for Whitix); 4 GiB + 4096 is not.
    expectCode(() => w.VirtMapPhysRange(0xffff_f000, 2 ** 32, 1, P | W), "E_RESERVED_VA", {
      message:
        /^E_RESERVED_VA: VirtMapPhysRange: \[0xfffff000, 0x100000000\) reaches the temp slots/,
    });
    expectCode(() => w.VirtMapPhysRange(0xffff_f000, 2 ** 32 + 4096, 1, P | W), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: VirtMapPhysRange: end 0x100001000 is not a page-aligned address$/,
    });
    expectCode(() => w.VirtMapPhysRange(H + 1, H + 0x2000, 1, P | W), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: VirtMapPhysRange: start 0xc0100001 is not a page-aligned address$/,
    });
    // A frame at the end of RAM for VirtAllocateTemp; a count of 0 for allocFrames.
    expectCode(() => w.VirtAllocateTemp(2 ** 32), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: VirtAllocateTemp: 0x100000000 is not a physical address$/,
    });
  });

  it("translate reads the space asked for; destroy takes a space out of the list, the others in order", () => {
    const { m, w } = boot();
    const [a, b, c] = [w.createAddressSpace()!, w.createAddressSpace()!, w.createAddressSpace()!];
    const f = w.allocFrames(1)!;
    w.map(b, 0x0080_0000, f, 1, P | U);
    expect(w.translate(0x0080_0000, b).pa).toBe(f);
    expect(w.translate(0x0080_0000).pa).toBeNull(); // the current one: the kernel directory
    expect(w.translate(0x0080_0123, b).pa).toBe(f + 0x123);
    expect(w.addressSpaces()).toEqual([w.reference, a, b, c]);
    w.destroyAddressSpace(b);
    expect(w.addressSpaces()).toEqual([w.reference, a, c]);
    expect(b.destroyed).toBe(true);
    expect(a.destroyed).toBe(false);
    expect(m.mmu.cr3).toBe(w.reference.cr3);
  });

  it("clears the boot tables' frames of whatever RAM held, and uses the range allocator it is given", () => {
    const m = createMachine({ ramBytes: 10 * MiB });
    // Garbage where the directory and the three tables go (0x00200000-0x00204000).
    for (let a = 0x0020_0000; a < 0x0020_4000; a += 4) m.ram.write32(a, 0xdead_beef);
    const calls: number[][] = [];
    const w = VirtMemManagerInit(m, {
      rangeAllocator: (base, count) => {
        calls.push([base, count]);
        return firstFitRanges(base, count);
      },
    });
    expect(calls.length).toBeGreaterThan(0);
    for (let r = 2; r < 1022; r++)
      if (m.ram.read32(0x0020_0000 + 4 * r) !== 0) expect(`PDE ${r}`).toBe("0");
    for (let i = 0; i < 1024; i++) if (m.ram.read32(0x0020_3000 + 4 * i) !== 0) expect(i).toBe(-1);
    // The window works on the cleared directory: PDE 1023 read through 0xFFFFFFFC.
    expect((w.read32(0xffff_fffc, 0) & FRAME) >>> 0).toBe(0x0020_0000);
  });

  it("probe of the current space loads CR3 not at all; of another, twice (there and back)", () => {
    const { m, w } = boot();
    const s = w.createAddressSpace()!;
    const f = w.allocFrames(1)!;
    m.ram.write32(f, 0x77);
    w.map(s, 0x0080_0000, f, 1, P | U);
    const here = flushes(m, () => expect(w.probe(0x0010_0000, 0)).toBe(m.ram.read32(0x0010_0000)));
    expect(here.cr3).toBe(0);
    const there = flushes(m, () => expect(w.probe(0x0080_0000, 3, s)).toBe(0x77));
    expect(there.cr3).toBe(2);
    expect(w.current).toBe(w.reference);
  });

  it("undefined is no space (like null), 0 is an address and a frame, -4096 a bad start named as it is", () => {
    const { w } = boot();
    const f = w.allocFrames(1)!;
    // A kernel range takes undefined as it takes null; a user range needs a space.
    expect(w.map(undefined as never, 0xc000_0000, f, 1, P | W)).toBe(true);
    w.unmap(undefined as never, 0xc000_0000, 1);
    expectCode(() => w.map(undefined as never, 0x0080_0000, f, 1, P | U), "E_NO_PAGEDIR", {
      message: /^E_NO_PAGEDIR: user address 0x00800000 needs an address space$/,
    });
    // Address 0 is identity-mapped (PTE 0 = 0x00000003) and frame 0 can go in a temp slot.
    expect(w.translate(0).pa).toBe(0);
    expect(w.VirtAllocateTemp(0)).toBe(WHITIX.TEMP_BASE);
    // VirtMapPhysRange from 0: an address, refused as the identity map, not as a bad start.
    expectCode(() => w.VirtMapPhysRange(0, 0x1000, 1, P | W), "E_RESERVED_VA", {
      message: /^E_RESERVED_VA: VirtMapPhysRange: 0x00000000 is in the identity map/,
    });
    expectCode(() => w.VirtMapPhysRange(-4096, 0x1000, 1, P | W), "E_BAD_ARGUMENT", {
      message: /^E_BAD_ARGUMENT: VirtMapPhysRange: start -4096 is not a page-aligned address$/,
    });
  });

  it("the page source: its name, the heap's last page, and a run with a hole refused whole", () => {
    const { m, w } = boot();
    const src = whitixPageSource(w);
    expect(src.name).toBe("Whitix VirtMapPhysRange(0xC0000000, 0xD0000000)");
    // The heap's last page, 0xCFFFF000 (its end is HEAP_END): a run of one.
    const last = 0xcfff_f000;
    expect(w.VirtMapPhysRange(last, 0xd000_0000, 1, P | W)).toBe(last);
    const free = w.allocators.physical.freePages;
    src.freePages(last, 1);
    expect(w.allocators.physical.freePages).toBe(free + 1);
    expect(physPte(m, w.reference.cr3, last)).toBe(0);
    // Outside the heap, unaligned, a bad count: each named.
    for (const [va, n, message] of [
      [
        0xbfff_f000,
        1,
        /^E_BAD_ARGUMENT: freePages: \[0xbffff000, \+1 pages\) is not a page run of the kernel heap \[0xc0000000, 0xd0000000\)$/,
      ],
      [last, 2, /^E_BAD_ARGUMENT: freePages: \[0xcffff000, \+2 pages\) is not a page run/],
      [0xc000_0800, 1, /^E_BAD_ARGUMENT: freePages: \[0xc0000800, \+1 pages\) is not a page run/],
      [0xc000_0000, 0, /^E_BAD_ARGUMENT: freePages: page count 0 must be a positive integer$/],
    ] as const)
      expectCode(() => src.freePages(va, n), "E_BAD_ARGUMENT", { type: PagingError, message });
    // Pages 0 and 2 of a run mapped, page 1 not: refused naming page 1, page 0 still mapped.
    const a = src.allocPages(3)!;
    expect(a).toBe(0xc000_0000);
    w.VirtUnmapPhysPage(a + 0x1000);
    const held = w.allocators.physical.freePages;
    expectCode(() => src.freePages(a, 3), "E_NOT_MAPPED", {
      type: WhitixError,
      message: /^E_NOT_MAPPED: freePages: 0xc0001000 is not mapped$/,
    });
    expect(w.allocators.physical.freePages).toBe(held);
    expect(w.translate(a).pa).not.toBeNull();
    expect(w.translate(a + 0x2000).pa).not.toBeNull();
  });
});
