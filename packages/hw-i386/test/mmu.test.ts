import { describe, expect, it } from "vitest";
import {
  CR0,
  CR4,
  HwError,
  Mmu,
  type MmuEvent,
  PDE,
  PhysicalMemory,
  PTE,
  SetAssociativeTlb,
  explainAddress,
  formatWalk,
} from "../src/index.js";
import { faultOf } from "../src/testing.js";

const PD = 0x1000;

/** A machine whose page directory at 0x1000 has one page table per 4 MiB region used. */
function machine(opts: { tlb?: SetAssociativeTlb; cr4?: number; wp?: boolean } = {}) {
  const ram = new PhysicalMemory();
  const mmu = new Mmu(ram, opts.tlb ? { tlb: opts.tlb } : {});
  let nextTable = 0x10_0000;
  /** Map the 4 KiB page at `va` to `pa` with `flags` (PDE gets P|RW|US). */
  const map = (va: number, pa: number, flags: number) => {
    const pdeAddr = PD + 4 * (va >>> 22);
    let pde = ram.read32(pdeAddr);
    if (!(pde & PDE.P)) {
      pde = nextTable | PDE.P | PDE.RW | PDE.US;
      nextTable += 0x1000;
      ram.write32(pdeAddr, pde);
    }
    const pteAddr = (pde & ~0xfff) + 4 * ((va >>> 12) & 0x3ff);
    ram.write32(pteAddr >>> 0, (pa | flags) >>> 0);
    return pteAddr >>> 0;
  };
  const on = () => {
    mmu.loadCr4(opts.cr4 ?? 0);
    mmu.loadCr3(PD);
    mmu.loadCr0(CR0.PE | CR0.PG | (opts.wp ? CR0.WP : 0));
  };
  return { ram, mmu, map, on };
}

describe("paging off", () => {
  it("treats linear addresses as physical and touches no TLB", () => {
    const { ram, mmu } = machine();
    mmu.write32(0x1234, 0xabcd);
    expect(ram.read32(0x1234)).toBe(0xabcd);
    expect(mmu.read16(0x1234)).toBe(0xabcd);
    expect(mmu.stats.walks).toBe(0);
    expect(mmu.tlb.entries()).toEqual([]);
  });

  it("refuses PG without PE, and reserved CR bits, leaving registers as they were", () => {
    const { mmu } = machine();
    expect(() => mmu.loadCr0(CR0.PG)).toThrow(/PG without PE/);
    expect(() => mmu.loadCr4(0x20)).toThrow(/0x00000020/);
    expect(() => mmu.loadCr0(0x0000_8000)).toThrow(/reserved/);
    expect(mmu.cr0).toBe(0);
    expect(mmu.cr4).toBe(0);
    expect(mmu.pagingEnabled).toBe(false);
  });
});

describe("TLB behaviour", () => {
  it("misses, walks once, then hits", () => {
    const { ram, mmu, map, on } = machine();
    map(0x0040_0000, 0x9000, PTE.P | PTE.RW);
    ram.write32(0x9010, 42);
    on();
    expect(mmu.read32(0x0040_0010)).toBe(42);
    expect(mmu.stats).toMatchObject({ tlbMisses: 1, tlbHits: 0, walks: 1 });
    expect(mmu.read32(0x0040_0014)).toBe(0);
    expect(mmu.stats).toMatchObject({ tlbMisses: 1, tlbHits: 1, walks: 1 });
  });

  it("keeps using a stale translation after a PTE edit until invlpg", () => {
    const { ram, mmu, map, on } = machine();
    const pteAddr = map(0x5000, 0x7000, PTE.P | PTE.RW);
    ram.write32(0x7000, 1);
    ram.write32(0x8000, 2);
    on();
    expect(mmu.read32(0x5000)).toBe(1);
    ram.write32(pteAddr, 0x8000 | PTE.P | PTE.RW);
    expect(mmu.read32(0x5000)).toBe(1); // stale, as on real hardware
    mmu.invlpg(0x5abc);
    expect(mmu.read32(0x5000)).toBe(2);
  });

  it("keeps using a stale translation after the PTE is cleared (no fault) until invlpg", () => {
    const { ram, mmu, map, on } = machine();
    const pteAddr = map(0x5000, 0x7000, PTE.P | PTE.RW);
    on();
    mmu.write32(0x5000, 9);
    ram.write32(pteAddr, 0);
    expect(mmu.read32(0x5000)).toBe(9);
    mmu.invlpg(0x5000);
    expect(faultOf(() => mmu.read32(0x5000)).errorCode).toBe(0);
  });

  it("a CR3 load drops non-global entries and keeps global ones while CR4.PGE=1", () => {
    const { ram, mmu, map, on } = machine({ cr4: CR4.PGE });
    const g = map(0xc000_0000, 0x7000, PTE.P | PTE.RW | PTE.G);
    const n = map(0x0000_1000, 0x8000, PTE.P | PTE.RW);
    on();
    mmu.read32(0xc000_0000);
    mmu.read32(0x0000_1000);
    ram.write32(g, 0);
    ram.write32(n, 0);
    mmu.loadCr3(PD);
    expect(mmu.read32(0xc000_0000)).toBe(0); // global entry survived
    expect(faultOf(() => mmu.read32(0x1000)).cr2).toBe(0x1000);
  });

  it("G is ignored while CR4.PGE=0", () => {
    const { ram, mmu, map, on } = machine();
    const g = map(0xc000_0000, 0x7000, PTE.P | PTE.RW | PTE.G);
    on();
    mmu.read32(0xc000_0000);
    ram.write32(g, 0);
    mmu.loadCr3(PD);
    expect(faultOf(() => mmu.read32(0xc000_0000)).errorCode).toBe(0);
  });

  it("changing CR4.PGE flushes global entries too; rewriting the same CR4 does not", () => {
    const { ram, mmu, map, on } = machine({ cr4: CR4.PGE });
    const g = map(0xc000_0000, 0x7000, PTE.P | PTE.RW | PTE.G);
    on();
    mmu.read32(0xc000_0000);
    ram.write32(g, 0);
    mmu.loadCr4(CR4.PGE);
    expect(mmu.read32(0xc000_0000)).toBe(0);
    mmu.loadCr4(0);
    expect(faultOf(() => mmu.read32(0xc000_0000)).errorCode).toBe(0);
  });

  it("invlpg drops a global entry", () => {
    const { ram, mmu, map, on } = machine({ cr4: CR4.PGE });
    const g = map(0xc000_0000, 0x7000, PTE.P | PTE.RW | PTE.G);
    on();
    mmu.read32(0xc000_0000);
    ram.write32(g, 0);
    mmu.invlpg(0xc000_0000);
    expect(faultOf(() => mmu.read32(0xc000_0000)).errorCode).toBe(0);
  });

  it("a fault drops the entry for its address, so a fixed PTE is seen on retry", () => {
    const { ram, mmu, map, on } = machine();
    const pteAddr = map(0x5000, 0x7000, PTE.P | PTE.US); // read-only, user
    on();
    expect(mmu.read32(0x5000, 3)).toBe(0);
    ram.write32(pteAddr, 0x7000 | PTE.P | PTE.US | PTE.RW); // made writable, no invlpg
    // The cached entry is read-only: the write faults (a spurious fault) and drops it...
    expect(faultOf(() => mmu.write32(0x5000, 1, 3)).errorCode).toBe(PTE.P | 2 | 4);
    expect(mmu.tlb.lookup(5)).toBeUndefined();
    // ...so the retry walks and succeeds, as a kernel's fault handler expects.
    mmu.write32(0x5000, 1, 3);
    expect(ram.read32(0x7000)).toBe(1);
  });

  it("a write through a clean cached entry walks again and sets D", () => {
    const { ram, mmu, map, on } = machine();
    const pteAddr = map(0x5000, 0x7000, PTE.P | PTE.RW);
    on();
    mmu.read32(0x5000);
    expect(ram.read32(pteAddr) & PTE.D).toBe(0);
    expect(mmu.stats.walks).toBe(1);
    mmu.write32(0x5000, 3);
    expect(ram.read32(pteAddr) & (PTE.A | PTE.D)).toBe(PTE.A | PTE.D);
    expect(mmu.stats.walks).toBe(2);
    mmu.write32(0x5004, 4); // now dirty in the TLB: no walk
    expect(mmu.stats.walks).toBe(2);
  });

  it("a bounded TLB evicts and walks again", () => {
    const tlb = new SetAssociativeTlb({ entries: 2, ways: 2 });
    const { mmu, map, on } = machine({ tlb });
    for (let i = 0; i < 3; i++) map(0x1000 * (i + 1), 0x7000 + 0x1000 * i, PTE.P | PTE.RW);
    on();
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 3; i++) mmu.read32(0x1000 * (i + 1));
    expect(mmu.stats.tlbMisses).toBe(6); // LRU with 3 pages in 2 ways: always a miss
    expect(tlb.entries().length).toBe(2);
  });
});

describe("4 MiB pages", () => {
  it("set A and D in the PDE and translate with the 22-bit offset", () => {
    const { ram, mmu, on } = machine({ cr4: CR4.PSE });
    ram.write32(PD + 4 * 2, 0x0140_0000 | PDE.P | PDE.RW | PDE.PS);
    ram.write32(0x0145_6788, 77);
    on();
    expect(mmu.read32(0x0085_6788)).toBe(77);
    expect(ram.read32(PD + 8) & (PDE.A | PDE.D)).toBe(PDE.A);
    mmu.write32(0x0085_6788, 78);
    expect(ram.read32(PD + 8) & (PDE.A | PDE.D)).toBe(PDE.A | PDE.D);
    expect(ram.read32(0x0145_6788)).toBe(78);
  });

  it("fault with RSVD when bits 21:13 are set (MAXPHYADDR = 32)", () => {
    const { ram, mmu, on } = machine({ cr4: CR4.PSE });
    ram.write32(PD, 0x0000_2000 | PDE.P | PDE.RW | PDE.PS);
    on();
    expect(faultOf(() => mmu.write32(0x10, 1, 3)).errorCode).toBe(1 | 2 | 4 | 8);
    expect(ram.read32(PD) & PDE.A).toBe(0);
  });

  it("invlpg anywhere in the large page drops every cached piece", () => {
    const { ram, mmu, on } = machine({ cr4: CR4.PSE });
    ram.write32(PD, 0x0040_0000 | PDE.P | PDE.RW | PDE.PS);
    on();
    mmu.read32(0x1000);
    mmu.read32(0x3f_f000);
    ram.write32(PD, 0);
    mmu.invlpg(0x20_0000);
    expect(faultOf(() => mmu.read32(0x1000)).errorCode).toBe(0);
    expect(faultOf(() => mmu.read32(0x3f_f000)).errorCode).toBe(0);
  });
});

describe("accesses of every size", () => {
  it("are little-endian through the MMU", () => {
    const { ram, mmu, map, on } = machine();
    map(0x5000, 0x7000, PTE.P | PTE.RW);
    on();
    mmu.write32(0x5100, 0x1122_3344);
    expect(mmu.read8(0x5100)).toBe(0x44);
    expect(mmu.read16(0x5102)).toBe(0x1122);
    mmu.write8(0x5101, 0xaa);
    mmu.write16(0x5102, 0xbbcc);
    expect(ram.read32(0x7100)).toBe(0xbbcc_aa44);
    expect(mmu.read32(0x5101)).toBe(0x00bb_ccaa);
  });

  it("cross a page boundary, reading from two different frames", () => {
    const { ram, mmu, map, on } = machine();
    map(0x5000, 0x9000, PTE.P | PTE.RW);
    map(0x6000, 0x3000, PTE.P | PTE.RW);
    ram.write16(0x9ffe, 0x2211);
    ram.write16(0x3000, 0x4433);
    on();
    expect(mmu.read32(0x5ffe)).toBe(0x4433_2211);
    mmu.write16(0x5fff, 0xbbaa);
    expect(ram.read8(0x9fff)).toBe(0xaa);
    expect(ram.read8(0x3000)).toBe(0xbb);
  });

  it("translate both pages before writing any byte", () => {
    const { ram, mmu, map, on } = machine();
    map(0x5000, 0x9000, PTE.P | PTE.RW);
    map(0x6000, 0x3000, PTE.P); // read-only second page
    on();
    mmu.loadCr0(CR0.PE | CR0.PG | CR0.WP);
    const f = faultOf(() => mmu.write32(0x5ffe, 0xffff_ffff));
    expect(f.cr2).toBe(0x6000); // the first byte that could not be written
    expect(f.errorCode).toBe(1 | 2);
    expect(ram.read16(0x9ffe)).toBe(0);
  });

  it("wrap at 4 GiB", () => {
    const { ram, mmu, map, on } = machine();
    map(0xffff_f000, 0x9000, PTE.P | PTE.RW);
    map(0x0000_0000, 0x3000, PTE.P | PTE.RW);
    on();
    mmu.write32(0xffff_fffe, 0x4433_2211);
    expect(ram.read16(0x9ffe)).toBe(0x2211);
    expect(ram.read16(0x3000)).toBe(0x4433);
  });

  it("refuse bad input with a typed error and change nothing", () => {
    const { ram, mmu, map, on } = machine();
    map(0x5000, 0x7000, PTE.P | PTE.RW);
    on();
    const before = mmu.stats;
    expect(() => mmu.read32(2 ** 32)).toThrow(HwError);
    expect(() => mmu.read32(0x5000, 1 as 0)).toThrow(/CPL 1/);
    expect(() => mmu.write8(0x5000, 0x100)).toThrow(/value 256/);
    expect(() => mmu.write32(0x5000, 0.5)).toThrow(/value 0.5/);
    expect(() => mmu.read(0x5000, 3 as 4)).toThrow(/size 3/);
    expect(mmu.stats).toEqual(before);
    expect(ram.read32(0x7000)).toBe(0);
    expect(mmu.tlb.entries()).toEqual([]);
  });
});

describe("events and inspection", () => {
  it("report miss, walk, A/D updates, hit, fault and flush in order", () => {
    const { mmu, map, on } = machine();
    map(0x5000, 0x7000, PTE.P | PTE.RW);
    on();
    const seen: MmuEvent["type"][] = [];
    const stop = mmu.subscribe((e) => seen.push(e.type));
    mmu.write32(0x5000, 1);
    mmu.read32(0x5000);
    faultOf(() => mmu.read32(0x9000));
    mmu.invlpg(0x5000);
    stop();
    mmu.read32(0x5000);
    expect(seen).toEqual([
      "tlb-miss", // write 0x5000
      "ad-update", // PDE.A
      "ad-update", // PTE.A and PTE.D
      "walk",
      "tlb-hit", // read 0x5000
      "tlb-miss", // read 0x9000: same PDE (A already set), PTE not present
      "walk",
      "flush", // the fault drops whatever the TLB held for 0x9000
      "fault",
      "flush", // invlpg
    ]);
  });

  it("explains a walk without setting A bits or filling the TLB", () => {
    const { ram, mmu, map, on } = machine();
    const pteAddr = map(0xc000_5000, 0x7000, PTE.P | PTE.RW);
    on();
    const w = explainAddress(mmu, 0xc000_5123);
    expect(w.pa).toBe(0x7123);
    expect(w.dirIndex).toBe(768);
    expect(w.tableIndex).toBe(5);
    expect(ram.read32(pteAddr) & PTE.A).toBe(0);
    expect(mmu.tlb.entries()).toEqual([]);
    const text = formatWalk(w);
    expect(text).toContain("PDE 768");
    expect(text).toContain("PTE 5");
    expect(text).toContain("physical 0x00007123");
  });
});
