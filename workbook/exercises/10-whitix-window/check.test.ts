/**
 * The Whitix exercise's checks: the window arithmetic by hand and against
 * the page tables read physically, then virtMemMapPage on a booted Whitix,
 * read back through the MMU (so a missing invlpg shows as a stale value).
 */
import { createMachine, PageFault, PDE, PTE } from "@mm386/hw-i386";
import { VirtMemManagerInit, type Whitix } from "@mm386/paging/whitix";
import { describe, expect, it } from "vitest";
import { implLabel, loadExercise } from "../../src/kit.js";

interface WhitixWindowExercise {
  pteVa(va: number): number;
  pdeVa(va: number): number;
  tableVa(r: number): number;
  virtMemMapPage(w: Whitix, va: number, pa: number, flags: number): boolean;
}

const ex = await loadExercise<WhitixWindowExercise>(10);

const MiB = 1024 * 1024;
const FRAME = 0xffff_f000;
const [P, W, U] = [PTE.P, PTE.RW, PTE.US];

const boot = () => VirtMemManagerInit(createMachine({ ramBytes: 32 * MiB }));

/** The PTE word of `va` in the directory at `cr3`, read physically; null without a table. */
function physPte(w: Whitix, cr3: number, va: number): number | null {
  const pde = w.machine.ram.read32(cr3 + 4 * (va >>> 22));
  if ((pde & PDE.P) === 0) return null;
  return w.machine.ram.read32(((pde & FRAME) >>> 0) + 4 * ((va >>> 12) & 1023));
}

function read(w: Whitix, va: number, cpl: 0 | 3 = 0): number | "fault" {
  try {
    return w.machine.mmu.read32(va, cpl);
  } catch (e) {
    if (e instanceof PageFault) return "fault";
    throw e;
  }
}

describe(`exercise 10, Whitix: the window arithmetic (${implLabel(10)})`, () => {
  it("computes the hand-worked addresses", () => {
    expect(ex.pteVa(0x0804_8000)).toBe(0xffc2_0120); // 0x08048 * 4 = 0x20120
    expect(ex.pteVa(0xc000_0000)).toBe(0xfff0_0000); // 0xC0000 * 4 = 0x300000
    expect(ex.pteVa(0xffff_f000)).toBe(0xffff_fffc); // the last PTE of the window is PDE 1023
    expect(ex.pteVa(0x0804_8abc)).toBe(0xffc2_0120); // the offset in the page does not matter
    expect(ex.pdeVa(0x0804_8000)).toBe(0xffff_f080); // PDE 32
    expect(ex.pdeVa(0xffff_ffff)).toBe(0xffff_fffc);
    expect(ex.tableVa(0)).toBe(0xffc0_0000);
    expect(ex.tableVa(1023)).toBe(0xffff_f000); // table 1023 is the directory
  });

  it("reads, through the MMU at those addresses, the words the page tables hold", () => {
    const w = boot();
    const as = w.createAddressSpace()!;
    const f = w.allocFrames(2)!;
    w.map(as, 0x0804_8000, f, 2, P | W | U);
    w.switchTo(as);
    w.VirtMapPhysRange(0xc000_0000, 0xd000_0000, 3, P | W);
    for (const va of [0x0804_8000, 0x0804_9000, 0x0010_0000, 0x007f_f000, 0xc000_2000]) {
      expect(w.mmu.read32(ex.pteVa(va))).toBe(physPte(w, as.cr3, va));
      expect(w.mmu.read32(ex.pdeVa(va))).toBe(w.machine.ram.read32(as.cr3 + 4 * (va >>> 22)));
      const r = va >>> 22;
      expect(w.mmu.read32(ex.tableVa(r) + 4 * ((va >>> 12) & 1023))).toBe(physPte(w, as.cr3, va));
    }
  });
});

describe(`exercise 10, Whitix: virtMemMapPage (${implLabel(10)})`, () => {
  it("maps a user page in the current space, making a zeroed table on demand", () => {
    const w = boot();
    const as = w.createAddressSpace()!;
    w.switchTo(as);
    // A dirty frame goes back to the allocator: it may come back as the new table.
    const junk = w.allocFrames(1)!;
    for (let i = 0; i < 1024; i++) w.machine.ram.write32(junk + 4 * i, 0xdead_0001);
    w.freeFrames(junk, 1);
    const f = w.allocFrames(1)!;
    w.machine.ram.write32(f + 16, 77);
    expect(ex.virtMemMapPage(w, 0x0900_0000, f, P | W | U)).toBe(true);
    expect(read(w, 0x0900_0010, 3)).toBe(77);
    expect(read(w, 0x0900_1000, 3)).toBe("fault"); // its neighbour: a zero PTE, not junk
    const pde = w.machine.ram.read32(as.cr3 + 4 * (0x0900_0000 >>> 22));
    expect(pde & 7).toBe(P | W | U);
    expect(physPte(w, w.reference.cr3, 0x0900_0000)).toBeNull(); // only this space
  });

  it("leaves no stale translation when it replaces a present page", () => {
    const w = boot();
    const [a, b] = [w.allocFrames(1)!, w.allocFrames(1)!];
    w.machine.ram.write32(a, 1);
    w.machine.ram.write32(b, 2);
    expect(ex.virtMemMapPage(w, 0xc000_0000, a, P | W)).toBe(true);
    expect(read(w, 0xc000_0000)).toBe(1); // cached now
    expect(ex.virtMemMapPage(w, 0xc000_0000, b, P | W)).toBe(true);
    expect(read(w, 0xc000_0000)).toBe(2);
  });

  it("puts a new kernel table into every address space", () => {
    const w = boot();
    const spaces = [w.createAddressSpace()!, w.createAddressSpace()!];
    w.switchTo(spaces[0]!);
    const f = w.allocFrames(1)!;
    w.machine.ram.write32(f, 0xabc);
    expect(ex.virtMemMapPage(w, 0xc040_0000, f, P | W)).toBe(true);
    for (const s of [w.reference, ...spaces]) {
      w.switchTo(s);
      expect(read(w, 0xc040_0000)).toBe(0xabc);
      expect(read(w, 0xc040_0000, 3)).toBe("fault"); // supervisor only
    }
    const later = w.createAddressSpace()!;
    w.switchTo(later);
    expect(read(w, 0xc040_0000)).toBe(0xabc);
  });

  it("returns false and changes nothing when there is no frame for the table", () => {
    const w = boot();
    const f = w.allocFrames(1)!;
    while (w.allocFrames(1) !== null); // take every frame
    const before = w.machine.ram.read32(w.reference.cr3 + 4 * (0xc080_0000 >>> 22));
    expect(ex.virtMemMapPage(w, 0xc080_0000, f, P | W)).toBe(false);
    expect(w.machine.ram.read32(w.reference.cr3 + 4 * (0xc080_0000 >>> 22))).toBe(before);
    expect(read(w, 0xc080_0000)).toBe("fault");
  });
});
