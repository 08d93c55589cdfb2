/**
 * Exercise 1's checks: hand-worked examples, then every combination of the
 * bits that matter compared with what the simulated processor does.
 */
import { CR0, CR4, PageFault, createMachine, hex32, pdeFlags, pteFlags } from "@mm386/hw-i386";
import { describe, expect, it } from "vitest";
import type { PageWalkExercise, WalkResult } from "../../src/exercise-api.js";
import { implLabel, loadExercise } from "../../src/kit.js";

const { walk } = await loadExercise<PageWalkExercise>(1);

/** Physical memory as a map of words; everything else reads 0. */
function memory(words: Record<number, number>): (pa: number) => number {
  return (pa) => words[pa] ?? 0;
}

const paging = { cr0: CR0.PE | CR0.PG, cr3: 0x0010_0000, cr4: 0 };
const read = { write: false, user: false };

describe(`exercise 1, the page walk (${implLabel(1)})`, () => {
  it("follows the README's picture: dir 0x300, table 0x001, offset 0x234", () => {
    // va 0xC0001234: dir = 0x300 (PDE at 0x00100C00), table = 1 (PTE at 0x00200004).
    const mem = memory({ 0x0010_0c00: 0x0020_0003, 0x0020_0004: 0x0050_7003 });
    expect(walk(mem, paging, 0xc000_1234, read)).toEqual({
      ok: true,
      pa: 0x0050_7234,
      large: false,
    });
  });

  it("faults with error 0 on a kernel read of an absent PDE, and 6 on a user write of an absent PTE", () => {
    const mem = memory({ 0x0010_0004: 0x0020_0007 }); // PDE 1 present (user, writable), PTE absent
    expect(walk(mem, paging, 0x0080_0000, read)).toEqual({ ok: false, errorCode: 0 });
    expect(walk(mem, paging, 0x0040_0000, { write: true, user: true })).toEqual({
      ok: false,
      errorCode: 6,
    });
  });

  it("gives 7 for a user write to a read-only user page, and 5 for a user read of a kernel page", () => {
    const mem = memory({
      0x0010_0004: 0x0020_0007,
      0x0020_0000: 0x0030_0005,
      0x0020_0004: 0x0030_1003,
    });
    expect(walk(mem, paging, 0x0040_0010, { write: true, user: true })).toEqual({
      ok: false,
      errorCode: 7,
    });
    expect(walk(mem, paging, 0x0040_1010, { write: false, user: true })).toEqual({
      ok: false,
      errorCode: 5,
    });
    expect(walk(mem, paging, 0x0040_0010, { write: false, user: true })).toEqual({
      ok: true,
      pa: 0x0030_0010,
      large: false,
    });
  });

  it("lets the kernel write a read-only page unless CR0.WP=1", () => {
    const mem = memory({ 0x0010_0004: 0x0020_0003, 0x0020_0000: 0x0030_0001 });
    const write = { write: true, user: false };
    expect(walk(mem, paging, 0x0040_0000, write).ok).toBe(true);
    expect(walk(mem, { ...paging, cr0: paging.cr0 | CR0.WP }, 0x0040_0000, write)).toEqual({
      ok: false,
      errorCode: 3,
    });
  });

  it("maps 4 MiB pages only with CR4.PSE, and faults with RSVD on bits 21:13", () => {
    const mem = memory({ 0x0010_0c00: 0x0100_0083 }); // PDE 0x300: frame 0x01000000, PS, RW, P
    const pse = { ...paging, cr4: CR4.PSE };
    expect(walk(mem, pse, 0xc012_3456, read)).toEqual({ ok: true, pa: 0x0112_3456, large: true });
    // Without PSE the same PDE points at a "page table" at 0x01000000, full of zeros.
    expect(walk(mem, paging, 0xc012_3456, read)).toEqual({ ok: false, errorCode: 0 });
    const rsvd = memory({ 0x0010_0c00: 0x0100_2083 });
    expect(walk(rsvd, pse, 0xc012_3456, { write: true, user: false })).toEqual({
      ok: false,
      errorCode: 1 | 2 | 8,
    });
  });

  it("handles addresses at and above 2 GiB as unsigned numbers", () => {
    const mem = memory({ 0x0010_0ffc: 0xfff0_0003, 0xfff0_0ffc: 0xffff_f003 });
    expect(walk(mem, paging, 0xffff_fffc, read)).toEqual({
      ok: true,
      pa: 0xffff_fffc,
      large: false,
    });
  });

  it("agrees with the simulated processor on every combination of the bits that matter", () => {
    const m = createMachine({ ramBytes: 16 * 1024 * 1024 });
    const { ram, mmu } = m;
    const dir = 0x0010_0000;
    const table = 0x0020_0000;
    const va = 0x0040_5678; // dir 1, table 5
    let checked = 0;
    for (let bits = 0; bits < 1 << 11; bits++) {
      const bit = (i: number) => (bits >> i) & 1;
      const [pdeP, pdeRW, pdeUS, pdePS, pteP, pteRW, pteUS, wp, pse, user, write] = [
        bit(0),
        bit(1),
        bit(2),
        bit(3),
        bit(4),
        bit(5),
        bit(6),
        bit(7),
        bit(8),
        bit(9),
        bit(10),
      ];
      const pde = (pdePS ? 0x0080_0000 : table) | pdeP | (pdeRW << 1) | (pdeUS << 2) | (pdePS << 7);
      const pte = 0x0090_5000 | pteP | (pteRW << 1) | (pteUS << 2);
      ram.clearFrame(dir / 4096);
      ram.write32(dir + 4, pde);
      ram.write32(table + 5 * 4, pte);
      const regs = { cr0: CR0.PE | CR0.PG | (wp ? CR0.WP : 0), cr3: dir, cr4: pse ? CR4.PSE : 0 };
      const mine = walk((pa) => ram.read32(pa), regs, va, { write: write === 1, user: user === 1 });
      // The processor, on the same tables (its TLB flushed by the CR3 load).
      mmu.loadCr4(regs.cr4);
      mmu.loadCr0(regs.cr0);
      mmu.loadCr3(dir);
      let theirs: WalkResult;
      let pa = 0;
      const stop = mmu.subscribe((e) => {
        if (e.type === "walk" && e.pa !== null) pa = e.pa;
      });
      try {
        if (write) mmu.write32(va, 0, user ? 3 : 0);
        else mmu.read32(va, user ? 3 : 0);
        theirs = { ok: true, pa, large: pse === 1 && pdePS === 1 };
      } catch (e) {
        if (!(e instanceof PageFault)) throw e;
        theirs = { ok: false, errorCode: e.errorCode };
      } finally {
        stop();
      }
      expect(
        mine,
        `va ${hex32(va)}, PDE ${hex32(pde)} (${pdeFlags(pde)}), PTE ${hex32(pte)} (${pteFlags(pte)}), CR0.WP=${wp}, CR4.PSE=${pse}, ${user ? "user" : "kernel"} ${write ? "write" : "read"}: your walk (left) against the processor (right)`,
      ).toEqual(theirs);
      checked++;
    }
    expect(checked).toBe(2048);
  });
});
